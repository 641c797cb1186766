/* docker save (moby image/tarexport/save.go, the dockerd >= 25 layout):
 *   blobs/sha256/<hex>   image configs, layers as uncompressed tars (so a
 *                        layer's digest is its diff ID) and OCI manifests
 *   manifest.json        [{"Config","RepoTags","Layers"}] (what docker load
 *                        of every dockerd version reads)
 *   repositories         {"name":{"tag":"<top diff ID hex>"}} (legacy)
 *   index.json, oci-layout   the same images as an OCI image layout
 * Written straight to the caller's sink as a tar stream; a compressed
 * stored layer is decompressed to a temp file first because a tar header
 * needs the size up front. */
#include "image/store_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"

#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"

typedef struct
{
  char *id;
  char **tags;  /* canonical "docker.io/library/busybox:latest" */
} save_item_t;

struct arca_image_save
{
  arca_image_store_t *s;
  save_item_t *v;
  size_t n;
};

void
image_save_free (arca_image_save_t *sv)
{
  if (sv == NULL)
    return;
  for (size_t i = 0; i < sv->n; i++)
    {
      free (sv->v[i].id);
      strv_free (sv->v[i].tags);
    }
  free (sv->v);
  free (sv);
}

/* addAssoc: one entry per image, each tag once; digest references add
 * no tag. */
static void
add_assoc (arca_image_save_t *sv, const char *id, const char *tag)
{
  save_item_t *it = NULL;
  for (size_t i = 0; i < sv->n && it == NULL; i++)
    if (strcmp (sv->v[i].id, id) == 0)
      it = &sv->v[i];
  if (it == NULL)
    {
      sv->v = xrealloc (sv->v, (sv->n + 1) * sizeof *sv->v);
      it = &sv->v[sv->n++];
      it->id = xstrdup (id);
      it->tags = xmalloc0 (sizeof (char *));
    }
  for (size_t i = 0; tag && it->tags[i]; i++)
    if (strcmp (it->tags[i], tag) == 0)
      return;
  if (tag)
    it->tags = strv_append (it->tags, tag);
}

static int
add_by_id (arca_image_save_t *sv, const char *name, arca_error_t *err)
{
  arca_image_t *img;
  if (image_resolve (sv->s, name, &img, err) < 0)
    return -1;
  add_assoc (sv, img->id, NULL);
  image_free (img);
  return 0;
}

static int
add_name (arca_image_save_t *sv, const char *name, arca_error_t *err)
{
  if (image_ref_is_full_id_hex (name) || digest_valid (name))
    return add_by_id (sv, name, err);
  image_ref_t r;
  if (image_ref_parse (name, &r, err) < 0)
    return -1;
  int ret = 0;
  if (r.tag == NULL && r.digest == NULL)
    {
      /* A bare name saves every tag of the repository. */
      _cleanup_free_ char *repo = image_ref_name (&r);
      _cleanup_free_ char *prefix = xasprintf ("%s:", repo);
      _cleanup_store_refs_ arca_store_refs_t tags = { 0 };
      ret = arca_store_repo_tags (sv->s->db, prefix, &tags, err);
      for (size_t i = 0; i < tags.n; i++)
        add_assoc (sv, tags.v[i].image_id, tags.v[i].ref);
      if (ret == 0 && tags.n == 0 && add_by_id (sv, name, err) < 0)
        {
          /* is.Search's error names the argument as given. */
          if (err->kind == ARCA_ERR_NOT_FOUND)
            arca_error_set (err, ARCA_ERR_NOT_FOUND, "No such image: %s", name);
          ret = -1;
        }
    }
  else
    {
      arca_image_t *img;
      ret = image_resolve (sv->s, name, &img, err);
      if (ret < 0 && err->kind == ARCA_ERR_NOT_FOUND && r.digest == NULL)
        arca_error_set (err, ARCA_ERR_NOT_FOUND, "reference does not exist"); /* refstore.Get, as dockerd */
      if (ret == 0)
        {
          _cleanup_free_ char *key = r.digest ? NULL : image_ref_store_key (&r);
          add_assoc (sv, img->id, key);
          image_free (img);
        }
    }
  image_ref_clear (&r);
  return ret;
}

int
image_save_prepare (arca_image_store_t *s, char **names, arca_image_save_t **out, arca_error_t *err)
{
  arca_image_save_t *sv = xmalloc0 (sizeof *sv);
  sv->s = s;
  for (size_t i = 0; names && names[i]; i++)
    if (add_name (sv, names[i], err) < 0)
      {
        image_save_free (sv);
        return -1;
      }
  *out = sv;
  return 0;
}

/* ---- the tar stream ----------------------------------------------------------- */

typedef struct
{
  arca_image_save_sink_fn sink;
  void *ctx;
  struct archive *a;
  json_t *written; /* blob hexes already in the archive */
  int64_t mtime;
} writer_t;

