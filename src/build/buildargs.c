/* Build arguments (moby builder/dockerfile/buildargs.go): --build-arg
 * values, ARG declarations per stage and before the first FROM (meta
 * args), and the predefined proxy args that need no declaration. */
#include "build/internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/strutil.h"

static const char *const builtin[] = { "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                                       "ftp_proxy",  "NO_PROXY",   "no_proxy",    NULL };

static bool
is_builtin (const char *k)
{
  for (size_t i = 0; builtin[i]; i++)
    if (strcmp (builtin[i], k) == 0)
      return true;
  return false;
}

buildargs_t *
buildargs_new (json_t *options)
{
  buildargs_t *b = xmalloc0 (sizeof *b);
  b->allowed = json_object ();
  b->meta = json_object ();
  b->referenced = json_object ();
  b->options = json_is_object (options) ? json_incref (options) : json_object ();
  return b;
}

buildargs_t *
buildargs_clone (const buildargs_t *src)
{
  buildargs_t *b = xmalloc0 (sizeof *b);
  b->allowed = json_deep_copy (src->allowed);
  b->meta = json_deep_copy (src->meta);
  b->referenced = json_deep_copy (src->referenced);
  b->options = json_incref (src->options);
  return b;
}

void
buildargs_free (buildargs_t *b)
{
  if (b == NULL)
    return;
  json_decref (b->allowed);
  json_decref (b->meta);
  json_decref (b->referenced);
  json_decref (b->options);
  free (b);
}

void
buildargs_reset_allowed (buildargs_t *b)
{
  json_object_clear (b->allowed);
}

static json_t *
opt_value (const char *value)
{
  return value ? json_string (value) : json_null ();
}

void
buildargs_add_arg (buildargs_t *b, const char *key, const char *value)
{
  json_object_set_new (b->allowed, key, opt_value (value));
  json_object_set_new (b->referenced, key, json_true ());
}

void
buildargs_add_meta (buildargs_t *b, const char *key, const char *value)
{
  json_object_set_new (b->meta, key, opt_value (value));
}

/* getBuildArg: the --build-arg value wins, then the declared default,
 * then (for an ARG without default) the meta arg's default. */
static const char *
get_arg (const buildargs_t *b, const char *key, json_t *mapping, bool *ok)
{
  json_t *def = json_object_get (mapping, key);
  bool exists = def != NULL;
  const char *opt = json_string_value (json_object_get (b->options, key));
  if (opt)
    {
      *ok = true;
      return opt;
    }
  if (def == NULL || json_is_null (def))
    {
      const char *m = json_string_value (json_object_get (b->meta, key));
      *ok = m != NULL;
      return m ? m : "";
    }
  *ok = exists;
  return json_string_value (def);
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static char **
all_from (const buildargs_t *b, json_t *mapping)
{
  char **out = xmalloc0 (sizeof (char *));
  _cleanup_json_ json_t *keys = json_object ();
  const char *k;
  json_t *v;
  json_object_foreach (mapping, k, v)
    json_object_set_new (keys, k, json_true ());
  for (size_t i = 0; builtin[i]; i++)
    json_object_set_new (keys, builtin[i], json_true ());
  json_object_foreach (keys, k, v)
    {
      bool ok;
      const char *val = get_arg (b, k, mapping, &ok);
      if (ok)
        {
          _cleanup_free_ char *e = xasprintf ("%s=%s", k, val);
          out = strv_append (out, e);
        }
    }
  qsort (out, strv_len (out), sizeof (char *), cmp_str);
  return out;
}

char **
buildargs_all_allowed (const buildargs_t *b)
{
  return all_from (b, b->allowed);
}

char **
buildargs_all_meta (const buildargs_t *b)
{
  return all_from (b, b->meta);
}

char **
buildargs_filter_allowed (const buildargs_t *b, char **env)
{
  _cleanup_strv_ char **all = buildargs_all_allowed (b);
  char **out = xmalloc0 (sizeof (char *));
  for (size_t i = 0; all[i]; i++)
    {
      size_t klen = (size_t) (strchr (all[i], '=') - all[i]);
      bool in_env = false;
      for (size_t j = 0; env && env[j]; j++)
        {
          const char *eq = strchr (env[j], '=');
          size_t el = eq ? (size_t) (eq - env[j]) : strlen (env[j]);
          if (el == klen && strncmp (env[j], all[i], klen) == 0)
            in_env = true;
        }
      if (!in_env)
        out = strv_append (out, all[i]);
    }
  return out;
}

bool
buildargs_referenced_or_not_builtin (const buildargs_t *b, const char *key)
{
  return json_object_get (b->allowed, key) != NULL || !is_builtin (key);
}

void
buildargs_merge_referenced (buildargs_t *dst, const buildargs_t *src)
{
  const char *k;
  json_t *v;
  json_object_foreach (src->referenced, k, v)
    json_object_set_new (dst->referenced, k, json_true ());
}

char **
buildargs_unused (const buildargs_t *b)
{
  char **out = xmalloc0 (sizeof (char *));
  const char *k;
  json_t *v;
  json_object_foreach (b->options, k, v)
    if (!is_builtin (k) && json_object_get (b->referenced, k) == NULL)
      out = strv_append (out, k);
  qsort (out, strv_len (out), sizeof (char *), cmp_str);
  return out;
}
