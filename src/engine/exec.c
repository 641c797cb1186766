/* Exec instances (see engine/exec.h).
 *
 * Locking: the records and their state fields are guarded by the engine
 * lock (e->lock, broadcast on e->changed); no shim or runtime I/O happens
 * with it held.  A record is referenced by the engine's list, by each API
 * request using it and by its monitor thread; it is freed at the last
 * unref once unlinked. */
#include "engine/exec.h"
#include "engine/internal.h"
#include "engine/events.h"
#include "engine/isolation.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <nettle/base64.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "runtime/oci.h"
#include "runtime/shim_client.h"
#include "runtime/spec.h"
#include "util/cleanup.h"
#include "util/env.h"
#include "util/detachkeys.h"
#include "util/fdwatch.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/stdcopy.h"
#include "util/strutil.h"
#include "util/timeutil.h"

/* Finished execs kept for inspection at most (oldest dropped first), on top
 * of the removal with their container. */
#define EXEC_MAX_FINISHED 1024

struct arca_exec
{
  struct arca_exec *next;
  int refs;                 /* atomic */
  char id[65];
  arca_container_t *c;      /* reference */

  /* ExecConfig, after moby's defaults */
  char **cmd;               /* entrypoint + arguments */
  char *user;               /* the exec's User, else the container's Config.User */
  bool user_explicit;       /* User given in the request: resolved in the rootfs */
  char *working_dir;        /* the exec's WorkingDir, else the container's */
  char **env;               /* CreateDaemonEnvironment + Env */
  char *detach_keys;        /* as given; NULL = default */
  bool tty, privileged, open_stdin, open_stdout, open_stderr;
  unsigned console_h, console_w;

  /* state */
  bool running;             /* start requested (moby's Running) */
  bool start_done;          /* the shim's start answered */
  bool start_failed;
  bool has_exit;
  int exit_code;
  pid_t pid;
  char *state_dir;
  uint64_t finished_seq;    /* order of exits, for pruning */
};

static uint64_t exec_finish_counter;

/* ---- records ---- */

static void
exec_ref (arca_exec_t *x)
{
  __atomic_add_fetch (&x->refs, 1, __ATOMIC_ACQ_REL);
}

static void
exec_free (arca_exec_t *x)
{
  container_unref (x->c);
  strv_free (x->cmd);
  strv_free (x->env);
  free (x->user);
  free (x->working_dir);
  free (x->detach_keys);
  free (x->state_dir);
  free (x);
}

void
exec_unref (arca_exec_t *x)
{
  if (x && __atomic_sub_fetch (&x->refs, 1, __ATOMIC_ACQ_REL) == 0)
    exec_free (x);
}

bool
exec_tty (arca_exec_t *x)
{
  return x->tty;
}

/* Unlink execs whose container is gone, and the oldest finished ones past
 * EXEC_MAX_FINISHED.  Returns the unlinked records (chained by next) for the
 * caller to unref without the lock. */
static arca_exec_t *
prune_locked (arca_engine_t *e)
{
  arca_exec_t *dropped = NULL;
  size_t finished = 0;
  uint64_t oldest_kept = 0;
  for (arca_exec_t *x = e->execs; x; x = x->next)
    if (x->has_exit)
      finished++;
  if (finished > EXEC_MAX_FINISHED)
    oldest_kept = exec_finish_counter - EXEC_MAX_FINISHED;
  for (arca_exec_t **pp = &e->execs; *pp;)
    {
      arca_exec_t *x = *pp;
      bool gone = x->c->removed && !(x->running && !x->has_exit);
      bool old = x->has_exit && x->finished_seq < oldest_kept;
      if (gone || old)
        {
          *pp = x->next;
          x->next = dropped;
          dropped = x;
        }
      else
        pp = &x->next;
    }
  return dropped;
}

static void
unref_chain (arca_exec_t *x)
{
  while (x)
    {
      arca_exec_t *next = x->next;
      exec_unref (x);
      x = next;
    }
}

json_t *
exec_ids_locked (arca_engine_t *e, arca_container_t *c)
{
  json_t *ids = NULL;
  for (arca_exec_t *x = e->execs; x; x = x->next)
    if (x->c == c && !x->has_exit)
      {
        if (ids == NULL)
          ids = json_array ();
        json_array_append_new (ids, json_string (x->id));
      }
  return ids ? ids : json_null ();
}

