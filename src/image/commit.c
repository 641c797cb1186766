/* docker commit, image side: a container's writable layer (as a Docker
 * layer tar) becomes a new image on top of the container's image (moby
 * daemon/images/image_commit.go CommitImage and image.NewChildImage). */
#include "image/store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strutil.h"
#include "util/timeutil.h"

/* repo/tag -> canonical store key, as moby httputils.RepoTagReference. */

/* The parent's layers as store records (chain/diff IDs, blob, size), from
 * its manifest and the layers table (store_internal.h). */
int
store_image_layers (arca_image_store_t *s, const arca_image_t *parent, store_layer_t *out, size_t n, char ***blobs,
                    arca_error_t *err)
{
  _cleanup_json_ json_t *data = NULL;
  if (store_image_data (s, parent->id, &data, err) < 0)
    return -1;
  const char *mdigest = json_get_str (data, "Manifest");
  _cleanup_json_ json_t *manifest = NULL;
  if (mdigest && store_blob_read_json (s, mdigest, &manifest, err) < 0)
    return -1;
  json_t *mlayers = json_object_get (manifest, "layers");
  if (json_array_size (mlayers) != n)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "image %s: manifest has %zu layers, config %zu", parent->id,
                           json_array_size (mlayers), n);
  for (size_t i = 0; i < n; i++)
    {
      json_t *ml = json_array_get (mlayers, i);
      store_layer_t *l = &out[i];
      snprintf (l->chain_id, DIGEST_BUF, "%s", parent->chain_ids[i]);
      snprintf (l->diff_id, DIGEST_BUF, "%s", parent->diff_ids[i]);
      snprintf (l->blob_digest, DIGEST_BUF, "%s", json_get_str (ml, "digest") ?: "");
      const char *mt = json_get_str (ml, "mediaType");
      /* media_type is a const char * into static storage elsewhere; map to
       * the known constants so it outlives the manifest. */
      if (mt && strstr (mt, "gzip"))
        l->media_type = strstr (mt, "oci") ? "application/vnd.oci.image.layer.v1.tar+gzip"
                                           : "application/vnd.docker.image.rootfs.diff.tar.gzip";
      else if (mt && strstr (mt, "zstd"))
        l->media_type = "application/vnd.oci.image.layer.v1.tar+zstd";
      else if (mt && strstr (mt, "oci"))
        l->media_type = "application/vnd.oci.image.layer.v1.tar";
      else
        l->media_type = "application/vnd.docker.image.rootfs.diff.tar";
      l->blob_size = json_get_int (ml, "size", 0);
      bool found;
      if (arca_store_layer_size (s->db, l->chain_id, &l->size, &found, err) < 0)
        return -1;
      *blobs = strv_append (*blobs, l->blob_digest);
    }
  return 0;
}

/* The empty tar: end-of-archive blocks only (moby layer.IsEmpty compares
 * with the digest of 1024 zero bytes). */
static bool
tar_is_empty (const char *path)
{
  struct stat st;
  if (stat (path, &st) < 0 || st.st_size != 1024)
    return false;
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  arca_error_t ignored;
  if (fs_read_file (path, &data, &len, &ignored) < 0 || len != 1024)
    return false;
  for (size_t i = 0; i < len; i++)
    if (data[i])
      return false;
  return true;
}

