/* IPv4 address management: allocations live in SQLite (ip_allocations),
 * written before an address is configured, so no address is handed out
 * twice across restarts, kill -9 included.  Pools for networks without a
 * subnet follow dockerd's defaults: 172.17-31.0.0/16, then 192.168.0.0/20
 * steps, skipping ranges already routed on the host or used by a network
 * (two daemons on one host pick different subnets). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_internal.h"
#include "store/networks.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"

uint32_t
prefix_mask (int prefix)
{
  return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

int
cidr_parse (const char *s, struct in_addr *addr, int *prefix)
{
  if (s == NULL)
    return -1;
  char buf[64];
  snprintf (buf, sizeof buf, "%s", s);
  char *slash = strchr (buf, '/');
  int p = 32;
  if (slash)
    {
      *slash = '\0';
      char *end;
      long v = strtol (slash + 1, &end, 10);
      if (*end || end == slash + 1 || v < 0 || v > 32)
        return -1;
      p = (int) v;
    }
  if (inet_pton (AF_INET, buf, addr) != 1)
    return -1;
  if (prefix)
    *prefix = p;
  return 0;
}

static bool
overlaps (uint32_t a, int pa, uint32_t b, int pb)
{
  uint32_t m = prefix_mask (pa < pb ? pa : pb);
  return (a & m) == (b & m);
}

static bool
pool_free (arca_net_t *net, uint32_t base, int prefix)
{
  pthread_mutex_lock (&net->lock);
  bool used = false;
  for (arca_network_t *n = net->networks; n && !used; n = n->next)
    if (n->prefix > 0 && overlaps (ntohl (n->subnet.s_addr), n->prefix, base, prefix))
      used = true;
  pthread_mutex_unlock (&net->lock);
  if (used)
    return false;
  struct in_addr a = { .s_addr = htonl (base) };
  return !nl_route_overlaps (a, prefix);
}

int
ipam_pick_pool (arca_net_t *net, struct in_addr *subnet, int *prefix, arca_error_t *err)
{
  /* configured pools: [{"base":"10.10.0.0/16","size":24}] */
  if (json_is_array (net->default_pools) && json_array_size (net->default_pools) > 0)
    {
      size_t i;
      json_t *p;
      json_array_foreach (net->default_pools, i, p)
      {
        struct in_addr b;
        int bp, size = (int) json_get_int (p, "size", 24);
        if (cidr_parse (json_get_str (p, "base"), &b, &bp) < 0 || size < bp || size > 30)
          continue;
        uint32_t base = ntohl (b.s_addr) & prefix_mask (bp);
        uint64_t count = 1ull << (size - bp);
        for (uint64_t k = 0; k < count && k < 65536; k++)
          {
            uint32_t cand = base + (uint32_t) (k << (32 - size));
            if (pool_free (net, cand, size))
              {
                subnet->s_addr = htonl (cand);
                *prefix = size;
                return 0;
              }
          }
      }
      return arca_error_set (err, ARCA_ERR_INVALID,
                             "all predefined address pools have been fully subnetted");
    }
  for (uint32_t second = 17; second <= 31; second++)
    {
      uint32_t cand = (172u << 24) | (second << 16);
      if (pool_free (net, cand, 16))
        {
          subnet->s_addr = htonl (cand);
          *prefix = 16;
          return 0;
        }
    }
  for (uint32_t k = 0; k < 16; k++)
    {
      uint32_t cand = (192u << 24) | (168u << 16) | (k << 12);
      if (pool_free (net, cand, 20))
        {
          subnet->s_addr = htonl (cand);
          *prefix = 20;
          return 0;
        }
    }
  return arca_error_set (err, ARCA_ERR_INVALID, "all predefined address pools have been fully subnetted");
}

/* Claim `text` (an address as inet_ntop prints it) on network_id. */
static int
try_claim_text (arca_net_t *net, const char *network_id, const char *text, const char *container_id)
{
  arca_error_t err;
  bool claimed = false;
  if (arca_store_ip_claim (net->db, network_id, text, container_id, &claimed, &err) < 0)
    return -1;
  return claimed ? 0 : -1;
}

static int
try_claim (arca_net_t *net, const char *network_id, uint32_t a, const char *container_id)
{
  char text[INET_ADDRSTRLEN];
  struct in_addr ia = { .s_addr = htonl (a) };
  inet_ntop (AF_INET, &ia, text, sizeof text);
  return try_claim_text (net, network_id, text, container_id);
}

