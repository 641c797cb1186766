/* Daemon side of arca-shim: spawning, the control protocol, exit files. */
#include "runtime/shim_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/ocilog.h"
#include "util/strutil.h"
#include "util/timeutil.h"

#define SHIM_READY_TIMEOUT_MS 60000
#define SHIM_READY_FD 3
#define SHIM_RUNTIME_FD 4
#define SHIM_MAX_REPLY (1024 * 1024)

static char **
shim_argv (const arca_shim_options_t *o, int ready_fd)
{
  char **v = NULL;
  char num[32];
  v = strv_append (v, o->shim_path);
#define ARG(flag, val)                                                                                                 \
  do                                                                                                                   \
    {                                                                                                                  \
      if (val)                                                                                                         \
        {                                                                                                              \
          v = strv_append (v, flag);                                                                                   \
          v = strv_append (v, val);                                                                                    \
        }                                                                                                              \
    }                                                                                                                  \
  while (0)
  ARG ("--id", o->id);
  ARG ("--bundle", o->bundle);
  ARG ("--state-dir", o->state_dir);
  ARG ("--log-path", o->log_path);
  ARG ("--log-config", o->log_config);
  ARG ("--exit-file", o->exit_file);
  ARG ("--runtime", o->runtime_path);
  ARG ("--runtime-root", o->runtime_root);
  ARG ("--cgroups-path", o->cgroups_path);
  if (o->runtime_cgroup_v1_view)
    v = strv_append (v, "--runtime-cgroup-v1-view");
  if (o->runtime_fd > 2)
    {
      v = strv_append (v, "--runtime-fd");
      snprintf (num, sizeof num, "%d", SHIM_RUNTIME_FD);
      v = strv_append (v, num);
    }
  ARG ("--exec-process", o->exec_process);
  ARG ("--vm", o->vm_config);
  ARG ("--vm-container", o->vm_container);
#undef ARG
  if (o->tty)
    v = strv_append (v, "--tty");
  if (o->open_stdin)
    v = strv_append (v, "--open-stdin");
  if (o->stdin_once)
    v = strv_append (v, "--stdin-once");
  if (o->console_height && o->console_width)
    {
      snprintf (num, sizeof num, "%u", o->console_height);
      v = strv_append (v, "--console-height");
      v = strv_append (v, num);
      snprintf (num, sizeof num, "%u", o->console_width);
      v = strv_append (v, "--console-width");
      v = strv_append (v, num);
    }
  v = strv_append (v, "--daemonize");
  snprintf (num, sizeof num, "%d", ready_fd);
  v = strv_append (v, "--ready-fd");
  v = strv_append (v, num);
  return v;
}

/* Read the shim's one readiness line (or EOF) within the timeout. */
static int
read_ready (int fd, arca_buf_t *b, arca_error_t *err)
{
  int64_t deadline = time_mono_ns () + (int64_t) SHIM_READY_TIMEOUT_MS * 1000000;
  for (;;)
    {
      int64_t left = (deadline - time_mono_ns ()) / 1000000;
      if (left <= 0)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "timeout waiting for the shim to create the container");
      struct pollfd p = { .fd = fd, .events = POLLIN };
      int r = poll (&p, 1, (int) left);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return arca_error_errno (err, errno, "poll shim pipe");
      if (r == 0)
        continue;
      char chunk[1024];
      ssize_t n = read (fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return arca_error_errno (err, errno, "read shim pipe");
      if (n == 0)
        return 0;
      buf_append (b, chunk, (size_t) n);
      if (memchr (chunk, '\n', (size_t) n))
        return 0;
    }
}

/* Start argv[0] in a session of its own, stdin and stdout on /dev/null,
 * stderr appended to log (or /dev/null), ready_fd as SHIM_READY_FD and no
 * other descriptor (they are all close-on-exec), every signal at its
 * default and none blocked.  posix_spawn (clone with CLONE_VM|CLONE_VFORK
 * in glibc) neither copies the daemon's page tables nor makes its threads
 * take copy-on-write faults afterwards, as fork did (twice per start). */
