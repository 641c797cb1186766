/* A container's options as the engine checks and completes them: what
 * needs engine state (configured runtimes, log drivers, the image) and the
 * defaults dockerd writes into HostConfig at create (moby daemon/create.go
 * containerCreate, daemon/daemon_unix.go adaptContainerSettings,
 * daemon/logs.go mergeAndVerifyLogConfig).  Field-level parsing and
 * validation is runtime/options.c's. */
#include "engine/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"

#define DEFAULT_SHM_SIZE 67108864 /* daemon/config DefaultShmSize, 64 MiB */

int
container_runtime (arca_engine_t *e, arca_container_t *c, const arca_oci_runtime_t **rt, arca_error_t *err)
{
  pthread_mutex_lock (&e->lock);
  _cleanup_free_ char *name = xstrdup (c->opts ? c->opts->runtime : NULL);
  pthread_mutex_unlock (&e->lock);
  return oci_runtime_get (e->runtimes, name, rt, err);
}

/* ---- log drivers ---- */

/* json-file options (moby daemon/logger/jsonfilelog ValidateLogOpt), plus
 * the options every driver takes (logger.ValidateLogOpts builtInLogOpts). */
static int
validate_json_file_opts (json_t *cfg, arca_error_t *err)
{
  static const char *const known[]
      = { "max-file", "max-size", "compress", "labels", "labels-regex", "env", "env-regex", "tag", NULL };
  const char *k;
  json_t *v;
  json_object_foreach (cfg, k, v)
    {
      if (strcmp (k, "mode") == 0 || strcmp (k, "max-buffer-size") == 0)
        continue;
      bool ok = false;
      for (size_t i = 0; known[i] && !ok; i++)
        ok = strcmp (k, known[i]) == 0;
      if (!ok)
        return arca_error_set (err, ARCA_ERR_INVALID, "unknown log opt '%s' for json-file log driver", k);
    }
  return 0;
}

/* logger.ValidateLogOpts: the logging mode, then the driver.  A driver arca
 * does not have is looked up as a plugin by dockerd, which finds none. */
int
container_options_check_log (const char *type, json_t *cfg, arca_error_t *err)
{
  if (strcmp (type, "none") == 0)
    return 0;
  const char *mode = json_string_value (json_object_get (cfg, "mode"));
  if (mode && *mode && strcmp (mode, "blocking") != 0 && strcmp (mode, "non-blocking") != 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "logger: logging mode not supported: %s", mode);
  if (json_object_get (cfg, "max-buffer-size") && (mode == NULL || strcmp (mode, "non-blocking") != 0))
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "logger: max-buffer-size option is only supported with 'mode=non-blocking'");
  if (strcmp (type, "json-file") == 0)
    return validate_json_file_opts (cfg, err);
  if (strcmp (type, "local") == 0)
    return logdrivers_check_local (cfg, err);
  if (strcmp (type, "syslog") == 0)
    return logdrivers_check_syslog (cfg, err);
  return arca_error_set (err, ARCA_ERR_INVALID, "error looking up logging plugin %s: plugin \"%s\" not found", type,
                         type);
}

/* ---- storage options ---- */

/* overlay2 without project quotas (moby daemon/graphdriver/overlay2
 * CreateReadWrite, parseStorageOpt): "size" is refused, any other key is
 * unknown.  dockerd reports both as 500 while creating the layer. */
static int
validate_storage_opt (json_t *so, arca_error_t *err)
{
  const char *k;
  json_t *v;
  json_object_foreach (so, k, v)
    if (strcasecmp (k, "size") == 0)
      return arca_error_set (err, ARCA_ERR_INTERNAL,
                             "--storage-opt is supported only for overlay over xfs with 'pquota' mount option");
  json_object_foreach (so, k, v)
    {
      _cleanup_free_ char *lower = xstrdup (k);
      for (char *p = lower; *p; p++)
        *p = (char) tolower ((unsigned char) *p);
      return arca_error_set (err, ARCA_ERR_INTERNAL, "Unknown option %s", lower);
    }
  return 0;
}

/* validateContainerConfig: translateWorkingDir, ValidateEnv. */
static int
validate_config (const arca_container_options_t *o, arca_error_t *err)
{
  if (*o->working_dir && o->working_dir[0] != '/')
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "the working directory '%s' is invalid, it needs to be an absolute path", o->working_dir);
  for (char **e = o->env; e && *e; e++)
    if ((*e)[0] == '=' || (*e)[0] == '\0')
      return arca_error_set (err, ARCA_ERR_INVALID, "invalid environment variable: %s", *e);
  return 0;
}