/* ---- what is taken ----
 *
 * A free address is found in a snapshot of the network's allocations (one
 * query), then claimed (one write).  Trying a claim at each address from
 * the start of the range cost a write transaction per address in use:
 * 5.5 ms with 100 containers on the bridge, growing with each. */

typedef unsigned __int128 u128;

static int
cmp_u128 (const void *a, const void *b)
{
  u128 x = *(const u128 *) a, y = *(const u128 *) b;
  return x < y ? -1 : x > y;
}

/* The addresses of family af (AF_INET: the host-order value) held on
 * network_id by others than owner, sorted (*n of them): one the owner
 * holds already (left by a start a crash cut short) is claimed again, as
 * a claim of it succeeds.  A failed query leaves none: the claims still
 * decide. */
static u128 *
taken (arca_net_t *net, const char *network_id, const char *owner, int af, size_t *n)
{
  _cleanup_strv_ char **texts = NULL;
  arca_error_t err;
  *n = 0;
  if (arca_store_ip_taken (net->db, network_id, owner, &texts, &err) < 0)
    {
      log_warn ("ipam: %s", err.msg);
      return NULL;
    }
  u128 *v = xmalloc0 ((strv_len (texts) + 1) * sizeof *v);
  for (size_t i = 0; texts[i]; i++)
    {
      unsigned char a[16];
      if (inet_pton (af, texts[i], a) != 1)
        continue;
      u128 x = 0;
      for (int k = 0; k < (af == AF_INET ? 4 : 16); k++)
        x = (x << 8) | a[k];
      v[(*n)++] = x;
    }
  qsort (v, *n, sizeof *v, cmp_u128);
  return v;
}

static bool
is_taken (const u128 *v, size_t n, u128 a)
{
  return n > 0 && bsearch (&a, v, n, sizeof *v, cmp_u128) != NULL;
}

int
ipam_allocate (arca_net_t *net, const arca_network_t *n, const char *container_id, struct in_addr pref,
               bool required, struct in_addr *out, arca_error_t *err)
{
  uint32_t net_a = ntohl (n->subnet.s_addr) & prefix_mask (n->prefix);
  uint32_t bcast = net_a | ~prefix_mask (n->prefix);
  uint32_t gw = ntohl (n->gateway.s_addr);
  uint32_t lo = ntohl (n->range.s_addr) & prefix_mask (n->range_prefix);
  uint32_t hi = lo | ~prefix_mask (n->range_prefix);
  if (pref.s_addr)
    {
      uint32_t p = ntohl (pref.s_addr);
      bool in_subnet = (p & prefix_mask (n->prefix)) == net_a;
      if (required && !in_subnet)
        return arca_error_set (err, ARCA_ERR_INVALID, "Address %s does not belong to any of this network's subnets",
                               inet_ntoa (pref));
      if (in_subnet && p != net_a && p != bcast && p != gw && try_claim (net, n->id, p, container_id) == 0)
        {
          *out = pref;
          return 0;
        }
      if (required)
        return arca_error_set (err, ARCA_ERR_CONFLICT, "Address already in use");
    }
  size_t ntaken;
  _cleanup_free_ u128 *held = taken (net, n->id, container_id, AF_INET, &ntaken);
  for (uint32_t a = lo; a <= hi && a >= lo; a++)
    {
      if (a == net_a || a == bcast || a == gw || is_taken (held, ntaken, a))
        continue;
      if (try_claim (net, n->id, a, container_id) == 0)
        {
          out->s_addr = htonl (a);
          return 0;
        }
    }
  return arca_error_set (err, ARCA_ERR_INTERNAL, "no available IPv4 addresses on this network's address pools: %s (%s)",
                         n->name, n->id);
}

void
ipam_release (arca_net_t *net, const char *network_id, const char *container_id)
{
  arca_error_t err;
  if (arca_store_ip_release (net->db, network_id, container_id, &err) < 0)
    log_warn ("ipam release: %s", err.msg);
}

void
ipam_release_network (arca_net_t *net, const char *network_id)
{
  arca_error_t err;
  arca_store_ip_release_network (net->db, network_id, &err);
}

int
ipam_reserve_aux (arca_net_t *net, const char *network_id, const char *name, struct in_addr a, arca_error_t *err)
{
  _cleanup_free_ char *owner = xasprintf ("aux:%s", name);
  if (try_claim (net, network_id, ntohl (a.s_addr), owner) < 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "failed to reserve auxiliary address %s", inet_ntoa (a));
  return 0;
}

/* ---- IPv6 ---- */

