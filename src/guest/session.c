/* Sessions: one per process (the init, each exec), relaying its stdio
 * under the per-session credit of util/vmproto.h, and reporting its exit
 * once its output is drained. */
#include "guest/guest.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "util/json.h"

#define READ_CHUNK (64 * 1024)
#define EXIT_DRAIN_NS (2000000000LL) /* output still open after the exit */

session_t *
session_find (guest_t *g, uint32_t id)
{
  for (session_t *s = g->sessions; s; s = s->next)
    if (s->id == id)
      return s;
  return NULL;
}

static void
session_free (guest_t *g, session_t *s)
{
  for (session_t **pp = &g->sessions; *pp; pp = &(*pp)->next)
    if (*pp == s)
      {
        *pp = s->next;
        break;
      }
  if (s->in_fd >= 0 && s->in_fd != s->out_fd)
    close (s->in_fd);
  if (s->out_fd >= 0)
    close (s->out_fd);
  if (s->err_fd >= 0)
    close (s->err_fd);
  buf_free (&s->in_buf);
  free (s);
}

static void
started_error (guest_t *g, uint32_t id, const char *msg)
{
  chan_send_json (g, id, VM_STARTED, json_pack ("{s:s}", "error", msg));
}

void
session_exec (guest_t *g, uint32_t id, json_t *req)
{
  bool init = json_get_bool (req, "init", false);
  json_t *process = json_object_get (req, "process");
  if (!g->configured)
    return started_error (g, id, "the VM is not configured");
  if (id == VMPROTO_SESSION_VM || session_find (g, id))
    return started_error (g, id, "session in use");
  if (init && g->init_pid > 0)
    return started_error (g, id, "container already started");
  if (!init && (g->init_pid <= 0 || g->init_done))
    return started_error (g, id, "container is not running");
  if (init && !json_is_object (process))
    process = json_object_get (g->spec, "process");
  if (!json_is_object (process))
    return started_error (g, id, "no process to run");
  session_t *s = xmalloc0 (sizeof *s);
  s->id = id;
  s->init = init;
  s->in_fd = s->out_fd = s->err_fd = -1;
  s->out_credit = VMPROTO_WINDOW;
  char *msg = NULL;
  if (process_spawn (g, s, process, json_get_bool (req, "stdin", false), &msg) < 0)
    {
      started_error (g, id, msg ? msg : "start failed");
      free (msg);
      free (s);
      return;
    }
  s->next = g->sessions;
  g->sessions = s;
  chan_send_json (g, id, VM_STARTED, json_pack ("{s:i}", "pid", (int) s->pid));
}

static void
grant_stdin_credit (guest_t *g, session_t *s, bool force)
{
  if (s->in_unacked > 0 && (force || s->in_unacked >= VMPROTO_WINDOW / 4))
    {
      vmproto_append_credit (&g->out, s->id, s->in_unacked);
      s->in_unacked = 0;
    }
}

static void
stdin_close (guest_t *g, session_t *s)
{
  if (s->in_fd >= 0 && !s->tty)
    close (s->in_fd);
  if (!s->tty)
    s->in_fd = -1;
  /* Bytes that will never be written are given back all the same. */
  s->in_unacked += (uint32_t) (s->in_buf.len - s->in_off);
  s->in_buf.len = s->in_off = 0;
  grant_stdin_credit (g, s, true);
}

