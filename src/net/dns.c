/* Embedded DNS server (moby libnetwork resolver.go): 127.0.0.11:53, UDP and
 * TCP, inside the network namespace of every container attached to a
 * user-defined network.
 *
 * The sockets are created inside the container's netns by a short-lived
 * helper thread (setns is per thread for CLONE_NEWNET) and then served from
 * the daemon's own namespace: a socket keeps the namespace it was created
 * in.  The asker is the container whose socket the query arrived on.
 *
 * Answers (dns_answer.c, as dockerd): names, aliases, short IDs and
 * hostnames of containers sharing a user network with the asker, looked up
 * in the live network state at every query; anything else is forwarded,
 * from the daemon's namespace, to the container's --dns servers
 * (dns_set_servers_fn) or the host's resolv.conf nameservers (host loopback
 * ones included, as dockerd's "host(...)" servers), one after the other:
 * over UDP with DNS_UDP_TIMEOUT_MS each (a truncated answer is asked again
 * over TCP from the same server), over TCP when the query came over TCP.
 * Forwarded messages are relayed byte for byte.
 *
 * Bounds (a container must not exhaust the daemon; docs/security.md): one
 * thread serves every container.  It polls the containers' sockets, the
 * client TCP connections and the upstream sockets of forwarded queries with
 * epoll, and nothing in it blocks: a forwarded query is a small state
 * machine with its own socket and deadline.  At most DNS_FWD_MAX forwarded
 * queries are in flight (DNS_FWD_MAX_PER_CTR per container: dockerd caps
 * them at 1024, maxConcurrent); past that a query gets SERVFAIL at once.
 * At most DNS_TCP_MAX client TCP connections (DNS_TCP_MAX_PER_CTR per
 * container) are open, each closed after DNS_TCP_IDLE_MS without a
 * complete query; past the cap a connection is closed at once.  So the
 * server holds at most 2 fds per served container + DNS_FWD_MAX +
 * DNS_TCP_MAX + 2, and one thread.
 *
 * Ownership: entries, client connections and forwarded queries belong to
 * the server thread; other threads queue commands (attach, detach, stop)
 * and wait until the thread has run them.  d->lock guards the command
 * queue, the servers callback, and the entry list for readers outside the
 * thread (the thread changes it only under the lock).  Objects closed while
 * a batch of epoll events is handled are freed after the batch, since a
 * later event of the same batch may still point at them. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "net/dns_internal.h"
#include "net/net.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/lazy_ldns.h"
#include "util/log.h"
#include "util/strutil.h"

#define DNS_ADDR "127.0.0.11"
#define DNS_UDP_TIMEOUT_MS 2000     /* per upstream over UDP */
#define DNS_TCP_TIMEOUT_MS 4000     /* per upstream over TCP, the whole exchange */
#define DNS_TCP_IDLE_MS 5000        /* a client TCP connection between queries */
#define DNS_FWD_MAX 512             /* forwarded queries in flight, all containers */
#define DNS_FWD_MAX_PER_CTR 128
#define DNS_TCP_MAX 64              /* client TCP connections, all containers */
#define DNS_TCP_MAX_PER_CTR 16
#define DNS_BURST 64                /* datagrams or accepts per event */
#define DNS_TICK_MS 100             /* deadline resolution */
#define EVENTS_MAX 64

typedef enum { EP_WAKE, EP_UDP, EP_LISTEN, EP_CLIENT, EP_FWD } ep_kind_t;

/* What an epoll event points at: one per polled fd, embedded in its owner. */
typedef struct
{
  ep_kind_t kind;
  void *owner;
} dns_ep_t;

typedef struct dns_entry
{
  struct dns_entry *next;    /* d->entries */
  struct dns_entry *dead_next;
  int refs;                  /* the list's, each client's and forward's */
  bool dead;                 /* detached */
  char container_id[65];
  dev_t ns_dev;              /* the netns the sockets live in */
  ino_t ns_ino;
  int udp_fd, tcp_fd;
  dns_ep_t udp_ep, tcp_ep;
  int nfwd, ntcp;
} dns_entry_t;

