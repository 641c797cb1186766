/* Networking for VM isolation: the guest's NIC takes the place of the
 * container's veth end.  Inside the container's netns, next to each
 * endpoint's ethN, a persistent tap "tapN" is made for QEMU, and two tc
 * redirects (an ingress u32 match-all filter with a mirred egress redirect
 * on each side) splice them at layer 2: whatever reaches ethN from the
 * bridge leaves on tapN towards the guest and back.  The guest's interface
 * has the endpoint's MAC and address, so IPAM, the bridge, DNAT for
 * published ports, the port proxy and the embedded DNS stay exactly as for
 * a runc container; the netns's own stack never sees the traffic.  The
 * taps go with the netns when the container stops. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>

#include "net/net_internal.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"

typedef struct
{
  char ifname[16], tap[16];
  int mtu;
} vm_link_t;

typedef struct
{
  const char *netns_path;
  vm_link_t *links;
  size_t n;
  arca_error_t err;
  int rc;
} vmtap_job_t;

static int
tap_create (const char *name, arca_error_t *err)
{
  _cleanup_close_ int fd = open ("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return arca_error_errno (err, errno, "open /dev/net/tun");
  struct ifreq ifr = { 0 };
  snprintf (ifr.ifr_name, IFNAMSIZ, "%s", name);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (ioctl (fd, TUNSETIFF, &ifr) < 0)
    return arca_error_errno (err, errno, "create tap %s", name);
  if (ioctl (fd, TUNSETPERSIST, 1) < 0)
    return arca_error_errno (err, errno, "make tap %s persistent", name);
  return 0;
}

static int
nlfail (arca_error_t *err, int code, const char *what, const char *name)
{
  return arca_error_set (err, ARCA_ERR_INTERNAL, "%s %s: %s", what, name, nl_geterror (code));
}

static int
ingress_qdisc (struct nl_sock *sk, int ifindex, const char *name, arca_error_t *err)
{
  struct rtnl_qdisc *q = rtnl_qdisc_alloc ();
  if (q == NULL)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "qdisc alloc");
  rtnl_tc_set_ifindex (TC_CAST (q), ifindex);
  rtnl_tc_set_parent (TC_CAST (q), TC_H_INGRESS);
  rtnl_tc_set_handle (TC_CAST (q), TC_HANDLE (0xffffU, 0U));
  int r = rtnl_tc_set_kind (TC_CAST (q), "ingress");
  if (r == 0)
    r = rtnl_qdisc_add (sk, q, NLM_F_CREATE);
  rtnl_qdisc_put (q);
  return r < 0 ? nlfail (err, r, "ingress qdisc on", name) : 0;
}

/* tc filter add dev FROM parent ffff: protocol all prio 1 u32 match u32 0 0
 *    action mirred egress redirect dev TO */
static int
redirect (struct nl_sock *sk, int from, int to, const char *name, arca_error_t *err)
{
  struct rtnl_cls *cls = rtnl_cls_alloc ();
  struct rtnl_act *act = rtnl_act_alloc ();
  int r = -NLE_NOMEM;
  if (cls == NULL || act == NULL)
    goto out;
  rtnl_tc_set_ifindex (TC_CAST (cls), from);
  rtnl_tc_set_parent (TC_CAST (cls), TC_HANDLE (0xffffU, 0U));
  if ((r = rtnl_tc_set_kind (TC_CAST (cls), "u32")) < 0)
    goto out;
  rtnl_cls_set_protocol (cls, ETH_P_ALL);
  rtnl_cls_set_prio (cls, 1);
  if ((r = rtnl_u32_add_key_uint32 (cls, 0, 0, 0, 0)) < 0 || (r = rtnl_u32_set_cls_terminal (cls)) < 0)
    goto out;
  if ((r = rtnl_tc_set_kind (TC_CAST (act), "mirred")) < 0)
    goto out;
  rtnl_mirred_set_action (act, TCA_EGRESS_REDIR);
  rtnl_mirred_set_policy (act, TC_ACT_STOLEN);
  rtnl_mirred_set_ifindex (act, (uint32_t) to);
  if ((r = rtnl_u32_add_action (cls, act)) < 0)
    goto out;
  r = rtnl_cls_add (sk, cls, NLM_F_CREATE);
out:
  if (act)
    rtnl_act_put (act);
  if (cls)
    rtnl_cls_put (cls);
  return r < 0 ? nlfail (err, r, "redirect filter on", name) : 0;
}

static int
link_splice (struct nl_sock *sk, const vm_link_t *l, arca_error_t *err)
{
  struct rtnl_link *eth = NULL, *tap = NULL, *change = NULL;
  int rc = -1;
  int r = rtnl_link_get_kernel (sk, 0, l->ifname, &eth);
  if (r < 0)
    {
      nlfail (err, r, "get link", l->ifname);
      goto out;
    }
  if ((r = rtnl_link_get_kernel (sk, 0, l->tap, &tap)) < 0)
    {
      nlfail (err, r, "get link", l->tap);
      goto out;
    }
  change = rtnl_link_alloc ();
  rtnl_link_set_flags (change, IFF_UP);
  if (l->mtu > 0)
    rtnl_link_set_mtu (change, (unsigned) l->mtu);
  if ((r = rtnl_link_change (sk, tap, change, 0)) < 0)
    {
      nlfail (err, r, "set up", l->tap);
      goto out;
    }
  int ei = rtnl_link_get_ifindex (eth), ti = rtnl_link_get_ifindex (tap);
  if (ingress_qdisc (sk, ei, l->ifname, err) < 0 || ingress_qdisc (sk, ti, l->tap, err) < 0
      || redirect (sk, ei, ti, l->ifname, err) < 0 || redirect (sk, ti, ei, l->tap, err) < 0)
    goto out;
  rc = 0;
out:
  if (eth)
    rtnl_link_put (eth);
  if (tap)
    rtnl_link_put (tap);
  if (change)
    rtnl_link_put (change);
  return rc;
}

