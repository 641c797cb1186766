/* The image store end to end on a temp data root: layer unpack with
 * whiteouts, docker load (docker-save and OCI layout tarballs built here
 * from /bin/busybox), resolve, layer dirs, inspect, list, tag, import,
 * remove with dockerd's conflicts, rollback of a bad load.  Needs root
 * (device nodes, trusted.* xattrs); skipped otherwise. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>

#include "image/digest.h"
#include "image/image.h"
#include "image/unpack.h"
#include "store/db.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strutil.h"

typedef struct
{
  const char *name;
  char type; /* 'f' file, 'd' dir, 'l' symlink, 'h' hardlink */
  const char *data; /* contents, or link target */
  const char *from_file; /* contents from this host file */
} entry_t;

static char root[256];

static void
write_tar (const char *path, const entry_t *e, bool gzip)
{
  struct archive *a = archive_write_new ();
  archive_write_set_format_pax_restricted (a);
  if (gzip)
    archive_write_add_filter_gzip (a);
  assert_int_equal (archive_write_open_filename (a, path), ARCHIVE_OK);
  for (; e->name; e++)
    {
      struct archive_entry *ae = archive_entry_new ();
      archive_entry_set_pathname (ae, e->name);
      archive_entry_set_mtime (ae, 1700000000, 0);
      char *content = NULL;
      size_t len = 0;
      if (e->from_file)
        assert_int_equal (fs_read_file (e->from_file, &content, &len, NULL), 0);
      else if (e->type == 'f')
        len = strlen (e->data);
      switch (e->type)
        {
        case 'd':
          archive_entry_set_filetype (ae, AE_IFDIR);
          archive_entry_set_perm (ae, 0755);
          break;
        case 'l':
          archive_entry_set_filetype (ae, AE_IFLNK);
          archive_entry_set_symlink (ae, e->data);
          archive_entry_set_perm (ae, 0777);
          break;
        case 'h':
          archive_entry_set_filetype (ae, AE_IFREG);
          archive_entry_set_hardlink (ae, e->data);
          break;
        default:
          archive_entry_set_filetype (ae, AE_IFREG);
          archive_entry_set_perm (ae, 0755);
          archive_entry_set_size (ae, (la_int64_t) len);
        }
      archive_entry_set_uid (ae, 0);
      archive_entry_set_gid (ae, 0);
      assert_int_equal (archive_write_header (a, ae), ARCHIVE_OK);
      if (e->type == 'f' && len)
        assert_int_equal (archive_write_data (a, content ? content : e->data, len), (la_ssize_t) len);
      free (content);
      archive_entry_free (ae);
    }
  archive_write_close (a);
  archive_write_free (a);
}

static const entry_t layer1[] = {
  { "bin/", 'd', NULL, NULL },
  { "bin/busybox", 'f', NULL, "/bin/busybox" },
  { "bin/sh", 'l', "busybox", NULL },
  { "bin/ls", 'h', "bin/busybox", NULL },
  { "etc/", 'd', NULL, NULL },
  { "etc/hello", 'f', "hello\n", NULL },
  { "opt/x/", 'd', NULL, NULL },
  { "opt/x/a", 'f', "a\n", NULL },
  { NULL, 0, NULL, NULL },
};

static const entry_t layer2[] = {
  { "etc/", 'd', NULL, NULL },
  { "etc/.wh.hello", 'f', "", NULL },
  { "opt/x/", 'd', NULL, NULL },
  { "opt/x/.wh..wh..opq", 'f', "", NULL },
  { "opt/x/b", 'f', "b\n", NULL },
  { "new/deep/.wh.gone", 'f', "", NULL },
  { NULL, 0, NULL, NULL },
};

static char *
path_in (const char *fmt, const char *a)
{
  return xasprintf (fmt, root, a);
}

static void
sh (const char *cmd)
{
  if (system (cmd) != 0)
    fail_msg ("command failed: %s", cmd);
}

