/* docker logs: the container's log read back across its rotated (and
 * gzipped) files, oldest first, then the current one, followed across
 * rotations (moby daemon/logger/loggerutils LogFile.ReadLogs,
 * daemon/logger/jsonfilelog and local decoders;
 * api/server/httputils/write_log_stream.go). */
#include "engine/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/jsonlog.h"
#include "util/locallog.h"
#include "util/logfile.h"
#include "util/strutil.h"
#include "util/timeutil.h"

/* One message read back. */
typedef struct
{
  bool is_err;
  int64_t ts;
  char *data;
  size_t len;
} entry_t;

static void
entry_clear (entry_t *e)
{
  free (e->data);
  memset (e, 0, sizeof *e);
}

/* A log file being read: gzip or plain (zlib reads both), json-file lines
 * or local frames.  Bytes after the last complete entry wait in pending
 * (the shim may be mid-write). */
typedef struct
{
  gzFile gz;
  int fd;          /* for fstat: a rotation replaces the file at the path */
  bool local;
  arca_buf_t pending;
  size_t off;
} source_t;

static int
source_open (source_t *s, const char *path, bool local)
{
  memset (s, 0, sizeof *s);
  s->local = local;
  s->fd = open (path, O_RDONLY | O_CLOEXEC);
  if (s->fd < 0)
    return -1;
  int dup_fd = dup (s->fd);
  s->gz = dup_fd >= 0 ? gzdopen (dup_fd, "rb") : NULL;
  if (s->gz == NULL)
    {
      if (dup_fd >= 0)
        close (dup_fd);
      close (s->fd);
      s->fd = -1;
      return -1;
    }
  return 0;
}

static void
source_close (source_t *s)
{
  if (s->gz)
    gzclose (s->gz);
  if (s->fd >= 0)
    close (s->fd);
  buf_free (&s->pending);
  memset (s, 0, sizeof *s);
  s->fd = -1;
}

/* Read more bytes into pending; 0 at EOF (for now). */
static ssize_t
source_fill (source_t *s)
{
  if (s->off > 0)
    {
      memmove (s->pending.data, s->pending.data + s->off, s->pending.len - s->off);
      s->pending.len -= s->off;
      s->off = 0;
    }
  char buf[65536];
  int n = gzread (s->gz, buf, sizeof buf);
  if (n <= 0)
    {
      gzclearerr (s->gz);
      return n < 0 ? -1 : 0;
    }
  buf_append (&s->pending, buf, (size_t) n);
  return n;
}

static int
parse_json_line (const char *line, size_t n, entry_t *e)
{
  return jsonlog_parse (line, n, &e->data, &e->len, &e->is_err, &e->ts);
}

static int
parse_local_frame (const unsigned char *msg, size_t len, entry_t *e)
{
  const char *src, *line;
  size_t src_len, line_len;
  bool partial;
  if (locallog_decode (msg, len, &src, &src_len, &line, &line_len, &partial, &e->ts) < 0)
    return -1;
  e->is_err = src_len == 6 && memcmp (src, "stderr", 6) == 0;
  /* local keeps lines without their newline; a whole one gets it back */
  e->len = line_len + (partial ? 0 : 1);
  e->data = xmalloc0 (e->len + 1);
  memcpy (e->data, line, line_len);
  if (!partial)
    e->data[line_len] = '\n';
  return 0;
}

/* The next complete entry: 1, 0 when none is complete yet, -1 on a read
 * error.  Malformed entries are skipped. */
static int
source_next (source_t *s, entry_t *e)
{
  for (;;)
    {
      const unsigned char *p = (const unsigned char *) s->pending.data + s->off;
      size_t avail = s->pending.len - s->off;
      if (!s->local)
        {
          const char *nl = avail ? memchr (p, '\n', avail) : NULL;
          if (nl)
            {
              size_t n = (size_t) ((const unsigned char *) nl - p) + 1;
              s->off += n;
              if (parse_json_line ((const char *) p, n, e) == 0)
                return 1;
              continue;
            }
        }
      else if (avail >= 4)
        {
          uint32_t len = ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
          if (len > LOCALLOG_MAX_ENTRY * 2)
            {
              /* a corrupt frame: drop what is buffered */
              s->off = s->pending.len;
              return 0;
            }
          if (avail >= (size_t) len + 8)
            {
              s->off += (size_t) len + 8;
              if (parse_local_frame (p + 4, len, e) == 0)
                return 1;
              continue;
            }
        }
      ssize_t n = source_fill (s);
      if (n < 0)
        return -1;
      if (n == 0)
        return 0;
    }
}

typedef struct
{
  const arca_logs_opts_t *opts;
  bool tty;
  int (*write_fn) (void *ctx, const void *data, size_t len);
  void *ctx;
  bool stop; /* passed until */
  /* Frames are gathered here and written EMIT_BUF_MAX at a time: a write
   * per log line (two with the stdcopy header) costs the stream's socket
   * and the HTTP layer a round of system calls per ~100 bytes. */
  arca_buf_t out;
} emitter_t;

#define EMIT_BUF_MAX (64 * 1024)

/* Write what is gathered; before waiting for more and at the end. */
static int
emit_flush (emitter_t *em)
{
  if (em->out.len == 0)
    return 0;
  int r = em->write_fn (em->ctx, em->out.data, em->out.len);
  em->out.len = 0;
  return r;
}

static bool
selected (const arca_logs_opts_t *opts, const entry_t *e)
{
  return e->is_err ? opts->stderr_ : opts->stdout_;
}

