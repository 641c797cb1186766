#include "util/json.h"

#include "util/strutil.h"

const char *
json_get_str (json_t *obj, const char *key)
{
  json_t *v = json_object_get (obj, key);
  return json_is_string (v) ? json_string_value (v) : NULL;
}

int64_t
json_get_int (json_t *obj, const char *key, int64_t def)
{
  json_t *v = json_object_get (obj, key);
  if (json_is_integer (v))
    return json_integer_value (v);
  if (json_is_real (v))
    return (int64_t) json_real_value (v);
  return def;
}

bool
json_get_bool (json_t *obj, const char *key, bool def)
{
  json_t *v = json_object_get (obj, key);
  return json_is_boolean (v) ? json_is_true (v) : def;
}

char **
json_get_strv (json_t *obj, const char *key)
{
  json_t *arr = json_object_get (obj, key);
  if (!json_is_array (arr))
    return NULL;
  char **r = xmalloc0 ((json_array_size (arr) + 1) * sizeof *r);
  size_t i, n = 0;
  json_t *v;
  json_array_foreach (arr, i, v)
    if (json_is_string (v))
      r[n++] = xstrdup (json_string_value (v));
  return r;
}

json_t *
json_from_strv (char **v)
{
  json_t *a = json_array ();
  for (size_t i = 0; v && v[i]; i++)
    json_array_append_new (a, json_string (v[i]));
  return a;
}

char *
json_dump_compact (json_t *j)
{
  return json_dumps (j, JSON_COMPACT | JSON_ENCODE_ANY);
}
