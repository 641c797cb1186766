/* Container networking: bridge networks, endpoints, IPAM, netns (n1), nftables
 * and published ports (n2), embedded DNS (n3).
 *
 * Model (as dockerd's libnetwork bridge driver):
 *   network  - a Linux bridge with an IPv4 subnet; builtin "bridge" (on the
 *              configured bridge name, default arca0), "host" and "none"; user
 *              networks from POST /networks/create.
 *   endpoint - one container on one network: a veth pair, host side
 *              "veth<7 hex>" enslaved to the bridge, container side eth0, eth1..
 *              in the container's netns, an IPv4 address from IPAM, a MAC.
 *   netns    - one named netns per container: <exec-root>/netns/<container id>
 *              (a bind mount of the nsfs file), passed to the OCI spec.
 *
 * Ownership of the functions below (each file implements only its part):
 *   n1: net.c netlink.c bridge.c ipam.c netns.c      (net_*, nl_*, ipam_*, netns_*)
 *       names.c                                       (net_bridge_name_check, ...)
 *   n2: nft.c portmap.c relay.c                       (nft_*, portmap_*, relay_*)
 *   n3: dns.c dns_answer.c                            (dns_*)
 * The engine (src/engine/networks.c, lifecycle.c, n1) calls the n2/n3 entry
 * points declared at the end at the moments documented there.  n2, n3:
 * please implement exactly these signatures (ask n1 for changes).
 *
 * Locking: arca_net_t.lock guards networks and endpoints lists and every
 * field of their records.  It is never held while calling into nft_*,
 * portmap_* or dns_*, so those may call net_* functions (which take it).
 * Never hold it across a netlink or SQLite call in new code either.
 */
#ifndef ARCA_NET_NET_H
#define ARCA_NET_NET_H

#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/db.h"
#include "util/error.h"
#include "util/strutil.h"

typedef struct arca_network
{
  struct arca_network *next;
  char id[65];               /* 64 hex */
  char *name;
  char *driver;              /* "bridge", "host", "null" */
  bool builtin;              /* bridge, host, none: cannot be removed */
  bool is_default_bridge;    /* the builtin "bridge" network */
  int64_t created_ns;

  /* bridge driver only (driver "bridge") */
  char bridge[16];           /* Linux bridge name (IFNAMSIZ) */
  struct in_addr subnet;     /* network address, host order NOT used: network order */
  int prefix;                /* subnet prefix length */
  struct in_addr gateway;    /* the bridge's address */
  struct in_addr range;      /* IPRange network address (== subnet if none) */
  int range_prefix;
  bool has_range;            /* IPRange given by the user */
  bool user_gateway;         /* Gateway given by the user (shown in IPAM.Config) */
  bool internal;             /* no route out: n2 drops forwarding to non-bridge */
  bool attachable;
  bool icc;                  /* com.docker.network.bridge.enable_icc (default true) */
  bool masquerade;           /* ...enable_ip_masquerade (default true) */
  int mtu;                   /* com.docker.network.driver.mtu, 0 = default 1500 */
  /* IPv6 (EnableIPv6, an IPv6 IPAM.Config entry).  A v6 pool without
   * EnableIPv6 is kept and shown but hands out no addresses (dockerd 20.10). */
  bool enable_ipv6;
  bool has_v6;               /* an IPv6 pool is configured */
  struct in6_addr subnet6;
  int prefix6;
  struct in6_addr gateway6;  /* the bridge's IPv6 address (first of the subnet by default) */
  bool user_gateway6;
  struct in6_addr range6;    /* IPRange (== subnet6 if none) */
  int range_prefix6;
  bool has_range6;
  json_t *aux6;              /* IPv6 AuxiliaryAddresses {"name":"fd00::2"}: never handed out */
  json_t *labels;            /* object string->string */
  json_t *options;           /* object string->string (Options as given) */
  json_t *aux_addresses;     /* IPAM AuxiliaryAddresses: object name->IPv4 (reserved), or NULL */
} arca_network_t;

