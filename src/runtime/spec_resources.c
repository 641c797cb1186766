/* linux.resources from typed Resources (moby daemon/daemon_unix.go
 * getMemoryResources, getCPUResources, getPidsLimit, getBlkioWeightDevices,
 * getBlkioThrottleDevices; daemon/update_linux.go toContainerdResources
 * for updates). */
#include "runtime/spec.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "util/cleanup.h"
#include "util/strutil.h"

static json_t *
memory_resources (const arca_resources_t *r, bool update)
{
  json_t *m = json_object ();
  if (r->memory > 0)
    json_object_set_new (m, "limit", json_integer (r->memory));
  if (r->memory_reservation > 0)
    json_object_set_new (m, "reservation", json_integer (r->memory_reservation));
  if (r->memory_swap > 0)
    json_object_set_new (m, "swap", json_integer (r->memory_swap));
  /* An update (toContainerdResources) changes limits only. */
  if (r->has_memory_swappiness && r->memory_swappiness >= 0 && !update)
    json_object_set_new (m, "swappiness", json_integer (r->memory_swappiness));
  if (r->has_oom_kill_disable && !update)
    json_object_set_new (m, "disableOOMKiller", json_boolean (r->oom_kill_disable));
  if (r->kernel_memory != 0)
    json_object_set_new (m, "kernel", json_integer (r->kernel_memory));
  if (r->kernel_memory_tcp != 0 && !update)
    json_object_set_new (m, "kernelTCP", json_integer (r->kernel_memory_tcp));
  return m;
}

static json_t *
cpu_resources (const arca_resources_t *r, bool update)
{
  json_t *c = json_object ();
  if (r->cpu_shares > 0)
    json_object_set_new (c, "shares", json_integer (r->cpu_shares));
  if (*r->cpuset_cpus)
    json_object_set_new (c, "cpus", json_string (r->cpuset_cpus));
  if (*r->cpuset_mems)
    json_object_set_new (c, "mems", json_string (r->cpuset_mems));
  if (r->nano_cpus > 0)
    {
      /* sched-bwc: a 100 ms period and the matching quota. */
      json_object_set_new (c, "period", json_integer (100000));
      json_object_set_new (c, "quota", json_integer (r->nano_cpus * 100000 / 1000000000LL));
    }
  if (r->cpu_period != 0)
    json_object_set_new (c, "period", json_integer (r->cpu_period));
  /* a negative quota is no limit, which a new cgroup has already: as for
   * the pids limit below, only an update sets it */
  if (r->cpu_quota > 0 || (update && r->cpu_quota < 0))
    json_object_set_new (c, "quota", json_integer (r->cpu_quota));
  if (r->cpu_rt_period != 0)
    json_object_set_new (c, "realtimePeriod", json_integer (r->cpu_rt_period));
  if (r->cpu_rt_runtime != 0)
    json_object_set_new (c, "realtimeRuntime", json_integer (r->cpu_rt_runtime));
  return c;
}

/* major/minor of a block device path; dockerd stat()s it the same way. */
static int
device_numbers (const char *path, json_t *entry, arca_error_t *err)
{
  struct stat st;
  if (stat (path, &st) < 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "stat %s: %s", path, arca_go_strerror (errno));
  json_object_set_new (entry, "major", json_integer (major (st.st_rdev)));
  json_object_set_new (entry, "minor", json_integer (minor (st.st_rdev)));
  return 0;
}

static int
throttle_list (const arca_throttle_device_t *d, size_t n, json_t **out, arca_error_t *err)
{
  _cleanup_json_ json_t *a = json_array ();
  for (size_t i = 0; i < n; i++)
    {
      json_t *e = json_pack ("{s:I}", "rate", (json_int_t) d[i].rate);
      json_array_append_new (a, e);
      if (device_numbers (d[i].path, e, err) < 0)
        return -1;
    }
  *out = arca_steal (a);
  return 0;
}

static int
blkio_resources (const arca_resources_t *r, json_t **out, arca_error_t *err)
{
  _cleanup_json_ json_t *b = json_object ();
  if (r->blkio_weight > 0)
    json_object_set_new (b, "weight", json_integer (r->blkio_weight));
  if (r->n_blkio_weight_device > 0)
    {
      json_t *a = json_array ();
      json_object_set_new (b, "weightDevice", a);
      for (size_t i = 0; i < r->n_blkio_weight_device; i++)
        {
          json_t *e = json_pack ("{s:i}", "weight", (int) r->blkio_weight_device[i].weight);
          json_array_append_new (a, e);
          if (device_numbers (r->blkio_weight_device[i].path, e, err) < 0)
            return -1;
        }
    }
  const struct
  {
    const char *key;
    const arca_throttle_device_t *d;
    size_t n;
  } lists[] = {
    { "throttleReadBpsDevice", r->blkio_read_bps, r->n_blkio_read_bps },
    { "throttleWriteBpsDevice", r->blkio_write_bps, r->n_blkio_write_bps },
    { "throttleReadIOPSDevice", r->blkio_read_iops, r->n_blkio_read_iops },
    { "throttleWriteIOPSDevice", r->blkio_write_iops, r->n_blkio_write_iops },
  };
  for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
    {
      if (lists[l].n == 0)
        continue;
      json_t *a = NULL;
      if (throttle_list (lists[l].d, lists[l].n, &a, err) < 0)
        return -1;
      json_object_set_new (b, lists[l].key, a);
    }
  *out = arca_steal (b);
  return 0;
}

int
spec_resources (const arca_resources_t *r, bool update, json_t **out, arca_error_t *err)
{
  _cleanup_json_ json_t *res = json_object ();
  json_t *m = memory_resources (r, update);
  if (json_object_size (m) > 0 || update)
    json_object_set_new (res, "memory", m);
  else
    json_decref (m);
  json_t *c = cpu_resources (r, update);
  if (json_object_size (c) > 0 || update)
    json_object_set_new (res, "cpu", c);
  else
    json_decref (c);
  /* getPidsLimit: 0 and negative mean unlimited, which runc wants as -1.
   * A new cgroup is unlimited already, so a create leaves it out: crun
   * (1.8) writes -1 to a v1 pids.max as an unsigned number, which the
   * kernel refuses. */
  if (r->has_pids_limit && (update || r->pids_limit > 0))
    json_object_set_new (res, "pids", json_pack ("{s:I}", "limit", (json_int_t) (r->pids_limit > 0 ? r->pids_limit : -1)));
  json_t *b = NULL;
  if (update)
    b = r->blkio_weight > 0 ? json_pack ("{s:i}", "weight", (int) r->blkio_weight) : json_object ();
  else if (blkio_resources (r, &b, err) < 0)
    return -1;
  if (json_object_size (b) > 0)
    json_object_set_new (res, "blockIO", b);
  else
    json_decref (b);
  *out = arca_steal (res);
  return 0;
}
