/* One epoll thread for many silent descriptors (util/fdwatch.h). */
#include "util/fdwatch.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "util/log.h"
#include "util/strutil.h"
#include "util/thread.h"

typedef struct
{
  int fd;
  fdwatch_fn fn;
  void *ctx;
  size_t stack_bytes;
} watch_t;

/* the waiting thread's epoll set, made at the first watch; -1 if that
 * failed (each watch then gets a thread of its own) */
static pthread_once_t hub_once = PTHREAD_ONCE_INIT;
static int hub_epfd = -1;

static void *
run_callback (void *arg)
{
  watch_t *w = arg;
  w->fn (w->fd, w->ctx);
  free (w);
  return NULL;
}

static void
dispatch (watch_t *w)
{
  if (thread_start_detached (run_callback, w, w->stack_bytes) != 0)
    {
      /* no thread to be had: run it here, the other watches wait */
      log_warn ("fdwatch: no thread for a callback; running it on the waiting thread");
      run_callback (w);
    }
}

static void *
hub_main (void *arg)
{
  (void) arg;
  struct epoll_event ev[32];
  for (;;)
    {
      int n = epoll_wait (hub_epfd, ev, 32, -1);
      if (n < 0)
        {
          if (errno != EINTR)
            {
              log_error ("fdwatch: epoll_wait: %s", strerror (errno));
              sleep (1);
            }
          continue;
        }
      for (int i = 0; i < n; i++)
        {
          watch_t *w = ev[i].data.ptr;
          /* one-shot: out of the set before fn may close (and the number
           * be reused by) the descriptor */
          epoll_ctl (hub_epfd, EPOLL_CTL_DEL, w->fd, NULL);
          dispatch (w);
        }
    }
  return NULL;
}

static void
hub_init (void)
{
  int fd = epoll_create1 (EPOLL_CLOEXEC);
  if (fd < 0)
    {
      log_error ("fdwatch: epoll_create1: %s", strerror (errno));
      return;
    }
  hub_epfd = fd;
  int r = thread_start_detached (hub_main, NULL, 256 * 1024);
  if (r != 0)
    {
      log_error ("fdwatch: cannot start the waiting thread: %s", strerror (r));
      close (fd);
      hub_epfd = -1;
    }
}

/* Without the shared thread: a thread of its own that waits, then calls. */
static void *
wait_alone (void *arg)
{
  watch_t *w = arg;
  struct pollfd p = { .fd = w->fd, .events = POLLIN | POLLRDHUP };
  while (poll (&p, 1, -1) < 0 && errno == EINTR)
    ;
  return run_callback (w);
}

int
fdwatch_add (int fd, fdwatch_fn fn, void *ctx, size_t stack_bytes, arca_error_t *err)
{
  pthread_once (&hub_once, hub_init);
  watch_t *w = xmalloc0 (sizeof *w);
  w->fd = fd;
  w->fn = fn;
  w->ctx = ctx;
  w->stack_bytes = stack_bytes;
  if (hub_epfd >= 0)
    {
      struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data.ptr = w };
      if (epoll_ctl (hub_epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
        return 0;
      int e = errno;
      free (w);
      return arca_error_errno (err, e, "fdwatch: epoll_ctl");
    }
  int r = thread_start_detached (wait_alone, w, stack_bytes);
  if (r != 0)
    {
      free (w);
      return arca_error_errno (err, r, "fdwatch: start a waiting thread");
    }
  return 0;
}
