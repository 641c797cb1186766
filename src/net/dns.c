/* Embedded DNS server (moby libnetwork resolver.go): 127.0.0.11:53, UDP and
 * TCP, inside the network namespace of every container attached to a
 * user-defined network.
 *
 * The sockets are created inside the container's netns by a short-lived
 * helper thread (setns is per thread for CLONE_NEWNET) and then served from
 * the daemon's own namespace: a socket keeps the namespace it was created
 * in.  One thread polls every UDP socket and TCP listener; the asker is the
 * container whose socket the query arrived on.
 *
 * Answers (as dockerd): A for container names, aliases, short IDs and
 * hostnames of containers sharing a user network with the asker, looked up
 * in the live network state at every query (net_dns_lookup), so a removed or
 * disconnected container stops resolving at once; TTL 600.  AAAA for such a
 * name: empty NOERROR (no IPv6).  "<name>.<network>" too, for a network
 * the asker is on (dockerd's Sandbox.ResolveName).  PTR for their addresses:
 * "<container name>.<network name>".  Anything else is forwarded, from the
 * daemon's namespace, to the container's --dns servers (dns_set_servers_fn)
 * or the host's resolv.conf nameservers (host loopback ones included, as
 * dockerd's "host(...)" servers): UDP with a short timeout, TCP when the
 * answer is truncated or the query came over TCP.  Containers with no network giving
 * external access (only --internal networks) get SERVFAIL, as dockerd.
 *
 * DNS messages are parsed and built with ldns; forwarded messages are
 * relayed byte for byte.
 *
 * Locking: d->lock guards the entry list and each entry's fields; it is
 * never held while calling net_* (which takes net->lock) nor across I/O.
 * Entries are reference counted: a query being answered keeps its entry's
 * sockets open after a detach. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "net/net.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strutil.h"

#define DNS_ADDR "127.0.0.11"
#define DNS_TTL 600                 /* moby respTTL */
#define DNS_FWD_TIMEOUT_MS 2000     /* per upstream, UDP; TCP twice that */
#define DNS_TCP_IDLE_S 5            /* client TCP connections */
#define DNS_MAX_ADDRS 32

typedef struct dns_entry
{
  struct dns_entry *next;
  int refs;                  /* under d->lock */
  char container_id[65];
  dev_t ns_dev;              /* the netns the sockets live in */
  ino_t ns_ino;
  int udp_fd, tcp_fd;
} dns_entry_t;

typedef struct
{
  arca_net_t *net;
  pthread_mutex_t lock;
  dns_entry_t *entries;
  dns_servers_fn servers_fn;  /* the container's --dns servers (engine) */
  void *servers_ud;
  int wake_fd;                /* eventfd: entry list changed / stop */
  bool stopping;
  pthread_t thread;
} dns_t;

static void
entry_unref_locked (dns_entry_t *en)
{
  if (--en->refs > 0)
    return;
  if (en->udp_fd >= 0)
    close (en->udp_fd);
  if (en->tcp_fd >= 0)
    close (en->tcp_fd);
  free (en);
}

static void
entry_unref (dns_t *d, dns_entry_t *en)
{
  pthread_mutex_lock (&d->lock);
  entry_unref_locked (en);
  pthread_mutex_unlock (&d->lock);
}

static void
wake (dns_t *d)
{
  uint64_t one = 1;
  if (write (d->wake_fd, &one, sizeof one) < 0)
    log_debug ("dns: wake: %m");
}

/* ---- answering ---- */

/* True when the container has an active endpoint on a network with a way
 * out (not --internal): dockerd only forwards for those. */
static bool
has_external_access (arca_net_t *net, const char *container_id)
{
  bool ext = false;
  pthread_mutex_lock (&net->lock);
  for (arca_endpoint_t *ep = net->endpoints; ep && !ext; ep = ep->next)
    {
      if (!ep->active || strcmp (ep->container_id, container_id) != 0)
        continue;
      for (arca_network_t *n = net->networks; n; n = n->next)
        if (strcmp (n->id, ep->network_id) == 0)
          {
            ext = !n->internal;
            break;
          }
    }
  pthread_mutex_unlock (&net->lock);
  return ext;
}

/* A response to q carrying the question, with rcode and the given A
 * records; wire form (malloc'd) in *out. */
