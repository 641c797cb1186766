/* Invocations of the OCI runtime (runc / crun command line). */
#include "shim/shim.h"

#include "util/cgroupfs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cgview.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/ocilog.h"
#include "util/strutil.h"
#include "util/timeutil.h"

char *
shim_path (shim_t *s, const char *name)
{
  return xasprintf ("%s/%s", s->state_dir, name);
}

static off_t
file_size (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 ? st.st_size : 0;
}

/* fork + exec `<runtime> --root R --log L --log-format json args...`. */
static pid_t
spawn_runtime (shim_t *s, char *const args[], int fds[3])
{
  _cleanup_free_ char *log = shim_path (s, "runtime.log");
  const char *argv[32];
  size_t n = 0;
  argv[n++] = s->runtime;
  argv[n++] = "--root";
  argv[n++] = s->runtime_root;
  argv[n++] = "--log";
  argv[n++] = log;
  argv[n++] = "--log-format";
  argv[n++] = "json";
  for (size_t i = 0; args[i] && n < 31; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  /* The sealed copy (--runtime-fd, runtime/oci.c sealed_copy), argv[0]
   * still the runtime's name. */
  char exec_path[32] = "";
  if (s->runtime_fd >= 0)
    snprintf (exec_path, sizeof exec_path, "/proc/self/fd/%d", s->runtime_fd);

  pid_t pid = fork ();
  if (pid < 0)
    {
      log_error ("fork: %s", strerror (errno));
      return -1;
    }
  if (pid == 0)
    {
      /* The runtime and, through it, the container must not inherit the
       * shim's blocked or ignored signals. */
      sigset_t all;
      sigemptyset (&all);
      sigprocmask (SIG_SETMASK, &all, NULL);
      signal (SIGPIPE, SIG_DFL);
      signal (SIGHUP, SIG_DFL);
      signal (SIGINT, SIG_DFL);
      signal (SIGTERM, SIG_DFL);
      for (int i = 0; i < 3; i++)
        {
          int fd = fds && fds[i] >= 0 ? fds[i] : open ("/dev/null", i == 0 ? O_RDONLY : O_WRONLY);
          if (fd < 0 || dup2 (fd, i) < 0)
            _exit (127);
        }
      if (s->runtime_cgroup_v1_view && cgview_enter_v1 () < 0)
        {
          /* in the runtime's own log, where runtime_error looks */
          static const char line[] = "{\"level\":\"error\",\"msg\":\"cannot enter the cgroup v1 view "
                                     "(a mount namespace without the cgroup2 mount) for the runtime\"}\n";
          int lfd = open (log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
          if (lfd >= 0 && write (lfd, line, sizeof line - 1) < 0)
            _exit (127);
          _exit (127);
        }
      execvp (exec_path[0] ? exec_path : argv[0], (char *const *) argv);
      _exit (127);
    }
  return pid;
}

static int
wait_pid (pid_t pid)
{
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return -1;
  return status;
}

int
shim_run_runtime (shim_t *s, char *const args[], int fds[3])
{
  pid_t pid = spawn_runtime (s, args, fds);
  if (pid < 0)
    return -1;
  return wait_pid (pid);
}

/* The runtime's own message for a failed invocation, or a generic one. */
static char *
runtime_error (shim_t *s, off_t from, const char *what, int status)
{
  _cleanup_free_ char *log = shim_path (s, "runtime.log");
  char *msg = ocilog_last_error (log, from);
  if (msg)
    return msg;
  if (status < 0)
    return xasprintf ("%s: cannot execute %s", what, s->runtime);
  if (WIFEXITED (status))
    return xasprintf ("%s: %s exited with status %d", what, s->runtime, WEXITSTATUS (status));
  return xasprintf ("%s: %s killed by signal %d", what, s->runtime, WTERMSIG (status));
}

int
shim_runtime_create (shim_t *s, int child_fds[3], char **err_msg)
{
  _cleanup_free_ char *pidfile = shim_path (s, s->exec_process ? "exec.pid" : "init.pid");
  _cleanup_free_ char *console = NULL;
  _cleanup_close_ int console_fd = -1;
  unlink (pidfile);
  if (s->tty)
    {
      console = shim_path (s, "console.sock");
      if (strlen (console) >= 108)
        {
          /* sun_path is short; fall back to a short private path. */
          free (console);
          console = xasprintf ("/tmp/arca-shim-console-%d.sock", (int) getpid ());
        }
      console_fd = shim_console_listen (console);
      if (console_fd < 0)
        {
          *err_msg = xasprintf ("console socket %s: %s", console, strerror (errno));
          return -1;
        }
    }
  const char *args[16];
  size_t n = 0;
  if (s->exec_process)
    {
      args[n++] = "exec";
      args[n++] = "--process";
      args[n++] = s->exec_process;
      args[n++] = "--detach";
    }
  else
    {
      /* One `run --detach` instead of `create` + `start`: each runtime
       * invocation costs tens of milliseconds, and the shim runs this only
       * when the daemon says start, after the attach sessions are in. */
      args[n++] = "run";
      args[n++] = "--detach";
      args[n++] = "--bundle";
      args[n++] = s->bundle;
    }
  args[n++] = "--pid-file";
  args[n++] = pidfile;
  if (console)
    {
      args[n++] = "--console-socket";
      args[n++] = console;
    }
  args[n++] = s->id;
  args[n] = NULL;

  _cleanup_free_ char *log = shim_path (s, "runtime.log");
  off_t from = file_size (log);
  pid_t pid = spawn_runtime (s, (char *const *) args, child_fds);
  int status = -1;
  if (pid > 0 && console_fd >= 0)
    {
      /* The runtime sends the master while `create` runs; take it as soon as
       * it arrives, until the runtime has exited either way. */
      for (;;)
        {
          int master = shim_console_recv (console_fd, 100);
          if (master >= 0)
            {
              /* Size it now: with `run --detach` the process is already
               * running and may ask for the size before runc exits. */
              s->out_fd = s->in_fd = master;
              if (s->height > 0 && s->width > 0)
                shim_set_winsize (master, s->height, s->width);
              break;
            }
          pid_t r = waitpid (pid, &status, WNOHANG);
          if (r == pid)
            {
              pid = -1;
              master = shim_console_recv (console_fd, 0);
              if (master >= 0)
                s->out_fd = s->in_fd = master;
              break;
            }
        }
    }
  if (pid > 0)
    status = wait_pid (pid);
  if (console)
    unlink (console);
  if (status < 0 || !WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      *err_msg = runtime_error (s, from, s->exec_process ? "exec" : "run", status);
      return -1;
    }
  if (s->tty && s->out_fd < 0)
    {
      *err_msg = xstrdup ("create: no console received from the runtime");
      return -1;
    }
  _cleanup_free_ char *data = NULL;
  if (fs_read_file (pidfile, &data, NULL, NULL) < 0 || (s->init_pid = atoi (data)) <= 0)
    {
      *err_msg = xasprintf ("create: cannot read %s", pidfile);
      return -1;
    }
  if (s->tty)
    {
      fcntl (s->out_fd, F_SETFL, O_NONBLOCK);
      if (s->height > 0 && s->width > 0)
        shim_set_winsize (s->out_fd, s->height, s->width);
    }
  return 0;
}

int
shim_runtime_kill_all (shim_t *s, int sig, char **err_msg)
{
  _cleanup_free_ char *log = shim_path (s, "runtime.log");
  off_t from = file_size (log);
  char signum[16];
  snprintf (signum, sizeof signum, "%d", sig);
  const char *args[] = { "kill", "--all", s->id, signum, NULL };
  int status = shim_run_runtime (s, (char *const *) args, NULL);
  if (status < 0 || !WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      *err_msg = runtime_error (s, from, "kill", status);
      return -1;
    }
  return 0;
}

void
shim_runtime_delete (shim_t *s)
{
  const char *args[] = { "delete", "--force", s->id, NULL };
  int status = shim_run_runtime (s, (char *const *) args, NULL);
  if (status < 0 || !WIFEXITED (status) || WEXITSTATUS (status) != 0)
    log_warn ("%s delete %s failed (status %d)", s->runtime, s->id, status);
}

bool
shim_oom_killed (shim_t *s)
{
  /* Given by the daemon: reading it from config.json took ~0.8 ms (24 KB
   * of JSON) on the path of every exit's answer. */
  if (s->cgroups_path == NULL || s->exec_process)
    return false;
  return cgroupfs_oom_kills ("/sys/fs/cgroup", s->cgroups_path) > 0;
}

/* ---- the OCI runtime as a shim backend ---- */

static json_t *
runtime_start (shim_t *s, shim_conn_t *c)
{
  char *msg = NULL;
  int64_t t0 = time_mono_ns ();
  int r = shim_runtime_create (s, s->child_fds, &msg);
  s->runtime_ns = time_mono_ns () - t0;
  shim_close_child_fds (s);
  if (r < 0)
    return shim_start_failed (s, msg);
  return shim_start_ok (s);
}

static int
runtime_kill (shim_t *s, int sig, bool all, char **err_msg)
{
  if (all)
    return shim_runtime_kill_all (s, sig, err_msg);
  /* The init process is our child until we reap it, so its PID cannot have
   * been reused: signalling it directly is safe and spares a runtime run. */
  if (kill (s->init_pid, sig) < 0)
    {
      *err_msg = xasprintf ("kill: %s", strerror (errno));
      return -1;
    }
  return 0;
}

static void
runtime_resize (shim_t *s, unsigned height, unsigned width)
{
  if (s->out_fd >= 0)
    shim_set_winsize (s->out_fd, height, width);
}

static void
runtime_cleanup (shim_t *s)
{
  /* An exec leaves the container alone. */
  if (!s->exec_process)
    shim_runtime_delete (s);
}

const shim_backend_t shim_runtime_backend = {
  .start = runtime_start,
  .kill = runtime_kill,
  .resize = runtime_resize,
  .cleanup = runtime_cleanup,
};
