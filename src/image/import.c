/* docker import: a rootfs tarball becomes a one-layer image (moby
 * daemon/images/image_import.go).  The image's Config comes from the
 * caller (the engine applies --change through the builder). */
#include "image/store_internal.h"

#include <ctype.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"
#include "util/timeutil.h"

int
image_import (arca_image_store_t *s, const char *tar_path, const char *repo, const char *tag, json_t *image_config,
              const char *message, char **image_id, arca_error_t *err)
{
  /* moby httputils.RepoTagReference */
  _cleanup_free_ char *key = NULL;
  if (image_ref_repo_tag_key (repo, tag, "cannot import digest reference", &key, err) < 0)
    return -1;

  _cleanup_json_ json_t *cfg = image_config ? json_incref (image_config) : json_object ();

  store_undo_t undo = { 0 };
  store_pending_t p = { 0 };
  int ret = -1;
  _cleanup_json_ json_t *config = NULL;
  _cleanup_json_ json_t *manifest = NULL;
  _cleanup_free_ char *config_text = NULL;
  _cleanup_free_ char *manifest_text = NULL;
  pthread_mutex_lock (&s->lock);
  store_layer_t *layer = xmalloc0 (sizeof *layer);
  p.layers = layer;
  p.n_layers = 1;
  p.blobs = xmalloc0 (sizeof (char *));
  p.tags = xmalloc0 (sizeof (char *));
  if (store_layer_ensure (s, tar_path, NULL, NULL, 0, layer, &undo, err) < 0)
    goto out;
  if (store_blob_put_file (s, tar_path, layer->blob_digest, &undo, err) < 0)
    goto out;
  p.blobs = strv_append (p.blobs, layer->blob_digest);

  const char *comment = message && *message ? message : "Imported from -";
  char created[64];
  time_format_rfc3339nano (time_now_ns (), created, sizeof created);
  const char *variant;
  const char *arch = store_go_arch (&variant);
  config = json_pack ("{s:s, s:O, s:s, s:s, s:s, s:{s:s, s:[s]}, s:[{s:s, s:s}]}", "created",
                                             created, "config", cfg, "architecture", arch, "os", "linux", "comment",
                                             comment, "rootfs", "type", "layers", "diff_ids", layer->diff_id, "history",
                                             "created", created, "comment", comment);
  if (variant)
    json_object_set_new (config, "variant", json_string (variant));
  config_text = json_dumps (config, JSON_COMPACT);
  if (store_blob_put_data (s, config_text, strlen (config_text), p.id, &undo, err) < 0)
    goto out;
  p.blobs = strv_append (p.blobs, p.id);

  manifest = json_pack (
      "{s:i, s:s, s:{s:s, s:I, s:s}, s:[{s:s, s:I, s:s}]}", "schemaVersion", 2, "mediaType", MT_DOCKER_MANIFEST,
      "config", "mediaType", MT_DOCKER_CONFIG, "size", (json_int_t) strlen (config_text), "digest", p.id, "layers",
      "mediaType", layer->media_type, "size", (json_int_t) layer->blob_size, "digest", layer->blob_digest);
  manifest_text = json_dumps (manifest, JSON_COMPACT);
  if (store_blob_put_data (s, manifest_text, strlen (manifest_text), p.manifest, &undo, err) < 0)
    goto out;
  p.manifest_media_type = MT_DOCKER_MANIFEST;
  p.manifest_size = (int64_t) strlen (manifest_text);
  p.blobs = strv_append (p.blobs, p.manifest);
  if (key)
    {
      p.tags = strv_append (p.tags, key);
      p.set_last_tag_time = true; /* moby tags through TagImage */
    }
  if (store_commit (s, &p, 1, err) < 0)
    goto out;
  store_undo_forget (&undo);
  *image_id = xstrdup (p.id);
  ret = 0;
out:
  if (ret < 0)
    store_undo_rollback (&undo);
  pthread_mutex_unlock (&s->lock);
  if (ret == 0)
    {
      /* events (moby image_import.go): the tag, then the import */
      if (key)
        {
          _cleanup_free_ char *familiar = image_ref_familiar (key);
          store_event (s, "tag", p.id, familiar);
        }
      store_event (s, "import", p.id, p.id);
    }
  store_pending_clear (&p);
  return ret;
}
