/* OCI runtime driver (runtime/oci.h): runc/crun invocations from the
 * daemon and the translation of their failures into dockerd's errors. */
#include "runtime/oci.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cgview.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/spawn.h"
#include "util/strutil.h"

struct arca_oci_runtimes
{
  arca_oci_runtime_t *v;
  size_t n;
  size_t dflt;
};

static char *
find_in_path (const char *name)
{
  if (strchr (name, '/'))
    return xstrdup (name);
  const char *path = getenv ("PATH");
  _cleanup_free_ char *copy = xstrdup (path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  char *save = NULL;
  for (char *d = strtok_r (copy, ":", &save); d; d = strtok_r (NULL, ":", &save))
    {
      _cleanup_free_ char *p = xasprintf ("%s/%s", d, name);
      if (access (p, X_OK) == 0)
        return xstrdup (p);
    }
  return xstrdup (name);
}

/* The runtime's executable copied into a sealed memfd, or -1.  runc and
 * crun protect themselves from CVE-2019-5736 (a container overwriting
 * the host's runtime binary through /proc/self/exe) by re-executing
 * themselves from a sealed copy at every invocation (crun: a read-only
 * bind mount of /proc/self/exe and a second exec; runc: a memfd copy of
 * its ~10 MB binary for `runc init`), unless /proc/self/exe already is a
 * memfd carrying all four seals (crun and runc is_self_cloned: "an admin
 * could bind-mount a sealed memfd to /usr/bin/crun to allow re-use").
 * Executing them from one such copy made once gives the same protection
 * (nothing can write to it) without the per-invocation cost (~2.5 ms a
 * crun call here).  A runtime upgraded on disk is used from the next
 * daemon start. */
static int
sealed_copy (const char *path)
{
  _cleanup_close_ int in = open (path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (in < 0 || fstat (in, &st) < 0 || !S_ISREG (st.st_mode))
    return -1;
  int fd = memfd_create ("arca-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return -1;
  off_t left = st.st_size;
  while (left > 0)
    {
      ssize_t n = sendfile (fd, in, NULL, (size_t) left);
      if (n <= 0)
        {
          close (fd);
          return -1;
        }
      left -= n;
    }
  if (fcntl (fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
    {
      close (fd);
      return -1;
    }
  /* Above the descriptors a shim is given (shim_client.c: 3 and 4), so
   * that placing one never overwrites the other. */
  int high = fcntl (fd, F_DUPFD_CLOEXEC, 100);
  close (fd);
  return high;
}

/* The executable's file name starts with name: crun's is "crun" or, say,
 * "crun-1.19"; runc's "runc". */
static bool
named (const char *path, const char *name)
{
  const char *base = strrchr (path, '/');
  return strncmp (base ? base + 1 : path, name, strlen (name)) == 0;
}

arca_oci_runtimes_t *
oci_runtimes_new (json_t *runtimes, const char *default_name, const char *default_path, const char *exec_root)
{
  arca_oci_runtimes_t *r = xmalloc0 (sizeof *r);
  size_t cap = json_object_size (runtimes) + 1;
  r->v = xmalloc0 (cap * sizeof *r->v);
  const char *name;
  json_t *v;
  json_object_foreach (runtimes, name, v)
    {
      const char *path = json_string_value (json_object_get (v, "path"));
      if (path == NULL)
        continue;
      bool is_default = default_name && strcmp (name, default_name) == 0;
      r->v[r->n].name = xstrdup (name);
      r->v[r->n].path = is_default && default_path ? xstrdup (default_path) : find_in_path (path);
      r->v[r->n].root = xasprintf ("%s/%s", exec_root, name);
      if (is_default)
        r->dflt = r->n;
      r->n++;
    }
  if (r->n == 0)
    {
      /* No configuration: runc alone. */
      r->v[0].name = xstrdup (default_name ? default_name : "runc");
      r->v[0].path = xstrdup (default_path ? default_path : "runc");
      r->v[0].root = xasprintf ("%s/%s", exec_root, r->v[0].name);
      r->n = 1;
    }
  bool v1 = cgview_v1_host ();
  bool hybrid = cgview_hybrid_with_v2_controllers ();
  for (size_t i = 0; i < r->n; i++)
    {
      bool crun = named (r->v[i].path, "crun");
      r->v[i].crun = crun;
      r->v[i].crun_v1_limits = crun && v1;
      r->v[i].cgroup_v1_view = crun && hybrid;
      /* Only the two whose check is known: another runtime may be a
       * script, which cannot run from a close-on-exec descriptor. */
      r->v[i].exec_fd = crun || named (r->v[i].path, "runc") ? sealed_copy (r->v[i].path) : -1;
      if (r->v[i].exec_fd >= 0)
        snprintf (r->v[i].exec_path, sizeof r->v[i].exec_path, "/proc/self/fd/%d", r->v[i].exec_fd);
    }
  return r;
}

const arca_oci_runtime_t *
oci_runtime_at (arca_oci_runtimes_t *r, size_t i)
{
  return i < r->n ? &r->v[i] : NULL;
}

void
oci_runtimes_free (arca_oci_runtimes_t *r)
{
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n; i++)
    {
      free (r->v[i].name);
      free (r->v[i].path);
      free (r->v[i].root);
      if (r->v[i].exec_fd >= 0)
        close (r->v[i].exec_fd);
    }
  free (r->v);
  free (r);
}

const char *
oci_runtime_default_name (arca_oci_runtimes_t *r)
{
  return r->v[r->dflt].name;
}

int
oci_runtime_get (arca_oci_runtimes_t *r, const char *name, const arca_oci_runtime_t **out, arca_error_t *err)
{
  if (name == NULL || *name == '\0')
    {
      *out = &r->v[r->dflt];
      return 0;
    }
  for (size_t i = 0; i < r->n; i++)
    if (strcmp (r->v[i].name, name) == 0)
      {
        *out = &r->v[i];
        return 0;
      }
  return arca_error_set (err, ARCA_ERR_INVALID, "unknown or invalid runtime name: %s", name);
}

/* The runtime's message from its stderr: the msg="..." of its last error
 * line (logrus text format), else the last non-empty line. */
static char *
runtime_message (const char *stderr_text)
{
  _cleanup_free_ char *copy = xstrdup (stderr_text ? stderr_text : "");
  char *last = NULL;
  char *save = NULL;
  for (char *line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    if (*line)
      last = line;
  if (last == NULL)
    return xstrdup ("unknown error");
  char *m = strstr (last, "msg=\"");
  if (m)
    {
      m += 5;
      arca_buf_t b = { 0 };
      for (; *m && *m != '"'; m++)
        {
          if (*m == '\\' && m[1])
            m++;
          buf_append (&b, m, 1);
        }
      buf_append (&b, "", 1);
      return b.data;
    }
  return xstrdup (last);
}

int
oci_run (const arca_oci_runtime_t *rt, const char *id, const char *const *args, arca_error_t *err)
{
  _cleanup_strv_ char **argv = xmalloc0 (sizeof *argv);
  argv = strv_append (argv, rt->path);
  argv = strv_append (argv, "--root");
  argv = strv_append (argv, rt->root);
  for (size_t i = 0; args[i]; i++)
    argv = strv_append (argv, args[i]);
  argv = strv_append (argv, id);
  arca_buf_t out = { 0 }, errout = { 0 };
  int status = 0;
  int r = spawn_capture_file (rt->exec_fd >= 0 ? rt->exec_path : rt->path, argv,
                              rt->cgroup_v1_view ? cgview_enter_v1 : NULL, &out, &errout, &status, err);
  if (r == 0 && !(WIFEXITED (status) && WEXITSTATUS (status) == 0))
    {
      _cleanup_free_ char *msg = runtime_message (errout.data);
      r = arca_error_set (err, ARCA_ERR_INTERNAL, "%s", msg);
    }
  buf_free (&out);
  buf_free (&errout);
  return r;
}

int
oci_pause (const arca_oci_runtime_t *rt, const char *id, arca_error_t *err)
{
  static const char *const args[] = { "pause", NULL };
  return oci_run (rt, id, args, err);
}

int
oci_resume (const arca_oci_runtime_t *rt, const char *id, arca_error_t *err)
{
  static const char *const args[] = { "resume", NULL };
  return oci_run (rt, id, args, err);
}

/* crun (1.8) writes a cgroup v1 limit as an unsigned number (libcrun
 * cgroup-resources.c write_pids_resources, write_cpu_resources): -1, the
 * spec's "no limit", which runc writes as "max" and -1, is refused
 * (EINVAL, ERANGE).  Those two are taken out of what crun gets and written
 * to the v1 files after its update. */
typedef struct
{
  bool pids, quota;
} crun_unlimited_t;

static crun_unlimited_t
crun_unlimited_take (json_t *res)
{
  crun_unlimited_t u = { false, false };
  json_t *pids = json_object_get (res, "pids");
  if (json_integer_value (json_object_get (pids, "limit")) < 0)
    {
      json_object_del (res, "pids");
      u.pids = true;
    }
  json_t *cpu = json_object_get (res, "cpu");
  if (json_integer_value (json_object_get (cpu, "quota")) < 0)
    {
      json_object_del (cpu, "quota");
      u.quota = true;
    }
  return u;
}

static int
cgroup_v1_write (const char *controller, const char *cgroups_path, const char *file, const char *value,
                 arca_error_t *err)
{
  _cleanup_free_ char *path = xasprintf ("/sys/fs/cgroup/%s%s/%s", controller, cgroups_path, file);
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return arca_error_errno (err, errno, "open %s", path);
  ssize_t n = write (fd, value, strlen (value));
  int saved = errno;
  close (fd);
  if (n < 0)
    return arca_error_errno (err, saved, "writing %s", path);
  return 0;
}

static int
crun_unlimited_write (crun_unlimited_t u, const char *cgroups_path, arca_error_t *err)
{
  if (u.pids && cgroup_v1_write ("pids", cgroups_path, "pids.max", "max", err) < 0)
    return -1;
  if (u.quota && cgroup_v1_write ("cpu", cgroups_path, "cpu.cfs_quota_us", "-1", err) < 0)
    return -1;
  return 0;
}

int
oci_update (const arca_oci_runtime_t *rt, const char *id, const char *state_dir, const char *cgroups_path,
            json_t *resources, arca_error_t *err)
{
  _cleanup_json_ json_t *res = json_deep_copy (resources);
  crun_unlimited_t unlimited = { false, false };
  if (rt->crun_v1_limits)
    unlimited = crun_unlimited_take (res);
  _cleanup_free_ char *file = xasprintf ("%s/update-resources.json", state_dir);
  _cleanup_free_ char *text = json_dump_compact (res);
  const char *args[] = { "update", "-r", file, NULL };
  int r = fs_write_atomic (file, text, strlen (text), 0600, err);
  if (r == 0)
    r = oci_run (rt, id, args, err);
  unlink (file);
  if (r == 0)
    r = crun_unlimited_write (unlimited, cgroups_path, err);
  return r;
}

/* crun's "the sysctl `X` requires a new <kind> namespace" as runc's
 * (libcontainer/configs/validate sysctl), which dockerd shows. */
static char *
crun_sysctl_message (const char *msg)
{
  static const char head[] = "the sysctl `";
  if (strncmp (msg, head, sizeof head - 1) != 0)
    return NULL;
  const char *name = msg + sizeof head - 1;
  const char *end = strchr (name, '`');
  if (end == NULL)
    return NULL;
  int len = (int) (end - name);
  if (strcmp (end, "` requires a new network namespace") == 0)
    return xasprintf ("sysctl \"%.*s\" not allowed in host network namespace", len, name);
  if (strcmp (end, "` requires a new IPC namespace") == 0)
    return xasprintf ("sysctl \"%.*s\" is not allowed in the hosts ipc namespace", len, name);
  return NULL;
}

/* crun's words for a command it could not execute (libcrun
 * linux.c/container.c: "executable file `X` not found in $PATH: No such
 * file or directory", "open executable: Permission denied" and, for a
 * directory, "...: Operation not permitted"), as runc words them: dockerd
 * users read runc's, and the docker CLI takes `docker run`'s exit status
 * from them (cli/command/container/run.go: 127 for "executable file not
 * found" or "no such file or directory", 126 for "permission denied").
 * NULL when msg is not one of them. */
static char *
crun_exec_message (const char *msg, const char *arg0)
{
  const char *name = arg0 ? arg0 : "";
  if (strncmp (msg, "executable file `", 17) == 0 && strstr (msg, "not found in $PATH"))
    {
      if (strchr (name, '/'))
        return xasprintf ("exec: \"%s\": stat %s: no such file or directory", name, name);
      return xasprintf ("exec: \"%s\": executable file not found in $PATH", name);
    }
  if (strncmp (msg, "open executable: ", 17) == 0
      && (strstr (msg, "Permission denied") || strstr (msg, "Operation not permitted")))
    return xasprintf ("exec: \"%s\": permission denied", name);
  return NULL;
}

int
oci_start_failure (const char *runtime_msg, const char *arg0, arca_error_kind_t *kind, char **text)
{
  _cleanup_free_ char *crun = crun_exec_message (runtime_msg, arg0);
  _cleanup_free_ char *as_runc = crun ? xasprintf ("unable to start container process: %s", crun)
                                      : crun_sysctl_message (runtime_msg);
  const char *msg = as_runc ? as_runc : runtime_msg;
  int code = 128;
  if (strstr (msg, "executable file not found") || strstr (msg, "no such file or directory"))
    code = 127;
  else if (strstr (msg, "permission denied") || strstr (msg, "is a directory"))
    code = 126;
  /* EISDIR gets ": permission denied" so the CLI maps it to 126 too. */
  if (strstr (msg, "is a directory") && !strstr (msg, "permission denied"))
    *text = xasprintf ("failed to create task for container: OCI runtime create failed: %s: permission denied: unknown",
                       msg);
  else
    *text = xasprintf ("failed to create task for container: OCI runtime create failed: %s: unknown", msg);
  *kind = code == 128 ? ARCA_ERR_INTERNAL : ARCA_ERR_INVALID;
  return code;
}

int
oci_exec_failure (const char *msg, const char *arg0, char **text)
{
  _cleanup_free_ char *crun = crun_exec_message (msg, arg0);
  _cleanup_free_ char *as_runc = crun ? xasprintf ("exec failed: unable to start container process: %s", crun) : NULL;
  const char *runtime_msg = as_runc ? as_runc : msg;
  int code = 126;
  if (strstr (runtime_msg, "permission denied"))
    *text = xasprintf ("OCI runtime exec failed: %s: unknown", runtime_msg);
  else if (strstr (runtime_msg, "is a directory"))
    *text = xasprintf ("OCI runtime exec failed: %s: unknown: permission denied", runtime_msg);
  else
    *text = xasprintf ("OCI runtime exec failed: %s: unknown", runtime_msg);
  /* Always 126, even for a command that is not found: moby's
   * ContainerExecStart (daemon/exec.go) sets the exit code from the error
   * and then its deferred clean-up overwrites it with 126 (measured on
   * dockerd 20.10: `docker exec c nosuch` exits 126; docker-py's
   * test_exec_run_failed expects it). */
  return code;
}
