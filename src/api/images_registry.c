/* Registry endpoints (moby api/server/router/image/image_routes.go,
 * router/system/system_routes.go postAuth): pull (reached from POST
 * /images/create?fromImage= in api/images.c), push, and login.  Progress
 * is a stream of JSONMessage objects each ended by "\r\n"; errors before
 * the stream starts are ordinary HTTP errors, later ones a final
 * {"errorDetail":{"message":...},"error":...} object. */
#include "api/routes.h"

#include <string.h>

#include "engine/images.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"

static int
stream_emit (void *ctx, json_t *msg)
{
  arca_stream_t *s = ctx;
  _cleanup_free_ char *text = json_dumps (msg, JSON_COMPACT);
  _cleanup_free_ char *line = xasprintf ("%s\r\n", text);
  return arca_stream_write (s, line, strlen (line));
}

static void
stream_error (arca_stream_t *s, const arca_error_t *err)
{
  json_t *m = json_pack ("{s:{s:s}, s:s}", "errorDetail", "message", err->msg, "error", err->msg);
  stream_emit (s, m);
  json_decref (m);
}

/* ---- pull ---------------------------------------------------------------------------- */

static void
pull_stream (arca_stream_t *s, void *ctx)
{
  engine_image_pull_t *p = ctx;
  arca_error_t err = { 0 };
  if (engine_image_pull_run (p, stream_emit, s, &err) < 0)
    stream_error (s, &err);
}

static void
pull_free (void *ctx)
{
  engine_image_pull_free (ctx);
}

int
arca_api_image_pull (arca_http_request_t *req, void *app, arca_error_t *err)
{
  const char *from_image = arca_req_query (req, "fromImage");
  const char *tag = arca_req_query (req, "tag");
  /* tag may be a tag or a digest (docker pull name@sha256:...). */
  _cleanup_free_ char *ref = NULL;
  if (tag && *tag)
    ref = xasprintf ("%s%s%s", from_image, strchr (tag, ':') ? "@" : ":", tag);
  else
    ref = xstrdup (from_image);
  engine_image_pull_t *p = NULL;
  if (engine_image_pull_prepare (app, ref, arca_req_query (req, "platform"), arca_req_header (req, "X-Registry-Auth"),
                                 &p, err) < 0)
    return -1;
  return arca_resp_stream (req, 200, "application/json", pull_stream, p, pull_free);
}

/* ---- push ---------------------------------------------------------------------------- */

static void
push_stream (arca_stream_t *s, void *ctx)
{
  arca_error_t err = { 0 };
  if (engine_image_push_run (ctx, stream_emit, s, &err) < 0)
    stream_error (s, &err);
}

static void
push_free (void *ctx)
{
  engine_image_push_free (ctx);
}

/* POST /images/{name}/push?tag= */
static int
push_image (arca_http_request_t *req, void *app, arca_error_t *err)
{
  engine_image_push_t *p = NULL;
  if (engine_image_push_prepare (app, arca_req_param (req, "name"), arca_req_query (req, "tag"),
                                 arca_req_header (req, "X-Registry-Auth"), &p, err) < 0)
    return -1;
  return arca_resp_stream (req, 200, "application/json", push_stream, p, push_free);
}

/* ---- login ---------------------------------------------------------------------------- */

/* POST /auth: {"username","password","serveraddress"} -> 200
 * {"Status":"Login Succeeded","IdentityToken":""}. */
static int
post_auth (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_json_ json_t *body = NULL;
  if (arca_req_json (req, &body, err) < 0)
    return -1;
  if (engine_registry_login (app, body, err) < 0)
    return -1;
  return arca_resp_json (req, 200, json_pack ("{s:s, s:s}", "Status", "Login Succeeded", "IdentityToken", ""));
}

const arca_route_t arca_registry_routes[] = {
  { "POST", "/images/{name}/push", push_image, 0 },
  { "POST", "/auth", post_auth, ARCA_ROUTE_BODY_JSON },
  { 0 },
};
