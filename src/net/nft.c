/* nftables: one table owned by Arca (config nftTable, default "arca", family
 * inet) holding every rule the engine needs, as dockerd's nftables
 * firewaller (moby libnetwork/drivers/bridge/internal/nftabler) does:
 *
 *   prerouting/output (nat)  published ports: DNAT of traffic for a local
 *                            address (output: not 127/8, which the userland
 *                            proxy serves, as dockerd's docker-proxy does),
 *                            through port-map to a chain per host port
 *   postrouting (nat)        masquerade of each bridge subnet leaving through
 *                            another interface (enable_ip_masquerade, not
 *                            --internal)
 *   raw-prerouting           a container's address is only reachable from
 *                            its own bridge: traffic routed to it directly
 *                            from anywhere else is dropped before NAT (moby
 *                            filterDirectAccess, "DROP DIRECT ACCESS", dockerd
 *                            28); ports published on 127.0.0.1 are dropped
 *                            when they come in from outside ("DROP REMOTE
 *                            LOOPBACK")
 *   forward (filter)         policy drop: the host forwards only Arca's
 *                            traffic (dockerd sets the iptables FORWARD
 *                            policy to DROP when it turns forwarding on);
 *                            into a bridge: established, ICC (enable_icc),
 *                            DNATed published ports, nothing else ("UNPUBLISHED
 *                            PORT DROP"); out of a bridge: anything but from
 *                            an --internal network.
 *
 * The forward policy and other software: a packet goes through every base
 * chain on the forward hook, of every table, in priority order; an accept
 * ends only the chain it is in, a drop is final.  So our policy drop is
 * enough to stop the host routing between interfaces that are not Arca's,
 * whatever other tables say (checked by tests/e2e/B1_security_net.bats).
 * Several Arca daemons on one host (the test suites) must not drop each
 * other's traffic: every Arca bridge is put in the interface group
 * ARCA_IFGROUP, and each table accepts (leaves to its owner's table)
 * traffic in and out of that group.  IPv6: the same rules for networks
 * with EnableIPv6 (masquerade, direct access, isolation by interface).
 * IPv6 forwarding is turned on, as dockerd's bridge driver does
 * (setupIPv6Forwarding), only once such a network exists; until then
 * forwarded IPv6 not on our bridges is left alone, after that the drop
 * policy covers it too (dockerd sets the ip6tables FORWARD policy).
 * Config ipForwardNoDrop (dockerd --ip-forward-no-drop) keeps the policy
 * accept.
 *
 * The whole table is regenerated from the in-memory state and replaced in
 * one nft transaction ("add table; delete table; table {...}") at start-up
 * and when a network comes or goes: idempotent, atomic, and a daemon that
 * crashed simply rebuilds it at start-up.  A container's published ports
 * change only their own chains and elements, in one transaction too (the
 * whole table again if that fails).  Established connections keep their
 * NAT bindings across a rebuild (they live in conntrack, not in the
 * table).
 *
 * Every name written into the script is checked first (bridge names with
 * net_bridge_name_check, the table name with net_nft_table_name_valid);
 * addresses and ports are printed from binary values. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"
#include "net/nft_dnat.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timeutil.h"

typedef struct nft_net
{
  struct nft_net *next;
  char bridge[16];
  char subnet[24];           /* "172.18.0.0/16" */
  char gateway[INET_ADDRSTRLEN];
  char subnet6[INET6_ADDRSTRLEN + 4]; /* "fd00:1::/64"; "" without IPv6 */
  char gateway6[INET6_ADDRSTRLEN];
  bool internal, masquerade, icc;
} nft_net_t;

typedef struct nft_ports
{
  struct nft_ports *next;
  char key[65];
  nft_dnat_t *rules;
  size_t n;
} nft_ports_t;

