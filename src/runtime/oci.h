/* The OCI runtime driver: which runtime a container uses, the daemon's own
 * invocations of it (pause, resume, update, delete), and how its failures
 * read as dockerd's errors.  The shim runs `run` and `exec` itself
 * (runtime/shim_client.h); this file is everything else.
 *
 * Runtimes come from the daemon's configuration ("runtimes" in the config
 * file, as daemon.json; runc and crun by default); each has its own state
 * root <exec-root>/<name> (runc's is <exec-root>/runc). */
#ifndef ARCA_RUNTIME_OCI_H
#define ARCA_RUNTIME_OCI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdbool.h>

#include "util/error.h"

typedef struct
{
  char *name;  /* "runc" */
  char *path;  /* executable (resolved in PATH when found) */
  char *root;  /* --root */
  /* crun on a hybrid host whose cgroup2 hierarchy has controllers: every
   * invocation runs in the cgroup v1 view (util/cgview.h) */
  bool cgroup_v1_view;
  bool crun; /* its executable is crun's: it takes a compiled seccomp filter */
  /* crun on cgroup v1 hierarchies: oci_update writes "no limit" itself */
  bool crun_v1_limits;
  /* runc and crun: a sealed memfd copy of the executable, run instead of
   * path (argv[0] stays path), -1 if none; exec_path is its
   * /proc/self/fd name in the daemon (oci.c sealed_copy) */
  int exec_fd;
  char exec_path[32];
} arca_oci_runtime_t;

typedef struct arca_oci_runtimes arca_oci_runtimes_t;

/* The configured runtimes ({"name":{"path":...}}), default_name among them;
 * exec_root is where their state roots go. */
arca_oci_runtimes_t *oci_runtimes_new (json_t *runtimes, const char *default_name, const char *default_path,
                                       const char *exec_root);
void oci_runtimes_free (arca_oci_runtimes_t *r);
/* HostConfig.Runtime -> runtime ("" = the default).  400 "unknown or
 * invalid runtime name: <name>" (moby daemon/runtime_unix.go getRuntime). */
int oci_runtime_get (arca_oci_runtimes_t *r, const char *name, const arca_oci_runtime_t **out, arca_error_t *err);
const char *oci_runtime_default_name (arca_oci_runtimes_t *r);
/* The i-th configured runtime, NULL past the last (start-up recovery walks
 * every state root). */
const arca_oci_runtime_t *oci_runtime_at (arca_oci_runtimes_t *r, size_t i);

/* `<runtime> --root <root> <args...> <id>`; on failure the runtime's message
 * (its last logrus error line's msg, else its last line) as
 * ARCA_ERR_INTERNAL. */
int oci_run (const arca_oci_runtime_t *rt, const char *id, const char *const *args, arca_error_t *err);
int oci_pause (const arca_oci_runtime_t *rt, const char *id, arca_error_t *err);
int oci_resume (const arca_oci_runtime_t *rt, const char *id, arca_error_t *err);
/* `update -r <file>` with an OCI LinuxResources object; file is written in
 * state_dir and removed afterwards.  cgroups_path: the container's
 * linux.cgroupsPath ("/arca/<id>"). */
int oci_update (const arca_oci_runtime_t *rt, const char *id, const char *state_dir, const char *cgroups_path,
                json_t *resources, arca_error_t *err);

/* A container start the runtime refused (moby daemon/start.go,
 * errors.go translateContainerdStartErr / setExitCodeFromError): the exit
 * code the container records (127 command not found, 126 not executable,
 * else 128), the error kind of the API answer, and dockerd's text
 * "failed to create task for container: OCI runtime create failed: <msg>:
 * unknown" (malloc'd).  crun's words for a command that cannot run are
 * given as runc's, for arg0 (the process's args[0]). */
int oci_start_failure (const char *runtime_msg, const char *arg0, arca_error_kind_t *kind, char **text);
/* An exec start the runtime refused: exit code 126 (whatever the cause, as
 * dockerd records it) and dockerd's text
 * "OCI runtime exec failed: <msg>: unknown". */
int oci_exec_failure (const char *runtime_msg, const char *arg0, char **text);

#endif
