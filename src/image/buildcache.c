/* The classic builder's cache (moby image/cache cache.go, compare.go) and
 * its records as build cache for `docker system df` and `docker builder
 * prune` (see image.h). */
#include "image/store_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/cleanup.h"
#include "util/filters.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timeutil.h"

/* ---- compare (image/cache/compare.go) ------------------------------------------------ */

static size_t
len_of (json_t *v)
{
  return json_is_array (v) ? json_array_size (v) : json_is_object (v) ? json_object_size (v) : 0;
}

static bool
str_eq (json_t *a, json_t *b)
{
  const char *x = json_string_value (a), *y = json_string_value (b);
  return strcmp (x ? x : "", y ? y : "") == 0;
}

static bool
arrays_eq (json_t *a, json_t *b)
{
  for (size_t i = 0; i < len_of (a); i++)
    if (!str_eq (json_array_get (a, i), json_array_get (b, i)))
      return false;
  return true;
}

/* compare(a, b): a is a record's container_config, b the step's. */
static bool
config_compare (json_t *a, json_t *b)
{
  if (!json_is_object (a) || !json_is_object (b) || json_get_bool (a, "OpenStdin", false)
      || json_get_bool (b, "OpenStdin", false))
    return false;
  static const char *const bools[] = { "AttachStdout", "AttachStderr", "OpenStdin", "Tty", NULL };
  for (size_t i = 0; bools[i]; i++)
    if (json_get_bool (a, bools[i], false) != json_get_bool (b, bools[i], false))
      return false;
  if (!str_eq (json_object_get (a, "User"), json_object_get (b, "User")))
    return false;
  static const char *const sized[] = { "Cmd", "Env", "Labels", "ExposedPorts", "Entrypoint", "Volumes", NULL };
  for (size_t i = 0; sized[i]; i++)
    if (len_of (json_object_get (a, sized[i])) != len_of (json_object_get (b, sized[i])))
      return false;
  if (!arrays_eq (json_object_get (a, "Cmd"), json_object_get (b, "Cmd"))
      || !arrays_eq (json_object_get (a, "Env"), json_object_get (b, "Env"))
      || !arrays_eq (json_object_get (a, "Entrypoint"), json_object_get (b, "Entrypoint")))
    return false;
  const char *k;
  json_t *v;
  json_t *bl = json_object_get (b, "Labels");
  json_object_foreach (json_object_get (a, "Labels"), k, v)
    if (!str_eq (v, json_object_get (bl, k)))
      return false;
  static const char *const sets[] = { "ExposedPorts", "Volumes", NULL };
  for (size_t i = 0; sets[i]; i++)
    json_object_foreach (json_object_get (a, sets[i]), k, v)
      if (json_object_get (json_object_get (b, sets[i]), k) == NULL)
        return false;
  return true;
}

/* ---- lookup ---------------------------------------------------------------------------- */

int
image_cache_lookup (arca_image_store_t *s, const char *parent_id, json_t *container_config, char **hit,
                    arca_error_t *err)
{
  *hit = NULL;
  /* getLocalCachedImage: the parent's children, newest match wins.
   * Only build step records count (not committed or loaded images), and
   * no record that lost its parent to a prune. */
  _cleanup_strv_ char **ids = NULL;
  if (arca_store_build_cache_children (s->db, parent_id, &ids, err) < 0)
    return -1;
  int64_t best_created = 0;
  for (size_t i = 0; ids[i]; i++)
    {
      const char *id = ids[i];
      _cleanup_json_ json_t *config = NULL;
      arca_error_t ignored;
      if (id == NULL || store_blob_read_json (s, id, &config, &ignored) < 0)
        continue;
      if (!config_compare (json_object_get (config, "container_config"), container_config))
        continue;
      int64_t created = 0;
      const char *c = json_get_str (config, "created");
      if (c)
        time_parse_rfc3339 (c, &created);
      if (*hit == NULL || created > best_created)
        {
          free (*hit);
          *hit = xstrdup (id);
          best_created = created;
        }
    }
  return 0;
}

