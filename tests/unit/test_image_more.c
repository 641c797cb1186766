/* docker save, history, prune and garbage collection of the image store on
 * a temp data root, with a two-layer image whose top layer is stored
 * gzip-compressed (so save must decompress it to its diff ID).  Needs root
 * (layer unpack keeps owners); skipped otherwise. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "image/digest.h"
#include "image/image.h"
#include "store/db.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strutil.h"

static char root[256];

static void
sh (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *cmd = NULL;
  assert_true (vasprintf (&cmd, fmt, ap) > 0);
  va_end (ap);
  if (system (cmd) != 0)
    fail_msg ("command failed: %s", cmd);
  free (cmd);
}

static void
file_digest (const char *path, char out[DIGEST_BUF])
{
  assert_int_equal (digest_file (path, out, NULL), 0);
}

/* A docker-save tarball: layer 1 plain, layer 2 gzip; history with an
 * empty_layer entry on top. */
static char *
make_image (const char *tag)
{
  sh ("set -e; cd %s; mkdir -p src/l1 src/l2 r1/bin r2/etc; echo one > r1/bin/one; ln -sf one r1/bin/two;"
      "echo conf > r2/etc/conf; tar --mtime=@0 --owner=0 --group=0 -C r1 -cf src/l1/layer.tar .;"
      "tar --mtime=@0 --owner=0 --group=0 -C r2 -cf l2raw.tar .; gzip -n -c l2raw.tar > src/l2/layer.tar",
      root);
  char d1[DIGEST_BUF], d2[DIGEST_BUF];
  _cleanup_free_ char *p1 = xasprintf ("%s/src/l1/layer.tar", root);
  _cleanup_free_ char *p2 = xasprintf ("%s/l2raw.tar", root);
  file_digest (p1, d1);
  file_digest (p2, d2);
  _cleanup_free_ char *config = xasprintf (
      "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2020-01-02T03:04:05Z\","
      "\"config\":{\"Cmd\":[\"sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\",\"%s\"]},"
      "\"history\":[{\"created\":\"2020-01-02T03:04:05Z\",\"created_by\":\"ADD one\"},"
      "{\"created\":\"2020-01-02T03:04:06Z\",\"created_by\":\"ADD two\",\"comment\":\"c2\"},"
      "{\"created\":\"2020-01-02T03:04:07Z\",\"created_by\":\"CMD sh\",\"empty_layer\":true}]}",
      d1, d2);
  char cd[DIGEST_BUF];
  digest_buf (config, strlen (config), cd);
  _cleanup_free_ char *cpath = xasprintf ("%s/src/%s.json", root, digest_hex (cd));
  assert_int_equal (fs_write_atomic (cpath, config, strlen (config), 0644, NULL), 0);
  _cleanup_free_ char *manifest = xasprintf (
      "[{\"Config\":\"%s.json\",\"RepoTags\":[\"%s\"],\"Layers\":[\"l1/layer.tar\",\"l2/layer.tar\"]}]",
      digest_hex (cd), tag);
  _cleanup_free_ char *mpath = xasprintf ("%s/src/manifest.json", root);
  assert_int_equal (fs_write_atomic (mpath, manifest, strlen (manifest), 0644, NULL), 0);
  sh ("tar -C %s/src -cf %s/image.tar .", root, root);
  return xasprintf ("%s/image.tar", root);
}

static int
sink_file (void *ctx, const void *data, size_t len)
{
  return fwrite (data, 1, len, ctx) == len ? 0 : -1;
}

static size_t
count_entries (const char *dir)
{
  _cleanup_closedir_ DIR *d = opendir (dir);
  size_t n = 0;
  struct dirent *de;
  while (d && (de = readdir (d)) != NULL)
    n += de->d_name[0] != '.';
  return n;
}

