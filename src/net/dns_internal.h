/* n3 private interface between dns.c (the server and forwarder) and
 * dns_answer.c (what the server answers itself). */
#ifndef ARCA_NET_DNS_INTERNAL_H
#define ARCA_NET_DNS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "net/net.h"

typedef enum { DNS_ANSWER_LOCAL, DNS_ANSWER_FORWARD } dns_answer_kind_t;

/* The answer to the wire-format query q (qlen bytes) asked by
 * container_id, when it is the embedded server's to give: a name of a
 * container sharing a user network with the asker (A; AAAA: its IPv6
 * addresses, empty NOERROR without), "<name>.<network>", a reverse record
 * (in-addr.arpa, ip6.arpa) of such a container, FORMERR/NOTIMP
 * for what is not a plain query, SERVFAIL for a name to forward when the
 * asker has no network with a way out (dockerd).  *out (malloc'd, *len
 * bytes; NULL: send nothing) and DNS_ANSWER_LOCAL; DNS_ANSWER_FORWARD when
 * the query must go to an upstream server.  Takes net->lock. */
dns_answer_kind_t dns_answer_local (arca_net_t *net, const char *container_id, const uint8_t *q, size_t qlen,
                                    uint8_t **out, size_t *len);

/* SERVFAIL for q (FORMERR if q does not parse), malloc'd; NULL if q is
 * shorter than a header. */
uint8_t *dns_servfail (const uint8_t *q, size_t qlen, size_t *len);

#endif
