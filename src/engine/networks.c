/* Networks in the engine (see networks.h): API verbs and container hooks
 * on top of src/net. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/events.h"
#include "engine/internal.h"
#include "engine/isolation.h"
#include "engine/links.h"
#include "engine/networks.h"
#include "net/net.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/strutil.h"

int
networks_open (arca_engine_t *e, arca_error_t *err)
{
  arca_net_options_t o = {
    .exec_root = e->exec_root,
    .bridge_name = e->opts.bridge_name,
    .nft_table = e->opts.nft_table,
    .default_pools = e->opts.default_address_pools,
    .ip_forward_no_drop = e->opts.ip_forward_no_drop,
    .ipv6 = e->opts.ipv6,
    .fixed_cidr_v6 = e->opts.fixed_cidr_v6,
    .proxy_max_connections = e->opts.proxy_max_connections,
  };
  return net_open (&o, e->db, &e->net, err);
}

void
networks_release_idle (arca_engine_t *e)
{
  if (e->net)
    net_release_idle (e->net);
}

/* events: a network event for the network ref names now. */
static void
network_event (arca_engine_t *e, const char *action, const char *ref, const char *container_id)
{
  net_identity_t who = { 0 };
  if (net_network_identity (e->net, ref, &who))
    events_network (e, action, who.id, who.name, who.driver, container_id);
  net_identity_clear (&who);
}

int
network_create (arca_engine_t *e, json_t *body, char **id_out, arca_error_t *err)
{
  if (net_network_create (e->net, body, id_out, err) < 0)
    return -1;
  network_event (e, "create", *id_out, NULL); /* events */
  return 0;
}

int
network_inspect (arca_engine_t *e, const char *ref, json_t **out, arca_error_t *err)
{
  return net_network_inspect (e->net, ref, out, err);
}

int
network_list (arca_engine_t *e, json_t *filters, json_t **out, arca_error_t *err)
{
  return net_network_list (e->net, filters, out, err);
}

int
network_remove (arca_engine_t *e, const char *ref, arca_error_t *err)
{
  net_identity_t who = { 0 };
  bool known = net_network_identity (e->net, ref, &who);
  int r = net_network_remove (e->net, ref, err);
  if (r == 0 && known)
    events_network (e, "destroy", who.id, who.name, who.driver, NULL); /* events */
  net_identity_clear (&who);
  return r;
}

int
networks_prune (arca_engine_t *e, json_t *filters, json_t **deleted, arca_error_t *err)
{
  /* events: who is who, before they go */
  _cleanup_json_ json_t *known = net_network_identities (e->net);
  if (net_network_prune (e->net, filters, deleted, err) < 0)
    return -1;
  size_t i;
  json_t *v;
  json_array_foreach (*deleted, i, v)
    {
      json_t *who = json_object_get (known, json_string_value (v));
      if (who)
        events_network (e, "destroy", json_string_value (json_array_get (who, 0)), json_string_value (v),
                        json_string_value (json_array_get (who, 1)), NULL);
    }
  events_prune (e, "network", 0); /* events: moby reports reclaimed 0 */
  return 0;
}

static const char *
mode_of (arca_container_t *c)
{
  const char *m = container_network_mode (c);
  return *m && strcmp (m, "default") != 0 ? m : "bridge";
}

static bool
has_bridge_endpoints (const char *mode)
{
  return strcmp (mode, "host") != 0 && strcmp (mode, "none") != 0 && !str_has_prefix (mode, "container:");
}

