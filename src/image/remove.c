/* docker rmi, after moby daemon/images/image_delete.go: removing by name
 * untags; the image itself goes when nothing else references it; conflicts
 * are "soft" (stopped container, other tags: force overrides) or "hard"
 * (running container). */
#include "image/store_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"

typedef struct
{
  char *key;  /* canonical, as stored */
  char *name; /* canonical name without tag/digest */
  bool digest;
  bool gone;
} ref_entry_t;

typedef struct
{
  ref_entry_t *v;
  size_t n;
} refs_t;

static void
refs_free (refs_t *r)
{
  for (size_t i = 0; i < r->n; i++)
    {
      free (r->v[i].key);
      free (r->v[i].name);
    }
  free (r->v);
}

static size_t
refs_left (const refs_t *r)
{
  size_t n = 0;
  for (size_t i = 0; i < r->n; i++)
    n += !r->v[i].gone;
  return n;
}

/* isSingleReference: all remaining references are in one repository with at
 * most one tag. */
static bool
single_reference (const refs_t *r)
{
  size_t left = refs_left (r);
  if (left <= 1)
    return left == 1;
  const ref_entry_t *tag = NULL, *first = NULL;
  const char *canon_name = NULL;
  bool many_canon_names = false;
  for (size_t i = 0; i < r->n; i++)
    {
      const ref_entry_t *e = &r->v[i];
      if (e->gone)
        continue;
      if (first == NULL)
        first = e;
      if (e->digest)
        {
          if (canon_name && strcmp (canon_name, e->name) != 0)
            many_canon_names = true;
          canon_name = e->name;
        }
      else if (tag == NULL)
        tag = e;
      else
        return false;
    }
  const ref_entry_t *single = tag ? tag : first;
  return canon_name && !many_canon_names && strcmp (single->name, canon_name) == 0;
}

static bool
is_id_prefix (const char *id, const char *ref)
{
  return str_has_prefix (id, ref) || str_has_prefix (digest_hex (id), ref);
}

static void
untag (refs_t *r, size_t i, char ***to_delete, json_t *records)
{
  r->v[i].gone = true;
  *to_delete = strv_append (*to_delete, r->v[i].key);
  _cleanup_free_ char *f = image_ref_familiar (r->v[i].key);
  json_array_append_new (records, json_pack ("{s:s}", "Untagged", f));
}

static int
in_use (arca_image_store_t *s, const char *id, char cid[128])
{
  cid[0] = '\0';
  if (s->in_use == NULL)
    return 0;
  return s->in_use (s->in_use_ctx, id, cid, 128);
}

/* Chains (top first) and blobs of img that no other image uses. */
static int
unused_parts (arca_image_store_t *s, const arca_image_t *img, json_t *data, char ***chains, char ***blobs,
              arca_error_t *err)
{
  _cleanup_json_ json_t *rows = NULL;
  if (arca_store_images_data (s->db, img->id, &rows, err) < 0)
    return -1;
  _cleanup_json_ json_t *used = json_object ();
  size_t i, j;
  json_t *d, *v;
  json_array_foreach (rows, i, d)
    {
      json_array_foreach (json_object_get (d, "ChainIDs"), j, v)
        if (json_is_string (v))
          json_object_set_new (used, json_string_value (v), json_true ());
      json_array_foreach (json_object_get (d, "Blobs"), j, v)
        if (json_is_string (v))
          json_object_set_new (used, json_string_value (v), json_true ());
    }
  *chains = xmalloc0 (sizeof (char *));
  for (size_t k = strv_len (img->chain_ids); k-- > 0;)
    {
      /* A chain ID names its whole ancestry: once one is shared, so are
       * the layers below it. */
      if (json_object_get (used, img->chain_ids[k]))
        break;
      *chains = strv_append (*chains, img->chain_ids[k]);
    }
  *blobs = xmalloc0 (sizeof (char *));
  json_array_foreach (json_object_get (data, "Blobs"), j, v)
    if (json_is_string (v) && digest_valid (json_string_value (v)) && !json_object_get (used, json_string_value (v)))
      *blobs = strv_append (*blobs, json_string_value (v));
  return 0;
}

