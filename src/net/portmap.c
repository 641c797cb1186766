/* Published ports (docker run -p / -P), as dockerd's bridge driver does them:
 *
 * - allocation: fixed host ports, ranges ("8000-8010") and ephemeral ports
 *   from the kernel's ip_local_port_range (moby portallocator reads the same
 *   sysctl); an unspecified HostIp publishes on 0.0.0.0 and, when the host
 *   has IPv6, on "::" with the same port (dockerd 28).  A port Arca already
 *   handed out fails with "Bind for 0.0.0.0:8080 failed: port is already
 *   allocated"; a port another program holds fails at bind().
 * - a userland proxy per binding (dockerd's docker-proxy): the daemon's
 *   relay thread (relay.c) owns the listening socket, so the port is really
 *   held, and serves what DNAT cannot: 127.0.0.1 / ::1 and IPv6 addresses,
 *   and containers reaching a published port through a host address
 *   (hairpin).  One thread for every port and connection, with a cap on
 *   connections (config proxyMaxConnections).
 * - DNAT rules in Arca's nft table (nft.c) for IPv4 traffic to the host's
 *   other addresses, from outside or locally generated: the kernel datapath.
 *
 * Locking: pm->lock guards the container list and the allocation state; it
 * is held while sockets are bound (quick syscalls) but never while waiting
 * for the relay thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "net/nft_dnat.h"
#include "net/relay.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"

/* Default proxyMaxConnections, lowered at start when the daemon's fd limit
 * could not hold it (two fds per connection) with FD_RESERVE fds left for
 * everything else. */
#define PROXY_MAX_CONNS_DEFAULT 4096
#define PROXY_MAX_CONNS_MIN 64
#define FD_RESERVE 2048

typedef struct pm_bind
{
  char proto[8];            /* "tcp" | "udp" */
  int family;               /* AF_INET | AF_INET6 */
  char host_ip[INET6_ADDRSTRLEN]; /* as shown in HostIp: "0.0.0.0", "::", "127.0.0.1" */
  int host_port;
  char key[24];             /* "80/tcp" */
  int port;                 /* container port */
  struct in_addr addr;      /* container address */
  struct in6_addr addr6;    /* the container's IPv6 address (:: = none): an
                               IPv6 binding's target, as dockerd 20.10's
                               docker-proxy -host-ip :: -container-ip <v6> */
  int fd;                   /* listening socket until the relay takes it */
  relay_listener_t *rl;     /* in the relay: it owns the socket */
} pm_bind_t;

typedef struct pm_ctr
{
  struct pm_ctr *next;
  char id[65];
  pm_bind_t **b;
  size_t n;
} pm_ctr_t;

typedef struct
{
  pthread_mutex_t lock;
  relay_t *relay;
  pm_ctr_t *ctrs;
  int eph_lo, eph_hi, eph_next;
  bool ipv6;
} pm_state_t;

/* ------------------------------------------------------------ bindings -- */

static void
bind_free (pm_bind_t *b)
{
  if (b->fd >= 0)
    close (b->fd);
  free (b);
}

static pm_bind_t *
bind_new (const char *proto, int family, const char *host_ip, int host_port, const char *key, int port,
          struct in_addr addr)
{
  pm_bind_t *b = xmalloc0 (sizeof *b);
  snprintf (b->proto, sizeof b->proto, "%s", proto);
  b->family = family;
  snprintf (b->host_ip, sizeof b->host_ip, "%s", host_ip);
  b->host_port = host_port;
  snprintf (b->key, sizeof b->key, "%s", key);
  b->port = port;
  b->addr = addr;
  b->fd = -1;
  return b;
}