typedef struct
{
  pthread_mutex_t lock;      /* guards everything below; held across nft calls
                                (libnftables contexts are not thread-safe) */
  char *table;
  struct nft_ctx *ctx;       /* made by a run; NULL until then and once
                                released (nft_release_idle) */
  int64_t last_run_ns;       /* CLOCK_MONOTONIC of the last run */
  bool forward_drop;         /* !ipForwardNoDrop */
  bool started;              /* nft_start done: every change is applied */
  bool ipv6_forwarding;      /* an IPv6 network made us turn IPv6 forwarding on */
  bool stale;                /* the last whole-table replace failed: the kernel's
                                table is not the state, so the next change
                                replaces it whole again */
  nft_net_t *nets;
  nft_ports_t *ports;
} nft_state_t;

static void
write_sysctl (const char *path, const char *value)
{
  _cleanup_close_ int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, value, strlen (value)) < 0)
    log_warn ("cannot write %s: %s", path, strerror (errno));
}

static void
emit_bridges_set (arca_buf_t *b, nft_state_t *st)
{
  buf_printf (b, "  set bridges {\n    type ifname\n");
  if (st->nets)
    {
      buf_printf (b, "    elements = { ");
      for (nft_net_t *n = st->nets; n; n = n->next)
        buf_printf (b, "\"%s\"%s", n->bridge, n->next ? ", " : "");
      buf_printf (b, " }\n");
    }
  buf_printf (b, "  }\n");
}

static bool
is_loopback (struct in_addr a)
{
  return (ntohl (a.s_addr) >> 24) == 127;
}

/* ---- published ports ----
 *
 * One chain per host port ("port-tcp-8080": the DNAT rules of every
 * binding on that port), reached through the verdict map port-map keyed by
 * protocol and port; ports published on 127.0.0.x are dropped from outside
 * through the set loopback-ports.  A container's publish or unpublish
 * changes only its ports' elements and chains (nft_ports_set), so it costs
 * the same with 1 or 1,000 containers published; re-rendering and
 * reloading the whole table at each took 13 ms per start with 200
 * published containers.  The lookup is a hash too, where dockerd's DOCKER
 * chain is a list of every published port. */

typedef struct
{
  char proto[8];
  int port;
} port_key_t;

/* Whether r gets a DNAT rule: not a binding on 127.0.0.x or ::1 (the
 * userland proxy serves those; loopback never reaches DNAT). */
static bool
has_dnat (const nft_dnat_t *r)
{
  return r->family == AF_INET6 ? !IN6_IS_ADDR_LOOPBACK (&r->host_ip6) : !is_loopback (r->host_ip);
}

static bool
is_loopback_binding (const nft_dnat_t *r)
{
  return r->family != AF_INET6 && is_loopback (r->host_ip);
}

/* r's DNAT rule (has_dnat), after prefix, with a newline. */
static void
emit_dnat (arca_buf_t *b, const char *prefix, const nft_dnat_t *r)
{
  buf_printf (b, "%siifname != \"%s\" ", prefix, r->bridge);
  if (r->family == AF_INET6)
    {
      char host6[INET6_ADDRSTRLEN], addr6[INET6_ADDRSTRLEN];
      inet_ntop (AF_INET6, &r->host_ip6, host6, sizeof host6);
      inet_ntop (AF_INET6, &r->addr6, addr6, sizeof addr6);
      if (!IN6_IS_ADDR_UNSPECIFIED (&r->host_ip6))
        buf_printf (b, "ip6 daddr %s ", host6);
      buf_printf (b, "%s dport %d dnat ip6 to [%s]:%d\n", r->proto, r->host_port, addr6, r->port);
      return;
    }
  char host[INET_ADDRSTRLEN], addr[INET_ADDRSTRLEN];
  inet_ntop (AF_INET, &r->host_ip, host, sizeof host);
  inet_ntop (AF_INET, &r->addr, addr, sizeof addr);
  if (r->host_ip.s_addr != 0)
    buf_printf (b, "ip daddr %s ", host);
  buf_printf (b, "%s dport %d dnat ip to %s:%d\n", r->proto, r->host_port, addr, r->port);
}

