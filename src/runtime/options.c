/* Typed container options from the canonical Config/HostConfig JSON
 * (runtime/options.h).  The JSON was type-checked by options_decode_*, so
 * getters here only pick values; what a field's value means is checked
 * here (modes, security options) with dockerd's texts. */
#include "runtime/options.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"

static char *
dup_str (json_t *obj, const char *key)
{
  const char *s = json_get_str (obj, key);
  return xstrdup (s ? s : "");
}

static void
weight_devices (json_t *a, arca_weight_device_t **out, size_t *n)
{
  *n = 0;
  *out = NULL;
  if (json_array_size (a) == 0)
    return;
  *out = xmalloc0 (json_array_size (a) * sizeof **out);
  size_t i;
  json_t *v;
  json_array_foreach (a, i, v)
    {
      if (!json_is_object (v))
        continue;
      (*out)[*n].path = dup_str (v, "Path");
      (*out)[*n].weight = (uint16_t) json_get_int (v, "Weight", 0);
      (*n)++;
    }
}

static void
throttle_devices (json_t *a, arca_throttle_device_t **out, size_t *n)
{
  *n = 0;
  *out = NULL;
  if (json_array_size (a) == 0)
    return;
  *out = xmalloc0 (json_array_size (a) * sizeof **out);
  size_t i;
  json_t *v;
  json_array_foreach (a, i, v)
    {
      if (!json_is_object (v))
        continue;
      (*out)[*n].path = dup_str (v, "Path");
      (*out)[*n].rate = (uint64_t) json_get_int (v, "Rate", 0);
      (*n)++;
    }
}

int
options_parse_resources (json_t *o, arca_resources_t *r, arca_error_t *err)
{
  memset (r, 0, sizeof *r);
  r->cpu_shares = json_get_int (o, "CpuShares", 0);
  r->memory = json_get_int (o, "Memory", 0);
  r->nano_cpus = json_get_int (o, "NanoCpus", 0);
  r->cgroup_parent = dup_str (o, "CgroupParent");
  r->blkio_weight = (uint16_t) json_get_int (o, "BlkioWeight", 0);
  weight_devices (json_object_get (o, "BlkioWeightDevice"), &r->blkio_weight_device, &r->n_blkio_weight_device);
  throttle_devices (json_object_get (o, "BlkioDeviceReadBps"), &r->blkio_read_bps, &r->n_blkio_read_bps);
  throttle_devices (json_object_get (o, "BlkioDeviceWriteBps"), &r->blkio_write_bps, &r->n_blkio_write_bps);
  throttle_devices (json_object_get (o, "BlkioDeviceReadIOps"), &r->blkio_read_iops, &r->n_blkio_read_iops);
  throttle_devices (json_object_get (o, "BlkioDeviceWriteIOps"), &r->blkio_write_iops, &r->n_blkio_write_iops);
  r->cpu_period = json_get_int (o, "CpuPeriod", 0);
  r->cpu_quota = json_get_int (o, "CpuQuota", 0);
  r->cpu_rt_period = json_get_int (o, "CpuRealtimePeriod", 0);
  r->cpu_rt_runtime = json_get_int (o, "CpuRealtimeRuntime", 0);
  r->cpuset_cpus = dup_str (o, "CpusetCpus");
  r->cpuset_mems = dup_str (o, "CpusetMems");
  json_t *devs = json_object_get (o, "Devices");
  if (json_array_size (devs) > 0)
    {
      r->devices = xmalloc0 (json_array_size (devs) * sizeof *r->devices);
      size_t i;
      json_t *v;
      json_array_foreach (devs, i, v)
        {
          r->devices[r->n_devices].path_on_host = dup_str (v, "PathOnHost");
          r->devices[r->n_devices].path_in_container = dup_str (v, "PathInContainer");
          r->devices[r->n_devices].cgroup_permissions = dup_str (v, "CgroupPermissions");
          r->n_devices++;
        }
    }
  r->device_cgroup_rules = json_get_strv (o, "DeviceCgroupRules");
  r->device_requests = json_incref (json_object_get (o, "DeviceRequests"));
  r->n_device_requests = json_array_size (r->device_requests);
  r->kernel_memory = json_get_int (o, "KernelMemory", 0);
  r->kernel_memory_tcp = json_get_int (o, "KernelMemoryTCP", 0);
  r->memory_reservation = json_get_int (o, "MemoryReservation", 0);
  r->memory_swap = json_get_int (o, "MemorySwap", 0);
  json_t *v;
  if (json_is_integer (v = json_object_get (o, "MemorySwappiness")))
    {
      r->has_memory_swappiness = true;
      r->memory_swappiness = json_integer_value (v);
    }
  if (json_is_boolean (v = json_object_get (o, "OomKillDisable")))
    {
      r->has_oom_kill_disable = true;
      r->oom_kill_disable = json_is_true (v);
    }
  if (json_is_integer (v = json_object_get (o, "PidsLimit")))
    {
      r->has_pids_limit = true;
      r->pids_limit = json_integer_value (v);
    }
  json_t *ul = json_object_get (o, "Ulimits");
  if (json_array_size (ul) > 0)
    {
      r->ulimits = xmalloc0 (json_array_size (ul) * sizeof *r->ulimits);
      size_t i;
      json_array_foreach (ul, i, v)
        {
          if (!json_is_object (v))
            continue;
          r->ulimits[r->n_ulimits].name = dup_str (v, "Name");
          r->ulimits[r->n_ulimits].soft = json_get_int (v, "Soft", 0);
          r->ulimits[r->n_ulimits].hard = json_get_int (v, "Hard", 0);
          r->n_ulimits++;
        }
    }
  r->cpu_count = json_get_int (o, "CpuCount", 0);
  r->cpu_percent = json_get_int (o, "CpuPercent", 0);
  r->io_maximum_iops = (uint64_t) json_get_int (o, "IOMaximumIOps", 0);
  r->io_maximum_bandwidth = (uint64_t) json_get_int (o, "IOMaximumBandwidth", 0);
  (void) err;
  return 0;
}

