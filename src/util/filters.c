#include "util/filters.h"

#include <stdio.h>
#include <regex.h>
#include <string.h>

#include "util/strutil.h"
#include "util/timeutil.h"

int
filters_parse (const char *text, json_t **out, arca_error_t *err)
{
  *out = NULL;
  if (text == NULL || *text == '\0')
    return 0;
  json_error_t jerr;
  json_t *j = json_loads (text, 0, &jerr);
  if (!json_is_object (j))
    {
      json_decref (j);
      return arca_error_set (err, ARCA_ERR_INVALID, "invalid filter: %s", jerr.text);
    }
  json_t *norm = json_object ();
  const char *k;
  json_t *v;
  json_object_foreach (j, k, v)
    {
      json_t *m = json_object ();
      if (json_is_array (v))
        {
          size_t i;
          json_t *x;
          json_array_foreach (v, i, x) if (json_is_string (x)) json_object_set_new (m, json_string_value (x), json_true ());
        }
      else if (json_is_object (v))
        {
          const char *vk;
          json_t *vv;
          json_object_foreach (v, vk, vv) if (json_is_true (vv)) json_object_set_new (m, vk, json_true ());
        }
      else
        {
          /* the message first: k belongs to j */
          arca_error_set (err, ARCA_ERR_INVALID, "invalid filter '%s'", k);
          json_decref (m);
          json_decref (norm);
          json_decref (j);
          return -1;
        }
      json_object_set_new (norm, k, m);
    }
  json_decref (j);
  *out = norm;
  return 0;
}

char **
filters_values (json_t *filters, const char *key)
{
  json_t *m = json_object_get (filters, key);
  if (!json_is_object (m))
    return NULL;
  char **v = xmalloc0 (sizeof *v);
  const char *k;
  json_t *x;
  json_object_foreach (m, k, x) v = strv_append (v, k);
  return v;
}

int
filters_validate (json_t *filters, const char *const *allowed, arca_error_t *err)
{
  const char *k;
  json_t *v;
  json_object_foreach (filters, k, v)
    {
      bool ok = false;
      for (int i = 0; allowed[i]; i++)
        if (strcmp (allowed[i], k) == 0)
          ok = true;
      if (!ok)
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid filter '%s'", k);
    }
  return 0;
}

bool
filters_match_labels (json_t *filters, json_t *labels)
{
  json_t *m = json_object_get (filters, "label");
  if (!json_is_object (m))
    return true;
  const char *want;
  json_t *x;
  json_object_foreach (m, want, x)
    {
      const char *eq = strchr (want, '=');
      if (eq == NULL)
        {
          if (json_object_get (labels, want) == NULL)
            return false;
          continue;
        }
      char key[512];
      snprintf (key, sizeof key, "%.*s", (int) (eq - want), want);
      json_t *have = json_object_get (labels, key);
      if (!json_is_string (have) || strcmp (json_string_value (have), eq + 1) != 0)
        return false;
    }
  return true;
}

int
filters_until (json_t *filters, int64_t *until_ns, arca_error_t *err)
{
  *until_ns = 0;
  char **v = filters_values (filters, "until");
  if (v == NULL)
    return 0;
  int ret = 0;
  int64_t d;
  if (strv_len (v) > 1)
    ret = arca_error_set (err, ARCA_ERR_INVALID, "more than one until filter specified");
  else if (v[0] && strcmp (v[0], "0") != 0 && time_parse_go_duration (v[0], &d) == 0)
    *until_ns = time_now_ns () - d;
  else if (v[0] && time_parse_timestamp (v[0], until_ns) < 0)
    ret = arca_error_set (err, ARCA_ERR_INVALID, "failed to parse value as time or duration: \"%s\"", v[0]);
  strv_free (v);
  return ret;
}

bool
filters_regex_match (const char *pattern, const char *source)
{
  if (strcmp (pattern, source) == 0)
    return true;
  regex_t re;
  if (regcomp (&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
    return false;
  bool m = regexec (&re, source, 0, NULL, 0) == 0;
  regfree (&re);
  return m;
}
