/* Rotating container log files, as moby's daemon/logger/loggerutils
 * LogFile keeps them (json-file and local drivers): the shim writes
 * <path>; once <path> has reached max_size bytes (checked before each
 * write, so a file exceeds it by at most one entry) it is renamed <path>.1,
 * older files shift to <path>.2 ... <path>.<max_files-1> and the oldest is
 * dropped; with compress, <path>.1 is gzipped to <path>.1.gz (gzip header
 * Extra {"lastTime":"<RFC 3339 nano>"}, the last entry's time) and removed.
 * max_files 1 with a max_size just truncates.  Files are mode 0640. */
#ifndef ARCA_UTIL_LOGFILE_H
#define ARCA_UTIL_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/strutil.h"

/* Entries wait in memory until logfile_flush or this many bytes: a
 * write(2) per line capped `logs -f` throughput (moby writes per entry
 * too, but from a goroutine per container, not one loop). */
#define LOGFILE_BATCH (64 * 1024)

typedef struct
{
  char *path;
  int fd;
  int64_t size;      /* bytes in the current file */
  int64_t max_size;  /* -1: no rotation */
  int max_files;     /* >= 1 */
  bool compress;
  int64_t last_ts;   /* ns, time of the last entry written */
  arca_buf_t pending; /* entries not written yet (size counts them) */
} logfile_t;

/* Open (append) path.  max_size <= 0 means unlimited. */
int logfile_open (logfile_t *lf, const char *path, int64_t max_size, int max_files, bool compress, arca_error_t *err);
/* Append one entry (rotating first when due).  A write error drops the
 * entries (-1); a full disk must not stop the container.  The writer calls
 * logfile_flush after each batch of output (before readers may look). */
int logfile_write (logfile_t *lf, const void *data, size_t len, int64_t ts_ns);
int logfile_flush (logfile_t *lf);
void logfile_close (logfile_t *lf);

/* The rotated files of path that exist, oldest first (<path>.N[.gz] down
 * to <path>.1[.gz]); a NULL-terminated malloc'd list (the current file is
 * not in it). */
char **logfile_rotated (const char *path);

/* Gzip src into dst with the lastTime header (exposed for tests). */
int logfile_compress (const char *src, const char *dst, int64_t last_ts, arca_error_t *err);

#endif