/* ---- --cache-from (ImageCache.GetCache) ------------------------------------------------- */

/* isParent: is ancestor on img's local parent chain? */
static bool
is_ancestor (arca_image_store_t *s, const char *img, const char *ancestor)
{
  _cleanup_free_ char *cur = xstrdup (img);
  for (int depth = 0; cur && depth < 10000; depth++)
    {
      _cleanup_json_ json_t *data = NULL;
      if (store_image_data (s, cur, &data, NULL) < 0 || data == NULL)
        return false;
      const char *p = json_get_str (data, "Parent");
      if (p == NULL || *p == '\0')
        return false;
      if (strcmp (p, ancestor) == 0)
        return true;
      free (cur);
      cur = xstrdup (p);
    }
  return false;
}

static bool
history_eq (json_t *a, json_t *b)
{
  static const char *const keys[] = { "created", "author", "created_by", "comment", NULL };
  for (size_t i = 0; keys[i]; i++)
    if (!str_eq (json_object_get (a, keys[i]), json_object_get (b, keys[i])))
      return false;
  return json_is_true (json_object_get (a, "empty_layer")) == json_is_true (json_object_get (b, "empty_layer"));
}

/* isValidParent */
static bool
valid_parent (const arca_image_t *img, const arca_image_t *parent)
{
  json_t *ih = json_object_get (img->config, "history");
  if (json_array_size (ih) == 0)
    return false;
  if (parent == NULL)
    return true;
  json_t *ph = json_object_get (parent->config, "history");
  if (json_array_size (ph) == 0 && strv_len (parent->diff_ids) == 0)
    return true;
  if (json_array_size (ph) >= json_array_size (ih) || strv_len (parent->diff_ids) > strv_len (img->diff_ids))
    return false;
  for (size_t i = 0; i < json_array_size (ph); i++)
    if (!history_eq (json_array_get (ph, i), json_array_get (ih, i)))
      return false;
  for (size_t i = 0; parent->diff_ids[i]; i++)
    if (strcmp (parent->diff_ids[i], img->diff_ids[i]) != 0)
      return false;
  return true;
}

static char *
join_cmd (json_t *config)
{
  arca_buf_t b = { 0 };
  buf_append (&b, "", 0);
  size_t i;
  json_t *v;
  json_array_foreach (json_object_get (config, "Cmd"), i, v)
    {
      if (i > 0)
        buf_append (&b, " ", 1);
      const char *str = json_string_value (v);
      buf_append (&b, str ? str : "", str ? strlen (str) : 0);
    }
  return b.data;
}

/* getLayerForHistoryIndex: the index of the layer history entry k made,
 * -1 for an empty layer. */
static ssize_t
layer_for_history (const arca_image_t *img, size_t k)
{
  ssize_t layer = 0;
  json_t *h = json_object_get (img->config, "history");
  for (size_t i = 0; i < json_array_size (h); i++)
    {
      bool empty = json_is_true (json_object_get (json_array_get (h, i), "empty_layer"));
      if (i == k)
        return empty ? -1 : layer;
      if (!empty)
        layer++;
    }
  return -1;
}

/* restoreCachedImage: parent + the target's history entry k (and its
 * layer) as a new image whose config is the step's, parent recorded. */
