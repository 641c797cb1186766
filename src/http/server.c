/* The libmicrohttpd server: request lifecycle, body collection, dispatch to
 * routes, request accessors.  One thread per connection; handlers run in
 * it and may block (docs/design.md "Processes"). */
#include "http/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"
#include "util/memtrim.h"
#include "util/timeutil.h"

/* ---- request objects ---------------------------------------------------- */

static arca_http_request_t *
request_new (arca_http_server_t *srv, const char *raw_uri)
{
  arca_http_request_t *req = xmalloc0 (sizeof *req);
  req->srv = srv;
  atomic_init (&req->refs, 1);
  req->raw_uri = xstrdup (raw_uri ? raw_uri : "");
  req->body_fd = -1;
  req->api_version = ARCA_API_VERSION_NUM;
  req->start_ns = time_mono_ns ();
  return req;
}

static void
hdr_free (arca_hdr_t *h)
{
  while (h)
    {
      arca_hdr_t *next = h->next;
      free (h->name);
      free (h->value);
      free (h);
      h = next;
    }
}

void
arca_req_ref (arca_http_request_t *req)
{
  atomic_fetch_add (&req->refs, 1);
}

void
arca_req_unref (arca_http_request_t *req)
{
  if (req == NULL || atomic_fetch_sub (&req->refs, 1) != 1)
    return;
  if (req->body_fd >= 0)
    close (req->body_fd);
  if (req->body_path)
    {
      unlink (req->body_path);
      free (req->body_path);
    }
  buf_free (&req->body);
  arca_route_params_free (req->params, req->nparams);
  strv_free (req->query);
  hdr_free (req->headers);
  hdr_free (req->resp_headers);
  free (req->raw_uri);
  free (req->method);
  free (req->path);
  free (req);
}

static enum MHD_Result
collect_header (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
  arca_http_request_t *req = cls;
  arca_hdr_t *h = xmalloc0 (sizeof *h);
  h->name = xstrdup (key);
  h->value = xstrdup (value ? value : "");
  h->next = req->headers;
  req->headers = h;
  return MHD_YES;
}

/* MHD decodes %00 into a NUL that would end the path (or a query value)
 * early: "/volumes/x%00y" would name volume "x".  Refused instead. */
static bool
uri_has_nul (const char *raw)
{
  for (const char *p = raw; (p = strchr (p, '%')) != NULL; p++)
    if (p[1] == '0' && p[2] == '0')
      return true;
  return false;
}

/* Content-Length as announced, or -1 (none, or chunked). */
static int64_t
content_length (arca_http_request_t *req)
{
  const char *v = arca_req_header (req, "Content-Length");
  if (v == NULL || *v == '\0')
    return -1;
  char *end;
  unsigned long long n = strtoull (v, &end, 10);
  return *end == '\0' && n <= INT64_MAX ? (int64_t) n : -1;
}

static bool
body_announced (arca_http_request_t *req)
{
  const char *te = arca_req_header (req, "Transfer-Encoding");
  return content_length (req) > 0 || (te && strcasestr (te, "chunked"));
}

/* First call for a request: headers are complete; parse everything the
 * handler may ask for so that accessors never touch the MHD connection. */
static void
request_begin (arca_http_request_t *req, struct MHD_Connection *conn, const char *url, const char *method)
{
  req->conn = conn;
  req->method = xstrdup (method);
  req->uri_nul = uri_has_nul (req->raw_uri);
  MHD_get_connection_values (conn, MHD_HEADER_KIND, collect_header, req);
  /* The headers are in: no time limit for the body, the handler and the
   * response (dockerd times only headers and idling, not bodies). */
  MHD_set_connection_option (conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);

  const char *q = strchr (req->raw_uri, '?');
  req->query = arca_query_parse (q ? q + 1 : NULL);

  const char *rest;
  arca_api_version_split (url, req->version, sizeof req->version, &rest);
  req->path = xstrdup (rest);
  req->api_version = arca_api_version_num (req->version);
  if (arca_api_version_check (req->version, req->version_msg, sizeof req->version_msg, &req->version_plain) < 0)
    req->version_bad = true;
  else
    req->route = arca_route_find (req->srv->routes, method, req->path, req->params, &req->nparams);
  if (req->route && (req->route->flags & ARCA_ROUTE_BODY_JSON)
      && content_length (req) > (int64_t) ARCA_HTTP_JSON_BODY_MAX)
    req->body_too_large = true;
}

