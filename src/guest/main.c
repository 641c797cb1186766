/* arca-guest: PID 1 of a container's VM (see guest.h). */
#include "guest/guest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"

#define GUEST_MAX_POLL 256

int64_t
guest_boottime_ns (void)
{
  struct timespec t;
  clock_gettime (CLOCK_BOOTTIME, &t);
  return (int64_t) t.tv_sec * 1000000000LL + t.tv_nsec;
}

int64_t
guest_mono_ns (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (int64_t) t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Messages go to the console (the VM's serial port: <state-dir>/console.log
 * on the host). */
void
guest_log (const char *fmt, ...)
{
  char buf[1024];
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (buf, sizeof buf - 1, fmt, ap);
  va_end (ap);
  if (n < 0)
    return;
  if ((size_t) n > sizeof buf - 2)
    n = sizeof buf - 2;
  buf[n++] = '\n';
  int fd = open ("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (fd >= 0)
    {
      (void) !write (fd, "arca-guest: ", 12);
      (void) !write (fd, buf, (size_t) n);
      close (fd);
    }
}

int
write_file (const char *path, const char *data)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC | O_TRUNC);
  if (fd < 0)
    return -1;
  size_t len = strlen (data);
  ssize_t w = write (fd, data, len);
  int e = errno;
  close (fd);
  if (w != (ssize_t) len)
    {
      errno = w < 0 ? e : EIO;
      return -1;
    }
  return 0;
}

void
set_nonblock (int fd)
{
  int fl = fcntl (fd, F_GETFL);
  if (fl >= 0)
    fcntl (fd, F_SETFL, fl | O_NONBLOCK);
}

int
sysfs_find (const char *dir, const char *attr, const char *value, char *name, size_t size)
{
  _cleanup_closedir_ DIR *d = opendir (dir);
  struct dirent *de;
  while (d && (de = readdir (d)))
    {
      if (de->d_name[0] == '.' || strlen (de->d_name) >= size)
        continue;
      char path[300], got[64] = "";
      snprintf (path, sizeof path, "%s/%s/%s", dir, de->d_name, attr);
      _cleanup_fclose_ FILE *f = fopen (path, "re");
      if (f == NULL || fgets (got, sizeof got, f) == NULL)
        continue;
      got[strcspn (got, "\n")] = '\0';
      if (strcasecmp (got, value) == 0)
        {
          memcpy (name, de->d_name, strlen (de->d_name) + 1);
          return 0;
        }
    }
  return -1;
}

