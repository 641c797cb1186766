/* dockerd's checks of a container's options at create and update (moby
 * runconfig/hostconfig_unix.go, daemon/daemon_unix.go
 * verifyPlatformContainerSettings and verifyPlatformContainerResources),
 * with the host's capabilities probed as moby pkg/sysinfo does. */
#include "runtime/options.h"

#include <linux/magic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strutil.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define LINUX_MIN_MEMORY (6 * 1024 * 1024) /* moby daemon/daemon_unix.go linuxMinMemory */

/* ---- sysinfo ---- */

static bool
file_exists (const char *dir, const char *name)
{
  _cleanup_free_ char *p = xasprintf ("%s/%s", dir, name);
  return access (p, F_OK) == 0;
}

static void
read_line (const char *path, char *buf, size_t len)
{
  buf[0] = '\0';
  _cleanup_free_ char *s = NULL;
  if (fs_read_file (path, &s, NULL, NULL) < 0)
    return;
  s[strcspn (s, "\n")] = '\0';
  snprintf (buf, len, "%s", s);
}

/* cgroup v1 (and hybrid): one hierarchy per controller under /sys/fs/cgroup. */
static void
probe_v1 (arca_sysinfo_t *si, const char *root)
{
  _cleanup_free_ char *mem = xasprintf ("%s/memory", root);
  if (access (mem, F_OK) == 0)
    {
      si->memory_limit = true;
      si->swap_limit = file_exists (mem, "memory.memsw.limit_in_bytes");
      si->memory_reservation = file_exists (mem, "memory.soft_limit_in_bytes");
      si->oom_kill_disable = file_exists (mem, "memory.oom_control");
      si->memory_swappiness = file_exists (mem, "memory.swappiness");
      si->kernel_memory = file_exists (mem, "memory.kmem.limit_in_bytes");
    }
  _cleanup_free_ char *cpu = xasprintf ("%s/cpu", root);
  if (access (cpu, F_OK) == 0)
    {
      si->cpu_shares = file_exists (cpu, "cpu.shares");
      si->cpu_cfs = file_exists (cpu, "cpu.cfs_quota_us");
      si->cpu_realtime = file_exists (cpu, "cpu.rt_period_us");
    }
  _cleanup_free_ char *blkio = xasprintf ("%s/blkio", root);
  if (access (blkio, F_OK) == 0)
    {
      si->blkio_weight = file_exists (blkio, "blkio.weight");
      si->blkio_weight_device = file_exists (blkio, "blkio.weight_device");
      si->blkio_read_bps = file_exists (blkio, "blkio.throttle.read_bps_device");
      si->blkio_write_bps = file_exists (blkio, "blkio.throttle.write_bps_device");
      si->blkio_read_iops = file_exists (blkio, "blkio.throttle.read_iops_device");
      si->blkio_write_iops = file_exists (blkio, "blkio.throttle.write_iops_device");
    }
  _cleanup_free_ char *cpuset = xasprintf ("%s/cpuset", root);
  if (access (cpuset, F_OK) == 0)
    {
      si->cpuset = true;
      _cleanup_free_ char *c = xasprintf ("%s/cpuset.cpus", cpuset);
      _cleanup_free_ char *m = xasprintf ("%s/cpuset.mems", cpuset);
      read_line (c, si->cpus, sizeof si->cpus);
      read_line (m, si->mems, sizeof si->mems);
    }
  _cleanup_free_ char *pids = xasprintf ("%s/pids", root);
  si->pids_limit = access (pids, F_OK) == 0;
}

/* cgroup v2 (moby pkg/sysinfo/cgroup2_linux.go): what the root's
 * cgroup.controllers offers. */
static void
probe_v2 (arca_sysinfo_t *si, const char *root)
{
  char controllers[1024];
  _cleanup_free_ char *p = xasprintf ("%s/cgroup.controllers", root);
  read_line (p, controllers, sizeof controllers);
  char *save = NULL;
  for (char *c = strtok_r (controllers, " ", &save); c; c = strtok_r (NULL, " ", &save))
    {
      if (strcmp (c, "memory") == 0)
        si->memory_limit = si->swap_limit = si->memory_reservation = true;
      else if (strcmp (c, "cpu") == 0)
        si->cpu_shares = si->cpu_cfs = true;
      else if (strcmp (c, "io") == 0)
        si->blkio_weight = si->blkio_weight_device = si->blkio_read_bps = si->blkio_write_bps = si->blkio_read_iops
            = si->blkio_write_iops = true;
      else if (strcmp (c, "pids") == 0)
        si->pids_limit = true;
      else if (strcmp (c, "cpuset") == 0)
        {
          si->cpuset = true;
          _cleanup_free_ char *cp = xasprintf ("%s/cpuset.cpus.effective", root);
          _cleanup_free_ char *mp = xasprintf ("%s/cpuset.mems.effective", root);
          read_line (cp, si->cpus, sizeof si->cpus);
          read_line (mp, si->mems, sizeof si->mems);
        }
    }
}

