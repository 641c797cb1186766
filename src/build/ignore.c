/* .dockerignore after buildkit's dockerignore.ReadAll and moby 20.10
 * pkg/fileutils (NewPatternMatcher, Matches, Pattern.compile): each
 * pattern becomes a regular expression ("**" any number of directories,
 * "*" and "?" within one path element) matched against the file and its
 * parent directories.  POSIX extended expressions stand in for Go's RE2:
 * the constructs the translation produces mean the same in both. */
#include "build/ignore.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/strutil.h"

char *
go_path_clean (const char *p)
{
  if (p == NULL || *p == '\0')
    return xstrdup (".");
  bool rooted = p[0] == '/';
  size_t n = strlen (p);
  char *out = xmalloc0 (n + 2);
  size_t w = 0, r = 0, dotdot = 0;
  if (rooted)
    {
      out[w++] = '/';
      r = 1;
      dotdot = 1;
    }
  while (r < n)
    {
      if (p[r] == '/')
        r++;
      else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/'))
        r++;
      else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/'))
        {
          r += 2;
          if (w > dotdot)
            {
              w--;
              while (w > dotdot && out[w] != '/')
                w--;
            }
          else if (!rooted)
            {
              if (w > 0)
                out[w++] = '/';
              out[w++] = '.';
              out[w++] = '.';
              dotdot = w;
            }
        }
      else
        {
          if ((rooted && w != 1) || (!rooted && w != 0))
            out[w++] = '/';
          while (r < n && p[r] != '/')
            out[w++] = p[r++];
        }
    }
  if (w == 0)
    out[w++] = '.';
  out[w] = '\0';
  return out;
}

char **
dockerignore_read (const char *data, size_t len)
{
  char **out = xmalloc0 (sizeof (char *));
  size_t pos = 0;
  bool first = true;
  while (pos < len)
    {
      const char *start = data + pos;
      const char *nl = memchr (start, '\n', len - pos);
      size_t n = nl ? (size_t) (nl - start) : len - pos;
      pos += n + (nl ? 1 : 0);
      if (n > 0 && start[n - 1] == '\r')
        n--;
      _cleanup_free_ char *line = strndup (start, n);
      char *pat = line;
      if (first && strncmp (pat, "\xef\xbb\xbf", 3) == 0)
        pat += 3;
      first = false;
      if (pat[0] == '#')
        continue;
      /* strings.TrimSpace */
      while (*pat == ' ' || (*pat >= '\t' && *pat <= '\r'))
        pat++;
      size_t l = strlen (pat);
      while (l > 0 && (pat[l - 1] == ' ' || (pat[l - 1] >= '\t' && pat[l - 1] <= '\r')))
        pat[--l] = '\0';
      if (*pat == '\0')
        continue;
      bool invert = pat[0] == '!';
      if (invert)
        {
          pat++;
          while (*pat == ' ' || (*pat >= '\t' && *pat <= '\r'))
            pat++;
        }
      _cleanup_free_ char *clean = NULL;
      if (*pat)
        {
          clean = go_path_clean (pat);
          if (strlen (clean) > 1 && clean[0] == '/')
            memmove (clean, clean + 1, strlen (clean));
        }
      _cleanup_free_ char *entry = xasprintf ("%s%s", invert ? "!" : "", clean ? clean : "");
      out = strv_append (out, entry);
    }
  return out;
}

/* Pattern.compile: the regular expression for a cleaned pattern. */
static char *
pattern_regex (const char *p)
{
  arca_buf_t re = { 0 };
  buf_append (&re, "^", 1);
  size_t n = strlen (p);
  for (size_t i = 0; i < n; i++)
    {
      char ch = p[i];
      if (ch == '*')
        {
          if (p[i + 1] == '*')
            {
              i++;
              if (p[i + 1] == '/')
                i++;
              if (i + 1 >= n)
                buf_append (&re, ".*", 2);
              else
                buf_append (&re, "(.*/)?", 6);
            }
          else
            buf_append (&re, "[^/]*", 5);
        }
      else if (ch == '?')
        buf_append (&re, "[^/]", 4);
      else if (ch == '.' || ch == '$')
        {
          char e[2] = { '\\', ch };
          buf_append (&re, e, 2);
        }
      else if (ch == '\\')
        {
          if (i + 1 < n)
            {
              char e[2] = { '\\', p[++i] };
              buf_append (&re, e, 2);
            }
          else
            buf_append (&re, "\\", 1);
        }
      else
        buf_append (&re, &ch, 1);
    }
  buf_append (&re, "$", 1);
  return re.data;
}

