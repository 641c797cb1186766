/* Links, addresses and routes through rtnetlink (libnl-route-3): bridges,
 * veth pairs whose container side is created directly in the container's
 * netns, addresses and the default route inside it.  A netlink socket is
 * bound to the netns it was created in, so a short-lived thread that
 * setns()es makes the socket for a container's namespace; the daemon's own
 * threads never change namespace. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_bridge.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "net/net_internal.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/strutil.h"

static void
sock_freep (struct nl_sock **s)
{
  if (*s)
    nl_socket_free (*s);
}
#define _cleanup_nlsock_ __attribute__ ((cleanup (sock_freep)))
static void
link_putp (struct rtnl_link **l)
{
  if (*l)
    rtnl_link_put (*l);
}
#define _cleanup_link_ __attribute__ ((cleanup (link_putp)))

struct sock_req
{
  const char *path;
  struct nl_sock *sk;
  int err;
};

static void *
sock_in_netns_thread (void *arg)
{
  struct sock_req *r = arg;
  int fd = open (r->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      r->err = errno;
      return NULL;
    }
  if (setns (fd, CLONE_NEWNET) < 0)
    {
      r->err = errno;
      close (fd);
      return NULL;
    }
  close (fd);
  r->sk = nl_socket_alloc ();
  if (r->sk && nl_connect (r->sk, NETLINK_ROUTE) < 0)
    {
      nl_socket_free (r->sk);
      r->sk = NULL;
      r->err = EIO;
    }
  return NULL;
}

/* A connected rtnetlink socket in netns_path (NULL: ours). */
static struct nl_sock *
nl_open (const char *netns_path, arca_error_t *err)
{
  if (netns_path == NULL)
    {
      struct nl_sock *sk = nl_socket_alloc ();
      if (sk == NULL || nl_connect (sk, NETLINK_ROUTE) < 0)
        {
          if (sk)
            nl_socket_free (sk);
          arca_error_set (err, ARCA_ERR_INTERNAL, "netlink: cannot connect");
          return NULL;
        }
      return sk;
    }
  struct sock_req r = { .path = netns_path };
  pthread_t t;
  int e = pthread_create (&t, NULL, sock_in_netns_thread, &r);
  if (e != 0)
    {
      arca_error_errno (err, e, "netlink thread");
      return NULL;
    }
  pthread_join (t, NULL);
  if (r.sk == NULL)
    arca_error_errno (err, r.err ? r.err : EIO, "netlink socket in %s", netns_path);
  return r.sk;
}

static int
nlerr (arca_error_t *err, int code, const char *what, const char *name)
{
  return arca_error_set (err, ARCA_ERR_INTERNAL, "%s %s: %s", what, name, nl_geterror (code));
}

static int
link_up (struct nl_sock *sk, struct rtnl_link *link, arca_error_t *err)
{
  _cleanup_link_ struct rtnl_link *change = rtnl_link_alloc ();
  rtnl_link_set_flags (change, IFF_UP);
  int r = rtnl_link_change (sk, link, change, 0);
  if (r < 0)
    return nlerr (err, r, "set link up", rtnl_link_get_name (link));
  return 0;
}

static int
addr_add (struct nl_sock *sk, int ifindex, struct in_addr a, int prefix, arca_error_t *err)
{
  char text[64];
  inet_ntop (AF_INET, &a, text, sizeof text);
  size_t n = strlen (text);
  snprintf (text + n, sizeof text - n, "/%d", prefix);
  struct nl_addr *local = NULL;
  if (nl_addr_parse (text, AF_INET, &local) < 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "bad address %s", text);
  struct in_addr bc = { .s_addr = a.s_addr | htonl (~prefix_mask (prefix)) };
  struct nl_addr *bcast = nl_addr_build (AF_INET, &bc, 4);
  struct rtnl_addr *ra = rtnl_addr_alloc ();
  rtnl_addr_set_ifindex (ra, ifindex);
  rtnl_addr_set_local (ra, local);
  if (prefix < 31)
    rtnl_addr_set_broadcast (ra, bcast);
  int r = rtnl_addr_add (sk, ra, 0);
  rtnl_addr_put (ra);
  nl_addr_put (local);
  nl_addr_put (bcast);
  if (r < 0 && r != -NLE_EXIST)
    return nlerr (err, r, "add address", text);
  return 0;
}

/* An IPv6 address without duplicate address detection (libnetwork osl
 * setIPv6 sets IFA_F_NODAD): usable at once, no tentative second. */