int
exec_lookup (arca_engine_t *e, const char *id, arca_exec_t **out, arca_error_t *err)
{
  pthread_mutex_lock (&e->lock);
  arca_exec_t *dropped = prune_locked (e);
  arca_exec_t *found = NULL;
  for (arca_exec_t *x = e->execs; x; x = x->next)
    if (strcmp (x->id, id) == 0)
      {
        found = x;
        exec_ref (x);
        break;
      }
  pthread_mutex_unlock (&e->lock);
  unref_chain (dropped);
  if (found == NULL)
    return arca_error_set (err, ARCA_ERR_NOT_FOUND, "No such exec instance: %s", id);
  *out = found;
  return 0;
}

/* moby getActiveContainer / getExecConfig.  ref_for_paused: the name the
 * paused message carries (create: the reference as given; start/resize:
 * the container ID).  Caller holds the lock. */
static int
check_active_locked (arca_container_t *c, const char *ref_for_paused, arca_error_t *err)
{
  if (!c->running)
    return arca_error_set (err, ARCA_ERR_CONFLICT, "container %s is not running", c->id);
  if (c->paused)
    return arca_error_set (err, ARCA_ERR_CONFLICT, "Container %s is paused, unpause the container before exec",
                           ref_for_paused);
  if (c->restarting)
    return arca_error_set (err, ARCA_ERR_CONFLICT, "Container %s is restarting, wait until the container is running",
                           c->id);
  return 0;
}

int
exec_start_check (arca_engine_t *e, arca_exec_t *x, arca_error_t *err)
{
  pthread_mutex_lock (&e->lock);
  int r;
  if (x->c->removed)
    r = arca_error_set (err, ARCA_ERR_NOT_FOUND, "No such container: %s", x->id);
  else
    r = check_active_locked (x->c, x->c->id, err);
  pthread_mutex_unlock (&e->lock);
  return r;
}

/* events: "exec_create: <entrypoint> <args>" / "exec_start: ..." with the
 * execID (moby daemon/exec.go: Entrypoint + " " + the joined args, so an
 * exec without arguments ends in a space).  Caller holds e->lock. */
static void
exec_event_locked (arca_engine_t *e, arca_exec_t *x, const char *what)
{
  arca_buf_t b = { 0 };
  buf_printf (&b, "%s: %s ", what, x->cmd[0]);
  for (size_t i = 1; x->cmd[i]; i++)
    buf_printf (&b, i > 1 ? " %s" : "%s", x->cmd[i]);
  events_container_locked (e, x->c, b.data, "execID", x->id, NULL);
  buf_free (&b);
}

/* ---- create ---- */

/* moby Container.CreateDaemonEnvironment + the exec's Env (daemon/exec.go:
 * ReplaceOrAppendEnvValues twice, util/env.h). */
static char **
exec_env (arca_container_t *c, bool tty, char **exec_env_v)
{
  char **base = xmalloc0 (4 * sizeof *base);
  base[0] = xstrdup ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  base[1] = xasprintf ("HOSTNAME=%s", c->opts->hostname ?: "");
  if (tty)
    base[2] = xstrdup ("TERM=xterm");
  char **env = env_replace_or_append (base, c->opts->env);
  return env_replace_or_append (env, exec_env_v);
}

static char *
container_rootfs (arca_engine_t *e, arca_container_t *c)
{
  _cleanup_free_ char *dir = container_dir (e, c->id);
  return xasprintf ("%s/rootfs", dir);
}

/* Link a new record (the list's reference) and announce it. */
static arca_exec_t *
register_locked (arca_engine_t *e, arca_exec_t *x)
{
  x->next = e->execs;
  e->execs = x;
  arca_exec_t *dropped = prune_locked (e);
  exec_event_locked (e, x, "exec_create"); /* events */
  return dropped;
}