static int
cmp_key (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

json_t *
store_sort_keys (json_t *o)
{
  size_t n = json_object_size (o);
  const char **keys = xmalloc0 ((n + 1) * sizeof (char *));
  size_t k = 0;
  const char *key;
  json_t *v;
  json_object_foreach (o, key, v)
    keys[k++] = key;
  qsort (keys, k, sizeof (char *), cmp_key);
  json_t *out = json_object ();
  for (size_t i = 0; i < k; i++)
    json_object_set (out, keys[i], json_object_get (o, keys[i]));
  free (keys);
  return out;
}

/* FROM scratch: no layers, a config with this host's platform (moby
 * dispatchers.go getImageOrStage builds an image.Image with only OS set;
 * NewChildImage then takes the architecture from the platform). */
static arca_image_t *
scratch_image (void)
{
  arca_image_t *img = xmalloc0 (sizeof *img);
  img->id = xstrdup ("");
  const char *variant = NULL;
  const char *arch = store_go_arch (&variant);
  img->config = json_pack ("{s:s, s:s}", "architecture", arch, "os", "linux");
  if (variant)
    json_object_set_new (img->config, "variant", json_string (variant));
  img->repo_tags = xmalloc0 (sizeof (char *));
  img->repo_digests = xmalloc0 (sizeof (char *));
  img->diff_ids = xmalloc0 (sizeof (char *));
  img->chain_ids = xmalloc0 (sizeof (char *));
  return img;
}

static char *
join_cmd (json_t *container_config)
{
  arca_buf_t b = { 0 };
  size_t i;
  json_t *v;
  json_array_foreach (json_object_get (container_config, "Cmd"), i, v)
    {
      if (i > 0)
        buf_append (&b, " ", 1);
      const char *s = json_string_value (v) ?: "";
      buf_append (&b, s, strlen (s));
    }
  buf_append (&b, "", 1);
  return b.data;
}

int
image_commit (arca_image_store_t *s, const arca_image_commit_t *c, char **image_id, arca_error_t *err)
{
  _cleanup_free_ char *key = NULL;
  if (image_ref_repo_tag_key (c->repo, c->tag, "cannot commit to digest reference", &key, err) < 0)
    return -1;

  arca_image_t *parent = NULL;
  if (c->parent_id == NULL || *c->parent_id == '\0')
    parent = scratch_image ();
  else if (image_resolve (s, c->parent_id, &parent, err) < 0)
    return -1;

  /* The layer tar goes to a temp file first (outside the writer lock: the
   * walk of a big writable layer must not hold up other image writers). */
  _cleanup_free_ char *tmpdir = NULL;
  if (store_mkdtemp (s, &tmpdir, err) < 0)
    {
      image_free (parent);
      return -1;
    }
  _cleanup_free_ char *tar_path = xasprintf ("%s/layer.tar", tmpdir);
  int fd = open (tar_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  int wr = fd < 0 ? arca_error_errno (err, errno, "create %s", tar_path) : c->write_layer (c->ctx, fd, err);
  if (fd >= 0 && close (fd) < 0 && wr == 0)
    wr = arca_error_errno (err, errno, "write %s", tar_path);
  if (wr < 0)
    {
      fs_remove_all (tmpdir, NULL);
      image_free (parent);
      return -1;
    }

  size_t n_parent = strv_len (parent->diff_ids);
  store_undo_t undo = { 0 };
  store_pending_t p = { 0 };
  int ret = -1;
  _cleanup_json_ json_t *config = NULL;
  _cleanup_json_ json_t *manifest = NULL;
  _cleanup_free_ char *config_text = NULL;
  _cleanup_free_ char *manifest_text = NULL;
  _cleanup_free_ char *created_by = join_cmd (c->container_config);
  char created[64];
  time_format_rfc3339nano (time_now_ns (), created, sizeof created);

  pthread_mutex_lock (&s->lock);
  p.layers = xmalloc0 ((n_parent + 2) * sizeof *p.layers);
  p.blobs = xmalloc0 (sizeof (char *));
  p.tags = xmalloc0 (sizeof (char *));
  if (store_image_layers (s, parent, p.layers, n_parent, &p.blobs, err) < 0)
    goto out;
  p.n_layers = n_parent;

  store_layer_t *layer = &p.layers[n_parent];
  bool empty = tar_is_empty (tar_path);
  if (!empty)
    {
      if (store_layer_ensure (s, tar_path, n_parent ? parent->chain_ids[n_parent - 1] : NULL, NULL, (int) n_parent,
                              layer, &undo, err) < 0)
        goto out;
      if (store_blob_put_file (s, tar_path, layer->blob_digest, &undo, err) < 0)
        goto out;
      p.blobs = strv_append (p.blobs, layer->blob_digest);
      p.n_layers++;
    }

  config = json_deep_copy (parent->config);
  if (!json_is_object (config))
    {
      json_decref (config);
      config = json_object ();
    }
  json_object_set (config, "config", c->config);
  json_object_set (config, "container_config", c->container_config);
  if (c->container_id)
    json_object_set_new (config, "container", json_string (c->container_id));
  else
    json_object_del (config, "container"); /* an image made without a container (COPY) */
  json_object_set_new (config, "created", json_string (created));
  if (c->author && *c->author)
    json_object_set_new (config, "author", json_string (c->author));
  else
    json_object_del (config, "author");
  if (c->comment && *c->comment)
    json_object_set_new (config, "comment", json_string (c->comment));
  else
    json_object_del (config, "comment");
  json_object_del (config, "id");
  json_object_del (config, "parent");
  json_t *rootfs = json_object_get (config, "rootfs");
  if (!json_is_object (rootfs))
    json_object_set_new (config, "rootfs", rootfs = json_pack ("{s:s}", "type", "layers"));
  json_t *diff_ids = json_object_get (rootfs, "diff_ids");
  if (!json_is_array (diff_ids))
    json_object_set_new (rootfs, "diff_ids", diff_ids = json_array ());
  if (!empty)
    json_array_append_new (diff_ids, json_string (layer->diff_id));
  json_t *history = json_object_get (config, "history");
  if (!json_is_array (history))
    json_object_set_new (config, "history", history = json_array ());
  json_t *h = json_pack ("{s:s, s:s}", "created", created, "created_by", created_by);
  if (c->author && *c->author)
    json_object_set_new (h, "author", json_string (c->author));
  if (c->comment && *c->comment)
    json_object_set_new (h, "comment", json_string (c->comment));
  if (empty)
    json_object_set_new (h, "empty_layer", json_true ());
  json_array_append_new (history, h);

  /* moby image.Image.MarshalJSON goes through a map: top-level keys
   * sorted, nested objects in their own order */
  json_t *sorted = store_sort_keys (config);
  config_text = json_dumps (sorted, JSON_COMPACT);
  json_decref (sorted);
  if (store_blob_put_data (s, config_text, strlen (config_text), p.id, &undo, err) < 0)
    goto out;
  p.blobs = strv_append (p.blobs, p.id);

  json_t *mlayers = json_array ();
  for (size_t i = 0; i < p.n_layers; i++)
    json_array_append_new (mlayers, json_pack ("{s:s, s:I, s:s}", "mediaType", p.layers[i].media_type, "size",
                                               (json_int_t) p.layers[i].blob_size, "digest",
                                               p.layers[i].blob_digest));
  manifest = json_pack ("{s:i, s:s, s:{s:s, s:I, s:s}, s:o}", "schemaVersion", 2, "mediaType", MT_DOCKER_MANIFEST,
                        "config", "mediaType", MT_DOCKER_CONFIG, "size", (json_int_t) strlen (config_text), "digest",
                        p.id, "layers", mlayers);
  manifest_text = json_dumps (manifest, JSON_COMPACT);
  if (store_blob_put_data (s, manifest_text, strlen (manifest_text), p.manifest, &undo, err) < 0)
    goto out;
  p.manifest_media_type = MT_DOCKER_MANIFEST;
  p.manifest_size = (int64_t) strlen (manifest_text);
  p.blobs = strv_append (p.blobs, p.manifest);
  if (key)
    {
      p.tags = strv_append (p.tags, key);
      p.set_last_tag_time = true;
    }
  p.parent = *parent->id ? parent->id : NULL;
  p.build_step = c->build_step;
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
      /* events (moby image_commit.go, then TagImage) */
      store_event (s, "create", p.id, p.id);
      if (key)
        {
          _cleanup_free_ char *familiar = image_ref_familiar (key);
          store_event (s, "tag", p.id, familiar);
        }
    }
  store_pending_clear (&p);
  fs_remove_all (tmpdir, NULL);
  image_free (parent);
  return ret;
}
