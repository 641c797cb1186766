/* util/fdwatch.h: many silent descriptors on one waiting thread; each
 * callback runs once, on a thread of its own, when its descriptor becomes
 * readable or its peer goes away, and never before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/fdwatch.h"

#define N 200

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

typedef struct
{
  int fd;
  int calls;
  int seen_fd;
  pthread_t thread;
  char byte;
} slot_t;

static void
on_ready (int fd, void *ctx)
{
  slot_t *s = ctx;
  char c = 0;
  ssize_t n = read (fd, &c, 1);
  pthread_mutex_lock (&mu);
  s->calls++;
  s->seen_fd = fd;
  s->thread = pthread_self ();
  s->byte = n == 1 ? c : 0;
  pthread_cond_broadcast (&cv);
  pthread_mutex_unlock (&mu);
}

static int
count_threads (void)
{
  int n = 0;
  DIR *d = opendir ("/proc/self/task");
  assert_non_null (d);
  for (struct dirent *e; (e = readdir (d));)
    n += e->d_name[0] != '.';
  closedir (d);
  return n;
}

/* Wait (at most ~5 s) until want slots have had their call. */
static void
wait_calls (slot_t *slots, int n, int want)
{
  struct timespec deadline;
  clock_gettime (CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 5;
  pthread_mutex_lock (&mu);
  for (;;)
    {
      int done = 0;
      for (int i = 0; i < n; i++)
        done += slots[i].calls > 0;
      if (done >= want || pthread_cond_timedwait (&cv, &mu, &deadline) != 0)
        break;
    }
  pthread_mutex_unlock (&mu);
}

static void
test_many_silent_then_each_once (void **state)
{
  (void) state;
  static slot_t slots[N];
  int peers[N];
  arca_error_t err;
  int before = count_threads ();
  for (int i = 0; i < N; i++)
    {
      int sp[2];
      assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
      slots[i].fd = sp[0];
      peers[i] = sp[1];
      assert_int_equal (fdwatch_add (sp[0], on_ready, &slots[i], 64 * 1024, &err), 0);
    }
  /* silent descriptors: no call, and one waiting thread for all of them */
  usleep (100 * 1000);
  for (int i = 0; i < N; i++)
    assert_int_equal (slots[i].calls, 0);
  assert_true (count_threads () <= before + 1);

  /* half get data, the other half lose their peer */
  for (int i = 0; i < N; i++)
    {
      if (i % 2 == 0)
        assert_int_equal (write (peers[i], "x", 1), 1);
      else
        close (peers[i]);
    }
  wait_calls (slots, N, N);
  usleep (100 * 1000); /* a second call would come now */
  pthread_mutex_lock (&mu);
  for (int i = 0; i < N; i++)
    {
      assert_int_equal (slots[i].calls, 1);
      assert_int_equal (slots[i].seen_fd, slots[i].fd);
      assert_int_equal (slots[i].byte, i % 2 == 0 ? 'x' : 0);
    }
  pthread_mutex_unlock (&mu);
  for (int i = 0; i < N; i++)
    {
      /* more data after the call: the watch has ended */
      if (i % 2 == 0)
        {
          assert_int_equal (write (peers[i], "y", 1), 1);
          close (peers[i]);
        }
    }
  usleep (100 * 1000);
  pthread_mutex_lock (&mu);
  for (int i = 0; i < N; i++)
    assert_int_equal (slots[i].calls, 1);
  pthread_mutex_unlock (&mu);
  for (int i = 0; i < N; i++)
    close (slots[i].fd);
}

static void
test_callback_runs_off_the_waiting_thread (void **state)
{
  (void) state;
  static slot_t a, b;
  int sa[2], sb[2];
  arca_error_t err;
  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sa), 0);
  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sb), 0);
  a.fd = sa[0];
  b.fd = sb[0];
  assert_int_equal (fdwatch_add (sa[0], on_ready, &a, 0, &err), 0);
  assert_int_equal (fdwatch_add (sb[0], on_ready, &b, 0, &err), 0);
  assert_int_equal (write (sa[1], "a", 1), 1);
  assert_int_equal (write (sb[1], "b", 1), 1);
  for (int tries = 0; tries < 500 && (a.calls == 0 || b.calls == 0); tries++)
    usleep (10 * 1000);
  assert_int_equal (a.calls, 1);
  assert_int_equal (b.calls, 1);
  /* each on a thread of its own (a blocking callback holds up no other) */
  assert_false (pthread_equal (a.thread, pthread_self ()));
  assert_false (pthread_equal (b.thread, pthread_self ()));
  close (sa[0]);
  close (sa[1]);
  close (sb[0]);
  close (sb[1]);
}

static void
test_bad_descriptor_is_refused (void **state)
{
  (void) state;
  arca_error_t err;
  slot_t s = { 0 };
  assert_int_equal (fdwatch_add (-1, on_ready, &s, 0, &err), -1);
  usleep (50 * 1000);
  assert_int_equal (s.calls, 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_many_silent_then_each_once),
    cmocka_unit_test (test_callback_runs_off_the_waiting_thread),
    cmocka_unit_test (test_bad_descriptor_is_refused),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