int
exec_create (arca_engine_t *e, const char *ref, json_t *body, char **id, arca_error_t *err)
{
  _cleanup_strv_ char **cmd = json_get_strv (body, "Cmd");
  if (cmd == NULL || cmd[0] == NULL)
    return arca_error_set (err, ARCA_ERR_INVALID, "No exec command specified");

  arca_container_t *c;
  if (container_lookup (e, ref, &c, err) < 0)
    return -1;
  pthread_mutex_lock (&e->lock);
  int r = check_active_locked (c, ref, err);
  pthread_mutex_unlock (&e->lock);
  if (r < 0)
    {
      container_unref (c);
      return -1;
    }

  const char *user = json_get_str (body, "User");
  if (user && *user)
    {
      /* Resolve now for an early error, as dockerd does. */
      _cleanup_free_ char *rootfs = container_rootfs (e, c);
      uid_t uid;
      gid_t gid;
      arca_error_t uerr;
      if (spec_resolve_user (rootfs, user, &uid, &gid, NULL, NULL, NULL, &uerr) < 0)
        {
          container_unref (c);
          return arca_error_set (err, ARCA_ERR_INVALID, "%s", uerr.msg);
        }
    }
  const char *keys = json_get_str (body, "DetachKeys");
  if (keys && *keys)
    {
      uint8_t kb[DETACHKEYS_MAX];
      size_t nk;
      arca_error_t kerr;
      if (detachkeys_parse (keys, kb, &nk, &kerr) < 0)
        {
          container_unref (c);
          return arca_error_set (err, ARCA_ERR_INTERNAL, "Invalid escape keys (%s) provided", keys);
        }
    }

  arca_exec_t *x = xmalloc0 (sizeof *x);
  x->refs = 1; /* the engine's list */
  container_id_generate (x->id);
  x->c = c;
  x->cmd = cmd;
  cmd = NULL;
  x->tty = json_get_bool (body, "Tty", false);
  x->privileged = json_get_bool (body, "Privileged", false);
  x->open_stdin = json_get_bool (body, "AttachStdin", false);
  x->open_stdout = json_get_bool (body, "AttachStdout", false);
  x->open_stderr = json_get_bool (body, "AttachStderr", false);
  x->detach_keys = (keys && *keys) ? xstrdup (keys) : NULL;
  x->user_explicit = user && *user;
  const char *wd = json_get_str (body, "WorkingDir");
  json_t *cs = json_object_get (body, "ConsoleSize");
  if (json_is_array (cs) && json_array_size (cs) == 2)
    {
      x->console_h = (unsigned) json_integer_value (json_array_get (cs, 0));
      x->console_w = (unsigned) json_integer_value (json_array_get (cs, 1));
    }
  _cleanup_strv_ char **benv = json_get_strv (body, "Env");
  x->exit_code = 0;

  /* the container's typed options: an update may replace them */
  pthread_mutex_lock (&e->lock);
  x->user = xstrdup (x->user_explicit ? user : (c->opts->user ?: ""));
  x->working_dir = xstrdup ((wd && *wd) ? wd : (c->opts->working_dir ?: ""));
  x->env = exec_env (c, x->tty, benv);
  *id = xstrdup (x->id);
  arca_exec_t *dropped = register_locked (e, x);
  pthread_mutex_unlock (&e->lock);
  unref_chain (dropped);
  return 0;
}

/* ---- process.json ---- */

/* The container's OCI process as its start wrote it: process.json, or the
 * process of config.json for a container an earlier daemon started. */
static int
container_process (const char *dir, json_t **proc, arca_error_t *err)
{
  _cleanup_free_ char *proc_path = xasprintf ("%s/process.json", dir);
  json_error_t jerr;
  *proc = json_load_file (proc_path, 0, &jerr);
  if (*proc)
    return 0;
  _cleanup_free_ char *cfg_path = xasprintf ("%s/config.json", dir);
  _cleanup_free_ char *data = NULL;
  if (fs_read_file (cfg_path, &data, NULL, err) < 0)
    return -1;
  _cleanup_json_ json_t *spec = json_loads (data, 0, &jerr);
  *proc = json_incref (json_object_get (spec, "process"));
  return 0;
}

/* The container's OCI process with the exec's settings on top:
 * runtime/spec_exec.c. */
static int
build_process (arca_engine_t *e, arca_exec_t *x, unsigned h, unsigned w, json_t **out, arca_error_t *err)
{
  _cleanup_free_ char *dir = container_dir (e, x->c->id);
  _cleanup_json_ json_t *proc = NULL;
  if (container_process (dir, &proc, err) < 0)
    return -1;
  _cleanup_free_ char *rootfs = container_rootfs (e, x->c);
  pthread_mutex_lock (&e->lock);
  _cleanup_strv_ char **group_add = strv_copy (x->c->opts->group_add);
  pthread_mutex_unlock (&e->lock);
  arca_exec_process_options_t xo = {
    .args = x->cmd,
    .env = x->env,
    .working_dir = x->working_dir,
    .tty = x->tty,
    .console_height = h,
    .console_width = w,
    .user = x->user_explicit ? x->user : NULL,
    .rootfs = rootfs,
    .group_add = group_add,
    .privileged = x->privileged,
  };
  return spec_exec_process (proc, &xo, out, err);
}

