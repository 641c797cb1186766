/* Go's fmt and strconv formatting for the builder's texts (see gofmt.h). */
#include "build/gofmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"

/* Length of the valid UTF-8 sequence at p (1..4), 0 if invalid. */
static size_t
utf8_len (const unsigned char *p)
{
  if (p[0] < 0x80)
    return 1;
  size_t n;
  uint32_t cp;
  if ((p[0] & 0xe0) == 0xc0)
    n = 2, cp = p[0] & 0x1f;
  else if ((p[0] & 0xf0) == 0xe0)
    n = 3, cp = p[0] & 0x0f;
  else if ((p[0] & 0xf8) == 0xf0)
    n = 4, cp = p[0] & 0x07;
  else
    return 0;
  for (size_t i = 1; i < n; i++)
    {
      if ((p[i] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
  /* overlong forms, surrogates and values past U+10FFFF are invalid */
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))
      || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

static void
quote_byte (arca_buf_t *b, unsigned char c, char q)
{
  switch (c)
    {
    case '\a': buf_append (b, "\\a", 2); return;
    case '\b': buf_append (b, "\\b", 2); return;
    case '\f': buf_append (b, "\\f", 2); return;
    case '\n': buf_append (b, "\\n", 2); return;
    case '\r': buf_append (b, "\\r", 2); return;
    case '\t': buf_append (b, "\\t", 2); return;
    case '\v': buf_append (b, "\\v", 2); return;
    case '\\': buf_append (b, "\\\\", 2); return;
    default: break;
    }
  if (c == (unsigned char) q)
    {
      char e[2] = { '\\', q };
      buf_append (b, e, 2);
      return;
    }
  if (c < 0x20 || c >= 0x7f)
    buf_printf (b, "\\x%02x", c);
  else
    buf_append (b, (const char *) &c, 1);
}

char *
go_quote (const char *s)
{
  arca_buf_t b = { 0 };
  buf_append (&b, "\"", 1);
  const unsigned char *p = (const unsigned char *) (s ? s : "");
  while (*p)
    {
      size_t n = utf8_len (p);
      if (n > 1)
        {
          /* printable non-ASCII (U+0080..U+009F are control characters) */
          if (p[0] == 0xc2 && p[1] < 0xa0)
            buf_printf (&b, "\\u%04x", p[1]);
          else
            buf_append (&b, (const char *) p, n);
          p += n;
          continue;
        }
      quote_byte (&b, *p, '"');
      p++;
    }
  buf_append (&b, "\"", 1);
  return b.data;
}

char *
go_quote_rune (int64_t r)
{
  arca_buf_t b = { 0 };
  buf_append (&b, "'", 1);
  if (r >= 0 && r < 0x80)
    quote_byte (&b, (unsigned char) r, '\'');
  else if (r < 0x10000)
    buf_printf (&b, "\\u%04x", (unsigned) r);
  else
    buf_printf (&b, "\\U%08x", (unsigned) r);
  buf_append (&b, "'", 1);
  return b.data;
}

static char *
strv_fmt (char **v, bool quote)
{
  arca_buf_t b = { 0 };
  buf_append (&b, "[", 1);
  for (size_t i = 0; v && v[i]; i++)
    {
      if (i > 0)
        buf_append (&b, " ", 1);
      if (quote)
        {
          char *q = go_quote (v[i]);
          buf_append (&b, q, strlen (q));
          free (q);
        }
      else
        buf_append (&b, v[i], strlen (v[i]));
    }
  buf_append (&b, "]", 1);
  return b.data;
}

char *
go_strv_q (char **v)
{
  return strv_fmt (v, true);
}

char *
go_strv_v (char **v)
{
  return strv_fmt (v, false);
}

/* Go's fmtFrac/fmtInt as used by Duration.String: v with prec decimal
 * digits of fraction, trailing zeros (and a bare point) dropped. */
static void
frac_append (arca_buf_t *b, uint64_t v, int prec)
{
  char digits[32];
  int n = 0;
  bool print = false;
  char frac[32];
  int fn = 0;
  for (int i = 0; i < prec; i++)
    {
      int digit = (int) (v % 10);
      print = print || digit != 0;
      if (print)
        frac[fn++] = (char) ('0' + digit);
      v /= 10;
    }
  n = snprintf (digits, sizeof digits, "%llu", (unsigned long long) v);
  buf_append (b, digits, (size_t) n);
  if (fn > 0)
    {
      buf_append (b, ".", 1);
      for (int i = fn - 1; i >= 0; i--)
        buf_append (b, &frac[i], 1);
    }
}

char *
go_duration_string (int64_t ns)
{
  arca_buf_t b = { 0 };
  if (ns == 0)
    {
      buf_append (&b, "0s", 2);
      return b.data;
    }
  bool neg = ns < 0;
  uint64_t u = neg ? (uint64_t) (-(ns + 1)) + 1 : (uint64_t) ns;
  if (neg)
    buf_append (&b, "-", 1);
  if (u < 1000000000ULL)
    {
      /* sub-second: the largest of ns, µs, ms that keeps an integer part */
      int prec;
      const char *unit;
      if (u < 1000ULL)
        prec = 0, unit = "ns";
      else if (u < 1000000ULL)
        prec = 3, unit = "\xc2\xb5s";
      else
        prec = 6, unit = "ms";
      frac_append (&b, u, prec);
      buf_append (&b, unit, strlen (unit));
    }
  else
    {
      uint64_t secs = u / 1000000000ULL, frac = u % 1000000000ULL;
      uint64_t h = secs / 3600, m = (secs / 60) % 60, s = secs % 60;
      if (h > 0)
        buf_printf (&b, "%lluh", (unsigned long long) h);
      if (h > 0 || m > 0)
        buf_printf (&b, "%llum", (unsigned long long) m);
      frac_append (&b, s * 1000000000ULL + frac, 9);
      buf_append (&b, "s", 1);
    }
  return b.data;
}

char *
utf8_sanitize (const char *data, size_t len)
{
  arca_buf_t b = { 0 };
  buf_append (&b, "", 0);
  const unsigned char *p = (const unsigned char *) data;
  size_t i = 0;
  while (i < len)
    {
      if (p[i] == 0)
        {
          buf_append (&b, "\xef\xbf\xbd", 3); /* jansson strings cannot hold NUL either */
          i++;
          continue;
        }
      size_t n = 0;
      if (len - i >= 4 || p[i] < 0x80)
        n = utf8_len (p + i);
      else
        {
          /* a sequence cut by the end of the chunk: check within bounds */
          unsigned char tmp[5] = { 0 };
          memcpy (tmp, p + i, len - i);
          n = utf8_len (tmp);
          if (n > len - i)
            n = 0;
        }
      if (n == 0)
        {
          buf_append (&b, "\xef\xbf\xbd", 3);
          i++;
          continue;
        }
      buf_append (&b, (const char *) p + i, n);
      i += n;
    }
  return b.data;
}
