/* Container lifecycle: start, stop, kill, restart, remove, resize, and the
 * monitor that learns of exits from the shim. */
#include "engine/events.h"
#include "engine/health.h"
#include "engine/internal.h"
#include "engine/links.h"
#include "engine/isolation.h"
#include "engine/restart.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/mounts.h"
#include "engine/networks.h"
#include "image/snapshot.h"
#include "runtime/oci.h"
#include "runtime/shim_client.h"
#include "runtime/spec.h"
#include "store/db.h"
#include "util/cleanup.h"
#include "util/crashpoint.h"
#include "util/fdwatch.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timeutil.h"

static void
set_error_locked (arca_container_t *c, const char *msg)
{
  free (c->error);
  c->error = msg ? xstrdup (msg) : NULL;
}

/* ---- monitor ---- */

static int remove_durable (arca_engine_t *e, arca_container_t *c, bool volumes, arca_error_t *err);

static void
rootfs_unmount (arca_container_t *c, const char *dir)
{
  arca_error_t err;
  if (snapshot_unmount (dir, &err) < 0)
    log_warn ("container %.12s: unmount rootfs: %s", c->id, err.msg);
}

typedef struct
{
  arca_engine_t *e;
  arca_container_t *c;
} monitor_ctx_t;

/* An exit saved unsynced (container_handle_exit) is durable once the
 * AutoRemove's deletion is committed; if the removal did not begin (an
 * rm -f took it over), its row is saved again, synced.  Then its waiters
 * answer. */
static void
exit_made_durable (arca_engine_t *e, arca_container_t *c)
{
  pthread_mutex_lock (&e->lock);
  if (c->exit_unsynced)
    {
      arca_error_t err;
      if (!c->removed && container_save (e, c, &err) < 0)
        log_error ("container %.12s: save state: %s", c->id, err.msg);
      c->exit_unsynced = false;
      pthread_cond_broadcast (&e->changed);
    }
  pthread_mutex_unlock (&e->lock);
}

/* The shim answered "wait" (the process exited) or its connection ended:
 * record the exit.  Runs on a thread of its own (util/fdwatch.h). */
static void
monitor_exit (int fd, void *arg)
{
  monitor_ctx_t *m = arg;
  int code = 137;
  int64_t finished = 0, drained = 0, replied = 0;
  bool oom = false;
  json_t *reply = NULL;
  arca_error_t err;
  arca_trace_t tr;
  if (shim_reply_read (fd, &reply, &err) == 0)
    {
      code = (int) json_get_int (reply, "ExitCode", 137);
      finished = json_get_int (reply, "FinishedAt", 0);
      oom = json_get_bool (reply, "OOMKilled", false);
      drained = json_get_int (reply, "DrainedAt", 0);
      replied = json_get_int (reply, "RepliedAt", 0);
    }
  else
    {
      /* The shim died or went away: it may still have written the exit
       * file.  Its process may still run, orphaned: delete the runtime's
       * state, which kills it, so nothing runs that Arca lists exited. */
      pthread_mutex_lock (&m->e->lock);
      bool closing = m->e->closing;
      pthread_mutex_unlock (&m->e->lock);
      if (closing)
        {
          /* the daemon is going away: the container stays with its shim */
          close (fd);
          container_unref (m->c);
          free (m);
          return;
        }
      container_runtime_forget (m->e, m->c);
      _cleanup_free_ char *exit_file = container_exit_file (m->e, m->c->id);
      if (shim_read_exit_file (exit_file, &code, &finished, &oom, &err) < 0)
        code = 137;
    }
  json_decref (reply);
  if (finished == 0)
    finished = time_now_ns ();
  arca_trace_begin (&tr, m->c->id, "exit");
  if (drained >= finished && replied >= drained && arca_log_get_level () == ARCA_LOG_DEBUG)
    {
      /* in the shim: exit -> output drained -> answer sent */
      log_debug ("trace %.12s exit.shim_drain %lld us", m->c->id, (long long) ((drained - finished) / 1000));
      log_debug ("trace %.12s exit.shim_finish %lld us", m->c->id, (long long) ((replied - drained) / 1000));
      arca_trace_since (&tr, "notify_recv", replied); /* answer sent -> daemon read it */
    }
  else
    arca_trace_since (&tr, "notify", finished); /* process gone -> daemon told */
  container_handle_exit (m->e, m->c, code, finished, oom);
  arca_trace_begin (&tr, m->c->id, "exit"); /* handle_exit traced its own phases */
  /* AutoRemove: remove the record and answer docker run --rm now, while
   * the shim deletes the runtime's state (no runtime delete on the path of
   * the answer); the cgroups and directories go once it is done.  A removal
   * already under way (rm -f) does all of it itself. */
  pthread_mutex_lock (&m->e->lock);
  bool netns_left = m->c->remove_after_monitor; /* container_handle_exit left it to us */
  bool remove = m->c->remove_after_monitor && !m->c->removing && !m->c->removed;
  m->c->remove_after_monitor = false;
  if (remove)
    m->c->removing = true;
  pthread_mutex_unlock (&m->e->lock);
  if (remove)
    {
      arca_error_t rerr;
      crashpoint ("autoremove-exit-saved"); /* the row says exited, unsynced: start-up removes it */
      if (remove_durable (m->e, m->c, true, &rerr) < 0)
        {
          log_warn ("container %.12s: auto-remove: %s", m->c->id, rerr.msg);
          _cleanup_free_ char *dir = container_dir (m->e, m->c->id);
          rootfs_unmount (m->c, dir); /* container_handle_exit left it */
        }
      arca_trace_mark (&tr, "autoremove_answer");
    }
  exit_made_durable (m->e, m->c);
  if (netns_left)
    networks_container_netns_remove (m->e, m->c);
  /* The shim answers before it deletes the runtime's state and closes the
   * connection once that is done: a new start waits for it (monitor_running). */
  struct pollfd p = { .fd = fd, .events = POLLIN };
  char drain[256];
  while (poll (&p, 1, 10000) > 0 && read (fd, drain, sizeof drain) > 0)
    ;
  close (fd);
  arca_trace_mark (&tr, "runtime_delete"); /* the shim's `runtime delete` */
  pthread_mutex_lock (&m->e->lock);
  m->c->monitor_running = false;
  pthread_cond_broadcast (&m->e->changed);
  pthread_mutex_unlock (&m->e->lock);
  if (remove)
    container_destroy_files (m->e, m->c);
  container_unref (m->c);
  free (m);
}