/* ---- start ---- */

typedef struct
{
  arca_engine_t *e;
  arca_exec_t *x;
} monitor_t;

/* The shim answered "wait" (or its connection ended): record the exit,
 * once the start has answered (a failed start records its own code).
 * Runs on a thread of its own (util/fdwatch.h). */
static void
exec_monitor (int fd, void *arg)
{
  monitor_t *m = arg;
  arca_engine_t *e = m->e;
  arca_exec_t *x = m->x;
  int code = 137; /* the shim died: the process went with it */
  arca_error_t err;
  _cleanup_json_ json_t *reply = NULL;
  if (shim_reply_read (fd, &reply, &err) == 0)
    {
      code = (int) json_get_int (reply, "ExitCode", 137);
      arca_trace_t tr;
      arca_trace_begin (&tr, x->id, "exec");
      arca_trace_since (&tr, "exit_notify", json_get_int (reply, "FinishedAt", 0));
    }
  else
    log_debug ("exec %.12s: wait: %s", x->id, err.msg);
  close (fd);

  pthread_mutex_lock (&e->lock);
  while (!x->start_done)
    pthread_cond_wait (&e->changed, &e->lock);
  if (!x->start_failed && !x->has_exit)
    {
      x->exit_code = code;
      x->has_exit = true;
      x->running = false;
      x->finished_seq = ++exec_finish_counter;
      char ec[16];
      snprintf (ec, sizeof ec, "%d", code);
      events_container_locked (e, x->c, "exec_die", "execID", x->id, "exitCode", ec, NULL); /* events */
    }
  pthread_cond_broadcast (&e->changed);
  pthread_mutex_unlock (&e->lock);
  log_debug ("exec %.12s exited with %d", x->id, code);

  arca_error_t ignored;
  fs_remove_all (x->state_dir, &ignored);
  exec_unref (x);
  free (m);
}

/* "wait" on the exec's shim, answered on the daemon's one waiting thread
 * (util/fdwatch.h): a long exec costs a descriptor, not a thread. */
static int
monitor_start (arca_engine_t *e, arca_exec_t *x, arca_error_t *err)
{
  int fd = shim_connect (x->state_dir, err);
  if (fd < 0)
    return -1;
  _cleanup_json_ json_t *req = json_pack ("{s:s}", "op", "wait");
  if (shim_send (fd, req, err) < 0)
    {
      close (fd);
      return -1;
    }
  monitor_t *m = xmalloc0 (sizeof *m);
  m->e = e;
  m->x = x;
  exec_ref (x);
  if (fdwatch_add (fd, exec_monitor, m, 512 * 1024, err) < 0)
    {
      close (fd);
      free (m);
      exec_unref (x);
      return -1;
    }
  return 0;
}

/* Record a start that did not produce a process. */
static void
record_start_failure (arca_engine_t *e, arca_exec_t *x, int code)
{
  pthread_mutex_lock (&e->lock);
  x->start_done = true;
  x->start_failed = true;
  x->running = false;
  if (!x->has_exit)
    {
      x->has_exit = true;
      x->exit_code = code;
      x->finished_seq = ++exec_finish_counter;
    }
  pthread_cond_broadcast (&e->changed);
  pthread_mutex_unlock (&e->lock);
}

/* After the attach stream ended: if the process is gone, wait (bounded)
 * until the monitor has recorded the exit code; a detached session (TTY
 * detach keys, TTY stdin EOF) returns at once. */