/* Bind (and listen, for TCP) host_ip:port; returns the fd or -errno. */
static int
open_host_socket (const char *proto, int family, const char *host_ip, int port)
{
  bool tcp = strcmp (proto, "tcp") == 0;
  int fd = socket (family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  int one = 1;
  if (tcp)
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_storage ss = { 0 };
  socklen_t len;
  if (family == AF_INET6)
    {
      setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
      struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons (port);
      inet_pton (AF_INET6, host_ip, &s6->sin6_addr);
      len = sizeof *s6;
    }
  else
    {
      struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;
      s4->sin_family = AF_INET;
      s4->sin_port = htons (port);
      inet_pton (AF_INET, host_ip, &s4->sin_addr);
      len = sizeof *s4;
    }
  if (bind (fd, (struct sockaddr *) &ss, len) < 0 || (tcp && listen (fd, 512) < 0))
    {
      int e = errno;
      close (fd);
      return -e;
    }
  return fd;
}

/* "0.0.0.0:80" / "[::]:80" as dockerd prints a host address. */
static char *
hostport_text (int family, const char *ip, int port)
{
  return family == AF_INET6 ? xasprintf ("[%s]:%d", ip, port) : xasprintf ("%s:%d", ip, port);
}

/* ---------------------------------------------------------------- proxy -- */

/* Hand the binding's socket to the relay. */
static int
bind_start (pm_state_t *pm, pm_bind_t *b, arca_error_t *err)
{
  if (b->fd < 0)
    return 0; /* SCTP: no proxy */
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons (b->port), .sin_addr = b->addr };
  struct sockaddr_in6 to6 = { .sin6_family = AF_INET6, .sin6_port = htons (b->port), .sin6_addr = b->addr6 };
  bool v6 = b->family == AF_INET6 && !IN6_IS_ADDR_UNSPECIFIED (&b->addr6);
  int fd = b->fd;
  b->fd = -1; /* the relay's from here, also on failure */
  return relay_listener_add (pm->relay, fd, strcmp (b->proto, "tcp") == 0,
                             v6 ? (const struct sockaddr *) &to6 : (const struct sockaddr *) &to,
                             v6 ? sizeof to6 : sizeof to, &b->rl, err);
}

/* Close the listener and its connections (the port is free on return) and
 * free the binding.  pm->lock NOT held (waits for the relay). */
static void
bind_stop (pm_state_t *pm, pm_bind_t *b)
{
  if (b->rl)
    relay_listener_remove (pm->relay, b->rl);
  bind_free (b);
}

/* ----------------------------------------------------------- allocation -- */

/* strerror as Go prints it ("address already in use"): dockerd's wording. */
static const char *
errno_text (int e)
{
  static __thread char buf[128];
  snprintf (buf, sizeof buf, "%s", strerror (e));
  if (buf[0] >= 'A' && buf[0] <= 'Z')
    buf[0] = (char) (buf[0] - 'A' + 'a');
  return buf;
}

static bool
ctr_holds (const pm_ctr_t *c, const char *proto, int family, const char *ip, int port)
{
  for (size_t i = 0; i < c->n; i++)
    {
      const pm_bind_t *b = c->b[i];
      if (b->host_port != port || b->family != family || strcmp (b->proto, proto) != 0)
        continue;
      bool any = strcmp (b->host_ip, "0.0.0.0") == 0 || strcmp (b->host_ip, "::") == 0
                 || strcmp (ip, "0.0.0.0") == 0 || strcmp (ip, "::") == 0;
      if (any || strcmp (b->host_ip, ip) == 0)
        return true;
    }
  return false;
}

/* Whether Arca handed out ip:port already, the container being published
 * (building) included: a host port twice in one run is refused, as
 * dockerd's port allocator refuses it. */
static bool
port_taken_locked (pm_state_t *pm, const pm_ctr_t *building, const char *proto, int family, const char *ip, int port)
{
  for (const pm_ctr_t *c = pm->ctrs; c; c = c->next)
    if (ctr_holds (c, proto, family, ip, port))
      return true;
  return building && ctr_holds (building, proto, family, ip, port);
}

/* One -p request: a container port, a protocol, host addresses (one, or
 * 0.0.0.0 + "::" for an unspecified HostIp) and a host port range
 * (lo == hi == 0: ephemeral). */