/* Wait for the answer to the "wait" already sent on fd (the shim's
 * connection, taken over) on the daemon's one waiting thread
 * (util/fdwatch.h): a running container costs a descriptor, not a
 * thread.  On failure fd is closed. */
static int
monitor_adopt (arca_engine_t *e, arca_container_t *c, int fd, arca_error_t *err)
{
  monitor_ctx_t *m = xmalloc0 (sizeof *m);
  m->e = e;
  m->c = c;
  pthread_mutex_lock (&e->lock);
  container_ref (c);
  c->monitor_running = true;
  pthread_mutex_unlock (&e->lock);
  if (fdwatch_add (fd, monitor_exit, m, 512 * 1024, err) < 0)
    {
      close (fd);
      free (m);
      pthread_mutex_lock (&e->lock);
      __atomic_sub_fetch (&c->refs, 1, __ATOMIC_ACQ_REL);
      c->monitor_running = false;
      pthread_mutex_unlock (&e->lock);
      return -1;
    }
  return 0;
}

/* Ask a running container's shim to answer at the exit (re-adoption). */
int
container_monitor_start (arca_engine_t *e, arca_container_t *c, arca_error_t *err)
{
  _cleanup_free_ char *sdir = container_state_dir (e, c->id);
  int fd = shim_connect (sdir, err);
  if (fd < 0)
    return -1;
  /* A shim gone already fails the send; its connection is then at EOF and
   * monitor_exit takes the shim-died path. */
  _cleanup_json_ json_t *req = json_pack ("{s:s}", "op", "wait");
  arca_error_t serr;
  if (shim_send (fd, req, &serr) < 0)
    log_debug ("container %.12s: wait: %s", c->id, serr.msg);
  return monitor_adopt (e, c, fd, err);
}

void
container_handle_exit (arca_engine_t *e, arca_container_t *c, int exit_code, int64_t finished_ns, bool oom_killed)
{
  arca_error_t err;
  arca_trace_t tr;
  arca_trace_begin (&tr, c->id, "exit");
  /* The teardown's commits (endpoints, addresses) go unsynced: the exit's
   * record below is the synced commit (store/db.h arca_db_defer_sync). */
  arca_db_defer_sync (true);
  _cleanup_free_ char *dir = container_dir (e, c->id);
  /* AutoRemove: the rootfs is unmounted with the directories, after the
   * answer to docker run --rm (container_destroy_files); an overlay's
   * unmount syncs its upper directory's filesystem. */
  pthread_mutex_lock (&e->lock);
  bool unmount_with_files = c->opts->auto_remove && !c->removing;
  pthread_mutex_unlock (&e->lock);
  if (!unmount_with_files)
    rootfs_unmount (c, dir);
  arca_trace_mark (&tr, "rootfs_unmount");
  mounts_release (e, c); /* volumes: unmount option volumes no longer used */
  namespaces_container_stop (e, c); /* shareable /dev/shm */
  networks_container_detach (e, c); /* networking: veths, addresses, ports, DNS; the netns below */
  arca_trace_mark (&tr, "network_stop");
  events_container_mounts (e, c, "unmount"); /* events: after the network's, as dockerd's Cleanup */
  arca_db_defer_sync (false);

  pthread_mutex_lock (&e->lock);
  attach_drain_wait_locked (e, c);
  health_stop_locked (e, c); /* healthchecks: restarted with the container */
  c->running = false;
  c->paused = false;
  c->restarting = false;
  c->pid = 0;
  c->exit_code = exit_code;
  c->oom_killed = oom_killed;
  c->finished_ns = finished_ns;
  c->exit_generation++;
  int64_t ran_ns = c->started_ns > 0 ? time_now_ns () - c->started_ns : 0;
  /* Restart policy (restart.c): may put c back to Restarting. */
  bool restarting = restart_on_exit_locked (e, c);
  bool auto_remove = !restarting && c->opts->auto_remove && !c->removing;
  if (auto_remove && c->monitor_running)
    {
      /* The monitor thread removes it: the record at once (the answer to
       * docker run --rm), the cgroups and directories once the shim has
       * deleted the runtime's state, so no cgroup is left behind. */
      c->remove_after_monitor = true;
      auto_remove = false;
    }
  /* The monitor's removal right after is an AutoRemove's commit point:
   * one fsync for both (store/db.h arca_db_defer_sync).  A kill -9 in
   * between leaves the row running, or exited with AutoRemove, which the
   * start-up removes (containers_restore). */
  c->exit_unsynced = c->remove_after_monitor;
  arca_db_defer_sync (c->exit_unsynced);
  if (!c->removed && container_save (e, c, &err) < 0)
    log_error ("container %.12s: save state: %s", c->id, err.msg);
  arca_db_defer_sync (false);
  events_container_die_locked (e, c, exit_code, ran_ns); /* events: oom?, die */
  pthread_cond_broadcast (&e->changed);
  if (auto_remove)
    container_ref (c);
  bool netns_by_monitor = c->remove_after_monitor;
  pthread_mutex_unlock (&e->lock);
  arca_trace_mark (&tr, "save"); /* durable: wait answers now */
  log_debug ("container %.12s exited with %d", c->id, exit_code);
  /* After the answer (net_container_detach); a start of the container
   * again waits for the monitor, which runs this (monitor_running).  An
   * AutoRemove's goes after its removal's answer (monitor_exit). */
  if (!netns_by_monitor)
    networks_container_netns_remove (e, c);

  if (unmount_with_files && !auto_remove && !c->remove_after_monitor)
    rootfs_unmount (c, dir); /* not removed after all (a restart policy) */
  if (auto_remove)
    {
      if (container_remove (e, c, true, true, &err) < 0)
        {
          log_warn ("container %.12s: auto-remove: %s", c->id, err.msg);
          rootfs_unmount (c, dir);
        }
      container_unref (c);
    }
}