static void
early_mounts (void)
{
  mkdir ("/dev", 0755);
  mkdir ("/proc", 0555);
  mkdir ("/sys", 0555);
  mkdir ("/run", 0755);
  mount ("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  mount ("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount ("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount ("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  mkdir ("/run/arca", 0700);
  mkdir ("/dev/pts", 0755);
  mount ("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
}

/* Modules only some hosts need: virtiofs (a host with virtiofsd) and
 * vsock (a host with vhost-vsock).  Loading them costs boot time under
 * TCG, so they wait until the share or the channel asks for them. */
static bool
module_is_optional (const char *name)
{
  static const char *const optional[] = { "fuse.ko", "virtiofs.ko", "vsock.ko", "vmw_vsock_", NULL };
  for (size_t i = 0; optional[i]; i++)
    if (strncmp (name, optional[i], strlen (optional[i])) == 0)
      return true;
  return false;
}

/* Load the modules listed (in dependency order) in modules.list: the
 * always-needed ones, or (optional) those module_is_optional names that
 * start with prefix.  A kernel with the drivers built in has no list:
 * nothing to do. */
void
guest_load_modules (const char *prefix)
{
  _cleanup_fclose_ FILE *f = fopen (GUEST_MODULES "/modules.list", "re");
  if (f == NULL)
    return;
  char line[256];
  while (fgets (line, sizeof line, f))
    {
      line[strcspn (line, "\r\n")] = '\0';
      if (line[0] == '\0' || line[0] == '#' || strchr (line, '/'))
        continue;
      bool optional = module_is_optional (line);
      if (prefix ? !optional || strncmp (line, prefix, strlen (prefix)) != 0 : optional)
        continue;
      char path[512];
      snprintf (path, sizeof path, "%s/%s", GUEST_MODULES, line);
      _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        {
          guest_log ("module %s: %s", line, strerror (errno));
          continue;
        }
      if (syscall (SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
        guest_log ("load %s: %s", line, strerror (errno));
    }
}

static void
power_off (void)
{
  sync ();
  /* The kernel runs with reboot=t and QEMU with -no-reboot: a reboot ends
   * QEMU, on every machine type (ACPI power-off needs more devices). */
  reboot (RB_AUTOBOOT);
  for (;;)
    pause ();
}

static void
send_hello (guest_t *g)
{
  struct utsname u;
  uname (&u);
  json_t *j = json_pack ("{s:i,s:s,s:{s:I,s:I,s:I}}", "version", VMPROTO_VERSION, "release", u.release, "boot",
                         "agent", (json_int_t) g->t_agent, "modules", (json_int_t) g->t_modules, "channel",
                         (json_int_t) g->t_channel);
  chan_send_json (g, VMPROTO_SESSION_VM, VM_HELLO, j);
}

static void
handle_config (guest_t *g, const vmproto_frame_t *f)
{
  json_error_t jerr;
  json_t *cfg = json_loadb ((const char *) f->payload, f->h.length, 0, &jerr);
  char *msg = NULL;
  if (g->configured)
    msg = xstrdup ("already configured");
  else if (cfg == NULL || !json_is_object (cfg))
    msg = xasprintf ("bad CONFIG: %s", jerr.text);
  else if (guest_configure (g, cfg, &msg) == 0)
    g->configured = true;
  json_decref (cfg);
  g->t_config_done = guest_boottime_ns ();
  json_t *r = msg ? json_pack ("{s:b,s:s}", "ok", 0, "error", msg)
                  : json_pack ("{s:b,s:{s:I}}", "ok", 1, "boot", "configured", (json_int_t) g->t_config_done);
  free (msg);
  chan_send_json (g, VMPROTO_SESSION_VM, VM_READY, r);
}

static void
begin_shutdown (guest_t *g)
{
  if (g->shutting_down)
    return;
  g->shutting_down = true;
  g->shutdown_at = guest_mono_ns ();
  /* Whatever still runs goes now; its sessions report their exits. */
  kill (-1, SIGKILL);
}

static void
handle_frame (guest_t *g, const vmproto_frame_t *f)
{
  switch (f->h.type)
    {
    case VM_CONFIG:
      handle_config (g, f);
      break;
    case VM_EXEC:
      {
        json_error_t jerr;
        json_t *req = json_loadb ((const char *) f->payload, f->h.length, 0, &jerr);
        session_exec (g, f->h.session, req);
        json_decref (req);
        break;
      }
    case VM_DNS_REPLY:
      dns_reply (g, f->h.session, f->payload, f->h.length);
      break;
    case VM_PS:
      chan_send_json (g, f->h.session, VM_PS_REPLY, ps_list (g));
      break;
    case VM_SHUTDOWN:
      begin_shutdown (g);
      break;
    default:
      session_handle_frame (g, f);
      break;
    }
}

static void
read_channel (guest_t *g)
{
  char buf[64 * 1024];
  for (int rounds = 0; rounds < 8; rounds++)
    {
      ssize_t n = read (g->chan_fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return; /* EAGAIN; a closed host side shows as no data */
      vmproto_reader_feed (&g->reader, buf, (size_t) n);
      vmproto_frame_t f;
      int r;
      while ((r = vmproto_reader_next (&g->reader, &f)) == 1)
        handle_frame (g, &f);
      if (r < 0)
        {
          guest_log ("protocol error on the channel; powering off");
          power_off ();
        }
    }
}

static void
loop (guest_t *g)
{
  struct pollfd p[GUEST_MAX_POLL];
  for (;;)
    {
      if (g->shutting_down)
        {
          /* Every session reported (or 2 s passed): the host has it all. */
          bool pending = false;
          for (session_t *s = g->sessions; s; s = s->next)
            pending |= !s->exit_sent;
          if (!pending || guest_mono_ns () - g->shutdown_at > 2000000000LL)
            {
              chan_drain (g, 2000);
              power_off ();
            }
        }
      size_t n = 0;
      p[n++] = (struct pollfd){ .fd = g->chan_fd,
                                .events = (short) (POLLIN | (g->out_off < g->out.len ? POLLOUT : 0)) };
      p[n++] = (struct pollfd){ .fd = g->sig_fd, .events = POLLIN };
      session_poll_add (g, p, &n, GUEST_MAX_POLL);
      dns_poll_add (g, p, &n, GUEST_MAX_POLL);
      int r = poll (p, n, 200);
      if (r < 0 && errno != EINTR)
        continue;
      if (p[1].revents)
        {
          struct signalfd_siginfo si;
          while (read (g->sig_fd, &si, sizeof si) == sizeof si)
            ;
          sessions_reap (g);
        }
      if (p[0].revents & POLLOUT)
        chan_flush (g);
      if (p[0].revents & POLLIN)
        read_channel (g);
      session_poll_handle (g, p, n);
      dns_poll_handle (g, p, n);
      sessions_tick (g);
      dns_tick (g);
      chan_flush (g);
    }
}

int
main (int argc, char **argv)
{
  if (getpid () != 1)
    {
      fprintf (stderr, "arca-guest: runs as PID 1 of a VM-isolated container's guest\n");
      return 2;
    }
  guest_t g = { .chan_fd = -1, .sig_fd = -1, .init_mntns_fd = -1, .dns_udp_fd = -1, .dns_tcp_fd = -1,
                .dns_next_id = 1 };
  g.t_agent = guest_boottime_ns ();
  early_mounts ();
  guest_load_modules (NULL);
  g.t_modules = guest_boottime_ns ();
  net_lo_up ();

  sigset_t mask;
  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  g.sig_fd = signalfd (-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  signal (SIGPIPE, SIG_IGN);

  if (chan_open (&g) < 0)
    {
      guest_log ("no channel to the host (virtio-serial port \"%s\"); powering off", VMPROTO_PORT_NAME);
      power_off ();
    }
  g.t_channel = guest_boottime_ns ();
  send_hello (&g);
  loop (&g);
  return 0;
}
