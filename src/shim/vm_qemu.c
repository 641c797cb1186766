/* Starting QEMU for a VM container: its command line (a microvm with the
 * guest kernel, the agent's initramfs, a virtio-serial port for the agent,
 * 9p shares for the root and the bind sources, a virtio-net device per
 * endpoint on the tap the daemon made), the private mount namespace that
 * holds the bind sources, the container's cgroup, and QMP. */
#include "shim/vm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/childfail.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "util/timeutil.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define CHAN_FD 3
#define QMP_FD 4

static char *
stage_dir (shim_t *s)
{
  return shim_path (s, "vm-mounts");
}

static bool
is_bind (json_t *m)
{
  const char *type = json_get_str (m, "type");
  return type && strcmp (type, "bind") == 0;
}

int
vm_mounts_stage (shim_t *s, vm_t *vm, char **err_msg)
{
  _cleanup_free_ char *dir = stage_dir (s);
  if (mkdir (dir, 0700) < 0 && errno != EEXIST)
    {
      *err_msg = xasprintf ("mkdir %s: %s", dir, strerror (errno));
      return -1;
    }
  /* Check the sources now, so a missing one fails the start with its name
   * (the binds themselves are made in QEMU's mount namespace). */
  size_t i;
  json_t *m;
  json_array_foreach (json_object_get (vm->spec, "mounts"), i, m)
  {
    if (!is_bind (m))
      continue;
    const char *src = json_get_str (m, "source");
    struct stat st;
    if (src == NULL || stat (src, &st) < 0)
      {
        *err_msg = xasprintf ("bind source %s: %s", src ? src : "(none)", strerror (errno));
        return -1;
      }
  }
  return 0;
}

/* ---- command line ---- */

typedef struct
{
  char **v;
  size_t n;
} argv_t;