/* ---- start ----
 *
 * container_start runs these steps in order; a step that fails after the
 * rootfs is mounted hands its error to start_failed, which undoes what the
 * earlier steps made (rootfs, volumes, networking) and records the failure
 * as dockerd does. */

static void
fail_pending_locked (arca_container_t *c)
{
  for (pending_attach_t *pa = c->pending; pa; pa = pa->next)
    {
      pa->failed = true;
      pending_attach_wake (pa);
    }
  c->pending = NULL;
}

/* A start that failed: undo what the earlier steps made, record the
 * error as dockerd's containerStart does (State.Error, an exit code), and
 * answer.  The runtime's own refusal (runtime = true) reads "failed to
 * create task for container: OCI runtime create failed: ..." with 126/127
 * for a command that cannot run; anything before it keeps its text, exit
 * code 128, and a spec that cannot be built is a 500 as dockerd's
 * errdefs.System. */
static int
start_failed (arca_engine_t *e, arca_container_t *c, bool runtime, arca_error_t *err)
{
  arca_error_t ignored;
  _cleanup_free_ char *dir = container_dir (e, c->id);
  snapshot_unmount (dir, &ignored);
  mounts_release (e, c); /* volumes */
  namespaces_container_stop (e, c); /* shareable /dev/shm */
  networks_container_stop (e, c); /* networking */
  arca_db_defer_sync (false); /* the failure's record is the synced commit */
  arca_error_kind_t kind = err->kind;
  _cleanup_free_ char *text = NULL;
  int code = 128;
  if (runtime)
    code = oci_start_failure (err->msg, c->path, &kind, &text);
  else
    text = xstrdup (err->msg);

  pthread_mutex_lock (&e->lock);
  c->starting = false;
  c->exit_code = code;
  set_error_locked (c, text);
  fail_pending_locked (c);
  c->finished_ns = time_now_ns ();
  c->exit_generation++;
  container_save (e, c, &ignored);
  bool auto_remove = c->opts->auto_remove;
  pthread_cond_broadcast (&e->changed);
  pthread_mutex_unlock (&e->lock);

  /* docker run --rm waits for removal: dockerd removes the container even
   * when its start fails (daemon/start.go). */
  if (auto_remove)
    container_remove (e, c, true, true, &ignored);
  return arca_error_set (err, kind, "%s", text);
}

/* Claim the container for this start (moby containerStart's checks); the
 * previous run's shim may still be deleting the runtime's state. */