/* Returns -1 when the client is gone. */
static int
emit (emitter_t *em, const entry_t *e)
{
  if (!selected (em->opts, e))
    return 0;
  if (em->opts->since_ns && e->ts < em->opts->since_ns)
    return 0;
  if (em->opts->until_ns && e->ts > em->opts->until_ns)
    {
      em->stop = true;
      return 0;
    }
  char tbuf[48];
  size_t tlen = 0;
  if (em->opts->timestamps)
    {
      time_format_rfc3339nano_fixed (e->ts, tbuf, sizeof tbuf);
      tlen = strlen (tbuf);
      tbuf[tlen++] = ' ';
    }
  size_t len = tlen + e->len;
  if (!em->tty)
    {
      unsigned char hdr[8] = { e->is_err ? 2 : 1, 0, 0, 0, (len >> 24) & 0xff, (len >> 16) & 0xff,
                               (len >> 8) & 0xff, len & 0xff };
      buf_append (&em->out, hdr, sizeof hdr);
    }
  buf_append (&em->out, tbuf, tlen);
  buf_append (&em->out, e->data, e->len);
  return em->out.len >= EMIT_BUF_MAX ? emit_flush (em) : 0;
}

/* The last `tail` selected entries of the files (a ring), then emitted. */
static int
emit_tail (emitter_t *em, char **files, bool local, source_t *current)
{
  long n = em->opts->tail;
  entry_t *ring = n > 0 ? xmalloc0 ((size_t) n * sizeof *ring) : NULL;
  long head = 0, count = 0;
  entry_t e = { 0 };
  for (size_t i = 0; files[i] || current; i++)
    {
      source_t tmp;
      source_t *s = files[i] ? &tmp : current;
      if (files[i] && source_open (&tmp, files[i], local) < 0)
        continue;
      while (source_next (s, &e) > 0)
        {
          if (n > 0 && selected (em->opts, &e))
            {
              entry_clear (&ring[head]);
              ring[head] = e;
              memset (&e, 0, sizeof e);
              head = (head + 1) % n;
              count++;
            }
          else
            entry_clear (&e);
        }
      if (files[i])
        source_close (&tmp);
      else
        break;
    }
  int r = 0;
  long have = count < n ? count : n;
  for (long k = 0; k < have && r == 0 && !em->stop; k++)
    r = emit (em, &ring[(head - have + k + n) % n]);
  for (long k = 0; k < n; k++)
    entry_clear (&ring[k]);
  free (ring);
  return r;
}

static int
emit_all (emitter_t *em, source_t *s)
{
  entry_t e = { 0 };
  int r = 0;
  while (r == 0 && !em->stop && source_next (s, &e) > 0)
    {
      r = emit (em, &e);
      entry_clear (&e);
    }
  return r;
}

/* The file at path is no longer the one we read: rotated. */
static bool
rotated_away (const char *path, source_t *s)
{
  struct stat a, b;
  if (s->fd < 0 || stat (path, &a) < 0)
    return false;
  return fstat (s->fd, &b) == 0 && (a.st_ino != b.st_ino || a.st_dev != b.st_dev);
}

int
container_logs_check (arca_engine_t *e, arca_container_t *c, arca_error_t *err)
{
  _cleanup_free_ char *path = NULL;
  bool local;
  return logdrivers_log_files (e, c, &path, &local, err);
}

int
container_logs (arca_engine_t *e, arca_container_t *c, const arca_logs_opts_t *opts,
                int (*write_fn) (void *ctx, const void *data, size_t len), void *ctx, int cancel_fd,
                arca_error_t *err)
{
  _cleanup_free_ char *path = NULL;
  bool local;
  if (logdrivers_log_files (e, c, &path, &local, err) < 0)
    return -1;
  emitter_t em = { .opts = opts, .tty = container_tty (c), .write_fn = write_fn, .ctx = ctx };
  _cleanup_strv_ char **rotated = logfile_rotated (path);
  source_t cur = { .fd = -1 };
  bool have_cur = source_open (&cur, path, local) == 0;
  int ret = 0;

  if (opts->tail >= 0)
    ret = emit_tail (&em, rotated, local, have_cur ? &cur : NULL);
  else
    {
      for (size_t i = 0; rotated[i] && ret == 0 && !em.stop; i++)
        {
          source_t s;
          if (source_open (&s, rotated[i], local) < 0)
            continue;
          ret = emit_all (&em, &s);
          source_close (&s);
        }
      if (have_cur && ret == 0)
        ret = emit_all (&em, &cur);
    }

  while (opts->follow && ret == 0 && !em.stop)
    {
      pthread_mutex_lock (&e->lock);
      bool live = (c->running || c->starting) && !c->removed && !e->closing;
      pthread_mutex_unlock (&e->lock);
      if (have_cur && rotated_away (path, &cur))
        {
          /* what was written before the rotation, then the new file */
          ret = emit_all (&em, &cur);
          source_close (&cur);
          have_cur = false;
        }
      if (!have_cur)
        have_cur = source_open (&cur, path, local) == 0;
      if (have_cur && ret == 0)
        ret = emit_all (&em, &cur);
      if (ret == 0)
        ret = emit_flush (&em);
      if (!live || ret < 0)
        break; /* drained what the shim wrote before it reported the exit */
      struct pollfd p = { .fd = cancel_fd, .events = POLLIN };
      if (poll (&p, cancel_fd >= 0 ? 1 : 0, 100) > 0)
        break;
    }
  if (have_cur)
    source_close (&cur);
  if (ret == 0)
    ret = emit_flush (&em);
  buf_free (&em.out);
  return ret < 0 ? -1 : 0;
}