int
network_connect (arca_engine_t *e, const char *ref, json_t *body, arca_error_t *err)
{
  const char *cref = json_get_str (body, "Container");
  arca_container_t *c = NULL;
  if (container_lookup (e, cref ? cref : "", &c, err) < 0)
    return -1;
  if (!has_bridge_endpoints (mode_of (c)))
    {
      container_unref (c);
      return arca_error_set (err, ARCA_ERR_FORBIDDEN, "container sharing network namespace with another container or host cannot be connected to any other network");
    }
  pthread_mutex_lock (&e->lock);
  bool running = c->running;
  _cleanup_free_ char *name = xstrdup (c->name);
  _cleanup_json_ json_t *cfg = container_config (c);
  _cleanup_free_ char *hostname = xstrdup (json_get_str (cfg, "Hostname"));
  bool vm = container_is_vm (c);
  pthread_mutex_unlock (&e->lock);
  if (running && vm && isolation_vm_network_change (c->id, err) < 0) /* VM isolation: no hot-plug */
    {
      container_unref (c);
      return -1;
    }
  int r = net_container_connect (e->net, c->id, name, ref, json_object_get (body, "EndpointConfig"), running,
                                 hostname, err);
  if (r == 0 && running)
    network_event (e, "connect", ref, c->id); /* events: dockerd announces live connections only */
  if (r == 0 && running && net_container_uses_internal_dns (e->net, c->id))
    {
      _cleanup_free_ char *ns = net_netns_path (e->net, c->id);
      arca_error_t derr;
      if (dns_container_attach (e->net, c->id, ns, &derr) < 0)
        log_warn ("container %.12s: dns: %s", c->id, derr.msg);
    }
  container_unref (c);
  return r;
}

int
network_disconnect (arca_engine_t *e, const char *ref, json_t *body, arca_error_t *err)
{
  const char *cref = json_get_str (body, "Container");
  arca_container_t *c = NULL;
  if (container_lookup (e, cref ? cref : "", &c, err) < 0)
    return -1;
  pthread_mutex_lock (&e->lock);
  _cleanup_free_ char *name = xstrdup (c->name);
  bool running_vm = c->running && container_is_vm (c);
  pthread_mutex_unlock (&e->lock);
  if (running_vm && isolation_vm_network_change (c->id, err) < 0) /* VM isolation: no hot-plug */
    {
      container_unref (c);
      return -1;
    }
  net_identity_t who = { 0 };
  bool known = net_network_identity (e->net, ref, &who);
  int r = net_container_disconnect (e->net, c->id, name, ref, json_get_bool (body, "Force", false), err);
  if (r == 0 && known)
    events_network (e, "disconnect", who.id, who.name, who.driver, c->id); /* events */
  net_identity_clear (&who);
  container_unref (c);
  return r;
}

/* ---- container hooks ---- */

/* The network a container-wide MAC address belongs to, or NULL when the
 * mode has no endpoint of its own (host, none, container:). */
static const char *
mac_network (const char *mode)
{
  if (mode == NULL || *mode == '\0' || strcmp (mode, "default") == 0)
    return "bridge";
  if (strcmp (mode, "host") == 0 || strcmp (mode, "none") == 0 || str_has_prefix (mode, "container:"))
    return NULL;
  return mode;
}

int
networks_mac_address_bc (json_t *body, int api_version, json_t *warnings, arca_error_t *err)
{
  const char *mac = json_get_str (body, "MacAddress");
  const char *nw = mac_network (json_get_str (json_object_get (body, "HostConfig"), "NetworkMode"));
  json_t *nc = json_object_get (body, "NetworkingConfig");
  json_t *eps = json_object_get (nc, "EndpointsConfig");
  bool legacy = api_version > 0 && api_version < 144;
  const char *k;
  json_t *ep;
  if (mac == NULL || *mac == '\0')
    {
      /* the old API had no endpoint MAC: one given is discarded */
      if (legacy)
        json_object_foreach (eps, k, ep)
          if (json_is_object (ep))
            json_object_set_new (ep, "MacAddress", json_string (""));
      return 0;
    }
  if (legacy && nw == NULL)
    return arca_error_set (err, ARCA_ERR_INVALID, "conflicting options: mac-address and the network mode");
  if (nw)
    {
      if (!json_is_object (nc))
        json_object_set_new (body, "NetworkingConfig", nc = json_object ());
      if (!json_is_object (eps))
        json_object_set_new (nc, "EndpointsConfig", eps = json_object ());
      if (json_object_size (eps) == 0)
        json_object_set_new (eps, nw, json_object ());
      if (legacy)
        {
          /* one entry at most before 1.44: the address is its */
          json_object_foreach (eps, k, ep)
            if (json_is_object (ep))
              json_object_set_new (ep, "MacAddress", json_string (mac));
          return 0;
        }
      ep = json_object_get (eps, nw);
      const char *epmac = json_get_str (ep, "MacAddress");
      if (!json_is_object (ep))
        return arca_error_set (err, ARCA_ERR_INVALID,
                               "if a container-wide MAC address is supplied, HostConfig.NetworkMode must match the "
                               "identity of a network in NetworkSettings.Networks");
      if (epmac && *epmac && strcmp (epmac, mac) != 0)
        return arca_error_set (err, ARCA_ERR_INVALID,
                               "the container-wide MAC address must match the endpoint-specific MAC address for the "
                               "main network, or be left empty");
      json_object_set_new (ep, "MacAddress", json_string (mac));
    }
  json_array_append_new (warnings, json_string ("The container-wide MacAddress field is now deprecated. It should be "
                                                "specified in EndpointsConfig instead."));
  json_object_set_new (body, "MacAddress", json_string (""));
  return 0;
}

