/* Container inspect and list in dockerd's response shapes (spec
 * ContainerInspectResponse, ContainerSummary; moby daemon/inspect.go,
 * daemon/list.go, container/state.go String). */
#include "engine/internal.h"
#include "engine/links.h"
#include "engine/health.h"
#include "engine/mounts.h"
#include "engine/networks.h"
#include "net/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/filters.h"
#include "util/json.h"
#include "util/jsonw.h"
#include "util/strutil.h"
#include "util/timeutil.h"

static const char *const masked_paths[]
    = { "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
        "/sys/devices/virtual/powercap", NULL };
static const char *const readonly_paths[]
    = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL };

static void
set_default (json_t *obj, const char *key, json_t *value)
{
  if (json_object_get (obj, key) == NULL)
    json_object_set_new (obj, key, value);
  else
    json_decref (value);
}

static json_t *
strs (const char *const *v)
{
  json_t *a = json_array ();
  for (int i = 0; v[i]; i++)
    json_array_append_new (a, json_string (v[i]));
  return a;
}

/* HostConfig as dockerd reports it: the stored one with its defaults. */
static json_t *
host_config_view (arca_engine_t *e, arca_container_t *c)
{
  json_t *hc = container_host_config (c);
  bool priv = json_get_bool (hc, "Privileged", false);
  set_default (hc, "Binds", json_null ());
  set_default (hc, "ContainerIDFile", json_string (""));
  set_default (hc, "PortBindings", json_object ());
  set_default (hc, "VolumeDriver", json_string (""));
  set_default (hc, "VolumesFrom", json_null ());
  set_default (hc, "ConsoleSize", json_pack ("[i,i]", 0, 0));
  set_default (hc, "CapAdd", json_null ());
  set_default (hc, "CapDrop", json_null ());
  set_default (hc, "CgroupnsMode", json_string ("host"));
  set_default (hc, "Dns", json_array ());
  set_default (hc, "DnsOptions", json_array ());
  set_default (hc, "DnsSearch", json_array ());
  set_default (hc, "ExtraHosts", json_null ());
  set_default (hc, "GroupAdd", json_null ());
  set_default (hc, "IpcMode", json_string ("private"));
  set_default (hc, "Cgroup", json_string (""));
  json_object_set_new (hc, "Links", links_inspect_view (c->name, json_object_get (hc, "Links"))); /* links */
  set_default (hc, "OomScoreAdj", json_integer (0));
  set_default (hc, "PidMode", json_string (""));
  set_default (hc, "Privileged", json_false ());
  set_default (hc, "PublishAllPorts", json_false ());
  set_default (hc, "ReadonlyRootfs", json_false ());
  set_default (hc, "SecurityOpt", json_null ());
  set_default (hc, "UTSMode", json_string (""));
  set_default (hc, "UsernsMode", json_string (""));
  set_default (hc, "ShmSize", json_integer (67108864));
  set_default (hc, "Runtime", json_string (e->runtime_name));
  set_default (hc, "Isolation", json_string (""));
  const char *const zero_ints[] = { "CpuShares", "Memory", "NanoCpus", "BlkioWeight", "CpuPeriod", "CpuQuota",
                                    "CpuRealtimePeriod", "CpuRealtimeRuntime", "KernelMemory",
                                    "KernelMemoryTCP", "MemoryReservation", "MemorySwap", "CpuCount",
                                    "CpuPercent", "IOMaximumIOps", "IOMaximumBandwidth", NULL };
  for (int i = 0; zero_ints[i]; i++)
    set_default (hc, zero_ints[i], json_integer (0));
  set_default (hc, "CgroupParent", json_string (""));
  set_default (hc, "CpusetCpus", json_string (""));
  set_default (hc, "CpusetMems", json_string (""));
  const char *const null_fields[] = { "BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps",
                                      "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "Devices",
                                      "DeviceCgroupRules", "DeviceRequests", "MemorySwappiness",
                                      "OomKillDisable", "PidsLimit", "Ulimits", NULL };
  for (int i = 0; null_fields[i]; i++)
    set_default (hc, null_fields[i], json_null ());
  set_default (hc, "MaskedPaths", priv ? json_null () : strs (masked_paths));
  set_default (hc, "ReadonlyPaths", priv ? json_null () : strs (readonly_paths));
  return hc;
}

