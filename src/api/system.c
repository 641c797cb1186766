/* System endpoints: /_ping, /version, /info (moby api/server/router/system,
 * daemon/info.go).  Values are real: counts from the engine, host facts
 * from uname, /proc, /sys/fs/cgroup and /etc/os-release. */
#include "api/routes.h"

#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/images.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timeutil.h"

#ifndef ARCA_VERSION
#define ARCA_VERSION "0.0.0"
#endif
#ifndef ARCA_GIT_COMMIT
#define ARCA_GIT_COMMIT ""
#endif
#define API_VERSION "1.51"
#define MIN_API_VERSION "1.24"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* ---- host facts ---------------------------------------------------------- */

/* Go's GOARCH for a uname machine. */
static const char *
go_arch (void)
{
  static char arch[sizeof ((struct utsname *) 0)->machine + 1];
  if (arch[0])
    return arch;
  struct utsname u;
  uname (&u);
  static const struct { const char *m, *go; } map[] = {
    { "x86_64", "amd64" }, { "aarch64", "arm64" }, { "armv7l", "arm" }, { "armv6l", "arm" },
    { "i686", "386" },     { "i386", "386" },      { "ppc64le", "ppc64le" }, { "s390x", "s390x" },
    { "riscv64", "riscv64" }, { "mips64", "mips64" }, { "loongarch64", "loong64" },
  };
  const char *r = u.machine;
  for (size_t i = 0; i < sizeof map / sizeof *map; i++)
    if (strcmp (u.machine, map[i].m) == 0)
      r = map[i].go;
  snprintf (arch, sizeof arch, "%s", r);
  return arch;
}

static char *
kernel_version (void)
{
  struct utsname u;
  uname (&u);
  return xstrdup (u.release);
}

static char *
machine (void)
{
  struct utsname u;
  uname (&u);
  return xstrdup (u.machine);
}

/* Unquoted value of KEY= in /etc/os-release (or /usr/lib/os-release). */
static char *
os_release (const char *key)
{
  const char *files[] = { "/etc/os-release", "/usr/lib/os-release" };
  for (size_t i = 0; i < 2; i++)
    {
      _cleanup_fclose_ FILE *f = fopen (files[i], "re");
      if (f == NULL)
        continue;
      char line[512];
      size_t kl = strlen (key);
      while (fgets (line, sizeof line, f))
        {
          if (strncmp (line, key, kl) != 0 || line[kl] != '=')
            continue;
          char *v = line + kl + 1;
          v[strcspn (v, "\n")] = '\0';
          size_t n = strlen (v);
          if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0])
            {
              v[n - 1] = '\0';
              v++;
            }
          return xstrdup (v);
        }
    }
  return NULL;
}

static bool
path_exists (const char *p)
{
  return access (p, F_OK) == 0;
}

static bool
cgroup_v2 (void)
{
  struct statfs s;
  return statfs ("/sys/fs/cgroup", &s) == 0 && (unsigned long) s.f_type == CGROUP2_SUPER_MAGIC;
}

/* On cgroup v2: is controller enabled at the root? */
static bool
v2_controller (const char *name)
{
  _cleanup_fclose_ FILE *f = fopen ("/sys/fs/cgroup/cgroup.controllers", "re");
  if (f == NULL)
    return false;
  char line[1024];
  if (!fgets (line, sizeof line, f))
    return false;
  for (char *save = NULL, *tok = strtok_r (line, " \n", &save); tok; tok = strtok_r (NULL, " \n", &save))
    if (strcmp (tok, name) == 0)
      return true;
  return false;
}

typedef struct
{
  bool memory, swap, cfs_period, cfs_quota, shares, cpuset, pids, oom_kill_disable;
} cgroup_caps_t;

