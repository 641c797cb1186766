/* IPAM against a real store (net/ipam.c): which address each container
 * gets (the first free one of the range, as libnetwork's bitmask
 * allocator), what a release frees, auxiliary addresses, preferred and
 * required addresses, a full range; IPv4 and IPv6. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/net_internal.h"
#include "store/db.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strutil.h"

typedef struct
{
  char dir[64];
  arca_net_t net;
  arca_network_t n;
} fixture_t;

static int
setup (void **state)
{
  fixture_t *f = calloc (1, sizeof *f);
  snprintf (f->dir, sizeof f->dir, "/tmp/arca-test-ipam-XXXXXX");
  assert_non_null (mkdtemp (f->dir));
  _cleanup_free_ char *path = xasprintf ("%s/arca.db", f->dir);
  arca_error_t err;
  assert_int_equal (arca_db_open (path, &f->net.db, &err), 0);
  pthread_mutex_init (&f->net.lock, NULL);
  snprintf (f->n.id, sizeof f->n.id, "%064d", 7);
  f->n.name = "n";
  inet_pton (AF_INET, "172.30.0.0", &f->n.subnet);
  f->n.prefix = 24;
  inet_pton (AF_INET, "172.30.0.1", &f->n.gateway);
  f->n.range = f->n.subnet;
  f->n.range_prefix = 24;
  inet_pton (AF_INET6, "fd00:1::", &f->n.subnet6);
  f->n.prefix6 = 64;
  inet_pton (AF_INET6, "fd00:1::1", &f->n.gateway6);
  f->n.range6 = f->n.subnet6;
  f->n.range_prefix6 = 64;
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  fixture_t *f = *state;
  arca_db_close (f->net.db);
  pthread_mutex_destroy (&f->net.lock);
  arca_error_t err;
  fs_remove_all (f->dir, &err);
  free (f);
  return 0;
}

/* The address cid gets (pref "" = none), as text; "" on failure. */
static const char *
alloc4 (fixture_t *f, const char *cid, const char *pref, bool required, arca_error_t *err)
{
  static char text[INET_ADDRSTRLEN];
  struct in_addr p = { 0 }, out = { 0 };
  if (*pref)
    inet_pton (AF_INET, pref, &p);
  text[0] = '\0';
  if (ipam_allocate (&f->net, &f->n, cid, p, required, &out, err) == 0)
    inet_ntop (AF_INET, &out, text, sizeof text);
  return text;
}

static const char *
alloc6 (fixture_t *f, const char *cid)
{
  static char text[INET6_ADDRSTRLEN];
  struct in6_addr none = { 0 }, out;
  arca_error_t err;
  text[0] = '\0';
  if (ipam_allocate6 (&f->net, &f->n, cid, &none, false, NULL, 0, &out, &err) == 0)
    inet_ntop (AF_INET6, &out, text, sizeof text);
  return text;
}

static void
test_first_free_in_order (void **state)
{
  fixture_t *f = *state;
  arca_error_t err;
  assert_string_equal (alloc4 (f, "c1", "", false, &err), "172.30.0.2");
  assert_string_equal (alloc4 (f, "c2", "", false, &err), "172.30.0.3");
  assert_string_equal (alloc4 (f, "c3", "", false, &err), "172.30.0.4");
  /* a released address is the first free one again */
  ipam_release (&f->net, f->n.id, "c2");
  assert_string_equal (alloc4 (f, "c4", "", false, &err), "172.30.0.3");
  assert_string_equal (alloc4 (f, "c5", "", false, &err), "172.30.0.5");
  /* an address the container holds already (a start cut short) is its
   * again, not a second one */
  assert_string_equal (alloc4 (f, "c3", "", false, &err), "172.30.0.4");
  assert_string_equal (alloc6 (f, "c9"), "fd00:1::2");
  assert_string_equal (alloc6 (f, "c9"), "fd00:1::2");
}

static void
test_many_taken (void **state)
{
  fixture_t *f = *state;
  arca_error_t err;
  char cid[16], want[INET_ADDRSTRLEN];
  for (int i = 2; i < 200; i++)
    {
      snprintf (cid, sizeof cid, "c%d", i);
      snprintf (want, sizeof want, "172.30.0.%d", i);
      assert_string_equal (alloc4 (f, cid, "", false, &err), want);
    }
  /* holes are filled lowest first */
  ipam_release (&f->net, f->n.id, "c150");
  ipam_release (&f->net, f->n.id, "c40");
  assert_string_equal (alloc4 (f, "x1", "", false, &err), "172.30.0.40");
  assert_string_equal (alloc4 (f, "x2", "", false, &err), "172.30.0.150");
  assert_string_equal (alloc4 (f, "x3", "", false, &err), "172.30.0.200");
}

static void
test_aux_and_preferred (void **state)
{
  fixture_t *f = *state;
  arca_error_t err;
  struct in_addr aux;
  inet_pton (AF_INET, "172.30.0.2", &aux);
  assert_int_equal (ipam_reserve_aux (&f->net, f->n.id, "router", aux, &err), 0);
  assert_string_equal (alloc4 (f, "c1", "", false, &err), "172.30.0.3");
  /* a preferred address is taken when free, else the first free one */
  assert_string_equal (alloc4 (f, "c2", "172.30.0.77", false, &err), "172.30.0.77");
  assert_string_equal (alloc4 (f, "c3", "172.30.0.77", false, &err), "172.30.0.4");
  /* a required one in use is refused, as dockerd */
  assert_string_equal (alloc4 (f, "c4", "172.30.0.77", true, &err), "");
  assert_string_equal (err.msg, "Address already in use");
  assert_string_equal (alloc4 (f, "c4", "10.0.0.5", true, &err), "");
  assert_string_equal (err.msg, "Address 10.0.0.5 does not belong to any of this network's subnets");
  /* the same container asking again keeps its address */
  assert_string_equal (alloc4 (f, "c2", "172.30.0.77", true, &err), "172.30.0.77");
}

static void
test_full_range (void **state)
{
  fixture_t *f = *state;
  arca_error_t err;
  /* 172.30.0.8/30 inside the /24: .8 .. .11 */
  inet_pton (AF_INET, "172.30.0.8", &f->n.range);
  f->n.range_prefix = 30;
  assert_string_equal (alloc4 (f, "c1", "", false, &err), "172.30.0.8");
  assert_string_equal (alloc4 (f, "c2", "", false, &err), "172.30.0.9");
  assert_string_equal (alloc4 (f, "c3", "", false, &err), "172.30.0.10");
  assert_string_equal (alloc4 (f, "c4", "", false, &err), "172.30.0.11");
  assert_string_equal (alloc4 (f, "c5", "", false, &err), "");
  assert_non_null (strstr (err.msg, "no available IPv4 addresses on this network's address pools"));
}

static void
test_ipv6_first_free (void **state)
{
  fixture_t *f = *state;
  assert_string_equal (alloc6 (f, "c1"), "fd00:1::2");
  assert_string_equal (alloc6 (f, "c2"), "fd00:1::3");
  ipam_release (&f->net, f->n.id, "c1");
  assert_string_equal (alloc6 (f, "c3"), "fd00:1::2");
  assert_string_equal (alloc6 (f, "c4"), "fd00:1::4");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_first_free_in_order, setup, teardown),
    cmocka_unit_test_setup_teardown (test_many_taken, setup, teardown),
    cmocka_unit_test_setup_teardown (test_aux_and_preferred, setup, teardown),
    cmocka_unit_test_setup_teardown (test_full_range, setup, teardown),
    cmocka_unit_test_setup_teardown (test_ipv6_first_free, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