void options_sysinfo_probe (arca_sysinfo_t *si, const char *cgroup_root, bool v2);

/* Exposed for the unit tests: probe a cgroup tree laid out at cgroup_root. */
void
options_sysinfo_probe (arca_sysinfo_t *si, const char *cgroup_root, bool v2)
{
  memset (si, 0, sizeof *si);
  si->cgroup_v2 = v2;
  if (v2)
    probe_v2 (si, cgroup_root);
  else
    probe_v1 (si, cgroup_root);
  si->cgroup_namespaces = access ("/proc/self/ns/cgroup", F_OK) == 0;
  si->seccomp = prctl (PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
  long n = sysconf (_SC_NPROCESSORS_ONLN);
  si->ncpu = n > 0 ? (int) n : 1;
  if (si->cpus[0] == '\0')
    snprintf (si->cpus, sizeof si->cpus, "0-%d", si->ncpu - 1);
  if (si->mems[0] == '\0')
    snprintf (si->mems, sizeof si->mems, "0");
}

static arca_sysinfo_t sysinfo;
static pthread_once_t sysinfo_once = PTHREAD_ONCE_INIT;

static void
sysinfo_init (void)
{
  struct statfs s;
  bool v2 = statfs ("/sys/fs/cgroup", &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC;
  options_sysinfo_probe (&sysinfo, "/sys/fs/cgroup", v2);
}

const arca_sysinfo_t *
options_sysinfo (void)
{
  pthread_once (&sysinfo_once, sysinfo_init);
  return &sysinfo;
}

/* ---- cpuset lists ---- */

/* Parse a cpuset list ("0-3,5") into a bitmap of max bits; -1 if invalid
 * (moby pkg/parsers ParseUintList). */
static int
parse_list (const char *s, unsigned char *bits, size_t max)
{
  memset (bits, 0, max / 8 + 1);
  if (s == NULL || *s == '\0')
    return 0;
  _cleanup_free_ char *copy = xstrdup (s);
  char *save = NULL;
  for (char *r = strtok_r (copy, ",", &save); r; r = strtok_r (NULL, ",", &save))
    {
      char *end;
      unsigned long lo = strtoul (r, &end, 10);
      unsigned long hi = lo;
      if (end == r)
        return -1;
      if (*end == '-')
        {
          char *p = end + 1;
          hi = strtoul (p, &end, 10);
          if (end == p || hi < lo)
            return -1;
        }
      if (*end != '\0')
        return -1;
      for (unsigned long i = lo; i <= hi; i++)
        if (i < max)
          bits[i / 8] |= (unsigned char) (1u << (i % 8));
        else
          return -2;
    }
  return 0;
}

/* moby SysInfo.IsCpusetCpusAvailable: every requested CPU is available. */
static int
cpuset_available (const char *requested, const char *available, bool *ok)
{
  enum { MAX = 8192 };
  unsigned char req[MAX / 8 + 1], av[MAX / 8 + 1];
  int r = parse_list (requested, req, MAX);
  *ok = true;
  if (r == -1)
    return -1;
  if (r == -2)
    {
      *ok = false;
      return 0;
    }
  parse_list (available, av, MAX);
  for (size_t i = 0; i < sizeof req; i++)
    if (req[i] & ~av[i])
      *ok = false;
  return 0;
}

/* ---- resources ---- */

static void
warn (json_t *warnings, const char *text)
{
  if (warnings)
    json_array_append_new (warnings, json_string (text));
}

static int
verify_memory (arca_resources_t *r, const arca_sysinfo_t *si, bool update, json_t *w, arca_error_t *err)
{
  if (r->memory != 0 && r->memory < LINUX_MIN_MEMORY)
    return arca_error_set (err, ARCA_ERR_INVALID, "Minimum memory limit allowed is 6MB");
  if (r->memory > 0 && !si->memory_limit)
    {
      warn (w, "Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation "
               "discarded.");
      r->memory = 0;
      r->memory_swap = -1;
    }
  if (r->memory > 0 && r->memory_swap != -1 && !si->swap_limit)
    {
      warn (w, "Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited "
               "without swap.");
      r->memory_swap = -1;
    }
  if (r->memory > 0 && r->memory_swap > 0 && r->memory_swap < r->memory)
    return arca_error_set (err, ARCA_ERR_INVALID, "Minimum memoryswap limit should be larger than memory limit, see usage");
  if (r->memory == 0 && r->memory_swap > 0 && !update)
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "You should always set the Memory limit when using Memoryswap limit, see usage");
  if (r->has_memory_swappiness && !si->memory_swappiness)
    {
      warn (w, "Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory "
               "swappiness discarded.");
      r->has_memory_swappiness = false;
    }
  if (r->has_memory_swappiness && (r->memory_swappiness < 0 || r->memory_swappiness > 100))
    return arca_error_set (err, ARCA_ERR_INVALID, "Invalid value: %lld, valid memory swappiness range is 0-100",
                           (long long) r->memory_swappiness);
  if (r->memory_reservation > 0 && !si->memory_reservation)
    {
      warn (w, "Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation "
               "discarded.");
      r->memory_reservation = 0;
    }
  if (r->memory_reservation > 0 && r->memory_reservation < LINUX_MIN_MEMORY)
    return arca_error_set (err, ARCA_ERR_INVALID, "Minimum memory reservation allowed is 6MB");
  if (r->memory > 0 && r->memory_reservation > 0 && r->memory < r->memory_reservation)
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "Minimum memory limit can not be less than memory reservation limit, see usage");
  if (r->kernel_memory > 0)
    {
      if (!si->kernel_memory)
        {
          warn (w, "Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. "
                   "Limitation discarded.");
          r->kernel_memory = 0;
        }
      if (r->kernel_memory > 0 && r->kernel_memory < LINUX_MIN_MEMORY)
        return arca_error_set (err, ARCA_ERR_INVALID, "Minimum kernel memory limit allowed is 6MB");
    }
  if (r->has_oom_kill_disable && !si->oom_kill_disable)
    {
      if (r->oom_kill_disable)
        warn (w, "Your kernel does not support OomKillDisable. OomKillDisable discarded.");
      r->has_oom_kill_disable = false;
    }
  if (r->has_oom_kill_disable && r->oom_kill_disable && r->memory == 0)
    warn (w, "OOM killer is disabled for the container, but no memory limit is set, this can result in the system "
             "running out of resources.");
  if (r->has_pids_limit && !si->pids_limit)
    {
      if (r->pids_limit > 0)
        warn (w, "Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit "
                 "discarded.");
      r->has_pids_limit = false;
    }
  return 0;
}

