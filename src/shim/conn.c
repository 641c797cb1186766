/* Connections on shim.sock: control requests (one JSON line each) and, after
 * an "attach" request, the attach stream of that connection. */
#include "shim/shim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"

void
shim_conn_accept (shim_t *s)
{
  int fd = accept4 (s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0)
    return;
  shim_conn_t *c = xmalloc0 (sizeof *c);
  c->fd = fd;
  c->next = s->conns;
  s->conns = c;
}

static void
conn_close_now (shim_conn_t *c)
{
  if (c->fd >= 0)
    {
      /* Unread bytes in our receive queue would turn the peer's EOF into
       * ECONNRESET: read them away first. */
      char sink[512];
      shutdown (c->fd, SHUT_WR);
      while (recv (c->fd, sink, sizeof sink, MSG_DONTWAIT) > 0)
        ;
      close (c->fd);
      c->fd = -1;
    }
  c->dead = true;
}

void
shim_conn_flush (shim_t *s, shim_conn_t *c)
{
  while (!c->dead && c->out_off < c->out.len)
    {
      ssize_t n = send (c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
      if (n < 0)
        {
          /* The client went away. */
          conn_close_now (c);
          return;
        }
      c->out_off += (size_t) n;
    }
  if (c->out_off == c->out.len)
    {
      c->out_off = c->out.len = 0;
      if (c->out.cap > 64 * 1024)
        buf_free (&c->out); /* give a burst's memory back */
    }
  if (c->closing && !c->dead && c->out.len == 0)
    conn_close_now (c);
}

void
shim_conn_send (shim_t *s, shim_conn_t *c, const void *data, size_t len)
{
  if (c->dead)
    return;
  buf_append (&c->out, data, len);
  shim_conn_flush (s, c);
}

void
shim_conn_end (shim_t *s, shim_conn_t *c)
{
  c->closing = true;
  shim_conn_flush (s, c);
}

void
shim_conn_reap (shim_t *s)
{
  shim_conn_t **pp = &s->conns;
  while (*pp)
    {
      shim_conn_t *c = *pp;
      if (!c->dead)
        {
          pp = &c->next;
          continue;
        }
      *pp = c->next;
      if (c->fd >= 0)
        close (c->fd);
      for (int i = 0; i < c->nfds; i++)
        close (c->fds[i]);
      buf_free (&c->rbuf);
      buf_free (&c->out);
      free (c);
    }
}

void
shim_stdin_flush (shim_t *s)
{
  if (s->in_fd < 0)
    {
      s->in_off = s->in_buf.len = 0;
      return;
    }
  while (s->in_fd >= 0 && s->in_off < s->in_buf.len)
    {
      ssize_t n = write (s->in_fd, s->in_buf.data + s->in_off, s->in_buf.len - s->in_off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      if (n < 0)
        {
          /* EPIPE: nobody reads the container's stdin any more. */
          s->in_off = s->in_buf.len;
          if (!s->tty)
            {
              close (s->in_fd);
              s->in_fd = -1;
            }
          break;
        }
      s->in_off += (size_t) n;
    }
  if (s->in_off >= s->in_buf.len)
    {
      s->in_off = s->in_buf.len = 0;
      if (s->in_buf.cap > 64 * 1024)
        buf_free (&s->in_buf);
      if (s->in_close_pending && !s->tty && s->in_fd >= 0)
        {
          close (s->in_fd);
          s->in_fd = -1;
        }
    }
}

/* Bytes from an attach client: the container's stdin. */
static void
stdin_data (shim_t *s, shim_conn_t *c, const uint8_t *data, size_t len)
{
  if (!c->a_stdin || len == 0)
    return;
  if (s->tty)
    {
      uint8_t out[SHIM_READ_CHUNK + DETACHKEYS_MAX];
      while (len > 0)
        {
          size_t take = len < SHIM_READ_CHUNK ? len : SHIM_READ_CHUNK;
          size_t n = 0;
          bool detached = detachkeys_feed (&c->detach, data, take, out, &n);
          if (s->in_fd >= 0)
            buf_append (&s->in_buf, out, n);
          if (detached)
            {
              /* Only this session ends; the container goes on (moby
               * term.EscapeError -> "detach" event in the daemon). */
              c->a_stdin = false;
              shim_conn_end (s, c);
              break;
            }
          data += take;
          len -= take;
        }
    }
  else if (s->in_fd >= 0 && !s->in_close_pending)
    buf_append (&s->in_buf, data, len);
  shim_stdin_flush (s);
}

/* The client half-closed: its stdin ended (moby container/stream attach:
 * CloseWrite ends stdin). */
static void
stdin_eof (shim_t *s, shim_conn_t *c)
{
  c->read_eof = true;
  if (!c->a_stdin)
    return;
  if (s->tty)
    {
      uint8_t out[DETACHKEYS_MAX];
      size_t n = 0;
      detachkeys_flush (&c->detach, out, &n);
      if (s->in_fd >= 0)
        buf_append (&s->in_buf, out, n);
      shim_stdin_flush (s);
    }
  if (s->stdin_once && !s->tty)
    {
      /* StdinOnce: the container's stdin closes, output goes on. */
      if (s->in_fd >= 0)
        {
          s->in_close_pending = true;
          shim_stdin_flush (s);
        }
    }
  else
    shim_conn_end (s, c);
}

static void
process_requests (shim_t *s, shim_conn_t *c)
{
  size_t start = 0;
  while (!c->attached && !c->dead)
    {
      char *nl = memchr (c->rbuf.data + start, '\n', c->rbuf.len - start);
      if (nl == NULL)
        break;
      *nl = '\0';
      json_error_t jerr;
      json_t *req = json_loads (c->rbuf.data + start, 0, &jerr);
      start = (size_t) (nl - c->rbuf.data) + 1;
      json_t *reply;
      if (req == NULL || !json_is_object (req))
        reply = json_pack ("{s:b,s:s}", "ok", 0, "error", "invalid request");
      else
        reply = shim_control_dispatch (s, c, req);
      json_decref (req);
      if (reply)
        shim_reply (s, c, reply);
    }
  size_t rest = c->rbuf.len - start;
  if (c->attached)
    {
      /* Bytes the client sent right behind its attach request are stdin. */
      if (rest > 0 && !c->dead)
        stdin_data (s, c, (uint8_t *) c->rbuf.data + start, rest);
      buf_free (&c->rbuf);
      return;
    }
  memmove (c->rbuf.data, c->rbuf.data + start, rest);
  c->rbuf.len = rest;
  if (rest > SHIM_MAX_REQUEST)
    conn_close_now (c);
}

/* read(), keeping descriptors sent along with a request (an exec into a VM
 * container hands over its stdio that way); beyond four, they are closed. */
static ssize_t
conn_read (shim_conn_t *c, uint8_t *buf, size_t size)
{
  struct iovec iov = { .iov_base = buf, .iov_len = size };
  union
  {
    char buf[CMSG_SPACE (8 * sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  ssize_t n = recvmsg (c->fd, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0)
    return n;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR (&msg); cm; cm = CMSG_NXTHDR (&msg, cm))
    {
      if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
        continue;
      size_t nfd = (cm->cmsg_len - CMSG_LEN (0)) / sizeof (int);
      for (size_t i = 0; i < nfd; i++)
        {
          int fd;
          memcpy (&fd, CMSG_DATA (cm) + i * sizeof (int), sizeof fd);
          if (c->nfds < (int) (sizeof c->fds / sizeof c->fds[0]) && !c->attached)
            c->fds[c->nfds++] = fd;
          else
            close (fd);
        }
    }
  return n;
}

void
shim_conn_readable (shim_t *s, shim_conn_t *c)
{
  uint8_t buf[SHIM_READ_CHUNK];
  ssize_t n = conn_read (c, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n < 0)
    {
      conn_close_now (c);
      return;
    }
  if (n == 0)
    {
      if (c->attached)
        stdin_eof (s, c);
      else
        {
          c->read_eof = true;
          /* Keep a connection that still waits for the exit: the client
           * may only have half-closed. */
          if (!c->waiting)
            shim_conn_end (s, c);
        }
      return;
    }
  if (c->attached)
    {
      stdin_data (s, c, buf, (size_t) n);
      return;
    }
  buf_append (&c->rbuf, buf, (size_t) n);
  process_requests (s, c);
}