int
networks_validate_create (arca_engine_t *e, json_t *hc, json_t *netcfg, arca_error_t *err)
{
  /* Missing networks and container:<id> targets are not create errors on
   * dockerd 20.10: create answers 201 and start 404 ("network X not
   * found", "No such container: X").  A 404 from create would make the
   * docker CLI take it for a missing image and pull. */
  (void) e;
  (void) hc;
  (void) netcfg;
  (void) err;
  return 0;
}

static bool
network_exists (arca_engine_t *e, const char *ref)
{
  net_identity_t who = { 0 };
  bool found = net_network_identity (e->net, ref, &who);
  net_identity_clear (&who);
  return found;
}

int
networks_container_create (arca_engine_t *e, arca_container_t *c, json_t *netcfg, arca_error_t *err)
{
  const char *mode = mode_of (c);
  json_t *eps = json_object_get (netcfg, "EndpointsConfig");
  if (!has_bridge_endpoints (mode))
    return net_container_configure (e->net, c->id, c->name, mode, eps, err);
  _cleanup_json_ json_t *present = json_object (), *pending = json_object ();
  bool mode_missing = !network_exists (e, mode);
  const char *k;
  json_t *v;
  json_object_foreach (eps, k, v)
  {
    bool missing = mode_missing || !network_exists (e, k);
    json_object_set (missing ? pending : present, k, v);
  }
  if (mode_missing)
    {
      if (json_object_get (pending, mode) == NULL)
        json_object_set_new (pending, mode, json_object ());
    }
  else if (net_container_configure (e->net, c->id, c->name, mode, present, err) < 0)
    return -1;
  if (json_object_size (pending) > 0)
    c->pending_endpoints = json_incref (pending);
  return 0;
}

/* At start: configure the endpoints whose networks were missing at create;
 * 404 "network X not found" (dockerd's start error) while one still is. */
static int
configure_pending (arca_engine_t *e, arca_container_t *c, arca_error_t *err)
{
  if (c->pending_endpoints == NULL)
    return 0;
  const char *mode = mode_of (c);
  const char *k;
  json_t *v;
  if (!network_exists (e, mode))
    return arca_error_set (err, ARCA_ERR_NOT_FOUND, "network %s not found", mode);
  json_object_foreach (c->pending_endpoints, k, v)
  {
    if (!network_exists (e, k))
      return arca_error_set (err, ARCA_ERR_NOT_FOUND, "network %s not found", k);
  }
  if (!net_container_has_endpoints (e->net, c->id))
    {
      if (net_container_configure (e->net, c->id, c->name, mode, c->pending_endpoints, err) < 0)
        return -1;
    }
  else
    json_object_foreach (c->pending_endpoints, k, v)
    {
      if (net_container_connect (e->net, c->id, c->name, k, v, false, NULL, err) < 0)
        return -1;
    }
  pthread_mutex_lock (&e->lock);
  json_decref (c->pending_endpoints);
  c->pending_endpoints = NULL;
  pthread_mutex_unlock (&e->lock);
  arca_error_t ignored;
  container_save (e, c, &ignored);
  return 0;
}