typedef struct
{
  char key[24];
  char proto[8];
  int port;
  const char *ips[2];
  int families[2];
  int nips;
  int lo, hi;
} pm_req_t;

static int
parse_port_key (const char *key, int *port, char proto[8])
{
  char *end;
  long p = strtol (key, &end, 10);
  if (end == key || p <= 0 || p > 65535)
    return -1;
  const char *pr = *end == '/' ? end + 1 : "tcp";
  if (*end != '\0' && *end != '/')
    return -1;
  if (strcmp (pr, "tcp") != 0 && strcmp (pr, "udp") != 0 && strcmp (pr, "sctp") != 0)
    return -1;
  *port = (int) p;
  snprintf (proto, 8, "%s", pr);
  return 0;
}

static int
parse_host_port (const char *s, int *lo, int *hi)
{
  *lo = *hi = 0;
  if (s == NULL || *s == '\0')
    return 0;
  char *end;
  long a = strtol (s, &end, 10), b = a;
  if (end == s)
    return -1;
  if (*end == '-')
    {
      const char *s2 = end + 1;
      b = strtol (s2, &end, 10);
      if (end == s2)
        return -1;
    }
  if (*end != '\0' || a < 0 || a > 65535 || b < a || b > 65535)
    return -1;
  *lo = (int) a;
  *hi = (int) b;
  return 0;
}

/* Try to hold `port` on every address of q; on success the fds are in out[]. */
static int
try_port_locked (pm_state_t *pm, const pm_ctr_t *building, const pm_req_t *q, int port, int out[2], bool *taken, int *bind_errno,
                 int *failed_ip)
{
  *taken = false;
  for (int i = 0; i < q->nips; i++)
    out[i] = -1;
  for (int i = 0; i < q->nips; i++)
    if (port_taken_locked (pm, building, q->proto, q->families[i], q->ips[i], port))
      {
        *taken = true;
        *failed_ip = i;
        return -1;
      }
  /* SCTP: DNAT only, no proxy (dockerd's needs the sctp module loaded) */
  if (strcmp (q->proto, "sctp") == 0)
    return 0;
  for (int i = 0; i < q->nips; i++)
    {
      int fd = open_host_socket (q->proto, q->families[i], q->ips[i], port);
      if (fd < 0)
        {
          for (int j = 0; j < i; j++)
            close (out[j]);
          *bind_errno = -fd;
          *failed_ip = i;
          return -1;
        }
      out[i] = fd;
    }
  return 0;
}

static void
ctr_stop_all (pm_state_t *pm, pm_ctr_t *c)
{
  for (size_t i = 0; i < c->n; i++)
    bind_stop (pm, c->b[i]);
  free (c->b);
  free (c);
}

static pm_ctr_t *
ctr_unlink_locked (pm_state_t *pm, const char *id)
{
  for (pm_ctr_t **it = &pm->ctrs; *it; it = &(*it)->next)
    if (strcmp ((*it)->id, id) == 0)
      {
        pm_ctr_t *c = *it;
        *it = c->next;
        return c;
      }
  return NULL;
}

static void
ctr_add_bind (pm_ctr_t *c, pm_bind_t *b)
{
  c->b = xrealloc (c->b, (c->n + 1) * sizeof *c->b);
  c->b[c->n++] = b;
}

/* The endpoint's bridge name (for the DNAT rules' iifname exception). */
static void
endpoint_bridge (arca_net_t *net, const arca_endpoint_t *ep, char out[16])
{
  out[0] = '\0';
  pthread_mutex_lock (&net->lock);
  arca_network_t *n = net_network_find_locked (net, ep->network_id);
  if (n)
    snprintf (out, 16, "%s", n->bridge);
  pthread_mutex_unlock (&net->lock);
}

/* Start the proxies of c and install its DNAT rules; on failure everything
 * of c is released by the caller. */