static int
start_claim (arca_engine_t *e, arca_container_t *c, arca_error_t *err)
{
  pthread_mutex_lock (&e->lock);
  if (c->removed || c->removing)
    {
      pthread_mutex_unlock (&e->lock);
      return arca_error_set (err, ARCA_ERR_CONFLICT, "container is marked for removal and cannot be started");
    }
  if (c->paused)
    {
      pthread_mutex_unlock (&e->lock);
      return arca_error_set (err, ARCA_ERR_CONFLICT, "cannot start a paused container, try unpause instead");
    }
  /* The restart manager's own start goes through while Restarting shows
   * Running; an API start gets a fresh restart manager (restart.c). */
  int by_policy = restart_claim_start_locked (c);
  if (by_policy < 0)
    {
      pthread_mutex_unlock (&e->lock);
      return arca_error_set (err, ARCA_ERR_NOT_MODIFIED, "restart cancelled");
    }
  if ((c->running || c->starting) && !by_policy)
    {
      pthread_mutex_unlock (&e->lock);
      return arca_error_set (err, ARCA_ERR_NOT_MODIFIED, "container is already running");
    }
  if (!by_policy)
    restart_reset_locked (c);
  c->starting = true;
  struct timespec deadline;
  clock_gettime (CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 10;
  while (c->monitor_running)
    if (pthread_cond_timedwait (&e->changed, &e->lock, &deadline) == ETIMEDOUT)
      break;
  pthread_mutex_unlock (&e->lock);
  return 0;
}

static void
start_unclaim (arca_engine_t *e, arca_container_t *c)
{
  pthread_mutex_lock (&e->lock);
  c->starting = false;
  pthread_cond_broadcast (&e->changed);
  pthread_mutex_unlock (&e->lock);
}

/* The image's layers under the container's writable layer. */
static int
start_mount_rootfs (arca_engine_t *e, arca_container_t *c, const char *dir, char **rootfs, arca_error_t *err)
{
  arca_image_t *img = NULL;
  char **lower = NULL;
  if (image_resolve (e->images, c->image_id, &img, err) < 0 || image_layer_dirs (e->images, img, &lower, err) < 0)
    {
      image_free (img);
      return -1;
    }
  image_free (img);
  int r = snapshot_mount (dir, lower, rootfs, err);
  strv_free (lower);
  return r;
}

/* A fresh shim state dir, and no exit file of the previous run. */
static int
start_reset_state_dir (const char *sdir, const char *exit_file, arca_error_t *err)
{
  arca_error_t ignored;
  fs_remove_all (sdir, &ignored);
  unlink (exit_file);
  return fs_mkdir_p (sdir, 0700, err);
}

/* This start's copy of the options: update may swap the record's JSON
 * meanwhile, so parse from references taken under the lock. */
static int
start_options (arca_engine_t *e, arca_container_t *c, json_t **cfg, json_t **hc, arca_container_options_t **o,
               arca_error_t *err)
{
  pthread_mutex_lock (&e->lock);
  *cfg = container_config (c);
  *hc = container_host_config (c);
  pthread_mutex_unlock (&e->lock);
  return options_parse (*cfg, *hc, o, err);
}

/* The network namespace for the spec: none of its own with host
 * networking, the other container's with container:<x>, else the one the
 * daemon made (bridge networks) or a new one (none). */
static arca_spec_ns_t
start_netns (const arca_container_options_t *o, const char *netns_path)
{
  arca_spec_ns_t ns = { .mode = NS_MODE_PRIVATE, .path = netns_path };
  if (strcmp (o->network_mode, "host") == 0)
    ns = (arca_spec_ns_t) { .mode = NS_MODE_HOST };
  else if (str_has_prefix (o->network_mode, "container:"))
    ns.mode = NS_MODE_CONTAINER;
  return ns;
}

static char **
process_args (arca_container_t *c)
{
  arca_strv_builder_t v = { 0 };
  strv_builder_add (&v, c->path);
  for (size_t i = 0; c->args && c->args[i]; i++)
    strv_builder_add (&v, c->args[i]);
  return strv_builder_finish (&v);
}

/* config.json: the one translation of the container's options
 * (runtime/spec.c) with what the earlier steps prepared. */
static int
start_write_spec (arca_engine_t *e, arca_container_t *c, const arca_container_options_t *o, const char *dir, const char *rootfs,
                  json_t *extra_mounts, const char *netns_path, const arca_start_ns_t *ns, arca_error_t *err)
{
  _cleanup_free_ char *hosts = xasprintf ("%s/hosts", dir);
  _cleanup_free_ char *hostname_path = xasprintf ("%s/hostname", dir);
  _cleanup_free_ char *resolv = xasprintf ("%s/resolv.conf", dir);
  _cleanup_free_ char *config_path = xasprintf ("%s/config.json", dir);
  _cleanup_strv_ char **args = process_args (c);
  const arca_oci_runtime_t *rt;
  if (oci_runtime_get (e->runtimes, o->runtime, &rt, err) < 0) /* the start's options snapshot, as the shim's */
    return -1;
  _cleanup_strv_ char **link_hosts = NULL, **link_env = NULL;
  if (links_resolve (e, c, &link_hosts, &link_env, err) < 0) /* legacy links */
    return -1;
  arca_spec_options_t so = {
    .opts = o,
    .id = c->id,
    .rootfs = rootfs,
    .args = args,
    .hosts_path = hosts,
    .hostname_path = hostname_path,
    .resolv_conf_path = resolv,
    .netns = start_netns (o, netns_path),
    .ipcns = ns->ipc,
    .pidns = ns->pid,
    .utsns = ns->uts,
    /* --init, only with a PID namespace of its own (WithInit) */
    .init_path = o->init && o->pid.mode == NS_MODE_PRIVATE ? spec_init_path () : NULL,
    .extra_mounts = extra_mounts, /* volumes, binds, tmpfs (engine/mounts.c) */
    .default_seccomp_profile = e->seccomp_profile,
    .link_env = link_env,
    .seccomp_bpf = rt->crun,
  };
  _cleanup_json_ json_t *spec = NULL;
  if (spec_build (&so, &spec, err) < 0)
    {
      /* dockerd: every createSpec failure is a system error (500). */
      if (err->kind == ARCA_ERR_INVALID)
        err->kind = ARCA_ERR_INTERNAL;
      return -1;
    }
  /* The process alone too, for each exec (engine/exec.c): parsing the
   * 24 KB of config.json took ~0.7 ms an exec. */
  _cleanup_free_ char *proc_path = xasprintf ("%s/process.json", dir);
  _cleanup_free_ char *proc_text = json_dumps (json_object_get (spec, "process"), JSON_COMPACT);
  if (proc_text == NULL)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "spec without a process");
  _cleanup_free_ char *spec_text = json_dumps (spec, JSON_INDENT (1));
  /* both rewritten at each start */
  return fs_write_atomic_nosync (config_path, spec_text, strlen (spec_text), 0600, err) < 0
                 || fs_write_atomic_nosync (proc_path, proc_text, strlen (proc_text), 0600, err) < 0
             ? -1
             : 0;
}

/* The logging driver's settings for the shim (engine/logdrivers.c). */
static int
start_log_config (arca_engine_t *e, arca_container_t *c, const arca_container_options_t *o, const char *sdir,
                  arca_error_t *err)
{
  _cleanup_json_ json_t *lc = NULL;
  if (logdrivers_shim_config (e, c, o, &lc, err) < 0)
    return -1;
  _cleanup_free_ char *path = xasprintf ("%s/log-config.json", sdir);
  _cleanup_free_ char *text = json_dump_compact (lc);
  return fs_write_atomic_nosync (path, text, strlen (text), 0600, err); /* rewritten at each start */
}

/* The shim, with the container's stdio ready and no process yet: started
 * here, awaited with shim_spawn_finish. */
static int
start_spawn_shim (arca_engine_t *e, arca_container_t *c, const arca_container_options_t *o, const char *dir,
                  const char *sdir, const char *vm_config, arca_shim_spawn_t *sp, arca_error_t *err)
{
  const arca_oci_runtime_t *rt;
  if (oci_runtime_get (e->runtimes, o->runtime, &rt, err) < 0)
    return -1;
  _cleanup_free_ char *log_config = xasprintf ("%s/log-config.json", sdir);
  _cleanup_free_ char *exit_file = container_exit_file (e, c->id);
  _cleanup_free_ char *cgroups_path = spec_cgroups_path (o->resources.cgroup_parent, c->id); /* as in config.json */
  arca_shim_options_t sh = {
    .shim_path = e->shim_path,
    .id = c->id,
    .bundle = dir,
    .state_dir = sdir,
    .log_config = log_config,
    .exit_file = exit_file,
    .runtime_path = rt->path,
    .runtime_root = rt->root,
    .runtime_cgroup_v1_view = rt->cgroup_v1_view,
    .runtime_fd = rt->exec_fd,
    .cgroups_path = cgroups_path,
    .tty = o->tty,
    .open_stdin = o->open_stdin,
    .stdin_once = o->stdin_once,
    .console_height = o->console_height,
    .console_width = o->console_width,
    .vm_config = vm_config, /* VM isolation: QEMU instead of the runtime */
  };
  return shim_spawn_begin (&sh, sp, err);
}

