/* An exec into a VM container (arca-shim --exec-process P --vm-container
 * DIR): the process runs in the guest, so this shim hands its stdio to the
 * container's shim (SCM_RIGHTS with the "vm-exec" op on DIR/shim.sock),
 * which relays it to the guest; the exit comes back as the answer to
 * "vm-exec-wait".  Everything else (logs, attach, the daemon's protocol)
 * is this shim's as for any exec. */
#include "shim/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"

typedef struct
{
  int wait_fd;         /* the connection carrying "vm-exec-wait" */
  arca_buf_t rbuf;
  uint32_t session;
} vm_exec_t;

static vm_exec_t *
ex_of (shim_t *s)
{
  return s->vm;
}

/* Connect to the container shim's socket (the path may be long: go
 * through /proc/self/fd like runtime/shim_client.c). */
static int
connect_container (shim_t *s, char **err_msg)
{
  _cleanup_close_ int dir = open (s->vm_container, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (dir < 0 || fd < 0)
    {
      *err_msg = xasprintf ("container shim %s: %s", s->vm_container, strerror (errno));
      if (fd >= 0)
        close (fd);
      return -1;
    }
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  snprintf (a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/shim.sock", dir);
  if (connect (fd, (struct sockaddr *) &a, sizeof a) < 0)
    {
      *err_msg = xstrdup ("container is not running");
      close (fd);
      return -1;
    }
  struct timeval tv = { .tv_sec = 60 };
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

static int
send_line (int fd, json_t *req, const int *fds, int nfds)
{
  _cleanup_free_ char *text = json_dumps (req, JSON_COMPACT);
  json_decref (req);
  if (text == NULL)
    return -1;
  _cleanup_free_ char *line = xasprintf ("%s\n", text);
  struct iovec iov = { .iov_base = line, .iov_len = strlen (line) };
  union
  {
    char buf[CMSG_SPACE (3 * sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
  if (nfds > 0)
    {
      msg.msg_control = u.buf;
      msg.msg_controllen = CMSG_SPACE ((size_t) nfds * sizeof (int));
      struct cmsghdr *cm = CMSG_FIRSTHDR (&msg);
      cm->cmsg_level = SOL_SOCKET;
      cm->cmsg_type = SCM_RIGHTS;
      cm->cmsg_len = CMSG_LEN ((size_t) nfds * sizeof (int));
      memcpy (CMSG_DATA (cm), fds, (size_t) nfds * sizeof (int));
    }
  ssize_t n;
  do
    n = sendmsg (fd, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t) iov.iov_len ? 0 : -1;
}

/* One reply line (blocking, within SO_RCVTIMEO). */
static json_t *
read_reply (int fd, arca_buf_t *b)
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
          return j;
        }
      char buf[4096];
      ssize_t n = read (fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return NULL;
      buf_append (b, buf, (size_t) n);
    }
}

/* A short request on a connection of its own. */
static int
request (shim_t *s, json_t *req, char **err_msg)
{
  _cleanup_close_ int fd = connect_container (s, err_msg);
  if (fd < 0)
    {
      json_decref (req);
      return -1;
    }
  arca_buf_t b = { 0 };
  json_t *reply = send_line (fd, req, NULL, 0) == 0 ? read_reply (fd, &b) : NULL;
  buf_free (&b);
  int r = reply && json_get_bool (reply, "ok", false) ? 0 : -1;
  if (r < 0)
    *err_msg = xstrdup (reply && json_get_str (reply, "error") ? json_get_str (reply, "error") : "no answer");
  json_decref (reply);
  return r;
}

int
shim_vm_exec_setup (shim_t *s, char **err_msg)
{
  vm_exec_t *ex = xmalloc0 (sizeof *ex);
  ex->wait_fd = -1;
  s->vm = ex;
  /* With a TTY the guest has the terminal; a socketpair stands in for the
   * master here, its other end goes to the container's shim. */
  if (s->tty)
    {
      int sp[2];
      if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        {
          *err_msg = xasprintf ("socketpair: %s", strerror (errno));
          return -1;
        }
      fcntl (sp[0], F_SETFL, O_NONBLOCK);
      s->out_fd = s->in_fd = sp[0];
      shim_close_child_fds (s);
      s->child_fds[0] = sp[1];
    }
  return 0;
}

static json_t *
vm_exec_start (shim_t *s, shim_conn_t *c)
{
  vm_exec_t *ex = ex_of (s);
  char *msg = NULL;
  json_error_t jerr;
  _cleanup_json_ json_t *process = json_load_file (s->exec_process, 0, &jerr);
  if (!json_is_object (process))
    {
      shim_close_child_fds (s);
      return shim_start_failed (s, xasprintf ("read %s: %s", s->exec_process, jerr.text));
    }
  int fd = connect_container (s, &msg);
  if (fd < 0)
    {
      shim_close_child_fds (s);
      return shim_start_failed (s, msg);
    }
  json_t *req = json_pack ("{s:s,s:O,s:b,s:b}", "op", "vm-exec", "process", process, "tty", s->tty, "stdin",
                           s->open_stdin);
  int r = send_line (fd, req, s->child_fds, s->tty ? 1 : 3);
  shim_close_child_fds (s);
  json_t *reply = r == 0 ? read_reply (fd, &ex->rbuf) : NULL;
  if (reply == NULL || !json_get_bool (reply, "ok", false))
    {
      const char *e = reply ? json_get_str (reply, "error") : NULL;
      msg = xstrdup (e ? e : "the container's shim did not answer");
      json_decref (reply);
      close (fd);
      return shim_start_failed (s, msg);
    }
  s->state_pid = (pid_t) json_get_int (reply, "pid", 0);
  ex->session = (uint32_t) json_get_int (reply, "session", 0);
  json_decref (reply);
  if (send_line (fd, json_pack ("{s:s,s:i}", "op", "vm-exec-wait", "session", (int) ex->session), NULL, 0) < 0)
    {
      close (fd);
      shim_mark_exited (s, 137);
      return shim_start_ok (s);
    }
  fcntl (fd, F_SETFL, O_NONBLOCK);
  ex->wait_fd = fd;
  return shim_start_ok (s);
}

static int
vm_exec_kill (shim_t *s, int sig, bool all, char **err_msg)
{
  vm_exec_t *ex = ex_of (s);
  return request (s, json_pack ("{s:s,s:i,s:i}", "op", "vm-signal", "session", (int) ex->session, "signal", sig),
                  err_msg);
}

static void
vm_exec_resize (shim_t *s, unsigned height, unsigned width)
{
  vm_exec_t *ex = ex_of (s);
  char *msg = NULL;
  if (request (s,
               json_pack ("{s:s,s:i,s:i,s:i}", "op", "vm-resize", "session", (int) ex->session, "height",
                          (int) height, "width", (int) width),
               &msg)
      < 0)
    log_warn ("exec resize: %s", msg);
  free (msg);
}

static void
vm_exec_poll_add (shim_t *s, pollset_t *ps, int64_t *deadline)
{
  vm_exec_t *ex = ex_of (s);
  if (ex->wait_fd >= 0)
    pollset_add (ps, ex->wait_fd, POLLIN);
}

static void
vm_exec_poll_handle (shim_t *s, pollset_t *ps)
{
  vm_exec_t *ex = ex_of (s);
  if (ex->wait_fd < 0 || !(pollset_revents (ps, ex->wait_fd) & (POLLIN | POLLHUP | POLLERR)))
    return;
  char buf[4096];
  ssize_t n = read (ex->wait_fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  int code = 137; /* the container's shim went away: the VM is gone */
  if (n > 0)
    {
      buf_append (&ex->rbuf, buf, (size_t) n);
      char *nl = memchr (ex->rbuf.data, '\n', ex->rbuf.len);
      if (nl == NULL)
        return;
      *nl = '\0';
      json_t *j = json_loads (ex->rbuf.data, 0, NULL);
      code = (int) json_get_int (j, "ExitCode", 137);
      json_decref (j);
    }
  close (ex->wait_fd);
  ex->wait_fd = -1;
  shim_mark_exited (s, code);
}

static void
vm_exec_cleanup (shim_t *s)
{
  vm_exec_t *ex = ex_of (s);
  if (ex == NULL)
    return;
  if (ex->wait_fd >= 0)
    close (ex->wait_fd);
  ex->wait_fd = -1;
  buf_free (&ex->rbuf);
}

const shim_backend_t shim_vm_exec_backend = {
  .start = vm_exec_start,
  .kill = vm_exec_kill,
  .resize = vm_exec_resize,
  .poll_add = vm_exec_poll_add,
  .poll_handle = vm_exec_poll_handle,
  .cleanup = vm_exec_cleanup,
};
