/* Starting the container's processes from OCI process objects, in the order
 * runc's init does it (libcontainer/init_linux.go finalizeNamespace):
 * rlimits, bounding set, user and groups with the capabilities kept, then
 * the capability sets, no_new_privs, cwd, exec.  The init gets a PID and a
 * mount namespace of its own (it is PID 1 of the container, /proc shows
 * the container); execs join them. */
#include "guest/guest.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "util/childfail.h"
#include "util/cleanup.h"
#include "util/json.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef struct
{
  char **args, **env;
  const char *cwd;
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  size_t n_groups;
  uint64_t bounding, effective, permitted, inheritable, ambient;
  bool no_new_privs;
  json_t *rlimits;
  json_t *oom_score_adj;
  bool tty;
  unsigned height, width;
} proc_spec_t;

static void
proc_spec_free (proc_spec_t *p)
{
  strv_free (p->args);
  strv_free (p->env);
  free (p->groups);
}

static uint64_t
cap_set (json_t *caps, const char *key)
{
  uint64_t v = 0;
  size_t i;
  json_t *c;
  json_array_foreach (json_object_get (caps, key), i, c)
  {
    int n = caps_from_name (json_string_value (c));
    if (n >= 0)
      v |= 1ULL << n;
  }
  return v;
}

static int
proc_spec_parse (json_t *process, proc_spec_t *p, char **err_msg)
{
  p->args = json_get_strv (process, "args");
  if (p->args == NULL || p->args[0] == NULL)
    {
      *err_msg = xstrdup ("args must not be empty");
      return -1;
    }
  p->env = json_get_strv (process, "env");
  p->cwd = json_get_str (process, "cwd");
  if (p->cwd == NULL || *p->cwd == '\0')
    p->cwd = "/";
  json_t *user = json_object_get (process, "user");
  p->uid = (uid_t) json_get_int (user, "uid", 0);
  p->gid = (gid_t) json_get_int (user, "gid", 0);
  json_t *ag = json_object_get (user, "additionalGids");
  p->n_groups = json_array_size (ag);
  p->groups = xmalloc0 ((p->n_groups + 1) * sizeof (gid_t));
  for (size_t i = 0; i < p->n_groups; i++)
    p->groups[i] = (gid_t) json_integer_value (json_array_get (ag, i));
  json_t *caps = json_object_get (process, "capabilities");
  p->bounding = cap_set (caps, "bounding");
  p->effective = cap_set (caps, "effective");
  p->permitted = cap_set (caps, "permitted");
  p->inheritable = cap_set (caps, "inheritable");
  p->ambient = cap_set (caps, "ambient");
  p->no_new_privs = json_get_bool (process, "noNewPrivileges", false);
  p->rlimits = json_object_get (process, "rlimits");
  p->oom_score_adj = json_object_get (process, "oomScoreAdj");
  p->tty = json_get_bool (process, "terminal", false);
  json_t *cs = json_object_get (process, "consoleSize");
  p->height = (unsigned) json_get_int (cs, "height", 0);
  p->width = (unsigned) json_get_int (cs, "width", 0);
  return 0;
}

/* ---- child side: only what the exec needs; failures go to the pipe ---- */