static int
restore_cached (arca_image_store_t *s, const arca_image_t *parent, const arca_image_t *target, size_t k,
                json_t *cfg, char **out, arca_error_t *err)
{
  size_t n_parent = parent ? strv_len (parent->diff_ids) : 0;
  size_t n_target = strv_len (target->diff_ids);
  ssize_t li = layer_for_history (target, k);
  if (li >= (ssize_t) n_target)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "image %s: history and layers do not match", target->id);
  store_pending_t p = { 0 };
  int ret = -1;
  p.layers = xmalloc0 ((n_target + 1) * sizeof *p.layers);
  p.blobs = xmalloc0 (sizeof (char *));
  p.tags = xmalloc0 (sizeof (char *));
  store_layer_t *tl = xmalloc0 ((n_target + 1) * sizeof *tl);
  _cleanup_strv_ char **tblobs = xmalloc0 (sizeof (char *));
  _cleanup_json_ json_t *config = NULL;
  _cleanup_json_ json_t *manifest = NULL;
  _cleanup_free_ char *config_text = NULL;
  _cleanup_free_ char *manifest_text = NULL;
  store_undo_t undo = { 0 };
  pthread_mutex_lock (&s->lock);
  if (store_image_layers (s, target, tl, n_target, &tblobs, err) < 0)
    goto out;
  /* the target starts with the parent's layers (valid_parent) */
  for (size_t i = 0; i < n_parent; i++)
    {
      p.layers[p.n_layers++] = tl[i];
      p.blobs = strv_append (p.blobs, tl[i].blob_digest);
    }
  json_t *history = json_array ();
  json_t *ph = parent ? json_object_get (parent->config, "history") : NULL;
  for (size_t i = 0; i < json_array_size (ph); i++)
    json_array_append (history, json_array_get (ph, i));
  json_t *entry = json_array_get (json_object_get (target->config, "history"), k);
  json_array_append (history, entry);
  json_t *diff_ids = json_from_strv (parent ? parent->diff_ids : NULL);
  if (li >= 0)
    {
      p.layers[p.n_layers++] = tl[li];
      p.blobs = strv_append (p.blobs, tl[li].blob_digest);
      json_array_append_new (diff_ids, json_string (target->diff_ids[li]));
    }
  config = json_pack ("{s:s, s:O, s:s, s:o, s:{s:s, s:o}, s:s}", "architecture",
                      json_get_str (target->config, "architecture") ?: "", "config", cfg, "created",
                      json_get_str (entry, "created") ?: "", "history", history, "rootfs", "type", "layers", "diff_ids",
                      diff_ids, "os", json_get_str (target->config, "os") ?: "linux");
  if (json_get_str (target->config, "author"))
    json_object_set (config, "author", json_object_get (target->config, "author"));
  json_t *sorted = store_sort_keys (config);
  config_text = json_dump_compact (sorted);
  json_decref (sorted);
  if (store_blob_put_data (s, config_text, strlen (config_text), p.id, &undo, err) < 0)
    goto out;
  p.blobs = strv_append (p.blobs, p.id);
  json_t *mlayers = json_array ();
  for (size_t i = 0; i < p.n_layers; i++)
    json_array_append_new (mlayers, json_pack ("{s:s, s:I, s:s}", "mediaType", p.layers[i].media_type, "size",
                                               (json_int_t) p.layers[i].blob_size, "digest", p.layers[i].blob_digest));
  manifest = json_pack ("{s:i, s:s, s:{s:s, s:I, s:s}, s:o}", "schemaVersion", 2, "mediaType", MT_DOCKER_MANIFEST,
                        "config", "mediaType", MT_DOCKER_CONFIG, "size", (json_int_t) strlen (config_text), "digest",
                        p.id, "layers", mlayers);
  manifest_text = json_dump_compact (manifest);
  if (store_blob_put_data (s, manifest_text, strlen (manifest_text), p.manifest, &undo, err) < 0)
    goto out;
  p.manifest_media_type = MT_DOCKER_MANIFEST;
  p.manifest_size = (int64_t) strlen (manifest_text);
  p.blobs = strv_append (p.blobs, p.manifest);
  p.parent = parent ? parent->id : NULL;
  p.build_step = true;
  if (store_commit (s, &p, 1, err) < 0)
    goto out;
  store_undo_forget (&undo);
  *out = xstrdup (p.id);
  ret = 0;
out:
  if (ret < 0)
    store_undo_rollback (&undo);
  store_pending_clear (&p);
  free (tl);
  pthread_mutex_unlock (&s->lock);
  return ret;
}