void
options_resources_clear (arca_resources_t *r)
{
  free (r->cgroup_parent);
  for (size_t i = 0; i < r->n_blkio_weight_device; i++)
    free (r->blkio_weight_device[i].path);
  free (r->blkio_weight_device);
  arca_throttle_device_t *lists[] = { r->blkio_read_bps, r->blkio_write_bps, r->blkio_read_iops, r->blkio_write_iops };
  size_t counts[] = { r->n_blkio_read_bps, r->n_blkio_write_bps, r->n_blkio_read_iops, r->n_blkio_write_iops };
  for (size_t l = 0; l < 4; l++)
    {
      for (size_t i = 0; i < counts[l]; i++)
        free (lists[l][i].path);
      free (lists[l]);
    }
  free (r->cpuset_cpus);
  free (r->cpuset_mems);
  for (size_t i = 0; i < r->n_devices; i++)
    {
      free (r->devices[i].path_on_host);
      free (r->devices[i].path_in_container);
      free (r->devices[i].cgroup_permissions);
    }
  free (r->devices);
  strv_free (r->device_cgroup_rules);
  json_decref (r->device_requests);
  for (size_t i = 0; i < r->n_ulimits; i++)
    free (r->ulimits[i].name);
  free (r->ulimits);
  memset (r, 0, sizeof *r);
}

/* A namespace mode string (moby container/hostconfig.go IpcMode.Valid,
 * PidMode.Valid, UTSMode.Valid, CgroupnsMode.Valid, UsernsMode.Valid):
 * allowed lists the plain words the field takes besides "" and
 * "container:<x>" (when containers is true).  "" -> dflt. */
static int
parse_ns_mode (const char *v, const char *const *allowed, bool containers, arca_ns_mode_t dflt,
               arca_ns_option_t *out, const char *what, arca_error_t *err)
{
  memset (out, 0, sizeof *out);
  out->mode = dflt;
  if (v == NULL || *v == '\0')
    return 0;
  if (containers && str_has_prefix (v, "container:"))
    {
      const char *ref = v + strlen ("container:");
      if (*ref == '\0')
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid %s: %s", what, v);
      out->mode = NS_MODE_CONTAINER;
      out->container = xstrdup (ref);
      return 0;
    }
  for (size_t i = 0; allowed[i]; i++)
    if (strcmp (v, allowed[i]) == 0)
      {
        if (strcmp (v, "host") == 0)
          out->mode = NS_MODE_HOST;
        else if (strcmp (v, "shareable") == 0)
          out->mode = NS_MODE_SHAREABLE;
        else if (strcmp (v, "none") == 0)
          out->mode = NS_MODE_NONE;
        else
          out->mode = NS_MODE_PRIVATE;
        return 0;
      }
  return arca_error_set (err, ARCA_ERR_INVALID, "invalid %s: %s", what, v);
}

