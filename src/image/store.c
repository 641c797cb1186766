/* The image store: OCI layout content store, unpacked layers, and the
 * SQLite records (images, image_refs, layers) that make them images. */
#include "image/store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timeutil.h"

/* Modes of the store's directories and files (store_dirs_private). */
#define STORE_DIR_MODE 0700
#define STORE_FILE_MODE 0600

/* ---- undo -------------------------------------------------------------- */

void
store_undo_add (store_undo_t *u, const char *path)
{
  if (u)
    strv_builder_add (&u->paths, path);
}

void
store_undo_rollback (store_undo_t *u)
{
  for (size_t i = 0; u && i < u->paths.len; i++)
    {
      const char *path = u->paths.v[i];
      struct stat st;
      if (lstat (path, &st) < 0)
        continue;
      if (S_ISDIR (st.st_mode))
        fs_remove_all (path, NULL);
      else
        unlink (path);
    }
  store_undo_forget (u);
}

void
store_undo_forget (store_undo_t *u)
{
  if (u == NULL)
    return;
  strv_builder_clear (&u->paths);
}

int
store_image_data (arca_image_store_t *s, const char *id, json_t **data, arca_error_t *err)
{
  return arca_store_image_get (s->db, id, data, err);
}

/* ---- paths, blobs -------------------------------------------------------- */

char *
store_blob_path (arca_image_store_t *s, const char *digest)
{
  return xasprintf ("%s/%s", s->blobs_dir, digest_hex (digest));
}

char *
store_layer_dir (arca_image_store_t *s, const char *chain_id)
{
  return xasprintf ("%s/%s/diff", s->layers_dir, digest_hex (chain_id));
}

int
store_mkdtemp (arca_image_store_t *s, char **out, arca_error_t *err)
{
  char *p = xasprintf ("%s/image-XXXXXX", s->tmp_dir);
  if (mkdtemp (p) == NULL)
    {
      int e = errno;
      free (p);
      return arca_error_set (err, ARCA_ERR_INTERNAL, "create temp dir in %s: %s", s->tmp_dir, strerror (e));
    }
  *out = p;
  return 0;
}

static int
fsync_path (const char *path)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  return fd < 0 ? -1 : fsync (fd);
}

/* Streamed copy into a temp name next to dst, fsync, rename. */
static int
copy_file (const char *src, const char *dst, arca_error_t *err)
{
  _cleanup_close_ int in = open (src, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "open %s: %s", src, strerror (errno));
  _cleanup_free_ char *tmp = xasprintf ("%s.tmp-XXXXXX", dst);
  _cleanup_close_ int out = mkostemp (tmp, O_CLOEXEC);
  if (out < 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "create %s: %s", tmp, strerror (errno));
  _cleanup_free_ char *buf = xmalloc0 (1 << 16);
  for (;;)
    {
      ssize_t n = read (in, buf, 1 << 16);
      if (n < 0 && errno == EINTR)
        continue;
      if (n == 0)
        break;
      if (n < 0)
        goto fail;
      for (ssize_t off = 0; off < n;)
        {
          ssize_t w = write (out, buf + off, (size_t) (n - off));
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            goto fail;
          off += w;
        }
    }
  if (fchmod (out, STORE_FILE_MODE) < 0 || fsync (out) < 0 || rename (tmp, dst) < 0)
    goto fail;
  return 0;
fail:
  arca_error_set (err, ARCA_ERR_INTERNAL, "copy %s to %s: %s", src, dst, strerror (errno));
  unlink (tmp);
  return -1;
}

int
store_blob_put_file (arca_image_store_t *s, const char *src, const char *digest, store_undo_t *u,
                     arca_error_t *err)
{
  _cleanup_free_ char *dst = store_blob_path (s, digest);
  if (access (dst, F_OK) == 0)
    return 0;
  fsync_path (src);
  chmod (src, STORE_FILE_MODE);
  /* A hard link, not a rename: a docker-save archive may reach one layer
   * file through several (symlinked) paths. */
  if (link (src, dst) < 0)
    {
      if (errno != EXDEV && errno != EPERM)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "store blob %s: %s", digest, strerror (errno));
      if (copy_file (src, dst, err) < 0)
        return -1;
    }
  store_undo_add (u, dst);
  fs_fsync_dir (s->blobs_dir);
  return 0;
}