static void
stdin_flush (guest_t *g, session_t *s)
{
  while (s->in_fd >= 0 && s->in_off < s->in_buf.len)
    {
      ssize_t n = write (s->in_fd, s->in_buf.data + s->in_off, s->in_buf.len - s->in_off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        break;
      if (n < 0)
        {
          /* EPIPE: nobody reads the process's stdin any more. */
          stdin_close (g, s);
          return;
        }
      s->in_off += (size_t) n;
      s->in_unacked += (uint32_t) n;
    }
  if (s->in_off == s->in_buf.len)
    {
      s->in_off = s->in_buf.len = 0;
      if (s->in_eof && !s->tty && s->in_fd >= 0)
        stdin_close (g, s);
    }
  grant_stdin_credit (g, s, s->in_buf.len == 0);
}

static void
handle_resize (session_t *s, json_t *j)
{
  int64_t h = json_get_int (j, "height", 0), w = json_get_int (j, "width", 0);
  if (!s->tty || s->out_fd < 0 || h <= 0 || w <= 0 || h > 65535 || w > 65535)
    return;
  struct winsize ws = { .ws_row = (unsigned short) h, .ws_col = (unsigned short) w };
  ioctl (s->out_fd, TIOCSWINSZ, &ws);
}

void
session_signal (guest_t *g, session_t *s, int sig, bool all)
{
  if (sig <= 0 || sig >= 65 || s->reaped || s->pid <= 0)
    return;
  /* kill(-1) from PID 1 reaches every process but ourselves: exactly the
   * container's processes. */
  if (all && s->init)
    kill (-1, sig);
  else
    kill (s->pid, sig);
}

void
session_handle_frame (guest_t *g, const vmproto_frame_t *f)
{
  session_t *s = session_find (g, f->h.session);
  if (s == NULL)
    return; /* a session that ended meanwhile */
  json_t *j = NULL;
  switch (f->h.type)
    {
    case VM_STDIN:
      if (f->h.length == 0)
        s->in_eof = true;
      else if (s->in_fd >= 0 && !s->in_eof)
        buf_append (&s->in_buf, f->payload, f->h.length);
      else
        s->in_unacked += f->h.length;
      stdin_flush (g, s);
      break;
    case VM_CREDIT:
      {
        uint64_t c = (uint64_t) s->out_credit + vmproto_credit_value (f->payload, f->h.length);
        s->out_credit = c > 16u * VMPROTO_WINDOW ? 16u * VMPROTO_WINDOW : (uint32_t) c;
        break;
      }
    case VM_SIGNAL:
      j = json_loadb ((const char *) f->payload, f->h.length, 0, NULL);
      session_signal (g, s, (int) json_get_int (j, "signal", 0), json_get_bool (j, "all", false));
      break;
    case VM_RESIZE:
      j = json_loadb ((const char *) f->payload, f->h.length, 0, NULL);
      handle_resize (s, j);
      break;
    default:
      break;
    }
  json_decref (j);
}

void
session_poll_add (guest_t *g, struct pollfd *p, size_t *n, size_t max)
{
  for (session_t *s = g->sessions; s && *n + 3 <= max; s = s->next)
    {
      if (s->out_credit > 0)
        {
          if (s->out_fd >= 0)
            p[(*n)++] = (struct pollfd){ .fd = s->out_fd, .events = POLLIN };
          if (s->err_fd >= 0)
            p[(*n)++] = (struct pollfd){ .fd = s->err_fd, .events = POLLIN };
        }
      if (s->in_fd >= 0 && s->in_off < s->in_buf.len)
        p[(*n)++] = (struct pollfd){ .fd = s->in_fd, .events = POLLOUT };
    }
}

static short
revents_of (struct pollfd *p, size_t n, int fd, short mask)
{
  short r = 0;
  for (size_t i = 0; fd >= 0 && i < n; i++)
    if (p[i].fd == fd)
      r |= p[i].revents & mask;
  return r;
}

/* Read one chunk of output within the credit; false at EOF. */
static void
read_output (guest_t *g, session_t *s, int *fdp, uint8_t type)
{
  char buf[READ_CHUNK];
  size_t want = s->out_credit < sizeof buf ? s->out_credit : sizeof buf;
  if (want == 0)
    return;
  ssize_t n = read (*fdp, buf, want);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n > 0)
    {
      s->out_credit -= (uint32_t) n;
      chan_send (g, s->id, type, buf, (size_t) n);
      return;
    }
  /* EOF; EIO on a PTY master: every terminal fd is closed. */
  chan_send (g, s->id, type, NULL, 0);
  if (s->tty && s->in_fd == *fdp)
    s->in_fd = -1;
  close (*fdp);
  *fdp = -1;
}

void
session_poll_handle (guest_t *g, struct pollfd *p, size_t n)
{
  for (session_t *s = g->sessions; s; s = s->next)
    {
      if (revents_of (p, n, s->out_fd, POLLIN | POLLHUP | POLLERR))
        read_output (g, s, &s->out_fd, VM_STDOUT);
      if (revents_of (p, n, s->err_fd, POLLIN | POLLHUP | POLLERR))
        read_output (g, s, &s->err_fd, VM_STDERR);
      if (s->in_fd >= 0 && revents_of (p, n, s->in_fd, POLLOUT | POLLERR | POLLHUP))
        stdin_flush (g, s);
    }
}

void
sessions_reap (guest_t *g)
{
  int status;
  pid_t pid;
  while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
    for (session_t *s = g->sessions; s; s = s->next)
      if (s->pid == pid && !s->reaped)
        {
          s->reaped = true;
          s->status = status;
          s->reaped_at = guest_mono_ns ();
        }
}

static int
exit_code (int status)
{
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return 255;
}

void
sessions_tick (guest_t *g)
{
  int64_t now = guest_mono_ns ();
  for (session_t *s = g->sessions, *next; s; s = next)
    {
      next = s->next;
      if (!s->reaped || s->exit_sent)
        continue;
      bool drained = s->out_fd < 0 && s->err_fd < 0;
      if (!drained && now - s->reaped_at < EXIT_DRAIN_NS)
        continue;
      if (s->out_fd >= 0)
        chan_send (g, s->id, VM_STDOUT, NULL, 0);
      if (s->err_fd >= 0)
        chan_send (g, s->id, VM_STDERR, NULL, 0);
      bool oom = s->init && guest_cgroup_oom_killed ();
      chan_send_json (g, s->id, VM_EXIT, json_pack ("{s:i,s:b}", "code", exit_code (s->status), "oom", oom));
      s->exit_sent = true;
      if (s->init)
        g->init_done = true;
      session_free (g, s);
    }
}