/* A start that failed once its shim was started: the shim has no process
 * yet, so it is stopped (engine/reconcile.c), then the start undone. */
static int
start_failed_with_shim (arca_engine_t *e, arca_container_t *c, arca_shim_spawn_t *sp, arca_error_t *err)
{
  if (sp->child > 0)
    {
      pid_t ignored_pid = 0;
      arca_error_t ignored;
      if (shim_spawn_finish (sp, e->shim_path, &ignored_pid, &ignored) == 0)
        container_stop_unstarted_shim (e, c);
    }
  return start_failed (e, c, false, err);
}

/* Connect the attach sessions that were waiting for this start, so they
 * see the output from the first byte. */
static void
start_connect_attaches (arca_engine_t *e, arca_container_t *c, const char *sdir)
{
  pthread_mutex_lock (&e->lock);
  pending_attach_t *pending = c->pending;
  c->pending = NULL;
  for (pending_attach_t *pa = pending; pa; pa = pa->next)
    pa->claimed = true;
  pthread_mutex_unlock (&e->lock);
  for (pending_attach_t *pa = pending, *next; pa; pa = next)
    {
      next = pa->next; /* pa is freed by its session once shim_fd is set */
      int fd = -1;
      arca_error_t aerr;
      if (shim_attach (sdir, pa->opts.in, pa->opts.out, pa->opts.err, pa->opts.detach_keys, &fd, &aerr) < 0)
        log_warn ("container %.12s: attach: %s", c->id, aerr.msg);
      pthread_mutex_lock (&e->lock);
      pa->shim_fd = fd;
      pa->failed = fd < 0;
      if (fd >= 0)
        c->attach_relays++; /* the session's relay ends it */
      pending_attach_wake (pa);
      pthread_mutex_unlock (&e->lock);
    }
  pthread_mutex_lock (&e->lock);
  pthread_cond_broadcast (&e->changed);
  pthread_mutex_unlock (&e->lock);
}

/* The shim runs the process now.  The exit monitor's "wait" goes with the
 * start, on the same connection (answered in order): the shim holds it
 * before it can see the exit, so a process that ends at once (docker run
 * --rm busybox true) is answered at once.  A wait on a connection of its
 * own, made after the start had been answered, often reached a shim
 * already ending (exit file, runtime delete) and the exit was learnt ~10 ms
 * later from the closed connection.  On failure the shim ran nothing and
 * ends by itself, and err carries the runtime's message; on success
 * *wait_fd is the connection, for monitor_adopt. */
static int
start_run (const char *sdir, pid_t *pid, int64_t *runtime_ns, int *wait_fd, arca_error_t *err)
{
  _cleanup_close_ int fd = shim_connect (sdir, err);
  if (fd < 0)
    return -1;
  _cleanup_json_ json_t *start_req = json_pack ("{s:s}", "op", "start");
  _cleanup_json_ json_t *wait_req = json_pack ("{s:s}", "op", "wait");
  _cleanup_json_ json_t *reply = NULL;
  if (shim_send (fd, start_req, err) < 0 || shim_send (fd, wait_req, err) < 0 || shim_reply_read (fd, &reply, err) < 0)
    return -1;
  if (*pid == 0)
    *pid = (pid_t) json_get_int (reply, "pid", 0);
  *runtime_ns = json_get_int (reply, "runtime_ns", 0); /* the runtime's own run, for the trace */
  *wait_fd = arca_steal_fd (fd);
  return 0;
}

static int
start_record_running (arca_engine_t *e, arca_container_t *c, pid_t pid, arca_error_t *err)
{
  events_container_mounts (e, c, "mount"); /* events: after the network's, as dockerd's start */
  pthread_mutex_lock (&e->lock);
  c->starting = false;
  c->running = true;
  c->restarting = false;
  c->pid = pid;
  c->exit_code = 0;
  c->oom_killed = false;
  set_error_locked (c, NULL);
  c->started_ns = time_now_ns ();
  c->finished_ns = 0;
  c->has_been_started = true;
  c->manually_stopped = false;
  health_start_locked (e, c); /* healthchecks: "starting", monitor */
  int r = container_save (e, c, err);
  events_container_locked (e, c, "start", NULL); /* events */
  pthread_cond_broadcast (&e->changed);
  pthread_mutex_unlock (&e->lock);
  return r;
}

/* Watch for the exit on the start's connection.  Should that fail, the
 * exit file tells. */
static void
start_watch (arca_engine_t *e, arca_container_t *c, int wait_fd)
{
  arca_error_t merr, ignored;
  if (monitor_adopt (e, c, wait_fd, &merr) == 0)
    return;
  container_runtime_forget (e, c); /* a shim that died may leave it */
  _cleanup_free_ char *exit_file = container_exit_file (e, c->id);
  int code = 137;
  int64_t finished = 0;
  bool oom = false;
  if (shim_read_exit_file (exit_file, &code, &finished, &oom, &ignored) < 0)
    code = 137;
  container_handle_exit (e, c, code, finished ? finished : time_now_ns (), oom);
}

/* The end of a deferred-sync scope, however the function returns. */
static void
defer_sync_end (bool *on)
{
  if (*on)
    arca_db_defer_sync (false);
}