static la_ssize_t
on_write (struct archive *a, void *ud, const void *buf, size_t len)
{
  (void) a;
  writer_t *w = ud;
  return w->sink (w->ctx, buf, len) < 0 ? -1 : (la_ssize_t) len;
}

static struct archive_entry *
new_entry (writer_t *w, const char *path, mode_t type, int64_t size)
{
  struct archive_entry *e = archive_entry_new ();
  archive_entry_set_pathname (e, path);
  archive_entry_set_filetype (e, type);
  archive_entry_set_perm (e, type == AE_IFDIR ? 0755 : 0644);
  archive_entry_set_size (e, type == AE_IFDIR ? 0 : size);
  archive_entry_set_mtime (e, w->mtime, 0);
  return e;
}

static int
write_header (writer_t *w, struct archive_entry *e, arca_error_t *err)
{
  int r = archive_write_header (w->a, e);
  archive_entry_free (e);
  if (r < ARCHIVE_WARN)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "write archive: %s", archive_error_string (w->a));
  return 0;
}

static int
write_data (writer_t *w, const char *path, const void *data, size_t len, arca_error_t *err)
{
  if (write_header (w, new_entry (w, path, AE_IFREG, (int64_t) len), err) < 0)
    return -1;
  if (len && archive_write_data (w->a, data, len) < 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "write archive: %s", archive_error_string (w->a));
  return 0;
}

static int
write_file (writer_t *w, const char *path, const char *file, arca_error_t *err)
{
  _cleanup_close_ int fd = open (file, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    return arca_error_errno (err, errno, "open %s", file);
  if (write_header (w, new_entry (w, path, AE_IFREG, st.st_size), err) < 0)
    return -1;
  _cleanup_free_ char *buf = xmalloc0 (1 << 16);
  int64_t left = st.st_size;
  while (left > 0)
    {
      ssize_t n = read (fd, buf, 1 << 16);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "read %s: %s", file, n < 0 ? strerror (errno) : "short file");
      if (n > left)
        n = (ssize_t) left;
      if (archive_write_data (w->a, buf, (size_t) n) < 0)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "write archive: %s", archive_error_string (w->a));
      left -= n;
    }
  return 0;
}

static bool
is_compressed (const char *path)
{
  unsigned char m[6] = { 0 };
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read (fd, m, sizeof m) < 4)
    return false;
  return (m[0] == 0x1f && m[1] == 0x8b)                                    /* gzip */
         || (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) /* zstd */
         || (m[0] == 0xfd && m[1] == '7' && m[2] == 'z' && m[3] == 'X')    /* xz */
         || (m[0] == 'B' && m[1] == 'Z' && m[2] == 'h');                   /* bzip2 */
}

static int
write_all (int fd, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      buf += n;
      len -= (size_t) n;
    }
  return 0;
}

