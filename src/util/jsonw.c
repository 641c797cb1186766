/* util/jsonw.h: jansson's compact dump (jansson src/dump.c dump_string and
 * do_dump) without the tree. */
#include "util/jsonw.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void
jw_reserve (arca_buf_t *b, size_t n)
{
  if (b->len + n + 1 <= b->cap)
    return;
  b->cap = b->len + n + 1;
  b->data = xrealloc (b->data, b->cap);
  b->data[b->len] = '\0';
}

void
jw_raw (arca_buf_t *b, const char *s)
{
  jw_append (b, s, strlen (s));
}

void
jw_strn (arca_buf_t *b, const char *s, size_t len)
{
  jw_lit (b, "\"");
  size_t run = 0; /* bytes of s[i - run .. i) still to copy as they are */
  for (size_t i = 0; i < len; i++)
    {
      unsigned char ch = (unsigned char) s[i];
      if (ch >= 0x20 && ch != '"' && ch != '\\')
        {
          run++;
          continue;
        }
      jw_append (b, s + i - run, run);
      run = 0;
      char seq[8];
      switch (ch)
        {
        case '"': buf_append (b, "\\\"", 2); break;
        case '\\': buf_append (b, "\\\\", 2); break;
        case '\b': buf_append (b, "\\b", 2); break;
        case '\f': buf_append (b, "\\f", 2); break;
        case '\n': buf_append (b, "\\n", 2); break;
        case '\r': buf_append (b, "\\r", 2); break;
        case '\t': buf_append (b, "\\t", 2); break;
        default:
          snprintf (seq, sizeof seq, "\\u%04X", (unsigned) ch);
          buf_append (b, seq, 6);
        }
    }
  jw_append (b, s + len - run, run);
  jw_lit (b, "\"");
}

void
jw_str (arca_buf_t *b, const char *s)
{
  jw_strn (b, s ? s : "", s ? strlen (s) : 0);
}

void
jw_strv (arca_buf_t *b, char *const *v)
{
  if (v == NULL)
    {
      jw_raw (b, "null");
      return;
    }
  buf_append (b, "[", 1);
  for (size_t i = 0; v[i]; i++)
    {
      if (i)
        buf_append (b, ",", 1);
      jw_str (b, v[i]);
    }
  buf_append (b, "]", 1);
}

void
jw_int (arca_buf_t *b, int64_t v)
{
  char t[24];
  size_t i = sizeof t;
  uint64_t u = v < 0 ? -(uint64_t) v : (uint64_t) v;
  do
    t[--i] = (char) ('0' + u % 10);
  while ((u /= 10) != 0);
  if (v < 0)
    t[--i] = '-';
  jw_append (b, t + i, sizeof t - i);
}

void
jw_bool (arca_buf_t *b, int v)
{
  jw_raw (b, v ? "true" : "false");
}

static int
dump_cb (const char *buffer, size_t size, void *data)
{
  buf_append (data, buffer, size);
  return 0;
}

void
jw_json (arca_buf_t *b, const json_t *v)
{
  if (v == NULL || json_dump_callback (v, dump_cb, b, JSON_COMPACT | JSON_ENCODE_ANY) < 0)
    jw_raw (b, "null");
}