typedef struct arca_endpoint
{
  struct arca_endpoint *next;
  char id[65];               /* EndpointID, 64 hex (new at every start, as dockerd) */
  char container_id[65];
  char *container_name;      /* without "/" */
  char network_id[65];
  char ifname[16];           /* eth0, eth1.. inside the container */
  char host_ifname[16];      /* veth<7 hex> on the host */
  struct in_addr addr;       /* 0 when not active */
  int prefix;
  struct in_addr gateway;
  char mac[18];              /* "02:42:ac:11:00:02" */
  char **aliases;            /* EndpointsConfig.Aliases (NULL-terminated, may be NULL) */
  char **dns_names;          /* names DNS answers for on this network (user networks):
                                container name, aliases, short id, hostname */
  struct in_addr req_addr;   /* --ip / IPAMConfig.IPv4Address (0 = none) */
  struct in6_addr addr6;     /* GlobalIPv6Address (:: = none) */
  int prefix6;
  struct in6_addr gateway6;
  struct in6_addr req_addr6; /* --ip6 / IPAMConfig.IPv6Address (:: = none) */
  char *req_mac;             /* --mac-address, NULL = generated from the address */
  char **links;              /* EndpointsConfig.Links "container:alias" (user networks: DNS
                                aliases seen by this container only), may be NULL */
  char **ll_ips;             /* IPAMConfig.LinkLocalIPs, added to the interface, may be NULL */
  json_t *driver_opts;       /* EndpointsConfig.DriverOpts as given (object), or NULL */
  bool active;               /* veth exists, address allocated */
} arca_endpoint_t;

typedef struct
{
  const char *exec_root;     /* netns files under <exec_root>/netns */
  const char *bridge_name;   /* default "arca0" (config bridgeName) */
  const char *nft_table;     /* default "arca" (config nftTable) */
  json_t *default_pools;     /* config defaultAddressPools [{"base":"10.0.0.0/8","size":24}] or NULL */
  bool ip_forward_no_drop;   /* config ipForwardNoDrop (dockerd --ip-forward-no-drop) */
  int proxy_max_connections; /* config proxyMaxConnections, 0 = default */
  bool ipv6;                 /* config ipv6 (dockerd --ipv6): the default bridge's EnableIPv6 */
  const char *fixed_cidr_v6; /* config fixed-cidr-v6: its IPv6 pool (NULL = none) */
} arca_net_options_t;

/* The interface group (IFLA_GROUP) of every bridge Arca creates: each
 * Arca daemon's table leaves forwarded traffic of this group to the table
 * of the daemon that owns the bridge, and drops the rest (nft.c). */
#define ARCA_IFGROUP 0x41524341u /* "ARCA" */

typedef struct arca_net
{
  arca_db_t *db;
  char *exec_root;
  char *netns_dir;           /* <exec_root>/netns */
  char *bridge_name;
  char *nft_table;
  json_t *default_pools;     /* owned reference or NULL */
  bool ip_forward_no_drop;
  int proxy_max_connections;

  pthread_mutex_t lock;
  arca_network_t *networks;
  arca_endpoint_t *endpoints;

  /* private state of the other parts (each initialised by its owner's
   * *_init, freed by its *_fini) */
  void *nft;                 /* n2 */
  void *portmap;             /* n2 */
  void *dns;                 /* n3 */
} arca_net_t;

/* ------------------------------------------------------------------ n1 -- */

/* Open the network state: load networks/endpoints from SQLite, create the
 * builtin networks on first start, (re)create the bridges of all bridge
 * networks, then call nft_init + nft_network_add for each and dns_init.
 * Endpoints are loaded inactive; the engine re-adopts running containers
 * with net_container_restore. */
int net_open (const arca_net_options_t *opts, arca_db_t *db, arca_net_t **out, arca_error_t *err);
void net_close (arca_net_t *net);
/* The daemon is idle: give back what only changes need (nft_release_idle). */
void net_release_idle (arca_net_t *net);

/* Lookup by full id, unique id prefix or name (dockerd order: id, name,
 * prefix).  Caller holds net->lock.  NULL if not found. */
arca_network_t *net_network_find_locked (arca_net_t *net, const char *ref);

/* lookup.c: copies for the engine, which never takes net->lock itself. */
typedef struct
{
  char id[65];
  char *name, *driver; /* malloc'd; net_identity_clear frees them */
} net_identity_t;
void net_identity_clear (net_identity_t *id);
/* A network's ID, name and driver by ID, name or prefix; false if unknown. */
bool net_network_identity (arca_net_t *net, const char *ref, net_identity_t *out);
/* {"<name>": ["<id>", "<driver>"]} of every network (new reference). */
json_t *net_network_identities (arca_net_t *net);
/* The networks of a container's active endpoints, newest connection first
 * (at most max); returns how many were filled. */