/* A request that will be refused whatever its body holds, and has one:
 * answered before the body is read (MHD then drops the body and closes
 * the connection), so nobody waits for, or stores, a body nobody reads. */
static bool
refused_before_body (arca_http_request_t *req)
{
  return (req->uri_nul || req->version_bad || req->route == NULL || req->body_too_large) && body_announced (req);
}

void
arca_http_rearm_idle_timeout (arca_http_request_t *req)
{
  MHD_set_connection_option (req->conn, MHD_CONNECTION_OPTION_TIMEOUT, req->srv->idle_timeout_s);
}

/* Take a piece of the body as the route declared (http.h ARCA_ROUTE_BODY_*).
 * Returns false when the connection must be closed (a chunked body over
 * the route's limit). */
static bool
request_consume (arca_http_request_t *req, const char *data, size_t len)
{
  req->body_len += len;
  if (req->route == NULL || req->version_bad || req->uri_nul || req->body_failed || req->body_too_large)
    return true; /* answered with an error; the body is drained and dropped */
  if (req->route->flags & ARCA_ROUTE_BODY_JSON)
    {
      if (req->body.len + len > ARCA_HTTP_JSON_BODY_MAX)
        {
          log_warn ("http: %s %s: request body over %zu bytes; closing the connection", req->method, req->path,
                    ARCA_HTTP_JSON_BODY_MAX);
          req->body_too_large = true;
          buf_free (&req->body);
          req->body = (arca_buf_t) { 0 };
          return false;
        }
      buf_append (&req->body, data, len);
      return true;
    }
  if (!(req->route->flags & ARCA_ROUTE_BODY_FILE))
    return true; /* the route takes no body: read and dropped */
  if (req->body_fd < 0)
    {
      char *path = xasprintf ("%s/body-XXXXXX", req->srv->tmp_dir);
      req->body_fd = mkostemp (path, O_CLOEXEC);
      if (req->body_fd < 0)
        {
          log_error ("spooling request body: mkostemp %s: %s", path, strerror (errno));
          free (path);
          req->body_failed = true;
          return true;
        }
      req->body_path = path;
    }
  while (len > 0)
    {
      ssize_t n = write (req->body_fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          log_error ("spooling request body to %s: %s", req->body_path, strerror (errno));
          req->body_failed = true;
          return true;
        }
      data += n;
      len -= (size_t) n;
    }
  return true;
}

static void
dispatch (arca_http_request_t *req)
{
  arca_error_t err = { 0 };
  if (req->uri_nul)
    {
      arca_error_set (&err, ARCA_ERR_INVALID, "invalid request: the URL holds an encoded NUL byte (%%00)");
      arca_resp_error (req, &err);
      return;
    }
  if (req->version_bad)
    {
      if (req->version_plain)
        {
          /* moby: http.Error for old clients (text/plain, trailing \n) */
          _cleanup_free_ char *body = xasprintf ("%s\n", req->version_msg);
          arca_resp_header (req, "X-Content-Type-Options", "nosniff");
          arca_resp_data (req, 400, "text/plain; charset=utf-8", body, strlen (body));
        }
      else
        {
          arca_error_set (&err, ARCA_ERR_INVALID, "%s", req->version_msg);
          arca_resp_error (req, &err);
        }
      return;
    }
  if (req->route == NULL)
    {
      arca_error_set (&err, ARCA_ERR_NOT_FOUND, "page not found");
      arca_resp_error (req, &err);
      return;
    }
  if (req->body_too_large)
    {
      arca_error_set (&err, ARCA_ERR_TOO_LARGE, "request body too large: the limit for %s %s is %zu bytes",
                      req->method, req->route->pattern, ARCA_HTTP_JSON_BODY_MAX);
      arca_resp_error (req, &err);
      return;
    }
  if (req->body_failed)
    {
      arca_error_set (&err, ARCA_ERR_INTERNAL, "failed to store the request body");
      arca_resp_error (req, &err);
      return;
    }
  if (req->body_fd >= 0)
    {
      close (req->body_fd);
      req->body_fd = -1;
    }
  if (req->body.data == NULL)
    buf_append (&req->body, "", 0);
  /* keep the in-memory body NUL-terminated for handlers */
  buf_append (&req->body, "", 1);
  req->body.len--;

  int rc = req->route->handler (req, req->srv->app, &err);
  if (req->responded)
    return;
  if (rc < 0)
    {
      if (err.msg[0] == '\0')
        arca_error_set (&err, err.kind ? err.kind : ARCA_ERR_INTERNAL, "internal error");
      arca_resp_error (req, &err);
      return;
    }
  log_error ("%s %s: handler returned without a response", req->method, req->path);
  arca_error_set (&err, ARCA_ERR_INTERNAL, "handler produced no response");
  arca_resp_error (req, &err);
}