static void
wait_recorded (arca_engine_t *e, arca_exec_t *x)
{
  _cleanup_json_ json_t *req = json_pack ("{s:s}", "op", "state");
  _cleanup_json_ json_t *reply = NULL;
  arca_error_t err;
  if (shim_request (x->state_dir, req, &reply, &err) == 0)
    {
      const char *st = json_get_str (reply, "Status");
      if (st && strcmp (st, "stopped") != 0)
        return;
    }
  struct timespec deadline;
  clock_gettime (CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 30;
  pthread_mutex_lock (&e->lock);
  while (!x->has_exit)
    if (pthread_cond_timedwait (&e->changed, &e->lock, &deadline) == ETIMEDOUT)
      break;
  pthread_mutex_unlock (&e->lock);
}

/* moby ContainerExecStart's checks; marks x running.  */
static int
claim_start (arca_engine_t *e, arca_exec_t *x, arca_error_t *err)
{
  pthread_mutex_lock (&e->lock);
  int r = 0;
  if (x->c->removed)
    r = arca_error_set (err, ARCA_ERR_NOT_FOUND, "No such container: %s", x->id);
  else if (check_active_locked (x->c, x->c->id, err) < 0)
    r = -1;
  else if (x->has_exit)
    r = arca_error_set (err, ARCA_ERR_CONFLICT, "exec command %s has already run", x->id);
  else if (x->running)
    r = arca_error_set (err, ARCA_ERR_CONFLICT, "exec command %s is already running", x->id);
  else
    {
      x->running = true;
      exec_event_locked (e, x, "exec_start"); /* events */
    }
  pthread_mutex_unlock (&e->lock);
  return r;
}

/* Spawn the exec's shim, attach (want_attach: *afd gets the shim's attach
 * stream) and start the process.  Failures are recorded on x. */
static int
start_process (arca_engine_t *e, arca_exec_t *x, unsigned h, unsigned w, bool want_attach, int *afd,
               arca_error_t *err)
{
  _cleanup_free_ char *cdir = container_dir (e, x->c->id);
  _cleanup_free_ char *csdir = container_state_dir (e, x->c->id);
  _cleanup_free_ char *sdir = xasprintf ("%s/exec/%s", csdir, x->id);
  _cleanup_free_ char *proc_path = xasprintf ("%s/process.json", sdir);
  _cleanup_json_ json_t *proc = NULL;
  arca_error_t ignored;
  pthread_mutex_lock (&e->lock);
  x->state_dir = xstrdup (sdir);
  pthread_mutex_unlock (&e->lock);

  arca_trace_t tr;
  arca_trace_begin (&tr, x->id, "exec");
  _cleanup_free_ char *text = NULL;
  if (fs_mkdir_p (sdir, 0700, err) < 0 || build_process (e, x, h, w, &proc, err) < 0
      || (text = json_dumps (proc, JSON_COMPACT)) == NULL
      || fs_write_atomic_nosync (proc_path, text, strlen (text), 0600, err) < 0) /* this exec's own, transient */
    {
      record_start_failure (e, x, 126);
      fs_remove_all (sdir, &ignored);
      return -1;
    }

  const arca_oci_runtime_t *rt;
  if (container_runtime (e, x->c, &rt, err) < 0)
    {
      record_start_failure (e, x, 126);
      fs_remove_all (sdir, &ignored);
      return -1;
    }
  arca_shim_options_t sh = {
    .shim_path = e->shim_path,
    .id = x->c->id,
    .bundle = cdir,
    .state_dir = sdir,
    .runtime_path = rt->path,
    .runtime_root = rt->root,
    .runtime_cgroup_v1_view = rt->cgroup_v1_view,
    .runtime_fd = rt->exec_fd,
    .tty = x->tty,
    .open_stdin = x->open_stdin,
    .stdin_once = true, /* moby: an exec's stdin always closes at the client's EOF */
    .console_height = x->tty ? h : 0,
    .console_width = x->tty ? w : 0,
    .exec_process = proc_path,
    .vm_container = container_is_vm (x->c) ? csdir : NULL, /* VM isolation: the guest runs it */
  };
  pid_t pid = 0;
  arca_trace_mark (&tr, "process_json");
  if (shim_spawn (&sh, &pid, err) < 0)
    {
      record_start_failure (e, x, 126);
      fs_remove_all (sdir, &ignored);
      return -1;
    }

  arca_trace_mark (&tr, "shim_spawn");
  /* Attach before start so the session sees all output. */
  *afd = -1;
  if (want_attach
      && shim_attach (sdir, x->open_stdin, x->open_stdout, x->open_stderr, x->detach_keys, afd, err) < 0)
    {
      /* Without its stream the client would wait, unanswered, for a
       * process nobody can feed or read: refuse the start instead, as
       * moby's ContainerExecStart fails when its attach does. */
      log_warn ("exec %.12s: attach: %s", x->id, err->msg);
      *afd = -1;
      _cleanup_json_ json_t *kill_req = json_pack ("{s:s,s:i}", "op", "kill", "signal", SIGKILL);
      shim_request (sdir, kill_req, NULL, &ignored);
      record_start_failure (e, x, 126);
      return -1;
    }

  _cleanup_json_ json_t *start_req = json_pack ("{s:s}", "op", "start");
  _cleanup_json_ json_t *reply = NULL;
  arca_error_t serr;
  if (monitor_start (e, x, &serr) < 0)
    {
      _cleanup_json_ json_t *kill_req = json_pack ("{s:s,s:i}", "op", "kill", "signal", SIGKILL);
      shim_request (sdir, kill_req, NULL, err);
      record_start_failure (e, x, 126);
      *err = serr;
      return -1;
    }
  arca_trace_mark (&tr, "attach_monitor");
  if (shim_request (sdir, start_req, &reply, &serr) < 0)
    {
      _cleanup_free_ char *msg = NULL;
      int code = oci_exec_failure (serr.msg, x->cmd ? x->cmd[0] : NULL, &msg);
      record_start_failure (e, x, code);
      return arca_error_set (err, ARCA_ERR_INVALID, "%s", msg);
    }
  /* the shim's start answer carries the process's PID (shim_start_ok) */
  pid_t exec_pid = (pid_t) json_get_int (reply, "pid", 0);
  arca_trace_mark (&tr, "shim_start");
  if (arca_log_get_level () == ARCA_LOG_DEBUG)
    log_debug ("trace %.12s exec.runtime_exec %lld us", x->id, (long long) (json_get_int (reply, "runtime_ns", 0) / 1000));

  pthread_mutex_lock (&e->lock);
  x->pid = exec_pid;
  x->start_done = true;
  pthread_cond_broadcast (&e->changed);
  pthread_mutex_unlock (&e->lock);
  return 0;
}

int
exec_start (arca_engine_t *e, arca_exec_t *x, json_t *console_size, bool start_tty, int client_fd,
            const char *extra, size_t extra_len, arca_error_t *err)
{
  if (claim_start (e, x, err) < 0)
    return -1;
  unsigned h = x->console_h, w = x->console_w;
  if (json_is_array (console_size) && json_array_size (console_size) == 2)
    {
      h = (unsigned) json_integer_value (json_array_get (console_size, 0));
      w = (unsigned) json_integer_value (json_array_get (console_size, 1));
    }
  _cleanup_close_ int afd = -1;
  if (start_process (e, x, h, w, client_fd >= 0, &afd, err) < 0)
    return -1;
  if (client_fd < 0)
    return 0;
  attach_framing_t framing = ATTACH_FRAMING_AS_IS;
  if (x->tty && !start_tty)
    framing = ATTACH_FRAMING_FRAME_STDOUT;
  else if (!x->tty && start_tty)
    framing = ATTACH_FRAMING_UNFRAME;
  if (afd >= 0)
    attach_relay_framed (client_fd, afd, extra, extra_len, x->open_stdin, framing);
  wait_recorded (e, x);
  return 0;
}

/* ---- resize, inspect ---- */

int
exec_resize (arca_engine_t *e, arca_exec_t *x, unsigned height, unsigned width, arca_error_t *err)
{
  if (exec_start_check (e, x, err) < 0)
    return -1;
  struct timespec deadline;
  clock_gettime (CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 10;
  pthread_mutex_lock (&e->lock);
  while (!x->start_done)
    if (pthread_cond_timedwait (&e->changed, &e->lock, &deadline) == ETIMEDOUT)
      break;
  bool started = x->start_done, usable = x->start_done && !x->start_failed && !x->has_exit && x->tty;
  _cleanup_free_ char *sdir = xstrdup (x->state_dir);
  pthread_mutex_unlock (&e->lock);
  if (!started)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "timeout waiting for exec session ready");
  if (!usable)
    return 0;
  _cleanup_json_ json_t *req = json_pack ("{s:s,s:i,s:i}", "op", "resize", "height", (int) height, "width",
                                          (int) width);
  arca_error_t rerr;
  if (shim_request (sdir, req, NULL, &rerr) < 0 && rerr.kind != ARCA_ERR_UNAVAILABLE)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "%s", rerr.msg);
  return 0;
}