static int
ctr_activate (arca_net_t *net, pm_ctr_t *c, const arca_endpoint_t *ep, arca_error_t *err)
{
  char bridge[16];
  endpoint_bridge (net, ep, bridge);
  _cleanup_free_ nft_dnat_t *rules = xmalloc0 ((c->n + 1) * sizeof *rules);
  size_t nr = 0;
  for (size_t i = 0; i < c->n; i++)
    {
      pm_bind_t *b = c->b[i];
      if (bind_start (net->portmap, b, err) < 0)
        return -1;
      if (b->family == AF_INET6)
        {
          /* IPv6 DNAT to the container's IPv6 address (dockerd with
           * ip6tables); without one the proxy serves IPv6 (dockerd 20.10) */
          if (IN6_IS_ADDR_UNSPECIFIED (&b->addr6))
            continue;
          nft_dnat_t *r = &rules[nr++];
          r->family = AF_INET6;
          snprintf (r->proto, sizeof r->proto, "%s", b->proto);
          inet_pton (AF_INET6, b->host_ip, &r->host_ip6);
          r->host_port = b->host_port;
          r->addr6 = b->addr6;
          r->port = b->port;
          snprintf (r->bridge, sizeof r->bridge, "%s", bridge);
          continue;
        }
      if (b->family != AF_INET)
        continue;
      struct in_addr hip;
      inet_pton (AF_INET, b->host_ip, &hip);
      nft_dnat_t *r = &rules[nr++];
      snprintf (r->proto, sizeof r->proto, "%s", b->proto);
      r->host_ip = hip;
      r->host_port = b->host_port;
      r->addr = b->addr;
      r->port = b->port;
      snprintf (r->bridge, sizeof r->bridge, "%s", bridge);
    }
  return nft_ports_set (net, c->id, rules, nr, err);
}

/* NetworkSettings.Ports of c: every exposed or bound port as "80/tcp";
 * those with no host binding map to null (dockerd). */
static void
ports_add_keys (json_t *o, json_t *ports_obj)
{
  const char *k;
  json_t *v;
  json_object_foreach (ports_obj, k, v)
  {
    int p;
    char proto[8], key[24];
    if (parse_port_key (k, &p, proto) < 0)
      continue;
    snprintf (key, sizeof key, "%d/%s", p, proto);
    if (!json_object_get (o, key))
      json_object_set_new (o, key, json_null ());
  }
}

static json_t *
ports_view (pm_ctr_t *c, json_t *exposed, json_t *bindings)
{
  json_t *o = json_object ();
  ports_add_keys (o, exposed);
  ports_add_keys (o, bindings);
  for (size_t i = 0; c && i < c->n; i++)
    {
      pm_bind_t *b = c->b[i];
      json_t *arr = json_object_get (o, b->key);
      if (!json_is_array (arr))
        {
          arr = json_array ();
          json_object_set_new (o, b->key, arr);
        }
      char port[8];
      snprintf (port, sizeof port, "%d", b->host_port);
      json_array_append_new (arr, json_pack ("{s:s,s:s}", "HostIp", b->host_ip, "HostPort", port));
    }
  return o;
}

/* ------------------------------------------------------------- public -- */

