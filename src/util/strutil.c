#include "util/strutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
oom (void)
{
  fputs ("out of memory\n", stderr);
  abort ();
}

char *
xasprintf (const char *fmt, ...)
{
  char *r;
  va_list ap;
  va_start (ap, fmt);
  if (vasprintf (&r, fmt, ap) < 0)
    oom ();
  va_end (ap);
  return r;
}

char *
xstrdup (const char *s)
{
  if (s == NULL)
    return NULL;
  char *r = strdup (s);
  if (r == NULL)
    oom ();
  return r;
}

void *
xmalloc0 (size_t n)
{
  void *p = calloc (1, n ? n : 1);
  if (p == NULL)
    oom ();
  return p;
}

void *
xrealloc (void *p, size_t n)
{
  p = realloc (p, n ? n : 1);
  if (p == NULL)
    oom ();
  return p;
}

bool
str_has_prefix (const char *s, const char *prefix)
{
  return strncmp (s, prefix, strlen (prefix)) == 0;
}

bool
str_has_suffix (const char *s, const char *suffix)
{
  size_t a = strlen (s), b = strlen (suffix);
  return a >= b && strcmp (s + a - b, suffix) == 0;
}

bool
str_is_hex (const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return true;
}

size_t
strv_len (char **v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

char **
strv_append (char **v, const char *s)
{
  size_t n = strv_len (v);
  v = xrealloc (v, (n + 2) * sizeof *v);
  v[n] = xstrdup (s);
  v[n + 1] = NULL;
  return v;
}

char **
strv_copy (char **v)
{
  size_t n = strv_len (v);
  char **r = xmalloc0 ((n + 1) * sizeof *r);
  for (size_t i = 0; i < n; i++)
    r[i] = xstrdup (v[i]);
  return r;
}

void
strv_builder_take (arca_strv_builder_t *b, char *s)
{
  if (b->len + 2 > b->cap)
    {
      b->cap = b->cap ? b->cap * 2 : 8;
      b->v = xrealloc (b->v, b->cap * sizeof *b->v);
    }
  b->v[b->len++] = s;
  b->v[b->len] = NULL;
}

void
strv_builder_add (arca_strv_builder_t *b, const char *s)
{
  strv_builder_take (b, xstrdup (s));
}

char **
strv_builder_finish (arca_strv_builder_t *b)
{
  char **v = b->v ? b->v : xmalloc0 (sizeof *v);
  *b = (arca_strv_builder_t) { 0 };
  return v;
}

void
strv_builder_clear (arca_strv_builder_t *b)
{
  strv_free (b->v);
  *b = (arca_strv_builder_t) { 0 };
}

void
strv_free (char **v)
{
  for (size_t i = 0; v && v[i]; i++)
    free (v[i]);
  free (v);
}

void
buf_append (arca_buf_t *b, const void *data, size_t len)
{
  if (b->len + len + 1 > b->cap)
    {
      size_t cap = b->cap ? b->cap * 2 : 256;
      while (cap < b->len + len + 1)
        cap *= 2;
      b->data = xrealloc (b->data, cap);
      b->cap = cap;
    }
  memcpy (b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
}

void
buf_printf (arca_buf_t *b, const char *fmt, ...)
{
  char *s;
  va_list ap;
  va_start (ap, fmt);
  int n = vasprintf (&s, fmt, ap);
  va_end (ap);
  if (n < 0)
    oom ();
  buf_append (b, s, n);
  free (s);
}

void
buf_free (arca_buf_t *b)
{
  free (b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
