/* Giving freed heap memory back to the kernel (glibc malloc).
 *
 * glibc gives each thread that allocates under contention an arena of its
 * own (up to 8 per CPU) and never returns memory from the top of a
 * non-main arena while it is below the trim threshold, which glibc raises
 * with every large block freed (up to 64 MiB).  A daemon with a thread per
 * connection therefore keeps, after a burst of clients, several MiB of
 * freed memory per arena for good: bench/memprobe.sh measures it
 * (docs/design.md "Memory"). */
#ifndef ARCA_UTIL_MEMTRIM_H
#define ARCA_UTIL_MEMTRIM_H

#include <stdbool.h>
#include <stdint.h>

/* At daemon start, before any thread: at most ARCA_MALLOC_ARENAS arenas and
 * glibc's static (documented default) trim and mmap thresholds instead of
 * its dynamic ones.  The MALLOC_ARENA_MAX / MALLOC_TRIM_THRESHOLD_ /
 * MALLOC_MMAP_THRESHOLD_ / GLIBC_TUNABLES environment of the daemon, when
 * set, wins (mallopt(3) ENVIRONMENT). */
void arca_malloc_tune (void);

/* A request has ended: the daemon is busy now and may become idle. */
void arca_malloc_note_activity (void);

/* Called periodically: when something ran since the last trim and nothing
 * has for quiet_ns, malloc_trim(0) (every arena's free pages back to the
 * kernel).  Returns true if it trimmed. */
bool arca_malloc_trim_if_idle (int64_t quiet_ns);

#endif
