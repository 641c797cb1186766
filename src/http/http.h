/* HTTP layer: libmicrohttpd over the daemon's own AF_UNIX socket, one thread
 * per connection (docs/design.md "Processes").  Handlers run in the
 * connection's thread and may block.
 *
 * A handler receives a request and must produce exactly one response with
 * one of the arca_resp_* calls below (or return -1 with *err set, in which
 * case the layer answers with arca_resp_error).
 *
 * Common headers on every response (moby api/server/middleware/version.go):
 *   Api-Version: 1.51, Ostype: linux, Server: Arca/<ARCA_VERSION> (linux),
 *   Docker-Experimental: false.  (Clients do not parse Server; we do not
 *   pretend to be Docker there.)
 *
 * Versions: a "/vX.Y" prefix is stripped; X.Y outside [1.24, 1.51] is
 * answered 400 with moby's texts before any handler runs.  Every request is
 * logged at debug level (method, URI, status, duration).
 *
 * Limits (docs/security.md): a URL holding %00 is answered 400 before
 * routing (a NUL would cut an ID or name short); each route declares what
 * body it takes (ARCA_ROUTE_BODY_* below), so no request body is ever held
 * in memory beyond its route's cap; a connection may spend at most the
 * idle timeout sending its request line and headers, or idle between
 * requests (dockerd: ReadHeaderTimeout, IdleTimeout), while request
 * bodies, handlers and responses (streams, hijacks) have no time limit;
 * at most max_connections connections (one thread each) at a time.
 */
#ifndef ARCA_HTTP_HTTP_H
#define ARCA_HTTP_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

typedef struct arca_http_request arca_http_request_t;
typedef struct arca_stream arca_stream_t;

/* ---- request accessors -------------------------------------------------- */
const char *arca_req_method (arca_http_request_t *req);
/* Path with the /vX.Y prefix removed, e.g. "/containers/abc/json". */
const char *arca_req_path (arca_http_request_t *req);
/* Negotiated API version as major*100+minor (1.51 -> 151); unversioned
 * requests get the default (151). */
int arca_req_api_version (arca_http_request_t *req);
/* Route parameter by name ("id", "name"), from the route pattern. */
const char *arca_req_param (arca_http_request_t *req, const char *name);
/* Query parameter (URL-decoded) or NULL. */
const char *arca_req_query (arca_http_request_t *req, const char *key);
/* Every value of a repeated query parameter, in order (NULL-terminated
 * copy, never NULL; free with strv_free), e.g. changes=A&changes=B. */
char **arca_req_query_all (arca_http_request_t *req, const char *key);
/* Docker's boolean parsing (moby httputils.BoolValue): absent -> def;
 * "", "0", "no", "false", "none" (case-insensitive) -> false; else true. */
bool arca_req_query_bool (arca_http_request_t *req, const char *key, bool def);
const char *arca_req_header (arca_http_request_t *req, const char *name);
/* In-memory body (NUL-terminated) of an ARCA_ROUTE_BODY_JSON route;
 * NULL/0 if none.  On another route: logs an error, NULL/0. */
const char *arca_req_body (arca_http_request_t *req, size_t *len);
/* Parse the body as a JSON object (moby httputils.ReadJSON): empty body ->
 * *out = NULL and 0; a Content-Type other than application/json -> 400
 * "unsupported Content-Type header (<ct>): must be 'application/json'";
 * bad JSON -> 400.  Only for ARCA_ROUTE_BODY_JSON routes (500 elsewhere:
 * a route that reads a body must say so in its table). */
int arca_req_json (arca_http_request_t *req, json_t **out, arca_error_t *err);
/* For routes registered with ARCA_ROUTE_BODY_FILE: path of the file the
 * body was spooled to (removed after the response), NULL if no body. */
const char *arca_req_body_file (arca_http_request_t *req);

/* ---- responses --------------------------------------------------------- */
/* JSON body (steals body), Content-Type: application/json. */
int arca_resp_json (arca_http_request_t *req, int status, json_t *body);
/* {"message": err->msg} with the status of err->kind; 304 has no body. */
int arca_resp_error (arca_http_request_t *req, const arca_error_t *err);
/* Add a header to the response this request will get (call before the
 * arca_resp_* call), e.g. Cache-Control on /_ping or
 * X-Docker-Container-Path-Stat on HEAD archive.  Copied. */
void arca_resp_header (arca_http_request_t *req, const char *name, const char *value);
/* Empty body with this status (201/204/304 ...). */
int arca_resp_status (arca_http_request_t *req, int status);
/* Arbitrary body, copied. */
int arca_resp_data (arca_http_request_t *req, int status, const char *content_type, const void *data,
                    size_t len);
/* A JSON body already written as text (compact, Go json.Encoder's
 * trailing newline still to come): text is malloc'd, len bytes and a NUL,
 * which becomes the newline; the response takes it (no copy of a large
 * list).  Frees text in every case. */
int arca_resp_json_text (arca_http_request_t *req, int status, char *text, size_t len);

/* Streamed (chunked) response.  Status and headers are flushed at once; then
 * fn runs in a thread of its own and writes with arca_stream_write until it
 * returns, which ends the stream.  ctx_free (if set) is called on ctx after
 * fn returns. */
