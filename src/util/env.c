#include "util/env.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"

/* Open addressing, linear probing, at most half full.  A slot holds the
 * string whose key it stands for and a value (an index for
 * env_replace_or_append). */
typedef struct
{
  const char *kv; /* NULL: empty slot */
  size_t value;
} slot_t;

struct env_keys
{
  slot_t *slots;
  size_t mask, used;
};

size_t
env_key_len (const char *kv)
{
  const char *eq = strchr (kv, '=');
  return eq ? (size_t) (eq - kv) : strlen (kv);
}

/* FNV-1a over the key. */
static uint64_t
key_hash (const char *kv, size_t len)
{
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char) kv[i]) * 1099511628211ULL;
  return h;
}

static slot_t *
find_slot (const env_keys_t *k, const char *kv)
{
  size_t len = env_key_len (kv);
  for (size_t i = key_hash (kv, len) & k->mask;; i = (i + 1) & k->mask)
    {
      slot_t *s = &k->slots[i];
      if (s->kv == NULL || (env_key_len (s->kv) == len && memcmp (s->kv, kv, len) == 0))
        return s;
    }
}

static void
grow (env_keys_t *k)
{
  slot_t *old = k->slots;
  size_t n = k->mask + 1;
  k->mask = n * 2 - 1;
  k->slots = xmalloc0 (n * 2 * sizeof *k->slots);
  for (size_t i = 0; i < n; i++)
    if (old[i].kv)
      *find_slot (k, old[i].kv) = old[i];
  free (old);
}

env_keys_t *
env_keys_new (size_t expected)
{
  env_keys_t *k = xmalloc0 (sizeof *k);
  size_t n = 16;
  while (n < expected * 2)
    n *= 2;
  k->slots = xmalloc0 (n * sizeof *k->slots);
  k->mask = n - 1;
  return k;
}

/* The slot for kv's key, created (value v) if missing; *added tells. */
static slot_t *
put (env_keys_t *k, const char *kv, size_t v, bool *added)
{
  if ((k->used + 1) * 2 > k->mask + 1)
    grow (k);
  slot_t *s = find_slot (k, kv);
  *added = s->kv == NULL;
  if (*added)
    {
      s->kv = kv;
      s->value = v;
      k->used++;
    }
  return s;
}

bool
env_keys_add (env_keys_t *k, const char *kv)
{
  bool added;
  put (k, kv, 0, &added);
  return added;
}

bool
env_keys_has (const env_keys_t *k, const char *kv)
{
  return find_slot (k, kv)->kv != NULL;
}

void
env_keys_free (env_keys_t *k)
{
  if (k == NULL)
    return;
  free (k->slots);
  free (k);
}

char **
env_replace_or_append (char **defaults, char *const *overrides)
{
  arca_strv_builder_t out = { 0 };
  for (size_t i = 0; defaults && defaults[i]; i++)
    strv_builder_take (&out, defaults[i]);
  free (defaults);
  /* Keys of the defaults only, as moby's cache: an appended override is
   * never replaced by a later one. */
  env_keys_t *keys = env_keys_new (out.len);
  for (size_t i = 0; i < out.len; i++)
    {
      bool added;
      put (keys, out.v[i], i, &added)->value = i; /* a repeated key: the last one, as moby's map */
    }
  /* Replaced or removed defaults are freed only at the end: the table
   * points into them. */
  arca_strv_builder_t dropped = { 0 };
  for (size_t o = 0; overrides && overrides[o]; o++)
    {
      const char *kv = overrides[o];
      slot_t *s = find_slot (keys, kv);
      bool has_eq = strchr (kv, '=') != NULL;
      if (s->kv == NULL)
        {
          if (has_eq)
            strv_builder_add (&out, kv);
          continue;
        }
      if (out.v[s->value])
        strv_builder_take (&dropped, out.v[s->value]);
      /* "" marks a removal, as moby does; dropped below */
      out.v[s->value] = xstrdup (has_eq ? kv : "");
    }
  env_keys_free (keys);
  strv_builder_clear (&dropped);
  size_t w = 0;
  for (size_t r = 0; r < out.len; r++)
    {
      if (out.v[r][0] == '\0')
        free (out.v[r]);
      else
        out.v[w++] = out.v[r];
    }
  out.len = w;
  if (out.v)
    out.v[w] = NULL;
  return strv_builder_finish (&out);
}

void
env_json_append_missing (json_t *user_env, json_t *image_env)
{
  env_keys_t *keys = env_keys_new (json_array_size (user_env) + json_array_size (image_env));
  size_t i;
  json_t *v;
  json_array_foreach (user_env, i, v)
    if (json_is_string (v))
      env_keys_add (keys, json_string_value (v));
  json_array_foreach (image_env, i, v)
    if (json_is_string (v) && env_keys_add (keys, json_string_value (v)))
      json_array_append (user_env, v);
  env_keys_free (keys);
}