int
store_blob_put_data (arca_image_store_t *s, const void *data, size_t len, char digest[DIGEST_BUF],
                     store_undo_t *u, arca_error_t *err)
{
  digest_buf (data, len, digest);
  _cleanup_free_ char *dst = store_blob_path (s, digest);
  if (access (dst, F_OK) == 0)
    return 0;
  if (fs_write_atomic (dst, data, len, STORE_FILE_MODE, err) < 0)
    return -1;
  store_undo_add (u, dst);
  return 0;
}

int
store_blob_read_json (arca_image_store_t *s, const char *digest, json_t **out, arca_error_t *err)
{
  _cleanup_free_ char *path = store_blob_path (s, digest);
  _cleanup_free_ char *data = NULL;
  size_t len;
  if (fs_read_file (path, &data, &len, err) < 0)
    {
      err->kind = ARCA_ERR_INTERNAL;
      return -1;
    }
  json_error_t jerr;
  *out = json_loadb (data, len, 0, &jerr);
  if (*out == NULL)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "blob %s: invalid JSON: %s", digest, jerr.text);
  return 0;
}

/* ---- layers -------------------------------------------------------------- */

int
store_layer_ensure (arca_image_store_t *s, const char *blob_path, const char *parent_chain,
                    const char *expected_diff_id, int index, store_layer_t *out, store_undo_t *u,
                    arca_error_t *err)
{
  memset (out, 0, sizeof *out);
  struct stat st;
  if (stat (blob_path, &st) < 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "layer %s: %s", blob_path, strerror (errno));
  out->blob_size = st.st_size;

  if (expected_diff_id)
    {
      digest_chain (parent_chain, expected_diff_id, out->chain_id);
      _cleanup_free_ char *dir = store_layer_dir (s, out->chain_id);
      if (access (dir, F_OK) == 0)
        {
          /* Unpacked once per chain ID: only the blob's digest is needed. */
          layer_stat_t ls;
          if (layer_unpack (blob_path, NULL, &ls, err) < 0)
            return -1;
          if (strcmp (ls.diff_id, expected_diff_id) != 0)
            return arca_error_set (err, ARCA_ERR_INVALID, "invalid diffID for layer %d: expected \"%s\", got \"%s\"",
                                   index, expected_diff_id, ls.diff_id);
          snprintf (out->diff_id, DIGEST_BUF, "%s", ls.diff_id);
          snprintf (out->blob_digest, DIGEST_BUF, "%s", ls.blob_digest);
          out->media_type = ls.media_type;
          int64_t size;
          bool found;
          if (arca_store_layer_size (s->db, out->chain_id, &size, &found, err) < 0)
            return -1;
          out->size = found ? size : ls.size;
          return 0;
        }
    }

  /* Unpack into <layers>/.tmp-XXXXXX/diff, then rename into place: a crash
   * never leaves a half layer under its chain ID. */
  _cleanup_free_ char *tmp = xasprintf ("%s/.tmp-XXXXXX", s->layers_dir);
  if (mkdtemp (tmp) == NULL)
    return arca_error_errno (err, errno, "create %s", tmp);
  chmod (tmp, 0700);
  _cleanup_free_ char *tmp_diff = xasprintf ("%s/diff", tmp);
  _cleanup_free_ char *final = NULL;
  layer_stat_t ls;
  if (mkdir (tmp_diff, 0755) < 0)
    {
      arca_error_errno (err, errno, "mkdir %s", tmp_diff);
      goto fail;
    }
  if (layer_unpack (blob_path, tmp_diff, &ls, err) < 0)
    goto fail;
  if (expected_diff_id && strcmp (ls.diff_id, expected_diff_id) != 0)
    {
      arca_error_set (err, ARCA_ERR_INVALID, "invalid diffID for layer %d: expected \"%s\", got \"%s\"", index,
                      expected_diff_id, ls.diff_id);
      goto fail;
    }
  snprintf (out->diff_id, DIGEST_BUF, "%s", ls.diff_id);
  snprintf (out->blob_digest, DIGEST_BUF, "%s", ls.blob_digest);
  out->media_type = ls.media_type;
  out->size = ls.size;
  digest_chain (parent_chain, ls.diff_id, out->chain_id);

  final = xasprintf ("%s/%s", s->layers_dir, digest_hex (out->chain_id));
  if (access (final, F_OK) == 0)
    {
      fs_remove_all (tmp, NULL); /* same content already there */
      return 0;
    }
  chmod (tmp, STORE_DIR_MODE);
  fsync_path (tmp_diff);
  if (rename (tmp, final) < 0)
    {
      arca_error_errno (err, errno, "rename %s", final);
      goto fail;
    }
  fs_fsync_dir (s->layers_dir);
  store_undo_add (u, final);
  return 0;
fail:
  fs_remove_all (tmp, NULL);
  return -1;
}