static void
cgroup_caps (cgroup_caps_t *c)
{
  memset (c, 0, sizeof *c);
  if (cgroup_v2 ())
    {
      c->memory = v2_controller ("memory");
      c->swap = c->memory; /* memory.swap.max lives in every non-root cgroup */
      c->cfs_period = c->cfs_quota = c->shares = v2_controller ("cpu");
      c->cpuset = v2_controller ("cpuset");
      c->pids = v2_controller ("pids");
      c->oom_kill_disable = false;
      return;
    }
  c->memory = path_exists ("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  c->swap = path_exists ("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes");
  c->oom_kill_disable = path_exists ("/sys/fs/cgroup/memory/memory.oom_control");
  c->cfs_period = path_exists ("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  c->cfs_quota = path_exists ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us");
  c->shares = path_exists ("/sys/fs/cgroup/cpu/cpu.shares");
  c->cpuset = path_exists ("/sys/fs/cgroup/cpuset/cpuset.cpus");
  c->pids = path_exists ("/sys/fs/cgroup/pids");
}

static int64_t
mem_total (void)
{
  _cleanup_fclose_ FILE *f = fopen ("/proc/meminfo", "re");
  char line[256];
  long long kb = 0;
  while (f && fgets (line, sizeof line, f))
    if (sscanf (line, "MemTotal: %lld kB", &kb) == 1)
      break;
  return (int64_t) kb * 1024;
}

static int
ncpu (void)
{
  /* Go's runtime.NumCPU: the CPUs in the affinity mask */
  cpu_set_t set;
  if (sched_getaffinity (0, sizeof set, &set) == 0)
    return CPU_COUNT (&set);
  return (int) sysconf (_SC_NPROCESSORS_ONLN);
}

static int
count_fds (void)
{
  _cleanup_closedir_ DIR *d = opendir ("/proc/self/fd");
  int n = 0;
  struct dirent *de;
  while (d && (de = readdir (d)))
    if (de->d_name[0] != '.')
      n++;
  return n > 0 ? n - 1 : 0; /* minus the one opendir holds */
}

static int
count_threads (void)
{
  _cleanup_fclose_ FILE *f = fopen ("/proc/self/status", "re");
  char line[256];
  int n = 0;
  while (f && fgets (line, sizeof line, f))
    if (sscanf (line, "Threads: %d", &n) == 1)
      break;
  return n;
}

static bool
ipv4_forwarding (void)
{
  _cleanup_fclose_ FILE *f = fopen ("/proc/sys/net/ipv4/ip_forward", "re");
  int v = 0;
  return f && fscanf (f, "%d", &v) == 1 && v == 1;
}

/* moby's names for the backing filesystem of the data root */
static const char *
backing_fs (const char *path)
{
  struct statfs s;
  if (path == NULL || statfs (path, &s) < 0)
    return "<unknown>";
  switch ((unsigned long) s.f_type)
    {
    case 0xEF53: return "extfs";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x01021994: return "tmpfs";
    case 0x794c7630: return "overlayfs";
    case 0x2FC12FC1: return "zfs";
    case 0x6969: return "nfs";
    case 0xF2F52010: return "f2fs";
    default: return "<unknown>";
    }
}

/* Build time in RFC 3339 from __DATE__ / __TIME__ (UTC assumed). */
static const char *
build_time (void)
{
  static char buf[64];
  if (buf[0])
    return buf;
  struct tm tm = { 0 };
  char in[64];
  snprintf (in, sizeof in, "%s %s", __DATE__, __TIME__);
  if (strptime (in, "%b %d %Y %H:%M:%S", &tm) == NULL)
    return "";
  strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000000000+00:00", &tm);
  return buf;
}

static const char *
compiler_version (void)
{
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown";
#endif
}

/* `<runtime> --version`, first call only: "runc version 1.1.5" and
 * "commit: v1.1.5-0-g..." lines. */
static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;
static char *runtime_version_str, *runtime_commit_str;

static void
runtime_version (const char *path, const char **version, const char **commit)
{
  pthread_mutex_lock (&runtime_lock);
  if (runtime_version_str == NULL && path)
    {
      _cleanup_free_ char *cmd = xasprintf ("'%s' --version 2>/dev/null", path);
      FILE *p = strchr (path, '\'') ? NULL : popen (cmd, "re");
      char line[256];
      while (p && fgets (line, sizeof line, p))
        {
          line[strcspn (line, "\n")] = '\0';
          char *v;
          if ((v = strstr (line, " version ")) && runtime_version_str == NULL)
            runtime_version_str = xstrdup (v + strlen (" version "));
          else if (str_has_prefix (line, "commit: ") && runtime_commit_str == NULL)
            runtime_commit_str = xstrdup (line + strlen ("commit: "));
        }
      if (p)
        pclose (p);
      if (runtime_version_str == NULL)
        runtime_version_str = xstrdup ("");
      if (runtime_commit_str == NULL)
        runtime_commit_str = xstrdup ("");
    }
  *version = runtime_version_str ? runtime_version_str : "";
  *commit = runtime_commit_str ? runtime_commit_str : "";
  pthread_mutex_unlock (&runtime_lock);
}

/* ---- handlers ------------------------------------------------------------- */

static void
ping_headers (arca_http_request_t *req)
{
  arca_resp_header (req, "Cache-Control", "no-cache, no-store, must-revalidate");
  arca_resp_header (req, "Pragma", "no-cache");
  /* no BuildKit: the legacy builder's version */
  arca_resp_header (req, "Builder-Version", "1");
  arca_resp_header (req, "Swarm", "inactive");
}

static int
get_ping (arca_http_request_t *req, void *app, arca_error_t *err)
{
  ping_headers (req);
  return arca_resp_data (req, 200, "text/plain; charset=utf-8", "OK", 2);
}

static int
head_ping (arca_http_request_t *req, void *app, arca_error_t *err)
{
  ping_headers (req);
  return arca_resp_data (req, 200, "text/plain; charset=utf-8", "", 0);
}

static int
get_version (arca_http_request_t *req, void *app, arca_error_t *err)
{
  arca_engine_t *e = app;
  _cleanup_free_ char *kernel = kernel_version ();
  const char *rt_name = "runc", *rt_path = NULL;
  if (e)
    {
      const arca_engine_options_t *o = arca_engine_options (e);
      if (o && o->runtime_name)
        rt_name = o->runtime_name;
      if (o)
        rt_path = o->runtime_path;
    }
  const char *rt_version, *rt_commit;
  runtime_version (rt_path, &rt_version, &rt_commit);

  json_t *components = json_pack ("[{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}}]",
                                  "Name", "Engine", "Version", ARCA_VERSION, "Details", "ApiVersion", API_VERSION,
                                  "Arch", go_arch (), "BuildTime", build_time (), "Experimental", "false",
                                  "GitCommit", ARCA_GIT_COMMIT, "GoVersion", compiler_version (), "KernelVersion",
                                  kernel, "MinAPIVersion", MIN_API_VERSION, "Os", "linux");
  if (rt_version[0])
    json_array_append_new (components, json_pack ("{s:s, s:s, s:{s:s}}", "Name", rt_name, "Version", rt_version,
                                                  "Details", "GitCommit", rt_commit));
  json_t *v = json_pack ("{s:{s:s}, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Platform", "Name",
                         "Arca Engine", "Components", components, "Version", ARCA_VERSION, "ApiVersion",
                         API_VERSION, "MinAPIVersion", MIN_API_VERSION, "GitCommit", ARCA_GIT_COMMIT, "GoVersion",
                         compiler_version (), "Os", "linux", "Arch", go_arch (), "KernelVersion", kernel,
                         "BuildTime", build_time ());
  return arca_resp_json (req, 200, v);
}

static json_t *
json_str_or_empty (const char *s)
{
  return json_string (s ? s : "");
}

static int
get_info (arca_http_request_t *req, void *app, arca_error_t *err)
{
  arca_engine_t *e = app;
  const arca_engine_options_t *o = e ? arca_engine_options (e) : NULL;
  arca_container_counts_t counts = { 0 };
  int images = 0;
  if (e)
    {
      arca_engine_container_counts (e, &counts);
      images = engine_image_count (e);
    }
  cgroup_caps_t cg;
  cgroup_caps (&cg);
  _cleanup_free_ char *kernel = kernel_version ();
  _cleanup_free_ char *mach = machine ();
  _cleanup_free_ char *pretty = os_release ("PRETTY_NAME");
  _cleanup_free_ char *os_version = os_release ("VERSION_ID");
  char host[256] = "";
  gethostname (host, sizeof host - 1);
  char now[64];
  time_format_rfc3339nano (time_now_ns (), now, sizeof now);
  const char *data_root = o && o->data_root ? o->data_root : "";

  json_t *info = json_object ();
  json_object_set_new (info, "ID", json_str_or_empty (e ? arca_engine_id (e) : NULL));
  json_object_set_new (info, "Containers", json_integer (counts.total));
  json_object_set_new (info, "ContainersRunning", json_integer (counts.running));
  json_object_set_new (info, "ContainersPaused", json_integer (counts.paused));
  json_object_set_new (info, "ContainersStopped", json_integer (counts.stopped));
  json_object_set_new (info, "Images", json_integer (images < 0 ? 0 : images));
  json_object_set_new (info, "Driver", json_string ("overlay2"));
  json_object_set_new (info, "DriverStatus",
                       json_pack ("[[s,s],[s,s],[s,s],[s,s],[s,s]]", "Backing Filesystem", backing_fs (data_root),
                                  "Supports d_type", "true", "Using metacopy", "false", "Native Overlay Diff",
                                  "true", "userxattr", "false"));
  json_object_set_new (info, "Plugins",
                       json_pack ("{s:[s], s:[s,s,s], s:n, s:[s]}", "Volume", "local", "Network", "bridge", "host",
                                  "none", "Authorization", "Log", "json-file"));
  json_object_set_new (info, "MemoryLimit", json_boolean (cg.memory));
  json_object_set_new (info, "SwapLimit", json_boolean (cg.swap));
  json_object_set_new (info, "CpuCfsPeriod", json_boolean (cg.cfs_period));
  json_object_set_new (info, "CpuCfsQuota", json_boolean (cg.cfs_quota));
  json_object_set_new (info, "CPUShares", json_boolean (cg.shares));
  json_object_set_new (info, "CPUSet", json_boolean (cg.cpuset));
  json_object_set_new (info, "PidsLimit", json_boolean (cg.pids));
  json_object_set_new (info, "IPv4Forwarding", json_boolean (ipv4_forwarding ()));
  json_object_set_new (info, "OomKillDisable", json_boolean (cg.oom_kill_disable));
  json_object_set_new (info, "Debug", json_boolean (arca_log_get_level () == ARCA_LOG_DEBUG));
  json_object_set_new (info, "NFd", json_integer (count_fds ()));
  json_object_set_new (info, "NGoroutines", json_integer (count_threads ()));
  json_object_set_new (info, "SystemTime", json_string (now));
  json_object_set_new (info, "LoggingDriver", json_string ("json-file"));
  json_object_set_new (info, "CgroupDriver", json_string ("cgroupfs"));
  json_object_set_new (info, "CgroupVersion", json_string (cgroup_v2 () ? "2" : "1"));
  json_object_set_new (info, "NEventsListener", json_integer (0));
  json_object_set_new (info, "KernelVersion", json_string (kernel));
  json_object_set_new (info, "OperatingSystem", json_str_or_empty (pretty ? pretty : "Linux"));
  json_object_set_new (info, "OSVersion", json_str_or_empty (os_version));
  json_object_set_new (info, "OSType", json_string ("linux"));
  json_object_set_new (info, "Architecture", json_string (mach));
  json_object_set_new (info, "IndexServerAddress", json_string ("https://index.docker.io/v1/"));
  json_object_set_new (
      info, "RegistryConfig",
      json_pack ("{s:[s,s], s:{s:{s:s, s:[], s:b, s:b}}, s:[]}", "InsecureRegistryCIDRs", "::1/128", "127.0.0.0/8",
                 "IndexConfigs", "docker.io", "Name", "docker.io", "Mirrors", "Secure", 1, "Official", 1, "Mirrors"));
  json_object_set_new (info, "NCPU", json_integer (ncpu ()));
  json_object_set_new (info, "MemTotal", json_integer (mem_total ()));
  json_object_set_new (info, "GenericResources", json_null ());
  json_object_set_new (info, "DockerRootDir", json_string (data_root));
  json_object_set_new (info, "HttpProxy", json_str_or_empty (getenv ("HTTP_PROXY") ?: getenv ("http_proxy")));
  json_object_set_new (info, "HttpsProxy", json_str_or_empty (getenv ("HTTPS_PROXY") ?: getenv ("https_proxy")));
  json_object_set_new (info, "NoProxy", json_str_or_empty (getenv ("NO_PROXY") ?: getenv ("no_proxy")));
  json_object_set_new (info, "Name", json_string (host));
  json_object_set_new (info, "Labels", json_array ());
  json_object_set_new (info, "ExperimentalBuild", json_false ());
  json_object_set_new (info, "ServerVersion", json_string (ARCA_VERSION));

  json_t *runtimes = json_object ();
  if (o && json_is_object (o->runtimes))
    {
      const char *name;
      json_t *rt;
      json_object_foreach (o->runtimes, name, rt)
      {
        const char *path = json_is_object (rt) ? json_string_value (json_object_get (rt, "path")) : NULL;
        json_object_set_new (runtimes, name, json_pack ("{s:s}", "path", path ? path : name));
      }
    }
  else
    json_object_set_new (runtimes, "runc", json_pack ("{s:s}", "path", "runc"));
  json_object_set_new (info, "Runtimes", runtimes);
  json_object_set_new (info, "DefaultRuntime", json_string (o && o->runtime_name ? o->runtime_name : "runc"));
  json_object_set_new (info, "Swarm",
                       json_pack ("{s:s, s:s, s:s, s:b, s:s, s:n}", "NodeID", "", "NodeAddr", "", "LocalNodeState",
                                  "inactive", "ControlAvailable", 0, "Error", "", "RemoteManagers"));
  json_object_set_new (info, "LiveRestoreEnabled", json_false ());
  /* dockerd on Linux leaves it empty; with VM isolation the default mode
   * is worth showing (the CLI prints it only for Windows daemons). */
  const char *iso = e ? arca_engine_default_isolation (e) : "process";
  json_object_set_new (info, "Isolation", json_string (strcmp (iso, "vm") == 0 ? "vm" : ""));
  json_object_set_new (info, "InitBinary", json_string ("docker-init"));
  const char *rt_version, *rt_commit;
  runtime_version (o ? o->runtime_path : NULL, &rt_version, &rt_commit);
  json_object_set_new (info, "ContainerdCommit", json_pack ("{s:s}", "ID", ""));
  json_object_set_new (info, "RuncCommit", json_pack ("{s:s}", "ID", rt_commit));
  json_object_set_new (info, "InitCommit", json_pack ("{s:s}", "ID", ""));
  json_t *secopts = json_pack ("[s]", "name=seccomp,profile=builtin");
  if (cgroup_v2 ()) /* dockerd: private cgroup namespaces by default on v2 */
    json_array_append_new (secopts, json_string ("name=cgroupns"));
  /* VM isolation: available, with the accelerator and the guest kernel */
  char *vmopt = e ? arca_engine_vm_security_option (e) : NULL;
  bool vmopt_tcg = vmopt && strstr (vmopt, ",accelerator=tcg");
  if (vmopt)
    json_array_append_new (secopts, json_string (vmopt));
  free (vmopt);
  json_object_set_new (info, "SecurityOptions", secopts);
  json_object_set_new (info, "FirewallBackend", json_pack ("{s:s}", "Driver", "nftables"));
  json_object_set_new (info, "CDISpecDirs", json_array ());
  /* The CLI prints only the "profile" of a security option: the one thing
   * about VM isolation a reader must know goes where it is printed. */
  if (vmopt_tcg)
    json_object_set_new (info, "Warnings",
                         json_pack ("[s]", "WARNING: VM isolation runs under TCG (software emulation): no usable KVM on "
                                           "this host"));
  else
    json_object_set_new (info, "Warnings", json_null ());
  return arca_resp_json (req, 200, info);
}

const arca_route_t arca_system_routes[] = {
  { "GET", "/_ping", get_ping, 0 },
  { "HEAD", "/_ping", head_ping, 0 },
  { "GET", "/version", get_version, 0 },
  { "GET", "/info", get_info, 0 },
  { 0 },
};