static json_t *
detach_keys_json (const char *keys)
{
  if (keys == NULL || *keys == '\0')
    return json_string ("");
  uint8_t kb[DETACHKEYS_MAX];
  size_t n = 0;
  arca_error_t err;
  if (detachkeys_parse (keys, kb, &n, &err) < 0)
    return json_string ("");
  /* moby's DetachKeys is a []byte: JSON carries it base64-encoded. */
  char out[BASE64_ENCODE_RAW_LENGTH (DETACHKEYS_MAX) + 1];
  base64_encode_raw (out, n, kb);
  out[BASE64_ENCODE_RAW_LENGTH (n)] = '\0';
  return json_string (out);
}

int
exec_inspect_json (arca_engine_t *e, arca_exec_t *x, json_t **out, arca_error_t *err)
{
  (void) err;
  pthread_mutex_lock (&e->lock);
  json_t *pc = json_pack ("{s:b,s:s,s:o,s:b}", "tty", x->tty, "entrypoint", x->cmd[0], "arguments",
                          json_from_strv (x->cmd + 1), "privileged", x->privileged);
  if (x->user && *x->user)
    json_object_set_new (pc, "user", json_string (x->user));
  json_t *o = json_pack ("{s:s,s:b,s:o,s:o,s:b,s:b,s:b,s:b,s:s,s:o,s:i}", "ID", x->id, "Running",
                         x->running && !x->has_exit, "ExitCode",
                         x->has_exit ? json_integer (x->exit_code) : json_null (), "ProcessConfig", pc,
                         "OpenStdin", x->open_stdin, "OpenStderr", x->open_stderr, "OpenStdout", x->open_stdout,
                         "CanRemove", false, "ContainerID", x->c->id, "DetachKeys",
                         detach_keys_json (x->detach_keys), "Pid", (int) x->pid);
  pthread_mutex_unlock (&e->lock);
  *out = o;
  return 0;
}