int
container_start (arca_engine_t *e, arca_container_t *c, arca_error_t *err)
{
  arca_trace_t tr;
  arca_trace_begin (&tr, c->id, "start");
  if (arca_traced (start_claim (e, c, err), &tr, "claim") < 0)
    return -1;
  _cleanup_json_ json_t *cfg = NULL;
  _cleanup_json_ json_t *hc = NULL;
  _cleanup_options_ arca_container_options_t *o = NULL;
  _cleanup_free_ char *dir = container_dir (e, c->id);
  _cleanup_free_ char *sdir = container_state_dir (e, c->id);
  _cleanup_free_ char *exit_file = container_exit_file (e, c->id);
  _cleanup_free_ char *rootfs = NULL;
  if (arca_traced (start_options (e, c, &cfg, &hc, &o, err), &tr, "options") < 0
      || arca_traced (start_mount_rootfs (e, c, dir, &rootfs, err), &tr, "rootfs_mount") < 0)
    {
      start_unclaim (e, c);
      return -1;
    }

  /* The steps' commits (addresses, endpoints, volumes) go unsynced: the
   * "running" row below, or the failure's, is the synced commit
   * (store/db.h arca_db_defer_sync). */
  __attribute__ ((cleanup (defer_sync_end))) bool deferred = true;
  arca_db_defer_sync (true);
  _cleanup_json_ json_t *extra_mounts = NULL;
  _cleanup_free_ char *netns = NULL;
  __attribute__ ((cleanup (namespaces_start_clear))) arca_start_ns_t ns = { 0 };
  _cleanup_free_ char *vm_config = NULL;
  pid_t pid = 0;
  int64_t runtime_ns = 0;
  /* The shim comes up (~1 ms) while the network and config.json are made;
   * a VM's shim takes the guest's NICs, made from the netns, so it starts
   * after them (engine/isolation.c). */
  bool vm = container_is_vm (c);
  arca_shim_spawn_t sp = SHIM_SPAWN_INIT;
  if (arca_traced (start_reset_state_dir (sdir, exit_file, err), &tr, "state_dir") < 0
      || isolation_check_start (e, c, err) < 0 /* VM isolation: no joining a VM's namespaces */
      || arca_traced (mounts_prepare (e, c, rootfs, &extra_mounts, err), &tr, "mounts") < 0 /* volumes, copy-up (engine/mounts.c) */
      || arca_traced (namespaces_container_start (e, c, o, &ns, &extra_mounts, err), &tr, "namespaces") < 0 /* ipc, pid, /dev/shm */
      || arca_traced (start_log_config (e, c, o, sdir, err), &tr, "log_config") < 0
      || (!vm && arca_traced (start_spawn_shim (e, c, o, dir, sdir, NULL, &sp, err), &tr, "shim_spawn") < 0)
      || arca_traced (networks_container_start (e, c, dir, &netns, err), &tr, "network") < 0 /* netns, endpoints, /etc files, ports, DNS */
      || arca_traced (start_write_spec (e, c, o, dir, rootfs, extra_mounts, netns, &ns, err), &tr, "bundle_write") < 0
      /* VM isolation (engine/isolation.c): the guest's NICs and the shim's vm.json */
      || (vm && isolation_vm_prepare (e, c, sdir, netns, &vm_config, err) < 0)
      || (crashpoint ("start-prepared"), false) /* docs/design.md "Crash consistency" */
      || (vm && arca_traced (start_spawn_shim (e, c, o, dir, sdir, vm_config, &sp, err), &tr, "shim_spawn") < 0)
      || arca_traced (shim_spawn_finish (&sp, e->shim_path, &pid, err), &tr, "shim_ready") < 0)
    return start_failed_with_shim (e, c, &sp, err);
  crashpoint ("start-shim-spawned");
  start_connect_attaches (e, c, sdir);
  int wait_fd = -1;
  if (arca_traced (start_run (sdir, &pid, &runtime_ns, &wait_fd, err), &tr, "shim_start") < 0)
    return start_failed (e, c, true, err);
  crashpoint ("start-ran");
  if (arca_log_get_level () == ARCA_LOG_DEBUG)
    log_debug ("trace %.12s start.runtime_run %lld us", c->id, (long long) (runtime_ns / 1000)); /* inside shim_start */
  /* The commit point: until this row says running, recovery undoes the
   * start (reconcile.c). */
  arca_db_defer_sync (false);
  deferred = false;
  int r = arca_traced (start_record_running (e, c, pid, err), &tr, "save");
  crashpoint ("start-committed");
  start_watch (e, c, wait_fd);
  arca_trace_mark (&tr, "monitor");
  return r;
}

/* ---- signals, stop, restart ---- */

static int
send_signal (arca_engine_t *e, arca_container_t *c, int sig, arca_error_t *err)
{
  /* moby killWithSignal stops the health checks before any signal (kill,
   * stop, rm -f): a probe during a stop's grace period, or one that races
   * the SIGKILL, must not make the container unhealthy on its way out.
   * They start again with the container. */
  pthread_mutex_lock (&e->lock);
  health_stop_locked (e, c);
  pthread_mutex_unlock (&e->lock);
  _cleanup_free_ char *sdir = container_state_dir (e, c->id);
  _cleanup_json_ json_t *req = json_pack ("{s:s,s:i,s:b}", "op", "kill", "signal", sig, "all", false);
  _cleanup_json_ json_t *reply = NULL;
  int r = shim_request (sdir, req, &reply, err);
  /* A frozen process only takes the signal once thawed (ops.c). */
  if (r == 0)
    container_thaw_after_signal (e, c, sig);
  if (r == 0)
    events_container_signal (e, c, sig); /* events: kill */
  return r;
}

/* Wait until the container's exit generation moves past gen or timeout_ms
 * passes (-1 = forever).  Returns true if it exited. */
static bool
wait_exit (arca_engine_t *e, arca_container_t *c, uint64_t gen, long timeout_ms)
{
  struct timespec deadline;
  clock_gettime (CLOCK_REALTIME, &deadline);
  if (timeout_ms >= 0)
    {
      deadline.tv_sec += timeout_ms / 1000;
      deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
      if (deadline.tv_nsec >= 1000000000L)
        {
          deadline.tv_sec++;
          deadline.tv_nsec -= 1000000000L;
        }
    }
  pthread_mutex_lock (&e->lock);
  /* (an AutoRemove's exit is answered once durable: exit_made_durable) */
  while ((c->exit_generation == gen && c->running && !c->removed) || c->exit_unsynced)
    {
      if (timeout_ms < 0)
        pthread_cond_wait (&e->changed, &e->lock);
      else if (pthread_cond_timedwait (&e->changed, &e->lock, &deadline) == ETIMEDOUT)
        break;
    }
  bool exited = c->exit_generation != gen || !c->running;
  pthread_mutex_unlock (&e->lock);
  return exited;
}