static int
build_response (ldns_pkt *q, uint8_t rcode, const struct in_addr *addrs, int n, const char *ptr, uint8_t **out,
                size_t *len)
{
  ldns_pkt *r = ldns_pkt_new ();
  if (r == NULL)
    return -1;
  ldns_pkt_set_id (r, ldns_pkt_id (q));
  ldns_pkt_set_qr (r, true);
  ldns_pkt_set_opcode (r, ldns_pkt_get_opcode (q));
  ldns_pkt_set_rd (r, ldns_pkt_rd (q));
  ldns_pkt_set_ra (r, true);
  ldns_pkt_set_rcode (r, rcode);
  ldns_rr_list *qs = ldns_pkt_question (q);
  ldns_rr *qrr = qs && ldns_rr_list_rr_count (qs) > 0 ? ldns_rr_list_rr (qs, 0) : NULL;
  if (qrr)
    {
      ldns_pkt_push_rr (r, LDNS_SECTION_QUESTION, ldns_rr_clone (qrr));
      for (int i = 0; i < n; i++)
        {
          ldns_rr *a = ldns_rr_new ();
          ldns_rr_set_owner (a, ldns_rdf_clone (ldns_rr_owner (qrr)));
          ldns_rr_set_type (a, LDNS_RR_TYPE_A);
          ldns_rr_set_class (a, LDNS_RR_CLASS_IN);
          ldns_rr_set_ttl (a, DNS_TTL);
          ldns_rr_push_rdf (a, ldns_rdf_new_frm_data (LDNS_RDF_TYPE_A, 4, &addrs[i]));
          ldns_pkt_push_rr (r, LDNS_SECTION_ANSWER, a);
        }
      ldns_rdf *target = ptr ? ldns_dname_new_frm_str (ptr) : NULL;
      if (target)
        {
          ldns_rr *p = ldns_rr_new ();
          ldns_rr_set_owner (p, ldns_rdf_clone (ldns_rr_owner (qrr)));
          ldns_rr_set_type (p, LDNS_RR_TYPE_PTR);
          ldns_rr_set_class (p, LDNS_RR_CLASS_IN);
          ldns_rr_set_ttl (p, DNS_TTL);
          ldns_rr_push_rdf (p, target);
          ldns_pkt_push_rr (r, LDNS_SECTION_ANSWER, p);
        }
    }
  ldns_status st = ldns_pkt2wire (out, r, len);
  ldns_pkt_free (r);
  return st == LDNS_STATUS_OK ? 0 : -1;
}

/* The header-only error answer for a message ldns could not parse: same ID,
 * QR set, FORMERR, nothing else. */
static uint8_t *
formerr (const uint8_t *q, size_t qlen, size_t *len)
{
  if (qlen < 12)
    return NULL;
  uint8_t *r = xmalloc0 (12);
  r[0] = q[0];
  r[1] = q[1];
  r[2] = (uint8_t) (0x80 | (q[2] & 0x79)); /* QR, opcode, RD */
  r[3] = 0x80 | LDNS_RCODE_FORMERR;        /* RA */
  *len = 12;
  return r;
}

/* dockerd's Sandbox.ResolveName second form: "<name>.<network>" where
 * <network> is a user network the asker is on: <name> on that network only.
 * Returns the number of addresses found (<= max). */
static int
lookup_on_network (arca_net_t *net, const char *container_id, const char *qname, struct in_addr *out, int max)
{
  const char *dot = strrchr (qname, '.');
  if (dot == NULL || dot == qname || dot[1] == '\0')
    return 0;
  _cleanup_free_ char *name = strndup (qname, (size_t) (dot - qname));
  const char *netname = dot + 1;
  int found = 0;
  pthread_mutex_lock (&net->lock);
  for (arca_endpoint_t *me = net->endpoints; me; me = me->next)
    {
      if (!me->active || strcmp (me->container_id, container_id) != 0)
        continue;
      arca_network_t *n = NULL;
      for (arca_network_t *o = net->networks; o; o = o->next)
        if (strcmp (o->id, me->network_id) == 0)
          n = o;
      if (n == NULL || n->is_default_bridge || n->name == NULL || strcasecmp (n->name, netname) != 0)
        continue;
      for (arca_endpoint_t *ep = net->endpoints; ep && found < max; ep = ep->next)
        {
          if (!ep->active || strcmp (ep->network_id, me->network_id) != 0)
            continue;
          for (size_t i = 0; ep->dns_names && ep->dns_names[i]; i++)
            if (strcasecmp (ep->dns_names[i], name) == 0)
              {
                out[found++] = ep->addr;
                break;
              }
        }
    }
  pthread_mutex_unlock (&net->lock);
  return found;
}