/* ---- healthcheck probes (engine/health.c) ---- */

/* Output of a probe: stdout and stderr frames together, at most max bytes
 * kept (moby limitedBuffer). */
typedef struct
{
  uint8_t hdr[STDCOPY_HEADER_LEN];
  size_t hdr_len;
  uint32_t left; /* payload bytes of the current frame still to come */
  arca_buf_t out;
  size_t max;
  bool truncated;
} probe_output_t;

static void
probe_output_feed (probe_output_t *po, const uint8_t *data, size_t len)
{
  while (len > 0)
    {
      if (po->left == 0)
        {
          size_t take = STDCOPY_HEADER_LEN - po->hdr_len;
          if (take > len)
            take = len;
          memcpy (po->hdr + po->hdr_len, data, take);
          po->hdr_len += take;
          data += take;
          len -= take;
          if (po->hdr_len == STDCOPY_HEADER_LEN)
            {
              stdcopy_stream_t st;
              if (stdcopy_parse_header (po->hdr, &st, &po->left) < 0)
                po->left = 0;
              po->hdr_len = 0;
            }
          continue;
        }
      size_t take = po->left < len ? po->left : len;
      size_t room = po->max > po->out.len ? po->max - po->out.len : 0;
      size_t keep = take < room ? take : room;
      if (keep > 0)
        buf_append (&po->out, data, keep);
      if (keep < take)
        po->truncated = true;
      po->left -= (uint32_t) take;
      data += take;
      len -= take;
    }
}

static void
probe_kill (arca_exec_t *x)
{
  _cleanup_json_ json_t *req = json_pack ("{s:s,s:i}", "op", "kill", "signal", SIGKILL);
  arca_error_t ignored;
  shim_request (x->state_dir, req, NULL, &ignored);
}

/* Read the probe's output until it ends; kill it at deadline_ns (monotonic)
 * or when cancel_fd fires. */