static u128
in6_to_u128 (const struct in6_addr *a)
{
  u128 v = 0;
  for (int i = 0; i < 16; i++)
    v = (v << 8) | a->s6_addr[i];
  return v;
}

static void
u128_to_in6 (u128 v, struct in6_addr *a)
{
  for (int i = 15; i >= 0; i--)
    {
      a->s6_addr[i] = (uint8_t) (v & 0xff);
      v >>= 8;
    }
}

static u128
mask128 (int prefix)
{
  return prefix <= 0 ? 0 : prefix >= 128 ? ~(u128) 0 : ~(((u128) 1 << (128 - prefix)) - 1);
}

bool
in6_is_zero (const struct in6_addr *a)
{
  return in6_to_u128 (a) == 0;
}

void
in6_mask (struct in6_addr *a, int prefix)
{
  u128_to_in6 (in6_to_u128 (a) & mask128 (prefix), a);
}

bool
in6_overlaps (const struct in6_addr *a, int pa, const struct in6_addr *b, int pb)
{
  u128 m = mask128 (pa < pb ? pa : pb);
  return (in6_to_u128 (a) & m) == (in6_to_u128 (b) & m);
}

int
cidr6_parse (const char *s, struct in6_addr *addr, int *prefix, bool need_prefix)
{
  if (s == NULL)
    return -1;
  char buf[96];
  snprintf (buf, sizeof buf, "%s", s);
  char *slash = strchr (buf, '/');
  int p = 128;
  if (slash)
    {
      *slash = '\0';
      char *end;
      long v = strtol (slash + 1, &end, 10);
      if (*end || end == slash + 1 || v < 0 || v > 128)
        return -1;
      p = (int) v;
    }
  else if (need_prefix)
    return -1;
  if (inet_pton (AF_INET6, buf, addr) != 1)
    return -1;
  if (prefix)
    *prefix = p;
  return 0;
}

/* Sequential from the start of the range, as libnetwork's bitmask
 * allocator: the subnet-router anycast address (all zeros) and the gateway
 * are never handed out.  Scans at most 64k candidates (a /64 is never full
 * in practice; the bound keeps a pathological table from spinning). */
static bool
is_reserved (u128 a, const struct in6_addr *reserved, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (in6_to_u128 (&reserved[i]) == a)
      return true;
  return false;
}

int
ipam_allocate6 (arca_net_t *net, const arca_network_t *n, const char *container_id, const struct in6_addr *pref,
                bool required, const struct in6_addr *reserved, size_t nreserved, struct in6_addr *out,
                arca_error_t *err)
{
  u128 sub = in6_to_u128 (&n->subnet6) & mask128 (n->prefix6);
  u128 gw = in6_to_u128 (&n->gateway6);
  u128 lo = in6_to_u128 (&n->range6) & mask128 (n->range_prefix6);
  u128 hi = lo | ~mask128 (n->range_prefix6);
  char text[INET6_ADDRSTRLEN];
  if (pref && !in6_is_zero (pref))
    {
      u128 p = in6_to_u128 (pref);
      bool in_subnet = (p & mask128 (n->prefix6)) == sub;
      inet_ntop (AF_INET6, pref, text, sizeof text);
      if (required && !in_subnet)
        return arca_error_set (err, ARCA_ERR_INVALID, "Address %s does not belong to any of this network's subnets",
                               text);
      if (in_subnet && p != sub && p != gw && !is_reserved (p, reserved, nreserved) && try_claim_text (net, n->id, text, container_id) == 0)
        {
          *out = *pref;
          return 0;
        }
      if (required)
        return arca_error_set (err, ARCA_ERR_CONFLICT, "Address already in use");
    }
  size_t ntaken;
  _cleanup_free_ u128 *held = taken (net, n->id, container_id, AF_INET6, &ntaken);
  u128 count = 0;
  for (u128 a = lo; a <= hi && a >= lo && count < 65536; a++, count++)
    {
      if (a == sub || a == gw || is_reserved (a, reserved, nreserved)
          || is_taken (held, ntaken, a))
        continue;
      struct in6_addr cand;
      u128_to_in6 (a, &cand);
      inet_ntop (AF_INET6, &cand, text, sizeof text);
      if (try_claim_text (net, n->id, text, container_id) == 0)
        {
          *out = cand;
          return 0;
        }
    }
  return arca_error_set (err, ARCA_ERR_INTERNAL, "no available IPv6 addresses on this network's address pools: %s (%s)",
                         n->name, n->id);
}
