#include "util/jsonlog.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/timeutil.h"

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t
utf8_seq_len (const uint8_t *p, size_t avail, uint32_t *cp)
{
  uint8_t c = p[0];
  size_t n;
  uint32_t v, min;
  if (c >= 0xc2 && c <= 0xdf)
    n = 2, v = c & 0x1f, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef)
    n = 3, v = c & 0x0f, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4)
    n = 4, v = c & 0x07, min = 0x10000;
  else
    return 0;
  if (avail < n)
    return 0;
  for (size_t i = 1; i < n; i++)
    {
      if ((p[i] & 0xc0) != 0x80)
        return 0;
      v = (v << 6) | (p[i] & 0x3f);
    }
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
    return 0;
  *cp = v;
  return n;
}

static void
append_json_string (arca_buf_t *out, const uint8_t *s, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  buf_append (out, "\"", 1);
  size_t start = 0, i = 0;
  while (i < len)
    {
      uint8_t b = s[i];
      if (b < 0x80)
        {
          if (b >= 0x20 && b != '\\' && b != '"' && b != '<' && b != '>' && b != '&')
            {
              i++;
              continue;
            }
          buf_append (out, s + start, i - start);
          char esc[6];
          if (b == '\\' || b == '"')
            buf_append (out, (char[]){ '\\', (char) b }, 2);
          else if (b == '\n')
            buf_append (out, "\\n", 2);
          else if (b == '\r')
            buf_append (out, "\\r", 2);
          else
            {
              memcpy (esc, "\\u00", 4);
              esc[4] = hex[b >> 4];
              esc[5] = hex[b & 0xf];
              buf_append (out, esc, 6);
            }
          start = ++i;
          continue;
        }
      uint32_t cp = 0;
      size_t n = utf8_seq_len (s + i, len - i, &cp);
      if (n == 0)
        {
          buf_append (out, s + start, i - start);
          buf_append (out, "\\ufffd", 6);
          start = ++i;
          continue;
        }
      if (cp == 0x2028 || cp == 0x2029)
        {
          buf_append (out, s + start, i - start);
          buf_append (out, cp == 0x2028 ? "\\u2028" : "\\u2029", 6);
          i += n;
          start = i;
          continue;
        }
      i += n;
    }
  buf_append (out, s + start, len - start);
  buf_append (out, "\"", 1);
}

void
jsonlog_format_line (arca_buf_t *out, const char *stream, const void *data, size_t len, int64_t time_ns)
{
  jsonlog_format_line_attrs (out, stream, data, len, NULL, time_ns);
}

void
jsonlog_format_line_attrs (arca_buf_t *out, const char *stream, const void *data, size_t len, const char *attrs,
                           int64_t time_ns)
{
  char ts[64];
  time_format_rfc3339nano (time_ns, ts, sizeof ts);
  buf_append (out, "{\"log\":", 7);
  append_json_string (out, data, len);
  buf_printf (out, ",\"stream\":\"%s\"", stream);
  if (attrs && *attrs)
    buf_printf (out, ",\"attrs\":%s", attrs);
  buf_printf (out, ",\"time\":\"%s\"}\n", ts);
}

int
jsonlog_parse_line (const char *line, char **log, size_t *len, char **stream, int64_t *time_ns)
{
  _cleanup_json_ json_t *j = json_loads (line, JSON_ALLOW_NUL | JSON_DISABLE_EOF_CHECK, NULL);
  if (j == NULL || !json_is_object (j))
    return -1;
  json_t *jl = json_object_get (j, "log");
  json_t *js = json_object_get (j, "stream");
  json_t *jt = json_object_get (j, "time");
  if (!json_is_string (jl))
    return -1;
  int64_t t = 0;
  if (json_is_string (jt) && time_parse_rfc3339 (json_string_value (jt), &t) < 0)
    return -1;
  if (log)
    {
      size_t n = json_string_length (jl);
      char *copy = malloc (n + 1);
      if (copy == NULL)
        return -1;
      memcpy (copy, json_string_value (jl), n);
      copy[n] = '\0';
      *log = copy;
    }
  if (len)
    *len = json_string_length (jl);
  if (stream)
    *stream = strdup (json_is_string (js) ? json_string_value (js) : "");
  if (time_ns)
    *time_ns = t;
  return 0;
}

void
jsonlog_split (jsonlog_splitter_t *s, const char *data, size_t len, jsonlog_emit_fn emit, void *ctx)
{
  while (len > 0)
    {
      const char *nl = memchr (data, '\n', len);
      size_t take = nl ? (size_t) (nl - data) + 1 : len;
      if (s->len == 0 && nl && take <= JSONLOG_MAX_LINE)
        {
          /* Common case: a whole line in the input, no copy. */
          emit (ctx, data, take);
          data += take;
          len -= take;
          continue;
        }
      if (s->buf == NULL)
        s->buf = xmalloc0 (JSONLOG_MAX_LINE);
      size_t room = JSONLOG_MAX_LINE - s->len;
      size_t n = take < room ? take : room;
      memcpy (s->buf + s->len, data, n);
      s->len += n;
      data += n;
      len -= n;
      bool complete = n == take && nl != NULL;
      if (complete || s->len == JSONLOG_MAX_LINE)
        {
          emit (ctx, s->buf, s->len);
          s->len = 0;
        }
    }
}

void
jsonlog_split_flush (jsonlog_splitter_t *s, jsonlog_emit_fn emit, void *ctx)
{
  if (s->len > 0)
    emit (ctx, s->buf, s->len);
  s->len = 0;
}

void
jsonlog_splitter_free (jsonlog_splitter_t *s)
{
  free (s->buf);
  s->buf = NULL;
  s->len = 0;
}