/* "d.c.b.a.in-addr.arpa" -> a.b.c.d; false if the name is not one. */
static bool
parse_ptr_name (const char *name, struct in_addr *out)
{
  unsigned o[4];
  char tail[32];
  if (sscanf (name, "%u.%u.%u.%u.%31s", &o[3], &o[2], &o[1], &o[0], tail) != 5
      || (strcasecmp (tail, "in-addr.arpa") != 0 && strcasecmp (tail, "in-addr.arpa.") != 0) || o[0] > 255 || o[1] > 255 || o[2] > 255 || o[3] > 255)
    return false;
  out->s_addr = htonl ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]);
  return true;
}

/* dockerd's reverse records: "<container name>.<network name>" for an
 * address of a container sharing a user network with the asker; malloc'd,
 * NULL if none. */
static char *
reverse_lookup (arca_net_t *net, const char *container_id, struct in_addr addr)
{
  char *name = NULL;
  pthread_mutex_lock (&net->lock);
  for (arca_endpoint_t *me = net->endpoints; me && !name; me = me->next)
    {
      if (!me->active || strcmp (me->container_id, container_id) != 0)
        continue;
      arca_network_t *n = NULL;
      for (arca_network_t *o = net->networks; o; o = o->next)
        if (strcmp (o->id, me->network_id) == 0)
          n = o;
      if (n == NULL || n->is_default_bridge)
        continue;
      for (arca_endpoint_t *ep = net->endpoints; ep && !name; ep = ep->next)
        if (ep->active && ep->addr.s_addr == addr.s_addr && strcmp (ep->network_id, me->network_id) == 0
            && ep->container_name)
          name = xasprintf ("%s.%s.", ep->container_name, n->name);
    }
  pthread_mutex_unlock (&net->lock);
  return name;
}

typedef enum { ANSWER_LOCAL, ANSWER_FORWARD } answer_kind_t;

/* Answer q from the network state when it is ours to answer; otherwise
 * ANSWER_FORWARD (or a SERVFAIL when the asker may not go out). */
static answer_kind_t
answer_local (dns_t *d, const char *container_id, const uint8_t *q, size_t qlen, uint8_t **out, size_t *len)
{
  *out = NULL;
  ldns_pkt *pkt = NULL;
  if (ldns_wire2pkt (&pkt, q, qlen) != LDNS_STATUS_OK)
    {
      *out = formerr (q, qlen, len);
      return ANSWER_LOCAL;
    }
  ldns_rr_list *qs = ldns_pkt_question (pkt);
  if (ldns_pkt_qr (pkt) || ldns_pkt_get_opcode (pkt) != LDNS_PACKET_QUERY || qs == NULL
      || ldns_rr_list_rr_count (qs) != 1)
    {
      if (!ldns_pkt_qr (pkt))
        build_response (pkt, ldns_pkt_get_opcode (pkt) != LDNS_PACKET_QUERY ? LDNS_RCODE_NOTIMPL
                                                                            : LDNS_RCODE_FORMERR,
                        NULL, 0, NULL, out, len);
      ldns_pkt_free (pkt);
      return ANSWER_LOCAL;
    }
  ldns_rr *qrr = ldns_rr_list_rr (qs, 0);
  ldns_rr_type type = ldns_rr_get_type (qrr);
  answer_kind_t kind = ANSWER_FORWARD;
  if (type == LDNS_RR_TYPE_A || type == LDNS_RR_TYPE_AAAA)
    {
      _cleanup_free_ char *name = ldns_rdf2str (ldns_rr_owner (qrr));
      if (name)
        {
          size_t l = strlen (name);
          if (l > 1 && name[l - 1] == '.')
            name[l - 1] = '\0';
          struct in_addr addrs[DNS_MAX_ADDRS];
          int n = net_dns_lookup (d->net, container_id, name, addrs, DNS_MAX_ADDRS);
          if (n == 0)
            n = lookup_on_network (d->net, container_id, name, addrs, DNS_MAX_ADDRS);
          if (n > 0)
            {
              /* A known name without IPv6: an empty NOERROR answer for AAAA. */
              build_response (pkt, LDNS_RCODE_NOERROR, addrs, type == LDNS_RR_TYPE_A ? n : 0, NULL, out, len);
              kind = ANSWER_LOCAL;
            }
        }
    }
  else if (type == LDNS_RR_TYPE_PTR)
    {
      _cleanup_free_ char *name = ldns_rdf2str (ldns_rr_owner (qrr));
      struct in_addr a;
      _cleanup_free_ char *target = name && parse_ptr_name (name, &a) ? reverse_lookup (d->net, container_id, a) : NULL;
      if (target)
        {
          build_response (pkt, LDNS_RCODE_NOERROR, NULL, 0, target, out, len);
          kind = ANSWER_LOCAL;
        }
    }
  if (kind == ANSWER_FORWARD && !has_external_access (d->net, container_id))
    {
      build_response (pkt, LDNS_RCODE_SERVFAIL, NULL, 0, NULL, out, len);
      kind = ANSWER_LOCAL;
    }
  ldns_pkt_free (pkt);
  return kind;
}