int
container_kill (arca_engine_t *e, arca_container_t *c, const char *signal, arca_error_t *err)
{
  int sig = SIGKILL;
  if (signal && *signal)
    {
      sig = signal_parse (signal);
      if (sig < 0)
        return arca_error_set (err, ARCA_ERR_INVALID, "Invalid signal: %s", signal);
    }
  pthread_mutex_lock (&e->lock);
  /* moby daemon/kill.go: SIGKILL, the StopSignal, or any signal without a
   * StopSignal ends the restart policy for this run (ExitOnNext); a
   * container waiting to restart gets no signal, the cancel is enough. */
  const char *stop_sig = c->opts->stop_signal;
  bool exit_on_next = sig == SIGKILL || stop_sig == NULL || *stop_sig == '\0' || signal_parse (stop_sig) == sig;
  if (c->restarting && !exit_on_next)
    {
      pthread_mutex_unlock (&e->lock);
      return 0;
    }
  if (c->restarting && restart_cancel_locked (e, c))
    {
      pthread_mutex_unlock (&e->lock);
      return 0;
    }
  bool running = c->running;
  uint64_t gen = c->exit_generation;
  if (running && (sig == SIGKILL || sig == SIGTERM))
    c->manually_stopped = true;
  if (running && exit_on_next)
    restart_exit_on_next_locked (c);
  pthread_mutex_unlock (&e->lock);
  if (!running)
    return arca_error_set (err, ARCA_ERR_CONFLICT, "cannot kill container: %s: container %s is not running",
                           c->name, c->id);
  if (send_signal (e, c, sig, err) < 0)
    {
      if (!wait_exit (e, c, gen, 0))
        return -1;
    }
  /* dockerd waits for a SIGKILLed container to be gone before answering. */
  if (sig == SIGKILL)
    wait_exit (e, c, gen, 10000);
  return 0;
}

int
container_stop (arca_engine_t *e, arca_container_t *c, int timeout_s, const char *signal, arca_error_t *err)
{
  pthread_mutex_lock (&e->lock);
  /* A container waiting to restart just stays down (restart.c). */
  if (c->restarting && restart_cancel_locked (e, c))
    {
      events_container_locked (e, c, "stop", NULL); /* events */
      pthread_mutex_unlock (&e->lock);
      return 0;
    }
  bool running = c->running;
  uint64_t gen = c->exit_generation;
  if (running)
    {
      c->manually_stopped = true;
      restart_exit_on_next_locked (c);
    }
  const char *ss = c->opts->stop_signal;
  int timeout = timeout_s >= 0 ? timeout_s : (c->opts->has_stop_timeout ? c->opts->stop_timeout : 10);
  _cleanup_free_ char *signame = xstrdup (signal && *signal ? signal : (ss && *ss ? ss : "SIGTERM"));
  pthread_mutex_unlock (&e->lock);
  if (!running)
    return arca_error_set (err, ARCA_ERR_NOT_MODIFIED, "container is already stopped");
  int sig = signal_parse (signame);
  if (sig < 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "Invalid signal: %s", signame);
  arca_error_t ignored;
  send_signal (e, c, sig, &ignored);
  if (timeout < 0 || !wait_exit (e, c, gen, timeout < 0 ? -1 : (long) timeout * 1000))
    {
      if (timeout >= 0)
        {
          log_info ("container %.12s: did not stop after %ds, killing", c->id, timeout);
          send_signal (e, c, SIGKILL, &ignored);
        }
      if (!wait_exit (e, c, gen, 30000))
        return arca_error_set (err, ARCA_ERR_INTERNAL, "cannot stop container: %s: tried to kill container, but did not receive an exit event", c->name);
    }
  events_container (e, c, "stop", NULL); /* events */
  return 0;
}

int
container_restart (arca_engine_t *e, arca_container_t *c, int timeout_s, const char *signal, arca_error_t *err)
{
  if (container_stop (e, c, timeout_s, signal, err) < 0 && err->kind != ARCA_ERR_NOT_MODIFIED)
    return -1;
  if (container_start (e, c, err) < 0)
    return -1;
  events_container (e, c, "restart", NULL); /* events */
  return 0;
}

/* moby holds the container's lock for a whole start (daemon/start.go), so
 * `rm -f` during a start (or a create) waits for it to end and then removes
 * what it made.  Removing the record under a start would let the start save
 * it back, and the container would come back after a daemon restart.
 * Lock held. */
static void
wait_start_done_locked (arca_engine_t *e, arca_container_t *c)
{
  while (c->starting && !c->removed)
    pthread_cond_wait (&e->changed, &e->lock);
}

/* The part of a removal that wait(condition=removed) waits for (moby
 * cleanupContainer before SetRemoved): endpoints, the record, anonymous
 * volumes (rm -v, AutoRemove), the destroy event; then the waiters are
 * woken.  Directories and cgroups follow (container_destroy_files). */
static int
remove_durable (arca_engine_t *e, arca_container_t *c, bool volumes, arca_error_t *err)
{
  /* Unsynced: the row's deletion right after is the synced commit
   * (store/db.h arca_db_defer_sync). */
  arca_db_defer_sync (true);
  networks_container_remove (e, c); /* networking: endpoints and addresses */
  arca_db_defer_sync (false);
  int destroyed = container_destroy_record (e, c, err);
  if (volumes)
    mounts_remove_anonymous (e, c);
  if (destroyed == 0)
    events_container (e, c, "destroy", NULL); /* events */
  container_mark_destroyed (e, c);
  return destroyed;
}

/* The shim deletes the runtime's state (cgroups) after answering its
 * waiter; the monitor ends once that is done.  Removing the cgroups and
 * directories waits for it (at most 10 s). */