static int
verify_cpu (arca_resources_t *r, const arca_sysinfo_t *si, json_t *w, arca_error_t *err)
{
  if (r->nano_cpus > 0 && r->cpu_period > 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "Conflicting options: Nano CPUs and CPU Period cannot both be set");
  if (r->nano_cpus > 0 && r->cpu_quota > 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  if (r->nano_cpus > 0 && !si->cpu_cfs)
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup "
                           "is not mounted");
  if (r->nano_cpus != 0 && (r->nano_cpus < 0 || r->nano_cpus > (int64_t) si->ncpu * 1000000000LL))
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", si->ncpu,
                           si->ncpu);
  if (r->cpu_shares > 0 && !si->cpu_shares)
    {
      warn (w, "Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.");
      r->cpu_shares = 0;
    }
  if ((r->cpu_period != 0 || r->cpu_quota != 0) && !si->cpu_cfs)
    {
      warn (w, "Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.");
      r->cpu_period = r->cpu_quota = 0;
    }
  if (r->cpu_period != 0 && (r->cpu_period < 1000 || r->cpu_period > 1000000))
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
  if (r->cpu_quota > 0 && r->cpu_quota < 1000)
    return arca_error_set (err, ARCA_ERR_INVALID, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
  if (r->cpu_percent > 0)
    {
      warn (w, "linux does not support CPU percent. Percent discarded.");
      r->cpu_percent = 0;
    }
  return 0;
}

