/* Rotating log files (logfile.h), after moby loggerutils LogFile rotate
 * and compressFile.  Compression runs in the writer (the shim) at the
 * rotation, with zlib. */
#include "util/logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util/cleanup.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timeutil.h"

int
logfile_open (logfile_t *lf, const char *path, int64_t max_size, int max_files, bool compress, arca_error_t *err)
{
  memset (lf, 0, sizeof *lf);
  lf->fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (lf->fd < 0)
    return arca_error_errno (err, errno, "open log %s", path);
  struct stat st;
  lf->size = fstat (lf->fd, &st) == 0 ? st.st_size : 0;
  lf->path = xstrdup (path);
  lf->max_size = max_size > 0 ? max_size : -1;
  lf->max_files = max_files >= 1 ? max_files : 1;
  lf->compress = compress && lf->max_files > 1;
  return 0;
}

void
logfile_close (logfile_t *lf)
{
  logfile_flush (lf);
  buf_free (&lf->pending);
  if (lf->fd >= 0)
    close (lf->fd);
  lf->fd = -1;
  free (lf->path);
  lf->path = NULL;
}

int
logfile_compress (const char *src, const char *dst, int64_t last_ts, arca_error_t *err)
{
  _cleanup_close_ int in = open (src, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return arca_error_errno (err, errno, "open %s", src);
  _cleanup_close_ int out = open (dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (out < 0)
    return arca_error_errno (err, errno, "create %s", dst);
  z_stream z = { 0 };
  if (deflateInit2 (&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "deflateInit2 failed");
  char ts[48];
  time_format_rfc3339nano (last_ts, ts, sizeof ts);
  _cleanup_free_ char *extra = xasprintf ("{\"lastTime\":\"%s\"}", ts);
  gz_header h = { .extra = (Bytef *) extra, .extra_len = (uInt) strlen (extra), .os = 3 };
  deflateSetHeader (&z, &h);
  unsigned char ibuf[65536], obuf[65536];
  int flush, ret = 0;
  do
    {
      ssize_t n = read (in, ibuf, sizeof ibuf);
      if (n < 0)
        {
          ret = arca_error_errno (err, errno, "read %s", src);
          break;
        }
      flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
      z.next_in = ibuf;
      z.avail_in = (uInt) n;
      do
        {
          z.next_out = obuf;
          z.avail_out = sizeof obuf;
          deflate (&z, flush);
          size_t have = sizeof obuf - z.avail_out;
          if (have > 0 && write (out, obuf, have) != (ssize_t) have)
            {
              ret = arca_error_errno (err, errno, "write %s", dst);
              break;
            }
        }
      while (z.avail_out == 0 && ret == 0);
    }
  while (flush != Z_FINISH && ret == 0);
  deflateEnd (&z);
  if (ret < 0)
    unlink (dst);
  return ret;
}

static char *
rotated_name (const char *path, int i, bool gz)
{
  return xasprintf ("%s.%d%s", path, i, gz ? ".gz" : "");
}

/* moby rotate(): drop the oldest, shift the others up by one. */
static void
shift_files (logfile_t *lf)
{
  _cleanup_free_ char *last = rotated_name (lf->path, lf->max_files - 1, lf->compress);
  unlink (last);
  for (int i = lf->max_files - 1; i > 1; i--)
    {
      _cleanup_free_ char *to = rotated_name (lf->path, i, lf->compress);
      _cleanup_free_ char *from = rotated_name (lf->path, i - 1, lf->compress);
      rename (from, to);
    }
}

static int
rotate (logfile_t *lf)
{
  if (lf->fd >= 0)
    close (lf->fd);
  lf->fd = -1;
  if (lf->max_files < 2)
    unlink (lf->path);
  else
    {
      shift_files (lf);
      _cleanup_free_ char *first = rotated_name (lf->path, 1, false);
      rename (lf->path, first);
      if (lf->compress)
        {
          _cleanup_free_ char *gz = rotated_name (lf->path, 1, true);
          arca_error_t err;
          if (logfile_compress (first, gz, lf->last_ts, &err) == 0)
            unlink (first);
          else
            log_error ("compressing %s: %s", first, err.msg);
        }
    }
  lf->fd = open (lf->path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  lf->size = 0;
  return lf->fd < 0 ? -1 : 0;
}

int
logfile_flush (logfile_t *lf)
{
  const char *p = lf->pending.data;
  size_t left = lf->pending.len;
  lf->pending.len = 0;
  while (left > 0 && lf->fd >= 0)
    {
      ssize_t n = write (lf->fd, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          log_error ("write %s: %s", lf->path, strerror (errno));
          return -1;
        }
      p += n;
      left -= (size_t) n;
    }
  return 0;
}

int
logfile_write (logfile_t *lf, const void *data, size_t len, int64_t ts_ns)
{
  if (lf->max_size > 0 && lf->size >= lf->max_size)
    {
      logfile_flush (lf); /* the entries before this one end the file */
      if (rotate (lf) < 0)
        {
          log_error ("rotating %s: %s", lf->path, strerror (errno));
          return -1;
        }
    }
  buf_append (&lf->pending, data, len);
  lf->size += (int64_t) len;
  lf->last_ts = ts_ns;
  return lf->pending.len >= LOGFILE_BATCH ? logfile_flush (lf) : 0;
}

char **
logfile_rotated (const char *path)
{
  char **found = xmalloc0 (sizeof *found);
  for (int i = 1; i < 10000; i++)
    {
      _cleanup_free_ char *plain = rotated_name (path, i, false);
      _cleanup_free_ char *gz = rotated_name (path, i, true);
      /* A rotation being compressed has both: the plain one is complete. */
      if (access (plain, F_OK) == 0)
        found = strv_append (found, plain);
      else if (access (gz, F_OK) == 0)
        found = strv_append (found, gz);
      else
        break;
    }
  /* oldest first */
  size_t n = strv_len (found);
  for (size_t i = 0; i < n / 2; i++)
    {
      char *t = found[i];
      found[i] = found[n - 1 - i];
      found[n - 1 - i] = t;
    }
  return found;
}
