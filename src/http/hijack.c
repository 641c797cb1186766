/* Connection hijack for attach and exec start (moby
 * api/server/httputils hijack: 101 UPGRADED, Upgrade: tcp).
 *
 * The reply is a 101 with "Upgrade: tcp" and the stream's Content-Type;
 * MHD adds "Connection: Upgrade" itself and writes its own reason phrase
 * ("Switching Protocols" where dockerd writes "UPGRADED" — clients check
 * only the code).  The middleware headers are added as well (dockerd's exec
 * start copies them; harmless for attach).  After the upgrade the session
 * runs in a thread of its own with the socket in blocking mode; when it
 * returns the connection is ended with MHD_upgrade_action(CLOSE), never
 * close().
 *
 * Requests without an "Upgrade" header (dockerode's exec start with
 * hijack=false) get what dockerd gives them, a 200 with the raw stream:
 * here a chunked stream whose producer sees its input already at EOF. */
#include "http/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "util/thread.h"

typedef struct
{
  arca_http_request_t *req;
  arca_http_server_t *srv;
  arca_hijack_fn fn;
  void *ctx;
  void (*ctx_free) (void *);
  char *extra;
  size_t extra_len;
  int fd;
  struct MHD_UpgradeResponseHandle *urh;
  arca_live_t live;
} hijack_t;

static void *
hijack_main (void *arg)
{
  hijack_t *h = arg;
  h->fn (h->fd, h->extra, h->extra_len, h->ctx);
  if (h->ctx_free)
    h->ctx_free (h->ctx);
  MHD_upgrade_action (h->urh, MHD_UPGRADE_ACTION_CLOSE);
  /* after CLOSE: server stop may now proceed to MHD_stop_daemon */
  arca_http_live_remove (h->srv, &h->live);
  arca_req_unref (h->req);
  free (h->extra);
  free (h);
  return NULL;
}

static void
upgrade_cb (void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in, size_t extra_in_size,
            MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
  hijack_t *h = cls;
  h->fd = sock;
  h->urh = urh;
  /* the session thread owns h from now on; the request's completion (which
   * MHD reports only after the session ends) must not touch it */
  h->req->hijack = NULL;
  if (extra_in_size > 0)
    {
      h->extra = malloc (extra_in_size);
      if (h->extra)
        {
          memcpy (h->extra, extra_in, extra_in_size);
          h->extra_len = extra_in_size;
        }
    }
  int fl = fcntl (sock, F_GETFL);
  if (fl >= 0)
    fcntl (sock, F_SETFL, fl & ~O_NONBLOCK);
  arca_http_live_set_fd (h->srv, &h->live, sock);

  int rc = thread_start_detached (hijack_main, h, 0);
  if (rc != 0)
    {
      log_error ("http: cannot start hijack thread: %s", strerror (rc));
      hijack_main (h);
    }
}

int
arca_resp_hijack (arca_http_request_t *req, const char *content_type, arca_hijack_fn fn, void *ctx,
                  void (*ctx_free) (void *))
{
  if (req->responded)
    {
      if (ctx_free)
        ctx_free (ctx);
      return -1;
    }
  const char *upgrade = arca_req_header (req, "Upgrade");
  if (upgrade == NULL || upgrade[0] == '\0')
    return arca_stream_start_socket (req, 200, content_type, fn, ctx, ctx_free);

  hijack_t *h = calloc (1, sizeof *h);
  if (h == NULL)
    abort ();
  h->req = req;
  h->srv = req->srv;
  h->fn = fn;
  h->ctx = ctx;
  h->ctx_free = ctx_free;
  h->fd = -1;
  struct MHD_Response *resp = MHD_create_response_for_upgrade (upgrade_cb, h);
  if (resp == NULL)
    {
      if (ctx_free)
        ctx_free (ctx);
      free (h);
      return -1;
    }
  MHD_add_response_header (resp, MHD_HTTP_HEADER_UPGRADE, "tcp");
  if (content_type)
    MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  arca_req_ref (req);
  req->long_response = true; /* attach, exec: never timed out */
  if (arca_http_queue (req, MHD_HTTP_SWITCHING_PROTOCOLS, resp) < 0)
    {
      if (ctx_free)
        ctx_free (ctx);
      arca_req_unref (req);
      free (h);
      return -1;
    }
  /* If the connection dies before the 101 is sent, upgrade_cb never runs:
   * the request's completion then releases h (see arca_hijack_abandon).
   * Registered now, not in upgrade_cb: the client sees the 101 before
   * upgrade_cb runs, and server stop must wait for the session all the
   * same (MHD must not be stopped under it). */
  h->live.fd = -1;
  h->live.stream = NULL;
  arca_http_live_add (h->srv, &h->live);
  req->hijack = h;
  return 0;
}

void
arca_hijack_abandon (arca_http_request_t *req)
{
  hijack_t *h = req->hijack;
  req->hijack = NULL;
  if (h == NULL)
    return; /* none, or the session thread owns it */
  if (h->ctx_free)
    h->ctx_free (h->ctx);
  arca_http_live_remove (h->srv, &h->live);
  free (h);
  arca_req_unref (req); /* the session's reference, never taken over */
}