size_t net_container_network_identities (arca_net_t *net, const char *cid, net_identity_t *out, size_t max);
/* A copy of the container's first active endpoint (next = NULL, pointers
 * shared with the live endpoint: use it before the endpoint can go). */
bool net_container_first_endpoint (arca_net_t *net, const char *cid, arca_endpoint_t *out);

/* names.c: is `name` usable as a Linux bridge name that Arca also writes
 * into its nftables ruleset?  A valid interface name for the kernel
 * (dev_valid_name: at most 15 bytes, not "." or "..", no '/', ':' or
 * whitespace), refused with the texts dockerd passes on from netlink (500
 * "failed to check bridge interface existence: numerical result out of
 * range", 500 "invalid argument"); and, stricter than dockerd, printable
 * ASCII without '"', '\\' or '*' (400 "invalid bridge name ..."), the
 * characters an nft quoted string cannot hold literally. */
int net_bridge_name_check (const char *name, arca_error_t *err);
/* names.c: an nft identifier of 1 to 15 characters ([A-Za-z_][A-Za-z0-9_]*),
 * as config nftTable must be. */
bool net_nft_table_name_valid (const char *name);

/* <exec_root>/netns/<container id> (malloc'd). */
char *net_netns_path (arca_net_t *net, const char *container_id);

/* Embedded DNS lookup for n3: IPv4 addresses (network order) of `name` as seen
 * from container `container_id`: every active endpoint on a user-defined network
 * that the asking container is also on, whose container name, alias, short id
 * (12 hex) or hostname equals name (case-insensitive; a trailing "." ignored).
 * Returns the number found (<= max), 0 if none (NXDOMAIN).  Takes net->lock. */
int net_dns_lookup (arca_net_t *net, const char *container_id, const char *name, struct in_addr *out, int max);
/* The same for IPv6 (AAAA): GlobalIPv6Address of the matching endpoints. */
int net_dns_lookup6 (arca_net_t *net, const char *container_id, const char *name, struct in6_addr *out, int max);

/* True if container_id has an active endpoint on a user-defined network
 * (so its resolv.conf points at 127.0.0.11).  Takes net->lock. */
bool net_container_uses_internal_dns (arca_net_t *net, const char *container_id);

/* --------------------------------------------------- n2: src/net/nft.c -- */

/* One nftables table named net->nft_table (family inet), rebuilt from
 * net->networks (nft_network_add) and the published ports (nft_ports_set);
 * applied from nft_start on.  Errors: an invalid table name. */
int nft_init (arca_net_t *net, arca_error_t *err);
/* After nft_init and the nft_network_add of every network at start-up:
 * replace the table (of the previous run, if any) with the rebuilt one,
 * then enable net.ipv4.ip_forward.  Until then changes are only recorded,
 * so the old rules stay in force while the state is loaded. */
int nft_start (arca_net_t *net, arca_error_t *err);
/* Daemon shutdown: free n2 state; the table stays (containers keep running). */
void nft_fini (arca_net_t *net);
/* When no ruleset has been run for quiet_ns: free the libnftables context
 * and the cache it keeps of the last run (~0.6 MiB of an idle daemon's
 * ~8); the next change makes a new one (~1 ms more, measured in a netns
 * with one table).  The daemon's idle tick (arca_engine_release_idle). */
void nft_release_idle (arca_net_t *net, int64_t quiet_ns);
/* A bridge network appeared (create or daemon start, idempotent): masquerade
 * of n->subnet leaving through a non-bridge interface unless !n->masquerade
 * or n->internal; isolation: drop traffic between n->bridge and any other
 * arca bridge; internal: drop anything from/to n->bridge that is not on
 * n->bridge; !n->icc: drop bridge-to-bridge forwarding within n->bridge. */
int nft_network_add (arca_net_t *net, const arca_network_t *n, arca_error_t *err);
/* The network is being removed (its bridge too): drop its rules. */
int nft_network_remove (arca_net_t *net, const arca_network_t *n, arca_error_t *err);
/* Delete the whole table (used by `arca` start-up reconcile when no network
 * needs it is NOT expected; tests delete it themselves).  Optional helper. */

/* ---------------------------------------------- n2: src/net/portmap.c -- */

