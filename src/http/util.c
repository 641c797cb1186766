/* Pure helpers of the HTTP layer: API version prefix and bounds, Docker's
 * boolean and query parsing, route matching. */
#include "http/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/strutil.h"

int
arca_version_compare (const char *a, const char *b)
{
  /* moby versions.compare: split on ".", Atoi each part (errors -> 0). */
  while (*a || *b)
    {
      char *end;
      long x = 0, y = 0;
      if (*a)
        {
          x = strtol (a, &end, 10);
          if (*end != '.' && *end != '\0')
            x = 0;
          a = strchrnul (a, '.');
          if (*a == '.')
            a++;
        }
      if (*b)
        {
          y = strtol (b, &end, 10);
          if (*end != '.' && *end != '\0')
            y = 0;
          b = strchrnul (b, '.');
          if (*b == '.')
            b++;
        }
      if (x != y)
        return x < y ? -1 : 1;
    }
  return 0;
}

bool
arca_api_version_split (const char *path, char *version, size_t vlen, const char **rest)
{
  version[0] = '\0';
  *rest = path;
  if (path[0] != '/' || path[1] != 'v')
    return false;
  const char *p = path + 2;
  size_t n = strspn (p, "0123456789.");
  if (n == 0 || p[n] != '/')
    return false;
  size_t copy = n < vlen - 1 ? n : vlen - 1;
  memcpy (version, p, copy);
  version[copy] = '\0';
  *rest = p + n;
  return true;
}

int
arca_api_version_check (const char *version, char *msg, size_t len, bool *plain)
{
  *plain = false;
  if (version == NULL || version[0] == '\0')
    return 0;
  if (arca_version_compare (version, ARCA_MIN_API_VERSION) < 0)
    {
      snprintf (msg, len,
                "client version %s is too old. Minimum supported API version is %s, please upgrade your "
                "client to a newer version",
                version, ARCA_MIN_API_VERSION);
      *plain = true;
      return -1;
    }
  if (arca_version_compare (version, ARCA_API_VERSION) > 0)
    {
      snprintf (msg, len, "client version %s is too new. Maximum supported API version is %s", version,
                ARCA_API_VERSION);
      return -1;
    }
  return 0;
}

int
arca_api_version_num (const char *version)
{
  if (version == NULL || version[0] == '\0')
    return ARCA_API_VERSION_NUM;
  char *end;
  long major = strtol (version, &end, 10);
  long minor = 0;
  if (*end == '.')
    minor = strtol (end + 1, NULL, 10);
  if (minor > 99)
    minor = 99;
  return (int) (major * 100 + minor);
}

bool
arca_parse_bool (const char *s)
{
  if (s == NULL)
    return false;
  while (isspace ((unsigned char) *s))
    s++;
  size_t n = strlen (s);
  while (n > 0 && isspace ((unsigned char) s[n - 1]))
    n--;
  static const char *falses[] = { "", "0", "no", "false", "none" };
  for (size_t i = 0; i < sizeof falses / sizeof *falses; i++)
    if (strlen (falses[i]) == n && strncasecmp (s, falses[i], n) == 0)
      return false;
  return true;
}

