/* util/memtrim.h: the daemon's malloc tuning keeps what a burst of
 * threads freed from staying in glibc's arenas, and the idle trim runs
 * once per busy period. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <malloc.h>
#include <pthread.h>

#include "util/memtrim.h"

#define THREADS 16
#define BLOCKS 8000 /* of 512 bytes: 4 MiB per thread */

static pthread_barrier_t all_hold;

static void *
burst (void *arg)
{
  (void) arg;
  void **b = malloc (BLOCKS * sizeof *b);
  for (int i = 0; i < BLOCKS; i++)
    b[i] = malloc (512);
  pthread_barrier_wait (&all_hold); /* every thread holds its blocks at once */
  for (int i = 0; i < BLOCKS; i++)
    free (b[i]);
  free (b);
  return NULL;
}

/* From malloc_info(3): how many arenas, and the bytes free in the bins of
 * the non-main ones (their top chunk included). */
static void
arena_figures (int *arenas, long *free_non_main)
{
  char *xml = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&xml, &len);
  assert_non_null (f);
  assert_int_equal (malloc_info (0, f), 0);
  fclose (f);
  *arenas = 0;
  *free_non_main = 0;
  int nr = -1;
  for (char *line = strtok (xml, "\n"); line; line = strtok (NULL, "\n"))
    {
      if (sscanf (line, "<heap nr=\"%d\">", &nr) == 1)
        (*arenas)++;
      else if (strncmp (line, "</heap>", 7) == 0)
        nr = -1;
      long size;
      if (nr > 0
          && (sscanf (line, "<total type=\"fast\" count=\"%*d\" size=\"%ld\"/>", &size) == 1
              || sscanf (line, "<total type=\"rest\" count=\"%*d\" size=\"%ld\"/>", &size) == 1))
        *free_non_main += size;
    }
  free (xml);
}

static void
test_burst_of_threads (void **state)
{
  (void) state;
  if (getenv ("MALLOC_ARENA_MAX") || getenv ("GLIBC_TUNABLES") || getenv ("MALLOC_TRIM_THRESHOLD_"))
    skip ();
  arca_malloc_tune ();
  /* Freeing a large mapped block raises glibc's dynamic trim threshold (to
   * twice its size): after that the arenas' tops would stay, untrimmed. */
  char *big = malloc (16 << 20);
  assert_non_null (big);
  memset (big, 1, 16 << 20);
  free (big);

  pthread_barrier_init (&all_hold, NULL, THREADS);
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++)
    assert_int_equal (pthread_create (&t[i], NULL, burst, NULL), 0);
  for (int i = 0; i < THREADS; i++)
    pthread_join (t[i], NULL);
  pthread_barrier_destroy (&all_hold);

  int arenas;
  long free_non_main;
  arena_figures (&arenas, &free_non_main);
  /* glibc's default would be up to 8 per CPU, each keeping its top (here
   * the 64 MiB the threads freed) */
  assert_true (arenas <= 2);
  assert_true (free_non_main < (1 << 20));
}

static void
test_trim_once_per_busy_period (void **state)
{
  (void) state;
  assert_false (arca_malloc_trim_if_idle (0)); /* nothing happened yet */
  arca_malloc_note_activity ();
  assert_false (arca_malloc_trim_if_idle (INT64_C (3600) * 1000000000)); /* not quiet for that long */
  assert_true (arca_malloc_trim_if_idle (0));
  assert_false (arca_malloc_trim_if_idle (0)); /* trimmed already, nothing since */
  arca_malloc_note_activity ();
  assert_true (arca_malloc_trim_if_idle (0));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_burst_of_threads),
    cmocka_unit_test (test_trim_once_per_busy_period),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
