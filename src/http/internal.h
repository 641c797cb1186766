/* Internals of the HTTP layer shared by its files, plus the pure helpers
 * (version prefix, boolean parsing, query parsing, route matching) that the
 * unit tests call directly. */
#ifndef ARCA_HTTP_INTERNAL_H
#define ARCA_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "http/http.h"
#include "util/strutil.h"

#ifndef ARCA_VERSION
#define ARCA_VERSION "0.0.0"
#endif

#define ARCA_API_VERSION "1.51"
#define ARCA_API_VERSION_NUM 151
#define ARCA_MIN_API_VERSION "1.24"
#define ARCA_SERVER_HEADER "Arca/" ARCA_VERSION " (linux)"

#define ARCA_ROUTE_MAX_PARAMS 8

/* ---- pure helpers (http/util.c) ---------------------------------------- */

/* moby api/types/versions compare: dotted numeric parts, missing parts are
 * 0, non-numeric parts count as 0.  Returns <0, 0, >0. */
int arca_version_compare (const char *a, const char *b);

/* Split a request path into its "/v<version>" prefix (moby's route
 * "/v{version:[0-9.]+}") and the rest.  Returns true when a prefix was
 * present: version (NUL-terminated, truncated to vlen) and *rest (points
 * into path, begins with '/').  Without a prefix *rest = path, version "". */
bool arca_api_version_split (const char *path, char *version, size_t vlen, const char **rest);

/* moby middleware/version.go: 0 when version (may be "" = default) is
 * within [1.24, 1.51]; else -1 with Docker's message in msg.  *plain is set
 * when the error body must be plain text (versions below 1.24, moby
 * makeHTTPHandler). */
int arca_api_version_check (const char *version, char *msg, size_t len, bool *plain);

/* "1.41" -> 141; "" -> ARCA_API_VERSION_NUM. */
int arca_api_version_num (const char *version);

/* moby httputils.BoolValue: trimmed, case-insensitive; "", "0", "no",
 * "false", "none" are false, anything else true. */
bool arca_parse_bool (const char *s);

/* Parse a raw query string as Go's url.ParseQuery: pairs split on '&',
 * '+' is a space, %XX decoded; a key without '=' has value "".  Returns a
 * NULL-terminated vector key0, value0, key1, value1, ...  (never NULL). */
char **arca_query_parse (const char *raw);
/* First value of key in a parsed query vector, or NULL if absent. */
const char *arca_query_get (char **query, const char *key);

typedef struct
{
  char name[32];
  char *value; /* malloc'd */
} arca_route_param_t;

/* Match path against pattern.  {x} matches one non-empty segment; with
 * span, a {x} may also cover several segments ("library/busybox"), like
 * moby's {name:.*}.  On match the parameters are stored (caller frees
 * values with arca_route_params_free).  */
bool arca_route_match (const char *pattern, const char *path, bool span, arca_route_param_t *params,
                       int *nparams);
void arca_route_params_free (arca_route_param_t *params, int n);

/* Find the route for method+path: first every route with one-segment
 * parameters, then (if none) with spanning parameters.  Returns NULL when
 * no route matches. */
const arca_route_t *arca_route_find (const arca_route_t *routes, const char *method, const char *path,
                                     arca_route_param_t *params, int *nparams);

/* ---- server internals -------------------------------------------------- */

typedef struct arca_hdr
{
  char *name, *value;
  struct arca_hdr *next;
} arca_hdr_t;

struct arca_http_server
{
  struct MHD_Daemon *daemon;
  const arca_route_t *routes;
  void *app;
  char *tmp_dir;
  unsigned idle_timeout_s;    /* arca_http_limits_t */
  atomic_bool stopping;
  unsigned max_connections;   /* arca_http_limits_t */
  /* a TLS listener's state (http/tls.c), NULL for plain HTTP */
  struct arca_http_tls *tls;

