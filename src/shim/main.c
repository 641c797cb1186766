/* arca-shim: supervises one container (see src/runtime/shim_client.h).
 *
 *   arca-shim --id ID --bundle DIR --state-dir DIR --runtime PATH
 *             --runtime-root DIR [--log-path FILE] [--exit-file FILE]
 *             [--tty] [--open-stdin] [--stdin-once]
 *             [--console-height H --console-width W] [--ready-fd N]
 *
 * Started by the daemon through shim_spawn (posix_spawn in a session of its
 * own, then --daemonize: the shim is a child of that process, which exits;
 * stdio on /dev/null, stderr on <state-dir>/shim.log). */
#include "shim/shim.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/timeutil.h"

#define SHIM_DRAIN_NS (3 * ARCA_NSEC_PER_SEC)  /* output still open after init's exit */
#define SHIM_FLUSH_NS (5 * ARCA_NSEC_PER_SEC)  /* attach clients taking the rest */

static void
usage (void)
{
  fprintf (stderr, "usage: arca-shim --id ID --bundle DIR --state-dir DIR --runtime PATH --runtime-root DIR\n"
                   "                 [--log-path FILE] [--exit-file FILE] [--tty] [--open-stdin] [--stdin-once]\n"
                   "                 [--console-height H] [--console-width W] [--ready-fd N] [--daemonize]\n"
                   "                 [--exec-process FILE (instead of --bundle: exec into container ID)]\n"
                   "                 [--log-config FILE (logging driver settings)]\n"
                   "                 [--cgroups-path PATH (the container's cgroup: OOM kills at the exit)]\n"
                   "                 [--vm FILE (run the container in a VM, runtime/vm.h)]\n"
                   "                 [--vm-container DIR (with --exec-process: exec into the VM container whose\n"
                   "                  shim serves DIR)]\n");
  exit (2);
}

static void
parse_args (shim_t *s, int argc, char **argv)
{
  enum { O_ID = 256, O_BUNDLE, O_STATE, O_LOG, O_EXIT, O_RUNTIME, O_ROOT, O_TTY, O_STDIN, O_ONCE, O_H, O_W, O_READY, O_EXEC,
         O_LOGCFG, O_VM, O_VM_CONTAINER, O_DAEMONIZE, O_CGV1, O_RTFD, O_CGPATH };
  static const struct option opts[] = {
    { "id", required_argument, NULL, O_ID },
    { "bundle", required_argument, NULL, O_BUNDLE },
    { "state-dir", required_argument, NULL, O_STATE },
    { "log-path", required_argument, NULL, O_LOG },
    { "log-config", required_argument, NULL, O_LOGCFG },
    { "exit-file", required_argument, NULL, O_EXIT },
    { "runtime", required_argument, NULL, O_RUNTIME },
    { "runtime-root", required_argument, NULL, O_ROOT },
    { "runtime-cgroup-v1-view", no_argument, NULL, O_CGV1 },
    { "runtime-fd", required_argument, NULL, O_RTFD },
    { "cgroups-path", required_argument, NULL, O_CGPATH },
    { "tty", no_argument, NULL, O_TTY },
    { "open-stdin", no_argument, NULL, O_STDIN },
    { "stdin-once", no_argument, NULL, O_ONCE },
    { "console-height", required_argument, NULL, O_H },
    { "console-width", required_argument, NULL, O_W },
    { "ready-fd", required_argument, NULL, O_READY },
    { "exec-process", required_argument, NULL, O_EXEC },
    { "vm", required_argument, NULL, O_VM },
    { "vm-container", required_argument, NULL, O_VM_CONTAINER },
    { "daemonize", no_argument, NULL, O_DAEMONIZE },
    { NULL, 0, NULL, 0 },
  };
  int c;
  while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1)
    switch (c)
      {
      case O_ID: s->id = optarg; break;
      case O_BUNDLE: s->bundle = optarg; break;
      case O_STATE: s->state_dir = optarg; break;
      case O_LOG: s->log_path = optarg; break;
      case O_EXIT: s->exit_file = optarg; break;
      case O_RUNTIME: s->runtime = optarg; break;
      case O_ROOT: s->runtime_root = optarg; break;
      case O_CGV1: s->runtime_cgroup_v1_view = true; break;
      case O_RTFD: s->runtime_fd = atoi (optarg); break;
      case O_CGPATH: s->cgroups_path = optarg; break;
      case O_TTY: s->tty = true; break;
      case O_STDIN: s->open_stdin = true; break;
      case O_ONCE: s->stdin_once = true; break;
      case O_H: s->height = (unsigned) strtoul (optarg, NULL, 10); break;
      case O_W: s->width = (unsigned) strtoul (optarg, NULL, 10); break;
      case O_READY: s->ready_fd = atoi (optarg); break;
      case O_EXEC: s->exec_process = optarg; break;
      case O_LOGCFG: s->log_config = optarg; break;
      case O_VM: s->vm_config = optarg; break;
      case O_VM_CONTAINER: s->vm_container = optarg; break;
      case O_DAEMONIZE: s->daemonize = true; break;
      default: usage ();
      }
  if (!s->id || (!s->bundle && !s->exec_process) || !s->state_dir)
    usage ();
  if (s->vm_container && !s->exec_process)
    usage ();
  if (s->vm_config)
    s->backend = &shim_vm_backend;
  else if (s->vm_container)
    s->backend = &shim_vm_exec_backend;
  else if (s->runtime && s->runtime_root)
    s->backend = &shim_runtime_backend;
  else
    usage ();
}

