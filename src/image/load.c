/* docker load: docker-save tarballs (manifest.json, moby
 * image/tarexport/load.go) and OCI image-layout tarballs (index.json).
 * The tarball is extracted into a temp dir under <data-root>/tmp, every
 * blob is verified, layers are unpacked, and only then are the images and
 * their tags committed in one transaction. */
#include "image/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"

typedef struct
{
  arca_image_store_t *s;
  char *dir;      /* extracted tarball */
  char *realdir;  /* its realpath, for scope checks */
  store_undo_t undo;
  store_pending_t *pending;
  size_t n_pending;
} load_t;

/* The largest JSON document taken from an archive (manifest.json,
 * index.json, configs, manifests): 4 MiB, the bound containerd puts on a
 * manifest (remotes/docker MaxManifestSize), so a crafted archive cannot
 * make the daemon hold or parse more. */
#define ARCHIVE_JSON_MAX ((size_t) 4 << 20)

/* moby safePath + os.Open: a regular file of the extracted archive, with
 * symlinks followed as if the archive were "/" (symlink.
 * FollowSymlinkInScope), so no path leads out of it.  Anything but a
 * regular file is refused without being opened for reading (no FIFO to
 * block on, no device to read from).  *fd_out (read-only) and *path_out
 * (its path inside l->dir, for the store) are optional.  A missing file:
 * 400 with err->errno_value ENOENT. */
static int
archive_open (load_t *l, const char *rel, int *fd_out, char **path_out, arca_error_t *err)
{
  if (rel == NULL || *rel == '\0')
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid manifest: empty path");
  _cleanup_close_ int pfd = fs_open_in_root (l->dir, rel, O_PATH);
  if (pfd < 0)
    {
      int e = errno;
      arca_error_set (err, ARCA_ERR_INVALID, "invalid archive: open %s: %s", rel, strerror (e));
      err->errno_value = e;
      return -1;
    }
  struct stat st;
  if (fstat (pfd, &st) < 0)
    return arca_error_errno (err, errno, "stat %s", rel);
  if (!S_ISREG (st.st_mode))
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid archive: %s is not a regular file", rel);
  char proc[64];
  snprintf (proc, sizeof proc, "/proc/self/fd/%d", pfd);
  if (path_out)
    {
      char real[PATH_MAX];
      ssize_t n = readlink (proc, real, sizeof real - 1);
      size_t dl = strlen (l->realdir);
      if (n < 0)
        return arca_error_errno (err, errno, "resolve %s", rel);
      real[n] = '\0';
      if (strncmp (real, l->realdir, dl) != 0 || real[dl] != '/')
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid path %s: outside the archive", rel);
      *path_out = xstrdup (real);
    }
  if (fd_out)
    {
      *fd_out = open (proc, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      if (*fd_out < 0)
        {
          int e = errno;
          if (path_out)
            {
              free (*path_out);
              *path_out = NULL;
            }
          return arca_error_errno (err, e, "open %s", rel);
        }
    }
  return 0;
}

static int
safe_path (load_t *l, const char *rel, char **out, arca_error_t *err)
{
  return archive_open (l, rel, NULL, out, err);
}

/* A JSON document of the archive (at most ARCHIVE_JSON_MAX bytes); errors
 * name the file as the archive does, never a path of the host. */
static int
read_json_file (load_t *l, const char *rel, json_t **out, char **raw, size_t *raw_len, arca_error_t *err)
{
  _cleanup_close_ int fd = -1;
  if (archive_open (l, rel, &fd, NULL, err) < 0)
    return -1;
  _cleanup_free_ char *data = NULL;
  size_t len;
  bool too_big;
  if (fs_read_fd_max (fd, ARCHIVE_JSON_MAX, &data, &len, &too_big, err) < 0)
    return -1;
  if (too_big)
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid archive: %s is larger than %zu bytes", rel,
                           ARCHIVE_JSON_MAX);
  json_error_t jerr;
  *out = json_loadb (data, len, 0, &jerr);
  if (*out == NULL)
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid archive: failed to decode %s: %s", rel, jerr.text);
  if (raw)
    {
      *raw = arca_steal (data);
      *raw_len = len;
    }
  return 0;
}

