/* docker push (moby distribution/push_v2.go): the image's stored manifest
 * and the blobs it names go to the registry unchanged, so the pushed
 * digest is the one the image already had (or gets now).  Per layer: HEAD
 * (already there), cross-repository mount from another repository of the
 * same registry this image came from or went to, else an upload. */
#include "image/registry.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/store_internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strutil.h"
#include "util/timeutil.h"

typedef struct
{
  registry_emit_fn emit;
  void *ctx;
  bool gone;
  const char *id;
  int64_t last_ns;
} push_out_t;

static void
emit (push_out_t *o, json_t *msg)
{
  if (o->emit && !o->gone && o->emit (o->ctx, msg) < 0)
    o->gone = true;
  json_decref (msg);
}

static void
emit_status (push_out_t *o, const char *status, const char *id)
{
  emit (o, id ? json_pack ("{s:s, s:{}, s:s}", "status", status, "progressDetail", "id", id)
              : json_pack ("{s:s}", "status", status));
}

static int
on_progress (void *ctx, int64_t cur, int64_t total)
{
  push_out_t *o = ctx;
  if (o->gone)
    return 1;
  int64_t now = time_now_ns ();
  if (now - o->last_ns >= 100000000 || cur == total)
    {
      o->last_ns = now;
      emit (o, json_pack ("{s:s, s:{s:I, s:I}, s:s}", "status", "Pushing", "progressDetail", "current",
                          (json_int_t) cur, "total", (json_int_t) total, "id", o->id));
    }
  return 0;
}

/* Other repositories of the same registry that hold this image: mount
 * sources (moby keeps per-blob source metadata; the image's own references
 * are the cheap equivalent). */
static char **
mount_sources (const arca_image_t *img, const image_ref_t *target)
{
  char **out = xmalloc0 (sizeof (char *));
  char **lists[] = { img->repo_tags, img->repo_digests };
  for (size_t k = 0; k < 2; k++)
    for (size_t i = 0; lists[k] && lists[k][i]; i++)
      {
        image_ref_t r;
        if (image_ref_parse (lists[k][i], &r, NULL) < 0)
          continue;
        bool dup = false;
        for (size_t j = 0; out[j]; j++)
          dup |= strcmp (out[j], r.path) == 0;
        if (!dup && strcmp (r.domain, target->domain) == 0 && strcmp (r.path, target->path) != 0)
          out = strv_append (out, r.path);
        image_ref_clear (&r);
      }
  return out;
}

static int
push_blob (arca_image_store_t *s, registry_client_t *c, const char *digest, char **sources, push_out_t *o,
           const char *id, arca_error_t *err)
{
  int have = registry_blob_exists (c, digest, err);
  if (have < 0)
    return -1;
  if (have)
    {
      if (id)
        emit_status (o, "Layer already exists", id);
      return 0;
    }
  for (size_t i = 0; sources && sources[i]; i++)
    {
      arca_error_t merr = { 0 };
      if (registry_blob_mount (c, digest, sources[i], &merr) == 1)
        {
          if (id)
            {
              _cleanup_free_ char *m = xasprintf ("Mounted from %s", sources[i]);
              emit_status (o, m, id);
            }
          return 0;
        }
    }
  _cleanup_free_ char *path = store_blob_path (s, digest);
  if (access (path, R_OK) != 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "blob %s is not in the content store", digest);
  o->id = id;
  o->last_ns = 0;
  if (registry_blob_upload (c, digest, path, id ? on_progress : NULL, o, err) < 0)
    return -1;
  if (id)
    emit_status (o, "Pushed", id);
  return 0;
}