static void
test_save_history_prune (void **state)
{
  (void) state;
  if (geteuid () != 0)
    skip ();
  snprintf (root, sizeof root, "/tmp/arca-image-more-XXXXXX");
  assert_non_null (mkdtemp (root));
  _cleanup_free_ char *dbpath = xasprintf ("%s/state.db", root);
  _cleanup_free_ char *data = xasprintf ("%s/data", root);
  arca_db_t *db;
  arca_error_t err = { 0 };
  assert_int_equal (arca_db_open (dbpath, &db, &err), 0);
  arca_image_store_t *s;
  assert_int_equal (image_store_open (data, db, &s, &err), 0);
  _cleanup_free_ char *tar = make_image ("t:1");
  assert_int_equal (image_load (s, tar, NULL, NULL, &err), 0);

  /* history: newest first, the empty layer has size 0, the rest <missing>. */
  json_t *h;
  assert_int_equal (image_history_json (s, "t:1", &h, &err), 0);
  assert_int_equal (json_array_size (h), 3);
  assert_string_equal (json_get_str (json_array_get (h, 0), "CreatedBy"), "CMD sh");
  assert_true (str_has_prefix (json_get_str (json_array_get (h, 0), "Id"), "sha256:"));
  assert_int_equal (json_get_int (json_array_get (h, 0), "Size", -1), 0);
  assert_string_equal (json_string_value (json_array_get (json_object_get (json_array_get (h, 0), "Tags"), 0)), "t:1");
  assert_string_equal (json_get_str (json_array_get (h, 1), "Id"), "<missing>");
  assert_string_equal (json_get_str (json_array_get (h, 1), "Comment"), "c2");
  assert_true (json_is_null (json_object_get (json_array_get (h, 1), "Tags")));
  assert_int_equal (json_get_int (json_array_get (h, 1), "Size", -1), 5); /* "conf\n" */
  assert_int_equal (json_get_int (json_array_get (h, 2), "Size", -1), 4 + 3); /* "one\n" + symlink "one" */
  assert_int_equal (json_get_int (json_array_get (h, 2), "Created", 0), 1577934245);
  json_decref (h);

  /* save: the gzip layer comes out uncompressed, named by its diff ID. */
  char *names[] = { "t", NULL };
  arca_image_save_t *sv;
  assert_int_equal (image_save_prepare (s, names, &sv, &err), 0);
  _cleanup_free_ char *out = xasprintf ("%s/saved.tar", root);
  FILE *f = fopen (out, "w");
  assert_non_null (f);
  assert_int_equal (image_save_write (sv, sink_file, f, &err), 0);
  fclose (f);
  image_save_free (sv);
  sh ("set -e; mkdir %s/x; tar -C %s/x -xf %s; cd %s/x; test -f oci-layout; test -f index.json;"
      "test \"$(jq -r '.[0].RepoTags[0]' manifest.json)\" = t:1;"
      "for l in $(jq -r '.[0].Layers[]' manifest.json); do test \"sha256:$(sha256sum $l | cut -d' ' -f1)\" = "
      "\"sha256:${l##*/}\"; done; test \"$(jq -r '.[0].Layers | length' manifest.json)\" = 2",
      root, root, out, root);
  char *bad[] = { "nosuch", NULL };
  assert_int_equal (image_save_prepare (s, bad, &sv, &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_NOT_FOUND);

  /* Round trip into the same store: the same image ID. */
  json_t *rm;
  assert_int_equal (image_remove (s, "t:1", false, false, &rm, &err), 0);
  json_decref (rm);
  assert_int_equal (image_load (s, out, NULL, NULL, &err), 0);
  arca_image_t *img;
  assert_int_equal (image_resolve (s, "t:1", &img, &err), 0);
  image_free (img);

  /* prune: dangling only keeps the tagged image; dangling=false removes it
   * and every blob and layer goes. */
  json_t *res;
  assert_int_equal (image_prune (s, NULL, &res, &err), 0);
  assert_true (json_is_null (json_object_get (res, "ImagesDeleted")));
  json_decref (res);
  json_t *filters = json_pack ("{s:{s:b}}", "dangling", "false", 1);
  assert_int_equal (image_prune (s, filters, &res, &err), 0);
  assert_int_equal (json_array_size (json_object_get (res, "ImagesDeleted")), 4); /* untag, image, 2 layers */
  assert_true (json_get_int (res, "SpaceReclaimed", 0) > 0);
  json_decref (res);
  json_decref (filters);
  _cleanup_free_ char *blobs = xasprintf ("%s/image/oci/blobs/sha256", data);
  _cleanup_free_ char *layers = xasprintf ("%s/image/layers", data);
  assert_int_equal (count_entries (blobs), 0);
  assert_int_equal (count_entries (layers), 0);

  filters = json_pack ("{s:{s:b}}", "bogus", "x", 1);
  assert_int_equal (image_prune (s, filters, &res, &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_INVALID);
  json_decref (filters);

  image_store_close (s);
  arca_db_close (db);
  fs_remove_all (root, NULL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_save_history_prune),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