static bool
on_port (const nft_dnat_t *r, const port_key_t *key)
{
  return r->host_port == key->port && strcmp (r->proto, key->proto) == 0 && has_dnat (r);
}

/* The DNAT rules of every binding on key, each after prefix. */
static void
emit_port_rules (arca_buf_t *b, nft_state_t *st, const port_key_t *key, const char *prefix)
{
  for (nft_ports_t *p = st->ports; p; p = p->next)
    for (size_t i = 0; i < p->n; i++)
      if (on_port (&p->rules[i], key))
        emit_dnat (b, prefix, &p->rules[i]);
}

/* Whether a binding in the state has a DNAT rule on key (its chain exists). */
static bool
port_in_use (nft_state_t *st, const port_key_t *key)
{
  for (nft_ports_t *p = st->ports; p; p = p->next)
    for (size_t i = 0; i < p->n; i++)
      if (on_port (&p->rules[i], key))
        return true;
  return false;
}

static int
port_key_cmp (const void *a, const void *b)
{
  const port_key_t *x = a, *y = b;
  int c = strcmp (x->proto, y->proto);
  return c ? c : (x->port > y->port) - (x->port < y->port);
}

/* Append the key of each DNAT rule of rules[0..n) to keys (*nkeys of them,
 * sorted and unique). */
static port_key_t *
port_keys_add (port_key_t *keys, size_t *nkeys, const nft_dnat_t *rules, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (has_dnat (&rules[i]))
      {
        keys = xrealloc (keys, (*nkeys + 1) * sizeof *keys);
        port_key_t *k = &keys[(*nkeys)++];
        snprintf (k->proto, sizeof k->proto, "%s", rules[i].proto);
        k->port = rules[i].host_port;
      }
  if (*nkeys > 1)
    qsort (keys, *nkeys, sizeof *keys, port_key_cmp);
  size_t u = 0;
  for (size_t i = 0; i < *nkeys; i++)
    if (u == 0 || port_key_cmp (&keys[u - 1], &keys[i]) != 0)
      keys[u++] = keys[i];
  *nkeys = u;
  return keys;
}

/* Published ports: port-map, a chain per host port, and the chain the nat
 * hooks jump to for local addresses. */
static void
emit_ports (arca_buf_t *b, nft_state_t *st)
{
  port_key_t *keys = NULL;
  size_t nkeys = 0;
  for (nft_ports_t *p = st->ports; p; p = p->next)
    keys = port_keys_add (keys, &nkeys, p->rules, p->n);
  buf_printf (b, "  map port-map {\n    type inet_proto . inet_service : verdict\n");
  if (nkeys)
    {
      buf_printf (b, "    elements = { ");
      for (size_t i = 0; i < nkeys; i++)
        buf_printf (b, "%s . %d : jump port-%s-%d%s", keys[i].proto, keys[i].port, keys[i].proto, keys[i].port,
                    i + 1 < nkeys ? ", " : "");
      buf_printf (b, " }\n");
    }
  buf_printf (b, "  }\n");
  for (size_t i = 0; i < nkeys; i++)
    {
      buf_printf (b, "  chain port-%s-%d {\n", keys[i].proto, keys[i].port);
      emit_port_rules (b, st, &keys[i], "    ");
      buf_printf (b, "  }\n");
    }
  free (keys);
  buf_printf (b, "  chain ports {\n    meta l4proto . th dport vmap @port-map\n  }\n");
}

static void
emit_loopback_element (arca_buf_t *b, const nft_dnat_t *r)
{
  char host[INET_ADDRSTRLEN];
  inet_ntop (AF_INET, &r->host_ip, host, sizeof host);
  buf_printf (b, "%s . %s . %d", host, r->proto, r->host_port);
}

/* moby filterPortMappedOnLoopback: a port published on 127.0.0.x only
 * reaches the proxy from the host itself, even with route_localnet=1; ::1
 * cannot come in from outside (the kernel drops it). */