/* filepath.Match(p, ".") only to validate the pattern's syntax: a
 * character class must be closed and an escape must have a character. */
static bool
pattern_valid (const char *p)
{
  for (size_t i = 0; p[i]; i++)
    {
      if (p[i] == '\\')
        {
          if (p[i + 1] == '\0')
            return false;
          i++;
        }
      else if (p[i] == '[')
        {
          size_t j = i + 1;
          if (p[j] == '^')
            j++;
          if (p[j] == ']')
            return false; /* an empty class */
          while (p[j] && p[j] != ']')
            {
              if (p[j] == '\\')
                {
                  if (p[j + 1] == '\0')
                    return false;
                  j++;
                }
              j++;
            }
          if (p[j] != ']')
            return false;
          i = j;
        }
    }
  return true;
}

static int
regex_match (const char *pattern, const char *path, arca_error_t *err)
{
  _cleanup_free_ char *src = pattern_regex (pattern);
  regex_t re;
  if (regcomp (&re, src, REG_EXTENDED | REG_NOSUB) != 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "syntax error in pattern");
  int r = regexec (&re, path, 0, NULL, 0) == 0;
  regfree (&re);
  return r;
}

int
dockerignore_matches (const char *file, char **patterns, arca_error_t *err)
{
  _cleanup_free_ char *f = go_path_clean (file);
  if (strcmp (f, ".") == 0)
    return 0;
  /* NewPatternMatcher: clean, split off "!", validate */
  size_t np = strv_len (patterns);
  char **pats = xmalloc0 ((np + 1) * sizeof (char *));
  bool *neg = xmalloc0 ((np + 1) * sizeof (bool));
  size_t k = 0;
  int ret = 0;
  for (size_t i = 0; i < np; i++)
    {
      char *t = xstrdup (patterns[i]);
      char *a = t;
      while (*a == ' ' || (*a >= '\t' && *a <= '\r'))
        a++;
      size_t l = strlen (a);
      while (l > 0 && (a[l - 1] == ' ' || (a[l - 1] >= '\t' && a[l - 1] <= '\r')))
        a[--l] = '\0';
      if (*a == '\0')
        {
          free (t);
          continue;
        }
      char *c = go_path_clean (a);
      free (t);
      if (c[0] == '!')
        {
          if (c[1] == '\0')
            {
              free (c);
              ret = arca_error_set (err, ARCA_ERR_INVALID, "illegal exclusion pattern: \"!\"");
              goto out;
            }
          neg[k] = true;
          memmove (c, c + 1, strlen (c));
        }
      if (!pattern_valid (c))
        {
          free (c);
          ret = arca_error_set (err, ARCA_ERR_INVALID, "syntax error in pattern");
          goto out;
        }
      pats[k++] = c;
    }
  /* PatternMatcher.Matches */
  {
    _cleanup_free_ char *parent = xstrdup (f);
    char *slash = strrchr (parent, '/');
    if (slash)
      *slash = '\0';
    else
      strcpy (parent, ".");
    size_t parent_dirs = 1;
    for (const char *c = parent; *c; c++)
      parent_dirs += *c == '/';
    bool matched = false;
    for (size_t i = 0; i < k; i++)
      {
        int m = regex_match (pats[i], f, err);
        if (m < 0)
          {
            ret = -1;
            goto out;
          }
        size_t dirs = 1;
        for (const char *c = pats[i]; *c; c++)
          dirs += *c == '/';
        if (!m && strcmp (parent, ".") != 0 && dirs <= parent_dirs)
          {
            /* the first len(pattern.dirs) elements of the parent path */
            _cleanup_free_ char *prefix = xstrdup (parent);
            size_t seen = 0;
            for (char *c = prefix; *c; c++)
              if (*c == '/' && ++seen == dirs)
                {
                  *c = '\0';
                  break;
                }
            m = regex_match (pats[i], prefix, err);
            if (m < 0)
              m = 0; /* moby ignores the error here */
          }
        if (m)
          matched = !neg[i];
      }
    ret = matched ? 1 : 0;
  }
out:
  for (size_t i = 0; i < k; i++)
    free (pats[i]);
  free (pats);
  free (neg);
  return ret;
}