/* ---- forwarding ---- */

/* Upstream servers: the container's --dns list, else the nameservers of
 * the host's resolv.conf (read at each forward: it may change). */
static char **
upstreams (dns_t *d, dns_entry_t *en)
{
  pthread_mutex_lock (&d->lock);
  dns_servers_fn fn = d->servers_fn;
  void *ud = d->servers_ud;
  pthread_mutex_unlock (&d->lock);
  char **v = fn ? fn (ud, en->container_id) : NULL;
  if (strv_len (v))
    return v;
  strv_free (v);
  v = NULL;
  _cleanup_free_ char *text = NULL;
  if (fs_read_file ("/etc/resolv.conf", &text, NULL, NULL) < 0)
    return NULL;
  char *save = NULL;
  for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *fs = NULL;
      char *f0 = strtok_r (line, " \t\r", &fs);
      char *f1 = f0 ? strtok_r (NULL, " \t\r", &fs) : NULL;
      if (f0 && f1 && strcmp (f0, "nameserver") == 0)
        v = strv_append (v, f1);
    }
  return v;
}

static socklen_t
server_addr (const char *s, struct sockaddr_storage *ss)
{
  memset (ss, 0, sizeof *ss);
  struct sockaddr_in *in = (struct sockaddr_in *) ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ss;
  if (inet_pton (AF_INET, s, &in->sin_addr) == 1)
    {
      in->sin_family = AF_INET;
      in->sin_port = htons (53);
      return sizeof *in;
    }
  _cleanup_free_ char *a = xstrdup (s);
  char *zone = strchr (a, '%');
  if (zone)
    *zone++ = '\0';
  if (inet_pton (AF_INET6, a, &in6->sin6_addr) == 1)
    {
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons (53);
      return sizeof *in6;
    }
  return 0;
}

static int
wait_fd (int fd, short events, int timeout_ms)
{
  struct pollfd p = { .fd = fd, .events = events };
  int r;
  while ((r = poll (&p, 1, timeout_ms)) < 0 && errno == EINTR)
    ;
  return r > 0 ? 0 : -1;
}

static int
read_full (int fd, void *buf, size_t len, int timeout_ms)
{
  size_t got = 0;
  while (got < len)
    {
      if (wait_fd (fd, POLLIN, timeout_ms) < 0)
        return -1;
      ssize_t n = read (fd, (char *) buf + got, len - got);
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n <= 0)
        return -1;
      got += (size_t) n;
    }
  return 0;
}

static int
write_full (int fd, const void *buf, size_t len)
{
  size_t done = 0;
  while (done < len)
    {
      if (wait_fd (fd, POLLOUT, DNS_TCP_IDLE_S * 1000) < 0)
        return -1;
      ssize_t n = send (fd, (const char *) buf + done, len - done, MSG_NOSIGNAL);
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n <= 0)
        return -1;
      done += (size_t) n;
    }
  return 0;
}

