/* docker logs from the json-file log the shim writes
 * (moby daemon/logger/jsonfilelog; api/server/httputils/write_log_stream.go). */
#include "engine/internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"
#include "util/timeutil.h"

typedef struct
{
  const arca_logs_opts_t *opts;
  bool tty;
  int (*write_fn) (void *ctx, const void *data, size_t len);
  void *ctx;
  bool stop; /* passed until */
} emitter_t;

/* Returns -1 when the client is gone. */
static int
emit_line (emitter_t *em, const char *line)
{
  _cleanup_json_ json_t *j = json_loads (line, 0, NULL);
  if (j == NULL)
    return 0;
  const char *stream = json_get_str (j, "stream");
  const char *log = json_get_str (j, "log");
  const char *time = json_get_str (j, "time");
  if (log == NULL || stream == NULL)
    return 0;
  bool is_err = strcmp (stream, "stderr") == 0;
  if ((is_err && !em->opts->stderr_) || (!is_err && !em->opts->stdout_))
    return 0;
  int64_t ts = 0;
  if (time)
    time_parse_rfc3339 (time, &ts);
  if (em->opts->since_ns && ts < em->opts->since_ns)
    return 0;
  if (em->opts->until_ns && ts > em->opts->until_ns)
    {
      em->stop = true;
      return 0;
    }
  arca_buf_t b = { 0 };
  if (em->opts->timestamps)
    {
      char tbuf[48];
      time_format_rfc3339nano_fixed (ts, tbuf, sizeof tbuf);
      buf_printf (&b, "%s ", tbuf);
    }
  buf_append (&b, log, json_string_length (json_object_get (j, "log")));
  int r;
  if (em->tty)
    r = em->write_fn (em->ctx, b.data, b.len);
  else
    {
      unsigned char hdr[8] = { is_err ? 2 : 1, 0, 0, 0, (b.len >> 24) & 0xff, (b.len >> 16) & 0xff,
                               (b.len >> 8) & 0xff, b.len & 0xff };
      r = em->write_fn (em->ctx, hdr, sizeof hdr);
      if (r == 0)
        r = em->write_fn (em->ctx, b.data, b.len);
    }
  buf_free (&b);
  return r;
}

static bool
selected (const arca_logs_opts_t *opts, const char *line)
{
  bool is_err = strstr (line, "\"stream\":\"stderr\"") != NULL;
  return is_err ? opts->stderr_ : opts->stdout_;
}

int
container_logs (arca_engine_t *e, arca_container_t *c, const arca_logs_opts_t *opts,
                int (*write_fn) (void *ctx, const void *data, size_t len), void *ctx, int cancel_fd,
                arca_error_t *err)
{
  _cleanup_free_ char *path = container_log_path (e, c->id);
  emitter_t em = { .opts = opts, .tty = container_tty (c), .write_fn = write_fn, .ctx = ctx };
  FILE *f = fopen (path, "re");
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int ret = 0;

  if (f && opts->tail >= 0)
    {
      /* Count selected lines, then skip all but the last `tail`. */
      long total = 0;
      while ((n = getline (&line, &cap, f)) > 0)
        if (line[n - 1] == '\n' && selected (opts, line))
          total++;
      rewind (f);
      long skip = total - opts->tail;
      while (skip > 0 && (n = getline (&line, &cap, f)) > 0)
        if (line[n - 1] == '\n' && selected (opts, line))
          skip--;
    }

  arca_buf_t partial = { 0 };
  for (;;)
    {
      if (f)
        {
          while ((n = getline (&line, &cap, f)) > 0)
            {
              if (line[n - 1] != '\n')
                {
                  /* The shim is mid-write: keep the fragment for later. */
                  buf_append (&partial, line, n);
                  break;
                }
              const char *full = line;
              if (partial.len)
                {
                  buf_append (&partial, line, n);
                  full = partial.data;
                }
              if (emit_line (&em, full) < 0)
                {
                  ret = -1;
                  goto out;
                }
              partial.len = 0;
              if (em.stop)
                goto out;
            }
          clearerr (f);
        }
      if (!opts->follow)
        break;
      pthread_mutex_lock (&e->lock);
      bool live = (c->running || c->starting) && !c->removed && !e->closing;
      pthread_mutex_unlock (&e->lock);
      if (!live)
        {
          /* Drain what the shim wrote before it reported the exit. */
          if (f)
            while ((n = getline (&line, &cap, f)) > 0)
              if (line[n - 1] == '\n' && emit_line (&em, line) < 0)
                break;
          break;
        }
      struct pollfd p = { .fd = cancel_fd, .events = POLLIN };
      if (poll (&p, cancel_fd >= 0 ? 1 : 0, 100) > 0)
        break;
      if (f == NULL)
        f = fopen (path, "re");
    }
out:
  buf_free (&partial);
  free (line);
  if (f)
    fclose (f);
  (void) err;
  return ret;
}
