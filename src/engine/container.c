/* Container records: lookup, persistence, create and destroy. */
#include "engine/events.h"
#include "engine/health.h"
#include "engine/internal.h"
#include "engine/links.h"
#include "engine/isolation.h"
#include "engine/restart.h"

#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "engine/mounts.h"
#include "engine/networks.h"
#include "net/net.h"
#include "store/containers.h"
#include "store/db.h"
#include "image/snapshot.h"
#include "runtime/shim_client.h"
#include "runtime/spec.h"
#include "util/cleanup.h"
#include "util/crashpoint.h"
#include "util/env.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timeutil.h"

const char *container_id (arca_container_t *c) { return c->id; }

/* ---- Config and HostConfig, kept as text ---- */

static json_t *
object_from_text (const char *text)
{
  json_t *o = text ? json_loads (text, JSON_ALLOW_NUL, NULL) : NULL;
  if (json_is_object (o))
    return o;
  json_decref (o);
  return json_object ();
}

json_t *
container_config (arca_container_t *c)
{
  return object_from_text (c->config_json);
}

json_t *
container_host_config (arca_container_t *c)
{
  return object_from_text (c->host_config_json);
}

void
container_set_config (arca_container_t *c, json_t *cfg)
{
  free (c->config_json);
  c->config_json = json_dumps (cfg, JSON_COMPACT);
  free (c->config_image);
  const char *image = json_get_str (cfg, "Image");
  c->config_image = image ? xstrdup (image) : NULL;
  json_decref (c->labels);
  c->labels = json_incref (json_object_get (cfg, "Labels"));
  json_decref (c->exposed_ports);
  c->exposed_ports = json_incref (json_object_get (cfg, "ExposedPorts"));
}

static void
host_config_keep (arca_container_t *c, json_t *hc)
{
  free (c->host_config_json);
  c->host_config_json = json_dumps (hc, JSON_COMPACT);
  json_t *links = json_object_get (hc, "Links");
  c->has_links = json_is_array (links) && json_array_size (links) > 0;
}

int
container_set_host_config (arca_container_t *c, json_t *hc, arca_error_t *err)
{
  _cleanup_json_ json_t *cfg = container_config (c);
  arca_container_options_t *o = NULL;
  if (options_parse (cfg, hc, &o, err) < 0)
    return -1;
  options_free (c->opts);
  c->opts = o;
  host_config_keep (c, hc);
  return 0;
}

const char *
container_network_mode (arca_container_t *c)
{
  return c->opts && c->opts->network_mode ? c->opts->network_mode : "";
}

bool
container_tty (arca_container_t *c)
{
  return c->opts && c->opts->tty;
}

const char *
container_state_string (arca_container_t *c)
{
  if (c->running)
    {
      if (c->paused)
        return "paused";
      if (c->restarting)
        return "restarting";
      return "running";
    }
  if (c->removing)
    return "removing";
  if (c->dead)
    return "dead";
  if (c->started_ns == 0)
    return "created";
  return "exited";
}

void
container_free (arca_container_t *c)
{
  if (c == NULL)
    return;
  free (c->name);
  free (c->config_json);
  free (c->host_config_json);
  free (c->config_image);
  json_decref (c->labels);
  json_decref (c->exposed_ports);
  options_free (c->opts);
  free (c->image_id);
  free (c->path);
  strv_free (c->args);
  free (c->error);
  json_decref (c->mounts); /* volumes */
  json_decref (c->net_ports); /* networking */
  json_decref (c->pending_endpoints);
  health_free (c->health); /* healthchecks */
  free (c);
}