/* One DNS message over TCP (2-byte length prefix): send q, read the answer. */
static uint8_t *
exchange_tcp (const struct sockaddr_storage *ss, socklen_t sl, const uint8_t *q, size_t qlen, size_t *rlen)
{
  _cleanup_close_ int fd = socket (ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return NULL;
  if (connect (fd, (const struct sockaddr *) ss, sl) < 0 && errno != EINPROGRESS)
    return NULL;
  if (wait_fd (fd, POLLOUT, 2 * DNS_FWD_TIMEOUT_MS) < 0)
    return NULL;
  int soerr = 0;
  socklen_t el = sizeof soerr;
  if (getsockopt (fd, SOL_SOCKET, SO_ERROR, &soerr, &el) < 0 || soerr != 0)
    return NULL;
  uint8_t hdr[2] = { (uint8_t) (qlen >> 8), (uint8_t) qlen };
  if (write_full (fd, hdr, 2) < 0 || write_full (fd, q, qlen) < 0)
    return NULL;
  if (read_full (fd, hdr, 2, 2 * DNS_FWD_TIMEOUT_MS) < 0)
    return NULL;
  size_t n = ((size_t) hdr[0] << 8) | hdr[1];
  if (n < 12)
    return NULL;
  uint8_t *r = malloc (n);
  if (r == NULL || read_full (fd, r, n, 2 * DNS_FWD_TIMEOUT_MS) < 0)
    {
      free (r);
      return NULL;
    }
  *rlen = n;
  return r;
}

/* One exchange over UDP; a truncated answer is retried over TCP (unless
 * the client itself asked over UDP and can take the truncation: then it
 * retries over TCP with us, which forwards over TCP). */
static uint8_t *
exchange_udp (const struct sockaddr_storage *ss, socklen_t sl, const uint8_t *q, size_t qlen, size_t *rlen)
{
  _cleanup_close_ int fd = socket (ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return NULL;
  if (connect (fd, (const struct sockaddr *) ss, sl) < 0 || send (fd, q, qlen, 0) != (ssize_t) qlen)
    return NULL;
  uint8_t buf[65536];
  for (;;)
    {
      if (wait_fd (fd, POLLIN, DNS_FWD_TIMEOUT_MS) < 0)
        return NULL;
      ssize_t n = recv (fd, buf, sizeof buf, 0);
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n < 12)
        return NULL;
      if (buf[0] != q[0] || buf[1] != q[1]) /* not our answer: keep waiting */
        continue;
      uint8_t *r = xmalloc0 ((size_t) n);
      memcpy (r, buf, (size_t) n);
      *rlen = (size_t) n;
      return r;
    }
}

/* Forward q to the upstreams in turn; the first answer wins.  NULL when
 * none answered (the caller sends SERVFAIL). */
static uint8_t *
forward (dns_t *d, dns_entry_t *en, const uint8_t *q, size_t qlen, bool tcp, size_t *rlen)
{
  _cleanup_strv_ char **servers = upstreams (d, en);
  for (char **s = servers; s && *s; s++)
    {
      struct sockaddr_storage ss;
      socklen_t sl = server_addr (*s, &ss);
      if (sl == 0)
        continue;
      uint8_t *r = tcp ? exchange_tcp (&ss, sl, q, qlen, rlen) : exchange_udp (&ss, sl, q, qlen, rlen);
      if (r && !tcp && (r[2] & 0x02)) /* TC: ask again over TCP */
        {
          size_t tl = 0;
          uint8_t *t = exchange_tcp (&ss, sl, q, qlen, &tl);
          if (t)
            {
              free (r);
              r = t;
              *rlen = tl;
            }
        }
      if (r)
        return r;
      log_debug ("dns: no answer from %s", *s);
    }
  return NULL;
}

/* The full answer to q (local or forwarded), malloc'd; NULL: drop. */
static uint8_t *
answer (dns_t *d, dns_entry_t *en, const uint8_t *q, size_t qlen, bool tcp, size_t *rlen)
{
  uint8_t *r = NULL;
  if (answer_local (d, en->container_id, q, qlen, &r, rlen) == ANSWER_LOCAL)
    return r;
  r = forward (d, en, q, qlen, tcp, rlen);
  if (r)
    return r;
  ldns_pkt *pkt = NULL;
  if (ldns_wire2pkt (&pkt, q, qlen) != LDNS_STATUS_OK)
    return NULL;
  build_response (pkt, LDNS_RCODE_SERVFAIL, NULL, 0, NULL, &r, rlen);
  ldns_pkt_free (pkt);
  return r;
}

/* ---- workers ---- */

typedef struct
{
  dns_t *d;
  dns_entry_t *en;           /* a reference */
  uint8_t *q;
  size_t qlen;
  struct sockaddr_storage from;
  socklen_t fromlen;
  int conn;                  /* TCP: the accepted connection, else -1 */
} job_t;

static void *
udp_job (void *arg)
{
  job_t *j = arg;
  size_t rlen = 0;
  _cleanup_free_ uint8_t *r = answer (j->d, j->en, j->q, j->qlen, false, &rlen);
  if (r)
    {
      if (rlen > 512 && j->q[10] == 0 && j->q[11] == 0)
        {
          /* No EDNS: a plain UDP client takes 512 bytes; truncate and set
           * TC so it retries over TCP. */
          rlen = 512;
          r[2] |= 0x02;
        }
      if (sendto (j->en->udp_fd, r, rlen, 0, (struct sockaddr *) &j->from, j->fromlen) < 0)
        log_debug ("dns: sendto: %m");
    }
  entry_unref (j->d, j->en);
  free (j->q);
  free (j);
  return NULL;
}

static void *
tcp_job (void *arg)
{
  job_t *j = arg;
  for (;;)
    {
      uint8_t hdr[2];
      if (read_full (j->conn, hdr, 2, DNS_TCP_IDLE_S * 1000) < 0)
        break;
      size_t n = ((size_t) hdr[0] << 8) | hdr[1];
      _cleanup_free_ uint8_t *q = malloc (n ? n : 1);
      if (q == NULL || read_full (j->conn, q, n, DNS_TCP_IDLE_S * 1000) < 0)
        break;
      size_t rlen = 0;
      _cleanup_free_ uint8_t *r = answer (j->d, j->en, q, n, true, &rlen);
      if (r == NULL)
        break;
      hdr[0] = (uint8_t) (rlen >> 8);
      hdr[1] = (uint8_t) rlen;
      if (write_full (j->conn, hdr, 2) < 0 || write_full (j->conn, r, rlen) < 0)
        break;
    }
  close (j->conn);
  entry_unref (j->d, j->en);
  free (j);
  return NULL;
}

static void
spawn (void *(*fn) (void *), job_t *j)
{
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  int r = pthread_create (&t, &attr, fn, j);
  pthread_attr_destroy (&attr);
  if (r != 0)
    {
      log_warn ("dns: cannot start a worker: %s", strerror (r));
      if (j->conn >= 0)
        close (j->conn);
      entry_unref (j->d, j->en);
      free (j->q);
      free (j);
    }
}

/* A UDP query: answered here when local (no I/O but the reply), in a worker
 * thread when it has to be forwarded (which may take seconds). */
static void
serve_udp (dns_t *d, dns_entry_t *en)
{
  uint8_t buf[65536];
  for (int i = 0; i < 64; i++)
    {
      struct sockaddr_storage from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom (en->udp_fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *) &from, &fl);
      if (n < 0)
        return;
      if (n < 12)
        continue;
      uint8_t *r = NULL;
      size_t rlen = 0;
      if (answer_local (d, en->container_id, buf, (size_t) n, &r, &rlen) == ANSWER_LOCAL)
        {
          if (r && sendto (en->udp_fd, r, rlen, 0, (struct sockaddr *) &from, fl) < 0)
            log_debug ("dns: sendto: %m");
          free (r);
          continue;
        }
      job_t *j = xmalloc0 (sizeof *j);
      j->d = d;
      j->en = en;
      j->q = xmalloc0 ((size_t) n);
      memcpy (j->q, buf, (size_t) n);
      j->qlen = (size_t) n;
      j->from = from;
      j->fromlen = fl;
      j->conn = -1;
      pthread_mutex_lock (&d->lock);
      en->refs++;
      pthread_mutex_unlock (&d->lock);
      spawn (udp_job, j);
    }
}