static bool
parse_bool_go (const char *s, bool *out)
{
  /* Go strconv.ParseBool */
  static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True", NULL };
  static const char *const f[] = { "0", "f", "F", "FALSE", "false", "False", NULL };
  for (size_t i = 0; t[i]; i++)
    if (strcmp (s, t[i]) == 0)
      return (*out = true);
  for (size_t i = 0; f[i]; i++)
    if (strcmp (s, f[i]) == 0)
      {
        *out = false;
        return true;
      }
  return false;
}

/* moby daemon/daemon_unix.go parseSecurityOpt; label options are accepted
 * and have no effect on a host without SELinux, as label.InitLabels there. */
static int
parse_security_opt (char **opts, arca_security_options_t *s, arca_error_t *err)
{
  for (size_t i = 0; opts && opts[i]; i++)
    {
      const char *opt = opts[i];
      if (strcmp (opt, "no-new-privileges") == 0)
        {
          s->no_new_privileges = true;
          continue;
        }
      if (strcmp (opt, "writable-cgroups") == 0)
        {
          s->has_writable_cgroups = s->writable_cgroups = true;
          continue;
        }
      if (strcmp (opt, "disable") == 0)
        {
          s->label_disable = true;
          continue;
        }
      const char *sep = strchr (opt, '=');
      if (sep == NULL)
        sep = strchr (opt, ':');
      if (sep == NULL)
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid --security-opt 1: \"%s\"", opt);
      _cleanup_free_ char *k = xasprintf ("%.*s", (int) (sep - opt), opt);
      const char *v = sep + 1;
      bool b;
      if (strcmp (k, "label") == 0)
        s->label_disable = s->label_disable || strcmp (v, "disable") == 0;
      else if (strcmp (k, "apparmor") == 0)
        {
          free (s->apparmor_profile);
          s->apparmor_profile = xstrdup (v);
        }
      else if (strcmp (k, "seccomp") == 0)
        {
          free (s->seccomp_profile);
          s->seccomp_profile = NULL;
          s->seccomp_unconfined = strcmp (v, "unconfined") == 0;
          if (!s->seccomp_unconfined)
            s->seccomp_profile = xstrdup (v);
        }
      else if (strcmp (k, "no-new-privileges") == 0)
        {
          if (!parse_bool_go (v, &b))
            return arca_error_set (err, ARCA_ERR_INVALID, "invalid --security-opt 2: \"%s\"", opt);
          s->no_new_privileges = b;
        }
      else if (strcmp (k, "writable-cgroups") == 0)
        {
          if (!parse_bool_go (v, &b))
            return arca_error_set (err, ARCA_ERR_INVALID, "invalid --security-opt 2: \"%s\"", opt);
          s->has_writable_cgroups = true;
          s->writable_cgroups = b;
        }
      else
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid --security-opt 2: \"%s\"", opt);
    }
  return 0;
}

static void
security_clear (arca_security_options_t *s)
{
  free (s->seccomp_profile);
  free (s->apparmor_profile);
}

static int
parse_modes (json_t *hc, arca_container_options_t *o, arca_error_t *err)
{
  static const char *const ipc[] = { "private", "shareable", "host", "none", NULL };
  static const char *const pid[] = { "host", NULL };
  static const char *const uts[] = { "host", NULL };
  static const char *const cgroupns[] = { "host", "private", NULL };
  static const char *const userns[] = { "host", NULL };
  /* moby verifyPlatformContainerSettings texts */
  if (parse_ns_mode (json_get_str (hc, "IpcMode"), ipc, true, NS_MODE_PRIVATE, &o->ipc, "IPC mode", err) < 0
      || parse_ns_mode (json_get_str (hc, "PidMode"), pid, true, NS_MODE_PRIVATE, &o->pid, "PID mode", err) < 0
      || parse_ns_mode (json_get_str (hc, "UTSMode"), uts, false, NS_MODE_PRIVATE, &o->uts, "UTS mode", err) < 0
      || parse_ns_mode (json_get_str (hc, "CgroupnsMode"), cgroupns, false, NS_MODE_HOST, &o->cgroupns,
                        "cgroup namespace mode", err)
             < 0)
    return -1;
  /* UsernsMode: dockerd does not check it; without userns-remap every
   * value but "host" is the (absent) private user namespace. */
  const char *un = json_get_str (hc, "UsernsMode");
  parse_ns_mode (un && strcmp (un, "host") == 0 ? un : NULL, userns, false, NS_MODE_PRIVATE, &o->userns, "", err);
  if (o->cgroupns.mode == NS_MODE_HOST && json_get_str (hc, "CgroupnsMode")
      && strcmp (json_get_str (hc, "CgroupnsMode"), "private") == 0)
    o->cgroupns.mode = NS_MODE_PRIVATE;
  return 0;
}