int
image_cache_from_lookup (arca_image_store_t *s, char ***sources, const char *parent_id, json_t *container_config,
                         char **hit, arca_error_t *err)
{
  *hit = NULL;
  _cleanup_free_ char *local = NULL;
  if (image_cache_lookup (s, parent_id, container_config, &local, err) < 0)
    return -1;
  if (local)
    for (size_t i = 0; (*sources)[i]; i++)
      if (is_ancestor (s, (*sources)[i], local))
        {
          *hit = arca_steal (local);
          return 0;
        }
  arca_image_t *parent = NULL;
  size_t len_history = 0;
  if (parent_id && *parent_id)
    {
      if (store_image_load (s, parent_id, &parent, err) < 0)
        return arca_error_wrap (err, "unable to find image %s", parent_id);
      len_history = json_array_size (json_object_get (parent->config, "history"));
    }
  _cleanup_free_ char *cmd = join_cmd (container_config);
  int ret = 0;
  for (size_t i = 0; (*sources)[i] && *hit == NULL; i++)
    {
      arca_image_t *target = NULL;
      if (store_image_load (s, (*sources)[i], &target, NULL) < 0)
        continue;
      json_t *th = json_object_get (target->config, "history");
      json_t *entry = json_array_get (th, len_history);
      const char *by = json_get_str (entry, "created_by");
      if (!valid_parent (target, parent) || entry == NULL || strcmp (by ? by : "", cmd) != 0)
        {
          image_free (target);
          continue;
        }
      if (json_array_size (th) - 1 == len_history)
        {
          /* the source itself; it now descends from the parent */
          if (parent)
            {
              json_t *patch = json_pack ("{s:s, s:n}", "Parent", parent->id, "Orphan");
              ret = store_image_data_patch (s, target->id, patch, err);
              json_decref (patch);
            }
          if (ret == 0)
            *hit = xstrdup (target->id);
        }
      else
        {
          ret = restore_cached (s, parent, target, len_history, container_config, hit, err);
          if (ret == 0)
            {
              char **narrowed = strv_append (xmalloc0 (sizeof (char *)), target->id);
              strv_free (*sources);
              *sources = narrowed;
            }
        }
      image_free (target);
      if (ret < 0)
        break;
    }
  image_free (parent);
  return ret;
}

int
image_cache_touch (arca_image_store_t *s, char **ids, arca_error_t *err)
{
  if (ids == NULL || ids[0] == NULL)
    return 0;
  /* one statement (one transaction, one sync) for the whole build */
  return arca_store_build_cache_touch (s->db, ids, time_now_ns (), err);
}

/* ---- holds ----------------------------------------------------------------------------- */

static pthread_mutex_t holds_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *holds; /* {"store pointer/id": count} */

static char *
hold_key (arca_image_store_t *s, const char *id)
{
  return xasprintf ("%p/%s", (void *) s, id);
}

void
image_cache_hold (arca_image_store_t *s, const char *id)
{
  if (id == NULL || *id == '\0')
    return;
  _cleanup_free_ char *k = hold_key (s, id);
  pthread_mutex_lock (&holds_lock);
  if (holds == NULL)
    holds = json_object ();
  json_object_set_new (holds, k, json_integer (json_integer_value (json_object_get (holds, k)) + 1));
  pthread_mutex_unlock (&holds_lock);
}

void
image_cache_release (arca_image_store_t *s, const char *id)
{
  if (id == NULL || *id == '\0')
    return;
  _cleanup_free_ char *k = hold_key (s, id);
  pthread_mutex_lock (&holds_lock);
  json_int_t n = json_integer_value (json_object_get (holds, k)) - 1;
  if (n > 0)
    json_object_set_new (holds, k, json_integer (n));
  else
    json_object_del (holds, k);
  pthread_mutex_unlock (&holds_lock);
}

static bool
held (arca_image_store_t *s, const char *id)
{
  _cleanup_free_ char *k = hold_key (s, id);
  pthread_mutex_lock (&holds_lock);
  bool h = json_object_get (holds, k) != NULL;
  pthread_mutex_unlock (&holds_lock);
  return h;
}