int
container_inspect_json (arca_engine_t *e, arca_container_t *c, bool size, json_t **out, arca_error_t *err)
{
  (void) size;
  (void) err;
  char created[48], started[48], finished[48];
  _cleanup_free_ char *dir = container_dir (e, c->id);
  _cleanup_free_ char *json_log_path = container_log_path (e, c->id);
  pthread_mutex_lock (&e->lock);
  /* dockerd shows LogPath only for json-file (container.StartLogger). */
  const char *log_type = c->opts && *c->opts->log_type ? c->opts->log_type : "json-file";
  const char *log_path = strcmp (log_type, "json-file") == 0 ? json_log_path : "";
  time_format_rfc3339nano (c->created_ns, created, sizeof created);
  time_format_rfc3339nano (c->started_ns, started, sizeof started);
  time_format_rfc3339nano (c->finished_ns, finished, sizeof finished);
  json_t *state = json_pack ("{s:s,s:b,s:b,s:b,s:b,s:b,s:I,s:i,s:s,s:s,s:s}", "Status",
                             container_state_string (c), "Running", c->running, "Paused", c->paused,
                             "Restarting", c->restarting, "OOMKilled", c->oom_killed, "Dead", c->dead, "Pid",
                             (json_int_t) (c->running ? c->pid : 0), "ExitCode", c->exit_code, "Error",
                             c->error ? c->error : "", "StartedAt", started, "FinishedAt", finished);
  json_t *health = health_view_locked (c); /* healthchecks: State.Health */
  if (health)
    json_object_set_new (state, "Health", health);
  _cleanup_free_ char *name = xasprintf ("/%s", c->name);
  _cleanup_free_ char *resolv = xasprintf ("%s/resolv.conf", dir);
  _cleanup_free_ char *hostname = xasprintf ("%s/hostname", dir);
  _cleanup_free_ char *hosts = xasprintf ("%s/hosts", dir);
  _cleanup_free_ char *upper = xasprintf ("%s/upper", dir);
  _cleanup_free_ char *work = xasprintf ("%s/work", dir);
  _cleanup_free_ char *merged = xasprintf ("%s/rootfs", dir);
  json_t *graph = json_pack ("{s:{s:s,s:s,s:s},s:s}", "Data", "MergedDir", merged, "UpperDir", upper, "WorkDir",
                             work, "Name", "overlay2");
  json_t *o = json_pack ("{s:s,s:s,s:s,s:o,s:o,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:n}", "Id", c->id,
                         "Created", created, "Path", c->path, "Args", json_from_strv (c->args), "State", state,
                         "Image", c->image_id, "ResolvConfPath", resolv, "HostnamePath", hostname, "HostsPath",
                         hosts, "LogPath", log_path, "Name", name, "RestartCount", c->restart_count, "Driver",
                         "overlay2", "Platform", "linux", "MountLabel", "", "ProcessLabel", "", "AppArmorProfile",
                         "", "ExecIDs");
  json_object_set_new (o, "HostConfig", host_config_view (e, c));
  json_object_set_new (o, "GraphDriver", graph);
  json_object_set_new (o, "Mounts", mounts_view (c->mounts)); /* engine/mounts.c */
  json_object_set_new (o, "Config", container_config (c));
  json_object_set_new (o, "NetworkSettings", networks_settings_view (e, c)); /* engine/networks.c */
  json_object_set_new (o, "ExecIDs", exec_ids_locked (e, c));
  pthread_mutex_unlock (&e->lock);
  *out = o;
  return 0;
}

/* moby container/state.go String, into buf. */
static void
status_text (arca_container_t *c, int64_t now, char *buf, size_t len)
{
  char d[64];
  if (c->running)
    {
      time_human_duration (now - c->started_ns, d, sizeof d);
      if (c->paused)
        snprintf (buf, len, "Up %s (Paused)", d);
      else if (c->restarting)
        {
          time_human_duration (now - c->finished_ns, d, sizeof d);
          snprintf (buf, len, "Restarting (%d) %s ago", c->exit_code, d);
        }
      else
        {
          /* healthchecks (moby container/health.go String) */
          const char *health = health_status_locked (c);
          if (strcmp (health, "none") != 0)
            snprintf (buf, len, "Up %s (%s%s)", d, strcmp (health, "starting") == 0 ? "health: " : "", health);
          else
            snprintf (buf, len, "Up %s", d);
        }
      return;
    }
  if (c->removing)
    snprintf (buf, len, "Removal In Progress");
  else if (c->dead)
    snprintf (buf, len, "Dead");
  else if (c->started_ns == 0)
    snprintf (buf, len, "Created");
  else if (c->finished_ns == 0)
    snprintf (buf, len, "%s", "");
  else
    {
      time_human_duration (now - c->finished_ns, d, sizeof d);
      snprintf (buf, len, "Exited (%d) %s ago", c->exit_code, d);
    }
}