static void
probe_read (arca_exec_t *x, int afd, int64_t deadline_ns, int cancel_fd, probe_output_t *po, bool *timed_out,
            bool *canceled)
{
  bool killed = false;
  int64_t give_up = 0;
  for (;;)
    {
      int64_t now = time_mono_ns ();
      int64_t until = killed ? give_up : deadline_ns;
      int timeout = until > now ? (int) ((until - now + 999999) / 1000000) : 0;
      struct pollfd p[2] = { { .fd = afd, .events = POLLIN }, { .fd = cancel_fd, .events = POLLIN } };
      int n = poll (p, cancel_fd >= 0 && !killed ? 2 : 1, timeout);
      if (n < 0 && errno == EINTR)
        continue;
      if (n > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
        {
          uint8_t buf[4096];
          ssize_t r = read (afd, buf, sizeof buf);
          if (r < 0 && errno == EINTR)
            continue;
          if (r <= 0)
            return;
          probe_output_feed (po, buf, (size_t) r);
          continue;
        }
      if (killed)
        return; /* the shim did not end the stream in time: give up */
      if (n > 0 && cancel_fd >= 0 && (p[1].revents & POLLIN))
        *canceled = true;
      else
        *timed_out = true;
      probe_kill (x);
      killed = true;
      give_up = time_mono_ns () + 10 * ARCA_NSEC_PER_SEC;
    }
}

int
exec_probe (arca_engine_t *e, arca_container_t *c, char **argv, int64_t timeout_ns, size_t max_output,
            int cancel_fd, int *exit_code, bool *timed_out, char **output, arca_error_t *err)
{
  *timed_out = false;
  *output = NULL;
  arca_exec_t *x = xmalloc0 (sizeof *x);
  x->refs = 1; /* the engine's list */
  container_id_generate (x->id);
  x->cmd = strv_copy (argv);
  x->open_stdout = x->open_stderr = true;
  arca_exec_t *dropped = NULL;
  pthread_mutex_lock (&e->lock);
  int r = check_active_locked (c, c->id, err);
  if (r == 0)
    {
      container_ref (c);
      x->c = c;
      /* moby cmdProbe: the container's User and WorkingDir, its env */
      x->user = xstrdup (c->opts->user ?: "");
      x->working_dir = xstrdup (c->opts->working_dir ?: "");
      x->env = exec_env (c, false, NULL);
      exec_ref (x); /* ours */
      dropped = register_locked (e, x);
    }
  pthread_mutex_unlock (&e->lock);
  unref_chain (dropped);
  if (r < 0)
    {
      strv_free (x->cmd);
      free (x);
      return -1;
    }

  _cleanup_close_ int afd = -1;
  if (claim_start (e, x, err) < 0 || start_process (e, x, 0, 0, true, &afd, err) < 0)
    {
      exec_unref (x);
      return -1;
    }
  probe_output_t po = { .max = max_output };
  bool canceled = false;
  int64_t probe_deadline = time_mono_ns () + timeout_ns;
  if (afd >= 0)
    probe_read (x, afd, probe_deadline, cancel_fd, &po, timed_out, &canceled);
  /* The stream ends with the process; its exit code follows from the
   * monitor.  A probe that closed its output early still has its timeout. */
  int64_t left = probe_deadline - time_mono_ns ();
  struct timespec deadline;
  clock_gettime (CLOCK_REALTIME, &deadline);
  left = left > 0 ? left : 0;
  deadline.tv_sec += left / ARCA_NSEC_PER_SEC + 1;
  pthread_mutex_lock (&e->lock);
  while (!x->has_exit)
    if (pthread_cond_timedwait (&e->changed, &e->lock, &deadline) == ETIMEDOUT)
      break;
  if (!x->has_exit)
    {
      pthread_mutex_unlock (&e->lock);
      if (!canceled)
        *timed_out = true;
      probe_kill (x);
      pthread_mutex_lock (&e->lock);
      clock_gettime (CLOCK_REALTIME, &deadline);
      deadline.tv_sec += 5;
      while (!x->has_exit)
        if (pthread_cond_timedwait (&e->changed, &e->lock, &deadline) == ETIMEDOUT)
          break;
    }
  bool has_exit = x->has_exit;
  *exit_code = x->exit_code;
  pthread_mutex_unlock (&e->lock);
  exec_unref (x);
  if (po.truncated)
    buf_append (&po.out, "...", 3);
  buf_append (&po.out, "", 1);
  *output = po.out.data;
  if (canceled)
    return arca_error_set (err, ARCA_ERR_UNAVAILABLE, "context canceled");
  if (!has_exit && !*timed_out)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "healthcheck for container %s has no exit code", c->id);
  return 0;
}
