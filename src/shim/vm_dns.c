/* The host half of the guest's DNS relay (src/guest/dns.c): each query the
 * guest received on 127.0.0.11:53 is asked of the daemon's embedded server
 * on 127.0.0.11:53 in the container's netns, where this shim lives, over
 * the transport the guest's client used; the answer goes back as
 * VM_DNS_REPLY.  The daemon's server knows the asker by the netns the
 * query arrives in, as for a runc container. */
#include "shim/vm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/timeutil.h"

#define DNS_QUERY_NS (5 * ARCA_NSEC_PER_SEC)
#define DNS_MAX_QUERIES 256

struct vm_dns_query
{
  vm_dns_query_t *next;
  uint32_t id;
  int fd;
  bool tcp;
  int64_t deadline;
  uint8_t buf[2 + 65535]; /* TCP: the answer with its length prefix */
  size_t have;
};

static void
query_free (vm_t *vm, vm_dns_query_t *q)
{
  for (vm_dns_query_t **pp = &vm->dns; *pp; pp = &(*pp)->next)
    if (*pp == q)
      {
        *pp = q->next;
        break;
      }
  if (q->fd >= 0)
    close (q->fd);
  free (q);
}

static void
answer (vm_t *vm, vm_dns_query_t *q, const uint8_t *data, size_t len)
{
  vm_send (vm, q->id, VM_DNS_REPLY, data, len);
  query_free (vm, q);
}

void
vm_dns_query (vm_t *vm, uint32_t id, const uint8_t *data, size_t len)
{
  size_t n = 0;
  for (vm_dns_query_t *q = vm->dns; q; q = q->next)
    n++;
  if (len < 13 || len > 1 + 65535 || n >= DNS_MAX_QUERIES || !json_get_bool (vm->cfg, "dns_relay", false))
    {
      vm_send (vm, id, VM_DNS_REPLY, NULL, 0);
      return;
    }
  bool tcp = data[0] == 1;
  int fd = socket (AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (53) };
  inet_pton (AF_INET, "127.0.0.11", &a.sin_addr);
  /* Loopback in our own netns: connecting and sending do not wait. */
  struct timeval tv = { .tv_sec = 1 };
  if (fd >= 0)
    setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  bool ok = fd >= 0 && connect (fd, (struct sockaddr *) &a, sizeof a) == 0;
  if (ok && tcp)
    {
      uint8_t hdr[2] = { (uint8_t) ((len - 1) >> 8), (uint8_t) (len - 1) };
      ok = send (fd, hdr, 2, MSG_NOSIGNAL) == 2 && send (fd, data + 1, len - 1, MSG_NOSIGNAL) == (ssize_t) (len - 1);
    }
  else if (ok)
    ok = send (fd, data + 1, len - 1, MSG_NOSIGNAL) == (ssize_t) (len - 1);
  if (!ok)
    {
      if (fd >= 0)
        close (fd);
      vm_send (vm, id, VM_DNS_REPLY, NULL, 0);
      return;
    }
  vm_dns_query_t *q = calloc (1, sizeof *q);
  if (q == NULL)
    {
      close (fd);
      return;
    }
  q->id = id;
  q->fd = fd;
  q->tcp = tcp;
  q->deadline = time_mono_ns () + DNS_QUERY_NS;
  q->next = vm->dns;
  vm->dns = q;
}

void
vm_dns_poll_add (vm_t *vm, pollset_t *ps, int64_t *deadline)
{
  for (vm_dns_query_t *q = vm->dns; q; q = q->next)
    {
      pollset_add (ps, q->fd, POLLIN);
      if (*deadline == 0 || q->deadline < *deadline)
        *deadline = q->deadline;
    }
}

static void
readable (vm_t *vm, vm_dns_query_t *q)
{
  if (!q->tcp)
    {
      uint8_t buf[65535];
      ssize_t n = recv (q->fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
      answer (vm, q, buf, n > 0 ? (size_t) n : 0);
      return;
    }
  ssize_t n = recv (q->fd, q->buf + q->have, sizeof q->buf - q->have, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0)
    {
      answer (vm, q, NULL, 0);
      return;
    }
  q->have += (size_t) n;
  if (q->have >= 2)
    {
      size_t want = (size_t) q->buf[0] << 8 | q->buf[1];
      if (q->have >= 2 + want)
        answer (vm, q, q->buf + 2, want);
    }
}

void
vm_dns_poll_handle (vm_t *vm, pollset_t *ps)
{
  int64_t now = time_mono_ns ();
  for (vm_dns_query_t *q = vm->dns, *next; q; q = next)
    {
      next = q->next;
      if (pollset_revents (ps, q->fd))
        readable (vm, q);
      else if (now >= q->deadline)
        answer (vm, q, NULL, 0);
    }
}

void
vm_dns_free (vm_t *vm)
{
  while (vm->dns)
    query_free (vm, vm->dns);
}