int
container_options_verify_create (arca_engine_t *e, json_t *config, json_t *hc, json_t *warnings, arca_error_t *err)
{
  _cleanup_options_ arca_container_options_t *o = NULL;
  if (options_parse (config, hc, &o, err) < 0 || validate_config (o, err) < 0)
    return -1;
  if (o->uts.mode == NS_MODE_HOST && *o->hostname)
    return arca_error_set (err, ARCA_ERR_INVALID, "conflicting options: hostname and the UTS mode");
  if (options_verify (o, options_sysinfo (), false, warnings, err) < 0)
    return -1;
  options_resources_store (&o->resources, hc);
  const arca_oci_runtime_t *rt;
  if (oci_runtime_get (e->runtimes, o->runtime, &rt, err) < 0)
    return -1;
  if (container_options_check_log (*o->log_type ? o->log_type : e->log_driver, o->log_config, err) < 0)
    return -1;
  return 0;
}

int
container_options_verify_storage (json_t *hc, arca_error_t *err)
{
  return validate_storage_opt (json_object_get (hc, "StorageOpt"), err);
}

/* ---- platform ---- */

/* containerd platforms.Normalize for the parts arca meets. */
static void
normalize_arch (char *arch, size_t len, char *variant, size_t vlen)
{
  static const char *const amd64[] = { "x86_64", "x86-64", "amd64", NULL };
  static const char *const arm64[] = { "aarch64", "arm64", NULL };
  for (size_t i = 0; amd64[i]; i++)
    if (strcasecmp (arch, amd64[i]) == 0)
      snprintf (arch, len, "amd64");
  for (size_t i = 0; arm64[i]; i++)
    if (strcasecmp (arch, arm64[i]) == 0)
      {
        snprintf (arch, len, "arm64");
        if (strcmp (variant, "v8") == 0)
          variant[0] = '\0';
      }
  if (strcasecmp (arch, "i386") == 0 || strcasecmp (arch, "i686") == 0)
    snprintf (arch, len, "386");
  if (strcasecmp (arch, "armhf") == 0)
    {
      snprintf (arch, len, "arm");
      snprintf (variant, vlen, "v7");
    }
  if (strcasecmp (arch, "armel") == 0)
    {
      snprintf (arch, len, "arm");
      snprintf (variant, vlen, "v6");
    }
}

static const char *
host_arch (void)
{
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#else
  return "unknown";
#endif
}

typedef struct
{
  char os[32], arch[32], variant[32];
} platform_t;

/* containerd platforms.Parse: "os[/arch[/variant]]" or a bare arch. */
static int
parse_platform (const char *s, platform_t *p, arca_error_t *err)
{
  memset (p, 0, sizeof *p);
  _cleanup_free_ char *copy = xstrdup (s);
  char *parts[4] = { 0 };
  size_t n = 0;
  char *save = NULL;
  for (char *t = strtok_r (copy, "/", &save); t && n < 4; t = strtok_r (NULL, "/", &save))
    parts[n++] = t;
  if (n == 0 || n > 3 || (n == 4))
    return arca_error_set (err, ARCA_ERR_INVALID, "\"%s\": cannot parse platform specifier: invalid argument", s);
  for (size_t i = 0; i < n; i++)
    for (char *c = parts[i]; *c; c++)
      if (!isalnum ((unsigned char) *c) && *c != '_' && *c != '-')
        return arca_error_set (err, ARCA_ERR_INVALID, "\"%s\": invalid platform component \"%s\": invalid argument", s,
                               parts[i]);
  if (n == 1 && strcasecmp (parts[0], "linux") != 0)
    {
      /* A bare architecture on this OS. */
      snprintf (p->os, sizeof p->os, "linux");
      snprintf (p->arch, sizeof p->arch, "%s", parts[0]);
    }
  else
    {
      snprintf (p->os, sizeof p->os, "%s", parts[0]);
      snprintf (p->arch, sizeof p->arch, "%s", n > 1 ? parts[1] : host_arch ());
      if (n > 2)
        snprintf (p->variant, sizeof p->variant, "%s", parts[2]);
    }
  for (char *c = p->os; *c; c++)
    *c = (char) tolower ((unsigned char) *c);
  normalize_arch (p->arch, sizeof p->arch, p->variant, sizeof p->variant);
  return 0;
}

static void
format_platform (const platform_t *p, char *buf, size_t len)
{
  snprintf (buf, len, "%s/%s%s%s", p->os, p->arch, *p->variant ? "/" : "", p->variant);
}