static int
push_tag (arca_image_store_t *s, registry_client_t *c, const image_ref_t *target, const char *name, const char *tag,
          push_out_t *o, arca_error_t *err)
{
  _cleanup_free_ char *key = xasprintf ("%s:%s", name, tag);
  arca_image_t *img = NULL;
  if (image_resolve (s, key, &img, err) < 0)
    return -1;
  int ret = -1;
  _cleanup_json_ json_t *data = NULL, *manifest = NULL;
  _cleanup_free_ char *raw = NULL;
  _cleanup_strv_ char **sources = mount_sources (img, target);
  size_t raw_len = 0;
  const char *mdigest = NULL, *mt = NULL;
  json_t *layers;
  size_t n;
  if (store_image_data (s, img->id, &data, err) < 0)
    goto out;
  mdigest = json_get_str (data, "Manifest");
  mt = json_get_str (data, "ManifestMediaType") ?: MT_DOCKER_MANIFEST;
  if (mdigest == NULL)
    {
      arca_error_set (err, ARCA_ERR_INTERNAL, "image %s has no manifest", img->id);
      goto out;
    }
  {
    _cleanup_free_ char *mpath = store_blob_path (s, mdigest);
    if (fs_read_file (mpath, &raw, &raw_len, err) < 0)
      goto out;
  }
  manifest = json_loadb (raw, raw_len, 0, NULL);
  layers = json_object_get (manifest, "layers");
  n = json_array_size (layers);
  char (*ids)[13] = xmalloc0 ((n + 1) * sizeof *ids);
  for (size_t i = 0; i < n; i++)
    {
      const char *src = i < strv_len (img->diff_ids) ? img->diff_ids[i] : json_get_str (json_array_get (layers, i), "digest");
      snprintf (ids[i], sizeof ids[i], "%.12s", src && digest_valid (src) ? digest_hex (src) : "");
    }
  /* dockerd lists the top layer first. */
  for (size_t i = n; i-- > 0;)
    emit_status (o, "Preparing", ids[i]);
  /* Waiting: layers beyond dockerd's 5 concurrent uploads. */
  for (size_t i = n; i-- > 0;)
    if (n - i > 5)
      emit_status (o, "Waiting", ids[i]);
  for (size_t i = n; i-- > 0;)
    {
      const char *dg = json_get_str (json_array_get (layers, i), "digest");
      if (push_blob (s, c, dg, sources, o, ids[i], err) < 0)
        {
          free (ids);
          goto out;
        }
      if (o->gone)
        {
          free (ids);
          arca_error_set (err, ARCA_ERR_INTERNAL, "context canceled");
          goto out;
        }
    }
  free (ids);
  if (push_blob (s, c, json_get_str (json_object_get (manifest, "config"), "digest"), NULL, o, NULL, err) < 0)
    goto out;
  if (registry_put_manifest (c, tag, mt, raw, raw_len, err) < 0)
    goto out;
  {
    _cleanup_free_ char *line = xasprintf ("%s: digest: %s size: %zu", tag, mdigest, raw_len);
    emit_status (o, line, NULL);
    emit (o, json_pack ("{s:{}, s:{s:s, s:s, s:I}}", "progressDetail", "aux", "Tag", tag, "Digest", mdigest, "Size",
                        (json_int_t) raw_len));
    /* RepoDigests: name@digest now names this image. */
    _cleanup_free_ char *dkey = xasprintf ("%s@%s", name, mdigest);
    if (arca_store_ref_put_digest (s->db, dkey, img->id, time_now_ns (), err) < 0)
      goto out;
    arca_error_t ierr = { 0 };
    pthread_mutex_lock (&s->lock);
    store_index_rewrite (s, &ierr);
    pthread_mutex_unlock (&s->lock);
  }
  ret = 0;
out:
  image_free (img);
  return ret;
}

int
image_push (arca_image_store_t *s, const char *name, const char *tag, const registry_auth_t *auth,
            registry_emit_fn emit_fn, void *ctx, arca_error_t *err)
{
  image_ref_t r;
  if (image_ref_parse (name, &r, err) < 0)
    return -1;
  int ret = -1;
  registry_client_t *c = NULL;
  push_out_t o = { .emit = emit_fn, .ctx = ctx };
  _cleanup_free_ char *canon = image_ref_name (&r);
  _cleanup_strv_ char **tags = xmalloc0 (sizeof (char *));
  _cleanup_free_ char *head = NULL;
  if (r.tag && !(tag && *tag))
    tags = strv_append (tags, r.tag);
  else if (tag && *tag)
    tags = strv_append (tags, tag);
  else
    {
      /* Every tag of the repository (docker push --all-tags / no tag). */
      _cleanup_strv_ char **refs = NULL;
      if (arca_store_repo_tags_like (s->db, canon, &refs, err) < 0)
        goto out;
      for (size_t i = 0; refs[i]; i++)
        {
          const char *ref = refs[i];
          if (ref && strlen (ref) > strlen (canon) + 1 && strchr (ref + strlen (canon) + 1, '/') == NULL)
            tags = strv_append (tags, ref + strlen (canon) + 1);
        }
    }
  /* dockerd names the repository first, then finds the image. */
  head = xasprintf ("The push refers to repository [%s]", canon);
  emit_status (&o, head, NULL);
  bool missing = tags[0] == NULL;
  for (size_t i = 0; tags[i] && !missing; i++)
    {
      _cleanup_free_ char *key = xasprintf ("%s:%s", canon, tags[i]);
      arca_image_t *img = NULL;
      arca_error_t rerr = { 0 };
      if (image_resolve (s, key, &img, &rerr) < 0)
        missing = true;
      else
        image_free (img);
    }
  if (missing)
    {
      _cleanup_free_ char *f = image_ref_familiar_name (&r);
      arca_error_set (err, ARCA_ERR_NOT_FOUND, "An image does not exist locally with the tag: %s", f);
      goto out;
    }
  if (registry_client_new (r.domain, r.path, auth, true, &c, err) < 0)
    goto out;
  for (size_t i = 0; tags[i]; i++)
    {
      if (push_tag (s, c, &r, canon, tags[i], &o, err) < 0)
        goto out;
      /* events (moby distribution.Push): per pushed reference */
      _cleanup_free_ char *key = xasprintf ("%s:%s", canon, tags[i]);
      _cleanup_free_ char *ref = image_ref_familiar (key);
      _cleanup_free_ char *fname = image_ref_familiar_name (&r);
      store_event (s, "push", ref, fname);
    }
  ret = 0;
out:
  registry_client_free (c);
  image_ref_clear (&r);
  return ret;
}