/* A docker-save tarball: <dir>/manifest.json, <id>.json, l1/layer.tar,
 * l2/layer.tar (gzip); config "created" varies with tag_created. */
static char *
make_docker_save (const char *name, const char *repo_tags_json, const char *created, bool corrupt)
{
  _cleanup_free_ char *dir = xasprintf ("%s/src-%s", root, name);
  _cleanup_free_ char *l1 = xasprintf ("%s/l1", dir), *l2 = xasprintf ("%s/l2", dir);
  assert_int_equal (fs_mkdir_p (l1, 0755, NULL), 0);
  assert_int_equal (fs_mkdir_p (l2, 0755, NULL), 0);
  _cleanup_free_ char *t1 = xasprintf ("%s/layer.tar", l1);
  _cleanup_free_ char *t2raw = xasprintf ("%s/raw.tar", dir);
  _cleanup_free_ char *t2 = xasprintf ("%s/layer.tar", l2);
  write_tar (t1, layer1, false);
  write_tar (t2raw, layer2, false);
  _cleanup_free_ char *gz = xasprintf ("gzip -n -c %s > %s && rm %s", t2raw, t2, t2raw);
  char d1[DIGEST_BUF], d2[DIGEST_BUF];
  assert_int_equal (digest_file (t1, d1, NULL), 0);
  write_tar (t2raw, layer2, false);
  assert_int_equal (digest_file (t2raw, d2, NULL), 0);
  sh (gz);
  if (corrupt)
    d2[10] = d2[10] == 'a' ? 'b' : 'a';
  _cleanup_free_ char *config = xasprintf (
      "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"%s\",\"author\":\"me\","
      "\"config\":{\"Cmd\":[\"sh\"],\"Env\":[\"PATH=/bin\"],\"Labels\":{\"org.test\":\"yes\"}},"
      "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\",\"%s\"]},"
      "\"history\":[{\"created\":\"%s\",\"created_by\":\"ADD\"},{\"created\":\"%s\",\"created_by\":\"RUN\"}]}",
      created, d1, d2, created, created);
  char cd[DIGEST_BUF];
  digest_buf (config, strlen (config), cd);
  _cleanup_free_ char *cpath = xasprintf ("%s/%s.json", dir, digest_hex (cd));
  assert_int_equal (fs_write_atomic (cpath, config, strlen (config), 0644, NULL), 0);
  _cleanup_free_ char *manifest = xasprintf ("[{\"Config\":\"%s.json\",\"RepoTags\":%s,\"Layers\":[\"l1/layer.tar\",\"l2/layer.tar\"]}]",
                                             digest_hex (cd), repo_tags_json);
  _cleanup_free_ char *mpath = xasprintf ("%s/manifest.json", dir);
  assert_int_equal (fs_write_atomic (mpath, manifest, strlen (manifest), 0644, NULL), 0);
  char *out = xasprintf ("%s/%s.tar", root, name);
  _cleanup_free_ char *cmd = xasprintf ("tar -C %s -cf %s .", dir, out);
  sh (cmd);
  return out;
}

