/* Start-up recovery (docs/design.md "Crash consistency").
 *
 * The container's row in SQLite is the commit point of every lifecycle
 * step: what the row says is what the user sees, and recovery makes the
 * host match it.
 *   - A row that is not running, with a shim or runtime state left: a start
 *     was cut short before its commit (start_record_running).  Undo it:
 *     the shim is told to kill its process and answers once the runtime's
 *     state is deleted (or, before "start", is killed: nothing runs yet),
 *     the runtime's state is deleted, the rootfs unmounted; the network's
 *     leftovers go in networks_container_restore.
 *   - Directories no row owns: a create cut short before its commit, or a
 *     removal after it.  Removed, a rootfs unmounted first.
 * So a kill -9 at any instant leaks nothing and runs nothing Arca does not
 * list. */
#include "engine/internal.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/networks.h"
#include "engine/volumes.h"
#include "net/net.h"
#include "image/snapshot.h"
#include "runtime/shim_client.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timeutil.h"

/* The runtime's state for c, if it has any: `<runtime> delete --force`
 * (kills what still runs, removes the state and its cgroups), then the
 * cgroup directories it may leave behind (container_remove_cgroups). */
void
container_runtime_forget (arca_engine_t *e, arca_container_t *c)
{
  const arca_oci_runtime_t *rt;
  arca_error_t err;
  if (container_runtime (e, c, &rt, &err) < 0)
    return;
  _cleanup_free_ char *state = xasprintf ("%s/%s", rt->root, c->id);
  struct stat st;
  if (lstat (state, &st) == 0)
    {
      const char *args[] = { "delete", "--force", NULL };
      if (oci_run (rt, c->id, args, &err) < 0)
        log_warn ("container %.12s: %s delete --force: %s", c->id, rt->name, err.msg);
      else
        log_info ("container %.12s: deleted leftover runtime state", c->id);
    }
  container_remove_cgroups (e, c);
}

static bool
pid_gone (pid_t pid, int64_t timeout_ms)
{
  int64_t deadline = time_mono_ns () + timeout_ms * 1000000;
  while (kill (pid, 0) == 0 || errno != ESRCH)
    {
      if (time_mono_ns () > deadline)
        return false;
      /* a zombie of ours would never go: the shim is not our child
       * (spawned, then forked by itself), so ESRCH comes once init reaped it */
      usleep (10000);
    }
  return true;
}

/* Stop the shim a cut-short start left (a crash, or a step after the
 * shim's spawn that failed).  "state" is answered only after
 * a `run` in progress has finished (the shim runs it synchronously), so
 * nothing is half-created once it answers; SO_PEERCRED names the shim. */
static void
stop_leftover_shim (arca_engine_t *e, arca_container_t *c, const char *sdir)
{
  arca_error_t err;
  int fd = shim_connect (sdir, &err);
  if (fd < 0)
    return;
  struct timeval tv = { .tv_sec = 60 };
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct ucred cred = { 0 };
  socklen_t len = sizeof cred;
  if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
    cred.pid = 0;
  _cleanup_json_ json_t *req = json_pack ("{s:s}", "op", "state");
  _cleanup_json_ json_t *reply = NULL;
  if (shim_call (fd, req, &reply, &err) == 0)
    log_info ("container %.12s: stopping the shim (%s) of a start that did not finish", c->id,
              json_get_str (reply, "Status"));
  close (fd);
  /* No runtime child of the shim is at work any more: SIGKILL to the shim
   * is safe and quick (a VM's QEMU goes with it: PR_SET_PDEATHSIG).  A
   * process the runtime started outlives it, reparented;
   * container_runtime_forget's `delete --force` kills it.  The shim writes
   * no exit file then: the row never said running. */
  if (cred.pid > 1)
    {
      kill (cred.pid, SIGKILL);
      if (!pid_gone (cred.pid, 10000))
        log_warn ("container %.12s: leftover shim %d did not go", c->id, (int) cred.pid);
    }
  _cleanup_free_ char *exit_file = container_exit_file (e, c->id);
  unlink (exit_file);
}

bool
container_stop_unstarted_shim (arca_engine_t *e, arca_container_t *c)
{
  _cleanup_free_ char *sdir = container_state_dir (e, c->id);
  _cleanup_json_ json_t *req = json_pack ("{s:s}", "op", "state");
  _cleanup_json_ json_t *state = NULL;
  arca_error_t err;
  if (shim_request (sdir, req, &state, &err) < 0 || strcmp (json_get_str (state, "Status") ?: "", "created") != 0)
    return false;
  stop_leftover_shim (e, c, sdir);
  return true;
}

