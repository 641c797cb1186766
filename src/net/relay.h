/* n2 private interface: the userland proxy's relay (relay.c), used by
 * portmap.c for published ports.
 *
 * One thread serves every published port's listening socket and every
 * proxied connection with epoll and non-blocking sockets: a connection
 * costs its two sockets and a small record, never a thread or a buffer of
 * its own (data waits in the kernel's socket buffers, so TCP flow control
 * pushes back on the sender).  At most `max_conns` TCP connections and UDP
 * flows exist at once over all ports; past that a new connection is
 * accepted and closed at once (the client sees EOF), so no client hangs in
 * the backlog. */
#ifndef ARCA_NET_RELAY_H
#define ARCA_NET_RELAY_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <stdbool.h>

#include "util/error.h"

typedef struct relay relay_t;
typedef struct relay_listener relay_listener_t;

/* Start the relay thread.  Errors: ARCA_ERR_INTERNAL (epoll, thread). */
int relay_start (int max_conns, relay_t **out, arca_error_t *err);
/* End the thread, closing every listener and connection. */
void relay_stop (relay_t *r);

/* Serve `fd` (TCP: listening; UDP: bound), relaying each connection or
 * UDP peer to `to` (a container's IPv4 or IPv6 address and port, to_len
 * bytes).  The relay owns fd from this call on, also on failure.  Errors:
 * ARCA_ERR_INTERNAL. */
int relay_listener_add (relay_t *r, int fd, bool tcp, const struct sockaddr *to, socklen_t to_len,
                        relay_listener_t **out, arca_error_t *err);
/* Close the listener and every connection of it; when this returns the
 * host port is free. */
void relay_listener_remove (relay_t *r, relay_listener_t *l);

#endif