static bool
host_has_ipv6 (void)
{
  FILE *f = fopen ("/proc/sys/net/ipv6/conf/all/disable_ipv6", "re");
  if (f == NULL)
    return false;
  int v = 1;
  if (fscanf (f, "%d", &v) != 1)
    v = 1;
  fclose (f);
  if (v != 0)
    return false;
  int fd = socket (AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  close (fd);
  return true;
}

/* proxyMaxConnections, within what the fd limit allows: two fds per
 * connection, FD_RESERVE left for the API, DNS, containers... */
static int
proxy_max_conns (int configured)
{
  int want = configured > 0 ? configured : PROXY_MAX_CONNS_DEFAULT;
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    {
      long room = ((long) rl.rlim_cur - FD_RESERVE) / 2;
      if (room < PROXY_MAX_CONNS_MIN)
        room = PROXY_MAX_CONNS_MIN;
      if (want > room)
        {
          if (configured > 0)
            log_warn ("proxyMaxConnections %d lowered to %ld: the open files limit is %ld", configured, room,
                      (long) rl.rlim_cur);
          want = (int) room;
        }
    }
  return want;
}

int
portmap_init (arca_net_t *net, arca_error_t *err)
{
  pm_state_t *pm = xmalloc0 (sizeof *pm);
  int max_conns = proxy_max_conns (net->proxy_max_connections);
  if (relay_start (max_conns, &pm->relay, err) < 0)
    {
      free (pm);
      return -1;
    }
  log_debug ("port proxy: at most %d connections", max_conns);
  pthread_mutex_init (&pm->lock, NULL);
  /* moby portallocator: the kernel's ephemeral range, else 49153-65535 */
  pm->eph_lo = 49153;
  pm->eph_hi = 65535;
  FILE *f = fopen ("/proc/sys/net/ipv4/ip_local_port_range", "re");
  if (f)
    {
      int lo, hi;
      if (fscanf (f, "%d %d", &lo, &hi) == 2 && lo > 0 && hi >= lo && hi <= 65535)
        {
          pm->eph_lo = lo;
          pm->eph_hi = hi;
        }
      fclose (f);
    }
  pm->eph_next = pm->eph_lo;
  pm->ipv6 = host_has_ipv6 ();
  net->portmap = pm;
  return 0;
}

void
portmap_fini (arca_net_t *net)
{
  pm_state_t *pm = net->portmap;
  if (pm == NULL)
    return;
  pthread_mutex_lock (&pm->lock);
  pm_ctr_t *list = pm->ctrs;
  pm->ctrs = NULL;
  pthread_mutex_unlock (&pm->lock);
  while (list)
    {
      pm_ctr_t *c = list;
      list = c->next;
      ctr_stop_all (pm, c); /* DNAT rules stay: the table outlives the daemon */
    }
  net->portmap = NULL;
  relay_stop (pm->relay);
  pthread_mutex_destroy (&pm->lock);
  free (pm);
}

static int
req_add (pm_req_t **reqs, size_t *n, const char *key, int port, const char *proto, const char *host_ip,
         const char *host_port, bool ipv6, arca_error_t *err)
{
  pm_req_t q = { 0 };
  snprintf (q.key, sizeof q.key, "%d/%s", port, proto);
  snprintf (q.proto, sizeof q.proto, "%s", proto);
  q.port = port;
  if (parse_host_port (host_port, &q.lo, &q.hi) < 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid port specification: \"%s\"", host_port);
  static const char *const any4 = "0.0.0.0", *const any6 = "::";
  if (host_ip == NULL || *host_ip == '\0')
    {
      q.ips[q.nips] = any4;
      q.families[q.nips++] = AF_INET;
      if (ipv6)
        {
          q.ips[q.nips] = any6;
          q.families[q.nips++] = AF_INET6;
        }
    }
  else
    {
      struct in6_addr a6;
      struct in_addr a4;
      if (inet_pton (AF_INET, host_ip, &a4) == 1)
        q.families[0] = AF_INET;
      else if (inet_pton (AF_INET6, host_ip, &a6) == 1)
        q.families[0] = AF_INET6;
      else
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid IP address: %s", host_ip);
      q.ips[0] = host_ip;
      q.nips = 1;
    }
  (void) key;
  *reqs = xrealloc (*reqs, (*n + 1) * sizeof **reqs);
  (*reqs)[(*n)++] = q;
  return 0;
}

/* Allocate and bind one request, adding its bindings to c. */
static int
req_bind_locked (pm_state_t *pm, pm_ctr_t *c, const pm_req_t *q, const arca_endpoint_t *ep, arca_error_t *err)
{
  int fds[2] = { -1, -1 };
  bool taken = false;
  int bind_errno = 0, failed_ip = 0, port = 0;
  char caddr[INET_ADDRSTRLEN];
  inet_ntop (AF_INET, &ep->addr, caddr, sizeof caddr);
  const char *ename = ep->container_name ? ep->container_name : "";
  if (q->lo != 0 && q->lo == q->hi)
    {
      port = q->lo;
      if (try_port_locked (pm, c, q, port, fds, &taken, &bind_errno, &failed_ip) < 0)
        {
          _cleanup_free_ char *hp = hostport_text (q->families[failed_ip], q->ips[failed_ip], port);
          if (taken)
            return arca_error_set (err, ARCA_ERR_INTERNAL,
                                   "driver failed programming external connectivity on endpoint %s (%s): "
                                   "Bind for %s failed: port is already allocated",
                                   ename, ep->id, hp);
          return arca_error_set (err, ARCA_ERR_INTERNAL,
                                 "driver failed programming external connectivity on endpoint %s (%s): "
                                 "failed to bind host port for %s:%s:%d/%s: %s",
                                 ename, ep->id, hp, caddr, q->port, q->proto, errno_text (bind_errno));
        }
    }
  else
    {
      /* a range, or ephemeral: the first port free for Arca and the kernel,
       * ephemeral ones round-robin from the last handed out (portallocator) */
      bool eph = q->lo == 0;
      int lo = eph ? pm->eph_lo : q->lo, hi = eph ? pm->eph_hi : q->hi;
      int span = hi - lo + 1, start = eph ? pm->eph_next : lo;
      bool ok = false;
      for (int i = 0; i < span && !ok; i++)
        {
          port = lo + ((start - lo + i) % span);
          ok = try_port_locked (pm, c, q, port, fds, &taken, &bind_errno, &failed_ip) == 0;
        }
      if (!ok)
        {
          if (eph)
            return arca_error_set (err, ARCA_ERR_INTERNAL,
                                   "driver failed programming external connectivity on endpoint %s (%s): "
                                   "no available ports",
                                   ename, ep->id);
          _cleanup_free_ char *hp = xasprintf ("%s:%d-%d", q->families[0] == AF_INET6 ? "[::]" : q->ips[0], lo, hi);
          return arca_error_set (err, ARCA_ERR_INTERNAL,
                                 "driver failed programming external connectivity on endpoint %s (%s): "
                                 "Bind for %s failed: port is already allocated",
                                 ename, ep->id, hp);
        }
      if (eph)
        pm->eph_next = port + 1 > pm->eph_hi ? pm->eph_lo : port + 1;
    }
  for (int i = 0; i < q->nips; i++)
    {
      pm_bind_t *b = bind_new (q->proto, q->families[i], q->ips[i], port, q->key, q->port, ep->addr);
      b->addr6 = ep->addr6;
      b->fd = fds[i];
      ctr_add_bind (c, b);
    }
  return 0;
}

static int
req_cmp (const void *a, const void *b)
{
  const pm_req_t *x = a, *y = b;
  if (x->port != y->port)
    return x->port - y->port;
  return strcmp (x->proto, y->proto);
}

int
portmap_container_publish (arca_net_t *net, const char *container_id, json_t *port_bindings, json_t *exposed,
                           bool publish_all, const arca_endpoint_t *ep, json_t **ports, arca_error_t *err)
{
  pm_state_t *pm = net->portmap;
  *ports = NULL;
  portmap_container_unpublish (net, container_id); /* a start after a crash-restart */
  _cleanup_free_ pm_req_t *reqs = NULL;
  size_t nreq = 0;
  const char *k;
  json_t *v;
  json_object_foreach (port_bindings, k, v)
  {
    int port;
    char proto[8];
    if (parse_port_key (k, &port, proto) < 0)
      return arca_error_set (err, ARCA_ERR_INVALID, "invalid port specification: \"%s\"", k);
    size_t i;
    json_t *pb;
    if (!json_is_array (v) || json_array_size (v) == 0)
      {
        /* a key with no bindings publishes nothing, unless -P */
        if (publish_all && req_add (&reqs, &nreq, k, port, proto, "", "", pm->ipv6, err) < 0)
          return -1;
        continue;
      }
    json_array_foreach (v, i, pb)
    {
      if (req_add (&reqs, &nreq, k, port, proto, json_get_str (pb, "HostIp"), json_get_str (pb, "HostPort"),
                   pm->ipv6, err)
          < 0)
        return -1;
    }
  }
  if (publish_all)
    json_object_foreach (exposed, k, v)
    {
      int port;
      char proto[8], key[24];
      if (parse_port_key (k, &port, proto) < 0)
        continue;
      snprintf (key, sizeof key, "%d/%s", port, proto);
      if (json_object_get (port_bindings, k) || json_object_get (port_bindings, key))
        continue;
      if (req_add (&reqs, &nreq, key, port, proto, "", "", pm->ipv6, err) < 0)
        return -1;
    }
  if (nreq > 1)
    qsort (reqs, nreq, sizeof *reqs, req_cmp);

  pm_ctr_t *c = xmalloc0 (sizeof *c);
  snprintf (c->id, sizeof c->id, "%s", container_id);
  pthread_mutex_lock (&pm->lock);
  int r = 0;
  for (size_t i = 0; i < nreq && r == 0; i++)
    r = req_bind_locked (pm, c, &reqs[i], ep, err);
  if (r == 0)
    {
      c->next = pm->ctrs;
      pm->ctrs = c;
    }
  pthread_mutex_unlock (&pm->lock);
  if (r < 0)
    {
      ctr_stop_all (pm, c);
      return -1;
    }
  if (ctr_activate (net, c, ep, err) < 0)
    {
      portmap_container_unpublish (net, container_id);
      return -1;
    }
  *ports = ports_view (c, exposed, port_bindings);
  return 0;
}

int
portmap_container_restore (arca_net_t *net, const char *container_id, json_t *ports, const arca_endpoint_t *ep,
                           arca_error_t *err)
{
  pm_state_t *pm = net->portmap;
  portmap_container_unpublish (net, container_id);
  pm_ctr_t *c = xmalloc0 (sizeof *c);
  snprintf (c->id, sizeof c->id, "%s", container_id);
  pthread_mutex_lock (&pm->lock);
  const char *k;
  json_t *v;
  json_object_foreach (ports, k, v)
  {
    int port;
    char proto[8];
    size_t i;
    json_t *pb;
    if (parse_port_key (k, &port, proto) < 0 || !json_is_array (v))
      continue;
    json_array_foreach (v, i, pb)
    {
      const char *ip = json_get_str (pb, "HostIp");
      const char *hp = json_get_str (pb, "HostPort");
      int lo, hi;
      struct in_addr a4;
      struct in6_addr a6;
      if (ip == NULL || parse_host_port (hp, &lo, &hi) < 0 || lo == 0)
        continue;
      int family = inet_pton (AF_INET, ip, &a4) == 1 ? AF_INET : inet_pton (AF_INET6, ip, &a6) == 1 ? AF_INET6 : 0;
      if (family == 0)
        continue;
      int fd = strcmp (proto, "sctp") == 0 ? -1 : open_host_socket (proto, family, ip, lo);
      if (fd < 0 && strcmp (proto, "sctp") != 0)
        {
          _cleanup_free_ char *t = hostport_text (family, ip, lo);
          log_warn ("container %.12s: cannot publish %s again for %s: %s", container_id, t, k, strerror (-fd));
          continue;
        }
      char key[24];
      snprintf (key, sizeof key, "%d/%s", port, proto);
      pm_bind_t *b = bind_new (proto, family, ip, lo, key, port, ep->addr);
      b->addr6 = ep->addr6;
      b->fd = fd;
      ctr_add_bind (c, b);
    }
  }
  c->next = pm->ctrs;
  pm->ctrs = c;
  pthread_mutex_unlock (&pm->lock);
  if (ctr_activate (net, c, ep, err) < 0)
    {
      portmap_container_unpublish (net, container_id);
      return -1;
    }
  return 0;
}

void
portmap_container_unpublish (arca_net_t *net, const char *container_id)
{
  pm_state_t *pm = net->portmap;
  if (pm == NULL)
    return;
  pthread_mutex_lock (&pm->lock);
  pm_ctr_t *c = ctr_unlink_locked (pm, container_id);
  pthread_mutex_unlock (&pm->lock);
  if (c == NULL)
    return;
  arca_error_t err = { 0 };
  if (nft_ports_set (net, container_id, NULL, 0, &err) < 0)
    log_warn ("container %.12s: removing DNAT rules: %s", container_id, err.msg);
  ctr_stop_all (pm, c);
}

typedef struct
{
  int port;
  char proto[8];
  const char *ip;
  int public_port;
} summary_item_t;

static int
summary_cmp (const void *a, const void *b)
{
  const summary_item_t *x = a, *y = b;
  if (x->port != y->port)
    return x->port - y->port;
  int c = strcmp (x->proto, y->proto);
  if (c)
    return c;
  c = strcmp (x->ip ? x->ip : "", y->ip ? y->ip : "");
  return c ? c : x->public_port - y->public_port;
}

json_t *
portmap_summary (json_t *ports, json_t *exposed)
{
  json_t *arr = json_array ();
  if (!json_is_object (ports))
    return arr;
  size_t cap = 0, n = 0;
  _cleanup_free_ summary_item_t *items = NULL;
  const char *k;
  json_t *v;
  json_object_foreach (ports, k, v)
  {
    int port;
    char proto[8];
    if (parse_port_key (k, &port, proto) < 0)
      continue;
    size_t cnt = json_is_array (v) && json_array_size (v) ? json_array_size (v) : 1;
    if (n + cnt > cap)
      {
        cap = (n + cnt) * 2;
        items = xrealloc (items, cap * sizeof *items);
      }
    if (!json_is_array (v) || json_array_size (v) == 0)
      {
        items[n++] = (summary_item_t) { .port = port, .ip = NULL, .public_port = 0 };
        snprintf (items[n - 1].proto, 8, "%s", proto);
        continue;
      }
    size_t i;
    json_t *pb;
    json_array_foreach (v, i, pb)
    {
      const char *hp = json_get_str (pb, "HostPort");
      items[n++] = (summary_item_t) { .port = port, .ip = json_get_str (pb, "HostIp"),
                                      .public_port = hp ? atoi (hp) : 0 };
      snprintf (items[n - 1].proto, 8, "%s", proto);
    }
  }
  /* exposed ports a running container does not list (older records) */
  json_object_foreach (exposed, k, v)
  {
    int port;
    char proto[8], key[24];
    if (parse_port_key (k, &port, proto) < 0)
      continue;
    snprintf (key, sizeof key, "%d/%s", port, proto);
    if (json_object_get (ports, key))
      continue;
    if (n + 1 > cap)
      {
        cap = (n + 1) * 2;
        items = xrealloc (items, cap * sizeof *items);
      }
    items[n++] = (summary_item_t) { .port = port };
    snprintf (items[n - 1].proto, 8, "%s", proto);
  }
  if (n > 1)
    qsort (items, n, sizeof *items, summary_cmp);
  for (size_t i = 0; i < n; i++)
    {
      if (items[i].ip)
        json_array_append_new (arr, json_pack ("{s:s,s:i,s:i,s:s}", "IP", items[i].ip, "PrivatePort", items[i].port,
                                               "PublicPort", items[i].public_port, "Type", items[i].proto));
      else
        json_array_append_new (arr, json_pack ("{s:i,s:s}", "PrivatePort", items[i].port, "Type", items[i].proto));
    }
  return arr;
}