/* Publish a container's ports at start, after its endpoints are up.
 * port_bindings: HostConfig.PortBindings ({"80/tcp":[{"HostIp":"","HostPort":"8080"}]}, may be NULL)
 * exposed: Config.ExposedPorts ({"80/tcp":{}}, may be NULL), publish_all: -P.
 * ep: the endpoint whose address is the DNAT target (the first network's).
 * *ports: NetworkSettings.Ports as dockerd shows it (new reference); the
 * engine persists it in the container record and hands it back to
 * portmap_container_restore after a daemon restart.
 * Errors: Docker's texts ("... port is already allocated"), ARCA_ERR_INTERNAL. */
int portmap_container_publish (arca_net_t *net, const char *container_id, json_t *port_bindings, json_t *exposed,
                               bool publish_all, const arca_endpoint_t *ep, json_t **ports, arca_error_t *err);
/* Daemon restart with the container still running: re-adopt its bindings
 * (ports as returned by publish) without disturbing existing DNAT rules. */
int portmap_container_restore (arca_net_t *net, const char *container_id, json_t *ports,
                               const arca_endpoint_t *ep, arca_error_t *err);
/* Container stopped/exited/removed: release its ports and rules (idempotent). */
void portmap_container_unpublish (arca_net_t *net, const char *container_id);
/* /containers/json "Ports" array from NetworkSettings.Ports (ports may be
 * NULL) and Config.ExposedPorts (unpublished exposed ports), sorted as dockerd. */
json_t *portmap_summary (json_t *ports, json_t *exposed);
int portmap_init (arca_net_t *net, arca_error_t *err);
void portmap_fini (arca_net_t *net);

/* -------------------------------------------------- n3: src/net/dns.c -- */

int dns_init (arca_net_t *net, arca_error_t *err);
void dns_fini (arca_net_t *net);
/* Serve 127.0.0.11:53 (UDP+TCP) inside the netns at netns_path for the
 * container (called at start, at connect to a user network and at daemon
 * restart for running containers; idempotent per container).  Answers with
 * net_dns_lookup(net, container_id, ...); other names forwarded to the host's
 * resolvers. */
int dns_container_attach (arca_net_t *net, const char *container_id, const char *netns_path, arca_error_t *err);
/* Container stopped/removed: stop serving (idempotent). */
void dns_container_detach (arca_net_t *net, const char *container_id);
/* (n3 addition) Where names the embedded server does not know are
 * forwarded: fn(ud, container_id) returns the container's HostConfig.Dns
 * (--dns) servers (malloc'd, NULL-terminated; NULL or empty = the host's
 * /etc/resolv.conf nameservers, re-read at each query).  Asked at every
 * forwarded query, so it follows the live container state.  Forwarding
 * happens in the daemon's namespace: loopback servers work, like dockerd's
 * "host(...)" ExtServers.  Set by the engine right after net_open
 * (engine/dns_upstreams.c); fn is called without net->lock held. */
typedef char **(*dns_servers_fn) (void *ud, const char *container_id);
void dns_set_servers_fn (arca_net_t *net, dns_servers_fn fn, void *ud);

/* ---- n1: networks API (engine/networks.c, api/networks.c) ---- */

/* POST /networks/create body (Name, Driver, Internal, Attachable,
 * IPAM.Config[0]{Subnet,Gateway,IPRange}, Options, Labels).  Errors:
 * 409 "network with name X already exists", 403 pool overlap, 400 bad CIDR. */
int net_network_create (arca_net_t *net, json_t *body, char **id_out, arca_error_t *err);
/* dockerd's inspect shape (Containers filled). 404 "network X not found". */
int net_network_inspect (arca_net_t *net, const char *ref, json_t **out, arca_error_t *err);
/* GET /networks (filters: name substring, id, label, driver, type, dangling). */
int net_network_list (arca_net_t *net, json_t *filters, json_t **out, arca_error_t *err);
/* 403 for builtin networks, 409 with active endpoints. */
int net_network_remove (arca_net_t *net, const char *ref, arca_error_t *err);
int net_network_prune (arca_net_t *net, json_t *filters, json_t **deleted, arca_error_t *err);

/* ---- n1: container hooks (engine) ---- */

/* At create: record the endpoints for NetworkMode (bridge/<name>) and
 * NetworkingConfig.EndpointsConfig; host/none/container:<id> have none. */