/* moby daemon/list.go: Path and Args joined by spaces, an argument with a
 * space in single quotes; appended to b. */
static void
command_text (arca_container_t *c, arca_buf_t *b)
{
  if (c->path)
    jw_raw (b, c->path);
  for (size_t i = 0; c->args && c->args[i]; i++)
    {
      bool quote = strchr (c->args[i], ' ') != NULL;
      jw_raw (b, quote ? " '" : " ");
      jw_raw (b, c->args[i]);
      if (quote)
        jw_lit (b, "'");
    }
}

static bool
any_matches (char **values, bool (*pred) (arca_container_t *, const char *, void *), arca_container_t *c, void *ctx)
{
  if (values == NULL)
    return true;
  for (size_t i = 0; values[i]; i++)
    if (pred (c, values[i], ctx))
      return true;
  return false;
}

static bool
match_id (arca_container_t *c, const char *v, void *ctx)
{
  (void) ctx;
  return strncmp (c->id, v, strlen (v)) == 0;
}

static bool
match_name (arca_container_t *c, const char *v, void *ctx)
{
  (void) ctx;
  /* moby list.go: a regular expression against "/name" or "name" */
  _cleanup_free_ char *slashed = xasprintf ("/%s", c->name);
  return filters_regex_match (v, slashed) || filters_regex_match (v, c->name);
}

static bool
match_status (arca_container_t *c, const char *v, void *ctx)
{
  (void) ctx;
  return strcmp (container_state_string (c), v) == 0;
}

static bool
match_exited (arca_container_t *c, const char *v, void *ctx)
{
  (void) ctx;
  return !c->running && c->started_ns != 0 && atoi (v) == c->exit_code;
}

/* ancestor=<image>: the values and the image each resolves to, looked up
 * once per list rather than once per container. */
typedef struct
{
  char **values;
  char **resolved; /* image ID of values[i], or NULL */
} ancestors_t;

static void
ancestors_resolve (arca_engine_t *e, char **values, ancestors_t *out)
{
  size_t n = 0;
  while (values && values[n])
    n++;
  out->values = values;
  out->resolved = xmalloc0 ((n + 1) * sizeof *out->resolved);
  for (size_t i = 0; i < n; i++)
    {
      arca_image_t *img = NULL;
      arca_error_t err;
      if (image_resolve (e->images, values[i], &img, &err) == 0)
        {
          out->resolved[i] = xstrdup (img->id);
          image_free (img);
        }
    }
}

static void
ancestors_clear (ancestors_t *a)
{
  for (size_t i = 0; a->values && a->values[i]; i++)
    free (a->resolved[i]);
  free (a->resolved);
}

static bool
match_ancestor (arca_container_t *c, const char *v, void *ctx)
{
  ancestors_t *a = ctx;
  const char *img = c->config_image;
  if (img && strcmp (img, v) == 0)
    return true;
  size_t i = 0;
  while (a->values[i] != v)
    i++;
  return a->resolved[i] && c->image_id && strcmp (a->resolved[i], c->image_id) == 0;
}

/* volume=<name|source|destination> (moby daemon/list.go). */
static bool
match_volume (arca_container_t *c, const char *v, void *ctx)
{
  arca_engine_t *e = ctx;
  bool match = false;
  pthread_mutex_lock (&e->lock);
  size_t i;
  json_t *m;
  json_array_foreach (c->mounts, i, m)
    {
      const char *name = json_get_str (m, "Name");
      const char *key = name && *name ? name : json_get_str (m, "Source");
      if ((key && strcmp (key, v) == 0) || strcmp (json_get_str (m, "Destination"), v) == 0)
        match = true;
    }
  pthread_mutex_unlock (&e->lock);
  return match;
}

