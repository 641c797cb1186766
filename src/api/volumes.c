/* /volumes handlers (spec "Volume" tag; moby api/server/router/volume). */
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "engine/volumes.h"
#include "util/cleanup.h"
#include "util/filters.h"
#include "util/json.h"

static int
h_create (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_json_ json_t *body = NULL;
  if (arca_req_json (req, &body, err) < 0)
    return -1;
  if (body != NULL && !json_is_object (body))
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid JSON: expected an object");
  json_t *out = NULL;
  if (volume_create (app, json_get_str (body, "Name"), json_get_str (body, "Driver"),
                     json_object_get (body, "DriverOpts"), json_object_get (body, "Labels"), &out, err)
      < 0)
    return -1;
  return arca_resp_json (req, 201, out);
}

static int
h_list (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_json_ json_t *filters = NULL;
  if (filters_parse (arca_req_query (req, "filters"), &filters, err) < 0)
    return -1;
  json_t *out = NULL;
  if (volume_list (app, filters, &out, err) < 0)
    return -1;
  return arca_resp_json (req, 200, out);
}

static int
h_inspect (arca_http_request_t *req, void *app, arca_error_t *err)
{
  json_t *out = NULL;
  if (volume_inspect (app, arca_req_param (req, "name"), &out, err) < 0)
    return -1;
  return arca_resp_json (req, 200, out);
}

static int
h_remove (arca_http_request_t *req, void *app, arca_error_t *err)
{
  if (volume_remove (app, arca_req_param (req, "name"), arca_req_query_bool (req, "force", false), err) < 0)
    return -1;
  return arca_resp_status (req, 204);
}

static int
h_prune (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_json_ json_t *filters = NULL;
  if (filters_parse (arca_req_query (req, "filters"), &filters, err) < 0)
    return -1;
  json_t *out = NULL;
  if (volumes_prune (app, filters, &out, err) < 0)
    return -1;
  return arca_resp_json (req, 200, out);
}

const arca_route_t arca_volume_routes[] = {
  { "POST", "/volumes/create", h_create, ARCA_ROUTE_BODY_JSON },
  { "GET", "/volumes", h_list, 0 },
  { "POST", "/volumes/prune", h_prune, 0 },
  { "GET", "/volumes/{name}", h_inspect, 0 },
  { "DELETE", "/volumes/{name}", h_remove, 0 },
  { NULL, NULL, NULL, 0 },
};