/* Runs on a thread of its own that joins the netns: the tun device and the
 * netlink socket are then the netns's. */
static void *
vmtap_thread (void *arg)
{
  vmtap_job_t *j = arg;
  j->rc = -1;
  _cleanup_close_ int fd = open (j->netns_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns (fd, CLONE_NEWNET) < 0)
    {
      arca_error_errno (&j->err, errno, "join %s", j->netns_path);
      return NULL;
    }
  for (size_t i = 0; i < j->n; i++)
    if (tap_create (j->links[i].tap, &j->err) < 0)
      return NULL;
  struct nl_sock *sk = nl_socket_alloc ();
  if (sk == NULL || nl_connect (sk, NETLINK_ROUTE) < 0)
    {
      if (sk)
        nl_socket_free (sk);
      arca_error_set (&j->err, ARCA_ERR_INTERNAL, "netlink: cannot connect in %s", j->netns_path);
      return NULL;
    }
  for (size_t i = 0; i < j->n; i++)
    if (link_splice (sk, &j->links[i], &j->err) < 0)
      {
        nl_socket_free (sk);
        return NULL;
      }
  nl_socket_free (sk);
  j->rc = 0;
  return NULL;
}

static json_t *
endpoint_json (const arca_endpoint_t *ep, const arca_network_t *n, const char *tap)
{
  char addr[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
  inet_ntop (AF_INET, &ep->addr, addr, sizeof addr);
  inet_ntop (AF_INET, &ep->gateway, gw, sizeof gw);
  /* As nl_veth_setup: the first network's gateway is the default route,
   * unless the network is internal. */
  bool default_route = strcmp (ep->ifname, "eth0") == 0 && !(n && n->internal);
  json_t *o = json_pack ("{s:s,s:s,s:s,s:s,s:i,s:s,s:b,s:i}", "tap", tap, "ifname", ep->ifname, "mac", ep->mac,
                         "addr", addr, "prefix", ep->prefix, "gateway", gw, "default_route", default_route, "mtu",
                         n && n->mtu > 0 ? n->mtu : 1500);
  if (!IN6_IS_ADDR_UNSPECIFIED (&ep->addr6))
    {
      char a6[INET6_ADDRSTRLEN], g6[INET6_ADDRSTRLEN];
      inet_ntop (AF_INET6, &ep->addr6, a6, sizeof a6);
      inet_ntop (AF_INET6, &ep->gateway6, g6, sizeof g6);
      json_object_set_new (o, "addr6", json_string (a6));
      json_object_set_new (o, "prefix6", json_integer (ep->prefix6));
      json_object_set_new (o, "gateway6", json_string (g6));
    }
  return o;
}

int
net_vm_attach (arca_net_t *net, const char *cid, const char *netns_path, json_t **interfaces, arca_error_t *err)
{
  json_t *itfs = json_array ();
  vm_link_t *links = NULL;
  size_t n = 0;
  pthread_mutex_lock (&net->lock);
  for (arca_endpoint_t *ep = net->endpoints; ep; ep = ep->next)
    {
      if (strcmp (ep->container_id, cid) != 0 || !ep->active)
        continue;
      int idx = -1;
      if (sscanf (ep->ifname, "eth%d", &idx) != 1 || idx < 0 || idx > 999)
        continue;
      links = xrealloc (links, (n + 1) * sizeof *links);
      vm_link_t *l = &links[n++];
      memset (l, 0, sizeof *l);
      snprintf (l->ifname, sizeof l->ifname, "%s", ep->ifname);
      snprintf (l->tap, sizeof l->tap, "tap%d", idx);
      arca_network_t *nw = net_network_find_locked (net, ep->network_id);
      l->mtu = nw && nw->mtu > 0 ? nw->mtu : 0;
      json_array_append_new (itfs, endpoint_json (ep, nw, l->tap));
    }
  pthread_mutex_unlock (&net->lock);
  if (n == 0)
    {
      free (links);
      *interfaces = itfs;
      return 0;
    }
  vmtap_job_t job = { .netns_path = netns_path, .links = links, .n = n };
  pthread_t t;
  int e = pthread_create (&t, NULL, vmtap_thread, &job);
  if (e == 0)
    pthread_join (t, NULL);
  free (links);
  if (e != 0)
    {
      json_decref (itfs);
      return arca_error_errno (err, e, "vm network thread");
    }
  if (job.rc < 0)
    {
      json_decref (itfs);
      *err = job.err;
      return -1;
    }
  *interfaces = itfs;
  return 0;
}
