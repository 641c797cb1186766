/* GET /events (moby api/server/router/system/system_routes.go getEvents). */
#include "api/routes.h"

#include <stdlib.h>
#include <string.h>

#include "engine/events.h"
#include "util/cleanup.h"
#include "util/filters.h"
#include "util/strutil.h"
#include "util/timeutil.h"

typedef struct
{
  arca_engine_t *e;
  arca_events_opts_t opts;
  json_t *filters;
  arca_stream_t *s;
} events_ctx_t;

static void
events_ctx_free (void *p)
{
  events_ctx_t *c = p;
  json_decref (c->filters);
  free (c);
}

static int
events_write (void *ctx, const void *data, size_t len)
{
  events_ctx_t *c = ctx;
  return arca_stream_write (c->s, data, len);
}

static void
events_run (arca_stream_t *s, void *ctx)
{
  events_ctx_t *c = ctx;
  c->s = s;
  arca_error_t err;
  events_stream (c->e, &c->opts, events_write, c, arca_stream_cancel_fd (s), &err);
}

static int
get_events (arca_http_request_t *req, void *app, arca_error_t *err)
{
  const char *since = arca_req_query (req, "since");
  const char *until = arca_req_query (req, "until");
  events_ctx_t c = { .e = app };
  int64_t now = time_now_ns ();
  if (events_parse_time (since, now, &c.opts.has_since, &c.opts.since_ns, err) < 0
      || events_parse_time (until, now, &c.opts.has_until, &c.opts.until_ns, err) < 0)
    return -1;
  if (c.opts.has_until && c.opts.has_since && c.opts.until_ns < c.opts.since_ns)
    return arca_error_set (err, ARCA_ERR_INVALID, "`since` time (%s) cannot be after `until` time (%s)", since,
                           until);
  if (filters_parse (arca_req_query (req, "filters"), &c.filters, err) < 0)
    return -1;
  c.opts.filters = c.filters;
  /* Image "create" events came with API 1.46. */
  c.opts.skip_image_create = arca_req_api_version (req) < 146;
  events_ctx_t *heap = xmalloc0 (sizeof *heap);
  *heap = c;
  return arca_resp_stream (req, 200, "application/json", events_run, heap, events_ctx_free);
}

const arca_route_t arca_events_routes[] = {
  { "GET", "/events", get_events, 0 },
  { 0 },
};