/* ---- MHD callbacks ------------------------------------------------------ */

static void *
uri_log_cb (void *cls, const char *uri, struct MHD_Connection *conn)
{
  return request_new (cls, uri);
}

static enum MHD_Result
access_cb (void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
           const char *upload_data, size_t *upload_data_size, void **con_cls)
{
  arca_http_server_t *srv = cls;
  arca_http_request_t *req = *con_cls;
  if (req == NULL)
    *con_cls = req = request_new (srv, url);
  if (!req->started)
    {
      req->started = true;
      request_begin (req, conn, url, method);
      if (refused_before_body (req))
        {
          req->dispatched = true;
          dispatch (req);
        }
      return MHD_YES;
    }
  if (*upload_data_size > 0)
    {
      bool keep = request_consume (req, upload_data, *upload_data_size);
      *upload_data_size = 0;
      return keep ? MHD_YES : MHD_NO;
    }
  if (req->dispatched)
    return MHD_YES;
  req->dispatched = true;
  dispatch (req);
  return req->responded ? MHD_YES : MHD_NO;
}

/* Give freed memory back to the kernel after big requests.  glibc keeps
 * what a connection thread freed in that thread's arena: after a 25 MB
 * create body (a million Env entries) and the container's removal the
 * daemon stayed at 540 MB RSS for good, though nothing leaked (malloc_trim
 * brought it to 30 MB).  Checked at most once a second, at the end of a
 * request: mallinfo2 walks every arena's free lists. */
#define TRIM_FREE_BYTES ((size_t) 32 << 20)

static void
maybe_trim (void)
{
  static _Atomic int64_t last_ns;
  int64_t now = time_mono_ns (), prev = atomic_load (&last_ns);
  if (now - prev < 1000000000 || !atomic_compare_exchange_strong (&last_ns, &prev, now))
    return;
  struct mallinfo2 mi = mallinfo2 ();
  if (mi.fordblks > TRIM_FREE_BYTES)
    malloc_trim (0);
}

static void
completed_cb (void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
  arca_http_request_t *req = *con_cls;
  if (req == NULL)
    return;
  *con_cls = NULL;
  if (req->method && arca_log_get_level () <= ARCA_LOG_DEBUG)
    {
      int64_t us = (time_mono_ns () - req->start_ns) / 1000;
      log_debug ("http: %s %s -> %d (%lld.%03lld ms%s)", req->method, req->raw_uri, req->status,
                 (long long) (us / 1000), (long long) (us % 1000),
                 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : ", connection ended early");
    }
  arca_hijack_abandon (req);
  arca_req_unref (req);
  maybe_trim ();
  arca_malloc_note_activity ();
}

