/* See memtrim.h. */
#include <malloc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util/memtrim.h"
#include "util/timeutil.h"

/* Two arenas (the main one and one more) for every thread: the daemon's
 * threads spend their time in system calls, SQLite and the runtime, not in
 * malloc, and fewer arenas means fewer partly used heaps (measured: 16
 * arenas after 64 clients, holding 34 MiB of which 32 MiB free). */
#define ARCA_MALLOC_ARENAS 2
/* glibc's documented defaults (mallopt(3)): 128 KiB.  Setting them
 * explicitly turns the dynamic adjustment off, so that a non-main arena's
 * top is given back on free() as soon as it is larger than this, and a
 * block of 128 KiB or more is its own mapping, unmapped when freed. */
#define ARCA_MALLOC_TRIM_THRESHOLD (128 * 1024)
#define ARCA_MALLOC_MMAP_THRESHOLD (128 * 1024)

static bool
env_set (const char *name)
{
  const char *v = getenv (name);
  return v && *v;
}

void
arca_malloc_tune (void)
{
  /* GLIBC_TUNABLES may set any of them: the operator's choice wins */
  if (env_set ("GLIBC_TUNABLES"))
    return;
  if (!env_set ("MALLOC_ARENA_MAX"))
    mallopt (M_ARENA_MAX, ARCA_MALLOC_ARENAS);
  if (!env_set ("MALLOC_TRIM_THRESHOLD_"))
    mallopt (M_TRIM_THRESHOLD, ARCA_MALLOC_TRIM_THRESHOLD);
  if (!env_set ("MALLOC_MMAP_THRESHOLD_"))
    mallopt (M_MMAP_THRESHOLD, ARCA_MALLOC_MMAP_THRESHOLD);
}

static _Atomic int64_t last_activity_ns;
static atomic_bool dirty;

void
arca_malloc_note_activity (void)
{
  atomic_store (&last_activity_ns, time_mono_ns ());
  atomic_store (&dirty, true);
}

bool
arca_malloc_trim_if_idle (int64_t quiet_ns)
{
  if (!atomic_load (&dirty) || time_mono_ns () - atomic_load (&last_activity_ns) < quiet_ns)
    return false;
  atomic_store (&dirty, false);
  /* madvise(MADV_DONTNEED) of the free pages inside every arena, and the
   * main heap's top; a non-main arena's top is trimmed by free() itself
   * under the static threshold set above. */
  malloc_trim (0);
  return true;
}