static int
addr6_add (struct nl_sock *sk, int ifindex, const struct in6_addr *a, int prefix, arca_error_t *err)
{
  struct nl_addr *local = nl_addr_build (AF_INET6, a, 16);
  if (local == NULL)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "IPv6 address: out of memory");
  nl_addr_set_prefixlen (local, prefix);
  struct rtnl_addr *ra = rtnl_addr_alloc ();
  rtnl_addr_set_ifindex (ra, ifindex);
  rtnl_addr_set_local (ra, local);
  rtnl_addr_set_flags (ra, IFA_F_NODAD);
  int r = rtnl_addr_add (sk, ra, 0);
  rtnl_addr_put (ra);
  nl_addr_put (local);
  if (r < 0 && r != -NLE_EXIST)
    {
      char text[INET6_ADDRSTRLEN];
      inet_ntop (AF_INET6, a, text, sizeof text);
      return nlerr (err, r, "add address", text);
    }
  return 0;
}

/* /proc/sys/net/ipv6/conf/<ifname>/disable_ipv6 = 0 if it is 1 (libnetwork
 * setupBridgeIPv6; a netns of our own has IPv6 on by default). */
static int
ipv6_enable_on (const char *ifname, arca_error_t *err)
{
  _cleanup_free_ char *path = xasprintf ("/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
  _cleanup_close_ int fd = open (path, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return arca_error_errno (err, errno, "IPv6 is not available on this host (%s)", path);
  char c = '0';
  if (read (fd, &c, 1) == 1 && c == '0')
    return 0;
  if (pwrite (fd, "0", 1, 0) != 1)
    return arca_error_errno (err, errno, "enable IPv6 on %s", ifname);
  return 0;
}

/* A default route (dst any/0) via gw on ifindex, for family AF_INET or
 * AF_INET6 (gw: 4 or 16 bytes). */
static int
default_route_add (struct nl_sock *sk, int family, const void *gw, int ifindex, const char *ifname,
                   arca_error_t *err)
{
  size_t alen = family == AF_INET ? 4 : 16;
  unsigned char any[16] = { 0 };
  struct rtnl_route *rt = rtnl_route_alloc ();
  struct nl_addr *dst = nl_addr_build (family, any, alen);
  nl_addr_set_prefixlen (dst, 0);
  struct nl_addr *gwa = nl_addr_build (family, gw, alen);
  struct rtnl_nexthop *nh = rtnl_route_nh_alloc ();
  rtnl_route_nh_set_gateway (nh, gwa);
  rtnl_route_nh_set_ifindex (nh, ifindex);
  rtnl_route_set_family (rt, (uint8_t) family);
  rtnl_route_set_dst (rt, dst);
  rtnl_route_set_table (rt, RT_TABLE_MAIN);
  rtnl_route_set_protocol (rt, RTPROT_BOOT);
  rtnl_route_set_scope (rt, RT_SCOPE_UNIVERSE);
  rtnl_route_add_nexthop (rt, nh);
  int r = rtnl_route_add (sk, rt, NLM_F_CREATE | NLM_F_REPLACE);
  rtnl_route_put (rt);
  nl_addr_put (dst);
  nl_addr_put (gwa);
  if (r < 0)
    return nlerr (err, r, "add default route via", ifname);
  return 0;
}

int
nl_bridge_ensure6 (const char *name, const struct in6_addr *gw, int prefix, arca_error_t *err)
{
  _cleanup_nlsock_ struct nl_sock *sk = nl_open (NULL, err);
  if (sk == NULL)
    return -1;
  if (ipv6_enable_on (name, err) < 0)
    return -1;
  int ifindex = (int) if_nametoindex (name);
  if (ifindex == 0)
    return arca_error_errno (err, errno, "bridge %s", name);
  struct in6_addr ll = { .s6_addr = { 0xfe, 0x80, [15] = 1 } };
  if (addr6_add (sk, ifindex, gw, prefix, err) < 0 || addr6_add (sk, ifindex, &ll, 64, err) < 0)
    return -1;
  return 0;
}

int
nl_addr6_setup (const char *netns_path, const char *ifname, const struct in6_addr *addr, int prefix,
                const struct in6_addr *gw, bool default_route, arca_error_t *err)
{
  _cleanup_nlsock_ struct nl_sock *nsk = nl_open (netns_path, err);
  if (nsk == NULL)
    return -1;
  _cleanup_link_ struct rtnl_link *in = NULL;
  int r = rtnl_link_get_kernel (nsk, 0, ifname, &in);
  if (r < 0)
    return nlerr (err, r, "get link", ifname);
  int ifindex = rtnl_link_get_ifindex (in);
  if (addr6_add (nsk, ifindex, addr, prefix, err) < 0)
    return -1;
  if (default_route)
    return default_route_add (nsk, AF_INET6, gw, ifindex, ifname, err);
  return 0;
}

int
nl_bridge_ensure (const char *name, int mtu, struct in_addr gw, int prefix, arca_error_t *err)
{
  _cleanup_nlsock_ struct nl_sock *sk = nl_open (NULL, err);
  if (sk == NULL)
    return -1;
  _cleanup_link_ struct rtnl_link *link = NULL;
  if (rtnl_link_get_kernel (sk, 0, name, &link) < 0)
    {
      _cleanup_link_ struct rtnl_link *nl = rtnl_link_alloc ();
      rtnl_link_set_type (nl, "bridge");
      rtnl_link_set_name (nl, name);
      if (mtu > 0)
        rtnl_link_set_mtu (nl, mtu);
      int r = rtnl_link_add (sk, nl, NLM_F_CREATE | NLM_F_EXCL);
      if (r < 0 && r != -NLE_EXIST)
        return nlerr (err, r, "create bridge", name);
      r = rtnl_link_get_kernel (sk, 0, name, &link);
      if (r < 0)
        return nlerr (err, r, "get bridge", name);
    }
  if (addr_add (sk, rtnl_link_get_ifindex (link), gw, prefix, err) < 0)
    return -1;
  /* up, and in Arca's interface group (see ARCA_IFGROUP), also when the
   * bridge is from an earlier run */
  _cleanup_link_ struct rtnl_link *change = rtnl_link_alloc ();
  rtnl_link_set_flags (change, IFF_UP);
  rtnl_link_set_group (change, ARCA_IFGROUP);
  int r = rtnl_link_change (sk, link, change, 0);
  if (r < 0)
    return nlerr (err, r, "set up bridge", name);
  return 0;
}

bool
nl_link_exists (const char *name)
{
  return if_nametoindex (name) != 0;
}

int
nl_link_delete (const char *netns_path, const char *name, arca_error_t *err)
{
  _cleanup_nlsock_ struct nl_sock *sk = nl_open (netns_path, err);
  if (sk == NULL)
    return -1;
  _cleanup_link_ struct rtnl_link *link = rtnl_link_alloc ();
  rtnl_link_set_name (link, name);
  int r = rtnl_link_delete (sk, link);
  if (r < 0 && r != -NLE_NODEV && r != -NLE_OBJ_NOTFOUND)
    return nlerr (err, r, "delete link", name);
  return 0;
}

/* name's bridge: master_ifindex (0: none); up also sets IFF_UP. */
static int
link_set_master (struct nl_sock *sk, const char *name, int master_ifindex, bool up, arca_error_t *err)
{
  _cleanup_link_ struct rtnl_link *link = NULL;
  int r = rtnl_link_get_kernel (sk, 0, name, &link);
  if (r < 0)
    return nlerr (err, r, "get link", name);
  _cleanup_link_ struct rtnl_link *change = rtnl_link_alloc ();
  rtnl_link_set_master (change, master_ifindex);
  if (up)
    rtnl_link_set_flags (change, IFF_UP);
  r = rtnl_link_change (sk, link, change, 0);
  if (r < 0)
    return nlerr (err, r, master_ifindex ? "attach to bridge" : "detach from bridge", name);
  return 0;
}

int
nl_link_set_nomaster (const char *name, arca_error_t *err)
{
  _cleanup_nlsock_ struct nl_sock *sk = nl_open (NULL, err);
  if (sk == NULL)
    return -1;
  return link_set_master (sk, name, 0, false, err);
}

/* One request on sk (msg freed), answered by an ack: 0 or libnl's error. */
static int
request_acked (struct nl_sock *sk, struct nl_msg *msg)
{
  int r = nl_send_auto (sk, msg);
  nlmsg_free (msg);
  return r < 0 ? r : nl_wait_for_ack (sk);
}

/* Taking a port off its bridge (del_nbp) waits for an expedited RCU grace
 * period (netdev_rx_handler_unregister's synchronize_net under RTNL),
 * 0.3-1 ms here on the path of each exit's answer.  A disabled port
 * forwards nothing either way (br_handle_frame drops, should_deliver skips
 * it) and learns nothing; the entry the bridge learned for the container's
 * MAC goes too, or frames for a new container given the same address (and
 * so the same MAC) would go to the disabled port until relearned. */
int
nl_bridge_port_disable (const char *name, const char *mac, arca_error_t *err)
{
  int idx = (int) if_nametoindex (name);
  if (idx == 0)
    return arca_error_errno (err, errno, "bridge port %s", name);
  _cleanup_nlsock_ struct nl_sock *sk = nl_open (NULL, err);
  if (sk == NULL)
    return -1;
  struct nl_msg *msg = nlmsg_alloc_simple (RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK);
  struct ifinfomsg ifi = { .ifi_family = AF_BRIDGE, .ifi_index = idx };
  struct nlattr *protinfo;
  if (msg == NULL || nlmsg_append (msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0
      || (protinfo = nla_nest_start (msg, IFLA_PROTINFO | NLA_F_NESTED)) == NULL
      || nla_put_u8 (msg, IFLA_BRPORT_STATE, BR_STATE_DISABLED) < 0)
    {
      nlmsg_free (msg);
      return arca_error_set (err, ARCA_ERR_INTERNAL, "disable bridge port %s: no memory", name);
    }
  nla_nest_end (msg, protinfo);
  int r = request_acked (sk, msg);
  if (r < 0)
    return nlerr (err, r, "disable bridge port", name);
  struct nl_addr *lladdr = NULL;
  if (nl_addr_parse (mac, AF_LLC, &lladdr) < 0) /* as nl_veth_setup sets it */
    return arca_error_set (err, ARCA_ERR_INVALID, "bad MAC address %s", mac);
  msg = nlmsg_alloc_simple (RTM_DELNEIGH, NLM_F_REQUEST | NLM_F_ACK);
  struct ndmsg ndm = { .ndm_family = AF_BRIDGE, .ndm_ifindex = idx, .ndm_flags = NTF_MASTER };
  bool built = msg && nlmsg_append (msg, &ndm, sizeof ndm, NLMSG_ALIGNTO) == 0
               && nla_put_addr (msg, NDA_LLADDR, lladdr) == 0;
  nl_addr_put (lladdr);
  if (!built)
    {
      nlmsg_free (msg);
      return arca_error_set (err, ARCA_ERR_INTERNAL, "forget %s on %s: no memory", mac, name);
    }
  r = request_acked (sk, msg);
  /* never learned (the container sent nothing): nothing to forget */
  if (r < 0 && r != -NLE_OBJ_NOTFOUND && r != -NLE_NOADDR)
    return nlerr (err, r, "forget the bridge's entry on", name);
  return 0;
}

int
nl_addr_add_named (const char *netns_path, const char *ifname, const char *text, int prefix, arca_error_t *err)
{
  _cleanup_nlsock_ struct nl_sock *sk = nl_open (netns_path, err);
  if (sk == NULL)
    return -1;
  _cleanup_link_ struct rtnl_link *link = NULL;
  int r = rtnl_link_get_kernel (sk, 0, ifname, &link);
  if (r < 0)
    return nlerr (err, r, "get link", ifname);
  char cidr[80];
  snprintf (cidr, sizeof cidr, "%s/%d", text, prefix);
  struct nl_addr *local = NULL;
  if (nl_addr_parse (cidr, AF_UNSPEC, &local) < 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "bad address %s", cidr);
  struct rtnl_addr *ra = rtnl_addr_alloc ();
  rtnl_addr_set_ifindex (ra, rtnl_link_get_ifindex (link));
  rtnl_addr_set_local (ra, local);
  r = rtnl_addr_add (sk, ra, 0);
  rtnl_addr_put (ra);
  nl_addr_put (local);
  if (r < 0 && r != -NLE_EXIST)
    return nlerr (err, r, "add address", cidr);
  return 0;
}

int
nl_lo_up (const char *netns_path, arca_error_t *err)
{
  _cleanup_nlsock_ struct nl_sock *sk = nl_open (netns_path, err);
  if (sk == NULL)
    return -1;
  _cleanup_link_ struct rtnl_link *lo = NULL;
  int r = rtnl_link_get_kernel (sk, 0, "lo", &lo);
  if (r < 0)
    return nlerr (err, r, "get link", "lo");
  return link_up (sk, lo, err);
}

int
nl_veth_setup (const char *bridge, const char *host_name, const char *netns_path, const char *ifname,
               const char *mac, int mtu, struct in_addr addr, int prefix, struct in_addr gw, bool default_route,
               arca_error_t *err)
{
  _cleanup_nlsock_ struct nl_sock *sk = nl_open (NULL, err);
  if (sk == NULL)
    return -1;
  _cleanup_link_ struct rtnl_link *br = NULL;
  int r = rtnl_link_get_kernel (sk, 0, bridge, &br);
  if (r < 0)
    return nlerr (err, r, "get bridge", bridge);
  _cleanup_close_ int nsfd = open (netns_path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    return arca_error_errno (err, errno, "open %s", netns_path);

  _cleanup_link_ struct rtnl_link *veth = rtnl_link_veth_alloc ();
  if (veth == NULL)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "veth alloc");
  struct rtnl_link *peer = rtnl_link_veth_get_peer (veth);
  rtnl_link_set_name (veth, host_name);
  rtnl_link_set_name (peer, ifname);
  rtnl_link_set_ns_fd (peer, nsfd);
  if (mtu > 0)
    {
      rtnl_link_set_mtu (veth, mtu);
      rtnl_link_set_mtu (peer, mtu);
    }
  struct nl_addr *lladdr = NULL;
  if (mac && nl_addr_parse (mac, AF_LLC, &lladdr) == 0)
    {
      rtnl_link_set_addr (peer, lladdr);
      nl_addr_put (lladdr);
    }
  r = rtnl_link_add (sk, veth, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_put (peer);
  if (r < 0)
    return nlerr (err, r, "create veth", host_name);

  /* host side: enslave and up */
  if (link_set_master (sk, host_name, rtnl_link_get_ifindex (br), true, err) < 0)
    return -1;

  /* container side */
  _cleanup_nlsock_ struct nl_sock *nsk = nl_open (netns_path, err);
  if (nsk == NULL)
    return -1;
  _cleanup_link_ struct rtnl_link *in = NULL;
  r = rtnl_link_get_kernel (nsk, 0, ifname, &in);
  if (r < 0)
    return nlerr (err, r, "get link", ifname);
  if (addr_add (nsk, rtnl_link_get_ifindex (in), addr, prefix, err) < 0 || link_up (nsk, in, err) < 0)
    return -1;
  _cleanup_link_ struct rtnl_link *lo = NULL;
  if (rtnl_link_get_kernel (nsk, 0, "lo", &lo) == 0 && link_up (nsk, lo, err) < 0)
    return -1;
  if (default_route)
    return default_route_add (nsk, AF_INET, &gw, rtnl_link_get_ifindex (in), ifname, err);
  return 0;
}

struct overlap_ctx
{
  uint32_t net, mask;
  bool found;
};

static void
route_cb (struct nl_object *obj, void *arg)
{
  struct overlap_ctx *o = arg;
  struct rtnl_route *rt = (struct rtnl_route *) obj;
  if (rtnl_route_get_table (rt) != RT_TABLE_MAIN)
    return;
  struct nl_addr *dst = rtnl_route_get_dst (rt);
  if (dst == NULL || nl_addr_get_family (dst) != AF_INET)
    return;
  int plen = nl_addr_get_prefixlen (dst);
  if (plen == 0)
    return; /* default route */
  uint32_t a;
  memcpy (&a, nl_addr_get_binary_addr (dst), 4);
  a = ntohl (a);
  uint32_t m = prefix_mask (plen);
  uint32_t common = m & o->mask; /* shorter of the two prefixes */
  if ((a & common) == (o->net & common))
    o->found = true;
}

bool
nl_route_overlaps (struct in_addr subnet, int prefix)
{
  arca_error_t err;
  _cleanup_nlsock_ struct nl_sock *sk = nl_open (NULL, &err);
  if (sk == NULL)
    return false;
  struct nl_cache *cache = NULL;
  if (rtnl_route_alloc_cache (sk, AF_INET, 0, &cache) < 0)
    return false;
  struct overlap_ctx o = { .net = ntohl (subnet.s_addr), .mask = prefix_mask (prefix) };
  nl_cache_foreach (cache, route_cb, &o);
  nl_cache_free (cache);
  return o.found;
}

char **
nl_bridge_ports (const char *bridge)
{
  char **out = xmalloc0 (sizeof *out);
  int bidx = (int) if_nametoindex (bridge);
  if (bidx == 0)
    return out;
  arca_error_t err;
  _cleanup_nlsock_ struct nl_sock *sk = nl_open (NULL, &err);
  if (sk == NULL)
    return out;
  struct nl_cache *cache = NULL;
  if (rtnl_link_alloc_cache (sk, AF_UNSPEC, &cache) < 0)
    return out;
  for (struct nl_object *o = nl_cache_get_first (cache); o; o = nl_cache_get_next (o))
    {
      struct rtnl_link *l = (struct rtnl_link *) o;
      if (rtnl_link_get_master (l) == bidx)
        out = strv_append (out, rtnl_link_get_name (l));
    }
  nl_cache_free (cache);
  return out;
}
