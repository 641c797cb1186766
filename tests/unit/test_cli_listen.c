/* The daemon's -H parsing and listener plan (cli/listen.c): dockerd's
 * opts.ParseHost defaults, refusals, and the dockerd-27 rule for plain
 * TCP on non-loopback addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "util/strutil.h"

static void
expect_host (const char *in, bool tls, const char *want)
{
  char *out = NULL;
  arca_error_t err = { 0 };
  int rc = cli_host_parse (in, "/run/d.sock", tls, &out, &err);
  if (want == NULL)
    {
      assert_int_equal (rc, -1);
      assert_null (out);
      return;
    }
  if (rc != 0)
    fail_msg ("%s: %s", in, err.msg);
  assert_string_equal (out, want);
  free (out);
}

static void
test_host_parse (void **state)
{
  (void) state;
  expect_host ("", false, "unix:///run/d.sock");
  expect_host ("unix://", false, "unix:///run/d.sock");
  expect_host ("unix:///tmp/x.sock", false, "unix:///tmp/x.sock");
  expect_host ("tcp://", false, "tcp://127.0.0.1:2375");
  expect_host ("tcp://", true, "tcp://127.0.0.1:2376");
  expect_host ("tcp://:4243", false, "tcp://127.0.0.1:4243");
  expect_host ("tcp://0.0.0.0", true, "tcp://0.0.0.0:2376");
  expect_host (" tcp://10.0.0.1:2376 ", false, "tcp://10.0.0.1:2376");
  expect_host ("tcp://[::1]:2376", false, "tcp://[::1]:2376");
  expect_host ("tcp://[::1]", true, "tcp://[::1]:2376");
  expect_host ("127.0.0.1:2375", false, "tcp://127.0.0.1:2375");
  expect_host ("tcp://1.2.3.4:2375/path", false, NULL);
  expect_host ("tcp://1.2.3.4:notaport", false, NULL);
  expect_host ("tcp://1.2.3.4:99999", false, NULL);
  expect_host ("tcp://::1:2375", false, NULL);
  expect_host ("fd://", false, NULL);
  expect_host ("ssh://u@h", false, NULL);
  expect_host ("unix://relative.sock", false, NULL);
  expect_host ("/abs/without/scheme", false, NULL);
}

static int
plan (const char *const *hosts, int tls, int tlsverify, arca_error_t *err, size_t *n)
{
  arca_config_t c = { 0 };
  c.socket_path = xstrdup ("/run/d.sock");
  c.tls = tls;
  c.tlsverify = tlsverify;
  c.hosts = xmalloc0 (sizeof (char *));
  for (const char *const *h = hosts; *h; h++)
    c.hosts = strv_append (c.hosts, *h);
  arca_listener_t *ls = NULL;
  int rc = cli_listeners_plan (&c, &ls, n, err);
  if (rc == 0)
    cli_listeners_free (ls, *n);
  strv_free (c.hosts);
  free (c.socket_path);
  return rc;
}

static void
test_plan (void **state)
{
  (void) state;
  arca_error_t err = { 0 };
  size_t n = 0;
  const char *both[] = { "unix:///run/a.sock", "tcp://127.0.0.1:2376", NULL };
  assert_int_equal (plan (both, -1, 1, &err, &n), 0);
  assert_int_equal (n, 2);
  /* plain TCP: loopback served (with warnings) */
  const char *loop[] = { "tcp://127.0.0.1:2375", NULL };
  assert_int_equal (plan (loop, -1, -1, &err, &n), 0);
  const char *local[] = { "tcp://localhost:2375", NULL };
  assert_int_equal (plan (local, -1, -1, &err, &n), 0);
  /* a non-loopback address needs --tlsverify, --tls or an explicit no */
  const char *any[] = { "tcp://0.0.0.0:2375", NULL };
  assert_int_equal (plan (any, -1, -1, &err, &n), -1);
  assert_non_null (strstr (err.msg, "refusing to listen on tcp://0.0.0.0:2375"));
  assert_int_equal (plan (any, 0, -1, &err, &n), 0);
  assert_int_equal (plan (any, -1, 0, &err, &n), 0);
  assert_int_equal (plan (any, 1, -1, &err, &n), 0);
  assert_int_equal (plan (any, -1, 1, &err, &n), 0);
  /* the same host twice */
  const char *twice[] = { "tcp://127.0.0.1:2375", "tcp://:2375", NULL };
  assert_int_equal (plan (twice, -1, -1, &err, &n), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_host_parse),
    cmocka_unit_test (test_plan),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
