/* The guest's network interfaces: each virtio-net device the host gave the
 * VM carries the MAC of one of the container's endpoints; it gets that
 * endpoint's name (eth0, eth1..), MTU, IPv4 address and, for the first
 * network, the default route: what runc's container would have in its
 * netns; the same for IPv6 when the endpoint has an IPv6 address.  Plain
 * ioctls (SIOCSIFADDR/SIOCADDRT on an AF_INET6 socket take in6_ifreq and
 * in6_rtmsg): no netlink code in the agent. */
#include "guest/guest.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <linux/ipv6.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/json.h"

static int
sock (void)
{
  return socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

static int
if_set_flags (int s, const char *name, short set)
{
  struct ifreq ifr = { 0 };
  snprintf (ifr.ifr_name, IFNAMSIZ, "%s", name);
  if (ioctl (s, SIOCGIFFLAGS, &ifr) < 0)
    return -1;
  ifr.ifr_flags |= set;
  return ioctl (s, SIOCSIFFLAGS, &ifr);
}

int
net_lo_up (void)
{
  _cleanup_close_ int s = sock ();
  return s < 0 ? -1 : if_set_flags (s, "lo", IFF_UP);
}

/* The interface whose MAC is mac ("02:42:ac:11:00:02"). */
static int
find_by_mac (const char *mac, char *name, size_t size)
{
  return sysfs_find ("/sys/class/net", "address", mac, name, size);
}

static void
sin_set (struct sockaddr *sa, struct in_addr a)
{
  struct sockaddr_in *sin = (struct sockaddr_in *) sa;
  memset (sin, 0, sizeof *sin);
  sin->sin_family = AF_INET;
  sin->sin_addr = a;
}

/* IPv6 of one interface: DAD off first (as libnetwork's IFA_F_NODAD: the
 * address is usable at once), the address, and the default route. */
static int
configure_v6 (const char *ifname, json_t *itf, char **err_msg)
{
  const char *addr6 = json_get_str (itf, "addr6");
  struct in6_addr a6;
  if (addr6 == NULL || inet_pton (AF_INET6, addr6, &a6) != 1)
    return 0;
  /* the kernel skips DAD only when both "all" and the device say so */
  const char *confs[] = { "all", ifname };
  for (size_t i = 0; i < 2; i++)
    {
      char path[128];
      snprintf (path, sizeof path, "/proc/sys/net/ipv6/conf/%s/accept_dad", confs[i]);
      _cleanup_fclose_ FILE *f = fopen (path, "we");
      if (f == NULL || fputs ("0", f) < 0)
        guest_log ("%s: %s", path, strerror (errno));
    }
  _cleanup_close_ int s6 = socket (AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int ifindex = (int) if_nametoindex (ifname);
  if (s6 < 0 || ifindex == 0)
    {
      *err_msg = xasprintf ("IPv6 on %s: %s", ifname, strerror (errno));
      return -1;
    }
  struct in6_ifreq r = { .ifr6_addr = a6, .ifr6_prefixlen = (uint32_t) json_get_int (itf, "prefix6", 64),
                         .ifr6_ifindex = ifindex };
  if (ioctl (s6, SIOCSIFADDR, &r) < 0 && errno != EEXIST)
    {
      *err_msg = xasprintf ("address %s on %s: %s", addr6, ifname, strerror (errno));
      return -1;
    }
  const char *gw6 = json_get_str (itf, "gateway6");
  struct in6_addr g6;
  if (json_get_bool (itf, "default_route", false) && gw6 && inet_pton (AF_INET6, gw6, &g6) == 1)
    {
      struct in6_rtmsg rt = { .rtmsg_gateway = g6, .rtmsg_flags = RTF_UP | RTF_GATEWAY, .rtmsg_metric = 1024,
                              .rtmsg_ifindex = ifindex };
      if (ioctl (s6, SIOCADDRT, &rt) < 0 && errno != EEXIST)
        {
          *err_msg = xasprintf ("default route via %s: %s", gw6, strerror (errno));
          return -1;
        }
    }
  return 0;
}

static int
configure_one (int s, json_t *itf, char **err_msg)
{
  const char *mac = json_get_str (itf, "mac");
  const char *want = json_get_str (itf, "ifname");
  const char *addr = json_get_str (itf, "addr");
  int prefix = (int) json_get_int (itf, "prefix", 0);
  int mtu = (int) json_get_int (itf, "mtu", 0);
  if (mac == NULL || want == NULL || strlen (want) >= IFNAMSIZ)
    {
      *err_msg = xstrdup ("interface without mac or name");
      return -1;
    }
  /* The device may still be probing. */
  char name[IFNAMSIZ] = "";
  for (int tries = 0; tries < 300 && find_by_mac (mac, name, sizeof name) < 0; tries++)
    usleep (10000);
  if (name[0] == '\0')
    {
      *err_msg = xasprintf ("no network device with MAC %s", mac);
      return -1;
    }
  struct ifreq ifr = { 0 };
  if (strcmp (name, want) != 0)
    {
      snprintf (ifr.ifr_name, IFNAMSIZ, "%s", name);
      snprintf (ifr.ifr_newname, IFNAMSIZ, "%s", want);
      if (ioctl (s, SIOCSIFNAME, &ifr) < 0)
        {
          *err_msg = xasprintf ("rename %s to %s: %s", name, want, strerror (errno));
          return -1;
        }
    }
  memset (&ifr, 0, sizeof ifr);
  snprintf (ifr.ifr_name, IFNAMSIZ, "%s", want);
  if (mtu > 0)
    {
      ifr.ifr_mtu = mtu;
      if (ioctl (s, SIOCSIFMTU, &ifr) < 0)
        guest_log ("mtu %d on %s: %s", mtu, want, strerror (errno));
    }
  struct in_addr a, mask = { .s_addr = prefix > 0 ? htonl (~0U << (32 - prefix)) : 0 };
  if (addr && inet_pton (AF_INET, addr, &a) == 1)
    {
      sin_set (&ifr.ifr_addr, a);
      if (ioctl (s, SIOCSIFADDR, &ifr) < 0)
        {
          *err_msg = xasprintf ("address %s on %s: %s", addr, want, strerror (errno));
          return -1;
        }
      sin_set (&ifr.ifr_netmask, mask);
      if (ioctl (s, SIOCSIFNETMASK, &ifr) < 0)
        {
          *err_msg = xasprintf ("netmask /%d on %s: %s", prefix, want, strerror (errno));
          return -1;
        }
    }
  if (if_set_flags (s, want, IFF_UP) < 0)
    {
      *err_msg = xasprintf ("set %s up: %s", want, strerror (errno));
      return -1;
    }
  const char *gw = json_get_str (itf, "gateway");
  struct in_addr g;
  if (json_get_bool (itf, "default_route", false) && gw && inet_pton (AF_INET, gw, &g) == 1)
    {
      struct rtentry rt = { 0 };
      struct in_addr any = { 0 };
      sin_set (&rt.rt_dst, any);
      sin_set (&rt.rt_genmask, any);
      sin_set (&rt.rt_gateway, g);
      rt.rt_flags = RTF_UP | RTF_GATEWAY;
      rt.rt_dev = (char *) want;
      if (ioctl (s, SIOCADDRT, &rt) < 0 && errno != EEXIST)
        {
          *err_msg = xasprintf ("default route via %s: %s", gw, strerror (errno));
          return -1;
        }
    }
  return configure_v6 (want, itf, err_msg);
}

int
net_configure (json_t *interfaces, char **err_msg)
{
  if (json_array_size (interfaces) == 0)
    return 0;
  _cleanup_close_ int s = sock ();
  if (s < 0)
    {
      *err_msg = xasprintf ("socket: %s", strerror (errno));
      return -1;
    }
  /* Free the names first: a device probed as eth0 may have to become eth1. */
  size_t i;
  json_t *itf;
  json_array_foreach (interfaces, i, itf)
  {
    char name[IFNAMSIZ];
    const char *mac = json_get_str (itf, "mac");
    if (mac && find_by_mac (mac, name, sizeof name) == 0)
      {
        struct ifreq ifr = { 0 };
        snprintf (ifr.ifr_name, IFNAMSIZ, "%s", name);
        snprintf (ifr.ifr_newname, IFNAMSIZ, "arca%u", (unsigned) (i % 1000));
        ioctl (s, SIOCSIFNAME, &ifr);
      }
  }
  json_array_foreach (interfaces, i, itf)
    if (configure_one (s, itf, err_msg) < 0)
      return -1;
  return 0;
}