static int
write_hosts (arca_engine_t *e, arca_container_t *c, json_t *hc, const char *dir, char **ips, arca_error_t *err)
{
  _cleanup_free_ char *path = xasprintf ("%s/hosts", dir);
  _cleanup_strv_ char **extra = json_get_strv (hc, "ExtraHosts");
  _cleanup_free_ char *gw = NULL;
  for (size_t i = 0; extra && extra[i]; i++)
    {
      /* --add-host name:host-gateway: the default bridge's gateway */
      char *sep = strpbrk (extra[i], ":=");
      if (sep && strcmp (sep + 1, "host-gateway") == 0)
        {
          if (gw == NULL)
            gw = net_default_gateway (e->net);
          if (gw)
            {
              char *r = xasprintf ("%.*s:%s", (int) (sep - extra[i]), extra[i], gw);
              free (extra[i]);
              extra[i] = r;
            }
        }
    }
  /* legacy links (engine/links.c): after ExtraHosts, as libnetwork */
  _cleanup_strv_ char **link_hosts = NULL, **link_env = NULL;
  if (links_resolve (e, c, &link_hosts, &link_env, err) < 0)
    return -1;
  if (link_hosts)
    {
      arca_strv_builder_t all = { 0 };
      for (size_t i = 0; extra && extra[i]; i++)
        strv_builder_add (&all, extra[i]);
      for (size_t i = 0; link_hosts[i]; i++)
        strv_builder_add (&all, link_hosts[i]);
      strv_free (extra);
      extra = strv_builder_finish (&all);
    }
  _cleanup_json_ json_t *cfg = container_config (c);
  return spec_write_hosts_file (path, json_get_str (cfg, "Hostname"), json_get_str (cfg, "Domainname"),
                                extra, ips, err);
}