static store_pending_t *
new_pending (load_t *l)
{
  l->pending = xrealloc (l->pending, (l->n_pending + 1) * sizeof *l->pending);
  store_pending_t *p = &l->pending[l->n_pending++];
  memset (p, 0, sizeof *p);
  p->blobs = xmalloc0 (sizeof (char *));
  p->tags = xmalloc0 (sizeof (char *));
  return p;
}

/* Verify the config, unpack and store the layers, store config (and the
 * manifest: the original one if given, else a synthesised Docker v2 one). */
static int
load_image (load_t *l, store_pending_t *p, const char *config_raw, size_t config_len, json_t *config,
            char **layer_paths, char **layer_digests, const char *manifest_path, const char *manifest_digest,
            const char *manifest_media_type, arca_error_t *err)
{
  arca_image_store_t *s = l->s;
  const char *os = json_get_str (config, "os");
  if (os && *os && strcmp (os, "linux") != 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "cannot load %s image on linux", os);
  _cleanup_strv_ char **diff_ids = json_get_strv (json_object_get (config, "rootfs"), "diff_ids");
  size_t n = strv_len (layer_paths);
  if (strv_len (diff_ids) != n)
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid manifest, layers length mismatch: expected %zu, got %zu", n,
                           strv_len (diff_ids));
  p->layers = xmalloc0 ((n + 1) * sizeof *p->layers);
  p->n_layers = n;
  _cleanup_strv_builder_ arca_strv_builder_t blobs = { 0 };
  for (size_t i = 0; i < n; i++)
    {
      if (!digest_valid (diff_ids[i]))
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid diff ID %s", diff_ids[i]);
      store_layer_t *ly = &p->layers[i];
      if (store_layer_ensure (s, layer_paths[i], i ? p->layers[i - 1].chain_id : NULL, diff_ids[i], (int) i, ly,
                              &l->undo, err)
          < 0)
        return -1;
      if (layer_digests && layer_digests[i] && strcmp (layer_digests[i], ly->blob_digest) != 0)
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid digest for layer %zu: expected %s, got %s", i,
                               layer_digests[i], ly->blob_digest);
      if (store_blob_put_file (s, layer_paths[i], ly->blob_digest, &l->undo, err) < 0)
        return -1;
      strv_builder_add (&blobs, ly->blob_digest);
    }

  char cdigest[DIGEST_BUF];
  if (store_blob_put_data (s, config_raw, config_len, cdigest, &l->undo, err) < 0)
    return -1;
  snprintf (p->id, sizeof p->id, "%s", cdigest);
  strv_builder_add (&blobs, cdigest);

  if (manifest_path)
    {
      struct stat st;
      if (stat (manifest_path, &st) < 0)
        return arca_error_errno (err, errno, "stat %s", manifest_path);
      if (store_blob_put_file (s, manifest_path, manifest_digest, &l->undo, err) < 0)
        return -1;
      snprintf (p->manifest, sizeof p->manifest, "%s", manifest_digest);
      /* A constant: the caller's string lives in JSON freed before commit. */
      p->manifest_media_type = manifest_media_type && strcmp (manifest_media_type, MT_DOCKER_MANIFEST) == 0
                                   ? MT_DOCKER_MANIFEST
                                   : MT_OCI_MANIFEST;
      p->manifest_size = st.st_size;
    }
  else
    {
      json_t *layers = json_array ();
      for (size_t i = 0; i < n; i++)
        json_array_append_new (layers, json_pack ("{s:s, s:I, s:s}", "mediaType", p->layers[i].media_type, "size",
                                                  (json_int_t) p->layers[i].blob_size, "digest",
                                                  p->layers[i].blob_digest));
      _cleanup_json_ json_t *m = json_pack ("{s:i, s:s, s:{s:s, s:I, s:s}, s:o}", "schemaVersion", 2, "mediaType",
                                            MT_DOCKER_MANIFEST, "config", "mediaType", MT_DOCKER_CONFIG, "size",
                                            (json_int_t) config_len, "digest", cdigest, "layers", layers);
      _cleanup_free_ char *text = json_dumps (m, JSON_COMPACT);
      if (store_blob_put_data (s, text, strlen (text), p->manifest, &l->undo, err) < 0)
        return -1;
      p->manifest_media_type = MT_DOCKER_MANIFEST;
      p->manifest_size = (int64_t) strlen (text);
    }
  strv_builder_add (&blobs, p->manifest);
  strv_free (p->blobs);
  p->blobs = strv_builder_finish (&blobs);
  return 0;
}

