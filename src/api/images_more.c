/* More image endpoints (moby api/server/router/image and system): docker
 * save (GET /images/get, /images/{name}/get), history, prune, search
 * (answered as not supported), and GET /system/df. */
#include "api/routes.h"

#include <string.h>

#include "engine/container.h"
#include "engine/engine.h"
#include "engine/images.h"
#include "util/cleanup.h"
#include "util/filters.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"

/* ---- save ---- */

static int
sink (void *ctx, const void *data, size_t len)
{
  return arca_stream_write (ctx, data, len);
}

static void
save_stream (arca_stream_t *st, void *ctx)
{
  arca_error_t err = { 0 };
  /* After the first byte an error can only cut the stream short: the
   * client's tar reader then fails, as with dockerd. */
  if (engine_image_save_write (ctx, sink, st, &err) < 0)
    log_warn ("docker save: %s", err.msg);
}

static void
save_free (void *ctx)
{
  engine_image_save_free (ctx);
}

static int
save_names (arca_http_request_t *req, void *app, char **names, arca_error_t *err)
{
  engine_image_save_t *sv;
  if (engine_image_save_prepare (app, names, &sv, err) < 0)
    return -1;
  return arca_resp_stream (req, 200, "application/x-tar", save_stream, sv, save_free);
}

/* GET /images/get?names=a&names=b */
static int
h_save_many (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_strv_ char **names = arca_req_query_all (req, "names");
  return save_names (req, app, names, err);
}

/* GET /images/{name}/get */
static int
h_save_one (arca_http_request_t *req, void *app, arca_error_t *err)
{
  char *names[] = { (char *) arca_req_param (req, "name"), NULL };
  return save_names (req, app, names, err);
}

/* ---- history ---- */

static int
h_history (arca_http_request_t *req, void *app, arca_error_t *err)
{
  json_t *out;
  if (engine_image_history (app, arca_req_param (req, "name"), &out, err) < 0)
    return -1;
  return arca_resp_json (req, 200, out);
}

/* ---- prune ---- */

static int
h_prune (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_json_ json_t *filters = NULL;
  if (filters_parse (arca_req_query (req, "filters"), &filters, err) < 0)
    return -1;
  json_t *out;
  if (engine_image_prune (app, filters, &out, err) < 0)
    return -1;
  return arca_resp_json (req, 200, out);
}

/* ---- search ---- */

/* Arca talks only to registries it is told about (pull/push by full
 * reference); registry search (the v1 search API of Docker Hub) is not
 * offered. */
static int
h_search (arca_http_request_t *req, void *app, arca_error_t *err)
{
  (void) req;
  (void) app;
  return arca_error_set (err, ARCA_ERR_NOT_IMPLEMENTED, "searching registries is not supported");
}

/* ---- system df ---- */

static int
h_df (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_strv_ char **types = arca_req_query_all (req, "type");
  json_t *out;
  if (system_df_json (app, types, &out, err) < 0)
    return -1;
  return arca_resp_json (req, 200, out);
}

const arca_route_t arca_images_more_routes[] = {
  { "GET", "/images/get", h_save_many, 0 },
  { "GET", "/images/search", h_search, 0 },
  { "POST", "/images/prune", h_prune, 0 },
  { "GET", "/images/{name}/get", h_save_one, 0 },
  { "GET", "/images/{name}/history", h_history, 0 },
  { "GET", "/system/df", h_df, 0 },
  { 0 },
};