int
networks_container_start (arca_engine_t *e, arca_container_t *c, const char *dir, char **netns_out,
                          arca_error_t *err)
{
  const char *mode = mode_of (c);
  *netns_out = NULL;
  pthread_mutex_lock (&e->lock);
  _cleanup_json_ json_t *hc = container_host_config (c);
  pthread_mutex_unlock (&e->lock);
  /* The etc files are not fsynced (runtime/spec.h): each start writes
   * them again, the hostname file included (moby initializeNetworking). */
  _cleanup_json_ json_t *cfg = container_config (c);
  if (spec_write_hostname_file (dir, json_get_str (cfg, "Hostname"), err) < 0)
    return -1;
  if (str_has_prefix (mode, "container:"))
    {
      arca_container_t *o = NULL;
      if (container_lookup (e, mode + strlen ("container:"), &o, err) < 0)
        return -1;
      pthread_mutex_lock (&e->lock);
      bool running = o->running;
      pid_t pid = o->pid;
      pthread_mutex_unlock (&e->lock);
      _cleanup_free_ char *oid = xstrdup (o->id);
      container_unref (o);
      if (!running)
        return arca_error_set (err, ARCA_ERR_CONFLICT, "cannot join network namespace of a non running container: container %s is exited", oid);
      _cleanup_free_ char *p = net_netns_path (e->net, oid);
      if (access (p, F_OK) == 0)
        *netns_out = xstrdup (p);
      else
        {
          /* the other container has its own anonymous netns (none mode) */
          *netns_out = xasprintf ("/proc/%d/ns/net", (int) pid);
        }
      return 0;
    }
  if (!has_bridge_endpoints (mode))
    return write_hosts (e, c, hc, dir, NULL, err) < 0 ? -1 : spec_write_resolv_conf (dir, NULL, err);
  if (configure_pending (e, c, err) < 0)
    return -1;

  _cleanup_free_ char *hostname = xstrdup (json_get_str (cfg, "Hostname"));
  _cleanup_strv_ char **ips = NULL;
  _cleanup_strv_ char **dns = json_get_strv (hc, "Dns");
  _cleanup_strv_ char **dns_search = json_get_strv (hc, "DnsSearch");
  _cleanup_strv_ char **dns_options = json_get_strv (hc, "DnsOptions");
  if (net_container_start (e->net, c->id, hostname, netns_out, err) < 0)
    return -1;
  ips = net_container_ips (e->net, c->id);
  if (write_hosts (e, c, hc, dir, ips, err) < 0)
    goto fail;
  bool internal = net_container_uses_internal_dns (e->net, c->id);
  /* IPv6 nameservers and defaults stay when the container has IPv6
   * (libnetwork FilterResolvDNS with IPv6 enabled) */
  bool ipv6 = false;
  for (size_t i = 0; ips && ips[i]; i++)
    ipv6 = ipv6 || strchr (ips[i], ':') != NULL;
  arca_resolv_options_t ro = {
    .dns = dns, .dns_search = dns_search, .dns_options = dns_options, .internal_ns = internal ? "127.0.0.11" : NULL,
    .ipv6 = ipv6,
  };
  if (spec_write_resolv_conf (dir, &ro, err) < 0)
    goto fail;

  /* published ports: DNAT to the first endpoint's address */
  arca_endpoint_t first;
  bool have = net_container_first_endpoint (e->net, c->id, &first);
  if (have)
    {
      json_t *ports = NULL;
      if (portmap_container_publish (e->net, c->id, json_object_get (hc, "PortBindings"),
                                     c->exposed_ports,
                                     json_get_bool (hc, "PublishAllPorts", false), &first, &ports, err)
          < 0)
        goto fail;
      pthread_mutex_lock (&e->lock);
      json_decref (c->net_ports);
      c->net_ports = ports;
      pthread_mutex_unlock (&e->lock);
    }
  if (internal && dns_container_attach (e->net, c->id, *netns_out, err) < 0)
    goto fail;
  events_container_networks (e, c->id, "connect"); /* events */
  return 0;

fail:
  networks_container_stop (e, c);
  free (*netns_out);
  *netns_out = NULL;
  return -1;
}

void
networks_container_detach (arca_engine_t *e, arca_container_t *c)
{
  if (!has_bridge_endpoints (mode_of (c)))
    return;
  dns_container_detach (e->net, c->id);
  portmap_container_unpublish (e->net, c->id);
  pthread_mutex_lock (&e->lock);
  json_decref (c->net_ports);
  c->net_ports = NULL;
  pthread_mutex_unlock (&e->lock);
  events_container_networks (e, c->id, "disconnect"); /* events: while the endpoints are listed */
  net_container_detach (e->net, c->id);
}

void
networks_container_netns_remove (arca_engine_t *e, arca_container_t *c)
{
  if (has_bridge_endpoints (mode_of (c)))
    net_container_netns_remove (e->net, c->id);
}

void
networks_container_stop (arca_engine_t *e, arca_container_t *c)
{
  networks_container_detach (e, c);
  networks_container_netns_remove (e, c);
}

void
networks_container_remove (arca_engine_t *e, arca_container_t *c)
{
  dns_container_detach (e->net, c->id);
  portmap_container_unpublish (e->net, c->id);
  net_container_remove (e->net, c->id);
}

void
networks_container_restore (arca_engine_t *e, arca_container_t *c, bool running)
{
  if (!has_bridge_endpoints (mode_of (c)))
    return;
  if (!running)
    {
      net_container_restore (e->net, c->id, false, NULL);
      return;
    }
  _cleanup_json_ json_t *cfg = container_config (c);
  net_container_restore (e->net, c->id, true, json_get_str (cfg, "Hostname"));
  arca_endpoint_t first;
  bool have = net_container_first_endpoint (e->net, c->id, &first);
  arca_error_t err;
  if (have && c->net_ports && portmap_container_restore (e->net, c->id, c->net_ports, &first, &err) < 0)
    log_warn ("container %.12s: ports: %s", c->id, err.msg);
  if (net_container_uses_internal_dns (e->net, c->id))
    {
      _cleanup_free_ char *ns = net_netns_path (e->net, c->id);
      if (dns_container_attach (e->net, c->id, ns, &err) < 0)
        log_warn ("container %.12s: dns: %s", c->id, err.msg);
    }
}