/* ---- commit -------------------------------------------------------------- */

void
store_pending_clear (store_pending_t *p)
{
  size_t n = strv_len (p->tags);
  for (size_t i = 0; p->prev_ids && i < n; i++)
    free (p->prev_ids[i]);
  free (p->prev_ids);
  strv_free (p->blobs);
  strv_free (p->tags);
  free (p->layers);
  memset (p, 0, sizeof *p);
}

static json_t *
image_record (store_pending_t *p, int64_t last_tag_time, int64_t now)
{
  json_t *chains = json_array ();
  for (size_t i = 0; i < p->n_layers; i++)
    json_array_append_new (chains, json_string (p->layers[i].chain_id));
  int64_t size = 0;
  for (size_t i = 0; i < p->n_layers; i++)
    size += p->layers[i].size;
  json_t *rec = json_pack ("{s:I, s:I, s:s, s:s, s:I, s:o, s:o}", "Size", (json_int_t) size, "LastTagTime",
                           (json_int_t) last_tag_time, "Manifest", p->manifest, "ManifestMediaType",
                           p->manifest_media_type, "ManifestSize", (json_int_t) p->manifest_size, "ChainIDs", chains,
                           "Blobs", json_from_strv (p->blobs));
  if (p->parent && *p->parent)
    json_object_set_new (rec, "Parent", json_string (p->parent));
  if (p->build_step)
    {
      /* build cache record fields (image/buildcache.c) */
      json_object_set_new (rec, "BuildStep", json_true ());
      json_object_set_new (rec, "LastUsed", json_integer (now));
      json_object_set_new (rec, "UsageCount", json_integer (1));
    }
  return rec;
}

int
store_commit (arca_image_store_t *s, store_pending_t *p, size_t n, arca_error_t *err)
{
  int64_t now = time_now_ns ();
  arca_store_image_put_t *puts = xmalloc0 ((n + 1) * sizeof *puts);
  for (size_t i = 0; i < n; i++)
    {
      arca_store_layer_put_t *layers = xmalloc0 ((p[i].n_layers + 1) * sizeof *layers);
      for (size_t k = 0; k < p[i].n_layers; k++)
        layers[k] = (arca_store_layer_put_t) { .chain_id = p[i].layers[k].chain_id,
                                               .diff_id = p[i].layers[k].diff_id,
                                               .parent = k > 0 ? p[i].layers[k - 1].chain_id : NULL,
                                               .size = p[i].layers[k].size };
      puts[i] = (arca_store_image_put_t) { .id = p[i].id,
                                           .layers = layers,
                                           .n_layers = p[i].n_layers,
                                           .data = image_record (&p[i], p[i].set_last_tag_time ? now : 0, now),
                                           .replace = p[i].set_last_tag_time,
                                           .tags = p[i].tags };
    }
  int ret = arca_store_images_commit (s->db, puts, n, now, err);
  for (size_t i = 0; i < n; i++)
    {
      if (puts[i].prev_ids)
        {
          free (p[i].prev_ids);
          p[i].prev_ids = puts[i].prev_ids;
        }
      free ((void *) puts[i].layers);
      json_decref (puts[i].data);
    }
  free (puts);
  if (ret < 0)
    return -1;
  arca_error_t ierr = { 0 };
  if (store_index_rewrite (s, &ierr) < 0)
    log_warn ("image store: rewrite index.json: %s", ierr.msg);
  return 0;
}

/* ---- index.json ---------------------------------------------------------- */

