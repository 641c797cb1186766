/* The userland proxy's relay (see relay.h): one epoll thread for every
 * published port.
 *
 * TCP: each direction is pumped with recv(MSG_PEEK) into one scratch buffer
 * shared by all connections, send() to the other side, then recv(MSG_TRUNC)
 * of exactly what was sent, which discards it without a copy.  Bytes the
 * other side cannot take yet stay in the source socket's receive buffer,
 * the source is no longer polled for input until the destination is
 * writable again, and TCP's window stops the sender: no per-connection
 * buffer, whatever the peers do.  EOF on one side becomes shutdown(SHUT_WR)
 * on the other (half-close is carried across); an error or reset on either
 * side closes both.  The connection to the container is non-blocking and
 * given CONNECT_TIMEOUT_S to complete, as docker-proxy's dial.
 *
 * UDP: one socket connected to the container per client address (a flow),
 * forgotten after UDP_FLOW_IDLE_S without traffic (docker-proxy's UDP
 * connection timeout), at most UDP_FLOW_MAX per port.
 *
 * Ownership: listeners, connections and flows belong to the relay thread;
 * other threads only queue commands (add, remove, stop) and wait for the
 * thread to have done them.  An object closed while handling one batch of
 * epoll events is only marked dead and freed after the batch, since a later
 * event of the same batch may still point at it. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/relay.h"
#include "util/log.h"
#include "util/strutil.h"

#define RELAY_CHUNK (64 * 1024)   /* bytes moved per recv/send */
#define PUMP_ROUNDS 4             /* chunks per direction per event: fairness */
#define ACCEPT_BURST 64           /* accepts per listener event */
#define CONNECT_TIMEOUT_S 10
#define UDP_FLOW_MAX 256
#define UDP_FLOW_IDLE_S 90
#define PAUSE_MS 100              /* a listener out of fds waits this long */
#define EVENTS_MAX 64

typedef enum { EP_WAKE, EP_LISTENER, EP_CLIENT, EP_UPSTREAM, EP_FLOW } ep_kind_t;

/* What an epoll event points at: one per polled fd, embedded in its owner. */
typedef struct
{
  ep_kind_t kind;
  void *owner;
} relay_ep_t;

typedef struct relay_conn relay_conn_t;
typedef struct relay_flow relay_flow_t;

struct relay_listener
{
  relay_ep_t ep;
  relay_listener_t *next;         /* r->listeners */
  int fd;
  bool tcp;
  bool dead;
  struct sockaddr_storage to;     /* the container's address: IPv4 or IPv6 */
  socklen_t to_len;
  char to_text[INET6_ADDRSTRLEN + 8]; /* for logs */
  int64_t paused_until_ms;        /* 0 = polled */
  relay_conn_t *conns;            /* TCP */
  relay_flow_t *flows;            /* UDP */
  int nflows;
};

/* One direction of a TCP connection. */
typedef struct
{
  bool open;                      /* no EOF read from the source yet */
  bool blocked;                   /* the destination is full: wait for POLLOUT */
} relay_dir_t;

struct relay_conn
{
  relay_ep_t client_ep, upstream_ep;
  relay_conn_t *prev, *next;      /* l->conns */
  relay_conn_t *cprev, *cnext;    /* r->connecting, while connecting */
  relay_conn_t *dead_next;
  relay_listener_t *l;
  int client, upstream;
  bool connecting, dead;
  /* a side whose socket is shut both ways (EPOLLHUP, which epoll reports
   * whatever the interest) and that we need no event from is taken out of
   * the epoll set (parked) instead of waking the loop in vain; it is still
   * read when the other side can take its last bytes, and polled again if
   * those take more than one round */
  bool client_hup, upstream_hup, client_parked, upstream_parked;
  int64_t connect_deadline_ms;
  relay_dir_t up, down;           /* client->upstream, upstream->client */
  uint32_t client_events, upstream_events; /* registered interest */
};

struct relay_flow
{
  relay_ep_t ep;
  relay_flow_t *prev, *next;      /* l->flows */
  relay_flow_t *dead_next;
  relay_listener_t *l;
  int fd;                         /* connected to the container */
  struct sockaddr_storage peer;
  socklen_t peer_len;
  int64_t last_ms;
  bool dead;
};

