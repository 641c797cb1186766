/* /containers/... handlers: parse the request, call the engine, shape the
 * response (API spec "Container" tag). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "engine/links.h"
#include "engine/container.h"
#include "util/cleanup.h"
#include "util/filters.h"
#include "util/json.h"
#include "util/strutil.h"
#include "util/timeutil.h"

static int
lookup (arca_http_request_t *req, void *app, arca_container_t **c, arca_error_t *err)
{
  return container_lookup (app, arca_req_param (req, "id"), c, err);
}

static int
query_int (arca_http_request_t *req, const char *key, long def, long *out, arca_error_t *err)
{
  const char *v = arca_req_query (req, key);
  if (v == NULL || *v == '\0')
    {
      *out = def;
      return 0;
    }
  char *end;
  long n = strtol (v, &end, 10);
  if (*end)
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid value for %s: %s", key, v);
  *out = n;
  return 0;
}

static int
h_create (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_json_ json_t *body = NULL;
  if (arca_req_json (req, &body, err) < 0)
    return -1;
  if (body == NULL)
    return arca_error_set (err, ARCA_ERR_INVALID, "config cannot be empty in order to create a container");
  /* Healthcheck.StartInterval came with API 1.44 (moby postContainersCreate). */
  if (arca_req_api_version (req) < 144 && json_is_object (json_object_get (body, "Healthcheck")))
    json_object_del (json_object_get (body, "Healthcheck"), "StartInterval");
  _cleanup_free_ char *id = NULL;
  json_t *warnings = NULL;
  arca_create_opts_t co = { .name = arca_req_query (req, "name"),
                            .platform = arca_req_query (req, "platform"),
                            .api_version = arca_req_api_version (req) };
  if (container_create_with (app, &co, body, &id, &warnings, err) < 0)
    return -1;
  return arca_resp_json (req, 201, json_pack ("{s:s,s:o}", "Id", id, "Warnings", warnings));
}

static int
h_list (arca_http_request_t *req, void *app, arca_error_t *err)
{
  long limit;
  if (query_int (req, "limit", -1, &limit, err) < 0)
    return -1;
  _cleanup_json_ json_t *filters = NULL;
  if (filters_parse (arca_req_query (req, "filters"), &filters, err) < 0)
    return -1;
  arca_buf_t out = { 0 };
  if (container_list_write (app, arca_req_query_bool (req, "all", false), limit, filters, &out, err) < 0)
    {
      buf_free (&out);
      return -1;
    }
  return arca_resp_json_text (req, 200, out.data, out.len);
}

/* API < 1.45: the short container ID is listed in Aliases of every
 * user-defined network (moby api/server/router/container/inspect.go;
 * deprecated in Docker 25, clients should read DNSNames). */
static void
short_id_aliases (json_t *out)
{
  const char *id = json_string_value (json_object_get (out, "Id"));
  json_t *nets = json_object_get (json_object_get (out, "NetworkSettings"), "Networks");
  if (id == NULL || !json_is_object (nets))
    return;
  char short_id[13];
  snprintf (short_id, sizeof short_id, "%.12s", id);
  const char *name;
  json_t *ep;
  json_object_foreach (nets, name, ep)
  {
    if (strcmp (name, "bridge") == 0 || strcmp (name, "host") == 0 || strcmp (name, "none") == 0
        || strncmp (name, "container:", 10) == 0 || !json_is_object (ep))
      continue;
    json_t *aliases = json_object_get (ep, "Aliases");
    if (!json_is_array (aliases))
      json_object_set_new (ep, "Aliases", aliases = json_array ());
    bool have = false;
    size_t i;
    json_t *a;
    json_array_foreach (aliases, i, a)
      have = have || (json_is_string (a) && strcmp (json_string_value (a), short_id) == 0);
    if (!have)
      json_array_append_new (aliases, json_string (short_id));
  }
}

