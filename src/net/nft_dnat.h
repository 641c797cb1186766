/* n2 private interface between portmap.c and nft.c: the DNAT rules of
 * published ports live in the same nftables table as the network rules, so
 * nft.c owns the table and portmap.c hands it its rules per container. */
#ifndef ARCA_NET_NFT_DNAT_H
#define ARCA_NET_NFT_DNAT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#include "net/net.h"

/* One published port (family AF_INET, or AF_INET6 for a binding on an
 * IPv6 host address of a container with an IPv6 address: then host_ip6 and
 * addr6 are used, :: = every host address, ::1 gets no DNAT): traffic for host_ip:host_port (host_ip 0 = any
 * local address) arriving from anywhere but `bridge` (whose containers go
 * through the userland proxy, as dockerd's) is DNATed to addr:port.  A
 * loopback host_ip (127/8) gets no DNAT (the proxy serves it) but a drop of
 * that port from any interface but lo. */
typedef struct
{
  char proto[8];            /* "tcp" | "udp" */
  struct in_addr host_ip;   /* network order; 0 = every host address */
  int host_port;
  struct in_addr addr;      /* container address, network order */
  int port;
  char bridge[16];          /* the container's bridge */
  int family;               /* AF_INET (0 too) or AF_INET6 */
  struct in6_addr host_ip6;
  struct in6_addr addr6;
} nft_dnat_t;

/* Replace the DNAT rules of `key` (a container id) with rules[0..n) and
 * apply the table (n == 0 removes them).  Errors: ARCA_ERR_INTERNAL with the
 * nft message. */
int nft_ports_set (arca_net_t *net, const char *key, const nft_dnat_t *rules, size_t n, arca_error_t *err);

/* The ruleset text for the current state (malloc'd), for tests and logs. */
char *nft_ruleset_text (arca_net_t *net);

#endif
