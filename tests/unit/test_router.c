/* HTTP layer pure helpers: /vX.Y prefix and bounds, Docker's booleans and
 * query parsing, route matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api/routes.h"
#include "http/internal.h"

static void
test_version_split (void **state)
{
  char v[32];
  const char *rest;
  assert_true (arca_api_version_split ("/v1.41/containers/json", v, sizeof v, &rest));
  assert_string_equal (v, "1.41");
  assert_string_equal (rest, "/containers/json");
  assert_true (arca_api_version_split ("/v1.4.5/x", v, sizeof v, &rest));
  assert_string_equal (v, "1.4.5");
  assert_string_equal (rest, "/x");
  assert_false (arca_api_version_split ("/_ping", v, sizeof v, &rest));
  assert_string_equal (v, "");
  assert_string_equal (rest, "/_ping");
  assert_false (arca_api_version_split ("/v1.41", v, sizeof v, &rest));
  assert_false (arca_api_version_split ("/vx/info", v, sizeof v, &rest));
  assert_false (arca_api_version_split ("/volumes", v, sizeof v, &rest));
  assert_string_equal (rest, "/volumes");
}

static void
test_version_bounds (void **state)
{
  char msg[256];
  bool plain;
  assert_int_equal (arca_api_version_check ("", msg, sizeof msg, &plain), 0);
  assert_int_equal (arca_api_version_check ("1.24", msg, sizeof msg, &plain), 0);
  assert_int_equal (arca_api_version_check ("1.51", msg, sizeof msg, &plain), 0);
  assert_int_equal (arca_api_version_check ("1.41", msg, sizeof msg, &plain), 0);
  assert_int_equal (arca_api_version_check ("1.23", msg, sizeof msg, &plain), -1);
  assert_true (plain);
  assert_string_equal (msg, "client version 1.23 is too old. Minimum supported API version is 1.24, please upgrade "
                            "your client to a newer version");
  assert_int_equal (arca_api_version_check ("1.52", msg, sizeof msg, &plain), -1);
  assert_false (plain);
  assert_string_equal (msg, "client version 1.52 is too new. Maximum supported API version is 1.51");
  assert_int_equal (arca_api_version_check ("2.0", msg, sizeof msg, &plain), -1);
  assert_int_equal (arca_api_version_check ("1.51.1", msg, sizeof msg, &plain), -1);

  assert_true (arca_version_compare ("1.9", "1.10") < 0);
  assert_true (arca_version_compare ("1.24", "1.24.0") == 0);
  assert_true (arca_version_compare ("1.51", "1.5") > 0);
  assert_int_equal (arca_api_version_num ("1.41"), 141);
  assert_int_equal (arca_api_version_num ("1.24"), 124);
  assert_int_equal (arca_api_version_num (""), 151);
  assert_int_equal (arca_api_version_num (NULL), 151);
}

static void
test_bool (void **state)
{
  const char *f[] = { "", "0", "no", "false", "FALSE", "None", " no ", "\tfalse\n" };
  const char *t[] = { "1", "true", "yes", "True", "x", "2", "on" };
  for (size_t i = 0; i < sizeof f / sizeof *f; i++)
    assert_false (arca_parse_bool (f[i]));
  for (size_t i = 0; i < sizeof t / sizeof *t; i++)
    assert_true (arca_parse_bool (t[i]));
}

static void
test_query (void **state)
{
  char **q = arca_query_parse ("a=1&b=x+y&c=%2Fz%22&d&e=&f=%zz&a=2&&filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D");
  assert_string_equal (arca_query_get (q, "a"), "1");  /* first value, as Go's FormValue */
  assert_string_equal (arca_query_get (q, "b"), "x y");
  assert_string_equal (arca_query_get (q, "c"), "/z\"");
  assert_string_equal (arca_query_get (q, "d"), "");
  assert_string_equal (arca_query_get (q, "e"), "");
  assert_null (arca_query_get (q, "f")); /* bad escape: dropped */
  assert_null (arca_query_get (q, "g"));
  assert_string_equal (arca_query_get (q, "filters"), "{\"label\":[\"a=b\"]}");
  strv_free (q);
  q = arca_query_parse (NULL);
  assert_null (q[0]);
  strv_free (q);
}

static int
h_dummy (arca_http_request_t *req, void *app, arca_error_t *err)
{
  return 0;
}
static int
h_other (arca_http_request_t *req, void *app, arca_error_t *err)
{
  return 1;
}