int
store_index_rewrite (arca_image_store_t *s, arca_error_t *err)
{
  _cleanup_store_image_ref_rows_ arca_store_image_ref_rows_t rows = { 0 };
  if (arca_store_images_refs_join (s->db, &rows, err) < 0)
    return -1;
  json_t *manifests = json_array ();
  for (size_t i = 0; i < rows.n; i++)
    {
      json_t *data = rows.v[i].data;
      const char *manifest = json_get_str (data, "Manifest");
      if (manifest == NULL)
        continue;
      json_t *desc = json_pack ("{s:s, s:s, s:I}", "mediaType",
                                json_get_str (data, "ManifestMediaType") ?: MT_DOCKER_MANIFEST, "digest", manifest,
                                "size", (json_int_t) json_get_int (data, "ManifestSize", 0));
      const char *ref = rows.v[i].ref;
      if (ref)
        {
          json_t *ann = json_pack ("{s:s}", "io.containerd.image.name", ref);
          image_ref_t r;
          if (image_ref_parse_canonical (ref, &r, NULL) == 0)
            {
              if (r.tag && r.digest == NULL)
                json_object_set_new (ann, "org.opencontainers.image.ref.name", json_string (r.tag));
              image_ref_clear (&r);
            }
          json_object_set_new (desc, "annotations", ann);
        }
      json_array_append_new (manifests, desc);
    }
  _cleanup_json_ json_t *index = json_pack ("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX,
                                            "manifests", manifests);
  _cleanup_free_ char *text = json_dumps (index, JSON_INDENT (0) | JSON_COMPACT);
  _cleanup_free_ char *path = xasprintf ("%s/index.json", s->oci_dir);
  return fs_write_atomic (path, text, strlen (text), STORE_FILE_MODE, err);
}

/* ---- open / close / garbage ------------------------------------------------ */

/* Remove what a crash may have left: temp dirs, layer dirs no image row
 * accounts for, blobs no image references.  Runs at open, before any
 * writer exists. */
static void
collect_garbage (arca_image_store_t *s)
{
  _cleanup_json_ json_t *images = NULL;
  _cleanup_store_layer_rows_ arca_store_layer_rows_t layers = { 0 };
  if (arca_store_images_data (s->db, NULL, &images, NULL) < 0 || arca_store_layers_list (s->db, &layers, NULL) < 0)
    return;
  _cleanup_json_ json_t *blobs = json_object (), *chains = json_object ();
  size_t i, j;
  json_t *data, *v;
  json_array_foreach (images, i, data)
    json_array_foreach (json_object_get (data, "Blobs"), j, v)
      if (json_is_string (v) && digest_valid (json_string_value (v)))
        json_object_set_new (blobs, digest_hex (json_string_value (v)), json_true ());
  for (i = 0; i < layers.n; i++)
    {
      const char *c = layers.v[i].chain_id;
      if (c && digest_valid (c))
        json_object_set_new (chains, digest_hex (c), json_true ());
    }

  struct
  {
    const char *dir;
    json_t *keep;
    const char *tmp_prefix;
  } sweeps[] = { { s->layers_dir, chains, ".tmp-" }, { s->blobs_dir, blobs, ".tmp-" }, { s->tmp_dir, NULL, "image-" } };
  for (size_t k = 0; k < sizeof sweeps / sizeof sweeps[0]; k++)
    {
      _cleanup_closedir_ DIR *d = opendir (sweeps[k].dir);
      struct dirent *de;
      while (d && (de = readdir (d)) != NULL)
        {
          if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
            continue;
          bool tmp = strstr (de->d_name, sweeps[k].tmp_prefix) != NULL;
          bool orphan = sweeps[k].keep && strlen (de->d_name) == 64 && str_is_hex (de->d_name, 64)
                        && json_object_get (sweeps[k].keep, de->d_name) == NULL;
          if (!tmp && !orphan)
            continue;
          _cleanup_free_ char *p = xasprintf ("%s/%s", sweeps[k].dir, de->d_name);
          log_info ("image store: removing leftover %s", p);
          struct stat st;
          if (lstat (p, &st) == 0 && S_ISDIR (st.st_mode))
            fs_remove_all (p, NULL);
          else
            unlink (p);
        }
    }
}

/* Every directory of the store 0700 and every file 0600, as moby's image
 * and layer stores (daemon/internal/image/fs.go, layer/filestore.go):
 * images pulled with credentials are nobody else's to read.  Entries an
 * older Arca made 0755/0644 are tightened here; the directories alone
 * already make them unreachable. */
