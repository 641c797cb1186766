/* Streamed (chunked) responses.
 *
 * The handler's producer runs in a thread of its own and writes into one end
 * of a socketpair; MHD's content reader, running in the connection thread,
 * blocks in poll() on the other end together with the client's socket
 * (POLLRDHUP), so a client that goes away is noticed at once even while
 * the producer is silent (docker wait, events, logs -f).  MHD sends the
 * status line and headers before it first calls the reader, so they reach
 * the client immediately.  Returning 0 from the reader would spin, and
 * suspend/resume hangs in thread-per-connection mode, hence the blocking
 * poll.
 *
 * Lifetime: the stream is shared by the MHD response (released by the
 * response's free callback) and the producer thread; the last one frees
 * it.  The producer also holds a reference on the request. */
#include "http/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "util/thread.h"

struct arca_stream
{
  arca_http_request_t *req;
  arca_http_server_t *srv;
  atomic_int refs;
  int wfd;                 /* producer's end */
  int rfd;                 /* content reader's end */
  int cancel_r, cancel_w;  /* pipe; readable once cancelled */
  atomic_bool cancelled;
  int conn_fd;
  arca_stream_fn fn;
  arca_hijack_fn hfn;
  void *ctx;
  void (*ctx_free) (void *);
  arca_live_t live;
};

static void
stream_unref (arca_stream_t *s)
{
  if (atomic_fetch_sub (&s->refs, 1) != 1)
    return;
  if (s->wfd >= 0)
    close (s->wfd);
  if (s->rfd >= 0)
    close (s->rfd);
  close (s->cancel_r);
  close (s->cancel_w);
  arca_req_unref (s->req);
  free (s);
}

void
arca_stream_cancel (arca_stream_t *s)
{
  if (atomic_exchange (&s->cancelled, true))
    return;
  char c = 'x';
  while (write (s->cancel_w, &c, 1) < 0 && errno == EINTR)
    ;
}

int
arca_stream_cancel_fd (arca_stream_t *s)
{
  return s->cancel_r;
}

int
arca_stream_write (arca_stream_t *s, const void *data, size_t len)
{
  const char *p = data;
  while (len > 0)
    {
      if (atomic_load (&s->cancelled))
        return -1;
      ssize_t n = send (s->wfd, p, len, MSG_NOSIGNAL);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          arca_stream_cancel (s);
          return -1;
        }
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

static ssize_t
stream_reader (void *cls, uint64_t pos, char *buf, size_t max)
{
  arca_stream_t *s = cls;
  for (;;)
    {
      struct pollfd p[2] = {
        { .fd = s->rfd, .events = POLLIN },
        { .fd = s->conn_fd, .events = POLLRDHUP },
      };
      int r = poll (p, s->conn_fd >= 0 ? 2 : 1, -1);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          arca_stream_cancel (s);
          return MHD_CONTENT_READER_END_WITH_ERROR;
        }
      if (p[0].revents)
        {
          ssize_t n = read (s->rfd, buf, max);
          if (n > 0)
            return n;
          if (n == 0)
            {
              arca_http_rearm_idle_timeout (s->req); /* keep-alive: the next request is timed */
              return MHD_CONTENT_READER_END_OF_STREAM;
            }
          if (errno == EINTR || errno == EAGAIN)
            continue;
          arca_stream_cancel (s);
          return MHD_CONTENT_READER_END_WITH_ERROR;
        }
      if (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
        {
          /* the client went away (or the server is stopping) */
          arca_stream_cancel (s);
          return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

static void
stream_resp_free (void *cls)
{
  arca_stream_t *s = cls;
  arca_stream_cancel (s);
  /* closing our end makes a producer blocked in send() fail with EPIPE */
  close (s->rfd);
  s->rfd = -1;
  stream_unref (s);
}

static void *
producer_main (void *arg)
{
  arca_stream_t *s = arg;
  if (s->fn)
    s->fn (s, s->ctx);
  else
    s->hfn (s->wfd, NULL, 0, s->ctx);
  if (s->ctx_free)
    s->ctx_free (s->ctx);
  s->ctx = NULL;
  /* EOF for the reader: ends the chunked body */
  close (s->wfd);
  s->wfd = -1;
  arca_http_live_remove (s->srv, &s->live);
  stream_unref (s);
  return NULL;
}

static int
stream_start (arca_http_request_t *req, int status, const char *content_type, arca_stream_fn fn,
              arca_hijack_fn hfn, void *ctx, void (*ctx_free) (void *))
{
  if (req->responded)
    {
      if (ctx_free)
        ctx_free (ctx);
      return -1;
    }
  int sp[2], cp[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
    {
      if (ctx_free)
        ctx_free (ctx);
      arca_error_t err;
      arca_error_errno (&err, errno, "socketpair");
      return arca_resp_error (req, &err);
    }
  if (pipe2 (cp, O_CLOEXEC) < 0)
    {
      close (sp[0]);
      close (sp[1]);
      if (ctx_free)
        ctx_free (ctx);
      arca_error_t err;
      arca_error_errno (&err, errno, "pipe");
      return arca_resp_error (req, &err);
    }
  arca_stream_t *s = xmalloc0 (sizeof *s);
  s->req = req;
  arca_req_ref (req);
  s->srv = req->srv;
  atomic_init (&s->refs, 2); /* MHD response + producer */
  s->wfd = sp[0];
  s->rfd = sp[1];
  s->cancel_r = cp[0];
  s->cancel_w = cp[1];
  s->fn = fn;
  s->hfn = hfn;
  s->ctx = ctx;
  s->ctx_free = ctx_free;
  s->live.fd = -1;
  s->live.stream = s;
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info (req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  s->conn_fd = ci ? ci->connect_fd : -1;
  if (hfn)
    shutdown (s->rfd, SHUT_WR); /* the producer's "connection" reads EOF */

  struct MHD_Response *resp
      = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 32 * 1024, stream_reader, s, stream_resp_free);
  if (resp == NULL)
    {
      atomic_store (&s->refs, 1);
      if (ctx_free)
        ctx_free (ctx);
      stream_unref (s);
      return -1;
    }
  if (content_type)
    MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  req->long_response = true; /* /events, logs -f, wait: never timed out */
  if (arca_http_queue (req, status, resp) < 0)
    {
      /* the response (and its reference) is gone already */
      if (ctx_free)
        ctx_free (ctx);
      stream_unref (s);
      return -1;
    }
  arca_http_live_add (s->srv, &s->live);
  int rc = thread_start_detached (producer_main, s, 0);
  if (rc != 0)
    {
      log_error ("http: cannot start stream producer: %s", strerror (rc));
      arca_stream_cancel (s);
      if (ctx_free)
        ctx_free (ctx);
      s->ctx = NULL;
      close (s->wfd);
      s->wfd = -1;
      arca_http_live_remove (s->srv, &s->live);
      stream_unref (s);
    }
  return 0;
}

int
arca_resp_stream (arca_http_request_t *req, int status, const char *content_type, arca_stream_fn fn, void *ctx,
                  void (*ctx_free) (void *))
{
  return stream_start (req, status, content_type, fn, NULL, ctx, ctx_free);
}

int
arca_stream_start_socket (arca_http_request_t *req, int status, const char *content_type, arca_hijack_fn fn,
                          void *ctx, void (*ctx_free) (void *))
{
  return stream_start (req, status, content_type, NULL, fn, ctx, ctx_free);
}