static int
h_inspect (arca_http_request_t *req, void *app, arca_error_t *err)
{
  arca_container_t *c;
  if (lookup (req, app, &c, err) < 0)
    return -1;
  json_t *out = NULL;
  int r = container_inspect_json (app, c, arca_req_query_bool (req, "size", false), &out, err);
  container_unref (c);
  if (r < 0)
    return -1;
  if (arca_req_api_version (req) < 145)
    short_id_aliases (out);
  return arca_resp_json (req, 200, out);
}

static int
h_start (arca_http_request_t *req, void *app, arca_error_t *err)
{
  arca_container_t *c;
  if (lookup (req, app, &c, err) < 0)
    return -1;
  int r = container_start (app, c, err);
  container_unref (c);
  if (r < 0)
    return -1;
  return arca_resp_status (req, 204);
}

static int
h_stop_or_restart (arca_http_request_t *req, void *app, arca_error_t *err, bool restart)
{
  long t;
  if (query_int (req, "t", -1, &t, err) < 0)
    return -1;
  arca_container_t *c;
  if (lookup (req, app, &c, err) < 0)
    return -1;
  const char *sig = arca_req_query (req, "signal");
  int r = restart ? container_restart (app, c, (int) t, sig, err) : container_stop (app, c, (int) t, sig, err);
  container_unref (c);
  if (r < 0)
    return -1;
  return arca_resp_status (req, 204);
}

static int h_stop (arca_http_request_t *req, void *app, arca_error_t *err) { return h_stop_or_restart (req, app, err, false); }
static int h_restart (arca_http_request_t *req, void *app, arca_error_t *err) { return h_stop_or_restart (req, app, err, true); }

static int
h_kill (arca_http_request_t *req, void *app, arca_error_t *err)
{
  arca_container_t *c;
  if (lookup (req, app, &c, err) < 0)
    return -1;
  int r = container_kill (app, c, arca_req_query (req, "signal"), err);
  container_unref (c);
  if (r < 0)
    return -1;
  return arca_resp_status (req, 204);
}

static int
h_remove (arca_http_request_t *req, void *app, arca_error_t *err)
{
  /* ?link=1: remove the legacy link "parent/alias" (moby rmLink) */
  if (arca_req_query_bool (req, "link", false))
    {
      if (links_remove (app, arca_req_param (req, "id"), err) < 0)
        return -1;
      return arca_resp_status (req, 204);
    }
  arca_container_t *c;
  if (lookup (req, app, &c, err) < 0)
    return -1;
  int r = container_remove (app, c, arca_req_query_bool (req, "force", false), arca_req_query_bool (req, "v", false),
                            err);
  container_unref (c);
  if (r < 0)
    return -1;
  return arca_resp_status (req, 204);
}

static int
h_resize (arca_http_request_t *req, void *app, arca_error_t *err)
{
  long h, w;
  if (query_int (req, "h", 0, &h, err) < 0 || query_int (req, "w", 0, &w, err) < 0)
    return -1;
  arca_container_t *c;
  if (lookup (req, app, &c, err) < 0)
    return -1;
  int r = container_resize (app, c, (unsigned) h, (unsigned) w, err);
  container_unref (c);
  if (r < 0)
    return -1;
  return arca_resp_status (req, 200);
}

/* ---- wait ---- */

typedef struct
{
  arca_engine_t *e;
  arca_container_t *c;
  arca_wait_condition_t cond;
} wait_ctx_t;

static void
wait_free (void *p)
{
  wait_ctx_t *w = p;
  container_unref (w->c);
  free (w);
}

static void
wait_stream (arca_stream_t *s, void *ctx)
{
  wait_ctx_t *w = ctx;
  int code = 0;
  arca_error_t err;
  if (container_wait (w->e, w->c, w->cond, arca_stream_cancel_fd (s), &code, &err) < 0)
    {
      if (err.kind == ARCA_ERR_UNAVAILABLE && strcmp (err.msg, "client went away") == 0)
        return;
      _cleanup_json_ json_t *j = json_pack ("{s:i,s:{s:s}}", "StatusCode", -1, "Error", "Message", err.msg);
      _cleanup_free_ char *text = json_dump_compact (j);
      arca_stream_write (s, text, strlen (text));
      arca_stream_write (s, "\n", 1);
      return;
    }
  char buf[64];
  int n = snprintf (buf, sizeof buf, "{\"StatusCode\":%d}\n", code);
  arca_stream_write (s, buf, n);
}

