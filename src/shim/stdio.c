/* The container's stdio: pipes, /dev/null, or a PTY whose master the OCI
 * runtime hands over on a console socket. */
#include "shim/shim.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "util/log.h"

static int
open_null (int flags)
{
  return open ("/dev/null", flags | O_CLOEXEC);
}

/* Without a TTY: child_fds[] become the runtime's (and so the container's)
 * stdin/stdout/stderr; the shim keeps the other pipe ends.  With a TTY the
 * container's stdio is the PTY slave (set up by the runtime); the runtime
 * itself gets /dev/null. */
int
shim_stdio_setup (shim_t *s, int child_fds[3], char **err_msg)
{
  int p[2];
  child_fds[0] = child_fds[1] = child_fds[2] = -1;
  if (s->tty)
    {
      for (int i = 0; i < 3; i++)
        if ((child_fds[i] = open_null (i == 0 ? O_RDONLY : O_WRONLY)) < 0)
          goto fail;
      return 0;
    }
  if (s->open_stdin)
    {
      if (pipe2 (p, O_CLOEXEC) < 0)
        goto fail;
      child_fds[0] = p[0];
      s->in_fd = p[1];
      fcntl (s->in_fd, F_SETFL, O_NONBLOCK);
    }
  else if ((child_fds[0] = open_null (O_RDONLY)) < 0)
    goto fail;
  if (pipe2 (p, O_CLOEXEC) < 0)
    goto fail;
  s->out_fd = p[0];
  child_fds[1] = p[1];
  if (pipe2 (p, O_CLOEXEC) < 0)
    goto fail;
  s->err_fd = p[0];
  child_fds[2] = p[1];
  fcntl (s->out_fd, F_SETFL, O_NONBLOCK);
  fcntl (s->err_fd, F_SETFL, O_NONBLOCK);
  return 0;
fail:
  *err_msg = xasprintf ("stdio setup: %s", strerror (errno));
  return -1;
}

void
shim_set_winsize (int fd, unsigned height, unsigned width)
{
  struct winsize ws = { .ws_row = (unsigned short) height, .ws_col = (unsigned short) width };
  if (ioctl (fd, TIOCSWINSZ, &ws) < 0)
    log_warn ("TIOCSWINSZ: %s", strerror (errno));
}

int
shim_console_listen (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof addr.sun_path)
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  strcpy (addr.sun_path, path);
  unlink (path);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (fd, 1) < 0)
    {
      int e = errno;
      close (fd);
      errno = e;
      return -1;
    }
  return fd;
}

/* Accept the runtime's connection and receive the PTY master (SCM_RIGHTS).
 * Returns the fd or -1 (nothing arrived within timeout_ms). */
int
shim_console_recv (int listen_fd, int timeout_ms)
{
  struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
  if (poll (&pfd, 1, timeout_ms) <= 0)
    return -1;
  int conn = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0)
    return -1;
  char name[256];
  struct iovec iov = { .iov_base = name, .iov_len = sizeof name };
  union {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  ssize_t n;
  do
    n = recvmsg (conn, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  close (conn);
  if (n < 0)
    return -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR (&msg); c; c = CMSG_NXTHDR (&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      {
        int fd;
        memcpy (&fd, CMSG_DATA (c), sizeof fd);
        return fd;
      }
  errno = EPROTO;
  return -1;
}
