/* Isolation modes in the engine (see isolation.h). */
#include "engine/isolation.h"
#include "engine/internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/net.h"
#include "runtime/shim_client.h"
#include "runtime/vm.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"

int
isolation_open (arca_engine_t *e, arca_error_t *err)
{
  arca_vm_options_t defaults;
  vm_options_defaults (&defaults);
  const arca_vm_options_t *o = e->opts.vm ? e->opts.vm : &defaults;
  int r = vm_open (o, e->data_root, &e->vm, err);
  vm_options_free (&defaults);
  return r;
}

void
isolation_close (arca_engine_t *e)
{
  vm_close (e->vm);
  e->vm = NULL;
}

const char *
isolation_default (arca_engine_t *e)
{
  return e->opts.default_isolation && *e->opts.default_isolation ? e->opts.default_isolation : "process";
}

bool
container_is_vm (struct arca_container *c)
{
  const char *iso = c->opts ? c->opts->isolation : NULL;
  return iso && strcmp (iso, "vm") == 0;
}

static bool
mode_is (json_t *hc, const char *key, const char *what)
{
  const char *v = json_get_str (hc, key);
  if (v == NULL)
    return false;
  if (strcmp (what, "container:") == 0)
    return str_has_prefix (v, "container:");
  return strcmp (v, what) == 0;
}

/* Binds "src:dst:opts" and Mounts[].BindOptions.Propagation: a mount event
 * cannot travel between the guest's kernel and the host's. */
static const char *
shared_propagation (json_t *hc)
{
  static const char *const shared[] = { "shared", "rshared", "slave", "rslave", NULL };
  size_t i;
  json_t *v;
  json_array_foreach (json_object_get (hc, "Binds"), i, v)
  {
    const char *b = json_string_value (v);
    const char *last = b ? strrchr (b, ':') : NULL;
    if (last == NULL)
      continue;
    _cleanup_free_ char *opts = xstrdup (last + 1);
    char *save = NULL;
    for (char *o = strtok_r (opts, ",", &save); o; o = strtok_r (NULL, ",", &save))
      for (size_t k = 0; shared[k]; k++)
        if (strcmp (o, shared[k]) == 0)
          return shared[k];
  }
  json_array_foreach (json_object_get (hc, "Mounts"), i, v)
  {
    const char *p = json_get_str (json_object_get (v, "BindOptions"), "Propagation");
    for (size_t k = 0; p && shared[k]; k++)
      if (strcmp (p, shared[k]) == 0)
        return shared[k];
  }
  return NULL;
}

/* What a VM cannot do as asked; NULL if nothing. */
static char *
vm_conflict (json_t *hc)
{
  static const struct
  {
    const char *key, *value, *flag;
  } ns[] = {
    { "NetworkMode", "host", "--network host" },    { "NetworkMode", "container:", "--network container:" },
    { "PidMode", "host", "--pid host" },            { "PidMode", "container:", "--pid container:" },
    { "IpcMode", "host", "--ipc host" },            { "IpcMode", "container:", "--ipc container:" },
    { "IpcMode", "shareable", "--ipc shareable" },  { "CgroupnsMode", "host", "--cgroupns host" },
    { "UTSMode", "host", "--uts host" },            { "UsernsMode", "host", NULL },
  };
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
    if (ns[i].flag && mode_is (hc, ns[i].key, ns[i].value))
      return xasprintf ("isolation \"vm\" cannot be used with %s: a VM shares no namespace with the host or other "
                        "containers",
                        ns[i].flag);
  if (json_array_size (json_object_get (hc, "Devices")) > 0)
    return xstrdup ("isolation \"vm\" cannot be used with --device: host devices do not reach the guest");
  size_t i;
  json_t *v;
  json_array_foreach (json_object_get (hc, "SecurityOpt"), i, v)
  {
    const char *s = json_string_value (v);
    /* Unconfined asks for what the guest gives anyway. */
    if (s && (strcmp (s, "seccomp=unconfined") == 0 || strcmp (s, "seccomp:unconfined") == 0
              || strcmp (s, "apparmor=unconfined") == 0 || strcmp (s, "apparmor:unconfined") == 0))
      continue;
    if (s && (str_has_prefix (s, "seccomp") || str_has_prefix (s, "apparmor") || str_has_prefix (s, "label")))
      return xasprintf ("isolation \"vm\" cannot be used with --security-opt %s: the guest's kernel is the "
                        "container's boundary and applies no such profile",
                        s);
  }
  const char *prop = shared_propagation (hc);
  if (prop)
    return xasprintf ("isolation \"vm\" cannot be used with %s mount propagation: mounts do not propagate between "
                      "the guest and the host",
                      prop);
  return NULL;
}

/* --network/--pid/--ipc container:<x> where x runs in a VM: its process is
 * QEMU on the host, whose namespaces are not the container's. */