/* ---- docker save format --------------------------------------------------- */

static int
load_docker (load_t *l, json_t *manifest, arca_error_t *err)
{
  if (json_is_null (manifest))
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid manifest, manifest cannot be null (but can be [])");
  if (!json_is_array (manifest))
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid manifest.json: not an array");
  size_t i;
  json_t *m;
  json_array_foreach (manifest, i, m)
    {
      store_pending_t *p = new_pending (l);
      _cleanup_json_ json_t *config = NULL;
      _cleanup_free_ char *raw = NULL;
      size_t raw_len;
      if (read_json_file (l, json_get_str (m, "Config"), &config, &raw, &raw_len, err) < 0)
        return -1;

      _cleanup_strv_builder_ arca_strv_builder_t lb = { 0 };
      _cleanup_strv_ char **names = json_get_strv (m, "Layers");
      for (size_t k = 0; names && names[k]; k++)
        {
          char *lp = NULL;
          if (safe_path (l, names[k], &lp, err) < 0)
            return -1;
          strv_builder_take (&lb, lp);
        }
      _cleanup_strv_ char **layers = strv_builder_finish (&lb);
      /* Layers named blobs/sha256/<hex> (docker save >= 25) are checked
       * against their names; legacy <v1 id>/layer.tar only by diff ID.
       * dv[k] is layer k's expected digest or NULL (a sparse vector, freed
       * element by element below). */
      size_t nl = strv_len (layers);
      _cleanup_free_ char **dv = xmalloc0 ((nl + 1) * sizeof (char *));
      for (size_t k = 0; k < nl; k++)
        {
          const char *base = str_has_prefix (names[k], "blobs/sha256/") ? names[k] + strlen ("blobs/sha256/") : NULL;
          if (base && strlen (base) == 64 && str_is_hex (base, 64))
            dv[k] = xasprintf ("sha256:%s", base);
        }
      int r = load_image (l, p, raw, raw_len, config, layers, dv, NULL, NULL, NULL, err);
      for (size_t k = 0; k < nl; k++)
        free (dv[k]);
      if (r < 0)
        return -1;

      _cleanup_strv_ char **tags = json_get_strv (m, "RepoTags");
      _cleanup_strv_builder_ arca_strv_builder_t keys = { 0 };
      for (size_t k = 0; tags && tags[k]; k++)
        {
          image_ref_t r;
          if (image_ref_parse (tags[k], &r, err) < 0)
            return -1;
          if (r.tag == NULL)
            {
              image_ref_clear (&r);
              return arca_error_set (err, ARCA_ERR_INVALID, "invalid tag \"%s\"", tags[k]);
            }
          strv_builder_take (&keys, image_ref_store_key (&r));
          image_ref_clear (&r);
        }
      strv_free (p->tags);
      p->tags = strv_builder_finish (&keys);
    }
  return 0;
}

/* ---- OCI image layout ----------------------------------------------------- */

/* The archive path of an OCI layout blob. */
static int
blob_rel (const char *digest, char **rel, arca_error_t *err)
{
  if (!digest_valid (digest))
    return arca_error_set (err, ARCA_ERR_INVALID, "unsupported digest %s", digest ? digest : "(none)");
  *rel = xasprintf ("blobs/sha256/%s", digest_hex (digest));
  return 0;
}

static int
blob_in_archive (load_t *l, const char *digest, char **path, arca_error_t *err)
{
  _cleanup_free_ char *rel = NULL;
  if (blob_rel (digest, &rel, err) < 0)
    return -1;
  return safe_path (l, rel, path, err);
}