static int
h_wait (arca_http_request_t *req, void *app, arca_error_t *err)
{
  const char *cond = arca_req_query (req, "condition");
  arca_wait_condition_t wc = WAIT_NOT_RUNNING;
  if (cond && *cond)
    {
      if (strcmp (cond, "not-running") == 0)
        wc = WAIT_NOT_RUNNING;
      else if (strcmp (cond, "next-exit") == 0)
        wc = WAIT_NEXT_EXIT;
      else if (strcmp (cond, "removed") == 0)
        wc = WAIT_REMOVED;
      else
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid condition: \"%s\"", cond);
    }
  arca_container_t *c;
  if (lookup (req, app, &c, err) < 0)
    return -1;
  wait_ctx_t *w = xmalloc0 (sizeof *w);
  w->e = app;
  w->c = c;
  w->cond = wc;
  return arca_resp_stream (req, 200, "application/json", wait_stream, w, wait_free);
}

/* ---- logs ---- */

typedef struct
{
  arca_engine_t *e;
  arca_container_t *c;
  arca_logs_opts_t opts;
  arca_stream_t *s;
} logs_ctx_t;

static void
logs_free (void *p)
{
  logs_ctx_t *l = p;
  container_unref (l->c);
  free (l);
}

static int
logs_write (void *ctx, const void *data, size_t len)
{
  logs_ctx_t *l = ctx;
  return arca_stream_write (l->s, data, len);
}

static void
logs_stream (arca_stream_t *s, void *ctx)
{
  logs_ctx_t *l = ctx;
  l->s = s;
  arca_error_t err;
  container_logs (l->e, l->c, &l->opts, logs_write, l, arca_stream_cancel_fd (s), &err);
}