static int
verify_cpuset (arca_resources_t *r, const arca_sysinfo_t *si, json_t *w, arca_error_t *err)
{
  if ((*r->cpuset_cpus || *r->cpuset_mems) && !si->cpuset)
    {
      warn (w, "Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.");
      r->cpuset_cpus[0] = r->cpuset_mems[0] = '\0';
    }
  bool ok;
  if (cpuset_available (r->cpuset_cpus, si->cpus, &ok) < 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "Invalid value %s for cpuset cpus: invalid format: %s",
                           r->cpuset_cpus, r->cpuset_cpus);
  if (!ok)
    return arca_error_set (err, ARCA_ERR_INVALID, "Requested CPUs are not available - requested %s, available: %s",
                           r->cpuset_cpus, si->cpus);
  if (cpuset_available (r->cpuset_mems, si->mems, &ok) < 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "Invalid value %s for cpuset mems: invalid format: %s",
                           r->cpuset_mems, r->cpuset_mems);
  if (!ok)
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "Requested memory nodes are not available - requested %s, available: %s", r->cpuset_mems,
                           si->mems);
  return 0;
}

static void
discard_throttle (arca_throttle_device_t **list, size_t *n)
{
  for (size_t i = 0; i < *n; i++)
    free ((*list)[i].path);
  free (*list);
  *list = NULL;
  *n = 0;
}

static int
verify_blkio (arca_resources_t *r, const arca_sysinfo_t *si, json_t *w, arca_error_t *err)
{
  if (r->blkio_weight > 0 && !si->blkio_weight)
    {
      warn (w, "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.");
      r->blkio_weight = 0;
    }
  if (r->blkio_weight > 0 && (r->blkio_weight < 10 || r->blkio_weight > 1000))
    return arca_error_set (err, ARCA_ERR_INVALID, "Range of blkio weight is from 10 to 1000");
  if (r->io_maximum_bandwidth != 0 || r->io_maximum_iops != 0)
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps");
  if (r->n_blkio_weight_device > 0 && !si->blkio_weight_device)
    {
      warn (w, "Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device "
               "discarded.");
      for (size_t i = 0; i < r->n_blkio_weight_device; i++)
        free (r->blkio_weight_device[i].path);
      free (r->blkio_weight_device);
      r->blkio_weight_device = NULL;
      r->n_blkio_weight_device = 0;
    }
  if (r->n_blkio_read_bps > 0 && !si->blkio_read_bps)
    {
      warn (w, "Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. Block I/O BPS "
               "read limit discarded.");
      discard_throttle (&r->blkio_read_bps, &r->n_blkio_read_bps);
    }
  if (r->n_blkio_write_bps > 0 && !si->blkio_write_bps)
    {
      warn (w, "Your kernel does not support BPS Block I/O write limit or the cgroup is not mounted. Block I/O BPS "
               "write limit discarded.");
      discard_throttle (&r->blkio_write_bps, &r->n_blkio_write_bps);
    }
  if (r->n_blkio_read_iops > 0 && !si->blkio_read_iops)
    {
      warn (w, "Your kernel does not support IOPS Block read limit or the cgroup is not mounted. Block I/O IOPS read "
               "limit discarded.");
      discard_throttle (&r->blkio_read_iops, &r->n_blkio_read_iops);
    }
  if (r->n_blkio_write_iops > 0 && !si->blkio_write_iops)
    {
      warn (w, "Your kernel does not support IOPS Block write limit or the cgroup is not mounted. Block I/O IOPS "
               "write limit discarded.");
      discard_throttle (&r->blkio_write_iops, &r->n_blkio_write_iops);
    }
  return 0;
}

int
options_verify_resources (arca_resources_t *r, const arca_sysinfo_t *si, bool update, json_t *warnings,
                          arca_error_t *err)
{
  /* fixMemorySwappiness: -1 means unset (old clients send it). */
  if (r->has_memory_swappiness && r->memory_swappiness == -1)
    r->has_memory_swappiness = false;
  if (verify_memory (r, si, update, warnings, err) < 0 || verify_cpu (r, si, warnings, err) < 0
      || verify_cpuset (r, si, warnings, err) < 0 || verify_blkio (r, si, warnings, err) < 0)
    return -1;
  return 0;
}