static int
apply (arca_image_store_t *s, char **to_delete, const arca_image_t *img, bool delete_image, bool keep_layers,
       json_t *records, arca_error_t *err)
{
  if (!delete_image)
    return store_delete (s, to_delete, NULL, NULL, err);
  _cleanup_json_ json_t *data = NULL;
  _cleanup_strv_ char **chains = NULL;
  _cleanup_strv_ char **blobs = NULL;
  if (store_image_data (s, img->id, &data, err) < 0 || unused_parts (s, img, data, &chains, &blobs, err) < 0)
    return -1;
  if (keep_layers)
    {
      /* A (stopped) container still has these layers as its lowerdirs. */
      strv_free (chains);
      chains = xmalloc0 (sizeof (char *));
    }
  if (store_delete (s, to_delete, img->id, chains, err) < 0)
    return -1;
  json_array_append_new (records, json_pack ("{s:s}", "Deleted", img->id));
  for (size_t i = 0; chains[i]; i++)
    {
      json_array_append_new (records, json_pack ("{s:s}", "Deleted", chains[i]));
      /* Rename first so a crash mid-removal leaves only a ".tmp-" dir that
       * the next start sweeps away. */
      _cleanup_free_ char *dir = xasprintf ("%s/%s", s->layers_dir, digest_hex (chains[i]));
      _cleanup_free_ char *trash = xasprintf ("%s/.tmp-rm-%s", s->layers_dir, digest_hex (chains[i]));
      const char *victim = rename (dir, trash) == 0 ? trash : dir;
      arca_error_t rerr = { 0 };
      if (fs_remove_all (victim, &rerr) < 0)
        log_warn ("remove layer %s: %s", chains[i], rerr.msg);
    }
  for (size_t i = 0; blobs[i]; i++)
    {
      _cleanup_free_ char *path = store_blob_path (s, blobs[i]);
      if (unlink (path) < 0 && errno != ENOENT)
        log_warn ("remove blob %s: %s", path, strerror (errno));
    }
  /* Blobs the image row never listed (a re-load of the same image under
   * another manifest) are garbage now too. */
  arca_error_t gerr = { 0 };
  if (image_gc_blobs_locked (s, &gerr) < 0)
    log_warn ("remove image %s: blob garbage collection: %s", img->id, gerr.msg);
  return 0;
}

int
store_image_delete_locked (arca_image_store_t *s, const arca_image_t *img, json_t *records, arca_error_t *err)
{
  _cleanup_strv_ char **refs = NULL;
  if (arca_store_image_ref_keys (s->db, img->id, &refs, err) < 0)
    return -1;
  return apply (s, refs, img, true, false, records, err);
}

static int
conflict (const char *id, bool hard, const char *what, arca_error_t *err)
{
  return arca_error_set (err, ARCA_ERR_CONFLICT, "conflict: unable to delete %.12s (%s) - %s", digest_hex (id),
                         hard ? "cannot be forced" : "must be forced", what);
}

static size_t
children_of (arca_image_store_t *s, const char *id)
{
  _cleanup_strv_ char **kids = NULL;
  if (store_children (s, id, &kids, NULL) < 0)
    return 0;
  return strv_len (kids);
}

/* imageDeleteHelper with prune: after an image went, its parent goes too
 * when nothing holds it (no reference, no other child, no container),
 * and so on up the chain; the first parent something holds ends it
 * quietly. */
static int
prune_parents (arca_image_store_t *s, const char *parent_id, json_t *records, arca_error_t *err)
{
  _cleanup_free_ char *id = xstrdup (parent_id);
  while (id)
    {
      arca_image_t *img = NULL;
      if (store_image_load (s, id, &img, NULL) < 0)
        return 0;
      char cid[128];
      bool held = img->repo_tags[0] || img->repo_digests[0] || children_of (s, id) > 0 || in_use (s, id, cid) != 0;
      if (held)
        {
          image_free (img);
          return 0;
        }
      _cleanup_strv_ char **none = xmalloc0 (sizeof (char *));
      int r = apply (s, none, img, true, false, records, err);
      free (id);
      id = img->parent ? xstrdup (img->parent) : NULL;
      image_free (img);
      if (r < 0)
        return -1;
    }
  return 0;
}

