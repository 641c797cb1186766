/* OCI runtime driver (runtime/oci.h): runc/crun invocations from the
 * daemon and the translation of their failures into dockerd's errors. */
#include "runtime/oci.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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
  int r = spawn_capture (argv, &out, &errout, &status, err);
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

int
oci_update (const arca_oci_runtime_t *rt, const char *id, const char *state_dir, json_t *resources,
            arca_error_t *err)
{
  _cleanup_free_ char *file = xasprintf ("%s/update-resources.json", state_dir);
  _cleanup_free_ char *text = json_dump_compact (resources);
  const char *args[] = { "update", "-r", file, NULL };
  int r = fs_write_atomic (file, text, strlen (text), 0600, err);
  if (r == 0)
    r = oci_run (rt, id, args, err);
  unlink (file);
  return r;
}

int
oci_start_failure (const char *msg, arca_error_kind_t *kind, char **text)
{
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
oci_exec_failure (const char *runtime_msg, char **text)
{
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
