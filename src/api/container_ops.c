/* Container operations: top, stats, pause/unpause, rename, update, prune
 * (spec "Container" tag: ContainerTop, ContainerStats, ContainerPause,
 * ContainerUnpause, ContainerRename, ContainerUpdate, ContainerPrune).
 * `docker port` has no endpoint: the CLI reads NetworkSettings.Ports. */
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "engine/container.h"
#include "util/cleanup.h"
#include "util/filters.h"
#include "util/json.h"
#include "util/strutil.h"

static int
lookup (arca_http_request_t *req, void *app, arca_container_t **c, arca_error_t *err)
{
  return container_lookup (app, arca_req_param (req, "id"), c, err);
}

static int
h_top (arca_http_request_t *req, void *app, arca_error_t *err)
{
  arca_container_t *c;
  if (lookup (req, app, &c, err) < 0)
    return -1;
  json_t *out = NULL;
  int r = container_top (app, c, arca_req_query (req, "ps_args"), &out, err);
  container_unref (c);
  if (r < 0)
    return -1;
  return arca_resp_json (req, 200, out);
}

/* ---- stats ---- */

typedef struct
{
  arca_engine_t *e;
  arca_container_t *c;
  arca_stats_opts_t opts;
  arca_stream_t *s;
} stats_ctx_t;

static void
stats_free (void *p)
{
  stats_ctx_t *st = p;
  container_unref (st->c);
  free (st);
}

static int
stats_write (void *ctx, const void *data, size_t len)
{
  stats_ctx_t *st = ctx;
  return arca_stream_write (st->s, data, len);
}

static void
stats_stream (arca_stream_t *s, void *ctx)
{
  stats_ctx_t *st = ctx;
  st->s = s;
  arca_error_t err;
  container_stats (st->e, st->c, &st->opts, stats_write, st, arca_stream_cancel_fd (s), &err);
}

static int
h_stats (arca_http_request_t *req, void *app, arca_error_t *err)
{
  arca_stats_opts_t opts = {
    .stream = arca_req_query_bool (req, "stream", true),
    .one_shot = arca_req_query_bool (req, "one-shot", false),
  };
  if (opts.stream && opts.one_shot)
    return arca_error_set (err, ARCA_ERR_INVALID, "cannot have stream=true and one-shot=true");
  arca_container_t *c;
  if (lookup (req, app, &c, err) < 0)
    return -1;
  stats_ctx_t *st = xmalloc0 (sizeof *st);
  st->e = app;
  st->c = c;
  st->opts = opts;
  return arca_resp_stream (req, 200, "application/json", stats_stream, st, stats_free);
}

/* ---- pause, unpause, rename ---- */

static int
h_pause_or_unpause (arca_http_request_t *req, void *app, arca_error_t *err, bool pause)
{
  arca_container_t *c;
  if (lookup (req, app, &c, err) < 0)
    return -1;
  int r = pause ? container_pause (app, c, err) : container_unpause (app, c, err);
  container_unref (c);
  if (r < 0)
    return -1;
  return arca_resp_status (req, 204);
}

static int h_pause (arca_http_request_t *req, void *app, arca_error_t *err) { return h_pause_or_unpause (req, app, err, true); }
static int h_unpause (arca_http_request_t *req, void *app, arca_error_t *err) { return h_pause_or_unpause (req, app, err, false); }

static int
h_rename (arca_http_request_t *req, void *app, arca_error_t *err)
{
  const char *name = arca_req_query (req, "name");
  if (name == NULL || *name == '\0')
    return arca_error_set (err, ARCA_ERR_INVALID, "Neither old nor new names may be empty");
  arca_container_t *c;
  if (lookup (req, app, &c, err) < 0)
    return -1;
  int r = container_rename (app, c, name, err);
  container_unref (c);
  if (r < 0)
    return -1;
  return arca_resp_status (req, 204);
}

/* ---- update ---- */

static int
h_update (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_json_ json_t *body = NULL;
  if (arca_req_json (req, &body, err) < 0)
    return -1;
  arca_container_t *c;
  if (lookup (req, app, &c, err) < 0)
    return -1;
  json_t *warnings = NULL;
  int r = container_update (app, c, body, &warnings, err);
  container_unref (c);
  if (r < 0)
    return -1;
  return arca_resp_json (req, 200, json_pack ("{s:o}", "Warnings", warnings ? warnings : json_array ()));
}

/* ---- prune ---- */

static int
h_prune (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_json_ json_t *filters = NULL;
  if (filters_parse (arca_req_query (req, "filters"), &filters, err) < 0)
    return -1;
  json_t *out = NULL;
  if (containers_prune (app, filters, &out, err) < 0)
    return -1;
  return arca_resp_json (req, 200, out);
}

const arca_route_t arca_container_ops_routes[] = {
  { "GET", "/containers/{id}/top", h_top, 0 },
  { "GET", "/containers/{id}/stats", h_stats, 0 },
  { "POST", "/containers/{id}/pause", h_pause, 0 },
  { "POST", "/containers/{id}/unpause", h_unpause, 0 },
  { "POST", "/containers/{id}/rename", h_rename, 0 },
  { "POST", "/containers/{id}/update", h_update, ARCA_ROUTE_BODY_JSON },
  { "POST", "/containers/prune", h_prune, 0 },
  { NULL, NULL, NULL, 0 },
};
