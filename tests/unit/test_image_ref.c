/* Image references (distribution/reference ParseNormalizedNamed,
 * FamiliarString), digests and OCI chain IDs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "image/digest.h"
#include "image/image.h"
#include "image/ref.h"
#include "util/cleanup.h"

static void
check_norm (const char *in, const char *canonical, const char *familiar)
{
  arca_error_t err = { 0 };
  _cleanup_free_ char *c = NULL;
  if (image_ref_normalize (in, &c, &err) < 0)
    fail_msg ("normalize %s: %s", in, err.msg);
  assert_string_equal (c, canonical);
  _cleanup_free_ char *f = image_ref_familiar (c);
  assert_string_equal (f, familiar);
}

static void
check_bad (const char *in, const char *msg)
{
  arca_error_t err = { 0 };
  char *c = NULL;
  assert_int_equal (image_ref_normalize (in, &c, &err), -1);
  assert_null (c);
  assert_int_equal (err.kind, ARCA_ERR_INVALID);
  assert_string_equal (err.msg, msg);
}

static void
test_normalize (void **state)
{
  (void) state;
  check_norm ("busybox", "docker.io/library/busybox:latest", "busybox:latest");
  check_norm ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36");
  check_norm ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest");
  check_norm ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest");
  check_norm ("index.docker.io/library/busybox:x", "docker.io/library/busybox:x", "busybox:x");
  check_norm ("user/app:v1", "docker.io/user/app:v1", "user/app:v1");
  check_norm ("docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest");
  check_norm ("127.0.0.1:5000/busybox", "127.0.0.1:5000/busybox:latest", "127.0.0.1:5000/busybox:latest");
  check_norm ("localhost/x:1", "localhost/x:1", "localhost/x:1");
  check_norm ("localhost:5000/a/b/c:t", "localhost:5000/a/b/c:t", "localhost:5000/a/b/c:t");
  check_norm ("example.com/foo", "example.com/foo:latest", "example.com/foo:latest");
  check_norm ("[::1]:5000/foo", "[::1]:5000/foo:latest", "[::1]:5000/foo:latest");
  check_norm ("a_b__c-d---e.f:T_1.x-y", "docker.io/library/a_b__c-d---e.f:T_1.x-y", "a_b__c-d---e.f:T_1.x-y");
  const char *dg = "sha256:7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa";
  char buf[256];
  char want[256];
  snprintf (buf, sizeof buf, "busybox@%s", dg);
  snprintf (want, sizeof want, "docker.io/library/busybox@%s", dg);
  check_norm (buf, want, buf);
  snprintf (buf, sizeof buf, "busybox:1@%s", dg);
  snprintf (want, sizeof want, "docker.io/library/busybox:1@%s", dg);
  check_norm (buf, want, buf);
}

static void
test_bad_refs (void **state)
{
  (void) state;
  check_bad ("", "invalid reference format");
  check_bad ("busybox:", "invalid reference format");
  check_bad ("-busybox", "invalid reference format");
  check_bad ("busybox::1", "invalid reference format");
  check_bad ("a//b", "invalid reference format");
  check_bad ("a..b", "invalid reference format");
  check_bad ("busybox@sha256:abc", "invalid reference format");
  check_bad ("Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase");
  check_bad ("user/Busybox:1", "invalid reference format: repository name (user/Busybox) must be lowercase");
  check_bad ("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
             "invalid repository name (0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef), cannot "
             "specify 64-byte hexadecimal strings");
  /* An uppercase first component is a domain, as in the reference package. */
  check_norm ("Foo/bar", "Foo/bar:latest", "Foo/bar:latest");
}

static void
test_store_key (void **state)
{
  (void) state;
  image_ref_t r;
  assert_int_equal (image_ref_parse ("busybox", &r, NULL), 0);
  _cleanup_free_ char *k = image_ref_store_key (&r);
  assert_string_equal (k, "docker.io/library/busybox:latest");
  _cleanup_free_ char *fn = image_ref_familiar_name (&r);
  assert_string_equal (fn, "busybox");
  image_ref_clear (&r);
  assert_true (image_ref_valid_tag ("v1.0-rc_1"));
  assert_false (image_ref_valid_tag (".x"));
  assert_false (image_ref_valid_tag ("a/b"));
}

static void
test_digests (void **state)
{
  (void) state;
  char d[DIGEST_BUF];
  digest_buf ("", 0, d);
  assert_string_equal (d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert_true (digest_valid (d));
  assert_false (digest_valid ("sha256:E3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  assert_false (digest_valid ("sha256:abc"));

  /* chain(1) = diff(1); chain(2) = sha256(chain(1) + " " + diff(2)) */
  const char *d1 = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  const char *d2 = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  char c1[DIGEST_BUF], c2[DIGEST_BUF], want[DIGEST_BUF];
  digest_chain (NULL, d1, c1);
  assert_string_equal (c1, d1);
  digest_chain (c1, d2, c2);
  char joined[200];
  snprintf (joined, sizeof joined, "%s %s", d1, d2);
  digest_buf (joined, strlen (joined), want);
  assert_string_equal (c2, want);
}

/* Pull by digest verifies with the digest's own algorithm (go-digest's
 * sha256, sha384, sha512); references naming others are refused as
 * distribution/reference + go-digest do. */
static void
test_digest_algorithms (void **state)
{
  (void) state;
  const char *s384 = "sha384:38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b";
  const char *s512 = "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
                     "454d4423643ce80e2a9ac94fa54ca49f";
  assert_true (digest_supported (s384));
  assert_true (digest_matches (s384, "", 0));
  assert_false (digest_matches (s384, "x", 1));
  assert_true (digest_matches (s512, "abc", 3));
  assert_false (digest_matches (s512, "abd", 3));
  assert_true (digest_matches ("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "", 0));
  assert_false (digest_matches ("md5:d41d8cd98f00b204e9800998ecf8427e", "", 0));
  assert_false (digest_supported ("sha512:abc"));

  image_ref_t r;
  arca_error_t err;
  assert_int_equal (image_ref_parse ("busybox@md5:d41d8cd98f00b204e9800998ecf8427e", &r, &err), -1);
  assert_string_equal (err.msg, "unsupported digest algorithm");
  assert_int_equal (image_ref_parse ("busybox@sha256:d41d8cd98f00b204e9800998ecf8427e", &r, &err), -1);
  assert_string_equal (err.msg, "invalid checksum digest length");
  assert_int_equal (image_ref_parse ("busybox@sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                                     &r, &err),
                    -1);
  assert_string_equal (err.msg, "invalid checksum digest format");
  assert_int_equal (image_ref_parse ("busybox@sha256:abc", &r, &err), -1);
  assert_string_equal (err.msg, "invalid reference format");
  assert_int_equal (image_ref_parse ("busybox@sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a219"
                                     "2992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
                                     &r, &err),
                    0);
  image_ref_clear (&r);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_normalize),
    cmocka_unit_test (test_bad_refs),
    cmocka_unit_test (test_store_key),
    cmocka_unit_test (test_digests),
    cmocka_unit_test (test_digest_algorithms),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
