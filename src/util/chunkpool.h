/* A pool for small, long-lived allocations made among many short-lived
 * ones, kept off malloc's heap (issue 15: the daemon's RSS after a burst).
 *
 * The events history keeps the last 1024 events (~0.4 KiB each).  Made
 * by the API and monitor threads in the middle of a burst of requests,
 * each event landed in a heap page among the requests' own allocations;
 * once the requests were gone, one live event per page kept the page
 * resident, and malloc_trim(0) can release only whole free pages: after 64
 * parallel `docker run --rm` the daemon held 3.8 MiB more for good (8.7
 * MiB free in malloc's bins, resident).  Here allocations are carved in
 * order from chunks of their own (anonymous mappings), and a chunk is
 * unmapped once everything carved from it is freed: what dies in about
 * the order it was made, as a FIFO history does, gives its memory back
 * whole.
 *
 * Thread-safe (one leaf mutex per pool, docs/design.md lock table).
 * Allocations are 16-byte aligned; one larger than a quarter of a chunk
 * goes to malloc. */
#ifndef ARCA_UTIL_CHUNKPOOL_H
#define ARCA_UTIL_CHUNKPOOL_H

#include <stddef.h>

typedef struct arca_chunkpool arca_chunkpool_t;

/* A pool whose chunks are chunk_size bytes (a multiple of the page size). */
arca_chunkpool_t *arca_chunkpool_new (size_t chunk_size);
/* len bytes, uninitialised; never NULL (aborts when out of memory, as
 * xmalloc). */
void *arca_chunkpool_alloc (arca_chunkpool_t *p, size_t len);
/* Frees what arca_chunkpool_alloc of p returned (NULL: nothing). */
void arca_chunkpool_free (arca_chunkpool_t *p, void *ptr);
/* Bytes of chunks mapped now (tests, bench). */
size_t arca_chunkpool_mapped (arca_chunkpool_t *p);

#endif