static int
verify_blob (const char *path, const char *digest, arca_error_t *err)
{
  char got[DIGEST_BUF];
  if (digest_file (path, got, err) < 0)
    return -1;
  if (strcmp (got, digest) != 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid digest for blob: expected %s, got %s", digest, got);
  return 0;
}

/* A JSON blob of the layout, checked against its digest. */
static int
read_json_blob (load_t *l, const char *digest, char **path, json_t **out, char **raw, size_t *raw_len,
                arca_error_t *err)
{
  _cleanup_free_ char *rel = NULL;
  if (blob_rel (digest, &rel, err) < 0 || safe_path (l, rel, path, err) < 0 || verify_blob (*path, digest, err) < 0)
    return -1;
  return read_json_file (l, rel, out, raw, raw_len, err);
}


static bool
platform_matches (json_t *desc)
{
  json_t *pl = json_object_get (desc, "platform");
  const char *os = json_get_str (pl, "os"), *arch = json_get_str (pl, "architecture");
  return pl == NULL || ((os == NULL || strcmp (os, "linux") == 0) && (arch == NULL || strcmp (arch, store_go_arch (NULL)) == 0));
}

static int load_oci_desc (load_t *l, json_t *desc, const char *name, int depth, arca_error_t *err);

static int
load_oci_index (load_t *l, json_t *index, const char *name, int depth, arca_error_t *err)
{
  json_t *manifests = json_object_get (index, "manifests");
  size_t i;
  json_t *d;
  json_array_foreach (manifests, i, d)
    {
      const char *mt = json_get_str (d, "mediaType");
      bool nested = mt && (strcmp (mt, MT_OCI_INDEX) == 0 || strcmp (mt, MT_DOCKER_LIST) == 0);
      if (!nested && !platform_matches (d))
        continue;
      /* Inside a multi-platform index only the first matching manifest. */
      if (load_oci_desc (l, d, name, depth, err) < 0)
        return -1;
      if (depth > 0)
        return 0;
    }
  if (depth > 0)
    return arca_error_set (err, ARCA_ERR_NOT_FOUND, "no matching manifest for linux/%s in the manifest list entries",
                           store_go_arch (NULL));
  return 0;
}

static int
load_oci_desc (load_t *l, json_t *desc, const char *name, int depth, arca_error_t *err)
{
  if (depth > 4)
    return arca_error_set (err, ARCA_ERR_INVALID, "OCI index nested too deeply");
  json_t *ann = json_object_get (desc, "annotations");
  const char *tagname = name;
  if (depth == 0)
    {
      tagname = json_get_str (ann, "io.containerd.image.name");
      const char *refname = json_get_str (ann, "org.opencontainers.image.ref.name");
      /* A bare tag in ref.name names no repository: the image loads untagged. */
      if (tagname == NULL && refname && strpbrk (refname, "/:"))
        tagname = refname;
    }
  const char *digest = json_get_str (desc, "digest");
  _cleanup_free_ char *path = NULL;
  _cleanup_json_ json_t *obj = NULL;
  if (read_json_blob (l, digest, &path, &obj, NULL, NULL, err) < 0)
    return -1;
  const char *mt = json_get_str (desc, "mediaType");
  if (mt == NULL)
    mt = json_get_str (obj, "mediaType");
  if (json_object_get (obj, "manifests"))
    return load_oci_index (l, obj, tagname, depth + 1, err);

  /* An image manifest. */
  const char *cdigest = json_get_str (json_object_get (obj, "config"), "digest");
  _cleanup_free_ char *cpath = NULL;
  _cleanup_json_ json_t *config = NULL;
  _cleanup_free_ char *raw = NULL;
  size_t raw_len;
  if (read_json_blob (l, cdigest, &cpath, &config, &raw, &raw_len, err) < 0)
    return -1;
  _cleanup_strv_builder_ arca_strv_builder_t lb = { 0 }, db = { 0 };
  size_t i;
  json_t *ld;
  json_array_foreach (json_object_get (obj, "layers"), i, ld)
    {
      const char *dg = json_get_str (ld, "digest");
      char *lp = NULL;
      if (blob_in_archive (l, dg, &lp, err) < 0)
        return -1;
      strv_builder_take (&lb, lp);
      strv_builder_add (&db, dg);
    }
  _cleanup_strv_ char **layers = strv_builder_finish (&lb);
  _cleanup_strv_ char **digests = strv_builder_finish (&db);
  store_pending_t *p = new_pending (l);
  if (load_image (l, p, raw, raw_len, config, layers, digests, path, digest, mt, err) < 0)
    return -1;
  if (tagname)
    {
      image_ref_t r;
      if (image_ref_parse (tagname, &r, err) < 0)
        return -1;
      image_ref_default_tag (&r);
      if (r.digest == NULL)
        {
          char *key = image_ref_store_key (&r);
          p->tags = strv_append (p->tags, key);
          free (key);
        }
      image_ref_clear (&r);
    }
  return 0;
}

/* Which format: manifest.json (docker save), else index.json (an OCI
 * layout), each read as any other file of the archive. */
static int
load_any (load_t *l, arca_error_t *err)
{
  _cleanup_json_ json_t *doc = NULL;
  if (read_json_file (l, "manifest.json", &doc, NULL, NULL, err) == 0)
    return load_docker (l, doc, err);
  if (err->errno_value != ENOENT)
    return -1;
  if (read_json_file (l, "index.json", &doc, NULL, NULL, err) == 0)
    return load_oci_index (l, doc, NULL, 0, err);
  if (err->errno_value != ENOENT)
    return -1;
  return arca_error_set (err, ARCA_ERR_INVALID,
                         "invalid archive: no manifest.json or index.json (not a docker save or OCI layout tarball)");
}

/* ---- entry point ------------------------------------------------------------- */

int
image_load (arca_image_store_t *s, const char *tar_path, void (*emit) (void *ctx, const char *line), void *ctx,
            arca_error_t *err)
{
  load_t l = { .s = s };
  int ret = -1;
  bool loaded = false;
  pthread_mutex_lock (&s->lock);
  if (store_mkdtemp (s, &l.dir, err) < 0)
    goto out;
  l.realdir = realpath (l.dir, NULL);
  if (l.realdir == NULL)
    {
      arca_error_errno (err, errno, "realpath %s", l.dir);
      goto out;
    }
  if (archive_extract_secure (tar_path, l.dir, err) < 0)
    goto out;

  ret = load_any (&l, err);
  if (ret == 0)
    ret = store_commit (s, l.pending, l.n_pending, err);
  if (ret < 0)
    {
      store_undo_rollback (&l.undo);
      goto out;
    }
  store_undo_forget (&l.undo);

  /* moby tarexport: per image, a rename notice for each moved tag and a
   * "Loaded image:" line per tag; the ID lines only when the last image
   * had no tags. */
  arca_buf_t ids = { 0 };
  size_t last_tags = 0;
  for (size_t i = 0; i < l.n_pending; i++)
    {
      store_pending_t *p = &l.pending[i];
      buf_printf (&ids, "Loaded image ID: %s\n", p->id);
      last_tags = strv_len (p->tags);
      for (size_t k = 0; k < last_tags; k++)
        {
          _cleanup_free_ char *f = image_ref_familiar (p->tags[k]);
          if (p->prev_ids && p->prev_ids[k] && emit)
            {
              _cleanup_free_ char *line = xasprintf (
                  "The image %s already exists, renaming the old one with ID %s to empty string", f, p->prev_ids[k]);
              emit (ctx, line);
            }
          if (emit)
            {
              _cleanup_free_ char *line = xasprintf ("Loaded image: %s", f);
              emit (ctx, line);
            }
        }
    }
  if (last_tags == 0 && emit && ids.data)
    {
      char *save = NULL;
      for (char *line = strtok_r (ids.data, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
        emit (ctx, line);
    }
  buf_free (&ids);
  /* events (moby tarexport Load): one "load" per image, after the store
   * lock (below) */
  loaded = true;
out:
  if (l.dir)
    {
      arca_error_t rerr = { 0 };
      if (fs_remove_all (l.dir, &rerr) < 0)
        log_warn ("remove %s: %s", l.dir, rerr.msg);
    }
  pthread_mutex_unlock (&s->lock);
  for (size_t i = 0; loaded && i < l.n_pending; i++)
    store_event (s, "load", l.pending[i].id, l.pending[i].id);
  for (size_t i = 0; i < l.n_pending; i++)
    store_pending_clear (&l.pending[i]);
  free (l.pending);
  free (l.dir);
  free (l.realdir);
  return ret;
}