int
options_parse (json_t *cfg, json_t *hc, arca_container_options_t **out, arca_error_t *err)
{
  arca_container_options_t *o = xmalloc0 (sizeof *o);
  o->hostname = dup_str (cfg, "Hostname");
  o->domainname = dup_str (cfg, "Domainname");
  o->user = dup_str (cfg, "User");
  o->tty = json_get_bool (cfg, "Tty", false);
  o->open_stdin = json_get_bool (cfg, "OpenStdin", false);
  o->stdin_once = json_get_bool (cfg, "StdinOnce", false);
  o->env = json_get_strv (cfg, "Env");
  o->working_dir = dup_str (cfg, "WorkingDir");
  o->stop_signal = dup_str (cfg, "StopSignal");
  json_t *st = json_object_get (cfg, "StopTimeout");
  if (json_is_integer (st))
    {
      o->has_stop_timeout = true;
      o->stop_timeout = (int) json_integer_value (st);
    }

  o->privileged = json_get_bool (hc, "Privileged", false);
  o->read_only = json_get_bool (hc, "ReadonlyRootfs", false);
  o->auto_remove = json_get_bool (hc, "AutoRemove", false);
  o->init = json_get_bool (hc, "Init", false);
  o->publish_all_ports = json_get_bool (hc, "PublishAllPorts", false);
  o->cap_add = json_get_strv (hc, "CapAdd");
  o->cap_drop = json_get_strv (hc, "CapDrop");
  o->group_add = json_get_strv (hc, "GroupAdd");
  o->security_opt = json_get_strv (hc, "SecurityOpt");
  json_t *cs = json_object_get (hc, "ConsoleSize");
  o->console_height = (unsigned) json_integer_value (json_array_get (cs, 0));
  o->console_width = (unsigned) json_integer_value (json_array_get (cs, 1));
  o->shm_size = json_get_int (hc, "ShmSize", 0);
  o->oom_score_adj = (int) json_get_int (hc, "OomScoreAdj", 0);
  o->sysctls = json_incref (json_object_get (hc, "Sysctls"));
  o->storage_opt = json_incref (json_object_get (hc, "StorageOpt"));
  o->annotations = json_incref (json_object_get (hc, "Annotations"));
  json_t *lc = json_object_get (hc, "LogConfig");
  o->log_type = dup_str (lc, "Type");
  o->log_config = json_incref (json_object_get (lc, "Config"));
  o->runtime = dup_str (hc, "Runtime");
  o->isolation = dup_str (hc, "Isolation");
  o->network_mode = dup_str (hc, "NetworkMode");
  json_t *mp = json_object_get (hc, "MaskedPaths"), *rp = json_object_get (hc, "ReadonlyPaths");
  o->has_masked_paths = json_is_array (mp);
  o->masked_paths = json_get_strv (hc, "MaskedPaths");
  o->has_readonly_paths = json_is_array (rp);
  o->readonly_paths = json_get_strv (hc, "ReadonlyPaths");

  if (parse_modes (hc, o, err) < 0 || parse_security_opt (o->security_opt, &o->security, err) < 0
      || options_parse_resources (hc, &o->resources, err) < 0)
    {
      options_free (o);
      return -1;
    }
  *out = o;
  return 0;
}

static void
ns_clear (arca_ns_option_t *n)
{
  free (n->container);
}

void
options_free (arca_container_options_t *o)
{
  if (o == NULL)
    return;
  free (o->hostname);
  free (o->domainname);
  free (o->user);
  strv_free (o->env);
  free (o->working_dir);
  free (o->stop_signal);
  strv_free (o->cap_add);
  strv_free (o->cap_drop);
  strv_free (o->group_add);
  strv_free (o->security_opt);
  security_clear (&o->security);
  free (o->log_type);
  json_decref (o->sysctls);
  json_decref (o->storage_opt);
  json_decref (o->annotations);
  json_decref (o->log_config);
  free (o->runtime);
  free (o->isolation);
  free (o->network_mode);
  ns_clear (&o->ipc);
  ns_clear (&o->pid);
  ns_clear (&o->uts);
  ns_clear (&o->cgroupns);
  ns_clear (&o->userns);
  strv_free (o->masked_paths);
  strv_free (o->readonly_paths);
  options_resources_clear (&o->resources);
  free (o);
}
