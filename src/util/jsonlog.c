#include "util/jsonlog.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
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

/* ---- reading ----
 *
 * The lines this shim and dockerd's jsonfilelog write have one shape:
 * {"log":"<escaped>","stream":"stdout|stderr","time":"<RFC 3339, UTC>"}
 * (moby jsonlog.JSONLogs.MarshalJSONBuf).  That shape is decoded here
 * without building a JSON tree; anything else (attrs, other key orders,
 * offsets in the time) goes through jansson.  `docker logs` of a large
 * log spends its time here. */

static int
hex4 (const char *p, uint32_t *out)
{
  uint32_t v = 0;
  for (int i = 0; i < 4; i++)
    {
      char c = p[i];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= (uint32_t) (c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= (uint32_t) (c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= (uint32_t) (c - 'A' + 10);
      else
        return -1;
    }
  *out = v;
  return 0;
}

static void
put_utf8 (arca_buf_t *b, uint32_t cp)
{
  char u[4];
  size_t n;
  if (cp < 0x80)
    u[0] = (char) cp, n = 1;
  else if (cp < 0x800)
    u[0] = (char) (0xc0 | (cp >> 6)), u[1] = (char) (0x80 | (cp & 0x3f)), n = 2;
  else if (cp < 0x10000)
    u[0] = (char) (0xe0 | (cp >> 12)), u[1] = (char) (0x80 | ((cp >> 6) & 0x3f)), u[2] = (char) (0x80 | (cp & 0x3f)),
    n = 3;
  else
    u[0] = (char) (0xf0 | (cp >> 18)), u[1] = (char) (0x80 | ((cp >> 12) & 0x3f)),
    u[2] = (char) (0x80 | ((cp >> 6) & 0x3f)), u[3] = (char) (0x80 | (cp & 0x3f)), n = 4;
  buf_append (b, u, n);
}

/* Decode the JSON string whose body starts at *pp (after the opening
 * quote) into out; *pp ends after the closing quote.  -1 if malformed or
 * holding what the fast path leaves to jansson (a lone surrogate). */
static int
unescape_string (const char **pp, const char *end, arca_buf_t *out)
{
  const char *p = *pp;
  for (;;)
    {
      const char *run = p;
      while (p < end && *p != '"' && *p != '\\' && (unsigned char) *p >= 0x20)
        p++;
      buf_append (out, run, (size_t) (p - run));
      if (p >= end || (unsigned char) *p < 0x20)
        return -1;
      if (*p == '"')
        {
          *pp = p + 1;
          return 0;
        }
      if (++p >= end)
        return -1;
      char c = *p++;
      const char *simple = strchr ("\"\\/bfnrt", c);
      if (c != '\0' && simple)
        {
          static const char decoded[] = "\"\\/\b\f\n\r\t";
          buf_append (out, &decoded[simple - "\"\\/bfnrt"], 1);
          continue;
        }
      uint32_t cp, lo;
      if (c != 'u' || end - p < 4 || hex4 (p, &cp) < 0)
        return -1;
      p += 4;
      if (cp >= 0xd800 && cp <= 0xdbff)
        {
          if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4 (p + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
            return -1;
          p += 6;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
      else if (cp >= 0xdc00 && cp <= 0xdfff)
        return -1;
      put_utf8 (out, cp);
    }
}

static bool
take (const char **pp, const char *end, const char *lit)
{
  size_t n = strlen (lit);
  if ((size_t) (end - *pp) < n || memcmp (*pp, lit, n) != 0)
    return false;
  *pp += n;
  return true;
}

static int
digits (const char *p, int n)
{
  int v = 0;
  for (int i = 0; i < n; i++)
    {
      if (p[i] < '0' || p[i] > '9')
        return -1;
      v = v * 10 + (p[i] - '0');
    }
  return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t
days_from_civil (int64_t y, int m, int d)
{
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* "YYYY-MM-DDTHH:MM:SS[.fraction]Z" of len bytes; -1 for anything else. */
static int
parse_utc_time (const char *p, size_t len, int64_t *ns)
{
  if (len < 20 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' || p[16] != ':' || p[len - 1] != 'Z')
    return -1;
  int y = digits (p, 4), mo = digits (p + 5, 2), d = digits (p + 8, 2);
  int h = digits (p + 11, 2), mi = digits (p + 14, 2), sec = digits (p + 17, 2);
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
    return -1;
  int64_t frac = 0;
  size_t i = 19;
  if (p[i] == '.')
    {
      int nd = 0;
      for (i++; i < len - 1; i++, nd++)
        {
          if (p[i] < '0' || p[i] > '9' || nd >= 9)
            return -1;
          frac = frac * 10 + (p[i] - '0');
        }
      if (nd == 0)
        return -1;
      for (; nd < 9; nd++)
        frac *= 10;
    }
  if (i != len - 1)
    return -1;
  int64_t secs = days_from_civil (y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
  if (secs > INT64_MAX / 1000000000 - 1)
    return -1;
  *ns = secs * 1000000000 + frac;
  return 0;
}

/* The common shape, or -1 to let jansson decide. */
static int
parse_fast (const char *line, size_t n, arca_buf_t *log, bool *is_stderr, int64_t *time_ns)
{
  const char *p = line, *end = line + n;
  while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
    end--;
  if (!take (&p, end, "{\"log\":\"") || unescape_string (&p, end, log) < 0)
    return -1;
  if (take (&p, end, ",\"stream\":\"stdout\""))
    *is_stderr = false;
  else if (take (&p, end, ",\"stream\":\"stderr\""))
    *is_stderr = true;
  else
    return -1;
  if (!take (&p, end, ",\"time\":\""))
    return -1;
  const char *t = p;
  const char *q = memchr (t, '"', (size_t) (end - t));
  if (q == NULL || end - q != 2 || q[1] != '}' || parse_utc_time (t, (size_t) (q - t), time_ns) < 0)
    return -1;
  return 0;
}

static int
parse_jansson (const char *line, size_t n, arca_buf_t *log, bool *is_stderr, int64_t *time_ns)
{
  _cleanup_json_ json_t *j = json_loadb (line, n, JSON_ALLOW_NUL | JSON_DISABLE_EOF_CHECK, NULL);
  if (j == NULL || !json_is_object (j))
    return -1;
  json_t *jl = json_object_get (j, "log");
  json_t *js = json_object_get (j, "stream");
  json_t *jt = json_object_get (j, "time");
  if (!json_is_string (jl))
    return -1;
  if (json_is_string (jt) && time_parse_rfc3339 (json_string_value (jt), time_ns) < 0)
    return -1;
  buf_append (log, json_string_value (jl), json_string_length (jl));
  *is_stderr = json_is_string (js) && strcmp (json_string_value (js), "stderr") == 0;
  return 0;
}

int
jsonlog_parse (const char *line, size_t n, char **log, size_t *len, bool *is_stderr, int64_t *time_ns)
{
  arca_buf_t b = { 0 };
  bool err_stream = false;
  int64_t t = 0;
  if (parse_fast (line, n, &b, &err_stream, &t) < 0)
    {
      b.len = 0;
      t = 0;
      if (parse_jansson (line, n, &b, &err_stream, &t) < 0)
        {
          buf_free (&b);
          return -1;
        }
    }
  buf_append (&b, "", 1); /* NUL-terminated, not counted */
  if (len)
    *len = b.len - 1;
  if (log)
    *log = b.data;
  else
    buf_free (&b);
  if (is_stderr)
    *is_stderr = err_stream;
  if (time_ns)
    *time_ns = t;
  return 0;
}

int
jsonlog_parse_line (const char *line, char **log, size_t *len, char **stream, int64_t *time_ns)
{
  bool is_stderr;
  if (jsonlog_parse (line, strlen (line), log, len, &is_stderr, time_ns) < 0)
    return -1;
  if (stream)
    *stream = xstrdup (is_stderr ? "stderr" : "stdout");
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