static void
emit_loopback_set (arca_buf_t *b, nft_state_t *st)
{
  buf_printf (b, "  set loopback-ports {\n    type ipv4_addr . inet_proto . inet_service\n");
  const char *sep = "    elements = { ";
  for (nft_ports_t *p = st->ports; p; p = p->next)
    for (size_t i = 0; i < p->n; i++)
      if (is_loopback_binding (&p->rules[i]))
        {
          buf_printf (b, "%s", sep);
          emit_loopback_element (b, &p->rules[i]);
          sep = ", ";
        }
  if (strcmp (sep, ", ") == 0)
    buf_printf (b, " }\n");
  buf_printf (b, "  }\n");
}

static void
emit_nat (arca_buf_t *b, nft_state_t *st)
{
  emit_ports (b, st);
  buf_printf (b, "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n"
                 "    fib daddr type local jump ports\n  }\n");
  buf_printf (b, "  chain output {\n    type nat hook output priority -100; policy accept;\n"
                 "    ip daddr != 127.0.0.0/8 fib daddr type local jump ports\n"
                 "    ip6 daddr != ::1 fib daddr type local jump ports\n  }\n");

  buf_printf (b, "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n");
  for (nft_net_t *n = st->nets; n; n = n->next)
    if (n->masquerade && !n->internal)
      {
        buf_printf (b, "    ip saddr %s oifname != \"%s\" masquerade\n", n->subnet, n->bridge);
        if (n->subnet6[0])
          buf_printf (b, "    ip6 saddr %s oifname != \"%s\" masquerade\n", n->subnet6, n->bridge);
      }
  buf_printf (b, "  }\n");
}

/* Before conntrack and NAT: what must never reach a container or the
 * userland proxy from outside. */
static void
emit_raw (arca_buf_t *b, nft_state_t *st)
{
  emit_loopback_set (b, st);
  buf_printf (b, "  chain raw-prerouting {\n    type filter hook prerouting priority raw; policy accept;\n");
  /* moby filterDirectAccess: per container address there; per subnet here
   * (but the gateway, the host's own address), which also covers addresses
   * not handed out yet.  Published ports are not affected: their packets
   * are still addressed to the host here (DNAT comes later). */
  for (nft_net_t *n = st->nets; n; n = n->next)
    {
      buf_printf (b, "    ip daddr %s ip daddr != %s iifname != \"%s\" drop\n", n->subnet, n->gateway, n->bridge);
      if (n->subnet6[0])
        buf_printf (b, "    ip6 daddr %s ip6 daddr != %s iifname != \"%s\" drop\n", n->subnet6, n->gateway6,
                    n->bridge);
    }
  buf_printf (b, "    iifname != \"lo\" ip daddr . meta l4proto . th dport @loopback-ports drop\n");
  buf_printf (b, "  }\n");
}

static void
emit_forward (arca_buf_t *b, nft_state_t *st)
{
  buf_printf (b, "  chain forward {\n    type filter hook forward priority filter; policy %s;\n",
              st->forward_drop ? "drop" : "accept");
  buf_printf (b, "    oifname @bridges jump into-bridge\n    iifname @bridges jump out-of-bridge\n");
  if (st->forward_drop)
    buf_printf (b, "    iifgroup %u accept\n    oifgroup %u accept\n%s", ARCA_IFGROUP, ARCA_IFGROUP,
                st->ipv6_forwarding ? "" : "    meta nfproto ipv6 accept\n");
  buf_printf (b, "  }\n");

  /* Into one of our bridges (from anywhere, that bridge included). */
  buf_printf (b, "  chain into-bridge {\n");
  for (nft_net_t *n = st->nets; n; n = n->next)
    if (n->internal)
      buf_printf (b, "    oifname \"%s\" iifname != \"%s\" drop\n    iifname \"%s\" oifname != \"%s\" drop\n",
                  n->bridge, n->bridge, n->bridge, n->bridge);
  buf_printf (b, "    ct state established,related accept\n");
  for (nft_net_t *n = st->nets; n; n = n->next)
    buf_printf (b, "    iifname \"%s\" oifname \"%s\" %s\n", n->bridge, n->bridge, n->icc ? "accept" : "drop");
  /* published ports (our DNAT rules); anything else from outside the
   * bridge, other bridges included, is dropped */
  buf_printf (b, "    ct status dnat accept\n    drop\n  }\n");

  /* Out of one of our bridges to an interface that is not one of ours. */
  buf_printf (b, "  chain out-of-bridge {\n");
  for (nft_net_t *n = st->nets; n; n = n->next)
    if (n->internal)
      buf_printf (b, "    iifname \"%s\" drop\n", n->bridge);
  buf_printf (b, "    accept\n  }\n");
}