static int
parse_time_arg (arca_http_request_t *req, const char *key, int64_t *out, arca_error_t *err)
{
  const char *v = arca_req_query (req, key);
  *out = 0;
  if (v == NULL || *v == '\0' || strcmp (v, "0") == 0)
    return 0;
  if (time_parse_timestamp (v, out) < 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid value for %s: %s", key, v);
  return 0;
}

static int
h_logs (arca_http_request_t *req, void *app, arca_error_t *err)
{
  logs_ctx_t l = { .e = app };
  l.opts.stdout_ = arca_req_query_bool (req, "stdout", false);
  l.opts.stderr_ = arca_req_query_bool (req, "stderr", false);
  if (!l.opts.stdout_ && !l.opts.stderr_)
    return arca_error_set (err, ARCA_ERR_INVALID, "Bad parameters: you must choose at least one stream");
  l.opts.follow = arca_req_query_bool (req, "follow", false);
  l.opts.timestamps = arca_req_query_bool (req, "timestamps", false);
  l.opts.tail = -1;
  const char *tail = arca_req_query (req, "tail");
  if (tail && *tail && strcmp (tail, "all") != 0)
    {
      char *end;
      long n = strtol (tail, &end, 10);
      if (*end == '\0' && n >= 0)
        l.opts.tail = n;
    }
  if (parse_time_arg (req, "since", &l.opts.since_ns, err) < 0 || parse_time_arg (req, "until", &l.opts.until_ns, err) < 0)
    return -1;
  if (lookup (req, app, &l.c, err) < 0)
    return -1;
  if (container_logs_check (app, l.c, err) < 0)
    {
      container_unref (l.c);
      return -1;
    }
  logs_ctx_t *heap = xmalloc0 (sizeof *heap);
  *heap = l;
  const char *ct = container_tty (l.c) ? "application/vnd.docker.raw-stream"
                                       : "application/vnd.docker.multiplexed-stream";
  return arca_resp_stream (req, 200, ct, logs_stream, heap, logs_free);
}

/* ---- attach ---- */

typedef struct
{
  arca_engine_t *e;
  arca_container_t *c;
  arca_attach_opts_t opts;
  char *detach_keys;
} attach_ctx_t;

static void
attach_free (void *p)
{
  attach_ctx_t *a = p;
  container_unref (a->c);
  free (a->detach_keys);
  free (a);
}

static void
attach_run (int fd, const char *extra, size_t extra_len, void *ctx)
{
  attach_ctx_t *a = ctx;
  container_attach (a->e, a->c, fd, extra, extra_len, &a->opts);
}

/* dockerd's term.ToBytes check for detachKeys: comma-separated "ctrl-X"
 * (X in a-z, @, [, \, ], ^, _) or single characters. */
static bool
detach_keys_valid (const char *s)
{
  _cleanup_free_ char *copy = xstrdup (s);
  char *save = NULL;
  for (char *tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
    {
      if (strncmp (tok, "ctrl-", 5) == 0)
        {
          const char *k = tok + 5;
          if (strlen (k) != 1)
            return false;
          if (!((*k >= 'a' && *k <= 'z') || strchr ("@[\\]^_", *k)))
            return false;
        }
      else if (strlen (tok) != 1)
        return false;
    }
  return true;
}

static int
h_attach (arca_http_request_t *req, void *app, arca_error_t *err)
{
  const char *keys = arca_req_query (req, "detachKeys");
  if (keys && *keys && !detach_keys_valid (keys))
    return arca_error_set (err, ARCA_ERR_INVALID, "Invalid detach keys (%s) provided", keys);
  arca_container_t *c;
  if (lookup (req, app, &c, err) < 0)
    return -1;
  if (container_attach_check (c, err) < 0)
    {
      container_unref (c);
      return -1;
    }
  /* moby postContainersAttach: logs and stream default to false. */
  bool logs = arca_req_query_bool (req, "logs", false);
  if (logs && container_logs_check (app, c, err) < 0)
    {
      container_unref (c);
      return -1;
    }
  attach_ctx_t *a = xmalloc0 (sizeof *a);
  a->e = app;
  a->c = c;
  a->opts.logs = logs;
  a->opts.stream = arca_req_query_bool (req, "stream", false);
  a->opts.in = arca_req_query_bool (req, "stdin", false);
  a->opts.out = arca_req_query_bool (req, "stdout", false);
  a->opts.err = arca_req_query_bool (req, "stderr", false);
  a->detach_keys = xstrdup (keys && *keys ? keys : NULL);
  a->opts.detach_keys = a->detach_keys;
  const char *ct = container_tty (c) ? "application/vnd.docker.raw-stream"
                                     : "application/vnd.docker.multiplexed-stream";
  container_attach_announce (app, c, &a->opts);
  return arca_resp_hijack (req, ct, attach_run, a, attach_free);
}

const arca_route_t arca_container_routes[] = {
  { "POST", "/containers/create", h_create, ARCA_ROUTE_BODY_JSON },
  { "GET", "/containers/json", h_list, 0 },
  { "GET", "/containers/{id}/json", h_inspect, 0 },
  { "POST", "/containers/{id}/start", h_start, 0 },
  { "POST", "/containers/{id}/stop", h_stop, 0 },
  { "POST", "/containers/{id}/restart", h_restart, 0 },
  { "POST", "/containers/{id}/kill", h_kill, 0 },
  { "POST", "/containers/{id}/wait", h_wait, 0 },
  { "DELETE", "/containers/{id}", h_remove, 0 },
  { "GET", "/containers/{id}/logs", h_logs, 0 },
  { "POST", "/containers/{id}/attach", h_attach, 0 },
  { "POST", "/containers/{id}/resize", h_resize, 0 },
  { NULL, NULL, NULL, 0 },
};