static void
mhd_logger (void *cls, const char *fmt, va_list ap)
{
  /* MHD reports every client that hangs up mid-response; debug only. */
  if (arca_log_get_level () > ARCA_LOG_DEBUG)
    return;
  char msg[1024];
  vsnprintf (msg, sizeof msg, fmt, ap);
  size_t n = strlen (msg);
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
    msg[--n] = '\0';
  log_debug ("microhttpd: %s", msg);
}

/* ---- server ------------------------------------------------------------- */

int
arca_http_server_start (int listen_fd, const arca_route_t *routes, void *app, const char *tmp_dir,
                        const arca_http_limits_t *limits, const arca_http_tls_t *tls, arca_http_server_t **out,
                        arca_error_t *err)
{
  arca_http_server_t *srv = xmalloc0 (sizeof *srv);
  srv->routes = routes;
  srv->app = app;
  srv->tmp_dir = xstrdup (tmp_dir ? tmp_dir : "/tmp");
  srv->idle_timeout_s = limits && limits->idle_timeout_s ? limits->idle_timeout_s : ARCA_HTTP_IDLE_TIMEOUT_DEFAULT;
  unsigned max_conn
      = limits && limits->max_connections ? limits->max_connections : ARCA_HTTP_MAX_CONNECTIONS_DEFAULT;
  srv->max_connections = max_conn;
  pthread_mutex_init (&srv->lock, NULL);
  pthread_cond_init (&srv->cond, NULL);
  /* TLS (http/tls.c): a thread of ours accepts and terminates TLS, and
   * gives MHD the plaintext end of a socketpair; MHD listens on nothing */
  if (tls && arca_http_tls_setup (srv, tls, listen_fd, err) < 0)
    {
      arca_http_tls_free (srv);
      pthread_mutex_destroy (&srv->lock);
      pthread_cond_destroy (&srv->cond);
      free (srv->tmp_dir);
      free (srv);
      return -1;
    }

  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_UPGRADE
                   | MHD_USE_POLL | MHD_USE_ERROR_LOG | (tls ? MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC : 0);
  /* the one way to leave an option out of MHD's varargs */
  struct MHD_OptionItem listen_opt[] = {
    { tls ? MHD_OPTION_END : MHD_OPTION_LISTEN_SOCKET, listen_fd, NULL },
    { MHD_OPTION_END, 0, NULL },
  };
  srv->daemon = MHD_start_daemon (flags, 0, NULL, NULL, access_cb, srv,
                                  /* must come first so start-up errors are logged through it */
                                  MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, srv,
                                  MHD_OPTION_ARRAY, listen_opt,
                                  /* headers and idling; lifted per request (request_begin) */
                                  MHD_OPTION_CONNECTION_TIMEOUT, srv->idle_timeout_s,
                                  /* a thread each: the bound on threads too */
                                  MHD_OPTION_CONNECTION_LIMIT, max_conn,
                                  /* X-Registry-Auth and big filters need room */
                                  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) (256 * 1024),
                                  MHD_OPTION_URI_LOG_CALLBACK, uri_log_cb, srv,
                                  MHD_OPTION_NOTIFY_COMPLETED, completed_cb, srv,
                                  MHD_OPTION_END);
  if (srv->daemon == NULL || (tls && arca_http_tls_start (srv, err) < 0))
    {
      bool started = srv->daemon != NULL;
      if (started)
        MHD_stop_daemon (srv->daemon);
      arca_http_tls_free (srv);
      pthread_mutex_destroy (&srv->lock);
      pthread_cond_destroy (&srv->cond);
      free (srv->tmp_dir);
      free (srv);
      if (started)
        return -1; /* the TLS thread's error is set */
      return arca_error_set (err, ARCA_ERR_INTERNAL, "failed to start the HTTP server (libmicrohttpd)");
    }
  *out = srv;
  return 0;
}

void
arca_http_live_add (arca_http_server_t *srv, arca_live_t *l)
{
  pthread_mutex_lock (&srv->lock);
  l->next = srv->live;
  srv->live = l;
  if (l->stream)
    srv->producers++;
  else
    srv->hijacks++;
  /* Registered after stop walked the list (a 101 reaches the client before
   * the upgrade callback runs): end it right away. */
  if (atomic_load (&srv->stopping))
    {
      if (l->fd >= 0)
        shutdown (l->fd, SHUT_RDWR);
      if (l->stream)
        arca_stream_cancel (l->stream);
    }
  pthread_mutex_unlock (&srv->lock);
}

