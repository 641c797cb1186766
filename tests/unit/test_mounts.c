/* Mount parsing (engine/mounts.c): -v specs, --mount specs, tmpfs options,
 * OCI entries, and the spec's ordering of user mounts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/mounts.h"
#include "util/cleanup.h"
#include "util/json.h"

static json_t *
parse_ok (const char *raw)
{
  json_t *mp = NULL;
  arca_error_t err;
  int r = mounts_parse_bind (raw, &mp, &err);
  if (r < 0)
    fail_msg ("%s: %s", raw, err.msg);
  return mp;
}

static void
expect_bind_error (const char *raw, const char *msg)
{
  json_t *mp = NULL;
  arca_error_t err;
  assert_int_equal (mounts_parse_bind (raw, &mp, &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_INVALID);
  assert_string_equal (err.msg, msg);
}

static void
test_parse_bind (void **state)
{
  (void) state;
  _cleanup_json_ json_t *a = parse_ok ("v1:/d");
  assert_string_equal (json_get_str (a, "Type"), "volume");
  assert_string_equal (json_get_str (a, "Name"), "v1");
  assert_string_equal (json_get_str (a, "Destination"), "/d");
  assert_string_equal (json_get_str (a, "Mode"), "");
  assert_true (json_get_bool (a, "RW", false));
  assert_true (json_get_bool (a, "_CopyData", false));

  _cleanup_json_ json_t *b = parse_ok ("/tmp/x/:/mnt//y:ro,rslave");
  assert_string_equal (json_get_str (b, "Type"), "bind");
  assert_string_equal (json_get_str (b, "Source"), "/tmp/x");
  assert_string_equal (json_get_str (b, "Destination"), "/mnt/y");
  assert_string_equal (json_get_str (b, "Mode"), "ro,rslave");
  assert_false (json_get_bool (b, "RW", true));
  assert_string_equal (json_get_str (b, "Propagation"), "rslave");

  _cleanup_json_ json_t *c = parse_ok ("/host:/c");
  assert_string_equal (json_get_str (c, "Propagation"), "rprivate");

  _cleanup_json_ json_t *d = parse_ok ("v2:/d:nocopy");
  assert_false (json_get_bool (d, "_CopyData", true));

  _cleanup_json_ json_t *anon = parse_ok ("/only");
  assert_string_equal (json_get_str (anon, "Type"), "volume");
  assert_null (json_object_get (anon, "Name"));

  expect_bind_error ("/a:rw", "invalid volume specification: '/a:rw'");
  expect_bind_error (":/a", "invalid volume specification: ':/a'");
  expect_bind_error ("a:/b:c:d", "invalid volume specification: 'a:/b:c:d'");
  expect_bind_error ("v:/x:bogus", "invalid mode: bogus");
  expect_bind_error ("v:/x:ro,rw", "invalid mode: ro,rw");
  expect_bind_error ("v:rel", "invalid volume specification: 'v:rel': invalid mount config for type \"volume\": "
                              "invalid mount path: 'rel' mount path must be absolute");
  expect_bind_error ("/h:/", "invalid volume specification: '/h:/': invalid mount config for type \"bind\": "
                             "invalid specification: destination can't be '/'");
}

static void
test_parse_mount (void **state)
{
  (void) state;
  json_t *mp = NULL;
  arca_error_t err;
  _cleanup_json_ json_t *spec = json_pack ("{s:s,s:s,s:s}", "Type", "bind", "Source", "/nonexistent", "Target", "/x");
  assert_int_equal (mounts_parse_mount (spec, &mp, &err), -1);
  assert_string_equal (err.msg,
                       "invalid mount config for type \"bind\": bind mount source path does not exist: /nonexistent");

  _cleanup_json_ json_t *ok = json_pack ("{s:s,s:s,s:s,s:b,s:{s:s}}", "Type", "bind", "Source", "/tmp", "Target",
                                         "/t", "ReadOnly", 1, "BindOptions", "Propagation", "rshared");
  assert_int_equal (mounts_parse_mount (ok, &mp, &err), 0);
  assert_string_equal (json_get_str (mp, "Propagation"), "rshared");
  assert_false (json_get_bool (mp, "RW", true));
  json_decref (mp);

  _cleanup_json_ json_t *nt = json_pack ("{s:s,s:s}", "Type", "volume", "Source", "v");
  assert_int_equal (mounts_parse_mount (nt, &mp, &err), -1);
  assert_string_equal (err.msg, "invalid mount config for type \"volume\": field Target must not be empty");

  _cleanup_json_ json_t *ro = json_pack ("{s:s,s:s,s:b}", "Type", "volume", "Target", "/v", "ReadOnly", 1);
  assert_int_equal (mounts_parse_mount (ro, &mp, &err), -1);
  assert_string_equal (err.msg,
                       "invalid mount config for type \"volume\": must not set ReadOnly mode when using anonymous volumes");

  _cleanup_json_ json_t *unk = json_pack ("{s:s,s:s}", "Type", "weird", "Target", "/v");
  assert_int_equal (mounts_parse_mount (unk, &mp, &err), -1);
  assert_string_equal (err.msg, "invalid mount config for type \"weird\": mount type unknown");

  _cleanup_json_ json_t *tmp = json_pack ("{s:s,s:s,s:{s:I,s:I}}", "Type", "tmpfs", "Target", "/t", "TmpfsOptions",
                                          "SizeBytes", (json_int_t) 1048576, "Mode", (json_int_t) 01777);
  assert_int_equal (mounts_parse_mount (tmp, &mp, &err), 0);
  assert_string_equal (json_get_str (mp, "_Tmpfs"), "mode=1777,size=1m");
  _cleanup_json_ json_t *oci = mounts_oci_entry (mp);
  _cleanup_free_ char *s = json_dumps (oci, JSON_COMPACT);
  assert_string_equal (s, "{\"destination\":\"/t\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":"
                          "[\"noexec\",\"nosuid\",\"nodev\",\"rprivate\",\"mode=1777\",\"size=1m\"]}");
  json_decref (mp);
}

static void
test_tmpfs_data (void **state)
{
  (void) state;
  _cleanup_json_ json_t *o = json_pack ("{s:I}", "SizeBytes", (json_int_t) 3000);
  _cleanup_free_ char *a = mounts_tmpfs_data (o, true);
  assert_string_equal (a, "ro,size=3000");
  _cleanup_json_ json_t *g = json_pack ("{s:I}", "SizeBytes", (json_int_t) 2 << 30);
  _cleanup_free_ char *b = mounts_tmpfs_data (g, false);
  assert_string_equal (b, "size=2g");
  _cleanup_json_ json_t *in = json_pack ("[s,s,s,s,s]", "noexec", "nosuid", "size=1m", "exec", "size=2m");
  _cleanup_json_ json_t *m = mounts_merge_tmpfs_options (in);
  _cleanup_free_ char *s = json_dumps (m, JSON_COMPACT);
  assert_string_equal (s, "[\"nosuid\",\"exec\",\"size=2m\"]");
}

static void
test_oci_bind_and_view (void **state)
{
  (void) state;
  _cleanup_json_ json_t *mp = parse_ok ("/src:/dst:ro");
  _cleanup_json_ json_t *oci = mounts_oci_entry (mp);
  _cleanup_free_ char *s = json_dumps (oci, JSON_COMPACT);
  assert_string_equal (s, "{\"destination\":\"/dst\",\"type\":\"bind\",\"source\":\"/src\",\"options\":[\"rbind\",\"ro\","
                          "\"rprivate\"]}");
  _cleanup_json_ json_t *list = json_pack ("[O]", mp);
  _cleanup_json_ json_t *view = mounts_view (list);
  _cleanup_free_ char *v = json_dumps (json_array_get (view, 0), JSON_COMPACT);
  assert_string_equal (v, "{\"Type\":\"bind\",\"Source\":\"/src\",\"Destination\":\"/dst\",\"Mode\":\"ro\",\"RW\":false,"
                          "\"Propagation\":\"rprivate\"}");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_parse_bind),
    cmocka_unit_test (test_parse_mount),
    cmocka_unit_test (test_tmpfs_data),
    cmocka_unit_test (test_oci_bind_and_view),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
