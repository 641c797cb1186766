/* CONFIG: make the guest the container's machine (clock, hostname,
 * sysctls, network, cgroup limits, the root and its mounts). */
#include "guest/guest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/json.h"

static void
set_clock (json_t *cfg)
{
  json_int_t ns = json_integer_value (json_object_get (cfg, "time_ns"));
  if (ns <= 0)
    return;
  struct timespec t = { .tv_sec = (time_t) (ns / 1000000000LL), .tv_nsec = (long) (ns % 1000000000LL) };
  if (clock_settime (CLOCK_REALTIME, &t) < 0)
    guest_log ("clock_settime: %s", strerror (errno));
}

/* linux.sysctl: the guest is the container's kernel, so every key applies
 * (kernel.domainname carries the Domainname, as dockerd does). */
static int
apply_sysctls (json_t *spec, char **err_msg)
{
  json_t *sysctls = json_object_get (json_object_get (spec, "linux"), "sysctl");
  const char *key;
  json_t *v;
  json_object_foreach (sysctls, key, v)
  {
    if (!json_is_string (v) || strstr (key, "..") || strchr (key, '/'))
      continue;
    _cleanup_free_ char *path = xasprintf ("/proc/sys/%s", key);
    for (char *c = path + strlen ("/proc/sys/"); *c; c++)
      if (*c == '.')
        *c = '/';
    if (write_file (path, json_string_value (v)) < 0)
      {
        *err_msg = xasprintf ("sysctl %s: %s", key, strerror (errno));
        return -1;
      }
  }
  return 0;
}

int
guest_configure (guest_t *g, json_t *cfg, char **err_msg)
{
  json_t *spec = json_object_get (cfg, "spec");
  if (!json_is_object (spec) || !json_is_object (json_object_get (spec, "process")))
    {
      *err_msg = xstrdup ("CONFIG without an OCI spec");
      return -1;
    }
  set_clock (cfg);
  const char *hostname = json_get_str (spec, "hostname");
  if (hostname && sethostname (hostname, strlen (hostname)) < 0)
    {
      *err_msg = xasprintf ("sethostname: %s", strerror (errno));
      return -1;
    }
  if (apply_sysctls (spec, err_msg) < 0)
    return -1;
  if (net_configure (json_object_get (cfg, "interfaces"), err_msg) < 0)
    return -1;
  if (guest_cgroup_setup (json_object_get (json_object_get (spec, "linux"), "resources"), err_msg) < 0)
    return -1;
  if (mounts_prepare (spec, err_msg) < 0)
    return -1;
  if (json_get_bool (cfg, "dns_relay", false) && dns_relay_start (g, err_msg) < 0)
    return -1;
  g->spec = json_incref (spec);
  return 0;
}