/* An OCI layout tarball with one single-layer image named by annotation. */
static char *
make_oci (const char *name, const char *image_name)
{
  _cleanup_free_ char *dir = xasprintf ("%s/src-%s", root, name);
  _cleanup_free_ char *blobs = xasprintf ("%s/blobs/sha256", dir);
  assert_int_equal (fs_mkdir_p (blobs, 0755, NULL), 0);
  _cleanup_free_ char *tmp = xasprintf ("%s/l.tar", dir);
  write_tar (tmp, layer1, false);
  char ld[DIGEST_BUF];
  assert_int_equal (digest_file (tmp, ld, NULL), 0);
  struct stat st;
  stat (tmp, &st);
  _cleanup_free_ char *lpath = xasprintf ("%s/%s", blobs, digest_hex (ld));
  rename (tmp, lpath);
  _cleanup_free_ char *config = xasprintf ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2023-05-06T07:08:09Z\","
                                           "\"config\":{\"Entrypoint\":[\"/bin/sh\"]},"
                                           "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
                                           ld);
  char cd[DIGEST_BUF];
  digest_buf (config, strlen (config), cd);
  _cleanup_free_ char *cpath = xasprintf ("%s/%s", blobs, digest_hex (cd));
  fs_write_atomic (cpath, config, strlen (config), 0644, NULL);
  _cleanup_free_ char *manifest = xasprintf (
      "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
      "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%lld}]}",
      cd, strlen (config), ld, (long long) st.st_size);
  char md[DIGEST_BUF];
  digest_buf (manifest, strlen (manifest), md);
  _cleanup_free_ char *mpath = xasprintf ("%s/%s", blobs, digest_hex (md));
  fs_write_atomic (mpath, manifest, strlen (manifest), 0644, NULL);
  _cleanup_free_ char *index = xasprintf (
      "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"io.containerd.image.name\":\"%s\","
      "\"org.opencontainers.image.ref.name\":\"2\"}}]}",
      md, strlen (manifest), image_name);
  _cleanup_free_ char *ipath = xasprintf ("%s/index.json", dir);
  fs_write_atomic (ipath, index, strlen (index), 0644, NULL);
  _cleanup_free_ char *lay = xasprintf ("%s/oci-layout", dir);
  fs_write_atomic (lay, "{\"imageLayoutVersion\":\"1.0.0\"}", 30, 0644, NULL);
  char *out = xasprintf ("%s/%s.tar", root, name);
  _cleanup_free_ char *cmd = xasprintf ("tar -C %s -cf %s .", dir, out);
  sh (cmd);
  return out;
}

/* ---- tests ------------------------------------------------------------------ */

static int
setup (void **state)
{
  (void) state;
  if (geteuid () != 0)
    return 0;
  snprintf (root, sizeof root, "/tmp/arca-image-test-XXXXXX");
  if (mkdtemp (root) == NULL)
    return -1;
  return 0;
}

static int
teardown (void **state)
{
  (void) state;
  if (root[0])
    fs_remove_all (root, NULL);
  return 0;
}

static void
test_whiteouts (void **state)
{
  (void) state;
  if (geteuid () != 0)
    skip ();
  _cleanup_free_ char *tar = path_in ("%s/%s", "wh.tar");
  write_tar (tar, layer2, true);
  _cleanup_free_ char *dest = path_in ("%s/%s", "wh");
  assert_int_equal (mkdir (dest, 0755), 0);
  layer_stat_t st;
  arca_error_t err = { 0 };
  if (layer_unpack (tar, dest, &st, &err) < 0)
    fail_msg ("unpack: %s", err.msg);
  assert_string_equal (st.media_type, "application/vnd.docker.image.rootfs.diff.tar.gzip");
  char blob[DIGEST_BUF];
  assert_int_equal (digest_file (tar, blob, NULL), 0);
  assert_string_equal (st.blob_digest, blob);
  assert_true (digest_valid (st.diff_id));
  assert_string_not_equal (st.diff_id, st.blob_digest);

  struct stat sb;
  _cleanup_free_ char *wh = path_in ("%s/wh/%s", "etc/hello");
  assert_int_equal (lstat (wh, &sb), 0);
  assert_true (S_ISCHR (sb.st_mode));
  assert_int_equal (sb.st_rdev, makedev (0, 0));
  _cleanup_free_ char *raw = path_in ("%s/wh/%s", "etc/.wh.hello");
  assert_int_equal (lstat (raw, &sb), -1);
  _cleanup_free_ char *deep = path_in ("%s/wh/%s", "new/deep/gone");
  assert_int_equal (lstat (deep, &sb), 0);
  assert_true (S_ISCHR (sb.st_mode));
  _cleanup_free_ char *opq = path_in ("%s/wh/%s", "opt/x");
  char v[8] = "";
  assert_int_equal (getxattr (opq, "trusted.overlay.opaque", v, sizeof v), 1);
  assert_int_equal (v[0], 'y');
  _cleanup_free_ char *b = path_in ("%s/wh/%s", "opt/x/b");
  assert_int_equal (lstat (b, &sb), 0);

  /* Hash-only pass gives the same digests. */
  layer_stat_t st2;
  assert_int_equal (layer_unpack (tar, NULL, &st2, NULL), 0);
  assert_string_equal (st2.diff_id, st.diff_id);
  assert_string_equal (st2.blob_digest, st.blob_digest);
}