static int
check_joins (arca_engine_t *e, json_t *hc, arca_error_t *err)
{
  static const char *const keys[][2] = { { "NetworkMode", "network" }, { "PidMode", "pid" }, { "IpcMode", "ipc" } };
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    {
      const char *v = json_get_str (hc, keys[i][0]);
      if (v == NULL || !str_has_prefix (v, "container:"))
        continue;
      arca_container_t *o = NULL;
      arca_error_t ignored;
      if (container_lookup (e, v + strlen ("container:"), &o, &ignored) < 0)
        continue; /* the start looks it up again */
      pthread_mutex_lock (&e->lock);
      bool vm = container_is_vm (o);
      pthread_mutex_unlock (&e->lock);
      container_unref (o);
      if (vm)
        return arca_error_set (err, ARCA_ERR_INVALID,
                               "cannot join the %s namespace of container %s: it runs in a VM (isolation \"vm\")",
                               keys[i][1], v + strlen ("container:"));
    }
  return 0;
}

int
isolation_check_start (arca_engine_t *e, struct arca_container *c, arca_error_t *err)
{
  pthread_mutex_lock (&e->lock);
  _cleanup_json_ json_t *hc = container_host_config (c);
  pthread_mutex_unlock (&e->lock);
  return check_joins (e, hc, err);
}

int
isolation_validate_create (arca_engine_t *e, json_t *hc, arca_error_t *err)
{
  if (check_joins (e, hc, err) < 0)
    return -1;
  const char *iso = json_get_str (hc, "Isolation");
  if (iso == NULL || *iso == '\0' || strcmp (iso, "default") == 0)
    {
      if (strcmp (isolation_default (e), "vm") != 0)
        return 0;
      /* The default is a VM: record it, so the container stays one
       * whatever the daemon's default becomes (dockerd on Windows stores
       * its default isolation the same way). */
      json_object_set_new (hc, "Isolation", json_string ("vm"));
      iso = "vm";
    }
  /* options_check_isolation let only these through, in any case. */
  if (strcasecmp (iso, "vm") != 0)
    return 0;
  json_object_set_new (hc, "Isolation", json_string ("vm"));
  _cleanup_free_ char *conflict = vm_conflict (hc);
  if (conflict)
    return arca_error_set (err, ARCA_ERR_INVALID, "%s", conflict);
  return vm_check (e->vm, err);
}

int
isolation_vm_prepare (arca_engine_t *e, struct arca_container *c, const char *sdir, const char *netns,
                      char **vm_config, arca_error_t *err)
{
  _cleanup_json_ json_t *itfs = NULL;
  if (netns && net_vm_attach (e->net, c->id, netns, &itfs, err) < 0)
    return -1;
  pthread_mutex_lock (&e->lock);
  _cleanup_json_ json_t *hc = container_host_config (c);
  arca_vm_container_t vc = {
    .id = c->id,
    .state_dir = sdir,
    .netns = netns,
    .interfaces = itfs,
    .dns_relay = net_container_uses_internal_dns (e->net, c->id),
    .memory = json_get_int (hc, "Memory", 0),
    .nano_cpus = json_get_int (hc, "NanoCpus", 0),
    .cpu_quota = json_get_int (hc, "CpuQuota", 0),
    .cpu_period = json_get_int (hc, "CpuPeriod", 0),
  };
  pthread_mutex_unlock (&e->lock);
  return vm_container_write (e->vm, &vc, vm_config, err);
}

int
isolation_vm_top (arca_engine_t *e, struct arca_container *c, const char *ps_args, json_t **out, arca_error_t *err)
{
  if (ps_args && *ps_args && strcmp (ps_args, "-ef") != 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL,
                           "ps options \"%s\" are not supported for a VM container: its processes are listed by the "
                           "guest as ps -ef does",
                           ps_args);
  _cleanup_free_ char *sdir = container_state_dir (e, c->id);
  _cleanup_json_ json_t *req = json_pack ("{s:s}", "op", "top");
  json_t *reply = NULL;
  if (shim_request (sdir, req, &reply, err) < 0)
    return arca_error_set (err, ARCA_ERR_CONFLICT, "container %s is not running", c->id);
  json_object_del (reply, "ok");
  *out = reply;
  return 0;
}

int
isolation_vm_pause (arca_engine_t *e, struct arca_container *c, bool pause, arca_error_t *err)
{
  _cleanup_free_ char *sdir = container_state_dir (e, c->id);
  _cleanup_json_ json_t *req = json_pack ("{s:s}", "op", pause ? "pause" : "resume");
  _cleanup_json_ json_t *reply = NULL;
  return shim_request (sdir, req, &reply, err);
}

char *
isolation_security_option (arca_engine_t *e)
{
  _cleanup_json_ json_t *info = vm_info (e->vm);
  if (!json_get_bool (info, "available", false))
    return NULL;
  const char *kernel = json_get_str (info, "kernel");
  return xasprintf ("name=vm,accelerator=%s%s%s", json_get_str (info, "accelerator"), kernel ? ",kernel=" : "",
                    kernel ? kernel : "");
}

int
isolation_vm_network_change (const char *id, arca_error_t *err)
{
  return arca_error_set (err, ARCA_ERR_CONFLICT,
                         "container %s runs in a VM whose network devices are fixed while it runs: stop it to "
                         "connect or disconnect networks",
                         id);
}

const char *
arca_engine_default_isolation (arca_engine_t *e)
{
  return isolation_default (e);
}

char *
arca_engine_vm_security_option (arca_engine_t *e)
{
  return isolation_security_option (e);
}