static int
rlimit_resource (const char *name)
{
  static const struct
  {
    const char *name;
    int res;
  } map[] = {
    { "RLIMIT_CPU", RLIMIT_CPU },         { "RLIMIT_FSIZE", RLIMIT_FSIZE },   { "RLIMIT_DATA", RLIMIT_DATA },
    { "RLIMIT_STACK", RLIMIT_STACK },     { "RLIMIT_CORE", RLIMIT_CORE },     { "RLIMIT_RSS", RLIMIT_RSS },
    { "RLIMIT_NPROC", RLIMIT_NPROC },     { "RLIMIT_NOFILE", RLIMIT_NOFILE }, { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
    { "RLIMIT_AS", RLIMIT_AS },           { "RLIMIT_LOCKS", RLIMIT_LOCKS },   { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
    { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE },   { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
    { "RLIMIT_RTTIME", RLIMIT_RTTIME },
  };
  for (size_t i = 0; name && i < sizeof map / sizeof map[0]; i++)
    if (strcmp (name, map[i].name) == 0)
      return map[i].res;
  return -1;
}

static void
child_rlimits (const proc_spec_t *p, int errfd)
{
  size_t i;
  json_t *r;
  json_array_foreach (p->rlimits, i, r)
  {
    const char *type = json_get_str (r, "type");
    int res = rlimit_resource (type);
    if (res < 0)
      child_fail (errfd, "unknown rlimit type %s", type ? type : "");
    struct rlimit rl = { .rlim_cur = (rlim_t) json_get_int (r, "soft", 0),
                         .rlim_max = (rlim_t) json_get_int (r, "hard", 0) };
    if (setrlimit (res, &rl) < 0)
      child_fail (errfd, "error setting rlimit type %d: %s", res, strerror (errno));
  }
}

static void
child_caps (const proc_spec_t *p, int errfd)
{
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2] = { 0 };
  for (int i = 0; i < 2; i++)
    {
      data[i].effective = (uint32_t) (p->effective >> (32 * i));
      data[i].permitted = (uint32_t) (p->permitted >> (32 * i));
      data[i].inheritable = (uint32_t) (p->inheritable >> (32 * i));
    }
  if (syscall (SYS_capset, &hdr, data) < 0)
    child_fail (errfd, "capset: %s", strerror (errno));
  prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (int c = 0; c < 64; c++)
    if ((p->ambient & (1ULL << c)) && prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
      child_fail (errfd, "ambient capability %d: %s", c, strerror (errno));
}

static void
child_user (const proc_spec_t *p, int errfd)
{
  /* The bounding set first: dropping needs CAP_SETPCAP, which the user
   * switch may take away. */
  for (int c = 0; c <= 63; c++)
    if (!(p->bounding & (1ULL << c)) && prctl (PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
      child_fail (errfd, "drop capability %d from the bounding set: %s", c, strerror (errno));
  prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0);
  if (setgroups (p->n_groups, p->groups) < 0)
    child_fail (errfd, "setgroups: %s", strerror (errno));
  if (setresgid (p->gid, p->gid, p->gid) < 0)
    child_fail (errfd, "setgid %u: %s", (unsigned) p->gid, strerror (errno));
  if (setresuid (p->uid, p->uid, p->uid) < 0)
    child_fail (errfd, "setuid %u: %s", (unsigned) p->uid, strerror (errno));
  prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0);
  child_caps (p, errfd);
}

static const char *
env_path (char **env)
{
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp (env[i], "PATH=", 5) == 0)
      return env[i] + 5;
  return DEFAULT_PATH;
}

/* exec.LookPath as runc uses it, with its messages. */
static char *
look_path (const char *name, char **env, int errfd)
{
  struct stat st;
  if (strchr (name, '/'))
    {
      if (stat (name, &st) < 0)
        child_fail (errfd, "exec: \"%s\": stat %s: %s", name, name, strerror (errno));
      return xstrdup (name);
    }
  _cleanup_free_ char *path = xstrdup (env_path (env));
  char *save = NULL;
  for (char *dir = strtok_r (path, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      char *cand = xasprintf ("%s/%s", *dir ? dir : ".", name);
      if (stat (cand, &st) == 0 && S_ISREG (st.st_mode) && (st.st_mode & 0111))
        return cand;
      free (cand);
    }
  child_fail (errfd, "exec: \"%s\": executable file not found in $PATH", name);
}

static void
child_stdio (int fds[3], int errfd)
{
  for (int i = 0; i < 3; i++)
    if (fds[i] != i && dup2 (fds[i], i) < 0)
      child_fail (errfd, "stdio: %s", strerror (errno));
  for (int i = 0; i < 3; i++)
    fcntl (i, F_SETFD, 0);
}

static void
child_console (int slave, int errfd)
{
  /* runc mounts the PTY on /dev/console for a terminal container. */
  char name[64];
  snprintf (name, sizeof name, "/proc/self/fd/%d", slave);
  int f = open ("/dev/console", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (f >= 0)
    close (f);
  if (mount (name, "/dev/console", NULL, MS_BIND, NULL) < 0)
    guest_log ("bind the terminal on /dev/console: %s", strerror (errno));
  (void) errfd;
}

typedef struct
{
  guest_t *g;
  const proc_spec_t *p;
  bool init;
  int stdio[3];
  int slave;     /* with a TTY, else -1 */
  int errfd;
  int cgns_fd;   /* exec: the init's cgroup namespace */
} child_args_t;

static void __attribute__ ((noreturn))
child_main (child_args_t *a)
{
  const proc_spec_t *p = a->p;
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  for (int sig = 1; sig < NSIG; sig++)
    signal (sig, SIG_DFL);
  setsid ();
  if (p->tty && ioctl (a->slave, TIOCSCTTY, 0) < 0)
    child_fail (a->errfd, "set controlling terminal: %s", strerror (errno));

  /* The container's cgroup (from the agent's view, before leaving it). */
  if (write_file (GUEST_CGROUP "/cgroup.procs", "0") < 0)
    child_fail (a->errfd, "join cgroup: %s", strerror (errno));
  if (a->init)
    {
      char *msg = NULL;
      if (unshare (CLONE_NEWNS | CLONE_NEWCGROUP) < 0)
        child_fail (a->errfd, "unshare: %s", strerror (errno));
      if (mounts_enter_root (a->g->spec, &msg) < 0)
        child_fail (a->errfd, "%s", msg);
      if (p->tty)
        child_console (a->slave, a->errfd);
    }
  else
    {
      if (a->cgns_fd >= 0 && setns (a->cgns_fd, CLONE_NEWCGROUP) < 0)
        child_fail (a->errfd, "join the cgroup namespace: %s", strerror (errno));
      if (setns (a->g->init_mntns_fd, CLONE_NEWNS) < 0)
        child_fail (a->errfd, "join the mount namespace: %s", strerror (errno));
      if (chdir ("/") < 0)
        child_fail (a->errfd, "chdir /: %s", strerror (errno));
    }
  child_stdio (a->stdio, a->errfd);

  child_rlimits (p, a->errfd);
  if (json_is_integer (p->oom_score_adj))
    {
      char v[32];
      snprintf (v, sizeof v, "%lld", (long long) json_integer_value (p->oom_score_adj));
      write_file ("/proc/self/oom_score_adj", v);
    }
  child_user (p, a->errfd);
  if (chdir (p->cwd) < 0)
    child_fail (a->errfd, "chdir to cwd (\"%s\") set in config.json failed: %s", p->cwd, strerror (errno));
  if (p->no_new_privs && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    child_fail (a->errfd, "no_new_privs: %s", strerror (errno));
  char *exe = look_path (p->args[0], p->env, a->errfd);
  char *empty[] = { NULL };
  execve (exe, p->args, p->env ? p->env : empty);
  child_fail (a->errfd, "exec: \"%s\": %s", p->args[0], strerror (errno));
}

/* ---- parent side ---- */

static int
open_pty (const proc_spec_t *p, int *master, int *slave, char **err_msg)
{
  /* The container's devpts instance: its /dev/pts shows the terminal. */
  *master = open (GUEST_ROOT "/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*master < 0)
    *master = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*master < 0)
    {
      *err_msg = xasprintf ("open ptmx: %s", strerror (errno));
      return -1;
    }
  int unlock = 0;
  ioctl (*master, TIOCSPTLCK, &unlock);
  *slave = ioctl (*master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*slave < 0)
    {
      *err_msg = xasprintf ("open the terminal: %s", strerror (errno));
      close (*master);
      return -1;
    }
  if (p->height > 0 && p->width > 0)
    {
      struct winsize ws = { .ws_row = (unsigned short) p->height, .ws_col = (unsigned short) p->width };
      ioctl (*master, TIOCSWINSZ, &ws);
    }
  return 0;
}

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

/* Read what the child wrote on the error pipe until it execs (EOF). */
static char *
child_error (int fd)
{
  arca_buf_t b = { 0 };
  char buf[512];
  ssize_t n;
  while ((n = read (fd, buf, sizeof buf)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        break;
      buf_append (&b, buf, (size_t) n);
    }
  if (b.len == 0)
    return NULL;
  buf_append (&b, "", 1);
  return b.data;
}

int
process_spawn (guest_t *g, session_t *s, json_t *process, bool with_stdin, char **err_msg)
{
  proc_spec_t p = { 0 };
  if (proc_spec_parse (process, &p, err_msg) < 0)
    {
      proc_spec_free (&p);
      return -1;
    }
  child_args_t a = { .g = g, .p = &p, .init = s->init, .slave = -1, .errfd = -1, .cgns_fd = -1,
                     .stdio = { -1, -1, -1 } };
  int keep[3] = { -1, -1, -1 }; /* our ends: stdin write, stdout read, stderr read */
  int errp[2] = { -1, -1 };
  int r = -1;
  s->tty = p.tty;
  if (p.tty)
    {
      if (open_pty (&p, &keep[1], &a.slave, err_msg) < 0)
        goto out;
      a.stdio[0] = a.stdio[1] = a.stdio[2] = a.slave;
    }
  else
    {
      int pp[2];
      if (with_stdin)
        {
          if (pipe2 (pp, O_CLOEXEC) < 0)
            goto fail_errno;
          a.stdio[0] = pp[0];
          keep[0] = pp[1];
        }
      else if ((a.stdio[0] = open ("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
        goto fail_errno;
      for (int i = 1; i < 3; i++)
        {
          if (pipe2 (pp, O_CLOEXEC) < 0)
            goto fail_errno;
          a.stdio[i] = pp[1];
          keep[i] = pp[0];
        }
    }
  if (pipe2 (errp, O_CLOEXEC) < 0)
    goto fail_errno;
  a.errfd = errp[1];
  if (!s->init)
    {
      if (g->init_pid <= 0 || g->init_mntns_fd < 0)
        {
          *err_msg = xstrdup ("container is not running");
          goto out;
        }
      char path[64];
      snprintf (path, sizeof path, "/proc/%d/ns/cgroup", (int) g->init_pid);
      a.cgns_fd = open (path, O_RDONLY | O_CLOEXEC);
    }
  else if (unshare (CLONE_NEWPID) < 0)
    {
      /* Every later fork of the agent lands in this PID namespace: the
       * execs are the container's processes too. */
      *err_msg = xasprintf ("unshare pid namespace: %s", strerror (errno));
      goto out;
    }
  pid_t pid = fork ();
  if (pid < 0)
    goto fail_errno;
  if (pid == 0)
    child_main (&a);
  close_fd (&errp[1]);
  a.errfd = -1;
  char *msg = child_error (errp[0]);
  if (msg)
    {
      /* The child exits 127 after reporting; the reaper ignores it. */
      *err_msg = msg;
      goto out;
    }
  s->pid = pid;
  if (s->init)
    {
      char path[64];
      snprintf (path, sizeof path, "/proc/%d/ns/mnt", (int) pid);
      g->init_mntns_fd = open (path, O_RDONLY | O_CLOEXEC);
      g->init_pid = pid;
    }
  s->in_fd = p.tty ? keep[1] : keep[0];
  s->out_fd = keep[1];
  s->err_fd = keep[2];
  keep[0] = keep[1] = keep[2] = -1;
  if (s->in_fd >= 0)
    set_nonblock (s->in_fd);
  set_nonblock (s->out_fd);
  if (s->err_fd >= 0)
    set_nonblock (s->err_fd);
  r = 0;
  goto out;

fail_errno:
  *err_msg = xasprintf ("start process: %s", strerror (errno));
out:
  for (int i = 0; i < 3; i++)
    {
      if (a.stdio[i] >= 0 && a.stdio[i] != a.slave)
        close (a.stdio[i]);
      if (keep[i] >= 0 && (i != 0 || !p.tty))
        close (keep[i]);
    }
  close_fd (&a.slave);
  close_fd (&a.cgns_fd);
  close_fd (&errp[0]);
  close_fd (&errp[1]);
  proc_spec_free (&p);
  return r;
}
