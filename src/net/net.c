/* Networks and endpoints (libnetwork's bridge driver, the parts the Docker
 * API shows): the network table, persisted in SQLite, with its bridges;
 * container endpoints (configured at create/connect, activated at start,
 * deactivated at stop); the Containers map and the NetworkSettings.Networks
 * views; the name lookup behind the embedded DNS. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <net/if.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "net/net_internal.h"
#include "store/networks.h"
#include "util/cleanup.h"
#include "util/crashpoint.h"
#include "util/filters.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/thread.h"
#include "util/timeutil.h"

static void
random_hex (char *out, size_t n)
{
  unsigned char b[32];
  if (getrandom (b, sizeof b, 0) != (ssize_t) sizeof b)
    for (size_t i = 0; i < sizeof b; i++)
      b[i] = (unsigned char) rand ();
  for (size_t i = 0; i < n; i++)
    out[i] = "0123456789abcdef"[(b[i / 2] >> ((i & 1) ? 0 : 4)) & 15];
  out[n] = '\0';
}

static char *
ip_str (struct in_addr a)
{
  char t[INET_ADDRSTRLEN];
  inet_ntop (AF_INET, &a, t, sizeof t);
  return xstrdup (t);
}

static char *
cidr_str (struct in_addr a, int prefix)
{
  char t[INET_ADDRSTRLEN];
  inet_ntop (AF_INET, &a, t, sizeof t);
  return xasprintf ("%s/%d", t, prefix);
}

static char *
ip6_str (const struct in6_addr *a)
{
  char t[INET6_ADDRSTRLEN];
  inet_ntop (AF_INET6, a, t, sizeof t);
  return xstrdup (t);
}

static char *
cidr6_str (const struct in6_addr *a, int prefix)
{
  char t[INET6_ADDRSTRLEN];
  inet_ntop (AF_INET6, a, t, sizeof t);
  return xasprintf ("%s/%d", t, prefix);
}

/* "" for ::, else the address (malloc'd) */
static char *
ip6_str_or_empty (const struct in6_addr *a)
{
  return in6_is_zero (a) ? xstrdup ("") : ip6_str (a);
}

/* Does the network hand out IPv6 addresses? */
static bool
network_v6 (const arca_network_t *n)
{
  return n->enable_ipv6 && n->has_v6;
}

char *
net_netns_path (arca_net_t *net, const char *container_id)
{
  return xasprintf ("%s/%s", net->netns_dir, container_id);
}

/* ---- records ---- */

static void
network_free (arca_network_t *n)
{
  if (n == NULL)
    return;
  free (n->name);
  free (n->driver);
  json_decref (n->labels);
  json_decref (n->options);
  json_decref (n->aux_addresses);
  json_decref (n->aux6);
  free (n);
}

static void
endpoint_free (arca_endpoint_t *ep)
{
  if (ep == NULL)
    return;
  free (ep->container_name);
  strv_free (ep->aliases);
  strv_free (ep->dns_names);
  free (ep->req_mac);
  strv_free (ep->links);
  strv_free (ep->ll_ips);
  json_decref (ep->driver_opts);
  free (ep);
}

static json_t *
network_record (arca_network_t *n)
{
  _cleanup_free_ char *subnet = n->prefix ? cidr_str (n->subnet, n->prefix) : xstrdup ("");
  _cleanup_free_ char *gw = n->prefix ? ip_str (n->gateway) : xstrdup ("");
  _cleanup_free_ char *range = n->has_range ? cidr_str (n->range, n->range_prefix) : xstrdup ("");
  json_t *r = json_pack ("{s:s,s:s,s:I,s:b,s:b,s:s,s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b,s:i,s:O,s:O}", "Name", n->name,
                    "Driver", n->driver, "Created", (json_int_t) n->created_ns, "Builtin", n->builtin, "Default",
                    n->is_default_bridge, "Bridge", n->bridge, "Subnet", subnet, "Gateway", gw, "IPRange", range,
                    "UserGateway", n->user_gateway, "Internal", n->internal, "Attachable", n->attachable, "ICC",
                    n->icc, "Masquerade", n->masquerade, "MTU", n->mtu, "Labels", n->labels, "Options", n->options);
  json_object_set_new (r, "EnableIPv6", json_boolean (n->enable_ipv6));
  if (n->has_v6)
    {
      _cleanup_free_ char *s6 = cidr6_str (&n->subnet6, n->prefix6);
      _cleanup_free_ char *g6 = ip6_str (&n->gateway6);
      json_object_set_new (r, "Subnet6", json_string (s6));
      json_object_set_new (r, "Gateway6", json_string (g6));
      json_object_set_new (r, "UserGateway6", json_boolean (n->user_gateway6));
      if (n->has_range6)
        {
          _cleanup_free_ char *r6 = cidr6_str (&n->range6, n->range_prefix6);
          json_object_set_new (r, "IPRange6", json_string (r6));
        }
      if (n->aux6)
        json_object_set (r, "AuxAddresses6", n->aux6);
    }
  if (n->aux_addresses)
    json_object_set (r, "AuxiliaryAddresses", n->aux_addresses);
  return r;
}

static arca_network_t *
network_from_record (const char *id, json_t *r)
{
  arca_network_t *n = xmalloc0 (sizeof *n);
  snprintf (n->id, sizeof n->id, "%s", id);
  n->name = xstrdup (json_get_str (r, "Name"));
  n->driver = xstrdup (json_get_str (r, "Driver") ? json_get_str (r, "Driver") : "bridge");
  n->created_ns = json_get_int (r, "Created", 0);
  n->builtin = json_get_bool (r, "Builtin", false);
  n->is_default_bridge = json_get_bool (r, "Default", false);
  snprintf (n->bridge, sizeof n->bridge, "%s", json_get_str (r, "Bridge") ? json_get_str (r, "Bridge") : "");
  cidr_parse (json_get_str (r, "Subnet"), &n->subnet, &n->prefix);
  cidr_parse (json_get_str (r, "Gateway"), &n->gateway, NULL);
  n->has_range = cidr_parse (json_get_str (r, "IPRange"), &n->range, &n->range_prefix) == 0;
  if (!n->has_range)
    {
      n->range = n->subnet;
      n->range_prefix = n->prefix;
    }
  n->user_gateway = json_get_bool (r, "UserGateway", false);
  n->internal = json_get_bool (r, "Internal", false);
  n->attachable = json_get_bool (r, "Attachable", false);
  n->icc = json_get_bool (r, "ICC", true);
  n->masquerade = json_get_bool (r, "Masquerade", true);
  n->mtu = (int) json_get_int (r, "MTU", 0);
  n->enable_ipv6 = json_get_bool (r, "EnableIPv6", false);
  n->has_v6 = cidr6_parse (json_get_str (r, "Subnet6"), &n->subnet6, &n->prefix6, true) == 0;
  if (n->has_v6)
    {
      cidr6_parse (json_get_str (r, "Gateway6"), &n->gateway6, NULL, false);
      n->user_gateway6 = json_get_bool (r, "UserGateway6", false);
      n->has_range6 = cidr6_parse (json_get_str (r, "IPRange6"), &n->range6, &n->range_prefix6, true) == 0;
      json_t *aux6 = json_object_get (r, "AuxAddresses6");
      n->aux6 = json_is_object (aux6) && json_object_size (aux6) ? json_deep_copy (aux6) : NULL;
      if (!n->has_range6)
        {
          n->range6 = n->subnet6;
          n->range_prefix6 = n->prefix6;
        }
    }
  json_t *l = json_object_get (r, "Labels"), *o = json_object_get (r, "Options");
  n->labels = json_is_object (l) ? json_deep_copy (l) : json_object ();
  n->options = json_is_object (o) ? json_deep_copy (o) : json_object ();
  json_t *aux = json_object_get (r, "AuxiliaryAddresses");
  n->aux_addresses = json_is_object (aux) ? json_deep_copy (aux) : NULL;
  return n;
}

static int
network_save (arca_net_t *net, arca_network_t *n, arca_error_t *err)
{
  _cleanup_json_ json_t *r = network_record (n);
  return arca_store_network_put (net->db, n->id, n->name, r, err);
}

/* The endpoint settings kept as given: Links, IPAMConfig.LinkLocalIPs,
 * DriverOpts (moby network.EndpointSettings). */
static void
endpoint_record_extras (const arca_endpoint_t *ep, json_t *r)
{
  if (ep->links)
    json_object_set_new (r, "Links", json_from_strv (ep->links));
  if (ep->ll_ips)
    json_object_set_new (r, "LinkLocalIPs", json_from_strv (ep->ll_ips));
  if (ep->driver_opts)
    json_object_set (r, "DriverOpts", ep->driver_opts);
}

static char **
strv_of_array (json_t *arr)
{
  if (json_array_size (arr) == 0)
    return NULL;
  _cleanup_json_ json_t *holder = json_pack ("{s:O}", "v", arr);
  return json_get_strv (holder, "v");
}

static void
endpoint_extras_from (arca_endpoint_t *ep, json_t *links, json_t *ll_ips, json_t *driver_opts)
{
  ep->links = strv_of_array (links);
  ep->ll_ips = strv_of_array (ll_ips);
  ep->driver_opts = json_is_object (driver_opts) && json_object_size (driver_opts) ? json_deep_copy (driver_opts)
                                                                                    : NULL;
}

static json_t *
endpoint_record (arca_endpoint_t *ep, int order)
{
  _cleanup_free_ char *addr = ep->addr.s_addr ? ip_str (ep->addr) : xstrdup ("");
  _cleanup_free_ char *req = ep->req_addr.s_addr ? ip_str (ep->req_addr) : xstrdup ("");
  json_t *r = json_pack ("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s?,s:o,s:b,s:i}", "EndpointID", ep->id, "ContainerName",
                    ep->container_name ? ep->container_name : "", "IfName", ep->ifname, "HostIfName",
                    ep->host_ifname, "IPAddress", addr, "MacAddress", ep->mac, "RequestedIP", req, "RequestedMac",
                    ep->req_mac, "Aliases", ep->aliases ? json_from_strv (ep->aliases) : json_null (), "Active",
                    ep->active, "Order", order);
  _cleanup_free_ char *a6 = ip6_str_or_empty (&ep->addr6), *req6 = ip6_str_or_empty (&ep->req_addr6);
  json_object_set_new (r, "IPv6Address", json_string (a6));
  json_object_set_new (r, "RequestedIPv6", json_string (req6));
  endpoint_record_extras (ep, r);
  return r;
}

