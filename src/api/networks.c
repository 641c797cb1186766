/* /networks handlers (spec "Network" tag; moby api/server/router/network). */
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "engine/networks.h"
#include "util/cleanup.h"
#include "util/filters.h"
#include "util/json.h"

static int
h_create (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_json_ json_t *body = NULL;
  if (arca_req_json (req, &body, err) < 0)
    return -1;
  if (body == NULL || !json_is_object (body))
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid JSON: expected an object");
  _cleanup_free_ char *id = NULL;
  if (network_create (app, body, &id, err) < 0)
    return -1;
  return arca_resp_json (req, 201, json_pack ("{s:s,s:s}", "Id", id, "Warning", ""));
}

static int
h_list (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_json_ json_t *filters = NULL;
  if (filters_parse (arca_req_query (req, "filters"), &filters, err) < 0)
    return -1;
  json_t *out = NULL;
  if (network_list (app, filters, &out, err) < 0)
    return -1;
  return arca_resp_json (req, 200, out);
}

static int
h_inspect (arca_http_request_t *req, void *app, arca_error_t *err)
{
  json_t *out = NULL;
  if (network_inspect (app, arca_req_param (req, "id"), &out, err) < 0)
    return -1;
  return arca_resp_json (req, 200, out);
}

static int
h_remove (arca_http_request_t *req, void *app, arca_error_t *err)
{
  if (network_remove (app, arca_req_param (req, "id"), err) < 0)
    return -1;
  return arca_resp_status (req, 204);
}

static int
h_prune (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_json_ json_t *filters = NULL;
  if (filters_parse (arca_req_query (req, "filters"), &filters, err) < 0)
    return -1;
  json_t *deleted = NULL;
  if (networks_prune (app, filters, &deleted, err) < 0)
    return -1;
  return arca_resp_json (req, 200, json_pack ("{s:o}", "NetworksDeleted", deleted));
}

static int
h_connect (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_json_ json_t *body = NULL;
  if (arca_req_json (req, &body, err) < 0)
    return -1;
  if (network_connect (app, arca_req_param (req, "id"), body, err) < 0)
    return -1;
  return arca_resp_status (req, 200);
}

static int
h_disconnect (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_json_ json_t *body = NULL;
  if (arca_req_json (req, &body, err) < 0)
    return -1;
  if (network_disconnect (app, arca_req_param (req, "id"), body, err) < 0)
    return -1;
  return arca_resp_status (req, 200);
}

const arca_route_t arca_network_routes[] = {
  { "POST", "/networks/create", h_create, ARCA_ROUTE_BODY_JSON },
  { "GET", "/networks", h_list, 0 },
  { "POST", "/networks/prune", h_prune, 0 },
  { "GET", "/networks/{id}", h_inspect, 0 },
  { "DELETE", "/networks/{id}", h_remove, 0 },
  { "POST", "/networks/{id}/connect", h_connect, ARCA_ROUTE_BODY_JSON },
  { "POST", "/networks/{id}/disconnect", h_disconnect, ARCA_ROUTE_BODY_JSON },
  { NULL, NULL, NULL, 0 },
};