/* health=<starting|healthy|unhealthy|none> (moby daemon/list.go). */
static bool
match_health (arca_container_t *c, const char *v, void *ctx)
{
  arca_engine_t *e = ctx;
  pthread_mutex_lock (&e->lock);
  bool match = strcmp (health_status_locked (c), v) == 0;
  pthread_mutex_unlock (&e->lock);
  return match;
}

static int
cmp_created_desc (const void *a, const void *b)
{
  const arca_container_t *x = *(arca_container_t *const *) a, *y = *(arca_container_t *const *) b;
  return x->created_ns < y->created_ns ? 1 : x->created_ns > y->created_ns ? -1 : 0;
}

/* One ContainerSummary (moby api/types Container, daemon/list.go
 * refreshImage/transformContainer) of c into b, the keys in the order the
 * API has always shown them.  Caller holds e->lock; tmp is scratch. */
static void
summary_write (arca_container_t *c, int64_t now, json_t *link_names, const net_list_view_t *nv, arca_buf_t *tmp,
               arca_buf_t *b)
{
  jw_lit (b, "{\"Id\":");
  jw_str (b, c->id);
  jw_lit (b, ",\"Names\":[");
  tmp->len = 0;
  jw_lit (tmp, "/");
  jw_raw (tmp, c->name);
  jw_strn (b, tmp->data, tmp->len);
  json_t *linked_as = json_object_get (link_names, c->name); /* links: "/parent/alias" */
  size_t i;
  json_t *alias;
  json_array_foreach (linked_as, i, alias)
  {
    jw_lit (b, ",");
    jw_json (b, alias);
  }
  jw_lit (b, "],\"Image\":");
  jw_str (b, c->config_image);
  jw_lit (b, ",\"ImageID\":");
  jw_str (b, c->image_id);
  jw_lit (b, ",\"Command\":");
  tmp->len = 0;
  command_text (c, tmp);
  jw_strn (b, tmp->data ? tmp->data : "", tmp->len);
  jw_lit (b, ",\"Created\":");
  jw_int (b, c->created_ns / 1000000000LL);
  /* networking: Ports (n2's summary) */
  jw_lit (b, ",\"Ports\":");
  if (json_is_object (c->net_ports))
    {
      json_t *ports = portmap_summary (c->net_ports, c->exposed_ports);
      jw_json (b, ports);
      json_decref (ports);
    }
  else
    jw_lit (b, "[]");
  jw_lit (b, ",\"Labels\":");
  if (json_is_object (c->labels))
    jw_json (b, c->labels);
  else
    jw_lit (b, "{}");
  jw_lit (b, ",\"State\":");
  jw_str (b, container_state_string (c));
  char status[160];
  status_text (c, now, status, sizeof status);
  jw_lit (b, ",\"Status\":");
  jw_str (b, status);
  const char *mode = container_network_mode (c);
  jw_lit (b, ",\"HostConfig\":{\"NetworkMode\":");
  jw_str (b, *mode ? mode : "none");
  jw_lit (b, "},\"NetworkSettings\":{\"Networks\":");
  networks_list_write (c, nv, b); /* engine/networks.c */
  /* mounts_view's (engine/mounts.c) */
  jw_lit (b, "},\"Mounts\":[");
  json_t *mp;
  json_array_foreach (c->mounts, i, mp)
  {
    static const char *const keys[]
        = { "Type", "Name", "Source", "Destination", "Driver", "Mode", "RW", "Propagation", NULL };
    jw_raw (b, i ? ",{" : "{");
    const char *sep = "\"";
    for (size_t k = 0; keys[k]; k++)
      {
        json_t *x = json_object_get (mp, keys[k]);
        if (x == NULL)
          continue;
        jw_raw (b, sep);
        jw_raw (b, keys[k]);
        jw_lit (b, "\":");
        jw_json (b, x);
        sep = ",\"";
      }
    jw_lit (b, "}");
  }
  jw_lit (b, "]}");
}