/* ---- records ----------------------------------------------------------------------------- */

typedef struct
{
  char *id;
  char *parent;
  char *description;
  json_t *labels;
  bool in_use, shared, needed;
  int64_t size, created, last_used, usage;
} record_t;

typedef struct
{
  record_t *v;
  size_t n;
  int64_t total;
} records_t;

static void
records_free (records_t *r)
{
  for (size_t i = 0; i < r->n; i++)
    {
      free (r->v[i].id);
      free (r->v[i].parent);
      free (r->v[i].description);
      json_decref (r->v[i].labels);
    }
  free (r->v);
}

/* Mark the ancestors of id (not id itself) as needed. */
static void
mark_ancestors (json_t *parents, json_t *needed, const char *id)
{
  const char *p = json_string_value (json_object_get (parents, id));
  for (int depth = 0; p && *p && depth < 100000; depth++)
    {
      if (json_object_get (needed, p))
        break;
      json_object_set_new (needed, p, json_true ());
      p = json_string_value (json_object_get (parents, p));
    }
}

/* Every build cache record, with what holds it. */
static int
records_load (arca_image_store_t *s, records_t *out, arca_error_t *err)
{
  memset (out, 0, sizeof *out);
  _cleanup_store_image_rows_ arca_store_image_rows_t rows = { 0 };
  if (arca_store_images_with_ref_counts (s->db, &rows, err) < 0)
    return -1;
  _cleanup_json_ json_t *parents = json_object ();  /* id -> parent */
  _cleanup_json_ json_t *chain_users = json_object (); /* chain -> images using it */
  _cleanup_json_ json_t *children = json_object ();
  _cleanup_json_ json_t *needed = json_object ();
  for (size_t i = 0; i < rows.n; i++)
    {
      const char *id = rows.v[i].id;
      json_t *data = rows.v[i].data;
      const char *parent = json_get_str (data, "Parent");
      if (parent && *parent)
        {
          json_object_set_new (parents, id, json_string (parent));
          json_object_set_new (children, parent, json_true ());
        }
      size_t j;
      json_t *c;
      json_array_foreach (json_object_get (data, "ChainIDs"), j, c)
        if (json_is_string (c))
          json_object_set_new (chain_users, json_string_value (c),
                               json_integer (json_integer_value (json_object_get (chain_users, json_string_value (c))) + 1));
    }
  /* kept images: tagged, not made by the builder, or used by a container
   * or a build; the records they descend from are needed */
  for (size_t i = 0; i < rows.n; i++)
    {
      const char *id = rows.v[i].id;
      json_t *data = rows.v[i].data;
      char cid[128] = "";
      bool used = (s->in_use && s->in_use (s->in_use_ctx, id, cid, sizeof cid) != 0) || held (s, id);
      bool kept = rows.v[i].n_refs > 0 || !json_is_true (json_object_get (data, "BuildStep"))
                  || used;
      if (kept)
        mark_ancestors (parents, needed, id);
      if (!json_is_true (json_object_get (data, "BuildStep")) || rows.v[i].n_refs > 0)
        continue;
      /* a build cache record */
      _cleanup_json_ json_t *config = NULL;
      arca_error_t ignored;
      if (store_blob_read_json (s, id, &config, &ignored) < 0)
        continue;
      out->v = xrealloc (out->v, (out->n + 1) * sizeof *out->v);
      record_t *r = &out->v[out->n++];
      memset (r, 0, sizeof *r);
      r->id = xstrdup (id);
      const char *parent = json_get_str (data, "Parent");
      r->parent = parent && *parent ? xstrdup (parent) : NULL;
      json_t *history = json_object_get (config, "history");
      json_t *last = json_array_get (history, json_array_size (history) - 1);
      r->description = xstrdup (json_get_str (last, "created_by") ?: "");
      r->labels = json_incref (json_object_get (json_object_get (config, "config"), "Labels"));
      r->in_use = used;
      json_t *chains = json_object_get (data, "ChainIDs");
      const char *top = json_string_value (json_array_get (chains, json_array_size (chains) - 1));
      if (last && !json_is_true (json_object_get (last, "empty_layer")) && top)
        {
          int64_t size;
          bool found;
          if (arca_store_layer_size (s->db, top, &size, &found, NULL) == 0)
            r->size = size;
        }
      r->shared = json_object_get (children, id) != NULL
                  || (top && json_integer_value (json_object_get (chain_users, top)) > 1 && r->size > 0);
      const char *created = json_get_str (config, "created");
      if (created)
        time_parse_rfc3339 (created, &r->created);
      r->last_used = json_get_int (data, "LastUsed", r->created);
      r->usage = json_get_int (data, "UsageCount", 1);
      out->total += r->size;
    }
  for (size_t k = 0; k < out->n; k++)
    out->v[k].needed = json_object_get (needed, out->v[k].id) != NULL;
  return 0;
}

