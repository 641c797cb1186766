/* local log driver entries (locallog.h). */
#include "util/locallog.h"

#include <string.h>

static void
put_varint (arca_buf_t *b, uint64_t v)
{
  unsigned char tmp[10];
  size_t n = 0;
  do
    {
      tmp[n] = (unsigned char) (v & 0x7f);
      v >>= 7;
      if (v)
        tmp[n] |= 0x80;
      n++;
    }
  while (v);
  buf_append (b, tmp, n);
}

static void
put_be32 (arca_buf_t *b, uint32_t v)
{
  unsigned char w[4] = { (unsigned char) (v >> 24), (unsigned char) (v >> 16), (unsigned char) (v >> 8),
                         (unsigned char) v };
  buf_append (b, w, 4);
}

void
locallog_encode (arca_buf_t *out, const char *source, const void *line, size_t len, bool partial, int64_t time_ns)
{
  arca_buf_t m = { 0 };
  size_t slen = strlen (source);
  if (slen > 0)
    {
      put_varint (&m, (1 << 3) | 2);
      put_varint (&m, slen);
      buf_append (&m, source, slen);
    }
  if (time_ns != 0)
    {
      put_varint (&m, (2 << 3) | 0);
      put_varint (&m, (uint64_t) time_ns);
    }
  if (len > 0)
    {
      put_varint (&m, (3 << 3) | 2);
      put_varint (&m, len);
      buf_append (&m, line, len);
    }
  if (partial)
    {
      put_varint (&m, (4 << 3) | 0);
      put_varint (&m, 1);
    }
  put_be32 (out, (uint32_t) m.len);
  if (m.len)
    buf_append (out, m.data, m.len);
  put_be32 (out, (uint32_t) m.len);
  buf_free (&m);
}

static int
get_varint (const unsigned char **p, const unsigned char *end, uint64_t *v)
{
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7)
    {
      if (*p >= end)
        return -1;
      unsigned char c = *(*p)++;
      *v |= (uint64_t) (c & 0x7f) << shift;
      if (!(c & 0x80))
        return 0;
    }
  return -1;
}

int
locallog_decode (const unsigned char *msg, size_t len, const char **source, size_t *source_len, const char **line,
                 size_t *line_len, bool *partial, int64_t *time_ns)
{
  const unsigned char *p = msg, *end = msg + len;
  *source = *line = "";
  *source_len = *line_len = 0;
  *partial = false;
  *time_ns = 0;
  while (p < end)
    {
      uint64_t key, v;
      if (get_varint (&p, end, &key) < 0)
        return -1;
      unsigned field = (unsigned) (key >> 3), type = (unsigned) (key & 7);
      switch (type)
        {
        case 0:
          if (get_varint (&p, end, &v) < 0)
            return -1;
          if (field == 2)
            *time_ns = (int64_t) v;
          else if (field == 4)
            *partial = v != 0;
          break;
        case 2:
          if (get_varint (&p, end, &v) < 0 || v > (uint64_t) (end - p))
            return -1;
          if (field == 1)
            {
              *source = (const char *) p;
              *source_len = (size_t) v;
            }
          else if (field == 3)
            {
              *line = (const char *) p;
              *line_len = (size_t) v;
            }
          p += v;
          break;
        case 1:
          if (end - p < 8)
            return -1;
          p += 8;
          break;
        case 5:
          if (end - p < 4)
            return -1;
          p += 4;
          break;
        default:
          return -1;
        }
    }
  return 0;
}