int
container_list_write (arca_engine_t *e, bool all, long limit, json_t *filters, arca_buf_t *out, arca_error_t *err)
{
  static const char *const allowed[] = { "id", "name", "label", "status", "ancestor", "exited", "before", "since",
                                         "volume", "network", "publish", "expose", "health", "isolation",
                                         "is-task", NULL };
  if (filters && filters_validate (filters, allowed, err) < 0)
    return -1;
  _cleanup_strv_ char **ids = filters_values (filters, "id");
  _cleanup_strv_ char **names = filters_values (filters, "name");
  _cleanup_strv_ char **statuses = filters_values (filters, "status");
  _cleanup_strv_ char **exited = filters_values (filters, "exited");
  _cleanup_strv_ char **ancestors = filters_values (filters, "ancestor");
  _cleanup_strv_ char **volumes = filters_values (filters, "volume");
  _cleanup_strv_ char **healths = filters_values (filters, "health");
  for (size_t i = 0; healths && healths[i]; i++)
    if (strcmp (healths[i], "starting") != 0 && strcmp (healths[i], "healthy") != 0
        && strcmp (healths[i], "unhealthy") != 0 && strcmp (healths[i], "none") != 0)
      return arca_error_set (err, ARCA_ERR_INVALID,
                             "invalid filter 'health=%s': invalid value for health (%s): must be one of none, "
                             "starting, healthy, unhealthy",
                             healths[i], healths[i]);
  static const char *const valid_status[]
      = { "created", "restarting", "running", "removing", "paused", "exited", "dead", NULL };
  for (size_t i = 0; statuses && statuses[i]; i++)
    {
      bool ok = false;
      for (int j = 0; valid_status[j]; j++)
        ok |= strcmp (statuses[i], valid_status[j]) == 0;
      if (!ok)
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid filter 'status=%s'", statuses[i]);
    }
  for (size_t i = 0; exited && exited[i]; i++)
    {
      char *end;
      strtol (exited[i], &end, 10);
      if (*end || end == exited[i])
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid filter 'exited=%s'", exited[i]);
    }
  if (statuses || exited || limit > 0)
    all = true;
  ancestors_t anc = { 0 };
  ancestors_resolve (e, ancestors, &anc);

  /* Take references so we can work without the lock (ancestor resolution
   * talks to the image store). */
  pthread_mutex_lock (&e->lock);
  size_t n = 0;
  for (arca_container_t *c = e->containers; c; c = c->next)
    n++;
  arca_container_t **v = xmalloc0 ((n + 1) * sizeof *v);
  size_t k = 0;
  for (arca_container_t *c = e->containers; c; c = c->next)
    if (!c->removed)
      {
        container_ref (c);
        v[k++] = c;
      }
  _cleanup_json_ json_t *link_names = links_names_index_locked (e); /* links: "/parent/alias" */
  pthread_mutex_unlock (&e->lock);
  qsort (v, k, sizeof *v, cmp_created_desc);

  /* Every endpoint's settings at once (net lock), not a walk of them all
   * per container. */
  net_list_view_t *nv = net_list_view_new (e->net);
  int64_t now = time_now_ns ();
  arca_buf_t tmp = { 0 };
  long listed = 0;
  jw_reserve (out, k * 800); /* a summary on the default bridge: ~730 bytes */
  jw_lit (out, "[");
  for (size_t i = 0; i < k; i++)
    {
      arca_container_t *c = v[i];
      bool keep = (all || c->running) && any_matches (ids, match_id, c, NULL)
                  && any_matches (names, match_name, c, NULL) && any_matches (statuses, match_status, c, NULL)
                  && any_matches (exited, match_exited, c, NULL)
                  && filters_match_labels (filters, c->labels)
                  && any_matches (ancestors, match_ancestor, c, &anc)
                  && any_matches (volumes, match_volume, c, e)
                  && any_matches (healths, match_health, c, e);
      if (keep && (limit <= 0 || listed < limit))
        {
          if (listed++)
            jw_lit (out, ",");
          pthread_mutex_lock (&e->lock);
          summary_write (c, now, link_names, nv, &tmp, out);
          pthread_mutex_unlock (&e->lock);
        }
    }
  jw_lit (out, "]");
  buf_free (&tmp);
  net_list_view_free (nv);
  ancestors_clear (&anc);
  for (size_t i = 0; i < k; i++)
    container_unref (v[i]);
  free (v);
  return 0;
}

int
container_list_json (arca_engine_t *e, bool all, long limit, json_t *filters, json_t **out, arca_error_t *err)
{
  arca_buf_t b = { 0 };
  if (container_list_write (e, all, limit, filters, &b, err) < 0)
    {
      buf_free (&b);
      return -1;
    }
  json_error_t jerr;
  *out = json_loadb (b.data, b.len, 0, &jerr);
  buf_free (&b);
  if (*out == NULL)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "container list: %s", jerr.text);
  return 0;
}