static json_t *
record_json (const record_t *r)
{
  char created[64], used[64];
  time_format_rfc3339nano (r->created, created, sizeof created);
  time_format_rfc3339nano (r->last_used, used, sizeof used);
  const char *hex = digest_hex (r->id);
  json_t *parents = json_array ();
  if (r->parent)
    json_array_append_new (parents, json_string (digest_hex (r->parent)));
  return json_pack ("{s:s, s:s, s:o, s:s, s:s, s:b, s:b, s:I, s:s, s:s, s:I}", "ID", hex, "Parent",
                    r->parent ? digest_hex (r->parent) : "", "Parents", parents, "Type", "regular", "Description",
                    r->description, "InUse", r->in_use, "Shared", r->shared, "Size", (json_int_t) r->size,
                    "CreatedAt", created, "LastUsedAt", used, "UsageCount", (json_int_t) r->usage);
}

int
image_build_cache_json (arca_image_store_t *s, json_t **out, int64_t *builder_size, arca_error_t *err)
{
  records_t r;
  if (records_load (s, &r, err) < 0)
    return -1;
  json_t *list = json_array ();
  int64_t size = 0;
  for (size_t i = 0; i < r.n; i++)
    {
      json_array_append_new (list, record_json (&r.v[i]));
      if (!r.v[i].shared)
        size += r.v[i].size;
    }
  records_free (&r);
  *out = list;
  if (builder_size)
    *builder_size = size;
  return 0;
}

/* ---- prune --------------------------------------------------------------------------------- */

typedef struct
{
  bool has_until;
  int64_t until_ns;  /* records last used before this go */
  char *id, *parent, *type, *description;
  int inuse, shared, private_; /* -1 = no filter */
} prune_filter_t;

static void
prune_filter_clear (prune_filter_t *f)
{
  free (f->id);
  free (f->parent);
  free (f->type);
  free (f->description);
}

/* One value of key (NULL if absent); 400 for more than one. */
static int
one_value (json_t *filters, const char *key, char **out, bool *present, arca_error_t *err)
{
  *out = NULL;
  *present = json_object_get (filters, key) != NULL;
  _cleanup_strv_ char **v = filters_values (filters, key);
  size_t n = strv_len (v);
  if (n > 1)
    return arca_error_set (err, ARCA_ERR_INVALID, "filters expect only one value");
  if (n == 1)
    *out = xstrdup (v[0]);
  return 0;
}

static int
bool_filter (json_t *filters, const char *key, int *out, arca_error_t *err)
{
  _cleanup_free_ char *v = NULL;
  bool present;
  if (one_value (filters, key, &v, &present, err) < 0)
    return -1;
  *out = !present ? -1 : (v == NULL || *v == '\0' || strcasecmp (v, "true") == 0 || strcmp (v, "1") == 0) ? 1 : 0;
  return 0;
}