int net_container_configure (arca_net_t *net, const char *cid, const char *cname, const char *mode,
                             json_t *endpoints, arca_error_t *err);
/* At start: create <exec-root>/netns/<cid>, activate every endpoint (eth0..,
 * default route via the first network's gateway).  *netns_out malloc'd. */
int net_container_start (arca_net_t *net, const char *cid, const char *hostname, char **netns_out,
                         arca_error_t *err);
/* At exit/stop: delete veths, release addresses, remove the netns. */
void net_container_stop (arca_net_t *net, const char *cid);
/* The same, the netns left for net_container_netns_remove: its unmount
 * waits for an RCU grace period (namespace_unlock, ~0.5 ms here), which an
 * exit's answer need not wait for.  Nothing answers from the namespace
 * meanwhile: its veths' bridge ports are disabled. */
void net_container_detach (arca_net_t *net, const char *cid);
void net_container_netns_remove (arca_net_t *net, const char *cid);
/* <exec-root>/netns, whose entries are named by container ID (the
 * start-up sweep's) */
const char *net_netns_dir (arca_net_t *net);
/* At remove: detach (the netns is the caller's), forget the endpoint
 * configuration too. */
void net_container_remove (arca_net_t *net, const char *cid);
/* Daemon start: running containers keep their endpoints, others are stopped. */
void net_container_restore (arca_net_t *net, const char *cid, bool running, const char *hostname);
/* After all restores: delete veths on our bridges no endpoint owns. */
void net_reconcile (arca_net_t *net);
/* The IDs of containers that have endpoints (malloc'd strv): start-up
 * recovery removes those of containers without a row (a create cut short
 * after its endpoints were written, before its row was). */
char **net_endpoint_containers (arca_net_t *net);
int net_container_connect (arca_net_t *net, const char *cid, const char *cname, const char *ref, json_t *epc,
                           bool running, const char *hostname, arca_error_t *err);
int net_container_disconnect (arca_net_t *net, const char *cid, const char *cname, const char *ref, bool force,
                              arca_error_t *err);
bool net_container_has_endpoints (arca_net_t *net, const char *cid);
/* Active IPv4 addresses (for /etc/hosts), NULL-terminated, malloc'd. */
char **net_container_ips (arca_net_t *net, const char *cid);
/* The default bridge's gateway ("host-gateway" of --add-host), malloc'd or NULL. */
char *net_default_gateway (arca_net_t *net);
/* Fill NetworkSettings.Networks and the legacy top-level fields in ns. */
void net_container_settings (arca_net_t *net, const char *cid, json_t *ns);

/* listview.c: NetworkSettings.Networks of every container for one
 * GET /containers/json, made in one pass over the endpoints (under
 * net->lock, taken and released by net_list_view_new): the members
 * net_container_settings would put in Networks, as JSON text. */
typedef struct net_list_view net_list_view_t;
net_list_view_t *net_list_view_new (arca_net_t *net);
/* Appends cid's members ("<network>":{EndpointSettings}, comma-separated,
 * in net_container_settings's order and bytes) to b; returns how many (0:
 * none, where inspect has no Networks from the endpoints either). */
size_t net_list_view_write (const net_list_view_t *v, const char *cid, arca_buf_t *b);
/* The network= filter of the list (moby daemon/list.go): 1 when one of
 * cid's endpoints is on a network named network or whose ID starts with
 * it, 0 when none is, -1 when cid has no endpoints in the view. */
int net_list_view_on (const net_list_view_t *v, const char *cid, const char *network);
void net_list_view_free (net_list_view_t *v);

/* ---- VM isolation (src/net/vmtap.c) ---- */

/* After net_container_start, for a container whose process runs in a VM:
 * a persistent tap "tapN" next to each active endpoint's ethN in the netns,
 * spliced to it by tc redirects, for QEMU to open from inside the netns.
 * *interfaces (new reference) describes what the guest must configure:
 * [{"tap","ifname","mac","addr","prefix","gateway","default_route","mtu"}],
 * plus "addr6","prefix6","gateway6" for an endpoint with an IPv6 address
 * (the endpoint's values; default_route as nl_veth_setup decides).  The
 * taps go with the netns. */
int net_vm_attach (arca_net_t *net, const char *cid, const char *netns_path, json_t **interfaces, arca_error_t *err);

#endif
