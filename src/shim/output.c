/* The container's output: json-file log lines and attach fan-out. */
#include "shim/shim.h"

#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/stdcopy.h"
#include "util/timeutil.h"

static const char *const stream_names[2] = { "stdout", "stderr" };

typedef struct
{
  shim_t *s;
  const char *stream;
  int64_t now;
} emit_ctx_t;

static void
emit_line (void *opaque, const char *data, size_t len)
{
  emit_ctx_t *ctx = opaque;
  shim_log_entry (ctx->s, ctx->stream, data, len, ctx->now);
}

/* stream: 0 stdout, 1 stderr.  With a TTY everything is "stdout". */
void
shim_handle_output (shim_t *s, int stream, const char *data, size_t len)
{
  if (s->log)
    {
      emit_ctx_t ctx = { s, stream_names[stream], time_now_ns () };
      jsonlog_split (&s->split[stream], data, len, emit_line, &ctx);
      shim_log_flush (s);
    }
  uint8_t hdr[STDCOPY_HEADER_LEN];
  stdcopy_header (hdr, stream == 0 ? STDCOPY_STDOUT : STDCOPY_STDERR, (uint32_t) len);
  for (shim_conn_t *c = s->conns; c; c = c->next)
    {
      if (!c->attached || c->closing || c->dead)
        continue;
      if (!(stream == 0 ? c->a_stdout : c->a_stderr))
        continue;
      if (!s->tty)
        buf_append (&c->out, hdr, sizeof hdr);
      shim_conn_send (s, c, data, len);
    }
}

void
shim_output_eof (shim_t *s, int stream)
{
  if (s->log)
    {
      emit_ctx_t ctx = { s, stream_names[stream], time_now_ns () };
      jsonlog_split_flush (&s->split[stream], emit_line, &ctx);
      shim_log_flush (s);
    }
  jsonlog_splitter_free (&s->split[stream]);
}

bool
shim_backpressured (shim_t *s)
{
  if (shim_log_blocks (s))
    return true;
  for (shim_conn_t *c = s->conns; c; c = c->next)
    if (c->attached && !c->dead && c->out.len - c->out_off > SHIM_OUT_HIGH_WATER)
      return true;
  return false;
}