static int
spawn_detached (char **argv, const char *log, int ready_fd, int runtime_fd, pid_t *pid, arca_error_t *err)
{
  _cleanup_close_ int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0)
    return arca_error_errno (err, errno, "open /dev/null");
  _cleanup_close_ int logfd = open (log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init (&fa);
  posix_spawnattr_init (&at);
  posix_spawn_file_actions_adddup2 (&fa, null, 0);
  posix_spawn_file_actions_adddup2 (&fa, null, 1);
  posix_spawn_file_actions_adddup2 (&fa, logfd >= 0 ? logfd : null, 2);
  /* dup2 onto itself clears close-on-exec (POSIX; glibc >= 2.29) */
  posix_spawn_file_actions_adddup2 (&fa, ready_fd, SHIM_READY_FD);
  if (runtime_fd > 2)
    posix_spawn_file_actions_adddup2 (&fa, runtime_fd, SHIM_RUNTIME_FD);
  sigset_t none, all;
  sigemptyset (&none);
  sigfillset (&all);
  posix_spawnattr_setsigmask (&at, &none);
  posix_spawnattr_setsigdefault (&at, &all);
  posix_spawnattr_setflags (&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  int r = posix_spawn (pid, argv[0], &fa, &at, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  posix_spawnattr_destroy (&at);
  if (r != 0)
    return arca_error_errno (err, r, "start shim %s", argv[0]);
  return 0;
}

int
shim_spawn_begin (const arca_shim_options_t *opts, arca_shim_spawn_t *sp, arca_error_t *err)
{
  *sp = (arca_shim_spawn_t) SHIM_SPAWN_INIT;
  if (fs_mkdir_p (opts->state_dir, 0700, err) < 0)
    return -1;
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return arca_error_errno (err, errno, "pipe");
  _cleanup_close_ int rd = p[0];
  _cleanup_close_ int wr = p[1];
  /* the shim finds its end of the pipe as fd 3 */
  _cleanup_strv_ char **argv = shim_argv (opts, SHIM_READY_FD);
  _cleanup_free_ char *shim_log = xasprintf ("%s/shim.log", opts->state_dir);
  if (spawn_detached (argv, shim_log, wr, opts->runtime_fd, &sp->child, err) < 0)
    return -1;
  sp->ready_fd = arca_steal_fd (rd);
  sp->state_dir = xstrdup (opts->state_dir);
  return 0;
}

/* The shim's first line on the ready pipe: {"ok":true,"pid":N} or its
 * error. */
static int
ready_report (int fd, const char *state_dir, const char *shim_path, pid_t *pid, arca_error_t *err)
{
  arca_buf_t b = { 0 };
  if (read_ready (fd, &b, err) < 0)
    {
      buf_free (&b);
      return -1;
    }
  buf_append (&b, "", 1);
  _cleanup_json_ json_t *j = json_loads (b.data, JSON_DISABLE_EOF_CHECK, NULL);
  buf_free (&b);
  if (j == NULL)
    {
      /* The shim died without a word (or could not be executed). */
      _cleanup_free_ char *rtlog = xasprintf ("%s/runtime.log", state_dir);
      _cleanup_free_ char *msg = ocilog_last_error (rtlog, 0);
      if (msg)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "%s", msg);
      return arca_error_set (err, ARCA_ERR_INTERNAL, "shim %s exited before creating the container", shim_path);
    }
  if (!json_get_bool (j, "ok", false))
    {
      const char *msg = json_get_str (j, "error");
      return arca_error_set (err, ARCA_ERR_INTERNAL, "%s", msg ? msg : "shim failed");
    }
  *pid = (pid_t) json_get_int (j, "pid", 0);
  return 0;
}

int
shim_spawn_finish (arca_shim_spawn_t *sp, const char *shim_path, pid_t *pid, arca_error_t *err)
{
  if (sp->child <= 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "shim %s was not started", shim_path);
  /* The spawned process forks the shim and exits at once (--daemonize);
   * reap it so no zombie remains.  ECHILD is fine if some other reaper
   * got it first. */
  while (waitpid (sp->child, NULL, 0) < 0 && errno == EINTR)
    ;
  int r = ready_report (sp->ready_fd, sp->state_dir, shim_path, pid, err);
  close (sp->ready_fd);
  free (sp->state_dir);
  *sp = (arca_shim_spawn_t) SHIM_SPAWN_INIT;
  return r;
}

int
shim_spawn (const arca_shim_options_t *opts, pid_t *pid, arca_error_t *err)
{
  arca_shim_spawn_t sp;
  if (shim_spawn_begin (opts, &sp, err) < 0)
    return -1;
  return shim_spawn_finish (&sp, opts->shim_path, pid, err);
}

int
shim_connect (const char *state_dir, arca_error_t *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  _cleanup_free_ char *path = xasprintf ("%s/shim.sock", state_dir);
  _cleanup_close_ int dirfd = -1;
  if (strlen (path) >= sizeof addr.sun_path)
    {
      /* Too long for sun_path: go through the directory's fd. */
      dirfd = open (state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (dirfd < 0)
        return arca_error_set (err, ARCA_ERR_UNAVAILABLE, "shim %s is not running", path);
      free (path);
      path = xasprintf ("/proc/self/fd/%d/shim.sock", dirfd);
    }
  strcpy (addr.sun_path, path);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return arca_error_errno (err, errno, "socket");
  int r;
  do
    r = connect (fd, (struct sockaddr *) &addr, sizeof addr);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    {
      int e = errno;
      close (fd);
      arca_error_set (err, ARCA_ERR_UNAVAILABLE, "shim %s/shim.sock is not running: %s", state_dir, strerror (e));
      if (err)
        err->errno_value = e;
      return -1;
    }
  return fd;
}

/* Read one "\n"-terminated line without consuming anything after it (an
 * attach stream may follow the reply directly). */
static int
read_line (int fd, arca_buf_t *b, arca_error_t *err)
{
  for (;;)
    {
      char chunk[4096];
      ssize_t n = recv (fd, chunk, sizeof chunk, MSG_PEEK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return arca_error_set (err, ARCA_ERR_UNAVAILABLE, "shim connection: %s", strerror (errno));
      if (n == 0)
        return arca_error_set (err, ARCA_ERR_UNAVAILABLE, "shim closed the connection");
      char *nl = memchr (chunk, '\n', (size_t) n);
      size_t take = nl ? (size_t) (nl - chunk) + 1 : (size_t) n;
      ssize_t got;
      do
        got = recv (fd, chunk, take, 0);
      while (got < 0 && errno == EINTR);
      if (got <= 0)
        return arca_error_set (err, ARCA_ERR_UNAVAILABLE, "shim closed the connection");
      buf_append (b, chunk, (size_t) got);
      if (nl && (size_t) got == take)
        return 0;
      if (b->len > SHIM_MAX_REPLY)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "shim reply too long");
    }
}

int
shim_send (int fd, json_t *request, arca_error_t *err)
{
  _cleanup_free_ char *line = json_dumps (request, JSON_COMPACT);
  if (line == NULL)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "cannot encode shim request");
  size_t len = strlen (line);
  line[len] = '\n'; /* json_dumps leaves room for the NUL we overwrite */
  const char *p = line;
  size_t left = len + 1;
  while (left > 0)
    {
      ssize_t n = send (fd, p, left, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return arca_error_set (err, ARCA_ERR_UNAVAILABLE, "shim connection: %s", strerror (errno));
      p += n;
      left -= (size_t) n;
    }
  return 0;
}

int
shim_reply_read (int fd, json_t **reply, arca_error_t *err)
{
  arca_buf_t b = { 0 };
  if (read_line (fd, &b, err) < 0)
    {
      buf_free (&b);
      return -1;
    }
  buf_append (&b, "", 1);
  json_t *j = json_loads (b.data, JSON_DISABLE_EOF_CHECK, NULL);
  buf_free (&b);
  if (j == NULL || !json_is_object (j))
    {
      json_decref (j);
      return arca_error_set (err, ARCA_ERR_INTERNAL, "invalid reply from shim");
    }
  if (!json_get_bool (j, "ok", false))
    {
      const char *msg = json_get_str (j, "error");
      arca_error_set (err, ARCA_ERR_INTERNAL, "%s", msg ? msg : "shim request failed");
      json_decref (j);
      return -1;
    }
  if (reply)
    *reply = j;
  else
    json_decref (j);
  return 0;
}

int
shim_call (int fd, json_t *request, json_t **reply, arca_error_t *err)
{
  if (shim_send (fd, request, err) < 0)
    return -1;
  return shim_reply_read (fd, reply, err);
}

int
shim_request (const char *state_dir, json_t *request, json_t **reply, arca_error_t *err)
{
  _cleanup_close_ int fd = shim_connect (state_dir, err);
  if (fd < 0)
    return -1;
  return shim_call (fd, request, reply, err);
}

int
shim_attach (const char *state_dir, bool in, bool out, bool errs, const char *detach_keys, int *fd,
             arca_error_t *err)
{
  _cleanup_close_ int c = shim_connect (state_dir, err);
  if (c < 0)
    return -1;
  _cleanup_json_ json_t *req
      = json_pack ("{s:s,s:b,s:b,s:b}", "op", "attach", "stdin", in, "stdout", out, "stderr", errs);
  if (detach_keys && *detach_keys)
    json_object_set_new (req, "detachKeys", json_string (detach_keys));
  if (shim_call (c, req, NULL, err) < 0)
    return -1;
  *fd = arca_steal_fd (c);
  return 0;
}

int
shim_read_exit_file (const char *exit_file, int *exit_code, int64_t *finished_ns, bool *oom_killed, arca_error_t *err)
{
  _cleanup_free_ char *data = NULL;
  arca_error_t local = { 0 };
  if (fs_read_file (exit_file, &data, NULL, &local) < 0)
    {
      if (local.errno_value == ENOENT)
        return arca_error_set (err, ARCA_ERR_NOT_FOUND, "no exit file %s", exit_file);
      if (err)
        *err = local;
      return -1;
    }
  _cleanup_json_ json_t *j = json_loads (data, 0, NULL);
  if (j == NULL || json_object_get (j, "ExitCode") == NULL)
    return arca_error_set (err, ARCA_ERR_NOT_FOUND, "malformed exit file %s", exit_file);
  if (exit_code)
    *exit_code = (int) json_get_int (j, "ExitCode", 0);
  if (finished_ns)
    *finished_ns = json_get_int (j, "FinishedAt", 0);
  if (oom_killed)
    *oom_killed = json_get_bool (j, "OOMKilled", false);
  return 0;
}