static int
remove_locked (arca_image_store_t *s, const char *ref, bool force, bool prune, json_t *records, arca_error_t *err)
{
  arca_image_t *img = NULL;
  if (image_resolve (s, ref, &img, err) < 0)
    return -1;
  int ret = -1;
  refs_t refs = { 0 };
  _cleanup_strv_ char **to_delete = xmalloc0 (sizeof (char *));
  _cleanup_store_refs_ arca_store_refs_t rows = { 0 };
  char cid[128];
  _cleanup_free_ char *what = NULL;
  if (arca_store_image_refs (s->db, img->id, &rows, err) < 0)
    goto out;
  refs.v = xmalloc0 ((rows.n + 1) * sizeof *refs.v);
  size_t i;
  for (i = 0; i < rows.n; i++)
    {
      image_ref_t r;
      const char *key = rows.v[i].ref;
      if (image_ref_parse_canonical (key, &r, NULL) < 0)
        continue;
      refs.v[refs.n].key = xstrdup (key);
      refs.v[refs.n].name = image_ref_name (&r);
      refs.v[refs.n].digest = r.digest != NULL;
      refs.n++;
      image_ref_clear (&r);
    }

  bool quiet = false;
  if (!is_id_prefix (img->id, ref))
    {
      if (!force && single_reference (&refs) && in_use (s, img->id, cid) != 0)
        {
          arca_error_set (err, ARCA_ERR_CONFLICT,
                          "conflict: unable to remove repository reference \"%s\" (must force) - container %.12s is "
                          "using its referenced image %.12s",
                          ref, cid, digest_hex (img->id));
          goto out;
        }
      image_ref_t r;
      if (image_ref_parse (ref, &r, err) < 0)
        goto out;
      image_ref_default_tag (&r);
      _cleanup_free_ char *key = image_ref_store_key (&r);
      _cleanup_free_ char *name = image_ref_name (&r);
      bool by_digest = r.digest != NULL;
      image_ref_clear (&r);
      bool hit = false;
      for (size_t k = 0; k < refs.n; k++)
        if (!refs.v[k].gone && strcmp (refs.v[k].key, key) == 0)
          {
            untag (&refs, k, &to_delete, records);
            hit = true;
          }
      if (!hit)
        {
          /* Resolved through an ID-looking name: report it as dockerd would. */
          _cleanup_free_ char *f = image_ref_familiar (key);
          json_array_append_new (records, json_pack ("{s:s}", "Untagged", f));
        }
      if (!by_digest)
        {
          bool other_tag = false;
          for (size_t k = 0; k < refs.n; k++)
            other_tag |= !refs.v[k].gone && !refs.v[k].digest && strcmp (refs.v[k].name, name) == 0;
          if (!other_tag)
            for (size_t k = 0; k < refs.n; k++)
              if (!refs.v[k].gone && refs.v[k].digest && strcmp (refs.v[k].name, name) == 0)
                untag (&refs, k, &to_delete, records);
        }
      if (refs_left (&refs) > 0)
        {
          ret = apply (s, to_delete, img, false, false, records, err);
          goto out;
        }
      quiet = true;
    }
  else if (single_reference (&refs))
    {
      int u = in_use (s, img->id, cid);
      if (children_of (s, img->id) > 0)
        {
          conflict (img->id, true, "image has dependent child images", err);
          goto out;
        }
      if (u == 2)
        {
          _cleanup_free_ char *msg = xasprintf ("image is being used by running container %.12s", cid);
          conflict (img->id, true, msg, err);
          goto out;
        }
      if (u == 1 && !force)
        {
          _cleanup_free_ char *msg = xasprintf ("image is being used by stopped container %.12s", cid);
          conflict (img->id, false, msg, err);
          goto out;
        }
      for (size_t k = 0; k < refs.n; k++)
        if (!refs.v[k].gone)
          untag (&refs, k, &to_delete, records);
    }

  /* imageDeleteHelper */
  int u = in_use (s, img->id, cid);
  bool has_children = children_of (s, img->id) > 0;
  const char *why = NULL;
  bool hard = false, used = false;
  if (has_children)
    {
      what = xstrdup ("image has dependent child images");
      hard = true;
    }
  else if (u == 2)
    {
      what = xasprintf ("image is being used by running container %.12s", cid);
      hard = used = true;
    }
  else if (!force && refs_left (&refs) > 0)
    what = xstrdup ("image is referenced in multiple repositories");
  else if (!force && u == 1)
    {
      what = xasprintf ("image is being used by stopped container %.12s", cid);
      used = true;
    }
  why = what;
  if (why)
    {
      /* quiet (the last reference went): an image that is not dangling
       * or that a container uses just stays, untagged */
      if (quiet && (refs_left (&refs) > 0 || has_children || used))
        ret = apply (s, to_delete, img, false, false, records, err);
      else
        conflict (img->id, hard, why, err);
      goto out;
    }
  for (size_t k = 0; k < refs.n; k++)
    if (!refs.v[k].gone)
      untag (&refs, k, &to_delete, records);
  ret = apply (s, to_delete, img, true, u != 0, records, err);
  if (ret == 0 && prune && img->parent)
    ret = prune_parents (s, img->parent, records, err);
out:
  refs_free (&refs);
  image_free (img);
  return ret;
}