/* Tell shim_spawn how creation went, then close the pipe. */
static void
report_ready (shim_t *s, const char *error)
{
  if (s->ready_fd < 0)
    return;
  json_t *j = error ? json_pack ("{s:b,s:s}", "ok", 0, "error", error)
                    : json_pack ("{s:b,s:i}", "ok", 1, "pid", (int) s->init_pid);
  _cleanup_free_ char *line = json_dumps (j, JSON_COMPACT);
  json_decref (j);
  if (line)
    {
      size_t len = strlen (line);
      line[len] = '\n';
      (void) !write (s->ready_fd, line, len + 1);
    }
  close (s->ready_fd);
  s->ready_fd = -1;
}

static int
listen_control (shim_t *s)
{
  /* Relative to the state dir (our cwd): sun_path is only 108 bytes. */
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  strcpy (addr.sun_path, "shim.sock");
  unlink (addr.sun_path);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (fd, 64) < 0)
    {
      close (fd);
      return -1;
    }
  chmod (addr.sun_path, 0600);
  return fd;
}

void
shim_mark_exited (shim_t *s, int code)
{
  if (s->exited)
    return;
  s->exited = true;
  s->status = SHIM_STOPPED;
  s->exit_code = code;
  s->finished_ns = time_now_ns ();
  s->drain_deadline = time_mono_ns () + SHIM_DRAIN_NS;
  if (!s->tty && s->in_fd >= 0)
    {
      close (s->in_fd);
      s->in_fd = -1;
    }
  log_info ("container %s exited with %d", s->id, s->exit_code);
}

static void
reap (shim_t *s)
{
  struct signalfd_siginfo si;
  while (read (s->sig_fd, &si, sizeof si) == sizeof si)
    ;
  int status;
  pid_t pid;
  while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
    {
      if (s->backend->child_exited && s->backend->child_exited (s, pid, status))
        continue;
      if (pid != s->init_pid || s->exited)
        continue; /* an orphan re-parented to us, or a runtime leftover */
      shim_mark_exited (s, WIFEXITED (status)     ? WEXITSTATUS (status)
                           : WIFSIGNALED (status) ? 128 + WTERMSIG (status)
                                                  : 255);
    }
}