static int
store_dirs_private (arca_image_store_t *s, arca_error_t *err)
{
  _cleanup_free_ char *image_dir = xasprintf ("%s/image", s->data_root);
  _cleanup_free_ char *blobs_parent = xasprintf ("%s/blobs", s->oci_dir);
  const char *dirs[] = { image_dir, s->oci_dir, blobs_parent, s->blobs_dir, s->layers_dir };
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
    if (fs_mkdir_mode (dirs[i], STORE_DIR_MODE, err) < 0)
      return -1;
  if (fs_mkdir_mode (s->tmp_dir, 0700, err) < 0)
    return -1;
  fs_chmod_entries (s->blobs_dir, S_IFREG, STORE_FILE_MODE);
  fs_chmod_entries (s->layers_dir, S_IFDIR, STORE_DIR_MODE);
  static const char *const files[] = { "index.json", "oci-layout" };
  for (size_t i = 0; i < sizeof files / sizeof *files; i++)
    {
      _cleanup_free_ char *f = xasprintf ("%s/%s", s->oci_dir, files[i]);
      if (chmod (f, STORE_FILE_MODE) < 0 && errno != ENOENT)
        return arca_error_errno (err, errno, "chmod %s", f);
    }
  return 0;
}

int
image_store_open (const char *data_root, arca_db_t *db, arca_image_store_t **out, arca_error_t *err)
{
  _cleanup_free_ char *layout = NULL;
  arca_image_store_t *s = xmalloc0 (sizeof *s);
  s->data_root = xstrdup (data_root);
  s->oci_dir = xasprintf ("%s/image/oci", data_root);
  s->blobs_dir = xasprintf ("%s/blobs/sha256", s->oci_dir);
  s->layers_dir = xasprintf ("%s/image/layers", data_root);
  s->tmp_dir = xasprintf ("%s/tmp", data_root);
  s->db = db;
  pthread_mutex_init (&s->lock, NULL);
  if (store_dirs_private (s, err) < 0)
    goto fail;
  layout = xasprintf ("%s/oci-layout", s->oci_dir);
  if (access (layout, F_OK) != 0)
    {
      static const char text[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
      if (fs_write_atomic (layout, text, strlen (text), STORE_FILE_MODE, err) < 0)
        goto fail;
    }
  collect_garbage (s);
  if (store_index_rewrite (s, err) < 0)
    goto fail;
  *out = s;
  return 0;
fail:
  image_store_close (s);
  return -1;
}

void
image_store_close (arca_image_store_t *s)
{
  if (s == NULL)
    return;
  pthread_mutex_destroy (&s->lock);
  free (s->data_root);
  free (s->oci_dir);
  free (s->blobs_dir);
  free (s->layers_dir);
  free (s->tmp_dir);
  free (s);
}

void
image_store_set_in_use_cb (arca_image_store_t *s, arca_image_in_use_fn fn, void *ctx)
{
  s->in_use = fn;
  s->in_use_ctx = ctx;
}

void
image_store_set_event_cb (arca_image_store_t *s, arca_image_event_fn fn, void *ctx)
{
  s->event = fn;
  s->event_ctx = ctx;
}

void
store_event_labels (arca_image_store_t *s, const char *action, const char *image_id, const char *name,
                    json_t *labels)
{
  if (s->event)
    s->event (s->event_ctx, action, image_id, name, labels);
}

void
store_event (arca_image_store_t *s, const char *action, const char *image_id, const char *name)
{
  if (s->event == NULL)
    return;
  arca_image_t *img = NULL;
  arca_error_t ignored;
  json_t *labels = NULL;
  if (image_resolve (s, image_id, &img, &ignored) == 0)
    labels = json_object_get (json_object_get (img->config, "config"), "Labels");
  s->event (s->event_ctx, action, image_id, name, labels);
  image_free (img);
}

/* ---- small transactions ---------------------------------------------------- */

int
store_set_tag (arca_image_store_t *s, const char *key, const char *id, char **prev_id, arca_error_t *err)
{
  if (arca_store_image_tag (s->db, key, id, time_now_ns (), prev_id, err) < 0)
    return -1;
  arca_error_t ierr = { 0 };
  if (store_index_rewrite (s, &ierr) < 0)
    log_warn ("image store: rewrite index.json: %s", ierr.msg);
  return 0;
}

int
store_delete (arca_image_store_t *s, char **refs, const char *delete_id, char **chain_ids, arca_error_t *err)
{
  if (arca_store_image_rows_delete (s->db, refs, delete_id, chain_ids, err) < 0)
    return -1;
  arca_error_t ierr = { 0 };
  if (store_index_rewrite (s, &ierr) < 0)
    log_warn ("image store: rewrite index.json: %s", ierr.msg);
  return 0;
}

/* {chain_id: size} of every layer row (an empty object on error). */
json_t *
store_layer_sizes (arca_image_store_t *s)
{
  json_t *m = NULL;
  if (arca_store_layers_sizes (s->db, &m, NULL) < 0)
    return json_object ();
  return m;
}