static int
endpoint_save (arca_net_t *net, arca_endpoint_t *ep, arca_error_t *err)
{
  /* Order: position in the container's list (interfaces eth0, eth1..). */
  int order = 0;
  pthread_mutex_lock (&net->lock);
  for (arca_endpoint_t *o = net->endpoints; o && o != ep; o = o->next)
    if (strcmp (o->container_id, ep->container_id) == 0)
      order++;
  _cleanup_json_ json_t *r = endpoint_record (ep, order);
  pthread_mutex_unlock (&net->lock);
  return arca_store_endpoint_put (net->db, ep->container_id, ep->network_id, r, err);
}

static void
endpoint_delete_row (arca_net_t *net, arca_endpoint_t *ep)
{
  arca_error_t err;
  arca_store_endpoint_delete (net->db, ep->container_id, ep->network_id, &err);
}

/* Append at the tail so a container's endpoints keep their order. */
static void
endpoint_link_locked (arca_net_t *net, arca_endpoint_t *ep)
{
  arca_endpoint_t **pp = &net->endpoints;
  while (*pp)
    pp = &(*pp)->next;
  *pp = ep;
}

static void
endpoint_unlink_locked (arca_net_t *net, arca_endpoint_t *ep)
{
  for (arca_endpoint_t **pp = &net->endpoints; *pp; pp = &(*pp)->next)
    if (*pp == ep)
      {
        *pp = ep->next;
        return;
      }
}

static arca_network_t *
default_bridge_locked (arca_net_t *net)
{
  for (arca_network_t *n = net->networks; n; n = n->next)
    if (n->is_default_bridge)
      return n;
  return NULL;
}

arca_network_t *
net_network_find_locked (arca_net_t *net, const char *ref)
{
  if (ref == NULL || *ref == '\0')
    return NULL;
  if (strcmp (ref, "default") == 0) /* NetworkMode/EndpointsConfig "default" */
    return default_bridge_locked (net);
  for (arca_network_t *n = net->networks; n; n = n->next)
    if (strcmp (n->id, ref) == 0)
      return n;
  for (arca_network_t *n = net->networks; n; n = n->next)
    if (strcmp (n->name, ref) == 0)
      return n;
  arca_network_t *found = NULL;
  for (arca_network_t *n = net->networks; n; n = n->next)
    if (str_has_prefix (n->id, ref))
      {
        if (found)
          return NULL;
        found = n;
      }
  return found;
}

/* ---- open / close ---- */

static arca_network_t *
builtin_new (const char *name, const char *driver)
{
  arca_network_t *n = xmalloc0 (sizeof *n);
  random_hex (n->id, 64);
  n->name = xstrdup (name);
  n->driver = xstrdup (driver);
  n->builtin = true;
  n->created_ns = time_now_ns ();
  n->labels = json_object ();
  n->options = json_object ();
  n->icc = n->masquerade = true;
  return n;
}

static int
bridge_up (arca_net_t *net, arca_network_t *n, arca_error_t *err)
{
  if (strcmp (n->driver, "bridge") != 0)
    return 0;
  /* records written before names were checked */
  if (net_bridge_name_check (n->bridge, err) < 0)
    return -1;
  if (nl_bridge_ensure (n->bridge, n->mtu, n->gateway, n->prefix, err) < 0)
    return -1;
  if (network_v6 (n) && nl_bridge_ensure6 (n->bridge, &n->gateway6, n->prefix6, err) < 0)
    return -1;
  return nft_network_add (net, n, err);
}

/* The default bridge's IPv6 follows the daemon's options at every start
 * (config ipv6, fixed-cidr-v6; dockerd recreates its default network so):
 * the gateway is the first address of the subnet. */