/* Ruleset text; caller holds st->lock. */
static char *
ruleset_locked (nft_state_t *st)
{
  arca_buf_t b = { 0 };
  const char *t = st->table;
  buf_printf (&b, "add table inet %s\ndelete table inet %s\ntable inet %s {\n", t, t, t);
  emit_bridges_set (&b, st);
  emit_nat (&b, st);
  emit_raw (&b, st);
  emit_forward (&b, st);
  buf_printf (&b, "}\n");
  return b.data;
}

/* A context with buffered output and error; NULL if libnftables has none
 * (out of memory). */
static struct nft_ctx *
ctx_new (void)
{
  struct nft_ctx *ctx = nft_ctx_new (NFT_CTX_DEFAULT);
  if (ctx)
    {
      nft_ctx_buffer_output (ctx);
      nft_ctx_buffer_error (ctx);
    }
  return ctx;
}

/* Run an nft script (one transaction).  Caller holds st->lock. */
static int
run_locked (nft_state_t *st, const char *text, arca_error_t *err)
{
  if (st->ctx == NULL && (st->ctx = ctx_new ()) == NULL)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "cannot create an nftables context");
  st->last_run_ns = time_mono_ns ();
  int r = nft_run_cmd_from_buffer (st->ctx, text);
  /* libnftables builds a cache of every table on the host for each run
   * (about 0.5 MB per table) and frees it at the end; glibc keeps those
   * pages in the calling thread's arena, so every API thread that ever
   * changed the table would keep ~10 MB: give them back. */
  malloc_trim (0);
  const char *msg = nft_ctx_get_error_buffer (st->ctx);
  if (r != 0)
    {
      log_debug ("nft ruleset rejected:\n%s", text);
      return arca_error_set (err, ARCA_ERR_INTERNAL, "nftables table %s: %s", st->table,
                             msg && *msg ? msg : "rejected");
    }
  return 0;
}

/* Replace the table with the current state; before nft_start, changes are
 * only recorded (the table of the previous run stays in force until the
 * whole state is known).  Caller holds st->lock. */
static int
apply_locked (nft_state_t *st, arca_error_t *err)
{
  if (!st->started)
    return 0;
  _cleanup_free_ char *text = ruleset_locked (st);
  int r = run_locked (st, text, err);
  st->stale = r < 0;
  return r;
}

/* Once an IPv6 network exists and the table (whose policy now covers
 * IPv6) is in force: net.ipv6.conf.{default,all}.forwarding = 1 (moby
 * bridge setupIPv6Forwarding).  Caller holds st->lock or is nft_start. */
static void
ipv6_forwarding_on (nft_state_t *st)
{
  if (!st->started || !st->ipv6_forwarding)
    return;
  write_sysctl ("/proc/sys/net/ipv6/conf/default/forwarding", "1");
  write_sysctl ("/proc/sys/net/ipv6/conf/all/forwarding", "1");
}

