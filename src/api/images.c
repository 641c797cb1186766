/* Image endpoints (moby api/server/router/image/image_routes.go): list,
 * inspect, tag, remove, load, create (import; pull answers an error until
 * a registry client exists).  Names may contain slashes: "{name}" spans
 * several segments on the router's second pass (http/http.h). */
#include "api/routes.h"

#include <string.h>

#include "engine/images.h"
#include "util/cleanup.h"
#include "util/filters.h"
#include "util/json.h"
#include "util/strutil.h"

/* One JSONMessage as dockerd's streamformatter writes it: JSON + "\r\n". */
static void
append_message (arca_buf_t *b, json_t *msg)
{
  _cleanup_free_ char *text = json_dumps (msg, JSON_COMPACT);
  buf_printf (b, "%s\r\n", text);
  json_decref (msg);
}

/* GET /images/json */
static int
list_images (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_json_ json_t *filters = NULL;
  if (filters_parse (arca_req_query (req, "filters"), &filters, err) < 0)
    return -1;
  /* API < 1.25 had ?filter=<reference>. */
  const char *legacy = arca_req_query (req, "filter");
  if (legacy && *legacy)
    {
      if (filters == NULL)
        filters = json_object ();
      json_t *m = json_object_get (filters, "reference");
      if (m == NULL)
        json_object_set_new (filters, "reference", m = json_object ());
      json_object_set_new (m, legacy, json_true ());
    }
  json_t *list;
  if (engine_image_list (app, filters, arca_req_query_bool (req, "all", false), &list, err) < 0)
    return -1;
  if (arca_req_api_version (req) < 143)
    {
      /* Before 1.43 an untagged image lists "<none>:<none>" / "<none>@<none>". */
      size_t i;
      json_t *s;
      json_array_foreach (list, i, s)
        {
          if (json_array_size (json_object_get (s, "RepoTags")) == 0)
            json_object_set_new (s, "RepoTags", json_pack ("[s]", "<none>:<none>"));
          if (json_array_size (json_object_get (s, "RepoDigests")) == 0)
            json_object_set_new (s, "RepoDigests", json_pack ("[s]", "<none>@<none>"));
        }
    }
  return arca_resp_json (req, 200, list);
}

/* GET /images/{name}/json */
static int
inspect_image (arca_http_request_t *req, void *app, arca_error_t *err)
{
  json_t *out;
  if (engine_image_inspect (app, arca_req_param (req, "name"), &out, err) < 0)
    return -1;
  return arca_resp_json (req, 200, out);
}

/* POST /images/{name}/tag?repo=&tag= -> 201 */
static int
tag_image (arca_http_request_t *req, void *app, arca_error_t *err)
{
  if (engine_image_tag (app, arca_req_param (req, "name"), arca_req_query (req, "repo"),
                        arca_req_query (req, "tag"), err) < 0)
    return -1;
  return arca_resp_status (req, 201);
}

/* DELETE /images/{name}?force=&noprune= */
static int
delete_image (arca_http_request_t *req, void *app, arca_error_t *err)
{
  json_t *out;
  if (engine_image_remove (app, arca_req_param (req, "name"), arca_req_query_bool (req, "force", false),
                           arca_req_query_bool (req, "noprune", false), &out, err) < 0)
    return -1;
  return arca_resp_json (req, 200, out);
}

static void
collect_line (void *ctx, const char *line)
{
  arca_buf_t *b = ctx;
  _cleanup_free_ char *text = xasprintf ("%s\n", line);
  append_message (b, json_pack ("{s:s}", "stream", text));
}

/* POST /images/load?quiet= : the tarball is loaded before the answer
 * starts; the answer is the JSONMessage stream dockerd writes
 * ({"stream":"Loaded image: ...\n"}).  A tarball that cannot be loaded is,
 * as on dockerd, a 200 whose stream ends with {"errorDetail":{"message"},
 * "error"} (docker-py raises ImageLoadError on it, the CLI prints it). */
static int
load_images (arca_http_request_t *req, void *app, arca_error_t *err)
{
  const char *path = arca_req_body_file (req);
  if (path == NULL)
    return arca_error_set (err, ARCA_ERR_INVALID, "unexpected EOF");
  arca_buf_t b = { 0 };
  if (engine_image_load (app, path, collect_line, &b, err) < 0)
    append_message (&b, json_pack ("{s:{s:s},s:s}", "errorDetail", "message", err->msg, "error", err->msg));
  int ret = arca_resp_data (req, 200, "application/json", b.data ? b.data : "", b.len);
  buf_free (&b);
  return ret;
}

/* POST /images/create: fromSrc=- imports the body; fromImage= pulls
 * (api/images_registry.c). */
static int
create_image (arca_http_request_t *req, void *app, arca_error_t *err)
{
  const char *from_image = arca_req_query (req, "fromImage");
  const char *from_src = arca_req_query (req, "fromSrc");
  if (from_image && *from_image)
    return arca_api_image_pull (req, app, err);
  if (from_src == NULL || *from_src == '\0')
    return arca_error_set (err, ARCA_ERR_INVALID, "either fromImage or fromSrc must be specified");
  if (strcmp (from_src, "-") != 0)
    return arca_error_set (err, ARCA_ERR_NOT_IMPLEMENTED, "importing from a URL is not supported: %s", from_src);
  const char *path = arca_req_body_file (req);
  if (path == NULL)
    return arca_error_set (err, ARCA_ERR_INVALID, "unexpected EOF");

  /* Every changes= value (docker import -c A -c B); a value may also carry
   * several instructions separated by '\n'. */
  _cleanup_strv_ char **changes = arca_req_query_all (req, "changes");
  _cleanup_free_ char *id = NULL;
  if (engine_image_import (app, path, arca_req_query (req, "repo"), arca_req_query (req, "tag"), changes,
                           arca_req_query (req, "message"), &id, err) < 0)
    return -1;
  arca_buf_t b = { 0 };
  append_message (&b, json_pack ("{s:s}", "status", id));
  int ret = arca_resp_data (req, 200, "application/json", b.data, b.len);
  buf_free (&b);
  return ret;
}

const arca_route_t arca_image_routes[] = {
  { "GET", "/images/json", list_images, 0 },
  { "POST", "/images/load", load_images, ARCA_ROUTE_BODY_FILE },
  { "POST", "/images/create", create_image, ARCA_ROUTE_BODY_FILE },
  { "GET", "/images/{name}/json", inspect_image, 0 },
  { "POST", "/images/{name}/tag", tag_image, 0 },
  { "DELETE", "/images/{name}", delete_image, 0 },
  { 0 },
};