static void
arg (argv_t *a, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static void
arg (argv_t *a, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  va_end (ap);
  a->v = xrealloc (a->v, (a->n + 2) * sizeof *a->v);
  a->v[a->n++] = s;
  a->v[a->n] = NULL;
}

/* A value inside a QEMU option list: commas are doubled. */
static char *
qesc (const char *s)
{
  arca_buf_t b = { 0 };
  for (; s && *s; s++)
    {
      buf_append (&b, s, 1);
      if (*s == ',')
        buf_append (&b, ",", 1);
    }
  buf_append (&b, "", 1);
  return b.data;
}

static bool
has_bind (vm_t *vm)
{
  size_t i;
  json_t *m;
  json_array_foreach (json_object_get (vm->spec, "mounts"), i, m)
    if (is_bind (m))
      return true;
  return false;
}

static int
qemu_argv (shim_t *s, vm_t *vm, argv_t *a, char **err_msg)
{
  json_t *cfg = vm->cfg;
  const char *qemu = json_get_str (cfg, "qemu"), *kernel = json_get_str (cfg, "kernel");
  const char *initrd = json_get_str (cfg, "initrd"), *accel = json_get_str (cfg, "accel");
  const char *rootfs = json_get_str (json_object_get (vm->spec, "root"), "path");
  if (!qemu || !kernel || !initrd || !accel || !rootfs)
    {
      *err_msg = xstrdup ("vm.json: qemu, kernel, initrd, accel and the spec's root.path are required");
      return -1;
    }
  bool kvm = strcmp (accel, "kvm") == 0;
  _cleanup_free_ char *console = shim_path (s, "console.log");
  _cleanup_free_ char *e_console = qesc (console), *e_rootfs = qesc (rootfs);
  arg (a, "%s", qemu);
  arg (a, "-name");
  arg (a, "arca-%.12s", s->id);
  /* microvm: no PCI, no firmware tables beyond ACPI, virtio over MMIO;
   * the RTC gives the guest the time before the agent sets it exactly. */
  arg (a, "-machine");
  arg (a, "microvm,x-option-roms=off,rtc=on,acpi=on");
  arg (a, "-accel");
  arg (a, "%s", kvm ? "kvm" : "tcg");
  /* Under TCG every guest page walk is emulated: 4-level paging walks
   * less than the 5 levels "max" offers (boots ~15% faster here). */
  arg (a, "-cpu");
  arg (a, "%s", kvm ? "host" : "max,la57=off");
  arg (a, "-m");
  arg (a, "%lldM", (long long) json_get_int (cfg, "memory_mib", 256));
  arg (a, "-smp");
  arg (a, "%lld", (long long) json_get_int (cfg, "cpus", 1));
  arg (a, "-nodefaults");
  arg (a, "-no-user-config");
  arg (a, "-display");
  arg (a, "none");
  arg (a, "-no-reboot");
  /* QEMU's own seccomp filter: no set*id, no fork/exec, no obsolete or
   * scheduling syscalls (it runs as root for 9p's passthrough model). */
  arg (a, "-sandbox");
  arg (a, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
  arg (a, "-kernel");
  arg (a, "%s", kernel);
  arg (a, "-initrd");
  arg (a, "%s", initrd);
  arg (a, "-append");
  arg (a, "%s", json_get_str (cfg, "cmdline") ? json_get_str (cfg, "cmdline") : "");
  arg (a, "-chardev");
  arg (a, "file,id=console,path=%s", e_console);
  arg (a, "-serial");
  arg (a, "chardev:console");
  arg (a, "-device");
  arg (a, "virtio-serial-device,max_ports=2");
  arg (a, "-chardev");
  arg (a, "socket,id=chan,fd=%d", CHAN_FD);
  arg (a, "-device");
  arg (a, "virtserialport,chardev=chan,name=%s", VMPROTO_PORT_NAME);
  arg (a, "-chardev");
  arg (a, "socket,id=qmp,fd=%d", QMP_FD);
  arg (a, "-mon");
  arg (a, "chardev=qmp,mode=control");
  /* passthrough: files keep their real owners and modes on the host, so
   * docker diff/cp/commit see what the container wrote as it wrote it. */
  arg (a, "-fsdev");
  arg (a, "local,id=fsroot,path=%s,security_model=passthrough,multidevs=remap", e_rootfs);
  arg (a, "-device");
  arg (a, "virtio-9p-device,fsdev=fsroot,mount_tag=rootfs");
  if (has_bind (vm))
    {
      _cleanup_free_ char *dir = stage_dir (s);
      _cleanup_free_ char *e_dir = qesc (dir);
      arg (a, "-fsdev");
      arg (a, "local,id=fsmounts,path=%s,security_model=passthrough,multidevs=remap", e_dir);
      arg (a, "-device");
      arg (a, "virtio-9p-device,fsdev=fsmounts,mount_tag=mounts");
    }
  size_t i;
  json_t *itf;
  json_array_foreach (json_object_get (cfg, "interfaces"), i, itf)
  {
    const char *tap = json_get_str (itf, "tap"), *mac = json_get_str (itf, "mac");
    if (tap == NULL || mac == NULL || strchr (tap, ',') || strchr (mac, ','))
      {
        *err_msg = xstrdup ("vm.json: an interface needs a tap and a mac");
        return -1;
      }
    arg (a, "-netdev");
    arg (a, "tap,id=net%zu,ifname=%s,script=no,downscript=no", i, tap);
    arg (a, "-device");
    arg (a, "virtio-net-device,netdev=net%zu,mac=%s", i, mac);
  }
  return 0;
}

/* ---- the child, before exec ---- */

static bool
cgroup_v2 (void)
{
  struct statfs st;
  return statfs (CGROUP_ROOT, &st) == 0 && st.f_type == 0x63677270;
}

static int
mkdir_p (const char *path)
{
  _cleanup_free_ char *p = xstrdup (path);
  for (char *c = p + 1; *c; c++)
    if (*c == '/')
      {
        *c = '\0';
        if (mkdir (p, 0755) < 0 && errno != EEXIST)
          return -1;
        *c = '/';
      }
  return mkdir (p, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static int
write_str (const char *path, const char *v)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = write (fd, v, strlen (v));
  close (fd);
  return n < 0 ? -1 : 0;
}

/* The hierarchies QEMU joins: the v2 root, or every v1 controller but
 * cpuset (a new cpuset group takes no task before cpus and mems are set). */
static char **
cgroup_hierarchies (void)
{
  char **v = xmalloc0 (sizeof *v);
  if (cgroup_v2 ())
    return strv_append (v, CGROUP_ROOT);
  _cleanup_closedir_ DIR *d = opendir (CGROUP_ROOT);
  struct dirent *de;
  while (d && (de = readdir (d)))
    {
      if (de->d_name[0] == '.' || de->d_type != DT_DIR || strcmp (de->d_name, "cpuset") == 0)
        continue;
      _cleanup_free_ char *procs = xasprintf ("%s/%s/cgroup.procs", CGROUP_ROOT, de->d_name);
      if (access (procs, F_OK) == 0)
        {
          _cleanup_free_ char *h = xasprintf ("%s/%s", CGROUP_ROOT, de->d_name);
          v = strv_append (v, h);
        }
    }
  return v;
}

/* The VM's cgroup is the container's (cgroupsPath): docker stats reads
 * what the VM costs the host, as for a runc container. */
static void
cgroup_join (const char *cgpath, int errfd)
{
  if (cgpath == NULL || cgpath[0] != '/' || strstr (cgpath, ".."))
    return;
  _cleanup_strv_ char **hier = cgroup_hierarchies ();
  bool v2 = cgroup_v2 ();
  for (size_t i = 0; hier[i]; i++)
    {
      if (v2)
        {
          /* Controllers must be enabled down the path for their files. */
          write_str (CGROUP_ROOT "/cgroup.subtree_control", "+cpu +memory +pids +io");
          _cleanup_free_ char *parent = xasprintf ("%s%s", hier[i], cgpath);
          char *slash = strrchr (parent, '/');
          *slash = '\0';
          mkdir_p (parent);
          _cleanup_free_ char *ctl = xasprintf ("%s/cgroup.subtree_control", parent);
          write_str (ctl, "+cpu +memory +pids +io");
        }
      _cleanup_free_ char *dir = xasprintf ("%s%s", hier[i], cgpath);
      _cleanup_free_ char *procs = xasprintf ("%s/cgroup.procs", dir);
      if (mkdir_p (dir) < 0 || write_str (procs, "0") < 0)
        {
          if (v2)
            child_fail (errfd, "join cgroup %s: %s", dir, strerror (errno));
          /* A v1 controller we cannot use costs only its statistics. */
        }
    }
}

/* Bind each source under its stub in a mount namespace of QEMU's own: the
 * host's namespace never sees these mounts, and they go with QEMU.  The
 * stubs are on a small tmpfs made read-only once they exist, so the guest
 * can write into the (read-write) binds but not at the share's top, which
 * would be the host's exec root. */
static void
stage_binds (shim_t *s, vm_t *vm, int errfd)
{
  if (unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
    child_fail (errfd, "private mount namespace: %s", strerror (errno));
  _cleanup_free_ char *dir = stage_dir (s);
  if (mount ("arca-vm-mounts", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0755") < 0)
    child_fail (errfd, "tmpfs on %s: %s", dir, strerror (errno));
  size_t i;
  json_t *m;
  json_array_foreach (json_object_get (vm->spec, "mounts"), i, m)
  {
    if (!is_bind (m))
      continue;
    const char *src = json_get_str (m, "source");
    bool ro = false, rec = false;
    size_t k;
    json_t *o;
    json_array_foreach (json_object_get (m, "options"), k, o)
    {
      const char *opt = json_string_value (o);
      ro |= opt && strcmp (opt, "ro") == 0;
      rec |= opt && strcmp (opt, "rbind") == 0;
    }
    struct stat st;
    _cleanup_free_ char *stub = xasprintf ("%s/%zu", dir, i);
    if (stat (src, &st) < 0)
      child_fail (errfd, "bind source %s: %s", src, strerror (errno));
    int r = S_ISDIR (st.st_mode) ? mkdir (stub, 0755) : close (open (stub, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    if (r < 0)
      child_fail (errfd, "create %s: %s", stub, strerror (errno));
    if (mount (src, stub, NULL, MS_BIND | (rec ? MS_REC : 0), NULL) < 0)
      child_fail (errfd, "bind %s: %s", src, strerror (errno));
    if (ro && mount (NULL, stub, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
      child_fail (errfd, "read-only bind %s: %s", src, strerror (errno));
  }
  if (mount (NULL, dir, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0755") < 0)
    child_fail (errfd, "read-only %s: %s", dir, strerror (errno));
}

static void __attribute__ ((noreturn))
child_exec (shim_t *s, vm_t *vm, char **argv, int chan, int qmp, int errfd)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL); /* QEMU never outlives its shim */
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  signal (SIGPIPE, SIG_DFL);
  signal (SIGHUP, SIG_DFL);
  signal (SIGINT, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  stage_binds (s, vm, errfd);
  cgroup_join (json_get_str (vm->cfg, "cgroup"), errfd);
  _cleanup_free_ char *log = shim_path (s, "qemu.log");
  int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  int out = open (log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (null < 0 || out < 0)
    child_fail (errfd, "open %s: %s", log, strerror (errno));
  /* Move the channel fds out of the way of 0..4 before placing them. */
  int c2 = fcntl (chan, F_DUPFD_CLOEXEC, 10), q2 = fcntl (qmp, F_DUPFD_CLOEXEC, 10);
  if (c2 < 0 || q2 < 0 || dup2 (null, 0) < 0 || dup2 (out, 1) < 0 || dup2 (out, 2) < 0 || dup2 (c2, CHAN_FD) < 0
      || dup2 (q2, QMP_FD) < 0)
    child_fail (errfd, "stdio: %s", strerror (errno));
  execv (argv[0], argv);
  child_fail (errfd, "exec %s: %s", argv[0], strerror (errno));
}

int
vm_qemu_spawn (shim_t *s, vm_t *vm, char **err_msg)
{
  argv_t a = { 0 };
  int r = -1, chan[2] = { -1, -1 }, qmp[2] = { -1, -1 }, errp[2] = { -1, -1 };
  if (qemu_argv (s, vm, &a, err_msg) < 0)
    goto out;
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chan) < 0
      || socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) < 0 || pipe2 (errp, O_CLOEXEC) < 0)
    {
      *err_msg = xasprintf ("socketpair: %s", strerror (errno));
      goto out;
    }
  pid_t pid = fork ();
  if (pid < 0)
    {
      *err_msg = xasprintf ("fork: %s", strerror (errno));
      goto out;
    }
  if (pid == 0)
    child_exec (s, vm, a.v, chan[1], qmp[1], errp[1]);
  close (errp[1]);
  errp[1] = -1;
  char buf[1024];
  ssize_t n;
  size_t got = 0;
  while ((n = read (errp[0], buf + got, sizeof buf - 1 - got)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        break;
      got += (size_t) n;
      if (got == sizeof buf - 1)
        break;
    }
  if (got > 0)
    {
      buf[got] = '\0';
      *err_msg = xasprintf ("vm: starting QEMU: %s", buf);
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
      goto out;
    }
  vm->qemu_pid = pid;
  vm->chan_fd = chan[0];
  vm->qmp_fd = qmp[0];
  chan[0] = qmp[0] = -1;
  fcntl (vm->chan_fd, F_SETFL, O_NONBLOCK);
  r = 0;
out:
  for (int i = 0; i < 2; i++)
    {
      if (chan[i] >= 0)
        close (chan[i]);
      if (qmp[i] >= 0)
        close (qmp[i]);
      if (errp[i] >= 0)
        close (errp[i]);
    }
  strv_free (a.v);
  return r;
}

/* ---- QMP ---- */

/* Read one JSON line from QMP within the deadline. */
static json_t *
qmp_read_line (vm_t *vm, arca_buf_t *b, int64_t deadline)
{
  for (;;)
    {
      char *nl = b->len ? memchr (b->data, '\n', b->len) : NULL;
      if (nl)
        {
          *nl = '\0';
          json_t *j = json_loads (b->data, 0, NULL);
          size_t rest = b->len - (size_t) (nl + 1 - b->data);
          memmove (b->data, nl + 1, rest);
          b->len = rest;
          if (j)
            return j;
          continue;
        }
      int64_t left = deadline - time_mono_ns ();
      if (left <= 0)
        return NULL;
      struct pollfd p = { .fd = vm->qmp_fd, .events = POLLIN };
      if (poll (&p, 1, (int) (left / 1000000) + 1) <= 0)
        continue;
      char buf[4096];
      ssize_t n = recv (vm->qmp_fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0)
        return NULL;
      if (n > 0)
        buf_append (b, buf, (size_t) n);
    }
}

static int
qmp_execute (vm_t *vm, const char *command, arca_buf_t *b, char **err_msg)
{
  _cleanup_free_ char *line = xasprintf ("{\"execute\":\"%s\"}\n", command);
  if (send (vm->qmp_fd, line, strlen (line), MSG_NOSIGNAL) < 0)
    {
      *err_msg = xasprintf ("qmp %s: %s", command, strerror (errno));
      return -1;
    }
  int64_t deadline = time_mono_ns () + 5 * ARCA_NSEC_PER_SEC;
  for (;;)
    {
      json_t *j = qmp_read_line (vm, b, deadline);
      if (j == NULL)
        {
          *err_msg = xasprintf ("qmp %s: no answer from QEMU", command);
          return -1;
        }
      json_t *e = json_object_get (j, "error");
      bool done = json_object_get (j, "return") != NULL || e != NULL;
      if (e)
        *err_msg = xasprintf ("qmp %s: %s", command, json_get_str (e, "desc") ? json_get_str (e, "desc") : "error");
      json_decref (j);
      if (done)
        return e ? -1 : 0;
    }
}

int
vm_qmp (vm_t *vm, const char *command, char **err_msg)
{
  if (vm->qmp_fd < 0)
    {
      *err_msg = xstrdup ("qmp: no monitor");
      return -1;
    }
  arca_buf_t b = { 0 };
  int r = 0;
  if (!vm->qmp_ready)
    {
      /* The greeting was sent at start-up; capabilities negotiation first. */
      r = qmp_execute (vm, "qmp_capabilities", &b, err_msg);
      vm->qmp_ready = r == 0;
    }
  if (r == 0)
    r = qmp_execute (vm, command, &b, err_msg);
  buf_free (&b);
  return r;
}

void
vm_cgroup_remove (shim_t *s, vm_t *vm)
{
  const char *cgpath = json_get_str (vm->cfg, "cgroup");
  if (cgpath == NULL || cgpath[0] != '/' || strstr (cgpath, ".."))
    return;
  _cleanup_strv_ char **hier = cgroup_hierarchies ();
  for (size_t i = 0; hier[i]; i++)
    {
      _cleanup_free_ char *dir = xasprintf ("%s%s", hier[i], cgpath);
      for (int tries = 0; tries < 50 && rmdir (dir) < 0 && errno == EBUSY; tries++)
        usleep (10000); /* the last task is still leaving */
    }
}

char *
vm_console_tail (shim_t *s)
{
  _cleanup_free_ char *path = shim_path (s, "console.log");
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  off_t size = lseek (fd, 0, SEEK_END);
  off_t from = size > 600 ? size - 600 : 0;
  char buf[601];
  ssize_t n = pread (fd, buf, sizeof buf - 1, from);
  if (n <= 0)
    return NULL;
  buf[n] = '\0';
  for (ssize_t i = 0; i < n; i++)
    if (buf[i] == '\n' || buf[i] == '\r')
      buf[i] = ' ';
  return xstrdup (buf);
}
