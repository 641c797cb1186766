/* See chunkpool.h. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "util/chunkpool.h"
#include "util/log.h"
#include "util/strutil.h"

/* At the start of every chunk. */
typedef struct chunk
{
  size_t live; /* allocations carved from it not yet freed */
  size_t used; /* bytes carved, this header included */
} chunk_t;

/* Before every allocation: its chunk, or NULL when it came from malloc. */
typedef struct
{
  chunk_t *chunk;
  size_t pad; /* keeps what follows 16-byte aligned */
} prefix_t;

struct arca_chunkpool
{
  pthread_mutex_t lock;
  size_t chunk_size;
  chunk_t *current; /* where allocations are carved; NULL before the first */
  size_t mapped;    /* bytes of chunks mapped */
};

#define ALIGN16(n) (((n) + 15) & ~(size_t) 15)

arca_chunkpool_t *
arca_chunkpool_new (size_t chunk_size)
{
  arca_chunkpool_t *p = xmalloc0 (sizeof *p);
  pthread_mutex_init (&p->lock, NULL);
  p->chunk_size = chunk_size;
  return p;
}

static void
chunk_unmap (arca_chunkpool_t *p, chunk_t *c)
{
  munmap (c, p->chunk_size);
  p->mapped -= p->chunk_size;
}

/* A fresh chunk becomes the current one; the previous current is unmapped
 * if nothing in it is live.  Caller holds p->lock. */
static void
chunk_next_locked (arca_chunkpool_t *p)
{
  chunk_t *c = mmap (NULL, p->chunk_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (c == MAP_FAILED)
    {
      log_error ("chunkpool: cannot map %zu bytes", p->chunk_size);
      abort ();
    }
  p->mapped += p->chunk_size;
  c->live = 0;
  c->used = ALIGN16 (sizeof *c);
  if (p->current && p->current->live == 0)
    chunk_unmap (p, p->current);
  p->current = c;
}

void *
arca_chunkpool_alloc (arca_chunkpool_t *p, size_t len)
{
  size_t need = sizeof (prefix_t) + ALIGN16 (len);
  if (need > p->chunk_size / 4)
    {
      prefix_t *m = xmalloc0 (sizeof (prefix_t) + len);
      m->chunk = NULL;
      return m + 1;
    }
  pthread_mutex_lock (&p->lock);
  if (p->current == NULL || p->current->used + need > p->chunk_size)
    chunk_next_locked (p);
  chunk_t *c = p->current;
  prefix_t *m = (prefix_t *) ((char *) c + c->used);
  c->used += need;
  c->live++;
  m->chunk = c;
  pthread_mutex_unlock (&p->lock);
  return m + 1;
}

void
arca_chunkpool_free (arca_chunkpool_t *p, void *ptr)
{
  if (ptr == NULL)
    return;
  prefix_t *m = (prefix_t *) ptr - 1;
  chunk_t *c = m->chunk;
  if (c == NULL)
    {
      free (m);
      return;
    }
  pthread_mutex_lock (&p->lock);
  if (--c->live == 0)
    {
      if (c == p->current)
        c->used = ALIGN16 (sizeof *c); /* empty: carve it again from the start */
      else
        chunk_unmap (p, c);
    }
  pthread_mutex_unlock (&p->lock);
}

size_t
arca_chunkpool_mapped (arca_chunkpool_t *p)
{
  pthread_mutex_lock (&p->lock);
  size_t n = p->mapped;
  pthread_mutex_unlock (&p->lock);
  return n;
}