typedef struct dns_fwd dns_fwd_t;

/* A client TCP connection: one query at a time (read, answered or
 * forwarded, written), then the next. */
typedef struct dns_client
{
  dns_ep_t ep;
  struct dns_client *prev, *next; /* d->clients */
  struct dns_client *dead_next;
  dns_entry_t *en;
  int fd;
  uint8_t hdr[2];
  size_t hdr_got;
  uint8_t *q;                /* the query being read (hdr says its length) */
  size_t q_got;
  uint8_t *out;              /* the answer being written, length prefix included */
  size_t out_len, out_off;
  dns_fwd_t *fwd;            /* the query in flight upstream */
  int64_t idle_deadline_ms;  /* 0 while a query is answered */
  uint32_t events;
  bool dead;
} dns_client_t;

typedef enum { FWD_UDP_WAIT, FWD_TCP_CONNECT, FWD_TCP_WRITE, FWD_TCP_READ } fwd_state_t;

/* A forwarded query: the upstream servers in turn until one answers. */
struct dns_fwd
{
  dns_ep_t ep;
  dns_fwd_t *prev, *next;    /* d->fwds */
  dns_fwd_t *dead_next;
  dns_entry_t *en;
  dns_client_t *client;      /* asked over TCP; NULL: over UDP from `from` */
  struct sockaddr_storage from;
  socklen_t fromlen;
  uint8_t *q;
  size_t qlen;
  char **servers;
  size_t si;                 /* the server asked now */
  struct sockaddr_storage ss;
  socklen_t sl;
  int fd;
  fwd_state_t state;
  uint8_t *buf;              /* TCP: the query to write, then the answer */
  size_t buf_len, buf_off;
  uint8_t lenbuf[2];
  size_t len_got;
  uint8_t *trunc;            /* a truncated UDP answer, while asking over TCP */
  size_t trunc_len;
  int64_t deadline_ms;
  bool dead;
};

typedef enum { CMD_ATTACH, CMD_DETACH, CMD_STOP } cmd_op_t;

typedef struct dns_cmd
{
  struct dns_cmd *next;
  cmd_op_t op;
  dns_entry_t *en;           /* ATTACH */
  const char *container_id;  /* DETACH */
  bool done;
} dns_cmd_t;

typedef struct
{
  arca_net_t *net;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  dns_cmd_t *cmds;
  dns_entry_t *entries;
  dns_servers_fn servers_fn;  /* the container's --dns servers (engine) */
  void *servers_ud;
  int wake_fd, epfd;
  dns_ep_t wake_ep;
  pthread_t thread;

  /* server thread only */
  dns_client_t *clients;
  dns_fwd_t *fwds;
  int nfwd, ntcp;
  int64_t last_tick_ms;
  int64_t last_cap_warning_ms;
  dns_entry_t *dead_entries;
  dns_client_t *dead_clients;
  dns_fwd_t *dead_fwds;
} dns_t;