typedef void (*arca_stream_fn) (arca_stream_t *s, void *ctx);
int arca_resp_stream (arca_http_request_t *req, int status, const char *content_type,
                      arca_stream_fn fn, void *ctx, void (*ctx_free) (void *));
/* Write to a stream; returns 0, or -1 once the client has gone away. */
int arca_stream_write (arca_stream_t *s, const void *data, size_t len);
/* An fd that becomes readable (POLLIN) when the client has gone away, for a
 * producer blocked in poll() on something else. */
int arca_stream_cancel_fd (arca_stream_t *s);

/* Hijack (101 UPGRADED, Upgrade: tcp) as dockerd does for attach and exec
 * start (moby api/server/router/container/exec.go, attach.go).  fn runs with the connection's socket, set
 * to blocking mode, and the bytes the client sent after its headers
 * (extra/extra_len, to be consumed before reading fd).  Half-close: fn may
 * shutdown(fd, SHUT_WR); it must not close fd — the layer closes the
 * connection after fn returns.  ctx_free as above. */
typedef void (*arca_hijack_fn) (int fd, const char *extra, size_t extra_len, void *ctx);
int arca_resp_hijack (arca_http_request_t *req, const char *content_type, arca_hijack_fn fn, void *ctx,
                      void (*ctx_free) (void *));

/* ---- routing and server ------------------------------------------------ */
typedef int (*arca_handler_fn) (arca_http_request_t *req, void *app, arca_error_t *err);

/* What a route does with a request body, declared in its table entry:
 * - neither flag: the route takes no body; one sent anyway is read and
 *   dropped, never stored (dockerd ignores it too);
 * - ARCA_ROUTE_BODY_JSON: kept in memory for arca_req_json/arca_req_body,
 *   at most ARCA_HTTP_JSON_BODY_MAX bytes: a larger Content-Length is
 *   answered 413 before any byte is read, a larger chunked body closes the
 *   connection;
 * - ARCA_ROUTE_BODY_FILE: streamed to a 0600 temp file in the server's
 *   tmp_dir (under the data root) as it arrives, any size (image load and
 *   import, archive PUT, build contexts): arca_req_body_file. */
enum
{
  ARCA_ROUTE_BODY_FILE = 1 << 0,
  ARCA_ROUTE_BODY_JSON = 1 << 1,
};
/* 32 MiB: a create with a million Env entries is 19 MB of JSON. */
#define ARCA_HTTP_JSON_BODY_MAX ((size_t) 32 << 20)

typedef struct
{
  const char *method;   /* "GET", "POST", "HEAD", "DELETE", "PUT" */
  /* "/containers/{id}/json": {x} matches one segment.  Routes are tried in
   * table order with one-segment parameters first; only if none matches is
   * a second pass made in which a {x} may span several segments, so image
   * names such as "library/busybox" or "127.0.0.1:5000/a" reach
   * "/images/{name}/json" (moby's {name:.*}).  "{x:.*}" spans on the first
   * pass already.  Same path, other method -> 404 as dockerd. */
  const char *pattern;
  arca_handler_fn handler;
  unsigned flags;
} arca_route_t;

typedef struct arca_http_server arca_http_server_t;

/* Connection limits; 0 fields take the defaults. */
typedef struct
{
  unsigned idle_timeout_s;  /* headers and keep-alive idling; default 300 (dockerd's ReadHeaderTimeout) */
  unsigned max_connections; /* default 2048 */
} arca_http_limits_t;
#define ARCA_HTTP_IDLE_TIMEOUT_DEFAULT 300
#define ARCA_HTTP_MAX_CONNECTIONS_DEFAULT 2048

/* TLS for a TCP listener (dockerd --tls/--tlsverify, docs/security.md):
 * PEM files read once at start.  With ca_file set every client must
 * present a certificate signed by it, valid for client authentication, or
 * the handshake fails (Go's tls.RequireAndVerifyClientCert, which dockerd
 * uses with --tlsverify); without, any client may connect (--tls). */
typedef struct
{
  const char *cert_file;
  const char *key_file;
  const char *ca_file; /* NULL: no client certificates asked for */
} arca_http_tls_t;

/* Start serving routes (NULL-handler-terminated array) on an already bound
 * and listening socket fd, AF_UNIX or TCP (the server owns it from now on
 * and closes it on stop); app is passed to every handler; tmp_dir receives
 * spooled bodies; limits may be NULL (defaults); tls NULL for plain HTTP.
 * Unknown route or method -> 404 "page not found".  One server per
 * listener: a daemon with several --host values starts several. */
int arca_http_server_start (int listen_fd, const arca_route_t *routes, void *app, const char *tmp_dir,
                            const arca_http_limits_t *limits, const arca_http_tls_t *tls,
                            arca_http_server_t **out, arca_error_t *err);
/* Stop: shuts hijacked connections down, cancels streams (their
 * cancel fds become readable), stops MHD, and waits (up to ~5 s each) for
 * session and producer threads to return. */
void arca_http_server_stop (arca_http_server_t *srv);

#endif