void
arca_http_live_set_fd (arca_http_server_t *srv, arca_live_t *l, int fd)
{
  pthread_mutex_lock (&srv->lock);
  l->fd = fd;
  if (atomic_load (&srv->stopping))
    shutdown (fd, SHUT_RDWR);
  pthread_mutex_unlock (&srv->lock);
}

void
arca_http_live_remove (arca_http_server_t *srv, arca_live_t *l)
{
  pthread_mutex_lock (&srv->lock);
  for (arca_live_t **it = &srv->live; *it; it = &(*it)->next)
    if (*it == l)
      {
        *it = l->next;
        break;
      }
  if (l->stream)
    srv->producers--;
  else
    srv->hijacks--;
  pthread_cond_broadcast (&srv->cond);
  pthread_mutex_unlock (&srv->lock);
}

/* Wait until no hijack (and, with streams, no producer) is left or the
 * deadline passes; srv->lock held. */
static void
wait_zero (arca_http_server_t *srv, bool streams, int seconds)
{
  struct timespec deadline;
  clock_gettime (CLOCK_REALTIME, &deadline);
  deadline.tv_sec += seconds;
  while (srv->hijacks > 0 || (streams && srv->producers > 0))
    if (pthread_cond_timedwait (&srv->cond, &srv->lock, &deadline) == ETIMEDOUT)
      break;
}

void
arca_http_server_stop (arca_http_server_t *srv)
{
  if (srv == NULL)
    return;
  atomic_store (&srv->stopping, true);
  arca_http_tls_stop_accepting (srv);

  /* End hijacked sessions and streams first: an upgraded connection still
   * open would hold MHD_stop_daemon up. */
  pthread_mutex_lock (&srv->lock);
  for (arca_live_t *l = srv->live; l; l = l->next)
    {
      if (l->fd >= 0)
        shutdown (l->fd, SHUT_RDWR);
      if (l->stream)
        arca_stream_cancel (l->stream);
    }
  wait_zero (srv, false, 5);
  if (srv->hijacks > 0)
    log_warn ("http: %d hijacked connection(s) still busy at shutdown", srv->hijacks);
  pthread_mutex_unlock (&srv->lock);

  MHD_stop_daemon (srv->daemon);

  pthread_mutex_lock (&srv->lock);
  wait_zero (srv, true, 5);
  int left = srv->producers + srv->hijacks;
  pthread_mutex_unlock (&srv->lock);
  /* TLS relays end once MHD has closed their socketpair ends */
  if (!arca_http_tls_wait_relays (srv, 5))
    left++;
  if (left > 0)
    {
      /* Threads still reference srv: leak it rather than free under them. */
      log_warn ("http: %d stream/hijack session(s) did not finish at shutdown", left);
      return;
    }
  pthread_mutex_destroy (&srv->lock);
  pthread_cond_destroy (&srv->cond);
  arca_http_tls_free (srv);
  free (srv->tmp_dir);
  free (srv);
}

/* ---- accessors ---------------------------------------------------------- */

const char *
arca_req_method (arca_http_request_t *req)
{
  return req->method;
}

const char *
arca_req_path (arca_http_request_t *req)
{
  return req->path;
}

int
arca_req_api_version (arca_http_request_t *req)
{
  return req->api_version;
}

const char *
arca_req_param (arca_http_request_t *req, const char *name)
{
  for (int i = 0; i < req->nparams; i++)
    if (strcmp (req->params[i].name, name) == 0)
      return req->params[i].value;
  return NULL;
}

const char *
arca_req_query (arca_http_request_t *req, const char *key)
{
  return arca_query_get (req->query, key);
}

bool
arca_req_query_bool (arca_http_request_t *req, const char *key, bool def)
{
  const char *v = arca_query_get (req->query, key);
  return v == NULL ? def : arca_parse_bool (v);
}