void
container_recover_not_running (arca_engine_t *e, arca_container_t *c)
{
  _cleanup_free_ char *sdir = container_state_dir (e, c->id);
  _cleanup_free_ char *dir = container_dir (e, c->id);
  arca_error_t err;
  stop_leftover_shim (e, c, sdir);
  container_runtime_forget (e, c);
  if (snapshot_unmount (dir, &err) < 0)
    log_warn ("container %.12s: unmount rootfs: %s", c->id, err.msg);
  namespaces_container_stop (e, c); /* shareable /dev/shm */
  networks_container_restore (e, c, false); /* networking: leftovers of a crash */
}

static bool
known (arca_engine_t *e, const char *id)
{
  pthread_mutex_lock (&e->lock);
  bool found = false;
  for (arca_container_t *c = e->containers; c && !found; c = c->next)
    found = strcmp (c->id, id) == 0;
  pthread_mutex_unlock (&e->lock);
  return found;
}

/* Call fn on every entry of root named like a container ID (64 hex
 * digits) that no container of the engine owns. */
static void
for_each_orphan (arca_engine_t *e, const char *root, void (*fn) (const char *root, const char *id, void *ctx),
                 void *ctx)
{
  _cleanup_closedir_ DIR *d = opendir (root);
  if (d == NULL)
    return;
  struct dirent *de;
  while ((de = readdir (d)))
    if (strlen (de->d_name) == 64 && str_is_hex (de->d_name, 64) && !known (e, de->d_name))
      fn (root, de->d_name, ctx);
}

/* A container directory no row owns (data: with its overlay snapshot). */
static void
remove_leftover_dir (const char *root, const char *id, void *ctx)
{
  bool data = *(const bool *) ctx;
  _cleanup_free_ char *path = xasprintf ("%s/%s", root, id);
  arca_error_t err;
  if (data)
    snapshot_remove (path, &err);
  if (fs_remove_all (path, &err) < 0)
    log_warn ("remove leftover %s: %s", path, err.msg);
  else
    log_info ("removed leftover container directory %s", path);
}

static void
sweep (arca_engine_t *e, const char *root, bool data)
{
  for_each_orphan (e, root, remove_leftover_dir, &data);
}

/* Runtime state no row owns: a removal cut short after its row went, or
 * a runtime state dir no shim cleaned.  `delete --force` kills what runs. */
static void
delete_runtime_state (const char *root, const char *id, void *ctx)
{
  (void) root;
  const arca_oci_runtime_t *rt = ctx;
  const char *args[] = { "delete", "--force", NULL };
  arca_error_t err;
  if (oci_run (rt, id, args, &err) < 0)
    log_warn ("%s delete --force %.12s: %s", rt->name, id, err.msg);
  else
    log_info ("deleted runtime state of %.12s, which no container owns", id);
}

static void
sweep_runtime (arca_engine_t *e, const arca_oci_runtime_t *rt)
{
  for_each_orphan (e, rt->root, delete_runtime_state, (void *) rt);
}

/* Endpoints (and their addresses) of containers without a row: a create
 * cut short between networks_container_create and its row. */
static void
sweep_endpoints (arca_engine_t *e)
{
  _cleanup_strv_ char **ids = net_endpoint_containers (e->net);
  for (size_t i = 0; ids[i]; i++)
    {
      if (known (e, ids[i]))
        continue;
      log_info ("removing the endpoints of %.12s, which no container owns", ids[i]);
      net_container_remove (e->net, ids[i]); /* its netns: remove_leftover_netns */
    }
}

/* A network namespace no row owns: an AutoRemove's removal cut short
 * between its answer and the namespace's unmount (monitor_exit), or a
 * create or start cut short (sweep_endpoints). */
static void
remove_leftover_netns (const char *root, const char *id, void *ctx)
{
  (void) root;
  arca_engine_t *e = ctx;
  net_container_netns_remove (e->net, id);
  log_info ("removed the network namespace of %.12s, which no container owns", id);
}

void
containers_reconcile (arca_engine_t *e)
{
  _cleanup_free_ char *data = xasprintf ("%s/containers", e->data_root);
  _cleanup_free_ char *state = xasprintf ("%s/containers", e->exec_root);
  const arca_oci_runtime_t *rt;
  for (size_t i = 0; (rt = oci_runtime_at (e->runtimes, i)); i++)
    sweep_runtime (e, rt);
  sweep (e, data, true);
  sweep (e, state, false);
  sweep_endpoints (e);
  for_each_orphan (e, net_netns_dir (e->net), remove_leftover_netns, e);
  volumes_reconcile (e);
}