/* Decompress src into dst, hashing the output (the diff ID). */
static int
decompress (const char *src, const char *dst, char diff_id[DIGEST_BUF], arca_error_t *err)
{
  struct archive *a = archive_read_new ();
  archive_read_support_filter_all (a);
  archive_read_support_format_raw (a);
  int ret = -1;
  _cleanup_close_ int out = open (dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  digest_ctx_t *d = digest_new ();
  struct archive_entry *e;
  if (out < 0)
    arca_error_errno (err, errno, "create %s", dst);
  else if (archive_read_open_filename (a, src, 1 << 16) != ARCHIVE_OK || archive_read_next_header (a, &e) != ARCHIVE_OK)
    arca_error_set (err, ARCA_ERR_INTERNAL, "read layer %s: %s", src, archive_error_string (a));
  else
    {
      _cleanup_free_ char *buf = xmalloc0 (1 << 16);
      for (;;)
        {
          la_ssize_t n = archive_read_data (a, buf, 1 << 16);
          if (n == 0)
            {
              ret = 0;
              break;
            }
          if (n < 0)
            {
              arca_error_set (err, ARCA_ERR_INTERNAL, "read layer %s: %s", src, archive_error_string (a));
              break;
            }
          digest_update (d, buf, (size_t) n);
          if (write_all (out, buf, (size_t) n) < 0)
            {
              arca_error_errno (err, errno, "write %s", dst);
              break;
            }
        }
    }
  digest_final (d, diff_id);
  archive_read_free (a);
  return ret;
}

/* The stored blob of each layer, from the image's manifest (bottom first). */
static char **
layer_blobs (arca_image_store_t *s, const char *id, size_t n)
{
  _cleanup_json_ json_t *data = NULL, *m = NULL;
  arca_strv_builder_t v = { 0 };
  if (store_image_data (s, id, &data, NULL) == 0 && json_get_str (data, "Manifest")
      && store_blob_read_json (s, json_get_str (data, "Manifest"), &m, NULL) == 0
      && json_array_size (json_object_get (m, "layers")) == n)
    {
      size_t i;
      json_t *l;
      json_array_foreach (json_object_get (m, "layers"), i, l)
        strv_builder_add (&v, json_get_str (l, "digest") ?: "");
    }
  return strv_builder_finish (&v);
}

/* Put layer diff_id (blob as stored: blob) in the archive once; *size gets
 * the uncompressed size. */
static int
write_layer (writer_t *w, arca_image_store_t *s, const char *diff_id, const char *blob, int64_t *size,
             arca_error_t *err)
{
  _cleanup_free_ char *name = xasprintf ("blobs/sha256/%s", digest_hex (diff_id));
  json_t *known = json_object_get (w->written, digest_hex (diff_id));
  if (known)
    {
      *size = json_integer_value (known);
      return 0;
    }
  /* The blob itself when it is the uncompressed tar, else decompress it. */
  _cleanup_free_ char *path = NULL;
  if (blob && digest_valid (blob))
    path = store_blob_path (s, blob);
  if (path == NULL || access (path, F_OK) != 0)
    {
      free (path);
      path = store_blob_path (s, diff_id);
    }
  if (access (path, F_OK) != 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "layer %s: no stored blob", diff_id);
  struct stat st = { 0 };
  if (!is_compressed (path))
    {
      if (stat (path, &st) < 0 || write_file (w, name, path, err) < 0)
        return -1;
    }
  else
    {
      _cleanup_free_ char *dir = NULL;
      if (store_mkdtemp (s, &dir, err) < 0)
        return -1;
      _cleanup_free_ char *tmp = xasprintf ("%s/layer.tar", dir);
      char got[DIGEST_BUF];
      int r = decompress (path, tmp, got, err);
      if (r == 0 && strcmp (got, diff_id) != 0)
        r = arca_error_set (err, ARCA_ERR_INTERNAL, "layer %s: decompressed to %s", diff_id, got);
      if (r == 0)
        r = stat (tmp, &st) < 0 ? arca_error_errno (err, errno, "stat %s", tmp) : write_file (w, name, tmp, err);
      fs_remove_all (dir, NULL);
      if (r < 0)
        return -1;
    }
  *size = st.st_size;
  json_object_set_new (w->written, digest_hex (diff_id), json_integer (st.st_size));
  return 0;
}

static int
write_blob_data (writer_t *w, const char *text, char digest[DIGEST_BUF], arca_error_t *err)
{
  digest_buf (text, strlen (text), digest);
  if (json_object_get (w->written, digest_hex (digest)))
    return 0;
  _cleanup_free_ char *name = xasprintf ("blobs/sha256/%s", digest_hex (digest));
  if (write_data (w, name, text, strlen (text), err) < 0)
    return -1;
  json_object_set_new (w->written, digest_hex (digest), json_integer ((json_int_t) strlen (text)));
  return 0;
}

static int
write_archive (arca_image_save_t *sv, writer_t *w, arca_error_t *err)
{
  arca_image_store_t *s = sv->s;
  _cleanup_json_ json_t *manifest = json_array ();
  _cleanup_json_ json_t *repos = json_object ();
  _cleanup_json_ json_t *index = json_array ();
  if (write_header (w, new_entry (w, "blobs", AE_IFDIR, 0), err) < 0
      || write_header (w, new_entry (w, "blobs/sha256", AE_IFDIR, 0), err) < 0)
    return -1;
  for (size_t i = 0; i < sv->n; i++)
    {
      save_item_t *it = &sv->v[i];
      arca_image_t *img;
      if (store_image_load (s, it->id, &img, err) < 0)
        return -1;
      size_t n = strv_len (img->diff_ids);
      _cleanup_strv_ char **blobs = layer_blobs (s, img->id, n);
      json_t *layers = json_array (), *oci_layers = json_array ();
      int ret = 0;
      for (size_t k = 0; ret == 0 && k < n; k++)
        {
          int64_t size = 0;
          ret = write_layer (w, s, img->diff_ids[k], k < strv_len (blobs) ? blobs[k] : NULL, &size, err);
          json_array_append_new (layers, json_sprintf ("blobs/sha256/%s", digest_hex (img->diff_ids[k])));
          json_array_append_new (oci_layers, json_pack ("{s:s, s:s, s:I}", "mediaType", MT_OCI_LAYER, "digest",
                                                        img->diff_ids[k], "size", (json_int_t) size));
        }
      /* The config blob byte for byte: its digest is the image ID. */
      _cleanup_free_ char *cpath = store_blob_path (s, img->id);
      _cleanup_free_ char *cname = xasprintf ("blobs/sha256/%s", digest_hex (img->id));
      struct stat cst = { 0 };
      if (ret == 0 && stat (cpath, &cst) < 0)
        ret = arca_error_errno (err, errno, "stat %s", cpath);
      if (ret == 0 && !json_object_get (w->written, digest_hex (img->id)))
        {
          ret = write_file (w, cname, cpath, err);
          json_object_set_new (w->written, digest_hex (img->id), json_integer (cst.st_size));
        }
      json_t *oci = json_pack ("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType", MT_OCI_MANIFEST,
                               "config", "mediaType", MT_OCI_CONFIG, "digest", img->id, "size",
                               (json_int_t) (ret == 0 ? cst.st_size : 0), "layers", oci_layers);
      _cleanup_free_ char *oci_text = json_dumps (oci, JSON_COMPACT);
      json_decref (oci);
      char mdigest[DIGEST_BUF] = "";
      if (ret == 0)
        ret = write_blob_data (w, oci_text, mdigest, err);
      json_t *repo_tags = json_array ();
      for (size_t t = 0; ret == 0 && it->tags[t]; t++)
        {
          image_ref_t r;
          if (image_ref_parse_canonical (it->tags[t], &r, NULL) < 0)
            continue;
          _cleanup_free_ char *fam = image_ref_familiar_string (&r);
          _cleanup_free_ char *fname = image_ref_familiar_name (&r);
          json_array_append_new (repo_tags, json_string (fam));
          json_t *rm = json_object_get (repos, fname);
          if (rm == NULL)
            json_object_set_new (repos, fname, rm = json_object ());
          if (n > 0)
            json_object_set_new (rm, r.tag, json_string (digest_hex (img->diff_ids[n - 1])));
          json_array_append_new (index, json_pack ("{s:s, s:s, s:I, s:{s:s, s:s}}", "mediaType", MT_OCI_MANIFEST,
                                                   "digest", mdigest, "size", (json_int_t) strlen (oci_text),
                                                   "annotations", "io.containerd.image.name", it->tags[t],
                                                   "org.opencontainers.image.ref.name", r.tag));
          image_ref_clear (&r);
        }
      if (ret == 0 && it->tags[0] == NULL)
        json_array_append_new (index, json_pack ("{s:s, s:s, s:I}", "mediaType", MT_OCI_MANIFEST, "digest", mdigest,
                                                 "size", (json_int_t) strlen (oci_text)));
      if (json_array_size (repo_tags) == 0)
        {
          json_decref (repo_tags);
          repo_tags = json_null ();
        }
      json_array_append_new (manifest, json_pack ("{s:s, s:o, s:o}", "Config", cname, "RepoTags", repo_tags, "Layers",
                                                  layers));
      image_free (img);
      if (ret < 0)
        return -1;
    }

  _cleanup_json_ json_t *idx = json_pack ("{s:i, s:s, s:O}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX,
                                          "manifests", index);
  _cleanup_free_ char *idx_text = json_dumps (idx, JSON_COMPACT);
  _cleanup_free_ char *man_text = json_dumps (manifest, JSON_COMPACT);
  _cleanup_free_ char *repo_text = json_dumps (repos, JSON_COMPACT);
  static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  if (write_data (w, "index.json", idx_text, strlen (idx_text), err) < 0
      || write_data (w, "manifest.json", man_text, strlen (man_text), err) < 0
      || write_data (w, "oci-layout", layout, strlen (layout), err) < 0)
    return -1;
  if (json_object_size (repos) > 0 && write_data (w, "repositories", repo_text, strlen (repo_text), err) < 0)
    return -1;
  return 0;
}

int
image_save_write (arca_image_save_t *sv, arca_image_save_sink_fn sink, void *ctx, arca_error_t *err)
{
  writer_t w = { .sink = sink, .ctx = ctx, .written = json_object () };
  w.mtime = time (NULL);
  w.a = archive_write_new ();
  archive_write_set_format_pax_restricted (w.a);
  archive_write_set_bytes_in_last_block (w.a, 1);
  int ret = -1;
  if (archive_write_open2 (w.a, &w, NULL, on_write, NULL, NULL) != ARCHIVE_OK)
    arca_error_set (err, ARCA_ERR_INTERNAL, "write archive: %s", archive_error_string (w.a));
  else
    ret = write_archive (sv, &w, err);
  if (ret == 0 && archive_write_close (w.a) != ARCHIVE_OK)
    ret = arca_error_set (err, ARCA_ERR_INTERNAL, "write archive: %s", archive_error_string (w.a));
  archive_write_free (w.a);
  json_decref (w.written);
  for (size_t i = 0; ret == 0 && i < sv->n; i++)
    store_event (sv->s, "save", sv->v[i].id, sv->v[i].id); /* events (moby tarexport save) */
  return ret;
}
