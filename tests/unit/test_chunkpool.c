/* util/chunkpool.h: allocations carved in order from chunks of their own;
 * a chunk goes back to the kernel once all it held is freed, whatever
 * order they are freed in; large ones go to malloc; threads may share a
 * pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>

#include "util/chunkpool.h"

#define CHUNK (64 * 1024)

/* A FIFO of 400-byte items (an events history): the pool maps what the
 * live ones need, not what every item made ever needed. */
static void
test_fifo_gives_chunks_back (void **state)
{
  (void) state;
  arca_chunkpool_t *p = arca_chunkpool_new (CHUNK);
  enum { KEEP = 1024, TOTAL = 20000 };
  static void *ring[KEEP];
  for (int i = 0; i < TOTAL; i++)
    {
      arca_chunkpool_free (p, ring[i % KEEP]);
      ring[i % KEEP] = arca_chunkpool_alloc (p, 400);
      memset (ring[i % KEEP], i & 0xff, 400);
      assert_int_equal ((uintptr_t) ring[i % KEEP] % 16, 0);
    }
  /* 1024 items of 416 bytes: 7 chunks, and the one being emptied */
  assert_true (arca_chunkpool_mapped (p) <= 9 * CHUNK);
  /* every item still holds what was written into it */
  for (int i = TOTAL - KEEP; i < TOTAL; i++)
    {
      unsigned char *b = ring[i % KEEP];
      assert_int_equal (b[0], i & 0xff);
      assert_int_equal (b[399], i & 0xff);
    }
  /* all freed, in any order: only the current chunk stays */
  for (int i = 0; i < KEEP; i += 2)
    arca_chunkpool_free (p, ring[i]);
  for (int i = 1; i < KEEP; i += 2)
    arca_chunkpool_free (p, ring[i]);
  assert_int_equal (arca_chunkpool_mapped (p), CHUNK);
}

/* One live item pins its chunk, and only its chunk. */
static void
test_live_item_pins_one_chunk (void **state)
{
  (void) state;
  arca_chunkpool_t *p = arca_chunkpool_new (CHUNK);
  void *keep = arca_chunkpool_alloc (p, 100);
  enum { N = 2000 };
  static void *v[N];
  for (int i = 0; i < N; i++)
    v[i] = arca_chunkpool_alloc (p, 1000);
  assert_true (arca_chunkpool_mapped (p) >= 30 * CHUNK);
  for (int i = 0; i < N; i++)
    arca_chunkpool_free (p, v[i]);
  assert_int_equal (arca_chunkpool_mapped (p), 2 * CHUNK); /* keep's and the current one */
  arca_chunkpool_free (p, keep);
  assert_int_equal (arca_chunkpool_mapped (p), CHUNK);
}

/* More than a quarter of a chunk: from malloc, freed to it. */
static void
test_large_from_malloc (void **state)
{
  (void) state;
  arca_chunkpool_t *p = arca_chunkpool_new (CHUNK);
  char *big = arca_chunkpool_alloc (p, CHUNK);
  memset (big, 1, CHUNK);
  assert_int_equal (arca_chunkpool_mapped (p), 0);
  arca_chunkpool_free (p, big);
  arca_chunkpool_free (p, NULL);
}

static arca_chunkpool_t *shared;

static void *
churn (void *arg)
{
  (void) arg;
  void *v[64] = { 0 };
  for (int i = 0; i < 50000; i++)
    {
      arca_chunkpool_free (shared, v[i % 64]);
      v[i % 64] = arca_chunkpool_alloc (shared, 16 + i % 500);
    }
  for (int i = 0; i < 64; i++)
    arca_chunkpool_free (shared, v[i]);
  return NULL;
}

static void
test_threads (void **state)
{
  (void) state;
  shared = arca_chunkpool_new (CHUNK);
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    assert_int_equal (pthread_create (&t[i], NULL, churn, NULL), 0);
  for (int i = 0; i < 4; i++)
    pthread_join (t[i], NULL);
  assert_int_equal (arca_chunkpool_mapped (shared), CHUNK);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_fifo_gives_chunks_back),
    cmocka_unit_test (test_live_item_pins_one_chunk),
    cmocka_unit_test (test_large_from_malloc),
    cmocka_unit_test (test_threads),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