static int
default_bridge_ipv6 (arca_net_t *net, const arca_net_options_t *opts, arca_error_t *err)
{
  arca_network_t *br = default_bridge_locked (net);
  if (br == NULL)
    return 0;
  const char *cidr = opts->fixed_cidr_v6 && *opts->fixed_cidr_v6 ? opts->fixed_cidr_v6 : NULL;
  struct in6_addr sub = { 0 };
  int prefix = 0;
  if (cidr && cidr6_parse (cidr, &sub, &prefix, true) < 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid fixed-cidr-v6 %s: not an IPv6 CIDR", cidr);
  in6_mask (&sub, prefix);
  bool had = br->has_v6, was = br->enable_ipv6;
  if (was == opts->ipv6 && had == (cidr != NULL) && (!had || (br->prefix6 == prefix && in6_overlaps (&br->subnet6, 128, &sub, 128))))
    return 0;
  br->enable_ipv6 = opts->ipv6;
  br->has_v6 = cidr != NULL;
  br->subnet6 = br->range6 = sub;
  br->prefix6 = br->range_prefix6 = prefix;
  br->gateway6 = sub;
  br->gateway6.s6_addr[15] |= 1;
  br->has_range6 = br->user_gateway6 = false;
  return network_save (net, br, err);
}

int
net_open (const arca_net_options_t *opts, arca_db_t *db, arca_net_t **out, arca_error_t *err)
{
  arca_net_t *net = xmalloc0 (sizeof *net);
  pthread_mutex_init (&net->lock, NULL);
  net->db = db;
  net->exec_root = xstrdup (opts->exec_root);
  net->netns_dir = xasprintf ("%s/netns", opts->exec_root);
  net->bridge_name = xstrdup (opts->bridge_name && *opts->bridge_name ? opts->bridge_name : "arca0");
  net->nft_table = xstrdup (opts->nft_table && *opts->nft_table ? opts->nft_table : "arca");
  net->default_pools = opts->default_pools ? json_incref (opts->default_pools) : NULL;
  net->ip_forward_no_drop = opts->ip_forward_no_drop;
  net->proxy_max_connections = opts->proxy_max_connections;
  *out = net;
  if (fs_mkdir_mode (net->netns_dir, 0700, err) < 0) /* exec root: 0700 throughout */
    return -1;

  _cleanup_store_network_rows_ arca_store_network_rows_t rows = { 0 };
  if (arca_store_networks_list (db, &rows, err) < 0)
    return -1;
  for (size_t i = 0; i < rows.n; i++)
  {
    json_t *r = rows.v[i].rec;
    if (r == NULL)
      continue;
    arca_network_t *n = network_from_record (rows.v[i].id, r);
    arca_network_t **pp = &net->networks;
    while (*pp)
      pp = &(*pp)->next;
    *pp = n;
  }
  if (net->networks == NULL)
    {
      /* First start: the builtin networks; the default bridge on the
       * configured bridge with the first free pool. */
      arca_network_t *br = builtin_new ("bridge", "bridge");
      br->is_default_bridge = true;
      snprintf (br->bridge, sizeof br->bridge, "%s", net->bridge_name);
      if (ipam_pick_pool (net, &br->subnet, &br->prefix, err) < 0)
        {
          network_free (br);
          return -1;
        }
      br->gateway.s_addr = htonl (ntohl (br->subnet.s_addr) + 1);
      br->range = br->subnet;
      br->range_prefix = br->prefix;
      json_object_set_new (br->options, "com.docker.network.bridge.default_bridge", json_string ("true"));
      json_object_set_new (br->options, "com.docker.network.bridge.enable_icc", json_string ("true"));
      json_object_set_new (br->options, "com.docker.network.bridge.enable_ip_masquerade", json_string ("true"));
      json_object_set_new (br->options, "com.docker.network.bridge.host_binding_ipv4", json_string ("0.0.0.0"));
      json_object_set_new (br->options, "com.docker.network.bridge.name", json_string (net->bridge_name));
      json_object_set_new (br->options, "com.docker.network.driver.mtu", json_string ("1500"));
      arca_network_t *host = builtin_new ("host", "host");
      arca_network_t *none = builtin_new ("none", "null");
      br->next = host;
      host->next = none;
      net->networks = br;
      for (arca_network_t *n = net->networks; n; n = n->next)
        if (network_save (net, n, err) < 0)
          return -1;
    }

  if (default_bridge_ipv6 (net, opts, err) < 0)
    return -1;

  /* endpoints: loaded inactive except for their recorded state, which
   * net_container_restore confirms or tears down. */
  _cleanup_store_endpoint_rows_ arca_store_endpoint_rows_t erows = { 0 };
  if (arca_store_endpoints_list (db, &erows, err) < 0)
    return -1;
  /* sort by Order so eth numbering is stable (each row was parsed once,
   * by the store) */
  for (int order = 0; order < 64; order++)
    for (size_t i = 0; i < erows.n; i++)
    {
      json_t *r = erows.v[i].rec;
      if (r == NULL || json_get_int (r, "Order", 0) != order)
        continue;
      arca_endpoint_t *ep = xmalloc0 (sizeof *ep);
      snprintf (ep->container_id, sizeof ep->container_id, "%s", erows.v[i].container_id);
      snprintf (ep->network_id, sizeof ep->network_id, "%s", erows.v[i].network_id);
      snprintf (ep->id, sizeof ep->id, "%s", json_get_str (r, "EndpointID") ? json_get_str (r, "EndpointID") : "");
      ep->container_name = xstrdup (json_get_str (r, "ContainerName"));
      snprintf (ep->ifname, sizeof ep->ifname, "%s", json_get_str (r, "IfName") ? json_get_str (r, "IfName") : "");
      snprintf (ep->host_ifname, sizeof ep->host_ifname, "%s",
                json_get_str (r, "HostIfName") ? json_get_str (r, "HostIfName") : "");
      cidr_parse (json_get_str (r, "IPAddress"), &ep->addr, NULL);
      cidr_parse (json_get_str (r, "RequestedIP"), &ep->req_addr, NULL);
      cidr6_parse (json_get_str (r, "IPv6Address"), &ep->addr6, NULL, false);
      cidr6_parse (json_get_str (r, "RequestedIPv6"), &ep->req_addr6, NULL, false);
      snprintf (ep->mac, sizeof ep->mac, "%s", json_get_str (r, "MacAddress") ? json_get_str (r, "MacAddress") : "");
      ep->req_mac = xstrdup (json_get_str (r, "RequestedMac"));
      ep->aliases = json_get_strv (r, "Aliases");
      endpoint_extras_from (ep, json_object_get (r, "Links"), json_object_get (r, "LinkLocalIPs"),
                            json_object_get (r, "DriverOpts"));
      ep->active = json_get_bool (r, "Active", false);
      endpoint_link_locked (net, ep);
    }

  if (nft_init (net, err) < 0)
    return -1;
  for (arca_network_t *n = net->networks; n; n = n->next)
    if (bridge_up (net, n, err) < 0)
      log_warn ("network %s: %s", n->name, err->msg);
  if (nft_start (net, err) < 0)
    return -1;
  if (portmap_init (net, err) < 0 || dns_init (net, err) < 0)
    return -1;
  return 0;
}

/* How long the nftables context outlives its last run: ruleset changes
 * come in bursts (a compose project's networks and published ports), and
 * each new context costs its first run ~1 ms. */
#define NFT_CTX_KEEP_NS (5 * 1000000000LL)

void
net_release_idle (arca_net_t *net)
{
  nft_release_idle (net, NFT_CTX_KEEP_NS);
}

void
net_close (arca_net_t *net)
{
  if (net == NULL)
    return;
  dns_fini (net);
  portmap_fini (net);
  nft_fini (net);
  for (arca_network_t *n = net->networks, *next; n; n = next)
    {
      next = n->next;
      network_free (n);
    }
  for (arca_endpoint_t *ep = net->endpoints, *next; ep; ep = next)
    {
      next = ep->next;
      endpoint_free (ep);
    }
  json_decref (net->default_pools);
  free (net->exec_root);
  free (net->netns_dir);
  free (net->bridge_name);
  free (net->nft_table);
  pthread_mutex_destroy (&net->lock);
  free (net);
}

/* ---- networks API ---- */

static bool
opt_bool (json_t *options, const char *key, bool def)
{
  const char *v = json_get_str (options, key);
  if (v == NULL)
    return def;
  return strcasecmp (v, "true") == 0 || strcmp (v, "1") == 0;
}

/* Is an IPAM.Config entry an IPv6 pool?  By its Subnet, else its Gateway
 * or IPRange (libnetwork decides by the address family of the pool). */
static bool
ipam_config_is_v6 (json_t *cfg)
{
  const char *keys[] = { "Subnet", "Gateway", "IPRange" };
  for (size_t i = 0; i < 3; i++)
    {
      const char *v = json_get_str (cfg, keys[i]);
      if (v && *v)
        return strchr (v, ':') != NULL;
    }
  return false;
}

/* The IPv6 pool of a new network from its IPAM.Config entry (cfg may be
 * NULL).  As dockerd 20.10: the subnet is kept as written (inspect shows
 * it so), the gateway defaults to the first address, the range to the
 * subnet; EnableIPv6 without an IPv6 subnet fails, there being no default
 * IPv6 pool (libnetwork ipam getPredefinedPool, 404). */
static int
network_parse_v6 (arca_network_t *n, json_t *cfg, arca_error_t *err)
{
  const char *subnet = json_get_str (cfg, "Subnet");
  if (subnet == NULL || *subnet == '\0')
    {
      if (n->enable_ipv6)
        return arca_error_set (err, ARCA_ERR_NOT_FOUND, "could not find an available, non-overlapping IPv6 address "
                                                        "pool among the defaults to assign to the network");
      return 0;
    }
  if (cidr6_parse (subnet, &n->subnet6, &n->prefix6, true) < 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid CIDR address: %s", subnet);
  n->has_v6 = true;
  const char *gw = json_get_str (cfg, "Gateway");
  if (gw && *gw)
    {
      if (cidr6_parse (gw, &n->gateway6, NULL, false) < 0)
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid gateway address %s in Ipam configuration", gw);
      if (!in6_overlaps (&n->gateway6, 128, &n->subnet6, n->prefix6))
        return arca_error_set (err, ARCA_ERR_INVALID, "no matching subnet for gateway %s", gw);
      n->user_gateway6 = true;
    }
  else
    {
      n->gateway6 = n->subnet6;
      in6_mask (&n->gateway6, n->prefix6);
      n->gateway6.s6_addr[15] |= 1;
    }
  const char *range = json_get_str (cfg, "IPRange");
  if (range && *range)
    {
      if (cidr6_parse (range, &n->range6, &n->range_prefix6, true) < 0)
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid CIDR address: %s", range);
      if (n->range_prefix6 < n->prefix6 || !in6_overlaps (&n->range6, n->range_prefix6, &n->subnet6, n->prefix6))
        return arca_error_set (err, ARCA_ERR_INVALID, "no matching subnet for range %s", range);
      n->has_range6 = true;
    }
  else
    {
      n->range6 = n->subnet6;
      n->range_prefix6 = n->prefix6;
    }
  /* AuxiliaryAddresses: addresses of the subnet IPAM never hands out
   * (libnetwork reserves them at network creation) */
  json_t *aux = json_object_get (cfg, "AuxiliaryAddresses");
  const char *k;
  json_t *v;
  json_object_foreach (aux, k, v)
  {
    struct in6_addr a;
    const char *text = json_string_value (v);
    if (text == NULL || cidr6_parse (text, &a, NULL, false) < 0)
      return arca_error_set (err, ARCA_ERR_INVALID, "invalid auxiliary address %s: %s", k, text ? text : "");
    if (!in6_overlaps (&a, 128, &n->subnet6, n->prefix6))
      return arca_error_set (err, ARCA_ERR_INVALID, "no matching subnet for aux-address %s", text);
    if (n->aux6 == NULL)
      n->aux6 = json_object ();
    json_object_set_new (n->aux6, k, json_string (text));
  }
  return 0;
}

/* The addresses of n->aux6 (malloc'd, *count of them).  Caller holds
 * net->lock. */
static struct in6_addr *
aux6_addresses_locked (const arca_network_t *n, size_t *count)
{
  *count = 0;
  struct in6_addr *v = xmalloc0 ((json_object_size (n->aux6) + 1) * sizeof *v);
  const char *k;
  json_t *a;
  json_object_foreach (n->aux6, k, a)
  if (cidr6_parse (json_string_value (a), &v[*count], NULL, false) == 0)
    (*count)++;
  return v;
}

/* IPAM Config AuxiliaryAddresses of the IPv4 pool {"name": "a.b.c.d"}:
 * addresses the network's IPAM never hands out (libnetwork ipam reserves
 * them); each must lie in the subnet (libnetwork ipamAllocateVersion;
 * texts and statuses as dockerd 20.10). */
static int
aux_addresses_parse (arca_network_t *n, json_t *aux, arca_error_t *err)
{
  if (!json_is_object (aux) || json_object_size (aux) == 0)
    return 0;
  const char *k;
  json_t *v;
  json_object_foreach (aux, k, v)
  {
    const char *s = json_string_value (v);
    struct in_addr a;
    if (s == NULL || inet_pton (AF_INET, s, &a) != 1)
      return arca_error_set (err, ARCA_ERR_INTERNAL, "non parsable secondary ip address (%s:%s) passed for network %s",
                             k, s ? s : "", n->name);
    if ((ntohl (a.s_addr) & prefix_mask (n->prefix)) != (ntohl (n->subnet.s_addr) & prefix_mask (n->prefix)))
      {
        _cleanup_free_ char *sub = cidr_str (n->subnet, n->prefix);
        return arca_error_set (err, ARCA_ERR_FORBIDDEN,
                               "auxiliary address: (%s:%s) must belong to the master pool: %s", k, s, sub);
      }
  }
  n->aux_addresses = json_deep_copy (aux);
  return 0;
}

static int
aux_addresses_reserve (arca_net_t *net, arca_network_t *n, arca_error_t *err)
{
  const char *k;
  json_t *v;
  json_object_foreach (n->aux_addresses, k, v)
  {
    struct in_addr a;
    inet_pton (AF_INET, json_string_value (v), &a);
    if (ipam_reserve_aux (net, n->id, k, a, err) < 0)
      return -1;
  }
  return 0;
}

int
net_network_create (arca_net_t *net, json_t *body, char **id_out, arca_error_t *err)
{
  const char *name = json_get_str (body, "Name");
  if (name == NULL || *name == '\0')
    return arca_error_set (err, ARCA_ERR_INVALID, "network name is empty");
  const char *driver = json_get_str (body, "Driver");
  if (driver == NULL || *driver == '\0')
    driver = "bridge";
  if (strcmp (driver, "bridge") != 0)
    {
      if (strcmp (driver, "host") == 0 || strcmp (driver, "null") == 0)
        return arca_error_set (err, ARCA_ERR_FORBIDDEN, "only one instance of \"%s\" network is allowed", driver);
      return arca_error_set (err, ARCA_ERR_NOT_FOUND, "plugin \"%s\" not found", driver);
    }
  json_t *options = json_object_get (body, "Options");
  json_t *labels = json_object_get (body, "Labels");
  json_t *cfgs = json_object_get (json_object_get (body, "IPAM"), "Config");

  arca_network_t *n = xmalloc0 (sizeof *n);
  random_hex (n->id, 64);
  n->name = xstrdup (name);
  n->driver = xstrdup ("bridge");
  n->created_ns = time_now_ns ();
  n->internal = json_get_bool (body, "Internal", false);
  n->attachable = json_get_bool (body, "Attachable", false);
  n->enable_ipv6 = json_get_bool (body, "EnableIPv6", false);
  n->labels = json_is_object (labels) ? json_deep_copy (labels) : json_object ();
  n->options = json_is_object (options) ? json_deep_copy (options) : json_object ();
  n->icc = opt_bool (options, "com.docker.network.bridge.enable_icc", true);
  n->masquerade = opt_bool (options, "com.docker.network.bridge.enable_ip_masquerade", true);
  const char *mtu = json_get_str (options, "com.docker.network.driver.mtu");
  if (mtu)
    {
      n->mtu = atoi (mtu);
      if (n->mtu < 68)
        {
          network_free (n);
          return arca_error_set (err, ARCA_ERR_INVALID, "invalid MTU number: %s", mtu);
        }
    }
  /* dockerd 28's gateway modes: only "nat" (the default, and Arca's only
   * behaviour: NAT, container addresses unreachable from outside) */
  const char *gwmode = json_get_str (options, "com.docker.network.bridge.gateway_mode_ipv4");
  if (gwmode && strcmp (gwmode, "nat") != 0)
    {
      bool known = strcmp (gwmode, "nat-unprotected") == 0 || strcmp (gwmode, "routed") == 0
                   || strcmp (gwmode, "isolated") == 0;
      network_free (n);
      if (!known) /* moby bridge fromLabels/newGwMode */
        return arca_error_set (err, ARCA_ERR_INVALID,
                               "failed to parse com.docker.network.bridge.gateway_mode_ipv4 value: %s (unknown "
                               "gateway mode %s)",
                               gwmode, gwmode);
      return arca_error_set (err, ARCA_ERR_INVALID, "gateway mode %s is not supported (only nat)", gwmode);
    }
  const char *brname = json_get_str (options, "com.docker.network.bridge.name");
  if (brname && *brname)
    {
      if (net_bridge_name_check (brname, err) < 0)
        {
          network_free (n);
          return -1;
        }
      snprintf (n->bridge, sizeof n->bridge, "%s", brname);
    }
  else
    snprintf (n->bridge, sizeof n->bridge, "br-%.12s", n->id);

  /* At most one IPv4 and one IPv6 entry: the bridge driver refuses more
   * (libnetwork drivers/bridge processIPAM, 403; nothing is created). */
  json_t *cfg = NULL, *cfg6 = NULL;
  size_t ci;
  json_t *c;
  json_array_foreach (cfgs, ci, c)
  {
    json_t **slot = ipam_config_is_v6 (c) ? &cfg6 : &cfg;
    if (*slot)
      {
        network_free (n);
        return arca_error_set (err, ARCA_ERR_FORBIDDEN, "bridge driver doesn't support multiple subnets");
      }
    *slot = c;
  }
  if (network_parse_v6 (n, cfg6, err) < 0)
    {
      network_free (n);
      return -1;
    }
  const char *subnet = json_get_str (cfg, "Subnet");
  if (subnet && *subnet)
    {
      if (cidr_parse (subnet, &n->subnet, &n->prefix) < 0 || !strchr (subnet, '/'))
        {
          network_free (n);
          return arca_error_set (err, ARCA_ERR_INVALID, "invalid CIDR address: %s", subnet);
        }
      n->subnet.s_addr &= htonl (prefix_mask (n->prefix));
    }
  else if (ipam_pick_pool (net, &n->subnet, &n->prefix, err) < 0)
    {
      network_free (n);
      return -1;
    }
  const char *gw = json_get_str (cfg, "Gateway");
  if (gw && *gw)
    {
      if (cidr_parse (gw, &n->gateway, NULL) < 0)
        {
          network_free (n);
          return arca_error_set (err, ARCA_ERR_INVALID, "invalid gateway address %s", gw);
        }
      n->user_gateway = true;
    }
  else
    n->gateway.s_addr = htonl (ntohl (n->subnet.s_addr) + 1);
  const char *range = json_get_str (cfg, "IPRange");
  if (range && *range)
    {
      if (cidr_parse (range, &n->range, &n->range_prefix) < 0)
        {
          network_free (n);
          return arca_error_set (err, ARCA_ERR_INVALID, "invalid CIDR address: %s", range);
        }
      n->has_range = true;
    }
  else
    {
      n->range = n->subnet;
      n->range_prefix = n->prefix;
    }
  if (aux_addresses_parse (n, json_object_get (cfg, "AuxiliaryAddresses"), err) < 0)
    {
      network_free (n);
      return -1;
    }

  pthread_mutex_lock (&net->lock);
  for (arca_network_t *o = net->networks; o; o = o->next)
    {
      if (strcmp (o->name, name) == 0)
        {
          pthread_mutex_unlock (&net->lock);
          network_free (n);
          return arca_error_set (err, ARCA_ERR_CONFLICT, "network with name %s already exists", name);
        }
      if (o->prefix > 0 && (ntohl (o->subnet.s_addr) & prefix_mask (o->prefix < n->prefix ? o->prefix : n->prefix))
                               == (ntohl (n->subnet.s_addr) & prefix_mask (o->prefix < n->prefix ? o->prefix : n->prefix)))
        {
          pthread_mutex_unlock (&net->lock);
          network_free (n);
          return arca_error_set (err, ARCA_ERR_FORBIDDEN, "invalid pool request: Pool overlaps with other one on this address space");
        }
      if (o->has_v6 && n->has_v6 && in6_overlaps (&o->subnet6, o->prefix6, &n->subnet6, n->prefix6))
        {
          pthread_mutex_unlock (&net->lock);
          network_free (n);
          return arca_error_set (err, ARCA_ERR_FORBIDDEN, "invalid pool request: Pool overlaps with other one on this address space");
        }
      if (strcmp (o->bridge, n->bridge) == 0 && *o->bridge)
        {
          pthread_mutex_unlock (&net->lock);
          network_free (n);
          return arca_error_set (err, ARCA_ERR_FORBIDDEN, "bridge name %s is already in use", brname ? brname : "");
        }
    }
  arca_network_t **pp = &net->networks;
  while (*pp)
    pp = &(*pp)->next;
  *pp = n;
  pthread_mutex_unlock (&net->lock);

  if (network_save (net, n, err) < 0 || aux_addresses_reserve (net, n, err) < 0 || bridge_up (net, n, err) < 0)
    {
      arca_error_t ignored;
      pthread_mutex_lock (&net->lock);
      for (arca_network_t **q = &net->networks; *q; q = &(*q)->next)
        if (*q == n)
          {
            *q = n->next;
            break;
          }
      pthread_mutex_unlock (&net->lock);
      arca_store_network_delete (net->db, n->id, &ignored);
      ipam_release_network (net, n->id);
      nl_link_delete (NULL, n->bridge, &ignored);
      network_free (n);
      return -1;
    }
  *id_out = xstrdup (n->id);
  return 0;
}

static json_t *
network_view_locked (arca_net_t *net, arca_network_t *n, bool verbose_containers)
{
  char created[48];
  time_format_rfc3339nano (n->created_ns, created, sizeof created);
  json_t *config = json_array ();
  if (strcmp (n->driver, "bridge") == 0)
    {
      _cleanup_free_ char *s = cidr_str (n->subnet, n->prefix);
      json_t *c = json_pack ("{s:s}", "Subnet", s);
      _cleanup_free_ char *g = ip_str (n->gateway);
      json_object_set_new (c, "Gateway", json_string (g));
      if (n->has_range)
        {
          _cleanup_free_ char *r = cidr_str (n->range, n->range_prefix);
          json_object_set_new (c, "IPRange", json_string (r));
        }
      if (n->aux_addresses)
        json_object_set (c, "AuxiliaryAddresses", n->aux_addresses);
      json_array_append_new (config, c);
      if (n->has_v6)
        {
          /* dockerd shows the IPv6 gateway only when it was given */
          _cleanup_free_ char *s6 = cidr6_str (&n->subnet6, n->prefix6);
          json_t *c6 = json_pack ("{s:s}", "Subnet", s6);
          _cleanup_free_ char *g6 = ip6_str (&n->gateway6);
          _cleanup_free_ char *r6 = cidr6_str (&n->range6, n->range_prefix6);
          if (n->user_gateway6)
            json_object_set_new (c6, "Gateway", json_string (g6));
          if (n->has_range6)
            json_object_set_new (c6, "IPRange", json_string (r6));
          if (n->aux6)
            json_object_set (c6, "AuxiliaryAddresses", n->aux6);
          json_array_append_new (config, c6);
        }
    }
  json_t *containers = json_object ();
  if (verbose_containers)
    for (arca_endpoint_t *ep = net->endpoints; ep; ep = ep->next)
      if (ep->active && strcmp (ep->network_id, n->id) == 0)
        {
          _cleanup_free_ char *a = cidr_str (ep->addr, ep->prefix);
          _cleanup_free_ char *a6 = in6_is_zero (&ep->addr6) ? xstrdup ("") : cidr6_str (&ep->addr6, ep->prefix6);
          json_object_set_new (containers, ep->container_id,
                               json_pack ("{s:s,s:s,s:s,s:s,s:s}", "Name", ep->container_name ? ep->container_name : "",
                                          "EndpointID", ep->id, "MacAddress", ep->mac, "IPv4Address", a,
                                          "IPv6Address", a6));
        }
  return json_pack ("{s:s,s:s,s:s,s:s,s:s,s:b,s:{s:s,s:n,s:o},s:b,s:b,s:b,s:{s:s},s:b,s:o,s:O,s:O}", "Name",
                    n->name, "Id", n->id, "Created", created, "Scope", "local", "Driver", n->driver, "EnableIPv6",
                    n->enable_ipv6, "IPAM", "Driver", "default", "Options", "Config", config, "Internal", n->internal,
                    "Attachable", n->attachable, "Ingress", false, "ConfigFrom", "Network", "", "ConfigOnly", false,
                    "Containers", containers, "Options", n->options, "Labels", n->labels);
}

int
net_network_inspect (arca_net_t *net, const char *ref, json_t **out, arca_error_t *err)
{
  pthread_mutex_lock (&net->lock);
  arca_network_t *n = net_network_find_locked (net, ref);
  if (n == NULL)
    {
      pthread_mutex_unlock (&net->lock);
      return arca_error_set (err, ARCA_ERR_NOT_FOUND, "network %s not found", ref);
    }
  *out = network_view_locked (net, n, true);
  pthread_mutex_unlock (&net->lock);
  return 0;
}

static bool
network_in_use_locked (arca_net_t *net, arca_network_t *n)
{
  for (arca_endpoint_t *ep = net->endpoints; ep; ep = ep->next)
    if (ep->active && strcmp (ep->network_id, n->id) == 0)
      return true;
  return false;
}

static bool
network_matches_locked (arca_net_t *net, arca_network_t *n, json_t *filters)
{
  _cleanup_strv_ char **names = filters_values (filters, "name");
  if (names)
    {
      bool ok = false;
      for (size_t i = 0; names[i]; i++)
        if (filters_regex_match (names[i], n->name)) /* moby filters.Args.Match */
          ok = true;
      if (!ok)
        return false;
    }
  _cleanup_strv_ char **ids = filters_values (filters, "id");
  if (ids)
    {
      bool ok = false;
      for (size_t i = 0; ids[i]; i++)
        if (strstr (n->id, ids[i]))
          ok = true;
      if (!ok)
        return false;
    }
  _cleanup_strv_ char **drivers = filters_values (filters, "driver");
  if (drivers)
    {
      bool ok = false;
      for (size_t i = 0; drivers[i]; i++)
        if (strcmp (n->driver, drivers[i]) == 0)
          ok = true;
      if (!ok)
        return false;
    }
  _cleanup_strv_ char **types = filters_values (filters, "type");
  if (types)
    {
      bool ok = false;
      for (size_t i = 0; types[i]; i++)
        if ((strcmp (types[i], "custom") == 0 && !n->builtin) || (strcmp (types[i], "builtin") == 0 && n->builtin))
          ok = true;
      if (!ok)
        return false;
    }
  _cleanup_strv_ char **dangling = filters_values (filters, "dangling");
  if (dangling && dangling[0])
    {
      bool want = strcmp (dangling[0], "true") == 0 || strcmp (dangling[0], "1") == 0;
      bool is = !n->builtin && !network_in_use_locked (net, n);
      if (want != is)
        return false;
    }
  if (json_object_get (filters, "label") && !filters_match_labels (filters, n->labels))
    return false;
  return true;
}

int
net_network_list (arca_net_t *net, json_t *filters, json_t **out, arca_error_t *err)
{
  static const char *const allowed[] = { "name", "id", "label", "driver", "type", "dangling", "scope", NULL };
  if (filters && filters_validate (filters, allowed, err) < 0)
    return -1;
  _cleanup_strv_ char **types = filters_values (filters, "type");
  for (size_t i = 0; types && types[i]; i++)
    if (strcmp (types[i], "custom") != 0 && strcmp (types[i], "builtin") != 0)
      return arca_error_set (err, ARCA_ERR_INVALID, "invalid filter: 'type'='%s'", types[i]);
  json_t *arr = json_array ();
  pthread_mutex_lock (&net->lock);
  for (arca_network_t *n = net->networks; n; n = n->next)
    if (network_matches_locked (net, n, filters))
      json_array_append_new (arr, network_view_locked (net, n, false));
  pthread_mutex_unlock (&net->lock);
  *out = arr;
  return 0;
}

static int
network_remove_one (arca_net_t *net, arca_network_t *n, arca_error_t *err)
{
  pthread_mutex_lock (&net->lock);
  /* configured (inactive) endpoints of stopped containers go with it */
  for (arca_endpoint_t *ep = net->endpoints, *next; ep; ep = next)
    {
      next = ep->next;
      if (strcmp (ep->network_id, n->id) == 0)
        {
          endpoint_unlink_locked (net, ep);
          endpoint_delete_row (net, ep);
          endpoint_free (ep);
        }
    }
  for (arca_network_t **q = &net->networks; *q; q = &(*q)->next)
    if (*q == n)
      {
        *q = n->next;
        break;
      }
  pthread_mutex_unlock (&net->lock);
  arca_error_t ignored;
  nft_network_remove (net, n, &ignored);
  nl_link_delete (NULL, n->bridge, &ignored);
  ipam_release_network (net, n->id);
  int r = arca_store_network_delete (net->db, n->id, err);
  network_free (n);
  return r;
}

int
net_network_remove (arca_net_t *net, const char *ref, arca_error_t *err)
{
  pthread_mutex_lock (&net->lock);
  arca_network_t *n = net_network_find_locked (net, ref);
  if (n == NULL)
    {
      pthread_mutex_unlock (&net->lock);
      return arca_error_set (err, ARCA_ERR_NOT_FOUND, "network %s not found", ref);
    }
  if (n->builtin)
    {
      pthread_mutex_unlock (&net->lock);
      return arca_error_set (err, ARCA_ERR_FORBIDDEN, "%s is a pre-defined network and cannot be removed", n->name);
    }
  if (network_in_use_locked (net, n))
    {
      pthread_mutex_unlock (&net->lock);
      return arca_error_set (err, ARCA_ERR_CONFLICT,
                             "error while removing network: network %s id %s has active endpoints", n->name, n->id);
    }
  pthread_mutex_unlock (&net->lock);
  return network_remove_one (net, n, err);
}

int
net_network_prune (arca_net_t *net, json_t *filters, json_t **deleted, arca_error_t *err)
{
  static const char *const allowed[] = { "label", "label!", "until", NULL };
  if (filters && filters_validate (filters, allowed, err) < 0)
    return -1;
  /* moby network prune: until (created before), label, label! */
  int64_t until = 0;
  if (filters_until (filters, &until, err) < 0)
    return -1;
  json_t *label_not = json_object_get (filters, "label!");
  _cleanup_json_ json_t *not_filter = label_not ? json_pack ("{s:O}", "label", label_not) : NULL;
  json_t *out = json_array ();
  _cleanup_json_ json_t *tried = json_object ();
  for (;;)
    {
      arca_network_t *victim = NULL;
      pthread_mutex_lock (&net->lock);
      for (arca_network_t *n = net->networks; n && !victim; n = n->next)
        {
          if (n->builtin || network_in_use_locked (net, n))
            continue;
          bool configured = false;
          for (arca_endpoint_t *ep = net->endpoints; ep; ep = ep->next)
            if (strcmp (ep->network_id, n->id) == 0)
              configured = true;
          if (configured)
            continue;
          if (!filters_match_labels (filters, n->labels))
            continue;
          if (not_filter && filters_match_labels (not_filter, n->labels))
            continue;
          if (until && n->created_ns > until)
            continue;
          if (json_object_get (tried, n->id)) /* its removal failed: not again */
            continue;
          victim = n;
        }
      pthread_mutex_unlock (&net->lock);
      if (victim == NULL)
        break;
      _cleanup_free_ char *name = xstrdup (victim->name);
      json_object_set_new (tried, victim->id, json_true ());
      arca_error_t e2;
      if (network_remove_one (net, victim, &e2) < 0)
        {
          log_warn ("prune network %s: %s", name, e2.msg);
          continue;
        }
      json_array_append_new (out, json_string (name));
    }
  *deleted = out;
  return 0;
}

/* ---- containers ---- */

static void
mac_from_ip (struct in_addr a, char out[18])
{
  const unsigned char *b = (const unsigned char *) &a.s_addr;
  snprintf (out, 18, "02:42:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3]);
}

/* The first entry of LinkLocalIPs that is not an IPv4 (169.254.0.0/16) or
 * IPv6 (fe80::/10) link-local address, or NULL (libnetwork
 * endpoint.go: link-local IPs must be link-local). */
static const char *
link_local_invalid (json_t *ll)
{
  size_t i;
  json_t *v;
  json_array_foreach (ll, i, v)
    {
      const char *s = json_string_value (v);
      struct in_addr a4;
      struct in6_addr a6;
      if (s && inet_pton (AF_INET, s, &a4) == 1 && (ntohl (a4.s_addr) >> 16) == 0xa9fe)
        continue;
      if (s && inet_pton (AF_INET6, s, &a6) == 1 && a6.s6_addr[0] == 0xfe && (a6.s6_addr[1] & 0xc0) == 0x80)
        continue;
      return s ? s : "";
    }
  return NULL;
}

/* Add an endpoint configuration (create, connect); the network must exist
 * and be a bridge network. */
static int
endpoint_add (arca_net_t *net, const char *cid, const char *cname, const char *ref, json_t *epc,
              arca_endpoint_t **out, arca_error_t *err)
{
  pthread_mutex_lock (&net->lock);
  arca_network_t *n = net_network_find_locked (net, ref);
  if (n == NULL)
    {
      pthread_mutex_unlock (&net->lock);
      return arca_error_set (err, ARCA_ERR_NOT_FOUND, "network %s not found", ref);
    }
  for (arca_endpoint_t *o = net->endpoints; o; o = o->next)
    if (strcmp (o->container_id, cid) == 0 && strcmp (o->network_id, n->id) == 0)
      {
        pthread_mutex_unlock (&net->lock);
        return arca_error_set (err, ARCA_ERR_FORBIDDEN, "endpoint with name %s already exists in network %s", cname,
                               n->name);
      }
  const char *ip = json_get_str (json_object_get (epc, "IPAMConfig"), "IPv4Address");
  json_t *ll = json_object_get (json_object_get (epc, "IPAMConfig"), "LinkLocalIPs");
  const char *bad_ll = link_local_invalid (ll);
  if (bad_ll)
    {
      pthread_mutex_unlock (&net->lock);
      return arca_error_set (err, ARCA_ERR_INVALID, "invalid link local IP address: %s", bad_ll);
    }
  const char *ip6 = json_get_str (json_object_get (epc, "IPAMConfig"), "IPv6Address");
  arca_endpoint_t *ep = xmalloc0 (sizeof *ep);
  if (ip6 && *ip6)
    {
      if (n->is_default_bridge)
        {
          pthread_mutex_unlock (&net->lock);
          free (ep);
          return arca_error_set (err, ARCA_ERR_INVALID, "user specified IP address is supported on user defined networks only");
        }
      if (cidr6_parse (ip6, &ep->req_addr6, NULL, false) < 0)
        {
          pthread_mutex_unlock (&net->lock);
          free (ep);
          return arca_error_set (err, ARCA_ERR_INVALID, "invalid IPv6 address: %s", ip6);
        }
    }
  if (ip && *ip)
    {
      if (n->is_default_bridge)
        {
          pthread_mutex_unlock (&net->lock);
          free (ep);
          return arca_error_set (err, ARCA_ERR_INVALID, "user specified IP address is supported on user defined networks only");
        }
      if (cidr_parse (ip, &ep->req_addr, NULL) < 0)
        {
          pthread_mutex_unlock (&net->lock);
          free (ep);
          return arca_error_set (err, ARCA_ERR_INVALID, "invalid IPv4 address: %s", ip);
        }
    }
  snprintf (ep->container_id, sizeof ep->container_id, "%s", cid);
  snprintf (ep->network_id, sizeof ep->network_id, "%s", n->id);
  ep->container_name = xstrdup (cname);
  ep->aliases = json_get_strv (epc, "Aliases");
  endpoint_extras_from (ep, json_object_get (epc, "Links"), ll, json_object_get (epc, "DriverOpts"));
  const char *mac = json_get_str (epc, "MacAddress");
  ep->req_mac = mac && *mac ? xstrdup (mac) : NULL;
  endpoint_link_locked (net, ep);
  pthread_mutex_unlock (&net->lock);
  if (endpoint_save (net, ep, err) < 0)
    return -1;
  if (out)
    *out = ep;
  return 0;
}

int
net_container_configure (arca_net_t *net, const char *cid, const char *cname, const char *mode, json_t *endpoints,
                         arca_error_t *err)
{
  if (mode == NULL || *mode == '\0' || strcmp (mode, "default") == 0)
    mode = "bridge";
  if (strcmp (mode, "host") == 0 || strcmp (mode, "none") == 0 || str_has_prefix (mode, "container:"))
    return 0;
  json_t *first = json_object_get (endpoints, mode);
  if (first == NULL)
    {
      /* EndpointsConfig may name the network by id */
      const char *k;
      json_t *v;
      json_object_foreach (endpoints, k, v)
      {
        pthread_mutex_lock (&net->lock);
        arca_network_t *a = net_network_find_locked (net, k), *b = net_network_find_locked (net, mode);
        pthread_mutex_unlock (&net->lock);
        if (a && a == b)
          first = v;
      }
    }
  if (endpoint_add (net, cid, cname, mode, first, NULL, err) < 0)
    return -1;
  const char *k;
  json_t *v;
  json_object_foreach (endpoints, k, v)
  {
    if (v == first)
      continue;
    if (endpoint_add (net, cid, cname, k, v, NULL, err) < 0)
      return -1;
  }
  return 0;
}

/* The names the embedded DNS answers for an endpoint on a user network
 * (moby: container name, aliases, short ID, hostname). */
static char **
endpoint_dns_names (const arca_endpoint_t *ep, const char *cid, const char *hostname)
{
  arca_strv_builder_t v = { 0 };
  strv_builder_add (&v, ep->container_name);
  for (size_t i = 0; ep->aliases && ep->aliases[i]; i++)
    strv_builder_add (&v, ep->aliases[i]);
  char shortid[13];
  snprintf (shortid, sizeof shortid, "%.12s", cid);
  strv_builder_add (&v, shortid);
  if (hostname && *hostname && strcmp (hostname, shortid) != 0)
    strv_builder_add (&v, hostname);
  return strv_builder_finish (&v);
}

/* IPAMConfig.LinkLocalIPs on the interface, /16 (IPv4) or /64 (IPv6) as
 * libnetwork's linkLocalMask. */
static int
endpoint_add_link_local (const arca_endpoint_t *ep, const char *netns_path, const char *ifname, arca_error_t *err)
{
  for (size_t i = 0; ep->ll_ips && ep->ll_ips[i]; i++)
    if (nl_addr_add_named (netns_path, ifname, ep->ll_ips[i], strchr (ep->ll_ips[i], ':') ? 64 : 16, err) < 0)
      return -1;
  return 0;
}

/* dockerd's default bridge with a fixed-cidr-v6 of at least 48 host bits
 * (daemon_unix.go initBridgeDriver deferIPv6Alloc): a container's IPv6
 * address is the subnet with the MAC address in its last 48 bits
 * (fd00:ab::242:ac11:2 for 02:42:ac:11:00:02). */
static bool
default_bridge_v6_from_mac (const arca_network_t *n, const char *mac, struct in6_addr *out)
{
  unsigned int b[6];
  if (!n->is_default_bridge || n->prefix6 > 80
      || sscanf (mac, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
    return false;
  *out = n->subnet6;
  in6_mask (out, n->prefix6);
  for (int i = 0; i < 6; i++)
    out->s6_addr[10 + i] |= (uint8_t) b[i];
  return true;
}

/* Bring one configured endpoint up in netns_path.  dns_names from hostname. */
static int
endpoint_activate (arca_net_t *net, arca_endpoint_t *ep, const char *netns_path, const char *hostname, int index,
                   bool default_route, arca_error_t *err)
{
  pthread_mutex_lock (&net->lock);
  arca_network_t *n = net_network_find_locked (net, ep->network_id);
  if (n == NULL)
    {
      pthread_mutex_unlock (&net->lock);
      return arca_error_set (err, ARCA_ERR_NOT_FOUND, "network %s not found", ep->network_id);
    }
  arca_network_t nc = *n; /* scalars only */
  bool user = !n->is_default_bridge;
  size_t naux6;
  _cleanup_free_ struct in6_addr *aux6 = aux6_addresses_locked (n, &naux6);
  pthread_mutex_unlock (&net->lock);

  /* dockerd: --ip6 needs a network with a user-configured IPv6 pool,
   * checked when the endpoint joins (start, connect) */
  bool want6 = !in6_is_zero (&ep->req_addr6);
  if (want6 && !nc.has_v6)
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "user specified IP address is supported only when connecting to networks with user "
                           "configured subnets");
  struct in_addr addr;
  struct in_addr pref = ep->req_addr.s_addr ? ep->req_addr : ep->addr;
  if (ipam_allocate (net, &nc, ep->container_id, pref, ep->req_addr.s_addr != 0, &addr, err) < 0)
    return -1;
  char host[16], hex[8];
  random_hex (hex, 7);
  snprintf (host, sizeof host, "veth%s", hex);
  char ifname[16];
  snprintf (ifname, sizeof ifname, "eth%d", index);
  char mac[18];
  if (ep->req_mac)
    snprintf (mac, sizeof mac, "%s", ep->req_mac);
  else
    mac_from_ip (addr, mac);
  /* IPv6 only on networks with EnableIPv6 (a v6 pool alone hands out
   * nothing, as dockerd 20.10; --ip6 is then only recorded) */
  struct in6_addr addr6 = { 0 };
  if (network_v6 (&nc))
    {
      struct in6_addr from_mac;
      bool by_mac = !want6 && default_bridge_v6_from_mac (&nc, mac, &from_mac);
      const struct in6_addr *pref6 = want6 ? &ep->req_addr6 : by_mac ? &from_mac : &ep->addr6;
      if (ipam_allocate6 (net, &nc, ep->container_id, pref6, want6 || by_mac, aux6, naux6, &addr6, err) < 0)
        {
          ipam_release (net, ep->network_id, ep->container_id);
          return -1;
        }
    }
  if (nl_veth_setup (nc.bridge, host, netns_path, ifname, mac, nc.mtu, addr, nc.prefix, nc.gateway,
                     default_route && !nc.internal, err)
          < 0
      || endpoint_add_link_local (ep, netns_path, ifname, err) < 0
      || (network_v6 (&nc)
          && nl_addr6_setup (netns_path, ifname, &addr6, nc.prefix6, &nc.gateway6, default_route && !nc.internal, err)
                 < 0))
    {
      arca_error_t ignored;
      nl_link_delete (NULL, host, &ignored);
      ipam_release (net, ep->network_id, ep->container_id);
      return -1;
    }
  pthread_mutex_lock (&net->lock);
  random_hex (ep->id, 64);
  snprintf (ep->ifname, sizeof ep->ifname, "%s", ifname);
  snprintf (ep->host_ifname, sizeof ep->host_ifname, "%s", host);
  snprintf (ep->mac, sizeof ep->mac, "%s", mac);
  ep->addr = addr;
  ep->prefix = nc.prefix;
  ep->gateway = nc.gateway;
  ep->addr6 = addr6;
  ep->prefix6 = network_v6 (&nc) ? nc.prefix6 : 0;
  ep->gateway6 = network_v6 (&nc) ? nc.gateway6 : (struct in6_addr){ 0 };
  ep->active = true;
  strv_free (ep->dns_names);
  ep->dns_names = NULL;
  if (user)
    {
      ep->dns_names = endpoint_dns_names (ep, ep->container_id, hostname);
    }
  pthread_mutex_unlock (&net->lock);
  return endpoint_save (net, ep, err);
}

static void *
link_delete_thread (void *arg)
{
  char *name = arg;
  arca_error_t ignored;
  nl_link_delete (NULL, name, &ignored);
  free (name);
  return NULL;
}

/* The veth of a container whose namespace goes away: its bridge port
 * disabled now (nl_bridge_port_disable; off the bridge if that fails), so
 * that nothing answers for the address released next, and deleted by a
 * thread of its own.  A veth's deletion waits for RCU grace periods (~15 ms
 * here), which `docker stop`, `docker rm` and the exit of `docker run
 * --rm` then no longer wait for; moby deletes it before it answers
 * (libnetwork bridge DeleteEndpoint), but clients see only the timing.
 * The namespace's unmount, after the answer, lets the kernel destroy the
 * pair with it anyway; the deletion covers a namespace something else
 * still holds.  Both failing, it is deleted here. */
static void
host_link_retire (const char *name, const char *mac)
{
  arca_error_t err;
  bool stopped = nl_bridge_port_disable (name, mac, &err) == 0;
  if (!stopped)
    {
      log_debug ("%s", err.msg);
      stopped = nl_link_set_nomaster (name, &err) == 0;
    }
  if (stopped && thread_start_detached (link_delete_thread, xstrdup (name), 256 * 1024) == 0)
    return;
  nl_link_delete (NULL, name, &err);
}

/* later: the container's netns is about to go (host_link_retire). */
static void
endpoint_deactivate (arca_net_t *net, arca_endpoint_t *ep, bool release, bool later)
{
  arca_error_t ignored;
  if (ep->host_ifname[0] && later)
    host_link_retire (ep->host_ifname, ep->mac);
  else if (ep->host_ifname[0])
    nl_link_delete (NULL, ep->host_ifname, &ignored);
  if (release)
    ipam_release (net, ep->network_id, ep->container_id);
  pthread_mutex_lock (&net->lock);
  ep->active = false;
  ep->host_ifname[0] = '\0';
  if (release)
    ep->addr6 = (struct in6_addr){ 0 };
  pthread_mutex_unlock (&net->lock);
  endpoint_save (net, ep, &ignored);
}

static int
container_endpoints (arca_net_t *net, const char *cid, arca_endpoint_t ***out)
{
  pthread_mutex_lock (&net->lock);
  int n = 0;
  for (arca_endpoint_t *ep = net->endpoints; ep; ep = ep->next)
    if (strcmp (ep->container_id, cid) == 0)
      n++;
  arca_endpoint_t **v = xmalloc0 ((size_t) (n + 1) * sizeof *v);
  int i = 0;
  for (arca_endpoint_t *ep = net->endpoints; ep; ep = ep->next)
    if (strcmp (ep->container_id, cid) == 0)
      v[i++] = ep;
  pthread_mutex_unlock (&net->lock);
  *out = v;
  return n;
}

int
net_container_start (arca_net_t *net, const char *cid, const char *hostname, char **netns_out, arca_error_t *err)
{
  _cleanup_free_ char *path = net_netns_path (net, cid);
  netns_remove (path);
  if (netns_create (path, err) < 0)
    return -1;
  _cleanup_free_ arca_endpoint_t **eps = NULL;
  int n = container_endpoints (net, cid, &eps);
  for (int i = 0; i < n; i++)
    if (endpoint_activate (net, eps[i], path, hostname, i, i == 0, err) < 0)
      {
        for (int j = 0; j < i; j++)
          endpoint_deactivate (net, eps[j], true, false);
        netns_remove (path);
        return -1;
      }
  if (n == 0 && nl_lo_up (path, err) < 0)
    {
      netns_remove (path);
      return -1;
    }
  *netns_out = xstrdup (path);
  return 0;
}

void
net_container_detach (arca_net_t *net, const char *cid)
{
  _cleanup_free_ arca_endpoint_t **eps = NULL;
  int n = container_endpoints (net, cid, &eps);
  for (int i = 0; i < n; i++)
    if (eps[i]->active || eps[i]->host_ifname[0])
      endpoint_deactivate (net, eps[i], true, true);
}

void
net_container_netns_remove (arca_net_t *net, const char *cid)
{
  _cleanup_free_ char *path = net_netns_path (net, cid);
  netns_remove (path);
}

const char *
net_netns_dir (arca_net_t *net)
{
  return net->netns_dir;
}

void
net_container_stop (arca_net_t *net, const char *cid)
{
  net_container_detach (net, cid);
  net_container_netns_remove (net, cid);
}

void
net_container_remove (arca_net_t *net, const char *cid)
{
  net_container_detach (net, cid);
  pthread_mutex_lock (&net->lock);
  for (arca_endpoint_t *ep = net->endpoints, *next; ep; ep = next)
    {
      next = ep->next;
      if (strcmp (ep->container_id, cid) == 0)
        {
          endpoint_unlink_locked (net, ep);
          endpoint_delete_row (net, ep);
          ipam_release (net, ep->network_id, cid);
          endpoint_free (ep);
        }
    }
  pthread_mutex_unlock (&net->lock);
}

void
net_container_restore (arca_net_t *net, const char *cid, bool running, const char *hostname)
{
  if (!running)
    {
      net_container_stop (net, cid);
      return;
    }
  /* Re-adopt: the veths and addresses are still there; rebuild the view. */
  _cleanup_free_ arca_endpoint_t **eps = NULL;
  int n = container_endpoints (net, cid, &eps);
  for (int i = 0; i < n; i++)
    {
      arca_endpoint_t *ep = eps[i];
      /* A running container's endpoint that is not active, or whose veth
       * is gone, is a connect or a disconnect a crash cut short (the row
       * is written before the veth exists and after it is gone): both end
       * disconnected, address released (docs/design.md "Crash
       * consistency"). */
      if (!ep->active || !ep->host_ifname[0] || if_nametoindex (ep->host_ifname) == 0)
        {
          endpoint_deactivate (net, ep, true, false);
          pthread_mutex_lock (&net->lock);
          endpoint_unlink_locked (net, ep);
          pthread_mutex_unlock (&net->lock);
          endpoint_delete_row (net, ep);
          endpoint_free (ep);
          continue;
        }
      pthread_mutex_lock (&net->lock);
      arca_network_t *nw = net_network_find_locked (net, ep->network_id);
      if (nw && ep->active)
        {
          ep->prefix = nw->prefix;
          ep->gateway = nw->gateway;
          ep->prefix6 = network_v6 (nw) ? nw->prefix6 : 0;
          ep->gateway6 = network_v6 (nw) ? nw->gateway6 : (struct in6_addr){ 0 };
          if (!nw->is_default_bridge)
            {
              strv_free (ep->dns_names);
              ep->dns_names = endpoint_dns_names (ep, cid, hostname);
            }
        }
      pthread_mutex_unlock (&net->lock);
    }
}

int
net_container_connect (arca_net_t *net, const char *cid, const char *cname, const char *ref, json_t *epc,
                       bool running, const char *hostname, arca_error_t *err)
{
  arca_endpoint_t *ep = NULL;
  if (endpoint_add (net, cid, cname, ref, epc, &ep, err) < 0)
    return -1;
  if (!running)
    return 0;
  _cleanup_free_ arca_endpoint_t **eps = NULL;
  int n = container_endpoints (net, cid, &eps);
  /* next free ethN */
  int idx = 0;
  for (;; idx++)
    {
      char name[16];
      snprintf (name, sizeof name, "eth%d", idx);
      bool used = false;
      pthread_mutex_lock (&net->lock);
      for (int i = 0; i < n; i++)
        if (eps[i] != ep && eps[i]->active && strcmp (eps[i]->ifname, name) == 0)
          used = true;
      pthread_mutex_unlock (&net->lock);
      if (!used)
        break;
    }
  _cleanup_free_ char *path = net_netns_path (net, cid);
  bool first = n == 1;
  crashpoint ("connect-endpoint-recorded"); /* row inactive: recovery disconnects */
  if (endpoint_activate (net, ep, path, hostname, idx, first, err) < 0)
    {
      pthread_mutex_lock (&net->lock);
      endpoint_unlink_locked (net, ep);
      pthread_mutex_unlock (&net->lock);
      endpoint_delete_row (net, ep);
      endpoint_free (ep);
      return -1;
    }
  return 0;
}

int
net_container_disconnect (arca_net_t *net, const char *cid, const char *cname, const char *ref, bool force,
                          arca_error_t *err)
{
  pthread_mutex_lock (&net->lock);
  arca_network_t *n = net_network_find_locked (net, ref);
  if (n == NULL)
    {
      pthread_mutex_unlock (&net->lock);
      return arca_error_set (err, ARCA_ERR_NOT_FOUND, "network %s not found", ref);
    }
  arca_endpoint_t *ep = NULL;
  for (arca_endpoint_t *o = net->endpoints; o; o = o->next)
    if (strcmp (o->container_id, cid) == 0 && strcmp (o->network_id, n->id) == 0)
      ep = o;
  if (ep == NULL)
    {
      _cleanup_free_ char *nn = xstrdup (n->name);
      pthread_mutex_unlock (&net->lock);
      return arca_error_set (err, ARCA_ERR_FORBIDDEN, "container %s is not connected to network %s", cname, nn);
    }
  pthread_mutex_unlock (&net->lock);
  endpoint_deactivate (net, ep, true, false);
  crashpoint ("disconnect-veth-deleted"); /* row inactive: recovery finishes it */
  pthread_mutex_lock (&net->lock);
  endpoint_unlink_locked (net, ep);
  pthread_mutex_unlock (&net->lock);
  endpoint_delete_row (net, ep);
  endpoint_free (ep);
  return 0;
}

bool
net_container_has_endpoints (arca_net_t *net, const char *cid)
{
  pthread_mutex_lock (&net->lock);
  bool r = false;
  for (arca_endpoint_t *ep = net->endpoints; ep; ep = ep->next)
    if (strcmp (ep->container_id, cid) == 0)
      r = true;
  pthread_mutex_unlock (&net->lock);
  return r;
}

char **
net_container_ips (arca_net_t *net, const char *cid)
{
  char **v = xmalloc0 (sizeof *v);
  pthread_mutex_lock (&net->lock);
  for (arca_endpoint_t *ep = net->endpoints; ep; ep = ep->next)
    if (ep->active && strcmp (ep->container_id, cid) == 0)
      {
        v = strv_append (v, inet_ntoa (ep->addr));
        if (!in6_is_zero (&ep->addr6))
          {
            _cleanup_free_ char *a6 = ip6_str (&ep->addr6);
            v = strv_append (v, a6);
          }
      }
  pthread_mutex_unlock (&net->lock);
  return v;
}

char *
net_default_gateway (arca_net_t *net)
{
  pthread_mutex_lock (&net->lock);
  arca_network_t *n = default_bridge_locked (net);
  char *r = n ? ip_str (n->gateway) : NULL;
  pthread_mutex_unlock (&net->lock);
  return r;
}

bool
net_container_uses_internal_dns (arca_net_t *net, const char *cid)
{
  pthread_mutex_lock (&net->lock);
  bool r = false;
  for (arca_endpoint_t *ep = net->endpoints; ep; ep = ep->next)
    if (strcmp (ep->container_id, cid) == 0)
      {
        arca_network_t *n = net_network_find_locked (net, ep->network_id);
        if (n && !n->is_default_bridge)
          r = true;
      }
  pthread_mutex_unlock (&net->lock);
  return r;
}

/* NetworkSettings: fills Networks and the legacy top-level fields of ns. */
void
net_container_settings (arca_net_t *net, const char *cid, json_t *ns)
{
  json_t *networks = json_object ();
  pthread_mutex_lock (&net->lock);
  bool first = true;
  for (arca_endpoint_t *ep = net->endpoints; ep; ep = ep->next)
    {
      if (strcmp (ep->container_id, cid) != 0)
        continue;
      arca_network_t *n = net_network_find_locked (net, ep->network_id);
      if (n == NULL)
        continue;
      _cleanup_free_ char *ip = ep->active ? ip_str (ep->addr) : xstrdup ("");
      _cleanup_free_ char *gw = ep->active ? ip_str (ep->gateway) : xstrdup ("");
      _cleanup_free_ char *req = ep->req_addr.s_addr ? ip_str (ep->req_addr) : NULL;
      _cleanup_free_ char *req6 = in6_is_zero (&ep->req_addr6) ? NULL : ip6_str (&ep->req_addr6);
      bool has6 = ep->active && !in6_is_zero (&ep->addr6);
      _cleanup_free_ char *ip6 = has6 ? ip6_str (&ep->addr6) : xstrdup ("");
      _cleanup_free_ char *gw6 = has6 ? ip6_str (&ep->gateway6) : xstrdup ("");
      /* EndpointIPAMConfig: omitempty fields */
      json_t *ipam = req || req6 || ep->ll_ips ? json_object () : json_null ();
      if (req)
        json_object_set_new (ipam, "IPv4Address", json_string (req));
      if (req6)
        json_object_set_new (ipam, "IPv6Address", json_string (req6));
      if (ep->ll_ips)
        json_object_set_new (ipam, "LinkLocalIPs", json_from_strv (ep->ll_ips));
      /* Before the first start dockerd shows the requested MAC address. */
      const char *mac = ep->active ? ep->mac : (ep->req_mac ? ep->req_mac : "");
      json_t *o = json_pack ("{s:o,s:o,s:o,s:s,s:o,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:i,s:o}", "IPAMConfig", ipam, "Links",
                             ep->links ? json_from_strv (ep->links) : json_null (), "Aliases",
                             ep->aliases ? json_from_strv (ep->aliases) : json_null (), "MacAddress", mac,
                             "DriverOpts", ep->driver_opts ? json_deep_copy (ep->driver_opts) : json_null (),
                             "NetworkID", n->id, "EndpointID",
                             ep->active ? ep->id : "", "Gateway", gw, "IPAddress", ip, "IPPrefixLen",
                             ep->active ? ep->prefix : 0, "IPv6Gateway", gw6, "GlobalIPv6Address", ip6,
                             "GlobalIPv6PrefixLen", has6 ? ep->prefix6 : 0, "DNSNames",
                             ep->dns_names && ep->active ? json_from_strv (ep->dns_names) : json_null ());
      json_object_set_new (networks, n->name, o);
      if (first && n->is_default_bridge && ep->active)
        {
          json_object_set_new (ns, "EndpointID", json_string (ep->id));
          json_object_set_new (ns, "Gateway", json_string (gw));
          json_object_set_new (ns, "IPAddress", json_string (ip));
          json_object_set_new (ns, "IPPrefixLen", json_integer (ep->prefix));
          json_object_set_new (ns, "MacAddress", json_string (ep->mac));
          json_object_set_new (ns, "GlobalIPv6Address", json_string (ip6));
          json_object_set_new (ns, "GlobalIPv6PrefixLen", json_integer (has6 ? ep->prefix6 : 0));
          json_object_set_new (ns, "IPv6Gateway", json_string (gw6));
        }
      first = false;
    }
  pthread_mutex_unlock (&net->lock);
  if (json_object_size (networks) > 0)
    json_object_set_new (ns, "Networks", networks);
  else
    json_decref (networks);
}

/* ---- DNS lookup (for n3) ---- */

static bool
name_eq (const char *a, const char *q)
{
  size_t lq = strlen (q);
  if (lq && q[lq - 1] == '.')
    lq--;
  return strlen (a) == lq && strncasecmp (a, q, lq) == 0;
}

/* Links on a user network ("container:alias" in EndpointsConfig.Links):
 * the alias names the linked container for the linking container only
 * (libnetwork sandbox-scoped service aliases). */
static bool
endpoint_link_matches (const arca_endpoint_t *me, const arca_endpoint_t *ep, const char *name)
{
  for (size_t i = 0; me->links && me->links[i]; i++)
    {
      const char *l = me->links[i];
      if (*l == '/')
        l++;
      const char *colon = strchr (l, ':');
      const char *alias = colon ? colon + 1 : l;
      size_t target_len = colon ? (size_t) (colon - l) : strlen (l);
      if (*alias == '/')
        alias++;
      if (name_eq (alias, name) && ep->container_name && strlen (ep->container_name) == target_len
          && strncmp (ep->container_name, l, target_len) == 0)
        return true;
    }
  return false;
}

/* Does endpoint ep (on network n) answer to `name`: one of its DNS names,
 * or "<dns name>.<network name>" (dockerd's ResolveName)? */
static bool
endpoint_answers_locked (const arca_endpoint_t *ep, const arca_network_t *n, const char *name)
{
  for (size_t i = 0; ep->dns_names && ep->dns_names[i]; i++)
    if (name_eq (ep->dns_names[i], name))
      return true;
  size_t ln = strlen (name), lnet = strlen (n->name);
  if (ln && name[ln - 1] == '.')
    ln--;
  if (ln > lnet + 1 && name[ln - lnet - 1] == '.' && strncasecmp (name + ln - lnet, n->name, lnet) == 0)
    {
      _cleanup_free_ char *head = strndup (name, ln - lnet - 1);
      for (size_t i = 0; ep->dns_names && ep->dns_names[i]; i++)
        if (name_eq (ep->dns_names[i], head))
          return true;
    }
  return false;
}

/* The addresses (family AF_INET: struct in_addr, AF_INET6: struct
 * in6_addr) of the endpoints answering to name on the user networks
 * container_id is on, without duplicates. */
static int
dns_lookup_family (arca_net_t *net, const char *container_id, const char *name, int family, void *out, int max)
{
  size_t alen = family == AF_INET ? sizeof (struct in_addr) : sizeof (struct in6_addr);
  int found = 0;
  pthread_mutex_lock (&net->lock);
  for (arca_endpoint_t *me = net->endpoints; me; me = me->next)
    {
      if (strcmp (me->container_id, container_id) != 0 || !me->active)
        continue;
      arca_network_t *n = net_network_find_locked (net, me->network_id);
      if (n == NULL || n->is_default_bridge)
        continue;
      for (arca_endpoint_t *ep = net->endpoints; ep && found < max; ep = ep->next)
        {
          if (!ep->active || strcmp (ep->network_id, me->network_id) != 0
              || !(endpoint_answers_locked (ep, n, name) || endpoint_link_matches (me, ep, name)))
            continue;
          const void *a = family == AF_INET ? (const void *) &ep->addr : (const void *) &ep->addr6;
          if (family == AF_INET6 && in6_is_zero (&ep->addr6))
            continue;
          bool dup = false;
          for (int k = 0; k < found; k++)
            if (memcmp ((char *) out + (size_t) k * alen, a, alen) == 0)
              dup = true;
          if (!dup)
            memcpy ((char *) out + (size_t) found++ * alen, a, alen);
        }
    }
  pthread_mutex_unlock (&net->lock);
  return found;
}

int
net_dns_lookup (arca_net_t *net, const char *container_id, const char *name, struct in_addr *out, int max)
{
  return dns_lookup_family (net, container_id, name, AF_INET, out, max);
}

int
net_dns_lookup6 (arca_net_t *net, const char *container_id, const char *name, struct in6_addr *out, int max)
{
  return dns_lookup_family (net, container_id, name, AF_INET6, out, max);
}

char **
net_endpoint_containers (arca_net_t *net)
{
  char **v = xmalloc0 (sizeof *v);
  pthread_mutex_lock (&net->lock);
  for (arca_endpoint_t *ep = net->endpoints; ep; ep = ep->next)
    {
      bool seen = false;
      for (size_t i = 0; v[i] && !seen; i++)
        seen = strcmp (v[i], ep->container_id) == 0;
      if (!seen)
        v = strv_append (v, ep->container_id);
    }
  pthread_mutex_unlock (&net->lock);
  return v;
}

/* Leftovers of a crash: ports of our bridges whose endpoint is gone, netns
 * files of containers without an active endpoint are handled by the engine
 * (net_container_restore). */
void
net_reconcile (arca_net_t *net)
{
  pthread_mutex_lock (&net->lock);
  char **bridges = xmalloc0 (sizeof *bridges);
  for (arca_network_t *n = net->networks; n; n = n->next)
    if (n->bridge[0])
      bridges = strv_append (bridges, n->bridge);
  pthread_mutex_unlock (&net->lock);
  for (size_t b = 0; bridges[b]; b++)
    {
      _cleanup_strv_ char **ports = nl_bridge_ports (bridges[b]);
      for (size_t i = 0; ports[i]; i++)
        {
          bool known = false;
          pthread_mutex_lock (&net->lock);
          for (arca_endpoint_t *ep = net->endpoints; ep; ep = ep->next)
            if (ep->active && strcmp (ep->host_ifname, ports[i]) == 0)
              known = true;
          pthread_mutex_unlock (&net->lock);
          if (!known && str_has_prefix (ports[i], "veth"))
            {
              arca_error_t ignored;
              log_info ("removing stale interface %s", ports[i]);
              nl_link_delete (NULL, ports[i], &ignored);
            }
        }
    }
  strv_free (bridges);
}