typedef enum { CMD_ADD, CMD_REMOVE, CMD_STOP } cmd_op_t;

typedef struct relay_cmd
{
  struct relay_cmd *next;
  cmd_op_t op;
  relay_listener_t *l;
  bool done;
  int err;                        /* errno of a failed ADD */
} relay_cmd_t;

struct relay
{
  int epfd, wake_fd;
  relay_ep_t wake_ep;
  pthread_t thread;
  int max_conns;
  int nconns;                     /* TCP connections + UDP flows */
  int64_t last_cap_warning_ms;
  int64_t last_sweep_ms;          /* idle UDP flows */

  pthread_mutex_t lock;           /* guards cmds, done flags */
  pthread_cond_t cond;
  relay_cmd_t *cmds;

  /* relay thread only */
  relay_listener_t *listeners;
  relay_conn_t *connecting;       /* connections still connecting (deadlines) */
  relay_conn_t *dead_conns;
  relay_flow_t *dead_flows;
  relay_listener_t *dead_listeners;
  char *scratch;
};

static int64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
ep_set (relay_t *r, int fd, relay_ep_t *ep, uint32_t events, uint32_t *current)
{
  if (current && *current == events)
    return;
  struct epoll_event ev = { .events = events, .data.ptr = ep };
  if (epoll_ctl (r->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
    log_debug ("relay: epoll mod: %s", strerror (errno));
  if (current)
    *current = events;
}

static int
ep_add (relay_t *r, int fd, relay_ep_t *ep, uint32_t events)
{
  struct epoll_event ev = { .events = events, .data.ptr = ep };
  return epoll_ctl (r->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void
at_cap_warning (relay_t *r)
{
  int64_t now = now_ms ();
  if (now - r->last_cap_warning_ms < 10000)
    return;
  r->last_cap_warning_ms = now;
  log_warn ("port proxy: %d connections open (proxyMaxConnections); new ones are closed at once", r->nconns);
}

/* ------------------------------------------------------------------ TCP -- */

static void
connecting_unlink (relay_t *r, relay_conn_t *c)
{
  if (!c->connecting)
    return;
  c->connecting = false;
  if (c->cprev)
    c->cprev->cnext = c->cnext;
  else
    r->connecting = c->cnext;
  if (c->cnext)
    c->cnext->cprev = c->cprev;
}

static void
conn_close (relay_t *r, relay_conn_t *c)
{
  if (c->dead)
    return;
  c->dead = true;
  connecting_unlink (r, c);
  /* closing removes the fds from the epoll set */
  close (c->client);
  close (c->upstream);
  if (c->prev)
    c->prev->next = c->next;
  else
    c->l->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  c->dead_next = r->dead_conns;
  r->dead_conns = c;
  r->nconns--;
}

static void
side_update (relay_t *r, int fd, relay_ep_t *ep, uint32_t events, uint32_t *current, bool hup, bool *parked)
{
  if (hup && events == 0)
    {
      if (!*parked && epoll_ctl (r->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
        log_debug ("relay: epoll del: %s", strerror (errno));
      *parked = true;
      return;
    }
  if (*parked)
    {
      /* its last bytes are wanted again (a pump stopped after
       * PUMP_ROUNDS): poll it until they are read */
      if (ep_add (r, fd, ep, events) < 0)
        log_debug ("relay: epoll add: %s", strerror (errno));
      *parked = false;
      *current = events;
      return;
    }
  ep_set (r, fd, ep, events, current);
}

/* Interest of both sockets from the state of the two directions. */
static void
conn_update (relay_t *r, relay_conn_t *c)
{
  if (c->connecting)
    return;
  uint32_t ce = (c->up.open && !c->up.blocked ? EPOLLIN : 0) | (c->down.blocked ? EPOLLOUT : 0);
  uint32_t ue = (c->down.open && !c->down.blocked ? EPOLLIN : 0) | (c->up.blocked ? EPOLLOUT : 0);
  side_update (r, c->client, &c->client_ep, ce, &c->client_events, c->client_hup, &c->client_parked);
  side_update (r, c->upstream, &c->upstream_ep, ue, &c->upstream_events, c->upstream_hup, &c->upstream_parked);
}

/* Move what `from` has to `to`, as much as `to` takes.  Returns -1 when the
 * connection must be closed. */
static int
pump (relay_t *r, int from, int to, relay_dir_t *d)
{
  d->blocked = false;
  for (int i = 0; i < PUMP_ROUNDS && d->open; i++)
    {
      ssize_t n = recv (from, r->scratch, RELAY_CHUNK, MSG_PEEK | MSG_DONTWAIT);
      if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
      if (n == 0)
        {
          d->open = false;
          shutdown (to, SHUT_WR);
          return 0;
        }
      ssize_t w = send (to, r->scratch, (size_t) n, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0)
        {
          if (errno != EAGAIN && errno != EINTR)
            return -1;
          d->blocked = true;
          return 0;
        }
      if (recv (from, NULL, (size_t) w, MSG_TRUNC | MSG_DONTWAIT) != w)
        return -1;
      if (w < n)
        {
          d->blocked = true;
          return 0;
        }
    }
  return 0;
}

static void
conn_connected (relay_t *r, relay_conn_t *c)
{
  int soerr = 0;
  socklen_t len = sizeof soerr;
  if (getsockopt (c->upstream, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr != 0)
    {
      log_debug ("relay: connect to %s: %s", c->l->to_text, strerror (soerr ? soerr : errno));
      conn_close (r, c);
      return;
    }
  connecting_unlink (r, c);
  c->client_events = c->upstream_events = 0xffffffff; /* force the first update */
  conn_update (r, c);
}

static void
conn_event (relay_t *r, relay_conn_t *c, bool client_side, uint32_t ev)
{
  if (c->connecting)
    {
      if (!client_side)
        conn_connected (r, c);
      else if (ev & (EPOLLERR | EPOLLHUP))
        conn_close (r, c); /* the client went away before the container answered */
      return;
    }
  if (ev & EPOLLERR)
    {
      conn_close (r, c); /* reset: both go, as docker-proxy */
      return;
    }
  if (ev & EPOLLHUP)
    *(client_side ? &c->client_hup : &c->upstream_hup) = true;
  bool in = ev & (EPOLLIN | EPOLLHUP | EPOLLERR), out = ev & (EPOLLOUT | EPOLLHUP | EPOLLERR);
  int rc = 0;
  /* client side readable: client->upstream; writable: the other way round */
  if (client_side)
    {
      if (in && c->up.open && !c->up.blocked)
        rc = pump (r, c->client, c->upstream, &c->up);
      if (rc == 0 && out && c->down.blocked)
        rc = pump (r, c->upstream, c->client, &c->down);
    }
  else
    {
      if (in && c->down.open && !c->down.blocked)
        rc = pump (r, c->upstream, c->client, &c->down);
      if (rc == 0 && out && c->up.blocked)
        rc = pump (r, c->client, c->upstream, &c->up);
    }
  if (rc < 0 || (!c->up.open && !c->down.open))
    conn_close (r, c);
  else
    conn_update (r, c);
}

static void
tcp_accept (relay_t *r, relay_listener_t *l)
{
  for (int i = 0; i < ACCEPT_BURST; i++)
    {
      int fd = accept4 (l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0)
        {
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            {
              /* level-triggered: stop polling a while instead of spinning */
              log_warn ("port proxy: accept: %s", strerror (errno));
              l->paused_until_ms = now_ms () + PAUSE_MS;
              ep_set (r, l->fd, &l->ep, 0, NULL);
            }
          return;
        }
      if (r->nconns >= r->max_conns)
        {
          at_cap_warning (r);
          close (fd);
          continue;
        }
      int up = socket (l->to.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (up < 0)
        {
          close (fd);
          continue;
        }
      int one = 1;
      setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      setsockopt (up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      relay_conn_t *c = xmalloc0 (sizeof *c);
      c->client_ep = (relay_ep_t) { EP_CLIENT, c };
      c->upstream_ep = (relay_ep_t) { EP_UPSTREAM, c };
      c->l = l;
      c->client = fd;
      c->upstream = up;
      c->up.open = c->down.open = true;
      c->connecting = true;
      c->connect_deadline_ms = now_ms () + CONNECT_TIMEOUT_S * 1000;
      int cr = connect (up, (struct sockaddr *) &l->to, l->to_len);
      if ((cr < 0 && errno != EINPROGRESS) || ep_add (r, fd, &c->client_ep, 0) < 0
          || ep_add (r, up, &c->upstream_ep, EPOLLOUT) < 0)
        {
          close (fd);
          close (up);
          free (c);
          continue;
        }
      c->next = l->conns;
      if (l->conns)
        l->conns->prev = c;
      l->conns = c;
      c->cnext = r->connecting;
      if (r->connecting)
        r->connecting->cprev = c;
      r->connecting = c;
      r->nconns++;
    }
}

/* ------------------------------------------------------------------ UDP -- */

static void
flow_close (relay_t *r, relay_flow_t *f)
{
  if (f->dead)
    return;
  f->dead = true;
  close (f->fd);
  if (f->prev)
    f->prev->next = f->next;
  else
    f->l->flows = f->next;
  if (f->next)
    f->next->prev = f->prev;
  f->dead_next = r->dead_flows;
  r->dead_flows = f;
  f->l->nflows--;
  r->nconns--;
}

static relay_flow_t *
flow_for (relay_t *r, relay_listener_t *l, const struct sockaddr_storage *peer, socklen_t plen)
{
  for (relay_flow_t *f = l->flows; f; f = f->next)
    if (f->peer_len == plen && memcmp (&f->peer, peer, plen) == 0)
      return f;
  if (l->nflows >= UDP_FLOW_MAX)
    return NULL;
  if (r->nconns >= r->max_conns)
    {
      at_cap_warning (r);
      return NULL;
    }
  int fd = socket (l->to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return NULL;
  relay_flow_t *f = xmalloc0 (sizeof *f);
  f->ep = (relay_ep_t) { EP_FLOW, f };
  f->l = l;
  f->fd = fd;
  memcpy (&f->peer, peer, plen);
  f->peer_len = plen;
  if (connect (fd, (struct sockaddr *) &l->to, l->to_len) < 0 || ep_add (r, fd, &f->ep, EPOLLIN) < 0)
    {
      close (fd);
      free (f);
      return NULL;
    }
  f->next = l->flows;
  if (l->flows)
    l->flows->prev = f;
  l->flows = f;
  l->nflows++;
  r->nconns++;
  return f;
}

static void
udp_from_clients (relay_t *r, relay_listener_t *l)
{
  for (int i = 0; i < ACCEPT_BURST; i++)
    {
      struct sockaddr_storage peer;
      socklen_t plen = sizeof peer;
      ssize_t n = recvfrom (l->fd, r->scratch, RELAY_CHUNK, MSG_DONTWAIT, (struct sockaddr *) &peer, &plen);
      if (n < 0)
        return;
      relay_flow_t *f = flow_for (r, l, &peer, plen);
      if (f == NULL)
        continue;
      f->last_ms = now_ms ();
      if (send (f->fd, r->scratch, (size_t) n, MSG_DONTWAIT) < 0)
        log_debug ("relay: udp to %s: %s", l->to_text, strerror (errno));
    }
}

static void
udp_from_container (relay_t *r, relay_flow_t *f)
{
  for (int i = 0; i < ACCEPT_BURST; i++)
    {
      ssize_t n = recv (f->fd, r->scratch, RELAY_CHUNK, MSG_DONTWAIT);
      if (n < 0)
        return;
      f->last_ms = now_ms ();
      sendto (f->l->fd, r->scratch, (size_t) n, MSG_DONTWAIT, (struct sockaddr *) &f->peer, f->peer_len);
    }
}

/* ------------------------------------------------------------ listeners -- */

static void
listener_close (relay_t *r, relay_listener_t *l)
{
  while (l->conns)
    conn_close (r, l->conns);
  while (l->flows)
    flow_close (r, l->flows);
  if (!l->dead)
    {
      l->dead = true;
      close (l->fd);
      for (relay_listener_t **p = &r->listeners; *p; p = &(*p)->next)
        if (*p == l)
          {
            *p = l->next;
            break;
          }
      l->next = r->dead_listeners;
      r->dead_listeners = l;
    }
}

/* Timers: connect deadlines, idle UDP flows (swept once a second),
 * paused listeners.  Returns the epoll timeout until the next one (-1:
 * none). */
static int
timers (relay_t *r)
{
  int64_t now = now_ms ();
  int timeout = -1;
  for (relay_conn_t *c = r->connecting, *next; c; c = next)
    {
      next = c->cnext;
      if (now >= c->connect_deadline_ms)
        conn_close (r, c);
    }
  if (r->connecting)
    timeout = 1000;
  bool sweep = now - r->last_sweep_ms >= 1000;
  if (sweep)
    r->last_sweep_ms = now;
  for (relay_listener_t *l = r->listeners; l; l = l->next)
    {
      if (l->paused_until_ms && now >= l->paused_until_ms)
        {
          l->paused_until_ms = 0;
          ep_set (r, l->fd, &l->ep, EPOLLIN, NULL);
        }
      if (l->paused_until_ms)
        timeout = PAUSE_MS;
      for (relay_flow_t *f = sweep ? l->flows : NULL, *next; f; f = next)
        {
          next = f->next;
          if (now - f->last_ms > UDP_FLOW_IDLE_S * 1000)
            flow_close (r, f);
        }
      if (l->flows && (timeout < 0 || timeout > 1000))
        timeout = 1000;
    }
  return timeout;
}

static void
free_dead (relay_t *r)
{
  for (relay_conn_t *c = r->dead_conns, *next; c; c = next)
    {
      next = c->dead_next;
      free (c);
    }
  for (relay_flow_t *f = r->dead_flows, *next; f; f = next)
    {
      next = f->dead_next;
      free (f);
    }
  for (relay_listener_t *l = r->dead_listeners, *next; l; l = next)
    {
      next = l->next;
      free (l);
    }
  r->dead_conns = NULL;
  r->dead_flows = NULL;
  r->dead_listeners = NULL;
}

/* Run the queued commands; true when told to stop. */
static bool
run_commands (relay_t *r)
{
  uint64_t v;
  if (read (r->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
    log_debug ("relay: wake: %s", strerror (errno));
  pthread_mutex_lock (&r->lock);
  relay_cmd_t *list = r->cmds;
  r->cmds = NULL;
  pthread_mutex_unlock (&r->lock);
  bool stop = false;
  for (relay_cmd_t *c = list; c; c = c->next)
    switch (c->op)
      {
      case CMD_ADD:
        if (ep_add (r, c->l->fd, &c->l->ep, EPOLLIN) < 0)
          {
            c->err = errno;
            close (c->l->fd);
            free (c->l);
            c->l = NULL;
            break;
          }
        c->l->next = r->listeners;
        r->listeners = c->l;
        break;
      case CMD_REMOVE:
        listener_close (r, c->l);
        break;
      case CMD_STOP:
        stop = true;
        break;
      }
  pthread_mutex_lock (&r->lock);
  for (relay_cmd_t *c = list, *next; c; c = next)
    {
      next = c->next;
      c->done = true;
    }
  pthread_cond_broadcast (&r->cond);
  pthread_mutex_unlock (&r->lock);
  return stop;
}

static void *
relay_thread (void *arg)
{
  relay_t *r = arg;
  struct epoll_event evs[EVENTS_MAX];
  for (;;)
    {
      int n = epoll_wait (r->epfd, evs, EVENTS_MAX, timers (r));
      if (n < 0 && errno != EINTR)
        {
          log_error ("relay: epoll_wait: %s", strerror (errno));
          usleep (100 * 1000);
        }
      bool stop = false;
      for (int i = 0; i < n; i++)
        {
          relay_ep_t *ep = evs[i].data.ptr;
          switch (ep->kind)
            {
            case EP_WAKE:
              stop = run_commands (r) || stop;
              break;
            case EP_LISTENER:
              {
                relay_listener_t *l = ep->owner;
                if (!l->dead)
                  (l->tcp ? tcp_accept : udp_from_clients) (r, l);
                break;
              }
            case EP_CLIENT:
            case EP_UPSTREAM:
              {
                relay_conn_t *c = ep->owner;
                if (!c->dead)
                  conn_event (r, c, ep->kind == EP_CLIENT, evs[i].events);
                break;
              }
            case EP_FLOW:
              {
                relay_flow_t *f = ep->owner;
                if (!f->dead)
                  udp_from_container (r, f);
                break;
              }
            }
        }
      free_dead (r);
      if (stop)
        break;
    }
  while (r->listeners)
    listener_close (r, r->listeners);
  free_dead (r);
  return NULL;
}

/* Queue a command and wait until the relay thread has run it. */
static void
command (relay_t *r, relay_cmd_t *c)
{
  pthread_mutex_lock (&r->lock);
  c->next = r->cmds;
  r->cmds = c;
  uint64_t one = 1;
  if (write (r->wake_fd, &one, sizeof one) < 0)
    log_warn ("relay: wake: %s", strerror (errno));
  while (!c->done)
    pthread_cond_wait (&r->cond, &r->lock);
  pthread_mutex_unlock (&r->lock);
}

/* --------------------------------------------------------------- public -- */

int
relay_start (int max_conns, relay_t **out, arca_error_t *err)
{
  relay_t *r = xmalloc0 (sizeof *r);
  r->max_conns = max_conns;
  r->epfd = epoll_create1 (EPOLL_CLOEXEC);
  r->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  r->wake_ep = (relay_ep_t) { EP_WAKE, NULL };
  pthread_mutex_init (&r->lock, NULL);
  pthread_cond_init (&r->cond, NULL);
  r->scratch = xmalloc0 (RELAY_CHUNK);
  int e = 0;
  if (r->epfd < 0 || r->wake_fd < 0 || ep_add (r, r->wake_fd, &r->wake_ep, EPOLLIN) < 0)
    e = errno;
  else
    e = pthread_create (&r->thread, NULL, relay_thread, r);
  if (e != 0)
    {
      if (r->epfd >= 0)
        close (r->epfd);
      if (r->wake_fd >= 0)
        close (r->wake_fd);
      free (r->scratch);
      free (r);
      return arca_error_errno (err, e, "cannot start the port proxy");
    }
  *out = r;
  return 0;
}

void
relay_stop (relay_t *r)
{
  if (r == NULL)
    return;
  relay_cmd_t c = { .op = CMD_STOP };
  command (r, &c);
  pthread_join (r->thread, NULL);
  close (r->epfd);
  close (r->wake_fd);
  pthread_mutex_destroy (&r->lock);
  pthread_cond_destroy (&r->cond);
  free (r->scratch);
  free (r);
}

int
relay_listener_add (relay_t *r, int fd, bool tcp, const struct sockaddr *to, socklen_t to_len, relay_listener_t **out,
                    arca_error_t *err)
{
  relay_listener_t *l = xmalloc0 (sizeof *l);
  l->ep = (relay_ep_t) { EP_LISTENER, l };
  l->fd = fd;
  l->tcp = tcp;
  if (to_len > sizeof l->to)
    to_len = sizeof l->to;
  memcpy (&l->to, to, to_len);
  l->to_len = to_len;
  char a[INET6_ADDRSTRLEN] = "?";
  if (to->sa_family == AF_INET6)
    {
      const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *) to;
      inet_ntop (AF_INET6, &s6->sin6_addr, a, sizeof a);
      snprintf (l->to_text, sizeof l->to_text, "[%s]:%d", a, ntohs (s6->sin6_port));
    }
  else
    {
      const struct sockaddr_in *s4 = (const struct sockaddr_in *) to;
      inet_ntop (AF_INET, &s4->sin_addr, a, sizeof a);
      snprintf (l->to_text, sizeof l->to_text, "%s:%d", a, ntohs (s4->sin_port));
    }
  /* non-blocking: a connection reset between poll and accept must not
   * block the relay */
  int fl = fcntl (fd, F_GETFL);
  if (fl < 0 || fcntl (fd, F_SETFL, fl | O_NONBLOCK) < 0)
    {
      int e = errno;
      close (fd);
      free (l);
      return arca_error_errno (err, e, "port proxy");
    }
  relay_cmd_t c = { .op = CMD_ADD, .l = l };
  command (r, &c);
  if (c.l == NULL)
    return arca_error_errno (err, c.err, "port proxy");
  *out = l;
  return 0;
}

void
relay_listener_remove (relay_t *r, relay_listener_t *l)
{
  if (l == NULL)
    return;
  relay_cmd_t c = { .op = CMD_REMOVE, .l = l };
  command (r, &c);
}