int
nft_init (arca_net_t *net, arca_error_t *err)
{
  const char *table = net->nft_table && *net->nft_table ? net->nft_table : "arca";
  if (!net_nft_table_name_valid (table))
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid nftables table name \"%s\"", table);
  nft_state_t *st = xmalloc0 (sizeof *st);
  pthread_mutex_init (&st->lock, NULL);
  st->table = xstrdup (table);
  st->forward_drop = !net->ip_forward_no_drop;
  /* the context is made by the first run (nft_start's, at start-up) */
  net->nft = st;
  return 0;
}

int
nft_start (arca_net_t *net, arca_error_t *err)
{
  nft_state_t *st = net->nft;
  pthread_mutex_lock (&st->lock);
  st->started = true;
  int r = apply_locked (st, err);
  pthread_mutex_unlock (&st->lock);
  if (r < 0)
    return -1;
  /* dockerd enables forwarding for its bridges too (EnableIPForwarding);
   * only now, with the forward policy in place. */
  write_sysctl ("/proc/sys/net/ipv4/ip_forward", "1");
  ipv6_forwarding_on (st);
  return 0;
}

void
nft_fini (arca_net_t *net)
{
  nft_state_t *st = net->nft;
  if (st == NULL)
    return;
  net->nft = NULL;
  while (st->nets)
    {
      nft_net_t *n = st->nets;
      st->nets = n->next;
      free (n);
    }
  while (st->ports)
    {
      nft_ports_t *p = st->ports;
      st->ports = p->next;
      free (p->rules);
      free (p);
    }
  if (st->ctx)
    nft_ctx_free (st->ctx);
  pthread_mutex_destroy (&st->lock);
  free (st->table);
  free (st);
}

void
nft_release_idle (arca_net_t *net, int64_t quiet_ns)
{
  nft_state_t *st = net->nft;
  /* a ruleset being changed is not idle: the daemon's main thread never
   * waits for one */
  if (st == NULL || pthread_mutex_trylock (&st->lock) != 0)
    return;
  bool release = st->ctx && time_mono_ns () - st->last_run_ns >= quiet_ns;
  if (release)
    {
      /* under the lock: nft_ctx_free also empties libnftables' global
       * interface cache, which a run in another context would read
       * (nftables src/libnftables.c, src/iface.c).  It takes 20-30 ms,
       * off the CPU: the close of its netlink socket waits for an RCU
       * grace period. */
      nft_ctx_free (st->ctx);
      st->ctx = NULL;
    }
  pthread_mutex_unlock (&st->lock);
  if (release)
    {
      malloc_trim (0);
      log_debug ("nftables context released: no ruleset change for %lld s", (long long) (quiet_ns / 1000000000));
    }
}

int
nft_network_add (arca_net_t *net, const arca_network_t *n, arca_error_t *err)
{
  nft_state_t *st = net->nft;
  if (st == NULL || n->bridge[0] == '\0')
    return 0;
  if (net_bridge_name_check (n->bridge, err) < 0)
    return -1;
  char addr[INET_ADDRSTRLEN];
  inet_ntop (AF_INET, &n->subnet, addr, sizeof addr);
  pthread_mutex_lock (&st->lock);
  nft_net_t *e = NULL, **tail = &st->nets;
  for (nft_net_t *it = st->nets; it; it = it->next)
    if (strcmp (it->bridge, n->bridge) == 0)
      e = it;
  while (*tail)
    tail = &(*tail)->next;
  if (e == NULL)
    {
      e = xmalloc0 (sizeof *e);
      snprintf (e->bridge, sizeof e->bridge, "%s", n->bridge);
      *tail = e;
    }
  snprintf (e->subnet, sizeof e->subnet, "%s/%d", addr, n->prefix);
  inet_ntop (AF_INET, &n->gateway, e->gateway, sizeof e->gateway);
  e->internal = n->internal;
  e->masquerade = n->masquerade;
  e->icc = n->icc;
  e->subnet6[0] = e->gateway6[0] = '\0';
  if (n->enable_ipv6 && n->has_v6)
    {
      struct in6_addr s6 = n->subnet6;
      for (int bit = n->prefix6; bit < 128; bit++) /* the network address: nft wants no host bits */
        s6.s6_addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
      char a6[INET6_ADDRSTRLEN];
      inet_ntop (AF_INET6, &s6, a6, sizeof a6);
      snprintf (e->subnet6, sizeof e->subnet6, "%s/%d", a6, n->prefix6);
      inet_ntop (AF_INET6, &n->gateway6, e->gateway6, sizeof e->gateway6);
      st->ipv6_forwarding = true;
    }
  int r = apply_locked (st, err);
  if (r == 0)
    ipv6_forwarding_on (st);
  pthread_mutex_unlock (&st->lock);
  return r;
}