/* events: the image's parent chain, which a prune may remove with it. */
static char **
ancestors (arca_image_store_t *s, const arca_image_t *img)
{
  char **v = xmalloc0 (sizeof *v);
  _cleanup_free_ char *id = img->parent ? xstrdup (img->parent) : NULL;
  for (int depth = 0; id && depth < 256; depth++)
    {
      arca_image_t *p = NULL;
      if (store_image_load (s, id, &p, NULL) < 0)
        break;
      v = strv_append (v, id);
      free (id);
      id = p->parent ? xstrdup (p->parent) : NULL;
      image_free (p);
    }
  return v;
}

/* events (moby image_delete.go): one "untag" per removed reference, then
 * "delete" for the image and each pruned parent that went; both name the
 * image by its ID. */
static void
remove_events (arca_image_store_t *s, const arca_image_t *img, char **parents, json_t *records)
{
  json_t *labels = json_object_get (json_object_get (img->config, "config"), "Labels");
  size_t i;
  json_t *rec;
  json_array_foreach (records, i, rec)
    if (json_get_str (rec, "Untagged"))
      store_event_labels (s, "untag", img->id, img->id, labels);
  json_array_foreach (records, i, rec)
    {
      const char *d = json_get_str (rec, "Deleted");
      bool image = d && strcmp (d, img->id) == 0;
      for (size_t k = 0; d && !image && parents && parents[k]; k++)
        image = strcmp (d, parents[k]) == 0;
      if (image)
        store_event_labels (s, "delete", d, d, NULL);
    }
}

int
image_remove (arca_image_store_t *s, const char *ref, bool force, bool noprune, json_t **out, arca_error_t *err)
{
  json_t *records = json_array ();
  pthread_mutex_lock (&s->lock);
  /* events: who it is and its labels, before it may go */
  arca_image_t *img = NULL;
  arca_error_t ignored;
  if (image_resolve (s, ref, &img, &ignored) < 0)
    img = NULL;
  _cleanup_strv_ char **parents = img && !noprune ? ancestors (s, img) : NULL;
  int ret = remove_locked (s, ref, force, !noprune, records, err);
  pthread_mutex_unlock (&s->lock);
  if (ret < 0)
    {
      image_free (img);
      json_decref (records);
      return -1;
    }
  if (img)
    remove_events (s, img, parents, records);
  image_free (img);
  *out = records;
  return 0;
}
