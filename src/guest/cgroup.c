/* The container's cgroup inside the guest (cgroup v2): the limits of the
 * spec's linux.resources, as runc's fs2 driver writes them, so that a
 * memory or pids limit acts inside the VM exactly as on the host; the VM's
 * own size comes from the same HostConfig on the host side. */
#include "guest/guest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "util/cleanup.h"
#include "util/json.h"

static int
set_value (const char *file, const char *value, char **err_msg)
{
  _cleanup_free_ char *path = xasprintf ("%s/%s", GUEST_CGROUP, file);
  if (write_file (path, value) < 0)
    {
      *err_msg = xasprintf ("cgroup %s=%s: %s", file, value, strerror (errno));
      return -1;
    }
  return 0;
}

static int
set_int (const char *file, int64_t v, char **err_msg)
{
  char buf[32];
  if (v < 0)
    snprintf (buf, sizeof buf, "max");
  else
    snprintf (buf, sizeof buf, "%" PRId64, v);
  return set_value (file, buf, err_msg);
}

/* runc libcontainer/cgroups ConvertCPUSharesToCgroupV2Value. */
static uint64_t
shares_to_weight (uint64_t shares)
{
  if (shares == 0)
    return 0;
  return 1 + ((shares - 2) * 9999) / 262142;
}

static int
apply (json_t *res, char **err_msg)
{
  json_t *mem = json_object_get (res, "memory");
  json_t *limit = json_object_get (mem, "limit");
  if (json_is_integer (limit) && json_integer_value (limit) != 0)
    {
      int64_t l = json_integer_value (limit);
      if (set_int ("memory.max", l, err_msg) < 0)
        return -1;
      /* OCI swap is memory+swap; v2 swap.max is the swap alone. */
      json_t *swap = json_object_get (mem, "swap");
      if (json_is_integer (swap) && json_integer_value (swap) != 0)
        {
          int64_t s = json_integer_value (swap);
          set_int ("memory.swap.max", s < 0 ? -1 : (s > l ? s - l : 0), err_msg);
        }
    }
  json_t *resv = json_object_get (mem, "reservation");
  if (json_is_integer (resv) && json_integer_value (resv) > 0
      && set_int ("memory.low", json_integer_value (resv), err_msg) < 0)
    return -1;
  json_t *cpu = json_object_get (res, "cpu");
  json_int_t quota = json_integer_value (json_object_get (cpu, "quota"));
  json_int_t period = json_integer_value (json_object_get (cpu, "period"));
  if (quota != 0 || period != 0)
    {
      char buf[64];
      if (period == 0)
        period = 100000;
      if (quota > 0)
        snprintf (buf, sizeof buf, "%lld %lld", (long long) quota, (long long) period);
      else
        snprintf (buf, sizeof buf, "max %lld", (long long) period);
      if (set_value ("cpu.max", buf, err_msg) < 0)
        return -1;
    }
  json_int_t shares = json_integer_value (json_object_get (cpu, "shares"));
  if (shares > 0 && set_int ("cpu.weight", (int64_t) shares_to_weight ((uint64_t) shares), err_msg) < 0)
    return -1;
  json_t *pids = json_object_get (json_object_get (res, "pids"), "limit");
  if (json_is_integer (pids) && json_integer_value (pids) != 0
      && set_int ("pids.max", json_integer_value (pids) < 0 ? -1 : json_integer_value (pids), err_msg) < 0)
    return -1;
  return 0;
}

int
guest_cgroup_setup (json_t *resources, char **err_msg)
{
  mkdir ("/sys/fs/cgroup", 0755);
  if (mount ("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 && errno != EBUSY)
    {
      *err_msg = xasprintf ("mount cgroup2: %s", strerror (errno));
      return -1;
    }
  if (mkdir (GUEST_CGROUP, 0755) < 0 && errno != EEXIST)
    {
      *err_msg = xasprintf ("mkdir %s: %s", GUEST_CGROUP, strerror (errno));
      return -1;
    }
  /* Controllers the kernel has; a missing one is only a missing limit. */
  static const char *const ctl[] = { "+cpu", "+memory", "+pids", "+io", NULL };
  for (size_t i = 0; ctl[i]; i++)
    if (write_file ("/sys/fs/cgroup/cgroup.subtree_control", ctl[i]) < 0)
      guest_log ("cgroup controller %s: %s", ctl[i] + 1, strerror (errno));
  return apply (resources, err_msg);
}

bool
guest_cgroup_oom_killed (void)
{
  _cleanup_fclose_ FILE *f = fopen (GUEST_CGROUP "/memory.events", "re");
  char line[128];
  while (f && fgets (line, sizeof line, f))
    {
      unsigned long long n;
      if (sscanf (line, "oom_kill %llu", &n) == 1)
        return n > 0;
    }
  return false;
}