const char *
arca_req_header (arca_http_request_t *req, const char *name)
{
  for (arca_hdr_t *h = req->headers; h; h = h->next)
    if (strcasecmp (h->name, name) == 0)
      return h->value;
  return NULL;
}

/* A handler reading a body its route does not declare would silently see
 * none: say so loudly instead. */
static bool
route_takes_json (arca_http_request_t *req)
{
  if (req->route && (req->route->flags & ARCA_ROUTE_BODY_JSON))
    return true;
  log_error ("http: %s %s reads a request body but its route does not declare ARCA_ROUTE_BODY_JSON", req->method,
             req->route ? req->route->pattern : req->path);
  return false;
}

const char *
arca_req_body (arca_http_request_t *req, size_t *len)
{
  bool ok = route_takes_json (req);
  if (len)
    *len = ok ? req->body.len : 0;
  return ok && req->body.len > 0 ? req->body.data : NULL;
}

const char *
arca_req_body_file (arca_http_request_t *req)
{
  /* No body at all: an empty file, as dockerd reads an empty stream
   * (`docker import` of an empty tarball makes an image with one empty
   * layer). */
  if (req->body_path == NULL && !req->body_failed && req->body_fd < 0 && req->route
      && (req->route->flags & ARCA_ROUTE_BODY_FILE))
    {
      char *path = xasprintf ("%s/body-XXXXXX", req->srv->tmp_dir);
      req->body_fd = mkostemp (path, O_CLOEXEC);
      if (req->body_fd < 0)
        {
          log_error ("spooling request body: mkostemp %s: %s", path, strerror (errno));
          free (path);
          return NULL;
        }
      req->body_path = path;
    }
  return req->body_path;
}

/* moby httputils.matchesContentType: media type compare, parameters ok. */
static int
check_json_content_type (const char *ct, arca_error_t *err)
{
  const char *p = ct;
  while (*p == ' ' || *p == '\t')
    p++;
  size_t n = strcspn (p, ";");
  while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
    n--;
  if (n == 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "malformed Content-Type header (%s): mime: no media type", ct);
  if (n == strlen ("application/json") && strncasecmp (p, "application/json", n) == 0)
    return 0;
  return arca_error_set (err, ARCA_ERR_INVALID, "unsupported Content-Type header (%s): must be 'application/json'",
                         ct);
}

int
arca_req_json (arca_http_request_t *req, json_t **out, arca_error_t *err)
{
  *out = NULL;
  if (!route_takes_json (req))
    return arca_error_set (err, ARCA_ERR_INTERNAL, "internal error: %s %s takes no request body", req->method,
                           req->route ? req->route->pattern : req->path);
  const char *ct = arca_req_header (req, "Content-Type");
  size_t len = req->body.len;
  /* moby CheckForJSON: no Content-Type is fine only without a body */
  if ((ct == NULL || ct[0] == '\0') && len == 0)
    return 0;
  if (check_json_content_type (ct ? ct : "", err) < 0)
    return -1;
  if (len == 0)
    return 0;
  json_error_t jerr;
  json_t *j = json_loadb (req->body.data, len, JSON_DECODE_ANY, &jerr);
  if (j == NULL)
    {
      bool only_space = true;
      for (size_t i = 0; i < len; i++)
        if (!strchr (" \t\r\n", req->body.data[i]))
          only_space = false;
      if (only_space)
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid JSON: got EOF while reading request body");
      return arca_error_set (err, ARCA_ERR_INVALID, "invalid JSON: %s", jerr.text);
    }
  if (json_is_null (j))
    {
      json_decref (j);
      return 0;
    }
  if (!json_is_object (j))
    {
      const char *what = json_is_array (j) ? "array" : json_is_string (j) ? "string" : "value";
      json_decref (j);
      return arca_error_set (err, ARCA_ERR_INVALID, "invalid JSON: json: cannot unmarshal %s into a request object",
                             what);
    }
  *out = j;
  return 0;
}