static int
prune_filter_parse (json_t *filters, prune_filter_t *f, arca_error_t *err)
{
  static const char *const allowed[] = { "until",  "unused-for", "label", "label!", "id",      "parent",
                                         "type",   "description", "inuse", "shared", "private", NULL };
  memset (f, 0, sizeof *f);
  f->inuse = f->shared = f->private_ = -1;
  if (filters_validate (filters, allowed, err) < 0)
    return -1;
  _cleanup_strv_ char **until = filters_values (filters, "until");
  _cleanup_strv_ char **unused = filters_values (filters, "unused-for");
  if (until && unused)
    return arca_error_set (err, ARCA_ERR_INVALID, "conflicting filters: \"until\" and \"unused-for\"");
  char **uv = until ? until : unused;
  if (uv && strv_len (uv) > 1)
    return arca_error_set (err, ARCA_ERR_INVALID, "filters expect only one value");
  if (uv && uv[0])
    {
      int64_t d;
      if (time_parse_go_duration (uv[0], &d) < 0)
        {
          _cleanup_free_ char *msg = time_go_duration_error (uv[0]);
          return arca_error_set (err, ARCA_ERR_INVALID, "\"%s\" filter expects a duration (e.g., '24h'): %s",
                                 until ? "until" : "unused-for", msg);
        }
      f->has_until = true;
      f->until_ns = time_now_ns () - d;
    }
  bool present;
  if (one_value (filters, "id", &f->id, &present, err) < 0 || one_value (filters, "parent", &f->parent, &present, err) < 0
      || one_value (filters, "type", &f->type, &present, err) < 0
      || one_value (filters, "description", &f->description, &present, err) < 0
      || bool_filter (filters, "inuse", &f->inuse, err) < 0 || bool_filter (filters, "shared", &f->shared, err) < 0
      || bool_filter (filters, "private", &f->private_, err) < 0)
    return -1;
  return 0;
}

static bool
labels_ok (json_t *filters, json_t *labels)
{
  if (!filters_match_labels (filters, labels))
    return false;
  json_t *not = json_object_get (filters, "label!");
  if (not == NULL)
    return true;
  _cleanup_json_ json_t *nf = json_pack ("{s:O}", "label", not);
  return !filters_match_labels (nf, labels);
}

static bool
prune_match (const prune_filter_t *f, json_t *filters, const record_t *r)
{
  if (f->has_until && r->last_used >= f->until_ns)
    return false;
  if (f->id && !str_has_prefix (digest_hex (r->id), f->id) && !str_has_prefix (r->id, f->id))
    return false;
  if (f->parent && !(r->parent && (strcmp (digest_hex (r->parent), f->parent) == 0 || strcmp (r->parent, f->parent) == 0)))
    return false;
  if (f->type && strcmp (f->type, "regular") != 0)
    return false;
  if (f->description && strcmp (f->description, r->description) != 0)
    return false;
  if (f->inuse >= 0 && (int) r->in_use != f->inuse)
    return false;
  if (f->shared >= 0 && (int) r->shared != f->shared)
    return false;
  if (f->private_ >= 0 && (int) !r->shared != f->private_)
    return false;
  return labels_ok (filters, r->labels);
}

static int
cmp_last_used (const void *a, const void *b)
{
  const record_t *x = *(record_t *const *) a, *y = *(record_t *const *) b;
  return x->last_used < y->last_used ? -1 : x->last_used > y->last_used ? 1 : strcmp (x->id, y->id);
}

/* Delete the chosen records, children before parents; a child that stays
 * (a kept image, with all) is detached from its deleted parent first. */
