/* nftables: one table owned by Arca (config nftTable, default "arca", family
 * inet) holding every rule the engine needs, as dockerd's iptables chains do:
 *
 *   prerouting/output (nat)  published ports: DNAT of traffic for a local
 *                            address (output: not 127/8, which the userland
 *                            proxy serves, as dockerd's docker-proxy does)
 *   postrouting (nat)        masquerade of each bridge subnet leaving through
 *                            another interface (enable_ip_masquerade, not
 *                            --internal)
 *   forward (filter)         --internal: nothing in or out of the bridge;
 *                            isolation: no forwarding between two Arca
 *                            bridges (DNATed published ports excepted);
 *                            enable_icc=false: none within the bridge
 *
 * The whole table is regenerated from the in-memory state and replaced in
 * one nft transaction ("add table; delete table; table {...}") at every
 * change: idempotent, atomic, and a daemon that crashed simply rebuilds it
 * at start-up.  Established connections keep their NAT bindings across a
 * rebuild (they live in conntrack, not in the table). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

typedef struct nft_net
{
  struct nft_net *next;
  char bridge[16];
  char subnet[24];           /* "172.18.0.0/16" */
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
  struct nft_ctx *ctx;
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

/* Ruleset text; caller holds st->lock. */
static char *
ruleset_locked (nft_state_t *st)
{
  arca_buf_t b = { 0 };
  const char *t = st->table;
  buf_printf (&b, "add table inet %s\ndelete table inet %s\ntable inet %s {\n", t, t, t);

  buf_printf (&b, "  set bridges {\n    type ifname\n");
  if (st->nets)
    {
      buf_printf (&b, "    elements = { ");
      for (nft_net_t *n = st->nets; n; n = n->next)
        buf_printf (&b, "\"%s\"%s", n->bridge, n->next ? ", " : "");
      buf_printf (&b, " }\n");
    }
  buf_printf (&b, "  }\n");

  /* Published ports: a chain of DNAT rules jumped to for local addresses. */
  buf_printf (&b, "  chain ports {\n");
  for (nft_ports_t *p = st->ports; p; p = p->next)
    for (size_t i = 0; i < p->n; i++)
      {
        const nft_dnat_t *r = &p->rules[i];
        char host[INET_ADDRSTRLEN], addr[INET_ADDRSTRLEN];
        inet_ntop (AF_INET, &r->host_ip, host, sizeof host);
        inet_ntop (AF_INET, &r->addr, addr, sizeof addr);
        buf_printf (&b, "    iifname != \"%s\" ", r->bridge);
        if (r->host_ip.s_addr != 0)
          buf_printf (&b, "ip daddr %s ", host);
        buf_printf (&b, "%s dport %d dnat ip to %s:%d\n", r->proto, r->host_port, addr, r->port);
      }
  buf_printf (&b, "  }\n");
  buf_printf (&b, "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n"
                  "    fib daddr type local jump ports\n  }\n");
  buf_printf (&b, "  chain output {\n    type nat hook output priority -100; policy accept;\n"
                  "    ip daddr != 127.0.0.0/8 fib daddr type local jump ports\n  }\n");

  buf_printf (&b, "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n");
  for (nft_net_t *n = st->nets; n; n = n->next)
    if (n->masquerade && !n->internal)
      buf_printf (&b, "    ip saddr %s oifname != \"%s\" masquerade\n", n->subnet, n->bridge);
  buf_printf (&b, "  }\n");

  buf_printf (&b, "  chain forward {\n    type filter hook forward priority filter; policy accept;\n");
  for (nft_net_t *n = st->nets; n; n = n->next)
    if (n->internal)
      buf_printf (&b, "    iifname \"%s\" oifname != \"%s\" drop\n    oifname \"%s\" iifname != \"%s\" drop\n",
                  n->bridge, n->bridge, n->bridge, n->bridge);
  buf_printf (&b, "    ct state established,related accept\n    ct status dnat accept\n");
  for (nft_net_t *n = st->nets; n; n = n->next)
    {
      if (!n->icc)
        buf_printf (&b, "    iifname \"%s\" oifname \"%s\" drop\n", n->bridge, n->bridge);
      buf_printf (&b, "    iifname \"%s\" oifname != \"%s\" oifname @bridges drop\n", n->bridge, n->bridge);
    }
  buf_printf (&b, "  }\n}\n");
  return b.data;
}

static int
apply_locked (nft_state_t *st, arca_error_t *err)
{
  _cleanup_free_ char *text = ruleset_locked (st);
  int r = nft_run_cmd_from_buffer (st->ctx, text);
  const char *msg = nft_ctx_get_error_buffer (st->ctx);
  if (r != 0)
    {
      log_debug ("nft ruleset rejected:\n%s", text);
      return arca_error_set (err, ARCA_ERR_INTERNAL, "nftables table %s: %s", st->table,
                             msg && *msg ? msg : "rejected");
    }
  return 0;
}

int
nft_init (arca_net_t *net, arca_error_t *err)
{
  nft_state_t *st = xmalloc0 (sizeof *st);
  pthread_mutex_init (&st->lock, NULL);
  st->table = xstrdup (net->nft_table && *net->nft_table ? net->nft_table : "arca");
  st->ctx = nft_ctx_new (NFT_CTX_DEFAULT);
  if (st->ctx == NULL)
    {
      free (st->table);
      free (st);
      return arca_error_set (err, ARCA_ERR_INTERNAL, "cannot create an nftables context");
    }
  nft_ctx_buffer_output (st->ctx);
  nft_ctx_buffer_error (st->ctx);
  net->nft = st;
  /* dockerd enables forwarding for its bridges too (EnableIPForwarding). */
  write_sysctl ("/proc/sys/net/ipv4/ip_forward", "1");
  pthread_mutex_lock (&st->lock);
  int r = apply_locked (st, err);
  pthread_mutex_unlock (&st->lock);
  if (r < 0)
    {
      nft_fini (net);
      return -1;
    }
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
  nft_ctx_free (st->ctx);
  pthread_mutex_destroy (&st->lock);
  free (st->table);
  free (st);
}

int
nft_network_add (arca_net_t *net, const arca_network_t *n, arca_error_t *err)
{
  nft_state_t *st = net->nft;
  if (st == NULL || n->bridge[0] == '\0')
    return 0;
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
  e->internal = n->internal;
  e->masquerade = n->masquerade;
  e->icc = n->icc;
  int r = apply_locked (st, err);
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

int
nft_ports_set (arca_net_t *net, const char *key, const nft_dnat_t *rules, size_t n, arca_error_t *err)
{
  nft_state_t *st = net->nft;
  if (st == NULL)
    return 0;
  pthread_mutex_lock (&st->lock);
  bool changed = false;
  for (nft_ports_t **it = &st->ports; *it;)
    if (strcmp ((*it)->key, key) == 0)
      {
        nft_ports_t *dead = *it;
        *it = dead->next;
        changed = changed || dead->n > 0;
        free (dead->rules);
        free (dead);
      }
    else
      it = &(*it)->next;
  if (n > 0)
    {
      nft_ports_t *p = xmalloc0 (sizeof *p);
      snprintf (p->key, sizeof p->key, "%s", key);
      p->rules = xmalloc0 (n * sizeof *rules);
      memcpy (p->rules, rules, n * sizeof *rules);
      p->n = n;
      nft_ports_t **tail = &st->ports;
      while (*tail)
        tail = &(*tail)->next;
      *tail = p;
      changed = true;
    }
  int r = changed ? apply_locked (st, err) : 0;
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