static void
remove_wait_monitor (arca_engine_t *e, arca_container_t *c)
{
  struct timespec deadline;
  clock_gettime (CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 10;
  pthread_mutex_lock (&e->lock);
  while (c->monitor_running)
    if (pthread_cond_timedwait (&e->changed, &e->lock, &deadline) == ETIMEDOUT)
      break;
  pthread_mutex_unlock (&e->lock);
}

int
container_remove (arca_engine_t *e, arca_container_t *c, bool force, bool volumes, arca_error_t *err)
{
  pthread_mutex_lock (&e->lock);
  if (force)
    wait_start_done_locked (e, c);
  /* Gone meanwhile (a removal that finished after our lookup): as if the
   * lookup had come after it. */
  if (c->removed)
    {
      pthread_mutex_unlock (&e->lock);
      return arca_error_set (err, ARCA_ERR_NOT_FOUND, "No such container: %s", c->id);
    }
  /* Even with force (moby daemon/delete.go SetRemovalInProgress): two
   * removals at once would each destroy the record and drop the table's
   * reference twice. */
  if (c->removing)
    {
      pthread_mutex_unlock (&e->lock);
      return arca_error_set (err, ARCA_ERR_CONFLICT, "removal of container %s is already in progress", c->name);
    }
  if (c->restarting && !force)
    {
      pthread_mutex_unlock (&e->lock);
      return arca_error_set (err, ARCA_ERR_CONFLICT,
                             "cannot remove container \"/%s\": container is restarting: stop the container before "
                             "removing or force remove",
                             c->name);
    }
  if (c->restarting)
    restart_cancel_locked (e, c); /* rm -f: call off the pending restart */
  bool running = c->running || c->starting;
  if (running && !force)
    {
      pthread_mutex_unlock (&e->lock);
      if (c->paused)
        return arca_error_set (err, ARCA_ERR_CONFLICT,
                               "cannot remove container \"/%s\": container is paused and must be unpaused first",
                               c->name);
      return arca_error_set (err, ARCA_ERR_CONFLICT,
                             "cannot remove container \"/%s\": container is running: stop the container before "
                             "removing or force remove",
                             c->name);
    }
  c->removing = true;
  uint64_t gen = c->exit_generation;
  pthread_mutex_unlock (&e->lock);

  if (running)
    {
      arca_error_t ignored;
      send_signal (e, c, SIGKILL, &ignored);
      if (!wait_exit (e, c, gen, 15000))
        {
          pthread_mutex_lock (&e->lock);
          c->removing = false;
          pthread_cond_broadcast (&e->changed); /* a waiting rm -f goes on itself */
          pthread_mutex_unlock (&e->lock);
          return arca_error_set (err, ARCA_ERR_INTERNAL,
                                 "cannot remove container \"/%s\": could not kill: container did not exit", c->name);
        }
    }
  arca_trace_t tr;
  arca_trace_begin (&tr, c->id, "remove");
  int destroyed = remove_durable (e, c, volumes, err);
  arca_trace_mark (&tr, "answer");
  remove_wait_monitor (e, c);
  arca_trace_mark (&tr, "wait_monitor");
  container_destroy_files (e, c);
  return destroyed;
}

int
container_resize (arca_engine_t *e, arca_container_t *c, unsigned height, unsigned width, arca_error_t *err)
{
  pthread_mutex_lock (&e->lock);
  bool running = c->running;
  pthread_mutex_unlock (&e->lock);
  if (!running)
    return arca_error_set (err, ARCA_ERR_CONFLICT, "Container %s is not running", c->id);
  if (container_tty (c))
    {
      _cleanup_free_ char *sdir = container_state_dir (e, c->id);
      _cleanup_json_ json_t *req = json_pack ("{s:s,s:i,s:i}", "op", "resize", "height", height, "width", width);
      _cleanup_json_ json_t *reply = NULL;
      if (shim_request (sdir, req, &reply, err) < 0)
        return -1;
    }
  events_container_resize (e, c, height, width); /* events */
  return 0;
}

/* ---- wait ---- */

int
container_wait (arca_engine_t *e, arca_container_t *c, arca_wait_condition_t cond, int cancel_fd, int *exit_code,
                arca_error_t *err)
{
  pthread_mutex_lock (&e->lock);
  uint64_t gen = c->exit_generation;
  for (;;)
    {
      bool done = false;
      switch (cond)
        {
        case WAIT_NOT_RUNNING:
          /* moby SetRestarting wakes not-running waiters too. */
          done = ((!c->running && !c->starting) || (c->restarting && c->exit_generation != gen)) && !c->exit_unsynced;
          break;
        case WAIT_NEXT_EXIT:
          done = c->exit_generation != gen && !c->exit_unsynced;
          break;
        case WAIT_REMOVED:
          /* once the row is gone, not when removal begins (container_destroy) */
          done = c->destroyed;
          break;
        }
      if (done)
        break;
      if (e->closing)
        {
          pthread_mutex_unlock (&e->lock);
          return arca_error_set (err, ARCA_ERR_UNAVAILABLE, "daemon is shutting down");
        }
      struct timespec deadline;
      clock_gettime (CLOCK_REALTIME, &deadline);
      deadline.tv_nsec += 200 * 1000000L;
      if (deadline.tv_nsec >= 1000000000L)
        {
          deadline.tv_sec++;
          deadline.tv_nsec -= 1000000000L;
        }
      pthread_cond_timedwait (&e->changed, &e->lock, &deadline);
      if (cancel_fd >= 0)
        {
          struct pollfd p = { .fd = cancel_fd, .events = POLLIN };
          if (poll (&p, 1, 0) > 0)
            {
              pthread_mutex_unlock (&e->lock);
              return arca_error_set (err, ARCA_ERR_UNAVAILABLE, "client went away");
            }
        }
    }
  *exit_code = c->exit_code;
  pthread_mutex_unlock (&e->lock);
  return 0;
}