static int
delete_records (arca_image_store_t *s, record_t **chosen, size_t n, json_t *deleted_ids, json_t *records,
                arca_error_t *err)
{
  _cleanup_json_ json_t *doomed = json_object ();
  for (size_t i = 0; i < n; i++)
    json_object_set_new (doomed, chosen[i]->id, json_true ());
  bool *done = xmalloc0 ((n + 1) * sizeof (bool));
  size_t left = n;
  int ret = 0;
  while (left > 0 && ret == 0)
    {
      bool progress = false;
      for (size_t i = 0; i < n && ret == 0; i++)
        {
          if (done[i])
            continue;
          _cleanup_strv_ char **kids = NULL;
          if (store_children (s, chosen[i]->id, &kids, err) < 0)
            {
              ret = -1;
              break;
            }
          bool blocked = false;
          for (size_t k = 0; kids[k]; k++)
            if (json_object_get (doomed, kids[k]))
              blocked = true;
          if (blocked)
            continue;
          /* children that stay lose their local parent (and, marked as
           * orphans, never answer a FROM scratch cache lookup) */
          for (size_t k = 0; kids[k] && ret == 0; k++)
            {
              json_t *patch = json_pack ("{s:n, s:b}", "Parent", "Orphan", 1);
              ret = store_image_data_patch (s, kids[k], patch, err);
              json_decref (patch);
            }
          arca_image_t *img = NULL;
          if (ret == 0 && store_image_load (s, chosen[i]->id, &img, NULL) == 0)
            {
              ret = store_image_delete_locked (s, img, records, err);
              image_free (img);
              if (ret == 0)
                json_array_append_new (deleted_ids, json_string (digest_hex (chosen[i]->id)));
            }
          json_object_del (doomed, chosen[i]->id);
          done[i] = true;
          left--;
          progress = true;
        }
      if (!progress)
        break; /* a cycle cannot happen; never loop forever */
    }
  free (done);
  return ret;
}

int
image_build_cache_prune (arca_image_store_t *s, const arca_build_prune_opts_t *o, json_t **out, arca_error_t *err)
{
  prune_filter_t f;
  if (prune_filter_parse (o->filters, &f, err) < 0)
    {
      prune_filter_clear (&f);
      return arca_error_wrap (err, "failed to prune build cache");
    }
  pthread_mutex_lock (&s->lock);
  records_t r;
  int ret = records_load (s, &r, err);
  json_t *deleted_ids = json_array ();
  json_t *records = json_array ();
  _cleanup_json_ json_t *sizes = store_layer_sizes (s);
  if (ret == 0)
    {
      record_t **cand = xmalloc0 ((r.n + 1) * sizeof *cand);
      size_t n = 0;
      for (size_t i = 0; i < r.n; i++)
        {
          record_t *x = &r.v[i];
          if (x->in_use || (!o->all && x->needed) || !prune_match (&f, o->filters, x))
            continue;
          cand[n++] = x;
        }
      qsort (cand, n, sizeof *cand, cmp_last_used);
      /* keep-storage: the least recently used go first, until the cache fits */
      if (o->keep_storage > 0)
        {
          int64_t total = r.total;
          size_t k = 0;
          while (k < n && total > o->keep_storage)
            total -= cand[k++]->size;
          n = k;
        }
      ret = delete_records (s, cand, n, deleted_ids, records, err);
      free (cand);
      records_free (&r);
    }
  arca_error_t ierr = { 0 };
  if (store_index_rewrite (s, &ierr) < 0)
    log_warn ("build cache prune: rewrite index.json: %s", ierr.msg);
  pthread_mutex_unlock (&s->lock);
  prune_filter_clear (&f);
  if (ret < 0)
    {
      json_decref (deleted_ids);
      json_decref (records);
      return arca_error_wrap (err, "failed to prune build cache");
    }
  int64_t reclaimed = 0;
  size_t i;
  json_t *rec;
  json_array_foreach (records, i, rec)
    {
      const char *d = json_get_str (rec, "Deleted");
      if (d)
        reclaimed += json_integer_value (json_object_get (sizes, d));
    }
  json_decref (records);
  if (json_array_size (deleted_ids) == 0)
    {
      json_decref (deleted_ids);
      deleted_ids = json_null ();
    }
  *out = json_pack ("{s:o, s:I}", "CachesDeleted", deleted_ids, "SpaceReclaimed", (json_int_t) reclaimed);
  return 0;
}