static void
serve_tcp (dns_t *d, dns_entry_t *en)
{
  int c = accept4 (en->tcp_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (c < 0)
    return;
  job_t *j = xmalloc0 (sizeof *j);
  j->d = d;
  j->en = en;
  j->conn = c;
  pthread_mutex_lock (&d->lock);
  en->refs++;
  pthread_mutex_unlock (&d->lock);
  spawn (tcp_job, j);
}

static void *
server_thread (void *arg)
{
  dns_t *d = arg;
  for (;;)
    {
      /* Snapshot the sockets, each entry referenced while polled. */
      pthread_mutex_lock (&d->lock);
      if (d->stopping)
        {
          pthread_mutex_unlock (&d->lock);
          return NULL;
        }
      size_t n = 0;
      for (dns_entry_t *en = d->entries; en; en = en->next)
        n++;
      dns_entry_t **ens = xmalloc0 ((n + 1) * sizeof *ens);
      struct pollfd *pfd = xmalloc0 ((2 * n + 1) * sizeof *pfd);
      size_t i = 0;
      for (dns_entry_t *en = d->entries; en; en = en->next, i++)
        {
          en->refs++;
          ens[i] = en;
          pfd[2 * i] = (struct pollfd) { .fd = en->udp_fd, .events = POLLIN };
          pfd[2 * i + 1] = (struct pollfd) { .fd = en->tcp_fd, .events = POLLIN };
        }
      pfd[2 * n] = (struct pollfd) { .fd = d->wake_fd, .events = POLLIN };
      pthread_mutex_unlock (&d->lock);

      int r = poll (pfd, 2 * n + 1, -1);
      if (r < 0 && errno != EINTR)
        log_warn ("dns: poll: %m");
      if (r > 0 && (pfd[2 * n].revents & POLLIN))
        {
          uint64_t v;
          if (read (d->wake_fd, &v, sizeof v) < 0)
            log_debug ("dns: wake read: %m");
        }
      for (i = 0; r > 0 && i < n; i++)
        {
          if (pfd[2 * i].revents & POLLIN)
            serve_udp (d, ens[i]);
          if (pfd[2 * i + 1].revents & POLLIN)
            serve_tcp (d, ens[i]);
        }
      pthread_mutex_lock (&d->lock);
      for (i = 0; i < n; i++)
        entry_unref_locked (ens[i]);
      pthread_mutex_unlock (&d->lock);
      free (ens);
      free (pfd);
    }
}

/* ---- sockets inside the container's netns ---- */

typedef struct
{
  const char *netns_path;
  int udp_fd, tcp_fd;
  int err;                   /* errno */
  const char *step;
} open_job_t;

static int
bind_dns (int type, int *out)
{
  int fd = socket (AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  int one = 1;
  /* FREEBIND: bind even if lo is not up yet in a brand-new namespace. */
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt (fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (53) };
  inet_pton (AF_INET, DNS_ADDR, &sa.sin_addr);
  if (bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0 || (type == SOCK_STREAM && listen (fd, 64) < 0))
    {
      int e = errno;
      close (fd);
      errno = e;
      return -1;
    }
  *out = fd;
  return 0;
}

/* Runs on its own thread: enter the netns (this thread only), create the
 * sockets, end.  The daemon's other threads never change namespace. */
static void *
open_thread (void *arg)
{
  open_job_t *j = arg;
  _cleanup_close_ int ns = open (j->netns_path, O_RDONLY | O_CLOEXEC);
  if (ns < 0)
    {
      j->err = errno;
      j->step = "open";
      return NULL;
    }
  if (setns (ns, CLONE_NEWNET) < 0)
    {
      j->err = errno;
      j->step = "setns";
      return NULL;
    }
  if (bind_dns (SOCK_DGRAM, &j->udp_fd) < 0)
    {
      j->err = errno;
      j->step = "bind udp " DNS_ADDR ":53";
      return NULL;
    }
  if (bind_dns (SOCK_STREAM, &j->tcp_fd) < 0)
    {
      j->err = errno;
      j->step = "bind tcp " DNS_ADDR ":53";
      return NULL;
    }
  return NULL;
}

/* ---- API ---- */

int
dns_init (arca_net_t *net, arca_error_t *err)
{
  dns_t *d = xmalloc0 (sizeof *d);
  d->net = net;
  pthread_mutex_init (&d->lock, NULL);
  d->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (d->wake_fd < 0)
    {
      free (d);
      return arca_error_errno (err, errno, "eventfd");
    }
  int r = pthread_create (&d->thread, NULL, server_thread, d);
  if (r != 0)
    {
      close (d->wake_fd);
      free (d);
      return arca_error_errno (err, r, "dns: start server thread");
    }
  net->dns = d;
  return 0;
}

void
dns_fini (arca_net_t *net)
{
  dns_t *d = net->dns;
  if (d == NULL)
    return;
  pthread_mutex_lock (&d->lock);
  d->stopping = true;
  pthread_mutex_unlock (&d->lock);
  wake (d);
  pthread_join (d->thread, NULL);
  /* Workers may still hold entries (and d): leave the state to the
   * process's exit rather than free it under them. */
  pthread_mutex_lock (&d->lock);
  for (dns_entry_t *en = d->entries, *next; en; en = next)
    {
      next = en->next;
      entry_unref_locked (en);
    }
  d->entries = NULL;
  pthread_mutex_unlock (&d->lock);
}

void
dns_set_servers_fn (arca_net_t *net, dns_servers_fn fn, void *ud)
{
  dns_t *d = net->dns;
  if (d == NULL)
    return;
  pthread_mutex_lock (&d->lock);
  d->servers_fn = fn;
  d->servers_ud = ud;
  pthread_mutex_unlock (&d->lock);
}

int
dns_container_attach (arca_net_t *net, const char *container_id, const char *netns_path, arca_error_t *err)
{
  dns_t *d = net->dns;
  if (d == NULL)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "embedded DNS server not running");
  struct stat st;
  if (stat (netns_path, &st) < 0)
    return arca_error_errno (err, errno, "dns: %s", netns_path);

  pthread_mutex_lock (&d->lock);
  for (dns_entry_t *en = d->entries; en; en = en->next)
    if (strcmp (en->container_id, container_id) == 0 && en->ns_dev == st.st_dev && en->ns_ino == st.st_ino)
      {
        pthread_mutex_unlock (&d->lock);
        return 0; /* already serving this namespace */
      }
  pthread_mutex_unlock (&d->lock);

  open_job_t j = { .netns_path = netns_path, .udp_fd = -1, .tcp_fd = -1 };
  pthread_t t;
  int r = pthread_create (&t, NULL, open_thread, &j);
  if (r != 0)
    return arca_error_errno (err, r, "dns: thread");
  pthread_join (t, NULL);
  if (j.err)
    {
      if (j.udp_fd >= 0)
        close (j.udp_fd);
      if (j.tcp_fd >= 0)
        close (j.tcp_fd);
      return arca_error_errno (err, j.err, "embedded DNS server for container %.12s: %s", container_id, j.step);
    }

  dns_entry_t *en = xmalloc0 (sizeof *en);
  en->refs = 1;
  snprintf (en->container_id, sizeof en->container_id, "%s", container_id);
  en->ns_dev = st.st_dev;
  en->ns_ino = st.st_ino;
  en->udp_fd = j.udp_fd;
  en->tcp_fd = j.tcp_fd;
  pthread_mutex_lock (&d->lock);
  /* Replace an entry for an older namespace of the same container. */
  for (dns_entry_t **p = &d->entries; *p;)
    if (strcmp ((*p)->container_id, container_id) == 0)
      {
        dns_entry_t *old = *p;
        *p = old->next;
        entry_unref_locked (old);
      }
    else
      p = &(*p)->next;
  en->next = d->entries;
  d->entries = en;
  pthread_mutex_unlock (&d->lock);
  wake (d);
  log_debug ("dns: serving %s:53 for container %.12s", DNS_ADDR, container_id);
  return 0;
}

void
dns_container_detach (arca_net_t *net, const char *container_id)
{
  dns_t *d = net->dns;
  if (d == NULL)
    return;
  bool found = false;
  pthread_mutex_lock (&d->lock);
  for (dns_entry_t **p = &d->entries; *p;)
    if (strcmp ((*p)->container_id, container_id) == 0)
      {
        dns_entry_t *old = *p;
        *p = old->next;
        entry_unref_locked (old);
        found = true;
      }
    else
      p = &(*p)->next;
  pthread_mutex_unlock (&d->lock);
  if (found)
    wake (d);
}