static int64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
ep_add (dns_t *d, int fd, dns_ep_t *ep, uint32_t events)
{
  struct epoll_event ev = { .events = events, .data.ptr = ep };
  return epoll_ctl (d->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void
ep_mod (dns_t *d, int fd, dns_ep_t *ep, uint32_t events)
{
  struct epoll_event ev = { .events = events, .data.ptr = ep };
  if (epoll_ctl (d->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
    log_debug ("dns: epoll mod: %m");
}

static void
cap_warning (dns_t *d, const char *what, const char *container_id)
{
  int64_t now = now_ms ();
  if (now - d->last_cap_warning_ms < 10000)
    return;
  d->last_cap_warning_ms = now;
  log_warn ("dns: container %.12s: too many %s; refusing more for now", container_id, what);
}

static void
entry_unref (dns_t *d, dns_entry_t *en)
{
  if (--en->refs > 0)
    return;
  if (en->udp_fd >= 0)
    close (en->udp_fd);
  if (en->tcp_fd >= 0)
    close (en->tcp_fd);
  en->udp_fd = en->tcp_fd = -1;
  en->dead_next = d->dead_entries;
  d->dead_entries = en;
}

/* ---- forwarding ---- */

/* Upstream servers: the container's --dns list, else the nameservers of
 * the host's resolv.conf (read at each forward: it may change). */
static char **
upstreams (dns_t *d, const char *container_id)
{
  pthread_mutex_lock (&d->lock);
  dns_servers_fn fn = d->servers_fn;
  void *ud = d->servers_ud;
  pthread_mutex_unlock (&d->lock);
  char **v = fn ? fn (ud, container_id) : NULL;
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

/* "a.b.c.d" or an IPv6 address (with %zone) as a port-53 address; 0 if
 * it is neither. */
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
      in6->sin6_scope_id = zone ? if_nametoindex (zone) : 0;
      return sizeof *in6;
    }
  return 0;
}

static void client_answer (dns_t *d, dns_client_t *c, uint8_t *r, size_t rlen);

static void
fwd_close (dns_t *d, dns_fwd_t *f)
{
  if (f->dead)
    return;
  f->dead = true;
  if (f->fd >= 0)
    close (f->fd); /* also leaves the epoll set */
  f->fd = -1;
  if (f->prev)
    f->prev->next = f->next;
  else
    d->fwds = f->next;
  if (f->next)
    f->next->prev = f->prev;
  if (f->client)
    f->client->fwd = NULL;
  d->nfwd--;
  f->en->nfwd--;
  entry_unref (d, f->en);
  free (f->q);
  free (f->buf);
  free (f->trunc);
  strv_free (f->servers);
  f->q = f->buf = f->trunc = NULL;
  f->servers = NULL;
  f->dead_next = d->dead_fwds;
  d->dead_fwds = f;
}

/* The answer (r, malloc'd; NULL: SERVFAIL) goes to the asker; the forward
 * ends. */
static void
fwd_finish (dns_t *d, dns_fwd_t *f, uint8_t *r, size_t rlen)
{
  if (r == NULL)
    r = dns_servfail (f->q, f->qlen, &rlen);
  if (f->client)
    {
      dns_client_t *c = f->client;
      c->fwd = NULL;
      f->client = NULL;
      client_answer (d, c, r, rlen);
    }
  else if (r && !f->en->dead)
    {
      if (rlen > 512 && f->q[10] == 0 && f->q[11] == 0)
        {
          /* No EDNS: a plain UDP client takes 512 bytes; truncate and set
           * TC so it retries over TCP. */
          rlen = 512;
          r[2] |= 0x02;
        }
      if (sendto (f->en->udp_fd, r, rlen, MSG_DONTWAIT, (struct sockaddr *) &f->from, f->fromlen) < 0)
        log_debug ("dns: sendto: %m");
      free (r);
    }
  else
    free (r);
  fwd_close (d, f);
}

/* Ask the current server over UDP or TCP; -1 if that cannot even start. */
static int
fwd_exchange (dns_t *d, dns_fwd_t *f, bool tcp)
{
  if (f->fd >= 0)
    close (f->fd);
  f->fd = socket (f->ss.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (f->fd < 0)
    return -1;
  int r = connect (f->fd, (struct sockaddr *) &f->ss, f->sl);
  if (tcp)
    {
      if (r < 0 && errno != EINPROGRESS)
        return -1;
      free (f->buf);
      f->buf = xmalloc0 (f->qlen + 2);
      f->buf[0] = (uint8_t) (f->qlen >> 8);
      f->buf[1] = (uint8_t) f->qlen;
      memcpy (f->buf + 2, f->q, f->qlen);
      f->buf_len = f->qlen + 2;
      f->buf_off = 0;
      f->len_got = 0;
      f->state = FWD_TCP_CONNECT;
      f->deadline_ms = now_ms () + DNS_TCP_TIMEOUT_MS;
      return ep_add (d, f->fd, &f->ep, EPOLLOUT);
    }
  if (r < 0 || send (f->fd, f->q, f->qlen, MSG_DONTWAIT) != (ssize_t) f->qlen)
    return -1;
  f->state = FWD_UDP_WAIT;
  f->deadline_ms = now_ms () + DNS_UDP_TIMEOUT_MS;
  return ep_add (d, f->fd, &f->ep, EPOLLIN);
}

/* The next server that takes the query; SERVFAIL when none is left. */
static void
fwd_next_server (dns_t *d, dns_fwd_t *f)
{
  for (; f->servers && f->servers[f->si]; f->si++)
    {
      f->sl = server_addr (f->servers[f->si], &f->ss);
      if (f->sl > 0 && fwd_exchange (d, f, f->client != NULL) == 0)
        return;
      log_debug ("dns: cannot ask %s", f->servers[f->si]);
    }
  fwd_finish (d, f, NULL, 0);
}

/* The server asked now gave no answer (timeout, error, refused). */
static void
fwd_server_failed (dns_t *d, dns_fwd_t *f)
{
  if (f->trunc)
    {
      /* TCP after a truncated UDP answer failed: the truncated one it is */
      uint8_t *t = f->trunc;
      f->trunc = NULL;
      fwd_finish (d, f, t, f->trunc_len);
      return;
    }
  log_debug ("dns: no answer from %s", f->servers[f->si]);
  f->si++;
  fwd_next_server (d, f);
}

static void
fwd_start (dns_t *d, dns_entry_t *en, dns_client_t *client, const uint8_t *q, size_t qlen,
           const struct sockaddr_storage *from, socklen_t fromlen)
{
  dns_fwd_t *f = xmalloc0 (sizeof *f);
  f->ep = (dns_ep_t) { EP_FWD, f };
  f->en = en;
  en->refs++;
  en->nfwd++;
  d->nfwd++;
  f->client = client;
  if (client)
    client->fwd = f;
  if (from)
    {
      memcpy (&f->from, from, fromlen);
      f->fromlen = fromlen;
    }
  f->q = xmalloc0 (qlen);
  memcpy (f->q, q, qlen);
  f->qlen = qlen;
  f->fd = -1;
  f->next = d->fwds;
  if (d->fwds)
    d->fwds->prev = f;
  d->fwds = f;
  f->servers = upstreams (d, en->container_id);
  fwd_next_server (d, f);
}

static void
fwd_udp_readable (dns_t *d, dns_fwd_t *f)
{
  uint8_t buf[65536];
  for (int i = 0; i < DNS_BURST; i++)
    {
      ssize_t n = recv (f->fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
      if (n < 0)
        {
          fwd_server_failed (d, f); /* ICMP: refused, unreachable */
          return;
        }
      if (n < 12 || buf[0] != f->q[0] || buf[1] != f->q[1])
        continue; /* not our answer: keep waiting */
      if (buf[2] & 0x02)
        {
          /* TC: ask the same server again over TCP, keeping this one in
           * case that fails */
          f->trunc = xmalloc0 ((size_t) n);
          memcpy (f->trunc, buf, (size_t) n);
          f->trunc_len = (size_t) n;
          if (fwd_exchange (d, f, true) < 0)
            fwd_server_failed (d, f);
          return;
        }
      uint8_t *r = xmalloc0 ((size_t) n);
      memcpy (r, buf, (size_t) n);
      free (f->trunc);
      f->trunc = NULL;
      fwd_finish (d, f, r, (size_t) n);
      return;
    }
}

/* TCP to the server: connect, write the query, read the length-prefixed
 * answer; all non-blocking. */
static void
fwd_tcp_event (dns_t *d, dns_fwd_t *f, uint32_t ev)
{
  if (f->state == FWD_TCP_CONNECT)
    {
      int soerr = 0;
      socklen_t el = sizeof soerr;
      if (getsockopt (f->fd, SOL_SOCKET, SO_ERROR, &soerr, &el) < 0 || soerr != 0)
        {
          fwd_server_failed (d, f);
          return;
        }
      f->state = FWD_TCP_WRITE;
    }
  if (f->state == FWD_TCP_WRITE)
    {
      ssize_t w = send (f->fd, f->buf + f->buf_off, f->buf_len - f->buf_off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0 && errno != EAGAIN && errno != EINTR)
        {
          fwd_server_failed (d, f);
          return;
        }
      if (w > 0)
        f->buf_off += (size_t) w;
      if (f->buf_off < f->buf_len)
        return;
      free (f->buf);
      f->buf = NULL;
      f->buf_len = f->buf_off = 0;
      f->state = FWD_TCP_READ;
      ep_mod (d, f->fd, &f->ep, EPOLLIN);
      return;
    }
  if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
    return;
  for (;;)
    {
      uint8_t *dst = f->len_got < 2 ? f->lenbuf + f->len_got : f->buf + f->buf_off;
      size_t want = f->len_got < 2 ? 2 - f->len_got : f->buf_len - f->buf_off;
      ssize_t n = recv (f->fd, dst, want, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
      if (n <= 0)
        {
          fwd_server_failed (d, f);
          return;
        }
      if (f->len_got < 2)
        {
          f->len_got += (size_t) n;
          if (f->len_got == 2)
            {
              f->buf_len = ((size_t) f->lenbuf[0] << 8) | f->lenbuf[1];
              if (f->buf_len < 12)
                {
                  fwd_server_failed (d, f);
                  return;
                }
              f->buf = xmalloc0 (f->buf_len);
            }
          continue;
        }
      f->buf_off += (size_t) n;
      if (f->buf_off == f->buf_len)
        {
          uint8_t *r = f->buf;
          size_t rlen = f->buf_len;
          f->buf = NULL;
          fwd_finish (d, f, r, rlen);
          return;
        }
    }
}

static void
fwd_event (dns_t *d, dns_fwd_t *f, uint32_t ev)
{
  if (f->state == FWD_UDP_WAIT)
    fwd_udp_readable (d, f);
  else
    fwd_tcp_event (d, f, ev);
}

/* May this container forward one more query? */
static bool
fwd_allowed (dns_t *d, dns_entry_t *en)
{
  if (d->nfwd < DNS_FWD_MAX && en->nfwd < DNS_FWD_MAX_PER_CTR)
    return true;
  cap_warning (d, "forwarded queries in flight", en->container_id);
  return false;
}

/* ---- clients ---- */

static void
client_close (dns_t *d, dns_client_t *c)
{
  if (c->dead)
    return;
  c->dead = true;
  if (c->fwd)
    fwd_close (d, c->fwd);
  close (c->fd);
  if (c->prev)
    c->prev->next = c->next;
  else
    d->clients = c->next;
  if (c->next)
    c->next->prev = c->prev;
  d->ntcp--;
  c->en->ntcp--;
  entry_unref (d, c->en);
  free (c->q);
  free (c->out);
  c->q = c->out = NULL;
  c->dead_next = d->dead_clients;
  d->dead_clients = c;
}

static void
client_want (dns_t *d, dns_client_t *c, uint32_t events)
{
  if (c->events == events)
    return;
  c->events = events;
  ep_mod (d, c->fd, &c->ep, events);
}

/* Ready for the next query. */
static void
client_read_next (dns_t *d, dns_client_t *c)
{
  free (c->q);
  c->q = NULL;
  c->hdr_got = c->q_got = 0;
  c->idle_deadline_ms = now_ms () + DNS_TCP_IDLE_MS;
  client_want (d, c, EPOLLIN);
}

static void
client_flush (dns_t *d, dns_client_t *c)
{
  while (c->out_off < c->out_len)
    {
      ssize_t w = send (c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0 && (errno == EAGAIN || errno == EINTR))
        {
          client_want (d, c, EPOLLOUT);
          return;
        }
      if (w <= 0)
        {
          client_close (d, c);
          return;
        }
      c->out_off += (size_t) w;
    }
  free (c->out);
  c->out = NULL;
  c->out_len = c->out_off = 0;
  client_read_next (d, c);
}

/* Send r (malloc'd, taken; NULL: close, as for a message that cannot be
 * answered). */
static void
client_answer (dns_t *d, dns_client_t *c, uint8_t *r, size_t rlen)
{
  if (r == NULL || rlen > 65535)
    {
      free (r);
      client_close (d, c);
      return;
    }
  c->out = xmalloc0 (rlen + 2);
  c->out[0] = (uint8_t) (rlen >> 8);
  c->out[1] = (uint8_t) rlen;
  memcpy (c->out + 2, r, rlen);
  c->out_len = rlen + 2;
  c->out_off = 0;
  free (r);
  client_flush (d, c);
}

/* A whole query came in: answer it or forward it. */
static void
client_query (dns_t *d, dns_client_t *c)
{
  c->idle_deadline_ms = 0;
  client_want (d, c, 0);
  size_t qlen = ((size_t) c->hdr[0] << 8) | c->hdr[1];
  uint8_t *r = NULL;
  size_t rlen = 0;
  if (dns_answer_local (d->net, c->en->container_id, c->q, qlen, &r, &rlen) == DNS_ANSWER_LOCAL)
    client_answer (d, c, r, rlen);
  else if (!fwd_allowed (d, c->en))
    client_answer (d, c, dns_servfail (c->q, qlen, &rlen), rlen);
  else
    fwd_start (d, c->en, c, c->q, qlen, NULL, 0);
}

static void
client_event (dns_t *d, dns_client_t *c, uint32_t ev)
{
  if (ev & EPOLLERR)
    {
      client_close (d, c);
      return;
    }
  if (c->out)
    {
      client_flush (d, c);
      return;
    }
  if (c->fwd || c->events == 0)
    {
      if (ev & EPOLLHUP)
        client_close (d, c); /* gone while its query was forwarded */
      return;
    }
  for (;;)
    {
      size_t qlen = ((size_t) c->hdr[0] << 8) | c->hdr[1];
      uint8_t *dst = c->hdr_got < 2 ? c->hdr + c->hdr_got : c->q + c->q_got;
      size_t want = c->hdr_got < 2 ? 2 - c->hdr_got : qlen - c->q_got;
      ssize_t n = want ? recv (c->fd, dst, want, MSG_DONTWAIT) : 0;
      if (want && n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
      if (want && n <= 0)
        {
          client_close (d, c);
          return;
        }
      if (c->hdr_got < 2)
        {
          c->hdr_got += (size_t) n;
          if (c->hdr_got == 2)
            {
              qlen = ((size_t) c->hdr[0] << 8) | c->hdr[1];
              c->q = xmalloc0 (qlen ? qlen : 1);
            }
          continue;
        }
      c->q_got += (size_t) n;
      if (c->q_got == qlen)
        {
          client_query (d, c);
          return;
        }
    }
}

static void
accept_clients (dns_t *d, dns_entry_t *en)
{
  for (int i = 0; i < DNS_BURST; i++)
    {
      int fd = accept4 (en->tcp_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0)
        return;
      if (d->ntcp >= DNS_TCP_MAX || en->ntcp >= DNS_TCP_MAX_PER_CTR)
        {
          cap_warning (d, "TCP connections", en->container_id);
          close (fd);
          continue;
        }
      dns_client_t *c = xmalloc0 (sizeof *c);
      c->ep = (dns_ep_t) { EP_CLIENT, c };
      c->en = en;
      c->fd = fd;
      if (ep_add (d, fd, &c->ep, EPOLLIN) < 0)
        {
          close (fd);
          free (c);
          continue;
        }
      c->events = EPOLLIN;
      c->idle_deadline_ms = now_ms () + DNS_TCP_IDLE_MS;
      en->refs++;
      en->ntcp++;
      d->ntcp++;
      c->next = d->clients;
      if (d->clients)
        d->clients->prev = c;
      d->clients = c;
    }
}

/* ---- UDP ---- */

/* Queries on a container's UDP socket: answered here when local, SERVFAIL
 * past the in-flight cap, forwarded otherwise. */
static void
serve_udp (dns_t *d, dns_entry_t *en)
{
  uint8_t buf[65536];
  for (int i = 0; i < DNS_BURST; i++)
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
      if (dns_answer_local (d->net, en->container_id, buf, (size_t) n, &r, &rlen) == DNS_ANSWER_FORWARD)
        {
          if (fwd_allowed (d, en))
            {
              fwd_start (d, en, NULL, buf, (size_t) n, &from, fl);
              continue;
            }
          r = dns_servfail (buf, (size_t) n, &rlen);
        }
      if (r && sendto (en->udp_fd, r, rlen, MSG_DONTWAIT, (struct sockaddr *) &from, fl) < 0)
        log_debug ("dns: sendto: %m");
      free (r);
    }
}

/* ---- the server thread ---- */

/* Deadlines, checked every DNS_TICK_MS; returns the epoll timeout. */
static int
timers (dns_t *d)
{
  if (d->fwds == NULL && d->clients == NULL)
    return -1;
  int64_t now = now_ms ();
  if (now - d->last_tick_ms < DNS_TICK_MS)
    return DNS_TICK_MS;
  d->last_tick_ms = now;
  for (dns_fwd_t *f = d->fwds, *next; f; f = next)
    {
      next = f->next;
      if (now >= f->deadline_ms)
        fwd_server_failed (d, f);
    }
  for (dns_client_t *c = d->clients, *next; c; c = next)
    {
      next = c->next;
      if (c->idle_deadline_ms && now >= c->idle_deadline_ms)
        client_close (d, c);
    }
  return DNS_TICK_MS;
}

static void
free_dead (dns_t *d)
{
  for (dns_fwd_t *f = d->dead_fwds, *next; f; f = next)
    {
      next = f->dead_next;
      free (f);
    }
  for (dns_client_t *c = d->dead_clients, *next; c; c = next)
    {
      next = c->dead_next;
      free (c);
    }
  for (dns_entry_t *en = d->dead_entries, *next; en; en = next)
    {
      next = en->dead_next;
      free (en);
    }
  d->dead_fwds = NULL;
  d->dead_clients = NULL;
  d->dead_entries = NULL;
}

/* Stop serving en: its sockets, connections and forwarded queries go. */
static void
entry_detach (dns_t *d, dns_entry_t *en)
{
  en->dead = true;
  for (dns_client_t *c = d->clients, *next; c; c = next)
    {
      next = c->next;
      if (c->en == en)
        client_close (d, c);
    }
  for (dns_fwd_t *f = d->fwds, *next; f; f = next)
    {
      next = f->next;
      if (f->en == en)
        fwd_close (d, f);
    }
  pthread_mutex_lock (&d->lock);
  for (dns_entry_t **p = &d->entries; *p; p = &(*p)->next)
    if (*p == en)
      {
        *p = en->next;
        break;
      }
  pthread_mutex_unlock (&d->lock);
  entry_unref (d, en); /* the list's: closes the sockets */
}

static void
cmd_attach (dns_t *d, dns_entry_t *en)
{
  /* an entry for an older namespace of the same container goes */
  for (dns_entry_t *o = d->entries, *next; o; o = next)
    {
      next = o->next;
      if (strcmp (o->container_id, en->container_id) == 0)
        entry_detach (d, o);
    }
  if (ep_add (d, en->udp_fd, &en->udp_ep, EPOLLIN) < 0 || ep_add (d, en->tcp_fd, &en->tcp_ep, EPOLLIN) < 0)
    log_warn ("dns: container %.12s: epoll: %m", en->container_id);
  pthread_mutex_lock (&d->lock);
  en->next = d->entries;
  d->entries = en;
  pthread_mutex_unlock (&d->lock);
}

/* Run the queued commands; true when told to stop. */
static bool
run_commands (dns_t *d)
{
  uint64_t v;
  if (read (d->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
    log_debug ("dns: wake: %m");
  pthread_mutex_lock (&d->lock);
  dns_cmd_t *list = d->cmds;
  d->cmds = NULL;
  pthread_mutex_unlock (&d->lock);
  bool stop = false;
  for (dns_cmd_t *c = list; c; c = c->next)
    switch (c->op)
      {
      case CMD_ATTACH:
        cmd_attach (d, c->en);
        break;
      case CMD_DETACH:
        for (dns_entry_t *en = d->entries, *next; en; en = next)
          {
            next = en->next;
            if (strcmp (en->container_id, c->container_id) == 0)
              entry_detach (d, en);
          }
        break;
      case CMD_STOP:
        stop = true;
        break;
      }
  pthread_mutex_lock (&d->lock);
  for (dns_cmd_t *c = list, *next; c; c = next)
    {
      next = c->next;
      c->done = true;
    }
  pthread_cond_broadcast (&d->cond);
  pthread_mutex_unlock (&d->lock);
  return stop;
}

static void *
server_thread (void *arg)
{
  dns_t *d = arg;
  struct epoll_event evs[EVENTS_MAX];
  for (;;)
    {
      int n = epoll_wait (d->epfd, evs, EVENTS_MAX, timers (d));
      if (n < 0 && errno != EINTR)
        {
          log_error ("dns: epoll_wait: %m");
          usleep (100 * 1000);
        }
      bool stop = false;
      for (int i = 0; i < n; i++)
        {
          dns_ep_t *ep = evs[i].data.ptr;
          switch (ep->kind)
            {
            case EP_WAKE:
              stop = run_commands (d) || stop;
              break;
            case EP_UDP:
            case EP_LISTEN:
              {
                dns_entry_t *en = ep->owner;
                if (!en->dead)
                  (ep->kind == EP_UDP ? serve_udp : accept_clients) (d, en);
                break;
              }
            case EP_CLIENT:
              {
                dns_client_t *c = ep->owner;
                if (!c->dead)
                  client_event (d, c, evs[i].events);
                break;
              }
            case EP_FWD:
              {
                dns_fwd_t *f = ep->owner;
                if (!f->dead)
                  fwd_event (d, f, evs[i].events);
                break;
              }
            }
        }
      free_dead (d);
      if (stop)
        break;
    }
  while (d->entries)
    entry_detach (d, d->entries);
  free_dead (d);
  return NULL;
}

/* Queue a command and wait until the server thread has run it. */
static void
command (dns_t *d, dns_cmd_t *c)
{
  pthread_mutex_lock (&d->lock);
  c->next = d->cmds;
  d->cmds = c;
  uint64_t one = 1;
  if (write (d->wake_fd, &one, sizeof one) < 0)
    log_warn ("dns: wake: %m");
  while (!c->done)
    pthread_cond_wait (&d->cond, &d->lock);
  pthread_mutex_unlock (&d->lock);
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
  pthread_cond_init (&d->cond, NULL);
  d->wake_ep = (dns_ep_t) { EP_WAKE, NULL };
  d->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  d->epfd = epoll_create1 (EPOLL_CLOEXEC);
  int e = 0;
  if (d->wake_fd < 0 || d->epfd < 0 || ep_add (d, d->wake_fd, &d->wake_ep, EPOLLIN) < 0)
    e = errno;
  else
    e = pthread_create (&d->thread, NULL, server_thread, d);
  if (e != 0)
    {
      if (d->wake_fd >= 0)
        close (d->wake_fd);
      if (d->epfd >= 0)
        close (d->epfd);
      free (d);
      return arca_error_errno (err, e, "dns: start server thread");
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
  dns_cmd_t c = { .op = CMD_STOP };
  command (d, &c);
  pthread_join (d->thread, NULL);
  net->dns = NULL;
  close (d->wake_fd);
  close (d->epfd);
  pthread_mutex_destroy (&d->lock);
  pthread_cond_destroy (&d->cond);
  free (d);
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
  /* the DNS message library is loaded with the first container that gets
   * the embedded server (util/lazy_ldns.h), before it can get a query */
  if (arca_lazy_ldns_load (err) < 0)
    return -1;
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
  en->udp_ep = (dns_ep_t) { EP_UDP, en };
  en->tcp_ep = (dns_ep_t) { EP_LISTEN, en };
  dns_cmd_t c = { .op = CMD_ATTACH, .en = en };
  command (d, &c);
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
  for (dns_entry_t *en = d->entries; en && !found; en = en->next)
    found = strcmp (en->container_id, container_id) == 0;
  pthread_mutex_unlock (&d->lock);
  if (!found)
    return;
  dns_cmd_t c = { .op = CMD_DETACH, .container_id = container_id };
  command (d, &c);
}
