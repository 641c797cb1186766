/* config.json for a container, as dockerd builds it: moby oci.DefaultSpec
 * then the option functions of daemon/oci_linux.go createSpec (common
 * options, cgroups, resources, sysctls, devices, rlimits, namespaces,
 * capabilities, seccomp, mounts, OOM score, annotations, user), all from
 * the container's typed options (runtime/options.h). */
#include "runtime/spec.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/spec_internal.h"
#include "util/cleanup.h"
#include "util/env.h"
#include "util/json.h"
#include "util/strutil.h"

#define DEFAULT_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_SHM_SIZE 67108864 /* daemon/config DefaultShmSize, 64 MiB */
#define INIT_IN_CONTAINER "/sbin/docker-init" /* daemon inContainerInitPath */

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static const char *const default_masked_paths[] = {
  "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
  "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
  "/sys/devices/virtual/powercap", NULL,
};

static const char *const default_readonly_paths[] = {
  "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static json_t *
strarray (const char *const *v)
{
  json_t *a = json_array ();
  for (; v && *v; v++)
    json_array_append_new (a, json_string (*v));
  return a;
}

static json_t *
mount_entry (const char *dest, const char *type, const char *source, const char *const *options)
{
  return json_pack ("{s:s, s:s, s:s, s:o}", "destination", dest, "type", type, "source", source, "options",
                    strarray (options));
}

static void
option_add (json_t *mount, const char *opt)
{
  json_t *opts = json_object_get (mount, "options");
  size_t i;
  json_t *v;
  json_array_foreach (opts, i, v)
    if (strcmp (json_string_value (v), opt) == 0)
      return;
  json_array_append_new (opts, json_string (opt));
}

static void
option_remove (json_t *mount, const char *opt)
{
  json_t *opts = json_object_get (mount, "options");
  for (size_t i = 0; i < json_array_size (opts);)
    if (strcmp (json_string_value (json_array_get (opts, i)), opt) == 0)
      json_array_remove (opts, i);
    else
      i++;
}

/* oci/defaults.go DefaultLinuxSpec mounts, adjusted as withMounts does. */
static json_t *
default_mounts (const arca_spec_options_t *s)
{
  const arca_container_options_t *o = s->opts;
  json_t *m = json_array ();
  json_array_append_new (m, mount_entry ("/proc", "proc", "proc", (const char *[]) { "nosuid", "noexec", "nodev", NULL }));
  json_array_append_new (m, mount_entry ("/dev", "tmpfs", "tmpfs",
                                         (const char *[]) { "nosuid", "strictatime", "mode=755", "size=65536k", NULL }));
  json_array_append_new (m, mount_entry ("/dev/pts", "devpts", "devpts",
                                         (const char *[]) { "nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                                            "mode=0620", "gid=5", NULL }));
  json_array_append_new (m, mount_entry ("/sys", "sysfs", "sysfs", (const char *[]) { "nosuid", "noexec", "nodev", "ro", NULL }));
  json_array_append_new (m, mount_entry ("/sys/fs/cgroup", "cgroup", "cgroup",
                                         (const char *[]) { "ro", "nosuid", "noexec", "nodev", NULL }));
  json_array_append_new (m, mount_entry ("/dev/mqueue", "mqueue", "mqueue", (const char *[]) { "nosuid", "noexec", "nodev", NULL }));
  /* /dev/shm: ShmSize (the daemon's default when 0); none for IpcMode none
   * (withMounts); the host's or another container's for host/container
   * modes is a bind mount the engine adds. */
  int64_t shm = o->shm_size > 0 ? o->shm_size : (s->default_shm_size > 0 ? s->default_shm_size : DEFAULT_SHM_SIZE);
  _cleanup_free_ char *shm_size = xasprintf ("size=%lld", (long long) shm);
  if (o->ipc.mode == NS_MODE_PRIVATE || o->ipc.mode == NS_MODE_SHAREABLE)
    json_array_append_new (m, mount_entry ("/dev/shm", "tmpfs", "shm",
                                           (const char *[]) { "nosuid", "noexec", "nodev", "mode=1777", shm_size, NULL }));

  size_t i;
  json_t *e;
  json_array_foreach (m, i, e)
    {
      const char *dest = json_string_value (json_object_get (e, "destination"));
      /* ReadonlyRootfs: every default mount but the /proc and /dev ones. */
      if (o->read_only && strcmp (dest, "/proc") != 0 && !str_has_prefix (dest, "/dev"))
        option_add (e, "ro");
      /* Privileged: /sys and the cgroup mount are writable. */
      if (o->privileged && strcmp (dest, "/sys") == 0)
        option_remove (e, "ro");
      /* Cgroups are writable for privileged containers unless
       * writable-cgroups=false, and with writable-cgroups=true. */
      bool writable_cgroups = o->security.has_writable_cgroups ? o->security.writable_cgroups : o->privileged;
      if (writable_cgroups && strcmp (dest, "/sys/fs/cgroup") == 0)
        option_remove (e, "ro");
    }
  return m;
}

/* container_unix.go NetworkMounts: resolv.conf, hostname, hosts, rbind,
 * writable unless ReadonlyRootfs, rprivate. */
static void
network_mounts (const arca_spec_options_t *o, json_t *mounts)
{
  bool read_only = o->opts->read_only;
  const char *files[][2] = {
    { "/etc/resolv.conf", o->resolv_conf_path },
    { "/etc/hostname", o->hostname_path },
    { "/etc/hosts", o->hosts_path },
  };
  for (size_t i = 0; i < 3; i++)
    {
      if (files[i][1] == NULL)
        continue;
      const char *opts_rw[] = { "rbind", "rprivate", NULL };
      const char *opts_ro[] = { "rbind", "ro", "rprivate", NULL };
      json_array_append_new (mounts, mount_entry (files[i][0], "bind", files[i][1], read_only ? opts_ro : opts_rw));
    }
}

/* Path depth for ordering user mounts (moby daemon/volumes.go mounts.parts). */
static size_t
mount_depth (json_t *m)
{
  const char *d = json_string_value (json_object_get (m, "destination"));
  size_t n = 0;
  for (; d && *d; d++)
    if (*d == '/' && d[1] != '/' && d[1] != '\0')
      n++;
  return n;
}

/* WithMounts: defaults not overridden by a user mount, then the user mounts
 * (extra + the /etc files and init not overridden) by increasing depth. */
static json_t *
merge_user_mounts (json_t *mounts, json_t *extra)
{
  json_t *user_dest = json_object ();
  size_t i;
  json_t *m;
  json_array_foreach (extra, i, m)
    json_object_set_new (user_dest, json_string_value (json_object_get (m, "destination")), json_true ());
  bool dev = json_object_get (user_dest, "/dev") != NULL;
  json_t *defaults = json_array ();
  json_t *user = json_array ();
  json_array_foreach (mounts, i, m)
    {
      const char *d = json_string_value (json_object_get (m, "destination"));
      if (json_object_get (user_dest, d) || (dev && str_has_prefix (d, "/dev/")))
        continue;
      const char *type = json_string_value (json_object_get (m, "type"));
      /* The /etc files and the init are bind mounts: they sort with the user's. */
      if (type && strcmp (type, "bind") == 0)
        json_array_append (user, m);
      else
        json_array_append (defaults, m);
    }
  json_array_extend (user, extra);
  /* Stable insertion sort by depth. */
  size_t n = json_array_size (user);
  for (size_t a = 1; a < n; a++)
    for (size_t b = a; b > 0 && mount_depth (json_array_get (user, b - 1)) > mount_depth (json_array_get (user, b)); b--)
      {
        json_t *x = json_incref (json_array_get (user, b - 1));
        json_array_set (user, b - 1, json_array_get (user, b));
        json_array_set_new (user, b, x);
      }
  json_array_extend (defaults, user);
  json_decref (user);
  json_decref (user_dest);
  json_decref (mounts);
  return defaults;
}

/* /sys/devices/system/cpu/possible: "0-3,5" */
static void
masked_thermal_paths (json_t *masked)
{
  _cleanup_fclose_ FILE *f = fopen ("/sys/devices/system/cpu/possible", "re");
  char buf[4096];
  if (f == NULL || fgets (buf, sizeof buf, f) == NULL)
    return;
  char *save = NULL;
  for (char *r = strtok_r (buf, ",\n", &save); r; r = strtok_r (NULL, ",\n", &save))
    {
      int lo, hi;
      int n = sscanf (r, "%d-%d", &lo, &hi);
      if (n < 1)
        continue;
      if (n == 1)
        hi = lo;
      for (int c = lo; c <= hi && c >= 0; c++)
        {
          _cleanup_free_ char *p = xasprintf ("/sys/devices/system/cpu/cpu%d/thermal_throttle", c);
          if (access (p, F_OK) == 0)
            json_array_append_new (masked, json_string (p));
        }
    }
}

/* CreateDaemonEnvironment + ReplaceOrAppendEnvValues (util/env.h). */
static json_t *
build_env (const arca_container_options_t *o, char **link_env)
{
  size_t nl = 0;
  while (link_env && link_env[nl])
    nl++;
  char **base = xmalloc0 ((4 + nl) * sizeof *base);
  size_t k = 0;
  base[k++] = xstrdup (DEFAULT_PATH_ENV);
  base[k++] = xasprintf ("HOSTNAME=%s", o->hostname ? o->hostname : "");
  if (o->tty)
    base[k++] = xstrdup ("TERM=xterm");
  for (size_t i = 0; i < nl; i++)
    base[k++] = xstrdup (link_env[i]);
  _cleanup_strv_ char **env = env_replace_or_append (base, o->env);
  return json_from_strv (env);
}

static void
add_sysctl_if_exists (json_t *sysctls, const char *name, const char *value)
{
  _cleanup_free_ char *p = xasprintf ("/proc/sys/%s", name);
  for (char *c = p + strlen ("/proc/sys/"); *c; c++)
    if (*c == '.')
      *c = '/';
  if (access (p, F_OK) == 0)
    json_object_set_new (sysctls, name, json_string (value));
}

const char *
spec_init_path (void)
{
  static const char *const paths[] = { "/usr/bin/tini-static", "/usr/bin/docker-init", "/usr/local/bin/docker-init",
                                       NULL };
  for (size_t i = 0; paths[i]; i++)
    if (access (paths[i], X_OK) == 0)
      return paths[i];
  return paths[0];
}

/* ---- process ---- */

/* WithUser, the process object (withCommonOptions, WithCapabilities,
 * WithNoNewPrivileges, WithOOMScore, withRlimits, WithConsoleSize). */
static int
build_process (const arca_spec_options_t *s, char **caps, json_t **out, arca_error_t *err)
{
  const arca_container_options_t *o = s->opts;
  uid_t uid;
  gid_t gid;
  _cleanup_free_ gid_t *add = NULL;
  size_t n_add = 0;
  if (spec_resolve_user (s->rootfs, o->user, &uid, &gid, &add, &n_add, NULL, err) < 0)
    return -1;
  _cleanup_free_ gid_t *extra = NULL;
  size_t n_extra = 0;
  if (spec_resolve_group_add (s->rootfs, o->group_add, &extra, &n_extra, err) < 0)
    return -1;

  const char *cwd = o->working_dir && *o->working_dir ? o->working_dir : "/";
  if (cwd[0] != '/')
    return arca_error_set (err, ARCA_ERR_INVALID, "the working directory '%s' is invalid, it needs to be an absolute path",
                           cwd);
  if (strcmp (cwd, "/") != 0 && spec_mkdir_in_root (s->rootfs, cwd, err) < 0)
    return -1;

  _cleanup_json_ json_t *proc = json_object ();
  json_object_set_new (proc, "terminal", json_boolean (o->tty));
  if (o->tty)
    json_object_set_new (proc, "consoleSize",
                         json_pack ("{s:I, s:I}", "height", (json_int_t) o->console_height, "width",
                                    (json_int_t) o->console_width));
  json_t *gids = json_array ();
  for (size_t i = 0; i < n_add; i++)
    spec_gids_add (gids, add[i]);
  for (size_t i = 0; i < n_extra; i++)
    spec_gids_add (gids, extra[i]);
  json_object_set_new (proc, "user",
                       json_pack ("{s:I, s:I, s:o}", "uid", (json_int_t) uid, "gid", (json_int_t) gid,
                                  "additionalGids", gids));
  if (s->init_path)
    {
      /* daemon/oci_linux.go WithInit: inContainerInitPath, "--", args. */
      json_t *args = json_pack ("[s, s]", INIT_IN_CONTAINER, "--");
      _cleanup_json_ json_t *rest = json_from_strv (s->args);
      json_array_extend (args, rest);
      json_object_set_new (proc, "args", args);
    }
  else
    json_object_set_new (proc, "args", json_from_strv (s->args));
  json_object_set_new (proc, "env", build_env (o, s->link_env));
  json_object_set_new (proc, "cwd", json_string (cwd));
  json_t *capobj = json_object ();
  json_object_set_new (capobj, "bounding", json_from_strv (caps));
  json_object_set_new (capobj, "effective", json_from_strv (caps));
  json_object_set_new (capobj, "permitted", json_from_strv (caps));
  json_object_set_new (proc, "capabilities", capobj);
  /* No AppArmor profile: the host has no AppArmor, so the process runs
   * unconfined, as dockerd there (WithApparmor does nothing). */
  json_object_set_new (proc, "noNewPrivileges", json_boolean (o->security.no_new_privileges));
  json_object_set_new (proc, "oomScoreAdj", json_integer (o->oom_score_adj));
  /* withRlimits: only the container's Ulimits; the process otherwise
   * inherits the runtime's, which never exceed the current hard limit. */
  if (o->resources.n_ulimits > 0)
    {
      json_t *rl = json_array ();
      for (size_t i = 0; i < o->resources.n_ulimits; i++)
        {
          const arca_ulimit_t *u = &o->resources.ulimits[i];
          _cleanup_free_ char *type = xasprintf ("RLIMIT_%s", u->name);
          for (char *c = type; *c; c++)
            *c = (char) toupper ((unsigned char) *c);
          json_array_append_new (rl, json_pack ("{s:s, s:I, s:I}", "type", type, "hard", (json_int_t) u->hard, "soft",
                                                (json_int_t) u->soft));
        }
      json_object_set_new (proc, "rlimits", rl);
    }
  *out = arca_steal (proc);
  return 0;
}

/* ---- mounts ---- */

static json_t *
build_mounts (const arca_spec_options_t *s)
{
  json_t *mounts = default_mounts (s);
  network_mounts (s, mounts);
  if (s->init_path)
    json_array_append_new (mounts, mount_entry (INIT_IN_CONTAINER, "bind", s->init_path,
                                                (const char *[]) { "bind", "ro", NULL }));
  if (json_array_size (s->extra_mounts) > 0)
    mounts = merge_user_mounts (mounts, s->extra_mounts);
  if (s->rootfs)
    {
      size_t i;
      json_t *m;
      json_array_foreach (mounts, i, m)
        {
          const char *d = json_string_value (json_object_get (m, "destination"));
          _cleanup_free_ char *in_root = d ? spec_resolve_in_root (s->rootfs, d) : NULL;
          if (in_root && strcmp (in_root, d) != 0)
            json_object_set_new (m, "destination", json_string (in_root));
        }
    }
  return mounts;
}

/* ---- linux ---- */

/* withCommonOptions sysctls, then HostConfig.Sysctls (WithSysctls). */
static json_t *
build_sysctls (const arca_spec_options_t *s)
{
  const arca_container_options_t *o = s->opts;
  json_t *sysctls = json_object ();
  if (s->netns.mode != NS_MODE_HOST)
    {
      add_sysctl_if_exists (sysctls, "net.ipv4.ping_group_range", "0 2147483647");
      add_sysctl_if_exists (sysctls, "net.ipv4.ip_unprivileged_port_start", "0");
    }
  if (o->domainname && *o->domainname)
    json_object_set_new (sysctls, "kernel.domainname", json_string (o->domainname));
  const char *k;
  json_t *v;
  json_object_foreach (o->sysctls, k, v)
    if (json_is_string (v))
      json_object_set (sysctls, k, v);
  return sysctls;
}

static json_t *
namespace_entry (const char *type, const arca_spec_ns_t *ns)
{
  if (ns->mode == NS_MODE_CONTAINER && ns->path)
    return json_pack ("{s:s, s:s}", "type", type, "path", ns->path);
  return json_pack ("{s:s}", "type", type);
}

/* WithNamespaces: a new namespace by default, none for host, the other
 * container's for container:<x>. */
static json_t *
build_namespaces (const arca_spec_options_t *s)
{
  const arca_container_options_t *o = s->opts;
  json_t *ns = json_array ();
  json_array_append_new (ns, json_pack ("{s:s}", "type", "mount"));
  const struct
  {
    const char *type;
    const arca_spec_ns_t *ns;
  } kinds[] = { { "network", &s->netns }, { "uts", &s->utsns }, { "pid", &s->pidns }, { "ipc", &s->ipcns } };
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    {
      if (kinds[i].ns->mode == NS_MODE_HOST)
        continue;
      /* The daemon made this container's netns: join it by path. */
      if (kinds[i].ns->path && kinds[i].ns->mode != NS_MODE_CONTAINER)
        json_array_append_new (ns, json_pack ("{s:s, s:s}", "type", kinds[i].type, "path", kinds[i].ns->path));
      else
        json_array_append_new (ns, namespace_entry (kinds[i].type, kinds[i].ns));
    }
  if (o->cgroupns.mode == NS_MODE_PRIVATE)
    json_array_append_new (ns, json_pack ("{s:s}", "type", "cgroup"));
  return ns;
}

static int
build_devices (const arca_spec_options_t *s, json_t *lnx, json_t *res, arca_error_t *err)
{
  json_t *devices = NULL, *rules = NULL;
  if (spec_devices (s->opts, &devices, &rules, err) < 0)
    return -1;
  if (json_array_size (devices) > 0)
    json_object_set_new (lnx, "devices", devices);
  else
    json_decref (devices);
  json_object_set_new (res, "devices", rules);
  return 0;
}

/* Seccomp (WithSeccomp): none for unconfined and for privileged containers
 * without an explicit profile; else the container's profile, the daemon's
 * (seccomp-profile), or the built-in default (*text NULL or "builtin").
 * False: no filter. */
static bool
seccomp_profile_text (const arca_spec_options_t *s, const char **text)
{
  const arca_container_options_t *o = s->opts;
  if (o->security.seccomp_unconfined || (o->privileged && o->security.seccomp_profile == NULL))
    return false;
  *text = o->security.seccomp_profile ? o->security.seccomp_profile : s->default_seccomp_profile;
  return !(*text && strcmp (*text, "unconfined") == 0);
}

/* The profile text compiled for the container's bounding set.  A profile
 * that does not decode fails the start as dockerd's LoadProfile:
 * "Decoding seccomp profile failed: ...". */
static int
seccomp_object (const char *text, char **caps, json_t **out, arca_error_t *err)
{
  if (text == NULL || strcmp (text, "builtin") == 0)
    return spec_seccomp_default (caps, out, err);
  json_error_t jerr;
  _cleanup_json_ json_t *profile = json_loads (text, 0, &jerr);
  if (profile == NULL)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "Decoding seccomp profile failed: %s", jerr.text);
  return spec_seccomp_compile (profile, caps, out, err);
}

/* ---- crun's seccomp, cached: module state, its own leaf lock ----
 *
 * crun compiles linux.seccomp at every run unless it gets the filter
 * compiled (runtime/seccomp_bpf.c); not when the user asked crun to fail
 * on unknown syscalls, which only its own compile does.  With the filter
 * given, crun reads nothing of linux.seccomp's rules (its run takes the
 * annotation, its exec the seccomp.bpf its run saved; libcrun container.c),
 * only the flags and the listener: the rules leave config.json, a third of
 * it (8 of 25 KB with the default profile), which each crun run and exec
 * parse (~0.4 ms an exec here), as podman's seccomp cache leaves them out.
 * What crun gets depends only on the profile's text and the bounding set
 * (the architecture and the kernel are the daemon's): both are cached under
 * them, which saves compiling and hashing the profile at each start
 * (~0.25 ms with the default one). */

#define CRUN_SECCOMP_SLOTS 4

typedef struct
{
  bool used;
  uint8_t key[SHA256_DIGEST_SIZE];
  json_t *seccomp; /* linux.seccomp without its rules */
  char *b64;       /* the annotation's value */
} crun_seccomp_t;

static pthread_mutex_t crun_seccomp_lock = PTHREAD_MUTEX_INITIALIZER;
static crun_seccomp_t crun_seccomp[CRUN_SECCOMP_SLOTS];
static size_t crun_seccomp_next; /* round-robin victim */

static void
crun_seccomp_key (const char *text, char **caps, uint8_t key[SHA256_DIGEST_SIZE])
{
  struct sha256_ctx h;
  sha256_init (&h);
  const char *t = text ? text : "builtin";
  sha256_update (&h, strlen (t) + 1, (const uint8_t *) t);
  for (size_t i = 0; caps && caps[i]; i++)
    sha256_update (&h, strlen (caps[i]) + 1, (const uint8_t *) caps[i]);
  sha256_digest (&h, SHA256_DIGEST_SIZE, key);
}

static bool
crun_seccomp_get (const uint8_t *key, json_t **seccomp, char **b64)
{
  bool hit = false;
  pthread_mutex_lock (&crun_seccomp_lock);
  for (size_t i = 0; i < CRUN_SECCOMP_SLOTS && !hit; i++)
    if (crun_seccomp[i].used && memcmp (crun_seccomp[i].key, key, SHA256_DIGEST_SIZE) == 0)
      {
        *seccomp = json_deep_copy (crun_seccomp[i].seccomp);
        *b64 = xstrdup (crun_seccomp[i].b64);
        hit = true;
      }
  pthread_mutex_unlock (&crun_seccomp_lock);
  return hit;
}

static void
crun_seccomp_put (const uint8_t *key, json_t *seccomp, const char *b64)
{
  pthread_mutex_lock (&crun_seccomp_lock);
  crun_seccomp_t *slot = &crun_seccomp[crun_seccomp_next];
  crun_seccomp_next = (crun_seccomp_next + 1) % CRUN_SECCOMP_SLOTS;
  json_decref (slot->seccomp);
  free (slot->b64);
  memcpy (slot->key, key, SHA256_DIGEST_SIZE);
  slot->seccomp = json_deep_copy (seccomp);
  slot->b64 = xstrdup (b64);
  slot->used = true;
  pthread_mutex_unlock (&crun_seccomp_lock);
}

/* linux.seccomp into lnx, and for crun the filter into annotations. */
static int
build_seccomp (const arca_spec_options_t *s, char **caps, json_t *lnx, json_t *annotations, arca_error_t *err)
{
  const char *text = NULL;
  if (!seccomp_profile_text (s, &text))
    return 0;
  const char *fail_unknown = json_string_value (json_object_get (annotations, "run.oci.seccomp_fail_unknown_syscall"));
  bool for_crun = s->seccomp_bpf && !(fail_unknown && strcmp (fail_unknown, "0") != 0);
  uint8_t key[SHA256_DIGEST_SIZE];
  json_t *seccomp = NULL;
  _cleanup_free_ char *b64 = NULL;
  if (for_crun)
    {
      crun_seccomp_key (text, caps, key);
      if (crun_seccomp_get (key, &seccomp, &b64))
        {
          json_object_set_new (annotations, "run.oci.seccomp_bpf_data", json_string (b64));
          json_object_set_new (lnx, "seccomp", seccomp);
          return 0;
        }
    }
  if (seccomp_object (text, caps, &seccomp, err) < 0)
    return -1;
  if (seccomp == NULL)
    return 0;
  /* NULL: crun compiles it itself (a listener, a profile libseccomp refuses) */
  b64 = for_crun ? spec_seccomp_bpf (seccomp) : NULL;
  if (b64)
    {
      json_object_set_new (annotations, "run.oci.seccomp_bpf_data", json_string (b64));
      json_object_del (seccomp, "syscalls");
      crun_seccomp_put (key, seccomp, b64);
    }
  json_object_set_new (lnx, "seccomp", seccomp);
  return 0;
}

/* Masked and read-only paths: the defaults, none when privileged, or the
 * HostConfig's lists when given (non-null). */
static void
build_paths (const arca_spec_options_t *s, json_t *lnx)
{
  const arca_container_options_t *o = s->opts;
  if (o->has_masked_paths)
    json_object_set_new (lnx, "maskedPaths", json_from_strv (o->masked_paths));
  else if (!o->privileged)
    {
      json_t *masked = strarray (default_masked_paths);
      masked_thermal_paths (masked);
      json_object_set_new (lnx, "maskedPaths", masked);
    }
  if (o->has_readonly_paths)
    json_object_set_new (lnx, "readonlyPaths", json_from_strv (o->readonly_paths));
  else if (!o->privileged)
    json_object_set_new (lnx, "readonlyPaths", strarray (default_readonly_paths));
}

static int
build_linux (const arca_spec_options_t *s, char **caps, json_t **out, arca_error_t *err)
{
  const arca_container_options_t *o = s->opts;
  _cleanup_json_ json_t *lnx = json_object ();
  json_object_set_new (lnx, "sysctl", build_sysctls (s));
  json_t *res = NULL;
  if (spec_resources (&o->resources, false, &res, err) < 0)
    return -1;
  json_object_set_new (lnx, "resources", res);
  if (build_devices (s, lnx, res, err) < 0)
    return -1;
  /* CgroupParent, or the daemon's */
  _cleanup_free_ char *cgpath = spec_cgroups_path (*o->resources.cgroup_parent ? o->resources.cgroup_parent
                                                                                : s->cgroup_parent,
                                                   s->id);
  json_object_set_new (lnx, "cgroupsPath", json_string (cgpath));
  json_object_set_new (lnx, "namespaces", build_namespaces (s));
  build_paths (s, lnx);
  *out = arca_steal (lnx);
  return 0;
}

char *
spec_cgroups_path (const char *parent, const char *id)
{
  if (parent == NULL || *parent == '\0')
    parent = "/arca";
  return xasprintf ("%s%s/%s", parent[0] == '/' ? "" : "/", parent, id);
}

int
spec_build (const arca_spec_options_t *o, json_t **out, arca_error_t *err)
{
  if (o->rootfs == NULL || o->id == NULL || o->opts == NULL)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "spec: rootfs, id and options are required");
  if (o->init_path && access (o->init_path, X_OK) < 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "exec: \"docker-init\": executable file not found in $PATH");

  _cleanup_strv_ char **caps = NULL;
  if (spec_caps_compute (o->opts, &caps, err) < 0)
    return -1;

  _cleanup_json_ json_t *spec = json_object ();
  json_object_set_new (spec, "ociVersion", json_string ("1.0.2"));
  json_t *proc = NULL;
  if (build_process (o, caps, &proc, err) < 0)
    return -1;
  json_object_set_new (spec, "process", proc);
  json_object_set_new (spec, "root", json_pack ("{s:s, s:b}", "path", o->rootfs, "readonly", o->opts->read_only));
  /* WithNamespaces: with the host's UTS namespace the hostname is not set. */
  if (o->opts->hostname && *o->opts->hostname && o->utsns.mode != NS_MODE_HOST)
    json_object_set_new (spec, "hostname", json_string (o->opts->hostname));
  json_object_set_new (spec, "mounts", build_mounts (o));
  json_t *lnx = NULL;
  if (build_linux (o, caps, &lnx, err) < 0)
    return -1;
  json_object_set_new (spec, "linux", lnx);
  _cleanup_json_ json_t *annotations = o->opts->annotations ? json_deep_copy (o->opts->annotations) : json_object ();
  if (build_seccomp (o, caps, lnx, annotations, err) < 0)
    return -1;
  if (json_object_size (annotations) > 0)
    json_object_set (spec, "annotations", annotations);
  *out = arca_steal (spec);
  return 0;
}