void
options_resources_store (const arca_resources_t *r, json_t *o)
{
  const struct
  {
    const char *key;
    int64_t v;
  } ints[] = {
    { "Memory", r->memory },         { "MemorySwap", r->memory_swap }, { "MemoryReservation", r->memory_reservation },
    { "KernelMemory", r->kernel_memory }, { "CpuShares", r->cpu_shares }, { "CpuPeriod", r->cpu_period },
    { "CpuQuota", r->cpu_quota },    { "CpuPercent", r->cpu_percent }, { "BlkioWeight", r->blkio_weight },
  };
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
    if (json_object_get (o, ints[i].key) || ints[i].v != 0)
      json_object_set_new (o, ints[i].key, json_integer (ints[i].v));
  if (json_object_get (o, "CpusetCpus"))
    json_object_set_new (o, "CpusetCpus", json_string (r->cpuset_cpus));
  if (json_object_get (o, "CpusetMems"))
    json_object_set_new (o, "CpusetMems", json_string (r->cpuset_mems));
  if (json_object_get (o, "MemorySwappiness"))
    json_object_set_new (o, "MemorySwappiness",
                         r->has_memory_swappiness ? json_integer (r->memory_swappiness) : json_null ());
  if (json_object_get (o, "OomKillDisable"))
    json_object_set_new (o, "OomKillDisable", r->has_oom_kill_disable ? json_boolean (r->oom_kill_disable) : json_null ());
  if (json_object_get (o, "PidsLimit"))
    json_object_set_new (o, "PidsLimit", r->has_pids_limit ? json_integer (r->pids_limit) : json_null ());
  /* Device lists discarded with a warning are stored empty. */
  const struct
  {
    const char *key;
    size_t n;
  } lists[] = { { "BlkioWeightDevice", r->n_blkio_weight_device }, { "BlkioDeviceReadBps", r->n_blkio_read_bps },
                { "BlkioDeviceWriteBps", r->n_blkio_write_bps }, { "BlkioDeviceReadIOps", r->n_blkio_read_iops },
                { "BlkioDeviceWriteIOps", r->n_blkio_write_iops } };
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
    if (lists[i].n == 0 && json_array_size (json_object_get (o, lists[i].key)) > 0)
      json_object_set_new (o, lists[i].key, json_array ());
}

/* ---- settings ---- */

int
options_check_isolation (const char *isolation, arca_error_t *err)
{
  if (isolation == NULL || *isolation == '\0' || strcasecmp (isolation, "default") == 0)
    return 0;
  /* Arca's modes on Linux (engine/isolation.h): namespaces and VMs. */
  if (strcasecmp (isolation, "process") == 0 || strcasecmp (isolation, "vm") == 0)
    return 0;
  return arca_error_set (err, ARCA_ERR_INVALID, "invalid isolation (%s): linux supports 'default', 'process' and 'vm'",
                         isolation);
}

/* runconfig validateResources */
static int
validate_rt (arca_resources_t *r, const arca_sysinfo_t *si, arca_error_t *err)
{
  if ((r->cpu_rt_period != 0 || r->cpu_rt_runtime != 0) && !si->cpu_realtime)
    return arca_error_set (err, ARCA_ERR_INVALID, "kernel does not support CPU real-time scheduler");
  if (r->cpu_rt_period != 0 && r->cpu_rt_runtime != 0 && r->cpu_rt_runtime > r->cpu_rt_period)
    return arca_error_set (err, ARCA_ERR_INVALID, "cpu real-time runtime cannot be higher than cpu real-time period");
  if (si->cpu_shares && r->cpu_shares < 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid CPU shares (%lld): value must be a positive integer",
                           (long long) r->cpu_shares);
  return 0;
}

int
options_verify (arca_container_options_t *o, const arca_sysinfo_t *si, bool update, json_t *warnings,
                arca_error_t *err)
{
  /* runconfig decode-time checks, in its order */
  if (!update)
    {
      /* validateNetMode's UTS conflict needs the request's own Hostname:
       * the engine checks it (engine/options.c). */
      if (options_check_isolation (o->isolation, err) < 0)
        return -1;
      if (o->resources.io_maximum_bandwidth != 0)
        return arca_error_set (err, ARCA_ERR_INVALID,
                               "invalid option: QoS maximum bandwidth configuration is not supported on linux");
      if (o->resources.io_maximum_iops != 0)
        return arca_error_set (err, ARCA_ERR_INVALID,
                               "invalid option: QoS maximum IOPs configuration is not supported on linux");
      if (validate_rt (&o->resources, si, err) < 0)
        return -1;
    }
  /* verifyPlatformContainerSettings */
  if (options_verify_resources (&o->resources, si, update, warnings, err) < 0)
    return -1;
  if (o->shm_size < 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "SHM size can not be less than 0");
  if (o->oom_score_adj < -1000 || o->oom_score_adj > 1000)
    return arca_error_set (err, ARCA_ERR_INVALID, "Invalid value %d, range for oom score adj is [-1000, 1000]",
                           o->oom_score_adj);
  if (o->cgroupns.mode == NS_MODE_PRIVATE && !si->cgroup_namespaces)
    warn (warnings, "Your kernel does not support cgroup namespaces.  Cgroup namespace setting discarded.");
  return 0;
}