  /* live streams and hijacks, so that stop can end them */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int producers;        /* stream producer threads running */
  int hijacks;          /* hijack threads running */
  struct arca_live *live;
};

/* ---- TLS (http/tls.c) ---------------------------------------------------- */
typedef struct arca_http_tls arca_http_tls_state_t;
/* Load the credentials into srv->tls (created even on failure: free with
 * arca_http_tls_free, which also closes listen_fd). */
int arca_http_tls_setup (arca_http_server_t *srv, const arca_http_tls_t *tls, int listen_fd, arca_error_t *err);
/* Start accepting on the listener (srv->daemon must be running). */
int arca_http_tls_start (arca_http_server_t *srv, arca_error_t *err);
/* Stop: no new connections (joins the accept thread). */
void arca_http_tls_stop_accepting (arca_http_server_t *srv);
/* Wait up to seconds for the relay threads to end; false if some remain. */
bool arca_http_tls_wait_relays (arca_http_server_t *srv, int seconds);
void arca_http_tls_free (arca_http_server_t *srv);

/* An entry of srv->live: an fd to shut down, or a stream to cancel. */
typedef struct arca_live
{
  int fd;                   /* hijacked socket, -1 if none */
  arca_stream_t *stream;    /* stream, NULL if none */
  struct arca_live *next;
} arca_live_t;

struct arca_http_request
{
  arca_http_server_t *srv;
  struct MHD_Connection *conn;
  atomic_int refs;

  char *raw_uri;
  char *method;
  char *path;                 /* without the version prefix */
  char version[32];           /* "" when unversioned */
  int api_version;
  bool version_bad, version_plain;
  char version_msg[256];

  const arca_route_t *route;
  arca_route_param_t params[ARCA_ROUTE_MAX_PARAMS];
  int nparams;
  char **query;               /* k, v, k, v, NULL */
  arca_hdr_t *headers;        /* request headers, copied */
  arca_hdr_t *resp_headers;   /* extra headers for the response */

  bool uri_nul;               /* %00 in the URL: 400 */
  arca_buf_t body;
  int body_fd;
  char *body_path;
  bool body_failed;
  bool body_too_large;        /* over the route's limit: 413 */
  uint64_t body_len;
  bool long_response;         /* a stream or hijack: no idle timeout until it ends */

  void *hijack;               /* pending hijack, see hijack.c */
  bool started, dispatched, responded;
  int status;
  int64_t start_ns;
};

void arca_req_ref (arca_http_request_t *req);
void arca_req_unref (arca_http_request_t *req);

/* The connection's idle timeout from now on: its next request's headers
 * (or idling) are timed again.  Connection thread only. */
void arca_http_rearm_idle_timeout (arca_http_request_t *req);

/* Add the common middleware headers and the handler's extra headers, queue
 * the response, mark the request answered.  Destroys resp.  */
int arca_http_queue (arca_http_request_t *req, int status, struct MHD_Response *resp);
void arca_http_add_common_headers (arca_http_request_t *req, struct MHD_Response *resp);

void arca_http_live_add (arca_http_server_t *srv, arca_live_t *l);
/* A hijack's socket once the upgrade happened (shut down at once when the
 * server is stopping). */
void arca_http_live_set_fd (arca_http_server_t *srv, arca_live_t *l, int fd);
void arca_http_live_remove (arca_http_server_t *srv, arca_live_t *l);

/* Release a hijack whose 101 never went out (request completion). */
void arca_hijack_abandon (arca_http_request_t *req);

/* Cancel a stream (the client went away or the server stops). */
void arca_stream_cancel (arca_stream_t *s);

/* Hijack fallback for requests without "Upgrade: tcp" (dockerode's exec
 * start with hijack=false): a 200 stream whose producer gets one end of a
 * socketpair as the "connection", with its read side already at EOF. */
int arca_stream_start_socket (arca_http_request_t *req, int status, const char *content_type,
                              arca_hijack_fn fn, void *ctx, void (*ctx_free) (void *));

#endif