static int
hexval (int c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Go's url.QueryUnescape: '+' -> ' ', %XX; a bad escape makes the pair
 * invalid (Go drops it), signalled by NULL. */
static char *
query_unescape (const char *s, size_t n)
{
  char *out = xmalloc0 (n + 1), *o = out;
  for (size_t i = 0; i < n; i++)
    {
      if (s[i] == '+')
        *o++ = ' ';
      else if (s[i] == '%')
        {
          int h, l;
          if (i + 2 >= n)
            {
              free (out);
              return NULL;
            }
          h = hexval (s[i + 1]);
          l = hexval (s[i + 2]);
          if (h < 0 || l < 0)
            {
              free (out);
              return NULL;
            }
          *o++ = (char) (h * 16 + l);
          i += 2;
        }
      else
        *o++ = s[i];
    }
  *o = '\0';
  return out;
}

char **
arca_query_parse (const char *raw)
{
  arca_strv_builder_t v = { 0 };
  if (raw == NULL)
    return strv_builder_finish (&v);
  const char *p = raw;
  while (*p)
    {
      size_t n = strcspn (p, "&");
      if (n > 0)
        {
          const char *eq = memchr (p, '=', n);
          size_t kn = eq ? (size_t) (eq - p) : n;
          char *k = query_unescape (p, kn);
          char *val = eq ? query_unescape (eq + 1, n - kn - 1) : xstrdup ("");
          if (k && val)
            {
              strv_builder_take (&v, k);
              strv_builder_take (&v, val);
            }
          else
            {
              free (k);
              free (val);
            }
        }
      p += n;
      if (*p == '&')
        p++;
    }
  return strv_builder_finish (&v);
}

const char *
arca_query_get (char **query, const char *key)
{
  for (char **it = query; it && it[0] && it[1]; it += 2)
    if (strcmp (it[0], key) == 0)
      return it[1];
  return NULL;
}

void
arca_route_params_free (arca_route_param_t *params, int n)
{
  for (int i = 0; i < n; i++)
    {
      free (params[i].value);
      params[i].value = NULL;
    }
}

/* Recursive matcher over '/'-separated segments; pattern and path point at
 * the start of a segment (after a '/'). */
static bool
match_from (const char *pat, const char *path, bool span, arca_route_param_t *params, int *n)
{
  for (;;)
    {
      if (*pat == '\0')
        return *path == '\0';
      if (*pat == '{')
        {
          const char *close = strchr (pat, '}');
          if (close == NULL || *n >= ARCA_ROUTE_MAX_PARAMS)
            return false;
          size_t namelen = (size_t) (close - pat - 1);
          const char *colon = memchr (pat + 1, ':', namelen);
          bool greedy = span;
          if (colon)
            {
              /* {name:.*} as in moby: spans segments on every pass. */
              greedy = true;
              namelen = (size_t) (colon - pat - 1);
            }
          const char *after = close + 1;   /* "" or "/..." */
          size_t seglen = strcspn (path, "/");
          if (seglen == 0)
            return false;
          /* Candidate ends: the end of this segment, then (greedy) every
           * later '/' boundary; tried longest first, as .* would. */
          const char *ends[256];
          int nends = 0;
          ends[nends++] = path + seglen;
          if (greedy)
            for (const char *q = path + seglen; *q && nends < 256; q++)
              if (q[1] == '/' || q[1] == '\0')
                ends[nends++] = q + 1;
          int slot = (*n)++;
          size_t nl = namelen < sizeof params[slot].name - 1 ? namelen : sizeof params[slot].name - 1;
          memcpy (params[slot].name, pat + 1, nl);
          params[slot].name[nl] = '\0';
          for (int i = nends - 1; i >= 0; i--)
            {
              params[slot].value = strndup (path, (size_t) (ends[i] - path));
              int save = *n;
              if (match_from (after, ends[i], span, params, n))
                return true;
              arca_route_params_free (params + save, *n - save);
              *n = save;
              free (params[slot].value);
              params[slot].value = NULL;
            }
          (*n)--;
          return false;
        }
      if (*pat != *path)
        return false;
      pat++;
      path++;
    }
}

bool
arca_route_match (const char *pattern, const char *path, bool span, arca_route_param_t *params,
                  int *nparams)
{
  *nparams = 0;
  if (match_from (pattern, path, span, params, nparams))
    return true;
  arca_route_params_free (params, *nparams);
  *nparams = 0;
  return false;
}

const arca_route_t *
arca_route_find (const arca_route_t *routes, const char *method, const char *path,
                 arca_route_param_t *params, int *nparams)
{
  *nparams = 0;
  if (routes == NULL)
    return NULL;
  for (int pass = 0; pass < 2; pass++)
    for (const arca_route_t *r = routes; r->handler; r++)
      {
        if (strcmp (r->method, method) != 0)
          continue;
        if (arca_route_match (r->pattern, path, pass == 1, params, nparams))
          return r;
      }
  return NULL;
}