void
container_unref (arca_container_t *c)
{
  if (c == NULL)
    return;
  if (__atomic_sub_fetch (&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
    container_free (c);
}

void
container_ref (arca_container_t *c)
{
  __atomic_add_fetch (&c->refs, 1, __ATOMIC_ACQ_REL);
}

json_t *
container_to_record (arca_container_t *c)
{
  json_t *state = json_pack ("{s:b,s:b,s:b,s:b,s:I,s:i,s:s,s:I,s:I,s:b}", "Running", c->running, "Paused", c->paused,
                             "Restarting", c->restarting, "Dead", c->dead, "Pid", (json_int_t) c->pid,
                             "ExitCode", c->exit_code, "Error", c->error ? c->error : "", "StartedAt",
                             (json_int_t) c->started_ns, "FinishedAt", (json_int_t) c->finished_ns, "OOMKilled",
                             c->oom_killed);
  json_t *rec = json_pack ("{s:o,s:o,s:s,s:s,s:o,s:I,s:o,s:i,s:b,s:b,s:I}", "Config", container_config (c), "HostConfig",
                    container_host_config (c), "Image", c->image_id, "Path", c->path, "Args", json_from_strv (c->args),
                    "Created", (json_int_t) c->created_ns, "State", state, "RestartCount", c->restart_count,
                    "HasBeenStartedBefore", c->has_been_started, "HasBeenManuallyStopped",
                    c->manually_stopped, "ExitGeneration", (json_int_t) c->exit_generation);
  /* volumes (engine/mounts.c): the resolved mount list */
  if (c->mounts)
    json_object_set (rec, "MountPoints", c->mounts);
  if (c->net_ports) /* networking: published ports while running */
    json_object_set (rec, "NetworkPorts", c->net_ports);
  if (c->pending_endpoints) /* networking: endpoints on networks missing at create */
    json_object_set (rec, "PendingEndpoints", c->pending_endpoints);
  if (c->health) /* healthchecks: State.Health */
    json_object_set_new (rec, "Health", health_to_record (c->health));
  return rec;
}

arca_container_t *
container_from_record (const char *id, const char *name, json_t *rec)
{
  arca_container_t *c = xmalloc0 (sizeof *c);
  snprintf (c->id, sizeof c->id, "%s", id);
  c->name = xstrdup (name);
  _cleanup_json_ json_t *empty = json_object ();
  json_t *cfg = json_object_get (rec, "Config");
  container_set_config (c, json_is_object (cfg) ? cfg : empty);
  c->image_id = xstrdup (json_get_str (rec, "Image"));
  c->path = xstrdup (json_get_str (rec, "Path"));
  c->args = json_get_strv (rec, "Args");
  c->created_ns = json_get_int (rec, "Created", 0);
  json_t *st = json_object_get (rec, "State");
  c->running = json_get_bool (st, "Running", false);
  c->paused = json_get_bool (st, "Paused", false);
  c->restarting = json_get_bool (st, "Restarting", false);
  c->dead = json_get_bool (st, "Dead", false);
  c->pid = (pid_t) json_get_int (st, "Pid", 0);
  c->exit_code = (int) json_get_int (st, "ExitCode", 0);
  c->oom_killed = json_get_bool (st, "OOMKilled", false);
  const char *e = json_get_str (st, "Error");
  c->error = (e && *e) ? xstrdup (e) : NULL;
  c->started_ns = json_get_int (st, "StartedAt", 0);
  c->finished_ns = json_get_int (st, "FinishedAt", 0);
  c->restart_count = (int) json_get_int (rec, "RestartCount", 0);
  c->has_been_started = json_get_bool (rec, "HasBeenStartedBefore", false);
  c->manually_stopped = json_get_bool (rec, "HasBeenManuallyStopped", false);
  c->exit_generation = (uint64_t) json_get_int (rec, "ExitGeneration", 0);
  c->mounts = json_incref (json_object_get (rec, "MountPoints")); /* volumes */
  /* Stored records were checked at create: a failure here is a record
   * from an older version; it runs with what can be read. */
  json_t *hc = json_object_get (rec, "HostConfig");
  if (!json_is_object (hc))
    hc = empty;
  arca_error_t oerr;
  if (container_set_host_config (c, hc, &oerr) < 0)
    {
      log_warn ("container %.12s: options: %s", id, oerr.msg);
      host_config_keep (c, hc);
      options_parse (json_is_object (cfg) ? cfg : empty, empty, &c->opts, &oerr);
    }
  c->net_ports = json_incref (json_object_get (rec, "NetworkPorts")); /* networking */
  c->pending_endpoints = json_incref (json_object_get (rec, "PendingEndpoints"));
  c->health = health_from_record (json_object_get (rec, "Health")); /* healthchecks */
  return c;
}

int
container_save (arca_engine_t *e, arca_container_t *c, arca_error_t *err)
{
  /* A removed container stays removed: a writer that raced the removal (an
   * exit, a failing start) must not insert its row again. */
  if (c->removed)
    return 0;
  _cleanup_json_ json_t *rec = container_to_record (c);
  return arca_store_container_put (e->db, c->id, c->name, rec, err);
}

/* ---- lookup ---- */

static arca_container_t *
find_locked (arca_engine_t *e, const char *ref, bool *ambiguous)
{
  *ambiguous = false;
  const char *name = ref[0] == '/' ? ref + 1 : ref;
  for (arca_container_t *c = e->containers; c; c = c->next)
    if (!c->removed && strcmp (c->id, ref) == 0)
      return c;
  for (arca_container_t *c = e->containers; c; c = c->next)
    if (!c->removed && strcmp (c->name, name) == 0)
      return c;
  size_t len = strlen (ref);
  if (len == 0)
    return NULL;
  arca_container_t *found = NULL;
  for (arca_container_t *c = e->containers; c; c = c->next)
    if (!c->removed && strncmp (c->id, ref, len) == 0)
      {
        if (found)
          {
            *ambiguous = true;
            return NULL;
          }
        found = c;
      }
  return found;
}

int
container_lookup (arca_engine_t *e, const char *ref, arca_container_t **out, arca_error_t *err)
{
  bool ambiguous;
  pthread_mutex_lock (&e->lock);
  arca_container_t *c = find_locked (e, ref, &ambiguous);
  if (c)
    container_ref (c);
  pthread_mutex_unlock (&e->lock);
  if (ambiguous)
    return arca_error_set (err, ARCA_ERR_INVALID, "multiple IDs found with provided prefix: %s", ref);
  if (c == NULL)
    return arca_error_set (err, ARCA_ERR_NOT_FOUND, "No such container: %s", ref);
  *out = c;
  return 0;
}

int
containers_image_in_use (void *engine, const char *image_id, char *container_id_out, size_t len)
{
  arca_engine_t *e = engine;
  int used = 0;
  pthread_mutex_lock (&e->lock);
  for (arca_container_t *c = e->containers; c; c = c->next)
    if (!c->removed && c->image_id && strcmp (c->image_id, image_id) == 0)
      {
        int this = c->running ? 2 : 1;
        if (this > used)
          {
            used = this;
            snprintf (container_id_out, len, "%s", c->id);
          }
      }
  pthread_mutex_unlock (&e->lock);
  return used;
}

/* ---- create ---- */

/* Merge the image's config into the user's, as moby daemon/create.go
 * (merge in daemon/commit.go): user values win; Env is merged by key. */
static void
merge_image_config (json_t *cfg, json_t *img)
{
  if (img == NULL)
    return;
  /* User entries first, then the image's entries the user did not set
   * (moby daemon/commit.go merge). */
  json_t *user_env = json_object_get (cfg, "Env");
  json_t *img_env = json_object_get (img, "Env");
  if (json_is_array (img_env))
    {
      json_t *merged = json_is_array (user_env) ? json_deep_copy (user_env) : json_array ();
      env_json_append_missing (merged, img_env);
      json_object_set_new (cfg, "Env", merged);
    }
  bool has_cmd = json_array_size (json_object_get (cfg, "Cmd")) > 0;
  bool has_ep = json_array_size (json_object_get (cfg, "Entrypoint")) > 0;
  if (!has_ep)
    {
      json_t *ep = json_object_get (img, "Entrypoint");
      if (json_is_array (ep))
        json_object_set (cfg, "Entrypoint", ep);
      /* Cmd comes from the image only when neither was given. */
      if (!has_cmd)
        {
          json_t *cmd = json_object_get (img, "Cmd");
          if (json_is_array (cmd))
            json_object_set (cfg, "Cmd", cmd);
        }
    }
  /* --entrypoint '' arrives as [""]: it kept the image's Entrypoint and Cmd
   * out above and now means no entrypoint at all (dockerd: Entrypoint null,
   * "No command specified" without a Cmd). */
  json_t *epv = json_object_get (cfg, "Entrypoint");
  if (json_array_size (epv) == 1 && json_is_string (json_array_get (epv, 0))
      && *json_string_value (json_array_get (epv, 0)) == '\0')
    json_object_set_new (cfg, "Entrypoint", json_null ());
  const char *strs[] = { "WorkingDir", "User", "StopSignal", NULL };
  for (int i = 0; strs[i]; i++)
    {
      const char *uv = json_get_str (cfg, strs[i]);
      const char *iv = json_get_str (img, strs[i]);
      if ((uv == NULL || *uv == '\0') && iv && *iv)
        json_object_set_new (cfg, strs[i], json_string (iv));
    }
  const char *maps[] = { "ExposedPorts", "Volumes", "Labels", NULL };
  for (int i = 0; maps[i]; i++)
    {
      json_t *iv = json_object_get (img, maps[i]);
      if (!json_is_object (iv))
        continue;
      json_t *uv = json_object_get (cfg, maps[i]);
      if (!json_is_object (uv))
        {
          json_object_set_new (cfg, maps[i], json_deep_copy (iv));
          continue;
        }
      const char *k;
      json_t *v;
      json_object_foreach (iv, k, v)
        if (json_object_get (uv, k) == NULL)
          json_object_set (uv, k, v);
    }
  health_config_merge (cfg, json_object_get (img, "Healthcheck")); /* healthchecks: field by field */
}

/* The Config object dockerd stores: the create body's Config fields. */
static json_t *
extract_config (json_t *body)
{
  static const char *const keys[]
      = { "Hostname",   "Domainname",  "User",      "AttachStdin", "AttachStdout", "AttachStderr",
          "ExposedPorts", "Tty",       "OpenStdin", "StdinOnce",   "Env",          "Cmd",
          "Healthcheck", "ArgsEscaped", "Image",    "Volumes",     "WorkingDir",   "Entrypoint",
          "NetworkDisabled", "MacAddress", "OnBuild", "Labels",    "StopSignal",   "StopTimeout",
          "Shell",      NULL };
  json_t *cfg = json_object ();
  for (int i = 0; keys[i]; i++)
    {
      json_t *v = json_object_get (body, keys[i]);
      if (v && !json_is_null (v))
        json_object_set (cfg, keys[i], v);
    }
  return cfg;
}

static void
config_defaults (json_t *cfg, const char *id)
{
  const char *defaults_str[] = { "Hostname", "Domainname", "User", "WorkingDir", NULL };
  for (int i = 0; defaults_str[i]; i++)
    if (json_get_str (cfg, defaults_str[i]) == NULL)
      json_object_set_new (cfg, defaults_str[i], json_string (""));
  const char *h = json_get_str (cfg, "Hostname");
  if (*h == '\0')
    {
      char short_id[13];
      snprintf (short_id, sizeof short_id, "%.12s", id);
      json_object_set_new (cfg, "Hostname", json_string (short_id));
    }
  const char *bools[] = { "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce", NULL };
  for (int i = 0; bools[i]; i++)
    if (!json_is_boolean (json_object_get (cfg, bools[i])))
      json_object_set_new (cfg, bools[i], json_false ());
  if (!json_is_array (json_object_get (cfg, "Env")))
    json_object_set_new (cfg, "Env", json_array ());
  if (!json_is_object (json_object_get (cfg, "Labels")))
    json_object_set_new (cfg, "Labels", json_object ());
  if (json_object_get (cfg, "Entrypoint") == NULL)
    json_object_set_new (cfg, "Entrypoint", json_null ());
  if (json_object_get (cfg, "OnBuild") == NULL)
    json_object_set_new (cfg, "OnBuild", json_null ());
}

static json_t *
host_config_defaults (json_t *hc)
{
  hc = hc && json_is_object (hc) ? json_deep_copy (hc) : json_object ();
  if (!json_is_object (json_object_get (hc, "RestartPolicy")))
    json_object_set_new (hc, "RestartPolicy", json_pack ("{s:s,s:i}", "Name", "no", "MaximumRetryCount", 0));
  else if (json_get_str (json_object_get (hc, "RestartPolicy"), "Name") == NULL
           || *json_get_str (json_object_get (hc, "RestartPolicy"), "Name") == '\0')
    json_object_set_new (json_object_get (hc, "RestartPolicy"), "Name", json_string ("no"));
  const char *nm = json_get_str (hc, "NetworkMode");
  if (nm == NULL || *nm == '\0' || strcmp (nm, "default") == 0) /* networking: dockerd's default */
    json_object_set_new (hc, "NetworkMode", json_string ("bridge"));
  if (!json_is_object (json_object_get (hc, "LogConfig")))
    json_object_set_new (hc, "LogConfig", json_pack ("{s:s,s:{}}", "Type", "json-file", "Config"));
  if (!json_is_boolean (json_object_get (hc, "AutoRemove")))
    json_object_set_new (hc, "AutoRemove", json_false ());
  return hc;
}

int
container_create (arca_engine_t *e, const char *name, json_t *body, char **id_out, json_t **warnings,
                  arca_error_t *err)
{
  arca_create_opts_t o = { .name = name };
  return container_create_with (e, &o, body, id_out, warnings, err);
}

/* The request checked as dockerd's containerCreate does before anything is
 * made: decode (Go's types), verifyContainerSettings, networking, the image
 * and its platform, storage options.  *hc_out is the HostConfig to store. */
static int
create_check (arca_engine_t *e, const arca_create_opts_t *co, json_t *body, json_t *warnings, json_t **hc_out,
              arca_image_t **img_out, arca_error_t *err)
{
  const char *image_ref = json_get_str (body, "Image");
  if (image_ref == NULL || *image_ref == '\0')
    return arca_error_set (err, ARCA_ERR_INVALID, "No image specified");
  if (co->name && *co->name && container_name_validate (co->name, err) < 0)
    return -1;

  _cleanup_json_ json_t *hc = host_config_defaults (json_object_get (body, "HostConfig"));
  json_t *rp = json_object_get (hc, "RestartPolicy");
  const char *rp_name = json_get_str (rp, "Name");
  if (json_get_bool (hc, "AutoRemove", false) && rp_name && strcmp (rp_name, "no") != 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "can't create 'AutoRemove' container with restart policy");
  if (health_config_validate (json_object_get (body, "Healthcheck"), err) < 0) /* healthchecks */
    return -1;
  /* options: resources, modes, security options, runtime, log driver */
  container_options_merge_log (e, hc);
  if (container_options_verify_create (e, body, hc, warnings, err) < 0)
    return -1;
  /* networking (engine/networks.c): mode and endpoints checked before anything is made */
  if (networks_validate_create (e, hc, json_object_get (body, "NetworkingConfig"), err) < 0)
    return -1;
  /* pid/ipc container:<x> targets exist (engine/namespaces.c) */
  if (namespaces_validate_create (e, hc, err) < 0)
    return -1;
  /* legacy links (engine/links.c): children exist, stored by name */
  if (links_validate_create (e, hc, err) < 0)
    return -1;
  /* VM isolation: the mode, and what a VM cannot do */
  if (isolation_validate_create (e, hc, err) < 0)
    return -1;

  arca_image_t *img = NULL;
  if (image_resolve (e->images, image_ref, &img, err) < 0)
    return -1;
  if (container_options_check_platform (img, image_ref, co->platform, err) < 0
      || container_options_verify_storage (hc, err) < 0)
    {
      image_free (img);
      return -1;
    }
  container_options_adapt (e, hc);
  *hc_out = arca_steal (hc);
  *img_out = img;
  return 0;
}

/* docker-py's create_container(runtime=...) sends "Runtime" beside Config's
 * fields with "HostConfig": null (docker/types/containers.py
 * ContainerConfig).  dockerd 20.10 reads host settings from the top level
 * when the body has no HostConfig (runconfig ContainerConfigWrapper
 * getHostConfig), so the runtime named there is the container's, and an
 * unknown one is refused (measured: 400); with a HostConfig it is ignored
 * (measured: 201, the default runtime). */
static void
top_level_runtime (json_t *request, json_t *body)
{
  const char *name = json_get_str (request, "Runtime");
  json_t *hc = json_object_get (body, "HostConfig");
  if (name == NULL || *name == '\0' || json_is_object (hc))
    return;
  json_object_set_new (body, "HostConfig", json_pack ("{s:s}", "Runtime", name));
}

/* Volumes and endpoints of a new container: their commits go unsynced,
 * the container's row is the synced commit point after them (store/db.h
 * arca_db_defer_sync); a crash before it leaves rows the start-up sweep
 * removes (docs/design.md "Crash consistency"). */
static int
create_prepare_unsynced (arca_engine_t *e, arca_container_t *c, json_t *body, arca_error_t *err)
{
  arca_db_defer_sync (true);
  int r = mounts_resolve (e, c, err); /* volumes: Binds, Mounts, VolumesFrom, Config.Volumes */
  if (r == 0)
    r = networks_container_create (e, c, json_object_get (body, "NetworkingConfig"), err); /* networking */
  arca_db_defer_sync (false);
  return r;
}

int
container_create_with (arca_engine_t *e, const arca_create_opts_t *co, json_t *request, char **id_out,
                       json_t **warnings_out, arca_error_t *err)
{
  if (request == NULL || !json_is_object (request))
    return arca_error_set (err, ARCA_ERR_INVALID, "config cannot be empty in order to create a container");
  arca_trace_t tr;
  arca_trace_begin (&tr, "new", "create");
  /* Typed as dockerd decodes it: wrong JSON types refused, keys matched
   * case-insensitively; the canonical copy is what is stored. */
  _cleanup_json_ json_t *body = NULL;
  if (arca_traced (options_decode_create (request, &body, err), &tr, "decode") < 0)
    return -1;
  /* moby postContainersCreate: KernelMemory is ignored from API 1.42 on. */
  json_t *rhc = json_object_get (body, "HostConfig");
  if (json_is_object (rhc) && (co->api_version == 0 || co->api_version >= 142))
    json_object_del (rhc, "KernelMemory");
  /* Before 1.25 the client removed the container itself. */
  if (json_is_object (rhc) && co->api_version > 0 && co->api_version < 125)
    json_object_del (rhc, "AutoRemove");
  top_level_runtime (request, body);
  const char *image_ref = json_get_str (body, "Image");
  const char *name = co->name;
  _cleanup_free_ char *gen_name = NULL;
  _cleanup_json_ json_t *warnings = json_array ();
  _cleanup_json_ json_t *hc = NULL;
  arca_image_t *img = NULL;
  if (networks_mac_address_bc (body, co->api_version, warnings, err) < 0)
    return -1;
  if (arca_traced (create_check (e, co, body, warnings, &hc, &img, err), &tr, "check") < 0)
    return -1;
  if (name && *name && name[0] == '/')
    name++;

  arca_container_t *c = xmalloc0 (sizeof *c);
  container_id_generate (c->id);
  _cleanup_json_ json_t *cfg = extract_config (body);
  merge_image_config (cfg, json_object_get (img->config, "config"));
  config_defaults (cfg, c->id);
  json_object_set_new (cfg, "Image", json_string (image_ref));
  container_set_config (c, cfg);
  c->image_id = xstrdup (img->id);
  c->created_ns = time_now_ns ();
  image_free (img);

  /* Path and Args: Entrypoint + Cmd (moby daemon/create.go getEntrypointAndArgs). */
  arca_strv_builder_t words = { 0 };
  json_t *ep = json_object_get (cfg, "Entrypoint");
  json_t *cmd = json_object_get (cfg, "Cmd");
  size_t i;
  json_t *v;
  json_array_foreach (ep, i, v) if (json_is_string (v)) strv_builder_add (&words, json_string_value (v));
  json_array_foreach (cmd, i, v) if (json_is_string (v)) strv_builder_add (&words, json_string_value (v));
  char **cmdline = strv_builder_finish (&words);
  if (cmdline[0] == NULL)
    {
      strv_free (cmdline);
      container_free (c);
      return arca_error_set (err, ARCA_ERR_INVALID, "no command specified");
    }
  c->path = xstrdup (cmdline[0]);
  c->args = strv_copy (cmdline + 1);
  strv_free (cmdline);
  if (container_set_host_config (c, hc, err) < 0)
    {
      container_free (c);
      return -1;
    }

  /* Name: reserve under the lock so two creates cannot take the same one. */
  pthread_mutex_lock (&e->lock);
  if (name == NULL || *name == '\0')
    {
      bool amb;
      for (int tries = 0; tries < 100; tries++)
        {
          free (gen_name);
          gen_name = container_name_generate ();
          if (tries > 10)
            {
              char *n = xasprintf ("%s%d", gen_name, tries);
              free (gen_name);
              gen_name = n;
            }
          bool taken = false;
          for (arca_container_t *o = e->containers; o; o = o->next)
            if (!o->removed && strcmp (o->name, gen_name) == 0)
              taken = true;
          if (!taken)
            break;
        }
      (void) amb;
      name = gen_name;
    }
  for (arca_container_t *o = e->containers; o; o = o->next)
    if (!o->removed && strcmp (o->name, name) == 0)
      {
        pthread_mutex_unlock (&e->lock);
        arca_error_set (err, ARCA_ERR_CONFLICT,
                        "Conflict. The container name \"/%s\" is already in use by container \"%s\". You have "
                        "to remove (or rename) that container to be able to reuse that name.",
                        name, o->id);
        container_free (c);
        return -1;
      }
  c->name = xstrdup (name);
  c->refs = 1;
  c->starting = true; /* not startable until its files exist */
  c->next = e->containers;
  e->containers = c;
  pthread_mutex_unlock (&e->lock);

  _cleanup_free_ char *dir = container_dir (e, c->id);
  arca_trace_mark (&tr, "record");
  if (fs_mkdir_p (dir, 0710, err) < 0 || snapshot_create (dir, err) < 0
      || arca_traced (spec_write_etc_files (dir, json_get_str (cfg, "Hostname"), json_get_str (cfg, "Domainname"),
                                              err),
                        &tr, "files")
             < 0
      || arca_traced (create_prepare_unsynced (e, c, body, err), &tr, "prepare") < 0
      || (crashpoint ("create-before-commit"), false) /* docs/design.md "Crash consistency" */
      || arca_traced (container_save (e, c, err), &tr, "save") < 0) /* the commit point */
    {
      arca_error_t ignored;
      pthread_mutex_lock (&e->lock);
      c->removed = true;
      pthread_mutex_unlock (&e->lock);
      fs_remove_all (dir, &ignored);
      container_destroy (e, c, &ignored);
      return -1;
    }
  pthread_mutex_lock (&e->lock);
  c->starting = false;
  events_container_locked (e, c, "create", NULL); /* events */
  pthread_cond_broadcast (&e->changed); /* a removal may wait for the create */
  pthread_mutex_unlock (&e->lock);

  *id_out = xstrdup (c->id);
  *warnings_out = arca_steal (warnings);
  return 0;
}

/* ---- destroy ---- */

/* runc removes the container's cgroups on delete, but a cgroup whose last
 * tasks were still exiting can survive it: remove what is left (the path
 * <parent>/<id> is ours, see runtime/spec.c). */
static void
remove_cgroups (const char *cgpath)
{
  _cleanup_free_ char *pattern = xasprintf ("/sys/fs/cgroup/*%s", cgpath);
  _cleanup_free_ char *v2 = xasprintf ("/sys/fs/cgroup%s", cgpath);
  glob_t g;
  if (glob (pattern, GLOB_NOSORT, NULL, &g) == 0)
    {
      for (size_t i = 0; i < g.gl_pathc; i++)
        rmdir (g.gl_pathv[i]);
      globfree (&g);
    }
  rmdir (v2);
}

void
container_remove_cgroups (arca_engine_t *e, arca_container_t *c)
{
  _cleanup_free_ char *cgpath = container_cgroup_path (e, c);
  remove_cgroups (cgpath);
}

int
container_destroy_record (arca_engine_t *e, arca_container_t *c, arca_error_t *err)
{
  pthread_mutex_lock (&e->lock);
  c->removed = true; /* before the row goes: container_save writes no more */
  pthread_mutex_unlock (&e->lock);
  arca_trace_t tr;
  arca_trace_begin (&tr, c->id, "remove");
  int ret = arca_store_container_delete (e->db, c->id, err);
  crashpoint ("rm-row-deleted"); /* runtime state and directories left: start-up sweeps them */
  arca_trace_mark (&tr, "db_delete");
  pthread_mutex_lock (&e->lock);
  for (arca_container_t **pp = &e->containers; *pp; pp = &(*pp)->next)
    if (*pp == c)
      {
        *pp = c->next;
        break;
      }
  for (pending_attach_t *pa = c->pending; pa; pa = pa->next)
    {
      pa->failed = true;
      pending_attach_wake (pa);
    }
  pthread_mutex_unlock (&e->lock);
  return ret;
}

void
container_mark_destroyed (arca_engine_t *e, arca_container_t *c)
{
  pthread_mutex_lock (&e->lock);
  c->destroyed = true;
  pthread_cond_broadcast (&e->changed);
  pthread_mutex_unlock (&e->lock);
}

void
container_destroy_files (arca_engine_t *e, arca_container_t *c)
{
  arca_error_t ignored;
  arca_trace_t tr;
  arca_trace_begin (&tr, c->id, "remove");
  _cleanup_free_ char *dir = container_dir (e, c->id);
  _cleanup_free_ char *sdir = container_state_dir (e, c->id);
  snapshot_remove (dir, &ignored);
  fs_remove_all (dir, &ignored);
  fs_remove_all (sdir, &ignored);
  /* rm -f leaves no runtime state or cgroups (a shim that died did not
   * delete them); once the shim is done, so off the answer's path.  A
   * crash before this leaves them to the start-up sweep (reconcile.c). */
  container_runtime_forget (e, c);
  arca_trace_mark (&tr, "files_after_answer");
  container_unref (c); /* the table's reference */
}

int
container_destroy (arca_engine_t *e, arca_container_t *c, arca_error_t *err)
{
  int ret = container_destroy_record (e, c, err);
  container_mark_destroyed (e, c);
  container_destroy_files (e, c);
  return ret;
}

/* ---- restore ---- */

typedef struct
{
  arca_container_t **v;
  size_t n;
} loaded_t;

/* One stored row becomes a record at once (memory work only: it runs under
 * the store's lock), so its parsed JSON is freed before the next row's. */
static int
load_row (const char *id, const char *name, json_t *rec, void *ctx, arca_error_t *err)
{
  loaded_t *l = ctx;
  if (rec == NULL)
    return 0;
  l->v = xrealloc (l->v, (l->n + 1) * sizeof *l->v);
  l->v[l->n++] = container_from_record (id, name, rec);
  return 0;
}

int
containers_restore (arca_engine_t *e, arca_error_t *err)
{
  loaded_t loaded = { 0 };
  if (arca_store_containers_each (e->db, load_row, &loaded, err) < 0)
    {
      for (size_t i = 0; i < loaded.n; i++)
        container_free (loaded.v[i]);
      free (loaded.v);
      return -1;
    }
  _cleanup_free_ arca_container_t **v = loaded.v;
  _cleanup_free_ arca_container_t **autoremove = xmalloc0 ((loaded.n + 1) * sizeof *autoremove);
  size_t nautoremove = 0;
  /* Exits recorded while restoring are judged by restart_after_restore. */
  pthread_mutex_lock (&e->lock);
  e->restoring = true;
  pthread_mutex_unlock (&e->lock);
  for (size_t i = 0; i < loaded.n; i++)
    {
      arca_container_t *c = v[i];
      c->refs = 1;
      pthread_mutex_lock (&e->lock);
      c->next = e->containers;
      e->containers = c;
      pthread_mutex_unlock (&e->lock);

      if (!c->running)
        {
          container_recover_not_running (e, c); /* reconcile.c: a start cut short */
          if (c->opts->auto_remove)
            autoremove[nautoremove++] = c;
          continue;
        }
      arca_error_t merr;
      /* reconcile.c: a policy restart cut short between the shim's spawn
       * and its start leaves a shim with nothing to run */
      if (c->restarting && container_stop_unstarted_shim (e, c))
        log_info ("container %.12s: its restart was cut short before the process ran", c->id);
      else if (container_monitor_start (e, c, &merr) == 0)
        {
          log_info ("container %.12s: re-adopted its running shim", c->id);
          networks_container_restore (e, c, true); /* networking: keep its endpoints */
          /* A policy restart was starting it when the daemon died (its row
           * says Restarting, Pid 0): the shim knows the new process. */
          _cleanup_free_ char *sdir = container_state_dir (e, c->id);
          _cleanup_json_ json_t *state_req = json_pack ("{s:s}", "op", "state");
          _cleanup_json_ json_t *state = NULL;
          pid_t shim_pid = 0;
          if (shim_request (sdir, state_req, &state, &merr) == 0
              && strcmp (json_get_str (state, "Status") ? json_get_str (state, "Status") : "", "running") == 0)
            shim_pid = (pid_t) json_get_int (state, "Pid", 0);
          pthread_mutex_lock (&e->lock);
          bool was_restarting = c->restarting;
          c->restarting = false;
          if (shim_pid > 0 && (shim_pid != c->pid || was_restarting))
            {
              c->pid = shim_pid;
              if (c->started_ns == 0)
                c->started_ns = time_now_ns ();
              container_save (e, c, &merr);
            }
          health_update_locked (e, c); /* healthchecks: resume, keeping the recorded status */
          pthread_mutex_unlock (&e->lock);
          continue;
        }
      /* The shim is gone: the container ended while we were away, or the
       * shim was killed and its process may still run under the runtime
       * (orphaned): delete the runtime's state, which kills it. */
      container_runtime_forget (e, c);
      _cleanup_free_ char *exit_file = container_exit_file (e, c->id);
      int code = 255;
      int64_t finished = 0;
      bool oom = false;
      arca_error_t ignored;
      if (shim_read_exit_file (exit_file, &code, &finished, &oom, &ignored) < 0)
        {
          /* No exit status recorded: 255 and FinishedAt now, as dockerd's
           * restore (daemon/daemon.go, TestHardRestartWhenContainerIsRunning). */
          code = 255;
          finished = time_now_ns ();
        }
      log_info ("container %.12s: shim gone, exited with %d while the daemon was down", c->id, code);
      container_handle_exit (e, c, code, finished, oom);
    }
  /* AutoRemove containers found not running (moby daemon.restore
   * removeContainers): created and never started, or exited while a crash
   * cut their removal short; removed with their anonymous volumes. */
  for (size_t i = 0; i < nautoremove; i++)
    {
      arca_error_t rerr;
      log_info ("container %.12s: AutoRemove, not running: removed", autoremove[i]->id);
      if (container_remove (e, autoremove[i], true, true, &rerr) < 0)
        log_warn ("container %.12s: auto-remove: %s", autoremove[i]->id, rerr.msg);
    }
  /* Restart policies at start-up (restart.c; rules in docs/design.md):
   * asynchronous, so the API answers meanwhile. */
  net_reconcile (e->net); /* networking: veths no endpoint owns */
  restart_after_restore (e);
  return 0;
}