int
nft_network_remove (arca_net_t *net, const arca_network_t *n, arca_error_t *err)
{
  nft_state_t *st = net->nft;
  if (st == NULL)
    return 0;
  pthread_mutex_lock (&st->lock);
  bool found = false;
  for (nft_net_t **it = &st->nets; *it;)
    if (strcmp ((*it)->bridge, n->bridge) == 0)
      {
        nft_net_t *dead = *it;
        *it = dead->next;
        free (dead);
        found = true;
      }
    else
      it = &(*it)->next;
  int r = found ? apply_locked (st, err) : 0;
  pthread_mutex_unlock (&st->lock);
  return r;
}

/* Unlink and return key's entry (NULL if none).  Caller holds st->lock. */
static nft_ports_t *
ports_take_locked (nft_state_t *st, const char *key)
{
  for (nft_ports_t **it = &st->ports; *it; it = &(*it)->next)
    if (strcmp ((*it)->key, key) == 0)
      {
        nft_ports_t *p = *it;
        *it = p->next;
        p->next = NULL;
        return p;
      }
  return NULL;
}

static void
ports_put_locked (nft_state_t *st, nft_ports_t *p)
{
  nft_ports_t **tail = &st->ports;
  while (*tail)
    tail = &(*tail)->next;
  *tail = p;
}

static bool
same_loopback_element (const nft_dnat_t *a, const nft_dnat_t *b)
{
  return a->host_ip.s_addr == b->host_ip.s_addr && a->host_port == b->host_port && strcmp (a->proto, b->proto) == 0;
}

/* Whether rules[0..i) has r's loopback-ports element already. */
static bool
loopback_seen (const nft_dnat_t *rules, size_t i, const nft_dnat_t *r)
{
  for (size_t k = 0; k < i; k++)
    if (is_loopback_binding (&rules[k]) && same_loopback_element (&rules[k], r))
      return true;
  return false;
}

/* Whether a binding in the state holds r's loopback-ports element. */
static bool
loopback_held (nft_state_t *st, const nft_dnat_t *r)
{
  for (nft_ports_t *p = st->ports; p; p = p->next)
    if (loopback_seen (p->rules, p->n, r))
      return true;
  return false;
}

/* The commands that bring the table from the old bindings of one
 * container (old, may be NULL) to its new ones: each host port's chain
 * refilled from the state (or deleted with its port-map element when no
 * binding is left on it: had[i] says it existed), and its loopback-ports
 * elements swapped.  One nft run, so one transaction. */
