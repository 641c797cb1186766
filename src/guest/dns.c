/* The embedded DNS server inside the guest: a container on a user network
 * has "nameserver 127.0.0.11" in its resolv.conf, and Arca answers there
 * from the daemon (src/net/dns.c) inside the container's netns on the
 * host.  The guest has its own network stack, so the agent listens on
 * 127.0.0.11:53 (UDP and TCP) and passes each message to the shim, which
 * asks the daemon's server from the netns and sends the answer back.
 * VM_DNS_QUERY payload: one byte (0 UDP, 1 TCP) then the DNS message. */
#include "guest/guest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define DNS_TIMEOUT_NS (10000000000LL)
#define DNS_MAX_PENDING 256
#define DNS_MAX_TCP 32

struct dns_pending
{
  dns_pending_t *next;
  uint32_t id;        /* 0: a TCP connection still reading its query */
  int tcp_fd;         /* -1 for UDP */
  struct sockaddr_in from;
  uint8_t buf[2 + 65535];
  size_t have;
  int64_t deadline;
};

static int
listen_on (int type)
{
  int fd = socket (AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  int one = 1;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (53) };
  inet_pton (AF_INET, "127.0.0.11", &a.sin_addr);
  if (bind (fd, (struct sockaddr *) &a, sizeof a) < 0 || (type == SOCK_STREAM && listen (fd, 16) < 0))
    {
      close (fd);
      return -1;
    }
  return fd;
}

int
dns_relay_start (guest_t *g, char **err_msg)
{
  g->dns_udp_fd = listen_on (SOCK_DGRAM);
  g->dns_tcp_fd = listen_on (SOCK_STREAM);
  if (g->dns_udp_fd < 0 || g->dns_tcp_fd < 0)
    {
      *err_msg = xasprintf ("DNS on 127.0.0.11:53: %s", strerror (errno));
      return -1;
    }
  return 0;
}

static size_t
count_pending (guest_t *g, bool tcp_only)
{
  size_t n = 0;
  for (dns_pending_t *p = g->dns; p; p = p->next)
    n += !tcp_only || p->tcp_fd >= 0;
  return n;
}

static void
pending_free (guest_t *g, dns_pending_t *q)
{
  for (dns_pending_t **pp = &g->dns; *pp; pp = &(*pp)->next)
    if (*pp == q)
      {
        *pp = q->next;
        break;
      }
  if (q->tcp_fd >= 0)
    close (q->tcp_fd);
  free (q);
}

static void
forward (guest_t *g, dns_pending_t *q, const uint8_t *msg, size_t len)
{
  q->id = g->dns_next_id++;
  if (g->dns_next_id == 0)
    g->dns_next_id = 1;
  q->deadline = guest_mono_ns () + DNS_TIMEOUT_NS;
  uint8_t *payload = malloc (len + 1);
  if (payload == NULL)
    return;
  payload[0] = q->tcp_fd >= 0 ? 1 : 0;
  memcpy (payload + 1, msg, len);
  chan_send (g, q->id, VM_DNS_QUERY, payload, len + 1);
  free (payload);
}

static void
udp_readable (guest_t *g)
{
  for (int rounds = 0; rounds < 16; rounds++)
    {
      uint8_t msg[4096];
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom (g->dns_udp_fd, msg, sizeof msg, 0, (struct sockaddr *) &from, &fl);
      if (n <= 0)
        return;
      if (n < 12 || count_pending (g, false) >= DNS_MAX_PENDING)
        continue; /* not a DNS message, or flooded: the client retries */
      dns_pending_t *q = calloc (1, sizeof *q);
      if (q == NULL)
        return;
      q->tcp_fd = -1;
      q->from = from;
      q->next = g->dns;
      g->dns = q;
      forward (g, q, msg, (size_t) n);
    }
}

static void
tcp_accept (guest_t *g)
{
  int fd = accept4 (g->dns_tcp_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0)
    return;
  if (count_pending (g, true) >= DNS_MAX_TCP)
    {
      close (fd);
      return;
    }
  dns_pending_t *q = calloc (1, sizeof *q);
  if (q == NULL)
    {
      close (fd);
      return;
    }
  q->tcp_fd = fd;
  q->deadline = guest_mono_ns () + DNS_TIMEOUT_NS;
  q->next = g->dns;
  g->dns = q;
}

/* A TCP client's bytes: a 2-byte length and the message. */
static void
tcp_readable (guest_t *g, dns_pending_t *q)
{
  ssize_t n = read (q->tcp_fd, q->buf + q->have, sizeof q->buf - q->have);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0)
    {
      pending_free (g, q);
      return;
    }
  q->have += (size_t) n;
  if (q->have < 2)
    return;
  size_t len = (size_t) q->buf[0] << 8 | q->buf[1];
  if (q->have >= 2 + len && q->id == 0)
    forward (g, q, q->buf + 2, len);
}

void
dns_reply (guest_t *g, uint32_t id, const uint8_t *data, size_t len)
{
  for (dns_pending_t *q = g->dns; q; q = q->next)
    {
      if (q->id != id)
        continue;
      if (len > 0 && q->tcp_fd < 0)
        sendto (g->dns_udp_fd, data, len, 0, (struct sockaddr *) &q->from, sizeof q->from);
      else if (len > 0 && len <= 65535)
        {
          uint8_t hdr[2] = { (uint8_t) (len >> 8), (uint8_t) len };
          struct iovec iov[2] = { { hdr, 2 }, { (void *) data, len } };
          (void) !writev (q->tcp_fd, iov, 2);
        }
      pending_free (g, q);
      return;
    }
}

void
dns_poll_add (guest_t *g, struct pollfd *p, size_t *n, size_t max)
{
  if (g->dns_udp_fd < 0)
    return;
  if (*n < max)
    p[(*n)++] = (struct pollfd){ .fd = g->dns_udp_fd, .events = POLLIN };
  if (*n < max)
    p[(*n)++] = (struct pollfd){ .fd = g->dns_tcp_fd, .events = POLLIN };
  for (dns_pending_t *q = g->dns; q && *n < max; q = q->next)
    if (q->tcp_fd >= 0 && q->id == 0)
      p[(*n)++] = (struct pollfd){ .fd = q->tcp_fd, .events = POLLIN };
}

void
dns_poll_handle (guest_t *g, struct pollfd *p, size_t n)
{
  if (g->dns_udp_fd < 0)
    return;
  for (size_t i = 0; i < n; i++)
    {
      if (!p[i].revents)
        continue;
      if (p[i].fd == g->dns_udp_fd)
        udp_readable (g);
      else if (p[i].fd == g->dns_tcp_fd)
        tcp_accept (g);
      else
        for (dns_pending_t *q = g->dns; q; q = q->next)
          if (q->tcp_fd == p[i].fd && q->id == 0)
            {
              tcp_readable (g, q);
              break;
            }
    }
}

void
dns_tick (guest_t *g)
{
  int64_t now = guest_mono_ns ();
  for (dns_pending_t *q = g->dns, *next; q; q = next)
    {
      next = q->next;
      if (now > q->deadline)
        pending_free (g, q);
    }
}