json_t *
networks_settings_view (arca_engine_t *e, arca_container_t *c)
{
  const char *mode = mode_of (c);
  json_t *none = json_pack ("{s:n,s:n,s:n,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:i,s:n,s:n}", "IPAMConfig", "Links",
                            "Aliases", "MacAddress", "", "NetworkID", "", "EndpointID", "", "Gateway", "",
                            "IPAddress", "", "IPPrefixLen", 0, "IPv6Gateway", "", "GlobalIPv6Address", "",
                            "GlobalIPv6PrefixLen", 0, "DriverOpts", "DNSNames");
  _cleanup_free_ char *sandbox = c->running && has_bridge_endpoints (mode) ? net_netns_path (e->net, c->id)
                                                                            : xstrdup ("");
  json_t *ns = json_pack ("{s:s,s:s,s:s,s:o,s:b,s:s,s:i,s:n,s:n,s:s,s:s,s:s,s:i,s:s,s:i,s:s,s:s}", "Bridge", "",
                          "SandboxID", "", "SandboxKey", sandbox, "Ports",
                          c->net_ports ? json_deep_copy (c->net_ports) : json_object (), "HairpinMode", false,
                          "LinkLocalIPv6Address", "", "LinkLocalIPv6PrefixLen", 0, "SecondaryIPAddresses",
                          "SecondaryIPv6Addresses", "EndpointID", "", "Gateway", "", "GlobalIPv6Address", "",
                          "GlobalIPv6PrefixLen", 0, "IPAddress", "", "IPPrefixLen", 0, "IPv6Gateway", "",
                          "MacAddress", "");
  if (has_bridge_endpoints (mode))
    net_container_settings (e->net, c->id, ns);
  if (json_object_get (ns, "Networks") == NULL)
    {
      if (str_has_prefix (mode, "container:"))
        {
          json_decref (none);
          json_object_set_new (ns, "Networks", json_object ());
        }
      else
        json_object_set_new (ns, "Networks", json_pack ("{s:o}", mode, none));
    }
  else
    json_decref (none);
  return ns;
}

/* networks_settings_view's "Networks" as text: the endpoints' entries, or
 * for a container without any its mode with empty settings ({} for
 * container:<id>). */
void
networks_list_write (arca_container_t *c, const net_list_view_t *view, arca_buf_t *b)
{
  const char *mode = mode_of (c);
  buf_append (b, "{", 1);
  if (has_bridge_endpoints (mode) && net_list_view_write (view, c->id, b) > 0)
    ;
  else if (!str_has_prefix (mode, "container:"))
    {
      jw_str (b, mode);
      jw_lit (b, ":{\"IPAMConfig\":null,\"Links\":null,\"Aliases\":null,\"MacAddress\":\"\",\"NetworkID\":\"\","
                 "\"EndpointID\":\"\",\"Gateway\":\"\",\"IPAddress\":\"\",\"IPPrefixLen\":0,\"IPv6Gateway\":\"\","
                 "\"GlobalIPv6Address\":\"\",\"GlobalIPv6PrefixLen\":0,\"DriverOpts\":null,\"DNSNames\":null}");
    }
  buf_append (b, "}", 1);
}

bool
networks_list_on (arca_container_t *c, const net_list_view_t *view, const char *network)
{
  const char *mode = mode_of (c);
  int on = has_bridge_endpoints (mode) ? net_list_view_on (view, c->id, network) : -1;
  if (on >= 0)
    return on;
  /* the mode's entry, NetworkID "" (a prefix only of ""); container:<id>
   * lists no networks */
  return !str_has_prefix (mode, "container:") && (strcmp (mode, network) == 0 || *network == '\0');
}