static char *
ports_update_script (nft_state_t *st, const port_key_t *keys, const bool *had, size_t nkeys, const nft_ports_t *old,
                     const nft_dnat_t *rules, size_t n)
{
  arca_buf_t b = { 0 };
  const char *t = st->table;
  buf_printf (&b, "%s", ""); /* an empty script when nothing changes */
  for (size_t i = 0; i < nkeys; i++)
    {
      const char *pr = keys[i].proto;
      int port = keys[i].port;
      if (port_in_use (st, &keys[i]))
        {
          buf_printf (&b, "add chain inet %s port-%s-%d\nflush chain inet %s port-%s-%d\n", t, pr, port, t, pr, port);
          _cleanup_free_ char *prefix = xasprintf ("add rule inet %s port-%s-%d ", t, pr, port);
          emit_port_rules (&b, st, &keys[i], prefix);
          buf_printf (&b, "add element inet %s port-map { %s . %d : jump port-%s-%d }\n", t, pr, port, pr, port);
        }
      else if (had[i])
        buf_printf (&b, "delete element inet %s port-map { %s . %d }\ndelete chain inet %s port-%s-%d\n", t, pr,
                    port, t, pr, port);
    }
  /* an element no binding holds any more goes (a delete of one that is not
   * there would fail the transaction); adding one already there is a no-op */
  for (size_t i = 0; old && i < old->n; i++)
    if (is_loopback_binding (&old->rules[i]) && !loopback_seen (old->rules, i, &old->rules[i])
        && !loopback_held (st, &old->rules[i]))
      {
        buf_printf (&b, "delete element inet %s loopback-ports { ", t);
        emit_loopback_element (&b, &old->rules[i]);
        buf_printf (&b, " }\n");
      }
  for (size_t i = 0; i < n; i++)
    if (is_loopback_binding (&rules[i]) && !loopback_seen (rules, i, &rules[i]))
      {
        buf_printf (&b, "add element inet %s loopback-ports { ", t);
        emit_loopback_element (&b, &rules[i]);
        buf_printf (&b, " }\n");
      }
  return b.data;
}

int
nft_ports_set (arca_net_t *net, const char *key, const nft_dnat_t *rules, size_t n, arca_error_t *err)
{
  nft_state_t *st = net->nft;
  if (st == NULL)
    return 0;
  for (size_t i = 0; i < n; i++)
    {
      const char *pr = rules[i].proto;
      if (strcmp (pr, "tcp") != 0 && strcmp (pr, "udp") != 0 && strcmp (pr, "sctp") != 0)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "published port: bad protocol \"%s\"", pr);
      if (rules[i].bridge[0] && net_bridge_name_check (rules[i].bridge, err) < 0)
        return -1;
    }
  pthread_mutex_lock (&st->lock);
  /* the host ports whose chains change, and which of them have one now */
  nft_ports_t *old = NULL;
  for (nft_ports_t *p = st->ports; p; p = p->next)
    if (strcmp (p->key, key) == 0)
      old = p;
  bool changed = (old && old->n > 0) || n > 0;
  size_t nkeys = 0;
  port_key_t *keys = old ? port_keys_add (NULL, &nkeys, old->rules, old->n) : NULL;
  keys = port_keys_add (keys, &nkeys, rules, n);
  bool *had = xmalloc0 ((nkeys + 1) * sizeof *had);
  for (size_t i = 0; i < nkeys; i++)
    had[i] = port_in_use (st, &keys[i]);
  old = ports_take_locked (st, key);
  if (n > 0)
    {
      nft_ports_t *p = xmalloc0 (sizeof *p);
      snprintf (p->key, sizeof p->key, "%s", key);
      p->rules = xmalloc0 (n * sizeof *rules);
      memcpy (p->rules, rules, n * sizeof *rules);
      p->n = n;
      ports_put_locked (st, p);
    }
  int r = 0;
  if (changed && st->started && st->stale)
    r = apply_locked (st, err);
  else if (changed && st->started)
    {
      _cleanup_free_ char *text = ports_update_script (st, keys, had, nkeys, old, rules, n);
      r = run_locked (st, text, err);
      if (r < 0)
        {
          /* the whole table from the state, as at start-up */
          log_warn ("nftables: published ports of %.12s: %s; rebuilding the table", key, err->msg);
          r = apply_locked (st, err);
        }
    }
  free (keys);
  free (had);
  if (old)
    {
      free (old->rules);
      free (old);
    }
  pthread_mutex_unlock (&st->lock);
  return r;
}

char *
nft_ruleset_text (arca_net_t *net)
{
  nft_state_t *st = net->nft;
  if (st == NULL)
    return NULL;
  pthread_mutex_lock (&st->lock);
  char *s = ruleset_locked (st);
  pthread_mutex_unlock (&st->lock);
  return s;
}
