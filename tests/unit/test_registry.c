/* Registry client helpers: WWW-Authenticate parsing, X-Registry-Auth
 * decoding, platform parsing and matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "image/registry.h"
#include "util/cleanup.h"

static void
test_challenge_bearer (void **state)
{
  (void) state;
  registry_challenge_t c;
  assert_int_equal (registry_challenge_parse ("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                                              "scope=\"repository:library/busybox:pull\"",
                                              &c),
                    0);
  assert_string_equal (c.scheme, "bearer");
  assert_string_equal (c.realm, "https://auth.docker.io/token");
  assert_string_equal (c.service, "registry.docker.io");
  assert_string_equal (c.scope, "repository:library/busybox:pull");
  registry_challenge_clear (&c);

  /* Spaces after commas, unquoted values, unknown params, escapes. */
  assert_int_equal (registry_challenge_parse ("bearer  realm=http://127.0.0.1/t , error=\"invalid_token\", "
                                              "service=\"a\\\"b\"",
                                              &c),
                    0);
  assert_string_equal (c.scheme, "bearer");
  assert_string_equal (c.realm, "http://127.0.0.1/t");
  assert_string_equal (c.service, "a\"b");
  assert_null (c.scope);
  registry_challenge_clear (&c);
}

static void
test_challenge_basic (void **state)
{
  (void) state;
  registry_challenge_t c;
  assert_int_equal (registry_challenge_parse ("Basic realm=\"basic-realm\"", &c), 0);
  assert_string_equal (c.scheme, "basic");
  assert_string_equal (c.realm, "basic-realm");
  registry_challenge_clear (&c);
  assert_int_equal (registry_challenge_parse ("", &c), -1);
  registry_challenge_clear (&c);
  assert_int_equal (registry_challenge_parse (NULL, &c), -1);
}

static void
test_auth_decode (void **state)
{
  (void) state;
  registry_auth_t a;
  arca_error_t err = { 0 };
  /* base64url of {"username":"alice","password":"s3cret?>","serveraddress":"127.0.0.1:5001"}
   * without padding (what the docker CLI sends). */
  const char *hdr = "eyJ1c2VybmFtZSI6ImFsaWNlIiwicGFzc3dvcmQiOiJzM2NyZXQ_PiIsInNlcnZlcmFkZHJlc3MiOiIxMjcuMC4wLjE6NTAwMSJ9";
  assert_int_equal (registry_auth_decode (hdr, &a, &err), 0);
  assert_string_equal (a.username, "alice");
  assert_string_equal (a.password, "s3cret?>");
  assert_string_equal (a.server_address, "127.0.0.1:5001");
  assert_null (a.identity_token);
  registry_auth_clear (&a);

  /* Standard base64 with padding, "auth" = base64("bob:pw"), identitytoken. */
  const char *hdr2 = "eyJhdXRoIjoiWW05aU9uQjMiLCJpZGVudGl0eXRva2VuIjoidG9rIn0=";
  assert_int_equal (registry_auth_decode (hdr2, &a, &err), 0);
  assert_string_equal (a.username, "bob");
  assert_string_equal (a.password, "pw");
  assert_string_equal (a.identity_token, "tok");
  registry_auth_clear (&a);

  /* Absent, empty "{}" (docker pull without login) and garbage: anonymous. */
  assert_int_equal (registry_auth_decode (NULL, &a, &err), 0);
  assert_null (a.username);
  assert_int_equal (registry_auth_decode ("e30=", &a, &err), 0);
  assert_null (a.username);
  assert_int_equal (registry_auth_decode ("!!!not base64", &a, &err), 0);
  assert_null (a.username);
}

static void
test_platform_parse (void **state)
{
  (void) state;
  registry_platform_t p;
  arca_error_t err = { 0 };
  assert_int_equal (registry_platform_parse ("linux/arm64/v8", &p, &err), 0);
  assert_string_equal (p.os, "linux");
  assert_string_equal (p.arch, "arm64");
  assert_string_equal (p.variant, ""); /* v8 is arm64's default */
  assert_int_equal (registry_platform_parse ("linux/arm/v7", &p, &err), 0);
  assert_string_equal (p.variant, "v7");
  assert_int_equal (registry_platform_parse ("Linux/x86_64", &p, &err), 0);
  assert_string_equal (p.arch, "amd64");
  assert_int_equal (registry_platform_parse ("arm64", &p, &err), 0);
  assert_string_equal (p.os, "linux");
  assert_string_equal (p.arch, "arm64");
  assert_int_equal (registry_platform_parse (NULL, &p, &err), 0);
  assert_string_equal (p.os, "linux");
  assert_true (p.arch[0] != '\0');
  assert_int_equal (registry_platform_parse ("a/b/c/d", &p, &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_INVALID);
}

static void
test_platform_select (void **state)
{
  (void) state;
  json_t *list = json_loads ("["
                             "{\"digest\":\"d1\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
                             "{\"digest\":\"d2\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
                             "{\"digest\":\"d3\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
                             "{\"digest\":\"d4\",\"platform\":{\"os\":\"windows\",\"architecture\":\"amd64\"}},"
                             "{\"digest\":\"d5\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
                             "{\"digest\":\"d6\",\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}}"
                             "]",
                             0, NULL);
  assert_non_null (list);
  registry_platform_t p;
  arca_error_t err = { 0 };
  struct
  {
    const char *want, *digest;
  } cases[] = {
    { "linux/amd64", "d5" }, { "linux/arm64", "d3" }, { "linux/arm/v7", "d2" }, { "linux/arm/v6", "d1" },
    { "linux/arm", "d1" },   { "windows/amd64", "d4" }, { "linux/s390x", NULL },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      assert_int_equal (registry_platform_parse (cases[i].want, &p, &err), 0);
      json_t *d = registry_platform_select (list, &p);
      if (cases[i].digest == NULL)
        assert_null (d);
      else
        {
          assert_non_null (d);
          assert_string_equal (json_string_value (json_object_get (d, "digest")), cases[i].digest);
        }
    }
  /* Match: variant ignored when the entry has none. */
  json_t *pl = json_pack ("{s:s, s:s}", "os", "linux", "architecture", "arm");
  assert_int_equal (registry_platform_parse ("linux/arm/v7", &p, &err), 0);
  assert_true (registry_platform_match (pl, &p));
  assert_false (registry_platform_match (NULL, &p));
  json_decref (pl);
  json_decref (list);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_challenge_bearer), cmocka_unit_test (test_challenge_basic),
    cmocka_unit_test (test_auth_decode),      cmocka_unit_test (test_platform_parse),
    cmocka_unit_test (test_platform_select),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