static const arca_route_t table[] = {
  { "GET", "/images/json", h_dummy, 0 },
  { "GET", "/images/{name}/json", h_other, 0 },
  { "DELETE", "/images/{name}", h_other, 0 },
  { "GET", "/containers/{id}/json", h_dummy, 0 },
  { "POST", "/containers/{id}/attach", h_dummy, 0 },
  { "GET", "/distribution/{name:.*}/json", h_dummy, 0 },
  { "GET", "/a/{x}/b/{y}", h_dummy, 0 },
  { 0 },
};

static void
test_route_match (void **state)
{
  arca_route_param_t p[ARCA_ROUTE_MAX_PARAMS];
  int n;
  assert_true (arca_route_match ("/containers/{id}/json", "/containers/abc/json", false, p, &n));
  assert_int_equal (n, 1);
  assert_string_equal (p[0].name, "id");
  assert_string_equal (p[0].value, "abc");
  arca_route_params_free (p, n);
  assert_false (arca_route_match ("/containers/{id}/json", "/containers//json", false, p, &n));
  assert_false (arca_route_match ("/containers/{id}/json", "/containers/a/b/json", false, p, &n));
  assert_false (arca_route_match ("/containers/{id}/json", "/containers/abc/json/x", false, p, &n));
  assert_false (arca_route_match ("/containers/{id}/json", "/containers/abc", false, p, &n));
  assert_true (arca_route_match ("/containers/{id}/json", "/containers/a/b/json", true, p, &n));
  assert_string_equal (p[0].value, "a/b");
  arca_route_params_free (p, n);

  const arca_route_t *r = arca_route_find (table, "GET", "/images/json", p, &n);
  assert_ptr_equal (r, &table[0]);
  assert_int_equal (n, 0);
  r = arca_route_find (table, "GET", "/images/busybox/json", p, &n);
  assert_ptr_equal (r, &table[1]);
  assert_string_equal (arca_query_get ((char *[]){ p[0].name, p[0].value, NULL }, "name"), "busybox");
  arca_route_params_free (p, n);
  r = arca_route_find (table, "GET", "/images/127.0.0.1:5000/lib/x:1/json", p, &n);
  assert_ptr_equal (r, &table[1]);
  assert_string_equal (p[0].value, "127.0.0.1:5000/lib/x:1");
  arca_route_params_free (p, n);
  r = arca_route_find (table, "DELETE", "/images/library/busybox:latest", p, &n);
  assert_ptr_equal (r, &table[2]);
  assert_string_equal (p[0].value, "library/busybox:latest");
  arca_route_params_free (p, n);
  r = arca_route_find (table, "GET", "/distribution/a/b/json", p, &n);
  assert_ptr_equal (r, &table[5]);
  assert_string_equal (p[0].value, "a/b");
  arca_route_params_free (p, n);
  r = arca_route_find (table, "GET", "/a/1/b/2", p, &n);
  assert_ptr_equal (r, &table[6]);
  assert_int_equal (n, 2);
  assert_string_equal (p[0].name, "x");
  assert_string_equal (p[0].value, "1");
  assert_string_equal (p[1].name, "y");
  assert_string_equal (p[1].value, "2");
  arca_route_params_free (p, n);
  /* wrong method, unknown path */
  assert_null (arca_route_find (table, "POST", "/images/json", p, &n));
  assert_null (arca_route_find (table, "GET", "/containers/abc/attach", p, &n));
  assert_null (arca_route_find (table, "GET", "/nope", p, &n));
  assert_null (arca_route_find (table, "GET", "/", p, &n));
}

static void
test_api_routes (void **state)
{
  const arca_route_t *all = arca_api_routes ();
  arca_route_param_t p[ARCA_ROUTE_MAX_PARAMS];
  int n;
  assert_non_null (arca_route_find (all, "GET", "/_ping", p, &n));
  assert_non_null (arca_route_find (all, "HEAD", "/_ping", p, &n));
  assert_non_null (arca_route_find (all, "GET", "/version", p, &n));
  assert_non_null (arca_route_find (all, "GET", "/info", p, &n));
  assert_null (arca_route_find (all, "POST", "/_ping", p, &n));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_version_split), cmocka_unit_test (test_version_bounds), cmocka_unit_test (test_bool),
    cmocka_unit_test (test_query),         cmocka_unit_test (test_route_match),    cmocka_unit_test (test_api_routes),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