/* Read what the container wrote on one of its output fds. */
static void
read_output (shim_t *s, int stream)
{
  int *fdp = stream == 0 ? &s->out_fd : &s->err_fd;
  char buf[SHIM_READ_CHUNK];
  for (int rounds = 0; rounds < 4 && *fdp >= 0; rounds++)
    {
      ssize_t n = read (*fdp, buf, sizeof buf);
      if (n > 0)
        {
          shim_handle_output (s, stream, buf, (size_t) n);
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      /* EOF; EIO on a PTY master means every slave fd is closed. */
      if (s->tty && s->in_fd == *fdp)
        s->in_fd = -1;
      close (*fdp);
      *fdp = -1;
      shim_output_eof (s, stream);
    }
}

void
pollset_add (pollset_t *p, int fd, short events)
{
  if (fd < 0)
    return;
  for (size_t i = 0; i < p->n; i++)
    if (p->v[i].fd == fd)
      {
        p->v[i].events |= events;
        return;
      }
  if (p->n == p->cap)
    {
      p->cap = p->cap ? p->cap * 2 : 16;
      p->v = xrealloc (p->v, p->cap * sizeof *p->v);
    }
  p->v[p->n++] = (struct pollfd){ .fd = fd, .events = events };
}

short
pollset_revents (pollset_t *p, int fd)
{
  if (fd < 0)
    return 0;
  for (size_t i = 0; i < p->n; i++)
    if (p->v[i].fd == fd)
      return p->v[i].revents;
  return 0;
}

static void
write_exit_file (shim_t *s)
{
  if (s->exit_file == NULL || *s->exit_file == '\0')
    return;
  json_t *j = json_pack ("{s:i,s:I,s:i,s:b}", "ExitCode", s->exit_code, "FinishedAt", (json_int_t) s->finished_ns,
                         "Pid", (int) (s->state_pid ? s->state_pid : s->init_pid), "OOMKilled", s->oom_killed);
  _cleanup_free_ char *data = json_dumps (j, JSON_COMPACT);
  json_decref (j);
  arca_error_t err = { 0 };
  if (data == NULL || fs_write_atomic (s->exit_file, data, strlen (data), 0644, &err) < 0)
    log_error ("exit file %s: %s", s->exit_file, err.msg);
}

/* The container is gone: hand everything over and leave. */
static void
shim_finish (shim_t *s)
{
  s->drained_ns = time_now_ns ();
  for (int stream = 0; stream < 2; stream++)
    {
      int *fdp = stream == 0 ? &s->out_fd : &s->err_fd;
      if (*fdp >= 0)
        {
          close (*fdp);
          *fdp = -1;
          shim_output_eof (s, stream);
        }
    }
  shim_log_close (s);

  /* Attach streams end after the last output byte (moby CopyStreams). */
  for (shim_conn_t *c = s->conns; c; c = c->next)
    if (c->attached)
      shim_conn_end (s, c);
  int64_t deadline = time_mono_ns () + SHIM_FLUSH_NS;
  for (;;)
    {
      pollset_t ps = { 0 };
      for (shim_conn_t *c = s->conns; c; c = c->next)
        if (c->attached && !c->dead)
          pollset_add (&ps, c->fd, POLLOUT);
      int64_t left = deadline - time_mono_ns ();
      if (ps.n == 0 || left <= 0)
        {
          free (ps.v);
          break;
        }
      poll (ps.v, ps.n, (int) (left / 1000000) + 1);
      for (shim_conn_t *c = s->conns; c; c = c->next)
        if (c->attached && !c->dead && pollset_revents (&ps, c->fd))
          shim_conn_flush (s, c);
      free (ps.v);
    }
  for (shim_conn_t *c = s->conns; c; c = c->next)
    if (c->attached && !c->dead)
      {
        c->out.len = c->out_off = 0; /* stuck client: give up */
        shim_conn_end (s, c);
      }

  /* (a VM's guest may already have said so: its container's cgroup is in
   * the guest, QEMU's on the host) */
  if (!s->start_failed && !s->exec_process)
    s->oom_killed = s->oom_killed || shim_oom_killed (s);
  /* Answer waiters first (docker run --rm is waiting), then write the exit
   * file (two fsyncs) for a daemon that is not listening, then delete the
   * runtime's state; waiters' connections stay open until that is done, so
   * a daemon that wants to create the container again (restart policy)
   * waits for their EOF.  A daemon killed after our answer and before its
   * own commit finds the exit file on restart: it is written before the
   * runtime delete, and the monitor reads it when the wait fails.  An exec
   * leaves the container alone. */
  for (shim_conn_t *c = s->conns; c; c = c->next)
    if (!c->dead && c->waiting)
      shim_reply (s, c, shim_wait_reply (s));
  if (!s->start_failed)
    write_exit_file (s);
  if (s->backend->cleanup)
    s->backend->cleanup (s);
  if (s->listen_fd >= 0)
    close (s->listen_fd);
  unlink ("shim.sock");

  for (shim_conn_t *c = s->conns; c; c = c->next)
    if (!c->dead)
      shim_conn_end (s, c);
  shim_conn_reap (s);
  exit (0);
}

static void
loop (shim_t *s)
{
  pollset_t ps = { 0 };
  /* The daemon sends start right after spawning us; a shim never told to
   * start (its daemon died in between) ends instead of waiting forever.
   * Nothing runs yet, so there is nothing to clean up in the runtime. */
  int64_t start_deadline = time_mono_ns () + 120LL * 1000000000LL;
  for (;;)
    {
      if (s->exited && ((s->out_fd < 0 && s->err_fd < 0) || time_mono_ns () >= s->drain_deadline))
        shim_finish (s);
      if (s->status == SHIM_CREATED && !s->start_requested && time_mono_ns () >= start_deadline)
        {
          log_error ("no start request within 120 s; exiting");
          unlink ("shim.sock");
          exit (1);
        }

      ps.n = 0;
      pollset_add (&ps, s->sig_fd, POLLIN);
      pollset_add (&ps, s->listen_fd, POLLIN);
      bool bp = shim_backpressured (s);
      if (!bp)
        {
          pollset_add (&ps, s->out_fd, POLLIN);
          pollset_add (&ps, s->err_fd, POLLIN);
        }
      bool stdin_pending = s->in_fd >= 0 && s->in_off < s->in_buf.len;
      if (stdin_pending)
        pollset_add (&ps, s->in_fd, POLLOUT);
      int log_fd = shim_log_wait_fd (s);
      pollset_add (&ps, log_fd, POLLOUT);
      int64_t backend_deadline = 0;
      if (s->backend->poll_add)
        s->backend->poll_add (s, &ps, &backend_deadline);
      for (shim_conn_t *c = s->conns; c; c = c->next)
        {
          short ev = 0;
          if (!c->read_eof && !c->closing && (!c->attached || (c->a_stdin && !stdin_pending)))
            ev |= POLLIN;
          if (c->out_off < c->out.len)
            ev |= POLLOUT;
          /* With events 0 poll still reports POLLHUP: a vanished client. */
          pollset_add (&ps, c->fd, ev);
        }
      int timeout = -1;
      if (s->exited)
        timeout = (int) ((s->drain_deadline - time_mono_ns ()) / 1000000) + 1;
      else if (s->status == SHIM_CREATED && !s->start_requested)
        timeout = (int) ((start_deadline - time_mono_ns ()) / 1000000) + 1;
      if (backend_deadline > 0)
        {
          int bt = (int) ((backend_deadline - time_mono_ns ()) / 1000000) + 1;
          if (bt < 0)
            bt = 0;
          if (timeout < 0 || bt < timeout)
            timeout = bt;
        }
      int r = poll (ps.v, ps.n, timeout < 0 ? -1 : timeout);
      if (r < 0 && errno != EINTR)
        {
          log_error ("poll: %s", strerror (errno));
          sleep (1);
          continue;
        }
      if (r < 0)
        continue;
      if (s->backend->poll_handle)
        s->backend->poll_handle (s, &ps);
      if (r == 0)
        continue;

      if (pollset_revents (&ps, s->sig_fd))
        reap (s);
      if (pollset_revents (&ps, log_fd))
        shim_log_writable (s);
      if (!bp && pollset_revents (&ps, s->out_fd) & (POLLIN | POLLHUP | POLLERR))
        read_output (s, 0);
      if (!bp && pollset_revents (&ps, s->err_fd) & (POLLIN | POLLHUP | POLLERR))
        read_output (s, 1);
      if (stdin_pending && pollset_revents (&ps, s->in_fd) & (POLLOUT | POLLERR | POLLHUP))
        shim_stdin_flush (s);
      for (shim_conn_t *c = s->conns; c; c = c->next)
        {
          short re = pollset_revents (&ps, c->fd);
          if (c->dead || re == 0)
            continue;
          if (re & POLLOUT)
            shim_conn_flush (s, c);
          if (!c->dead && (re & POLLIN))
            shim_conn_readable (s, c);
          else if (!c->dead && (re & (POLLHUP | POLLERR)))
            {
              /* Both directions gone: nobody to talk to any more. */
              c->out.len = c->out_off = 0;
              c->closing = true;
              shim_conn_flush (s, c);
            }
        }
      shim_conn_reap (s);
      if (pollset_revents (&ps, s->listen_fd) & POLLIN)
        shim_conn_accept (s);
    }
}

static void
close_inherited_fds (int keep_a, int keep_b)
{
  /* The daemon may leak descriptors without O_CLOEXEC; none must reach the
   * container.  Closes 3.. but the (at most two) descriptors to keep. */
  int keep[2] = { keep_a < keep_b ? keep_a : keep_b, keep_a < keep_b ? keep_b : keep_a };
  unsigned from = 3;
  for (int i = 0; i < 2; i++)
    {
      if (keep[i] < (int) from)
        continue;
      if ((unsigned) keep[i] > from)
        close_range (from, (unsigned) keep[i] - 1, 0);
      from = (unsigned) keep[i] + 1;
    }
  close_range (from, ~0U, 0);
}

int
main (int argc, char **argv)
{
  shim_t s = { .ready_fd = -1, .out_fd = -1, .err_fd = -1, .in_fd = -1, .listen_fd = -1,
               .child_fds = { -1, -1, -1 }, .runtime_fd = -1 };
  parse_args (&s, argc, argv);
  close_inherited_fds (s.ready_fd, s.runtime_fd);
  if (s.ready_fd >= 0)
    fcntl (s.ready_fd, F_SETFD, FD_CLOEXEC);
  /* Not for the runtime's children (the container): it is executed from
   * its /proc/self/fd name, which the exec resolves before it closes. */
  if (s.runtime_fd >= 0 && fcntl (s.runtime_fd, F_SETFD, FD_CLOEXEC) < 0)
    s.runtime_fd = -1;
  /* The daemon spawned us (vfork-like, no copy of its memory) as a session
   * leader it reaps; the shim proper is our child, no session leader (it
   * can never acquire a controlling terminal), re-parented when we exit:
   * the classic double fork, with the one fork made by this small static
   * process. */
  if (s.daemonize)
    {
      pid_t p = fork ();
      if (p < 0)
        {
          _cleanup_free_ char *msg = xasprintf ("shim fork: %s", strerror (errno));
          report_ready (&s, msg);
          return 1;
        }
      if (p > 0)
        _exit (0);
    }

  /* Outlive the daemon and its session: it may be killed at any time. */
  signal (SIGPIPE, SIG_IGN);
  signal (SIGHUP, SIG_IGN);
  signal (SIGINT, SIG_IGN);
  signal (SIGTERM, SIG_IGN);
  sigset_t mask;
  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  sigprocmask (SIG_SETMASK, &mask, NULL);
  s.sig_fd = signalfd (-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

  /* The container's init is re-parented to us when the runtime exits. */
  prctl (PR_SET_CHILD_SUBREAPER, 1);

  char *err_msg = NULL;
  int child_fds[3] = { -1, -1, -1 };
  if (s.sig_fd < 0 || chdir (s.state_dir) < 0)
    {
      err_msg = xasprintf ("shim setup %s: %s", s.state_dir, strerror (errno));
      goto fail;
    }
  if (s.exit_file && *s.exit_file)
    unlink (s.exit_file); /* a previous run's status must not be taken for this one's */
  if (!s.exec_process && shim_log_open (&s, &err_msg) < 0)
    goto fail;
  if (shim_stdio_setup (&s, child_fds, &err_msg) < 0)
    goto fail;
  /* The process runs only at "start", once its attach sessions are in. */
  memcpy (s.child_fds, child_fds, sizeof child_fds);
  if (s.backend == &shim_vm_backend && shim_vm_setup (&s, &err_msg) < 0)
    goto fail;
  if (s.backend == &shim_vm_exec_backend && shim_vm_exec_setup (&s, &err_msg) < 0)
    goto fail;
  s.status = SHIM_CREATED;
  s.listen_fd = listen_control (&s);
  if (s.listen_fd < 0)
    {
      err_msg = xasprintf ("listen %s/shim.sock: %s", s.state_dir, strerror (errno));
      goto fail;
    }
  report_ready (&s, NULL);
  loop (&s);
  return 0;

fail:
  log_error ("%s", err_msg);
  report_ready (&s, err_msg);
  if (s.init_pid > 0)
    kill (s.init_pid, SIGKILL);
  if (s.backend->cleanup)
    s.backend->cleanup (&s);
  free (err_msg);
  return 1;
}
