/* util/lazylib.c and the lazily loaded libraries' tables (util/lazy_*.c):
 * a library that is missing or lacks a symbol is a 500 error naming it,
 * the same for every later caller, never a crash; the SONAMEs the build
 * took at configure time load and resolve every function their tables
 * list. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/lazy_curl.h"
#include "util/lazy_gnutls.h"
#include "util/lazy_ldns.h"
#include "util/lazylib.h"

static void *zlib_version;

static int
resolve_zlib (void *h, const char **missing)
{
  if ((zlib_version = dlsym (h, "zlibVersion")) == NULL)
    {
      *missing = "zlibVersion";
      return -1;
    }
  return 0;
}

static int
resolve_absent (void *h, const char **missing)
{
  if (dlsym (h, "arca_no_such_symbol") == NULL)
    {
      *missing = "arca_no_such_symbol";
      return -1;
    }
  return 0;
}

static arca_lazylib_t missing_lib = ARCA_LAZYLIB_INIT ("libarca-no-such-library.so.0", resolve_zlib);
static void
open_missing (void)
{
  arca_lazylib_open (&missing_lib);
}

static arca_lazylib_t absent_sym = ARCA_LAZYLIB_INIT ("libz.so.1", resolve_absent);
static void
open_absent (void)
{
  arca_lazylib_open (&absent_sym);
}

static arca_lazylib_t zlib = ARCA_LAZYLIB_INIT ("libz.so.1", resolve_zlib);
static void
open_zlib (void)
{
  arca_lazylib_open (&zlib);
}

static void
test_missing_library (void **state)
{
  for (int i = 0; i < 2; i++)
    {
      arca_error_t err = { 0 };
      pthread_once (&missing_lib.once, open_missing);
      assert_int_equal (arca_lazylib_result (&missing_lib, &err), -1);
      assert_int_equal (arca_error_http_status (err.kind), 500);
      assert_non_null (strstr (err.msg, "cannot load libarca-no-such-library.so.0: "));
    }
}

static void
test_missing_symbol (void **state)
{
  arca_error_t err = { 0 };
  pthread_once (&absent_sym.once, open_absent);
  assert_int_equal (arca_lazylib_result (&absent_sym, &err), -1);
  assert_int_equal (arca_error_http_status (err.kind), 500);
  assert_string_equal (err.msg, "cannot load libz.so.1: symbol arca_no_such_symbol not found");
}

static void
test_loads (void **state)
{
  arca_error_t err = { 0 };
  pthread_once (&zlib.once, open_zlib);
  assert_int_equal (arca_lazylib_result (&zlib, &err), 0);
  const char *(*version) (void) = (const char *(*) (void)) zlib_version;
  assert_non_null (version);
  assert_non_null (version ());
}

/* The configured SONAMEs: each table resolves completely, and a call
 * through it reaches the library. */
static void
test_configured_libraries (void **state)
{
  arca_error_t err = { 0 };
  assert_int_equal (arca_lazy_curl_load (&err), 0);
  assert_int_equal (arca_lazy_ldns_load (&err), 0);
  assert_int_equal (arca_lazy_gnutls_load (&err), 0);
  assert_string_equal (curl_easy_strerror (CURLE_OK), "No error");
  assert_string_equal (gnutls_strerror (GNUTLS_E_SUCCESS), "Success.");
  ldns_pkt *p = ldns_pkt_new ();
  ldns_pkt_set_id (p, 4242);
  assert_int_equal (ldns_pkt_id (p), 4242);
  ldns_pkt_free (p);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_missing_library),
    cmocka_unit_test (test_missing_symbol),
    cmocka_unit_test (test_loads),
    cmocka_unit_test (test_configured_libraries),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