int
container_options_check_platform (arca_image_t *img, const char *ref, const char *platform, arca_error_t *err)
{
  if (platform == NULL || *platform == '\0')
    return 0;
  platform_t want, have;
  if (parse_platform (platform, &want, err) < 0)
    return -1;
  json_t *cfg = img->config;
  memset (&have, 0, sizeof have);
  snprintf (have.os, sizeof have.os, "%s", json_get_str (cfg, "os") ?: "linux");
  snprintf (have.arch, sizeof have.arch, "%s", json_get_str (cfg, "architecture") ?: host_arch ());
  snprintf (have.variant, sizeof have.variant, "%s", json_get_str (cfg, "variant") ?: "");
  normalize_arch (have.arch, sizeof have.arch, have.variant, sizeof have.variant);
  /* platforms.Only: same OS and architecture; a variant asked for must be
   * the image's (an image without one matches any). */
  bool match = strcmp (want.os, have.os) == 0 && strcmp (want.arch, have.arch) == 0
               && (*want.variant == '\0' || *have.variant == '\0' || strcmp (want.variant, have.variant) == 0);
  if (match)
    return 0;
  char w[128], h[128];
  format_platform (&want, w, sizeof w);
  format_platform (&have, h, sizeof h);
  return arca_error_set (err, ARCA_ERR_NOT_FOUND,
                         "image with reference %s was found but its platform (%s) does not match the specified "
                         "platform (%s)",
                         ref, h, w);
}

/* ---- defaults written at create ---- */

void
container_options_adapt (arca_engine_t *e, json_t *hc)
{
  namespaces_adapt (e, hc);
  /* adaptContainerSettings */
  int64_t mem = json_get_int (hc, "Memory", 0);
  if (mem > 0 && json_get_int (hc, "MemorySwap", 0) == 0)
    json_object_set_new (hc, "MemorySwap", json_integer (mem * 2));
  if (json_get_int (hc, "ShmSize", 0) == 0)
    json_object_set_new (hc, "ShmSize", json_integer (DEFAULT_SHM_SIZE));
  const char *ipc = json_get_str (hc, "IpcMode");
  if (ipc == NULL || *ipc == '\0')
    json_object_set_new (hc, "IpcMode", json_string ("private"));
  const char *cgns = json_get_str (hc, "CgroupnsMode");
  if (cgns == NULL || *cgns == '\0')
    {
      /* privileged on v1: host; else the daemon's default-cgroupns-mode,
       * or private on cgroup v2 and host on v1 */
      bool v2 = options_sysinfo ()->cgroup_v2;
      const char *m = v2 ? "private" : "host";
      if (json_get_bool (hc, "Privileged", false) && !v2)
        m = "host";
      else if (e->default_cgroupns_mode)
        m = e->default_cgroupns_mode;
      json_object_set_new (hc, "CgroupnsMode", json_string (m));
    }
  if (!json_is_boolean (json_object_get (hc, "OomKillDisable")))
    json_object_set_new (hc, "OomKillDisable", json_false ());
  /* verifyPlatformContainerSettings: the default runtime is written in. */
  const char *rt = json_get_str (hc, "Runtime");
  if (rt == NULL || *rt == '\0')
    json_object_set_new (hc, "Runtime", json_string (oci_runtime_default_name (e->runtimes)));
  container_options_merge_log (e, hc);
}

void
container_options_merge_log (arca_engine_t *e, json_t *hc)
{
  json_t *lc = json_object_get (hc, "LogConfig");
  if (!json_is_object (lc))
    {
      lc = json_object ();
      json_object_set_new (hc, "LogConfig", lc);
    }
  const char *type = json_get_str (lc, "Type");
  if (type == NULL || *type == '\0')
    json_object_set_new (lc, "Type", json_string (e->log_driver));
  json_t *cfg = json_object_get (lc, "Config");
  if (!json_is_object (cfg))
    {
      cfg = json_object ();
      json_object_set_new (lc, "Config", cfg);
    }
  if (strcmp (json_get_str (lc, "Type"), e->log_driver) == 0)
    {
      const char *k;
      json_t *v;
      json_object_foreach (e->log_opts, k, v)
        if (json_object_get (cfg, k) == NULL)
          json_object_set (cfg, k, v);
    }
}

char *
container_cgroup_path (arca_engine_t *e, arca_container_t *c)
{
  pthread_mutex_lock (&e->lock);
  char *p = spec_cgroups_path (c->opts ? c->opts->resources.cgroup_parent : NULL, c->id);
  pthread_mutex_unlock (&e->lock);
  return p;
}