static void
test_unsafe_tar (void **state)
{
  (void) state;
  if (geteuid () != 0)
    skip ();
  /* the symlinks point at a directory of the test's own (not the shared
   * /tmp, where other processes may have made an "x") */
  _cleanup_free_ char *outside = xasprintf ("%s/outside", root);
  assert_int_equal (mkdir (outside, 0755), 0);
  const entry_t evil[] = {
    { "link", 'l', outside, NULL },
    { "link/.wh.x", 'f', "", NULL },
    { NULL, 0, NULL, NULL },
  };
  static const entry_t evil2[] = {
    { "../escape", 'f', "x", NULL },
    { NULL, 0, NULL, NULL },
  };
  const entry_t evil3[] = {
    { "link", 'l', outside, NULL },
    { "link/escape3", 'f', "x", NULL },
    { NULL, 0, NULL, NULL },
  };
  const entry_t *cases[] = { evil, evil2, evil3 };
  for (size_t i = 0; i < 3; i++)
    {
      _cleanup_free_ char *tar = xasprintf ("%s/evil%zu.tar", root, i);
      write_tar (tar, cases[i], false);
      _cleanup_free_ char *dest = xasprintf ("%s/evil%zu", root, i);
      assert_int_equal (mkdir (dest, 0755), 0);
      layer_stat_t st;
      arca_error_t err = { 0 };
      int r = layer_unpack (tar, dest, &st, &err);
      /* evil3: with ARCHIVE_EXTRACT_UNLINK libarchive replaces the symlink
       * by a directory instead of failing; either way nothing escapes. */
      if (i != 2)
        assert_int_equal (r, -1);
      else if (r == 0)
        {
          _cleanup_free_ char *inside = xasprintf ("%s/link/escape3", dest);
          assert_int_equal (access (inside, F_OK), 0);
        }
    }
  _cleanup_free_ char *ox = xasprintf ("%s/x", outside);
  _cleanup_free_ char *oe = xasprintf ("%s/escape3", outside);
  assert_int_equal (access (ox, F_OK), -1);
  assert_int_equal (access (oe, F_OK), -1);
  _cleanup_free_ char *esc = xasprintf ("%s/escape", root);
  assert_int_equal (access (esc, F_OK), -1);
}

typedef struct
{
  char lines[16][256];
  int n;
} lines_t;

static void
collect (void *ctx, const char *line)
{
  lines_t *l = ctx;
  if (l->n < 16)
    snprintf (l->lines[l->n++], 256, "%s", line);
}

