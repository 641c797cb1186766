/* Private helpers of n1's networking files (netlink.c, netns.c, ipam.c,
 * net.c).  Not for n2/n3: use net.h. */
#ifndef ARCA_NET_INTERNAL_H
#define ARCA_NET_INTERNAL_H

#include <netinet/in.h>
#include <stdbool.h>

#include "net/net.h"

/* netlink.c (libnl-route-3).  netns_path NULL = the daemon's netns. */
int nl_bridge_ensure (const char *name, int mtu, struct in_addr gw, int prefix, arca_error_t *err);
/* IPv6 on the bridge (bridge networks with EnableIPv6): IPv6 enabled on it,
 * gw/prefix and fe80::1/64 (libnetwork setupBridgeIPv6), no DAD. */
int nl_bridge_ensure6 (const char *name, const struct in6_addr *gw, int prefix, arca_error_t *err);
int nl_link_delete (const char *netns_path, const char *name, arca_error_t *err); /* absent: 0 */
bool nl_link_exists (const char *name);
/* Take a link off its bridge (IFLA_MASTER 0). */
int nl_link_set_nomaster (const char *name, arca_error_t *err);
/* Stop a bridge port forwarding, without taking it off its bridge: its
 * state set to disabled and the bridge's entry for mac (aa:bb:..) learned
 * on it deleted. */
int nl_bridge_port_disable (const char *name, const char *mac, arca_error_t *err);
/* veth host_name <-> ifname (created directly inside netns_path), host side
 * enslaved to bridge and up; inside: MAC, address/prefix, up, lo up, and a
 * default route via gw when default_route. */
int nl_veth_setup (const char *bridge, const char *host_name, const char *netns_path, const char *ifname,
                   const char *mac, int mtu, struct in_addr addr, int prefix, struct in_addr gw,
                   bool default_route, arca_error_t *err);
/* After nl_veth_setup: the IPv6 address addr/prefix on ifname in netns_path
 * (no DAD, as libnetwork's osl) and, when default_route, ::/0 via gw. */
int nl_addr6_setup (const char *netns_path, const char *ifname, const struct in6_addr *addr, int prefix,
                    const struct in6_addr *gw, bool default_route, arca_error_t *err);
int nl_lo_up (const char *netns_path, arca_error_t *err);
/* Add address text/prefix (IPv4 or IPv6) to interface ifname in netns_path. */
int nl_addr_add_named (const char *netns_path, const char *ifname, const char *text, int prefix, arca_error_t *err);
/* True if a route in the host's main table overlaps subnet/prefix. */
bool nl_route_overlaps (struct in_addr subnet, int prefix);
/* Names of links on the host whose master is the bridge `bridge`
 * (NULL-terminated, malloc'd). */
char **nl_bridge_ports (const char *bridge);

/* netns.c */
int netns_create (const char *path, arca_error_t *err);
void netns_remove (const char *path);

/* ipam.c: addresses in SQLite table ip_allocations. */
int ipam_allocate (arca_net_t *net, const arca_network_t *n, const char *container_id, struct in_addr pref,
                   bool required, struct in_addr *out, arca_error_t *err);
void ipam_release (arca_net_t *net, const char *network_id, const char *container_id);
void ipam_release_network (arca_net_t *net, const char *network_id);
/* Reserve an AuxiliaryAddresses entry (owner "aux:<name>") so no endpoint gets it. */
int ipam_reserve_aux (arca_net_t *net, const char *network_id, const char *name, struct in_addr a, arca_error_t *err);

/* IPv6: the same table; an address in the network's IPv6 range (pref
 * first, required = --ip6), never one of reserved[0..nreserved) (the
 * network's AuxiliaryAddresses). */
int ipam_allocate6 (arca_net_t *net, const arca_network_t *n, const char *container_id, const struct in6_addr *pref,
                    bool required, const struct in6_addr *reserved, size_t nreserved, struct in6_addr *out,
                    arca_error_t *err);
/* A free /16 (or configured pool) not routed on the host nor used by a network. */
int ipam_pick_pool (arca_net_t *net, struct in_addr *subnet, int *prefix, arca_error_t *err);

/* a.b.c.d/nn parsing; returns 0 ok, -1 invalid */
int cidr_parse (const char *s, struct in_addr *addr, int *prefix);
uint32_t prefix_mask (int prefix); /* host order */
/* IPv6 "addr/nn" (nn required when need_prefix) or plain address. */
int cidr6_parse (const char *s, struct in6_addr *addr, int *prefix, bool need_prefix);
bool in6_is_zero (const struct in6_addr *a);
/* addr with the bits past prefix cleared */
void in6_mask (struct in6_addr *a, int prefix);
bool in6_overlaps (const struct in6_addr *a, int pa, const struct in6_addr *b, int pb);

#endif
