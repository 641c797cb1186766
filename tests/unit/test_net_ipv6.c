/* IPv6 pure logic of the networking code: CIDR parsing (net/ipam.c), the
 * prefix arithmetic IPAM and the overlap checks use, and the ip6 rules nft.c
 * writes for a network with EnableIPv6 (the ruleset text, no kernel). */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/net_internal.h"
#include "net/nft_dnat.h"
#include "util/strutil.h"

static void
assert_addr (const struct in6_addr *a, const char *want)
{
  char t[INET6_ADDRSTRLEN];
  inet_ntop (AF_INET6, a, t, sizeof t);
  assert_string_equal (t, want);
}

static void
test_cidr6_parse (void **state)
{
  (void) state;
  struct in6_addr a;
  int p = -1;
  assert_int_equal (cidr6_parse ("fd00:1::/64", &a, &p, true), 0);
  assert_int_equal (p, 64);
  assert_addr (&a, "fd00:1::");
  /* host bits are kept as written (dockerd shows the subnet so) */
  assert_int_equal (cidr6_parse ("fd00:5::1/64", &a, &p, true), 0);
  assert_addr (&a, "fd00:5::1");
  /* a plain address: /128, refused where a prefix is required */
  assert_int_equal (cidr6_parse ("2001:389::f00d", &a, &p, false), 0);
  assert_int_equal (p, 128);
  assert_int_equal (cidr6_parse ("2001:389::f00d", &a, &p, true), -1);
  const char *bad[] = { "fd00:zz::/64", "fd00::/129", "fd00::/", "fd00::/-1", "fd00::/6x", "10.0.0.0/8", "", NULL };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal (cidr6_parse (bad[i], &a, &p, false), -1);
}

static void
test_prefix_arithmetic (void **state)
{
  (void) state;
  struct in6_addr a, b;
  cidr6_parse ("fd00:5:6:7:8:9:a:b", &a, NULL, false);
  in6_mask (&a, 64);
  assert_addr (&a, "fd00:5:6:7::");
  cidr6_parse ("fd00:5:6:7:8:9:a:b", &a, NULL, false);
  in6_mask (&a, 77); /* group 5 is 0x0008: its 13th bit stays */
  assert_addr (&a, "fd00:5:6:7:8::");
  in6_mask (&a, 76); /* and goes at /76 */
  assert_addr (&a, "fd00:5:6:7::");
  in6_mask (&a, 0);
  assert_true (in6_is_zero (&a));
  cidr6_parse ("fd00:5:6:7:8:9:a:b", &a, NULL, false);
  in6_mask (&a, 128);
  assert_addr (&a, "fd00:5:6:7:8:9:a:b");

  cidr6_parse ("fd00:1::", &a, NULL, false);
  cidr6_parse ("fd00:1::8000:0", &b, NULL, false);
  assert_true (in6_overlaps (&a, 64, &b, 80));   /* a /80 inside the /64 */
  assert_true (in6_overlaps (&b, 80, &a, 64));
  assert_false (in6_overlaps (&a, 97, &b, 128)); /* bit 97 differs */
  assert_true (in6_overlaps (&a, 96, &b, 128));
  cidr6_parse ("fd00:2::", &b, NULL, false);
  assert_false (in6_overlaps (&a, 64, &b, 64));
  assert_true (in6_overlaps (&a, 16, &b, 64));
}

/* A network with EnableIPv6 gets the ip6 twins of its IPv4 rules, the
 * subnet written without host bits; a published IPv6 binding its DNAT. */
static void
test_nft_ipv6_rules (void **state)
{
  (void) state;
  arca_net_t net = { .nft_table = (char *) "arca_t6" };
  arca_error_t err = { 0 };
  if (nft_init (&net, &err) < 0)
    skip ();
  arca_network_t n = { .bridge = "br-t6", .prefix = 16, .masquerade = true, .icc = true, .enable_ipv6 = true,
                       .has_v6 = true, .prefix6 = 64 };
  inet_pton (AF_INET, "172.30.0.0", &n.subnet);
  inet_pton (AF_INET, "172.30.0.1", &n.gateway);
  inet_pton (AF_INET6, "fd00:5::1", &n.subnet6);
  inet_pton (AF_INET6, "fd00:5::1", &n.gateway6);
  assert_int_equal (nft_network_add (&net, &n, &err), 0);
  nft_dnat_t r = { .proto = "tcp", .host_port = 8080, .port = 80, .bridge = "br-t6", .family = AF_INET6 };
  inet_pton (AF_INET6, "fd00:5::2", &r.addr6);
  nft_dnat_t lo6 = r;
  inet_pton (AF_INET6, "::1", &lo6.host_ip6);
  nft_dnat_t rules[] = { r, lo6 };
  assert_int_equal (nft_ports_set (&net, "c1", rules, 2, &err), 0);
  char *text = nft_ruleset_text (&net);
  assert_non_null (strstr (text, "ip6 saddr fd00:5::/64 oifname != \"br-t6\" masquerade"));
  assert_non_null (strstr (text, "ip6 daddr fd00:5::/64 ip6 daddr != fd00:5::1 iifname != \"br-t6\" drop"));
  assert_non_null (strstr (text, "iifname != \"br-t6\" tcp dport 8080 dnat ip6 to [fd00:5::2]:80"));
  assert_non_null (strstr (text, "ip6 daddr != ::1 fib daddr type local jump ports"));
  /* ::1 is the proxy's: one DNAT rule only */
  assert_null (strstr (strstr (text, "dnat ip6") + 1, "dnat ip6"));
  /* with an IPv6 network the forward policy covers IPv6 */
  assert_null (strstr (text, "meta nfproto ipv6 accept"));
  free (text);
  nft_fini (&net);
}

static void
test_nft_ipv4_only_leaves_ipv6_alone (void **state)
{
  (void) state;
  arca_net_t net = { .nft_table = (char *) "arca_t4" };
  arca_error_t err = { 0 };
  if (nft_init (&net, &err) < 0)
    skip ();
  arca_network_t n = { .bridge = "br-t4", .prefix = 16, .masquerade = true, .icc = true, .has_v6 = true,
                       .prefix6 = 64 }; /* a v6 pool without EnableIPv6 */
  inet_pton (AF_INET, "172.31.0.0", &n.subnet);
  inet_pton (AF_INET, "172.31.0.1", &n.gateway);
  inet_pton (AF_INET6, "fd00:6::", &n.subnet6);
  assert_int_equal (nft_network_add (&net, &n, &err), 0);
  char *text = nft_ruleset_text (&net);
  assert_null (strstr (text, "fd00:6"));
  assert_non_null (strstr (text, "meta nfproto ipv6 accept"));
  free (text);
  nft_fini (&net);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_cidr6_parse),
    cmocka_unit_test (test_prefix_arithmetic),
    cmocka_unit_test (test_nft_ipv6_rules),
    cmocka_unit_test (test_nft_ipv4_only_leaves_ipv6_alone),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