static int in_use_answer;
static int
fake_in_use (void *ctx, const char *image_id, char *out, size_t len)
{
  (void) ctx;
  (void) image_id;
  snprintf (out, len, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  return in_use_answer;
}

static void
resolve_ok (arca_image_store_t *s, const char *ref, const char *want_id)
{
  arca_image_t *img = NULL;
  arca_error_t err = { 0 };
  if (image_resolve (s, ref, &img, &err) < 0)
    fail_msg ("resolve %s: %s", ref, err.msg);
  assert_string_equal (img->id, want_id);
  image_free (img);
}

static void
resolve_404 (arca_image_store_t *s, const char *ref, const char *msg)
{
  arca_image_t *img = NULL;
  arca_error_t err = { 0 };
  assert_int_equal (image_resolve (s, ref, &img, &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_NOT_FOUND);
  assert_string_equal (err.msg, msg);
}

static size_t
count_entries (const char *dir)
{
  _cleanup_closedir_ DIR *d = opendir (dir);
  size_t n = 0;
  struct dirent *de;
  while (d && (de = readdir (d)))
    n += de->d_name[0] != '.' || (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."));
  return n;
}

static void
test_store (void **state)
{
  (void) state;
  if (geteuid () != 0)
    skip ();
  arca_error_t err = { 0 };
  _cleanup_free_ char *data_root = path_in ("%s/%s", "data");
  assert_int_equal (fs_mkdir_p (data_root, 0700, NULL), 0);
  _cleanup_free_ char *dbpath = path_in ("%s/%s", "data/arca.db");
  arca_db_t *db;
  assert_int_equal (arca_db_open (dbpath, &db, &err), 0);
  arca_image_store_t *s;
  if (image_store_open (data_root, db, &s, &err) < 0)
    fail_msg ("open: %s", err.msg);
  image_store_set_in_use_cb (s, fake_in_use, NULL);
  _cleanup_free_ char *layers_dir = path_in ("%s/%s", "data/image/layers");

  /* docker load */
  _cleanup_free_ char *tar = make_docker_save ("save1", "[\"busybox:latest\",\"test/bb:1\"]", "2024-01-02T03:04:05.123456789Z", false);
  lines_t lines = { 0 };
  if (image_load (s, tar, collect, &lines, &err) < 0)
    fail_msg ("load: %s", err.msg);
  assert_int_equal (lines.n, 2);
  assert_string_equal (lines.lines[0], "Loaded image: busybox:latest");
  assert_string_equal (lines.lines[1], "Loaded image: test/bb:1");
  assert_int_equal (image_count (s), 1);
  assert_int_equal (count_entries (layers_dir), 2);

  arca_image_t *img;
  assert_int_equal (image_resolve (s, "busybox", &img, &err), 0);
  char id[DIGEST_BUF];
  snprintf (id, sizeof id, "%s", img->id);
  assert_int_equal (strv_len (img->repo_tags), 2);
  assert_string_equal (img->repo_tags[0], "busybox:latest");
  assert_string_equal (img->repo_tags[1], "test/bb:1");
  assert_int_equal (strv_len (img->chain_ids), 2);
  assert_string_equal (img->chain_ids[0], img->diff_ids[0]);
  assert_true (img->size > 100000);
  char **dirs;
  assert_int_equal (image_layer_dirs (s, img, &dirs, &err), 0);
  assert_int_equal (strv_len (dirs), 2);
  _cleanup_free_ char *top_wh = xasprintf ("%s/etc/hello", dirs[0]);
  _cleanup_free_ char *bottom_bb = xasprintf ("%s/bin/busybox", dirs[1]);
  _cleanup_free_ char *bottom_ls = xasprintf ("%s/bin/ls", dirs[1]);
  _cleanup_free_ char *bottom_sh = xasprintf ("%s/bin/sh", dirs[1]);
  struct stat sb, bb;
  assert_int_equal (lstat (top_wh, &sb), 0);
  assert_true (S_ISCHR (sb.st_mode));
  assert_int_equal (stat ("/bin/busybox", &bb), 0);
  assert_int_equal (lstat (bottom_bb, &sb), 0);
  assert_int_equal (sb.st_size, bb.st_size);
  assert_int_equal (sb.st_mode & 07777, 0755);
  assert_int_equal (sb.st_mtime, 1700000000);
  assert_int_equal (sb.st_nlink, 2);
  assert_int_equal (lstat (bottom_sh, &sb), 0);
  assert_true (S_ISLNK (sb.st_mode));
  assert_int_equal (access (bottom_ls, X_OK), 0);
  strv_free (dirs);
  image_free (img);

  resolve_ok (s, "busybox:latest", id);
  resolve_ok (s, "docker.io/library/busybox", id);
  resolve_ok (s, "test/bb:1", id);
  resolve_ok (s, id, id);
  resolve_ok (s, digest_hex (id), id);
  char shortid[16];
  snprintf (shortid, sizeof shortid, "%.12s", digest_hex (id));
  resolve_ok (s, shortid, id);
  char prefixed[32];
  snprintf (prefixed, sizeof prefixed, "sha256:%.5s", digest_hex (id));
  resolve_ok (s, prefixed, id);
  resolve_404 (s, "alpine", "No such image: alpine:latest");
  resolve_404 (s, "test/bb", "No such image: test/bb:latest");
  resolve_404 (s, "sha256:0000000000000000000000000000000000000000000000000000000000000000",
               "No such image: sha256:0000000000000000000000000000000000000000000000000000000000000000");

  /* inspect */
  json_t *insp;
  assert_int_equal (image_inspect_json (s, "busybox", &insp, &err), 0);
  assert_string_equal (json_get_str (insp, "Id"), id);
  assert_string_equal (json_get_str (insp, "Created"), "2024-01-02T03:04:05.123456789Z");
  assert_string_equal (json_get_str (insp, "Author"), "me");
  assert_string_equal (json_get_str (insp, "Os"), "linux");
  assert_string_equal (json_get_str (insp, "Parent"), "");
  assert_string_equal (json_get_str (json_object_get (insp, "Metadata"), "LastTagTime"), "0001-01-01T00:00:00Z");
  assert_string_equal (json_get_str (json_object_get (insp, "GraphDriver"), "Name"), "overlay2");
  assert_non_null (json_get_str (json_object_get (json_object_get (insp, "GraphDriver"), "Data"), "LowerDir"));
  assert_int_equal (json_array_size (json_object_get (json_object_get (insp, "RootFS"), "Layers")), 2);
  assert_string_equal (json_string_value (json_array_get (json_object_get (json_object_get (insp, "Config"), "Cmd"), 0)), "sh");
  json_decref (insp);

  /* list + filters */
  json_t *list;
  assert_int_equal (image_list_json (s, NULL, false, &list, &err), 0);
  assert_int_equal (json_array_size (list), 1);
  json_t *sum = json_array_get (list, 0);
  assert_int_equal (json_get_int (sum, "Created", 0), 1704164645);
  assert_int_equal (json_get_int (sum, "SharedSize", 0), -1);
  assert_int_equal (json_get_int (sum, "Containers", 0), -1);
  assert_string_equal (json_get_str (json_object_get (sum, "Labels"), "org.test"), "yes");
  json_decref (list);
  json_t *f = json_loads ("{\"reference\":{\"busybox\":true}}", 0, NULL);
  assert_int_equal (image_list_json (s, f, false, &list, &err), 0);
  assert_int_equal (json_array_size (json_object_get (json_array_get (list, 0), "RepoTags")), 1);
  json_decref (list);
  json_decref (f);
  f = json_loads ("{\"dangling\":{\"true\":true}}", 0, NULL);
  assert_int_equal (image_list_json (s, f, false, &list, &err), 0);
  assert_int_equal (json_array_size (list), 0);
  json_decref (list);
  json_decref (f);
  f = json_loads ("{\"label\":{\"org.test=no\":true}}", 0, NULL);
  assert_int_equal (image_list_json (s, f, false, &list, &err), 0);
  assert_int_equal (json_array_size (list), 0);
  json_decref (list);
  json_decref (f);
  f = json_loads ("{\"bogus\":{\"x\":true}}", 0, NULL);
  assert_int_equal (image_list_json (s, f, false, &list, &err), -1);
  assert_string_equal (err.msg, "invalid filter 'bogus'");
  json_decref (f);

  /* Loading the same tarball again changes nothing. */
  lines.n = 0;
  assert_int_equal (image_load (s, tar, collect, &lines, &err), 0);
  assert_int_equal (lines.n, 2);
  assert_int_equal (image_count (s), 1);

  /* A second image takes busybox:latest: the rename notice. */
  _cleanup_free_ char *tar2 = make_docker_save ("save2", "[\"busybox:latest\"]", "2025-01-01T00:00:00Z", false);
  lines.n = 0;
  if (image_load (s, tar2, collect, &lines, &err) < 0)
    fail_msg ("load2: %s", err.msg);
  assert_int_equal (lines.n, 2);
  char want[256];
  snprintf (want, sizeof want, "The image busybox:latest already exists, renaming the old one with ID %s to empty string", id);
  assert_string_equal (lines.lines[0], want);
  assert_string_equal (lines.lines[1], "Loaded image: busybox:latest");
  assert_int_equal (image_count (s), 2);
  assert_int_equal (count_entries (layers_dir), 2); /* layers shared */
  char id2[DIGEST_BUF];
  assert_int_equal (image_resolve (s, "busybox", &img, &err), 0);
  snprintf (id2, sizeof id2, "%s", img->id);
  image_free (img);
  assert_string_not_equal (id, id2);

  /* A bad diff ID: error, nothing half-imported. */
  _cleanup_free_ char *bad = make_docker_save ("bad", "[\"bad:1\"]", "2022-01-01T00:00:00Z", true);
  assert_int_equal (image_load (s, bad, collect, &lines, &err), -1);
  assert_non_null (strstr (err.msg, "invalid diffID for layer 1"));
  assert_int_equal (image_count (s), 2);
  assert_int_equal (count_entries (layers_dir), 2);
  _cleanup_free_ char *tmpd = path_in ("%s/%s", "data/tmp");
  assert_int_equal (count_entries (tmpd), 0);
  resolve_404 (s, "bad:1", "No such image: bad:1");

  /* tag */
  assert_int_equal (image_tag (s, id, "busybox", "old", &err), 0);
  resolve_ok (s, "busybox:old", id);
  assert_int_equal (image_inspect_json (s, "busybox:old", &insp, &err), 0);
  assert_string_not_equal (json_get_str (json_object_get (insp, "Metadata"), "LastTagTime"), "0001-01-01T00:00:00Z");
  json_decref (insp);
  assert_int_equal (image_tag (s, "nope", "x", "y", &err), -1);
  assert_string_equal (err.msg, "No such image: nope:latest");
  assert_int_equal (image_tag (s, id, "Bad", NULL, &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_INVALID);

  /* remove: several repositories by ID -> conflict */
  json_t *out;
  in_use_answer = 0;
  assert_int_equal (image_remove (s, shortid, false, false, &out, &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_CONFLICT);
  snprintf (want, sizeof want, "conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", shortid);
  assert_string_equal (err.msg, want);
  /* by tag: untag only */
  assert_int_equal (image_remove (s, "test/bb:1", false, false, &out, &err), 0);
  _cleanup_free_ char *outs = json_dump_compact (out);
  assert_string_equal (outs, "[{\"Untagged\":\"test/bb:1\"}]");
  json_decref (out);
  /* last tag, used by a stopped container -> conflict */
  in_use_answer = 1;
  assert_int_equal (image_remove (s, "busybox:old", false, false, &out, &err), -1);
  snprintf (want, sizeof want,
            "conflict: unable to remove repository reference \"busybox:old\" (must force) - container 0123456789ab is "
            "using its referenced image %s",
            shortid);
  assert_string_equal (err.msg, want);
  in_use_answer = 2;
  assert_int_equal (image_remove (s, id, true, false, &out, &err), -1);
  snprintf (want, sizeof want, "conflict: unable to delete %s (cannot be forced) - image is being used by running container 0123456789ab", shortid);
  assert_string_equal (err.msg, want);
  in_use_answer = 0;
  assert_int_equal (image_remove (s, "busybox:old", false, false, &out, &err), 0);
  free (outs);
  outs = json_dump_compact (out);
  snprintf (want, sizeof want, "[{\"Untagged\":\"busybox:old\"},{\"Deleted\":\"%s\"}]", id);
  assert_string_equal (outs, want); /* layers still used by id2 */
  json_decref (out);
  assert_int_equal (image_count (s), 1);
  assert_int_equal (count_entries (layers_dir), 2);
  /* the last image takes its layers with it */
  assert_int_equal (image_remove (s, "busybox", false, false, &out, &err), 0);
  assert_int_equal (json_array_size (out), 4);
  assert_string_equal (json_get_str (json_array_get (out, 1), "Deleted"), id2);
  json_decref (out);
  assert_int_equal (image_count (s), 0);
  assert_int_equal (count_entries (layers_dir), 0);
  _cleanup_free_ char *blobs = path_in ("%s/%s", "data/image/oci/blobs/sha256");
  assert_int_equal (count_entries (blobs), 0);

  /* import */
  static const entry_t rootfs[] = {
    { "bin/", 'd', NULL, NULL },
    { "bin/busybox", 'f', NULL, "/bin/busybox" },
    { NULL, 0, NULL, NULL },
  };
  _cleanup_free_ char *rtar = path_in ("%s/%s", "rootfs.tar.gz");
  write_tar (rtar, rootfs, true);
  /* the Config as the engine hands it over (--change applied by build/) */
  _cleanup_json_ json_t *icfg = json_pack ("{s:[s,s],s:[s,s],s:{s:{},s:{}},s:s,s:{s:s}}", "Cmd", "/bin/busybox", "sh",
                                           "Env", "A=b", "C=d e", "ExposedPorts", "80/tcp", "53/udp", "WorkingDir",
                                           "/w", "Labels", "k", "v");
  char *iid = NULL;
  if (image_import (s, rtar, "imp", "v1", icfg, NULL, &iid, &err) < 0)
    fail_msg ("import: %s", err.msg);
  assert_true (digest_valid (iid));
  assert_int_equal (image_inspect_json (s, "imp:v1", &insp, &err), 0);
  assert_string_equal (json_get_str (insp, "Comment"), "Imported from -");
  json_t *cfg = json_object_get (insp, "Config");
  _cleanup_free_ char *cfgs = json_dump_compact (cfg);
  assert_string_equal (cfgs, "{\"Cmd\":[\"/bin/busybox\",\"sh\"],\"Env\":[\"A=b\",\"C=d e\"],"
                             "\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{}},\"WorkingDir\":\"/w\",\"Labels\":{\"k\":\"v\"}}");
  assert_string_equal (json_get_str (insp, "Architecture"), "amd64");
  json_decref (insp);
  free (iid);

  /* OCI layout */
  _cleanup_free_ char *oci = make_oci ("oci1", "docker.io/library/ocitest:2");
  lines.n = 0;
  if (image_load (s, oci, collect, &lines, &err) < 0)
    fail_msg ("load oci: %s", err.msg);
  assert_int_equal (lines.n, 1);
  assert_string_equal (lines.lines[0], "Loaded image: ocitest:2");
  assert_int_equal (image_resolve (s, "ocitest:2", &img, &err), 0);
  image_free (img);

  /* index.json lists the images */
  _cleanup_free_ char *ipath = path_in ("%s/%s", "data/image/oci/index.json");
  _cleanup_free_ char *itext = NULL;
  assert_int_equal (fs_read_file (ipath, &itext, NULL, NULL), 0);
  assert_non_null (strstr (itext, "docker.io/library/ocitest:2"));
  assert_non_null (strstr (itext, "docker.io/library/imp:v1"));

  /* reopen: state persists, garbage sweep keeps everything referenced */
  image_store_close (s);
  assert_int_equal (image_store_open (data_root, db, &s, &err), 0);
  assert_int_equal (image_count (s), 2);
  assert_int_equal (image_resolve (s, "imp:v1", &img, &err), 0);
  assert_int_equal (image_layer_dirs (s, img, &dirs, &err), 0);
  _cleanup_free_ char *ibb = xasprintf ("%s/bin/busybox", dirs[0]);
  assert_int_equal (access (ibb, X_OK), 0);
  strv_free (dirs);
  image_free (img);
  image_store_close (s);
  arca_db_close (db);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_whiteouts),
    cmocka_unit_test (test_unsafe_tar),
    cmocka_unit_test (test_store),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
