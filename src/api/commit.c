/* GET /containers/{id}/changes, GET /containers/{id}/export, POST /commit
 * (spec "Container" and "Image" tags; moby api/server/router/container and
 * router/image postCommit). */
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "engine/commit.h"
#include "engine/container.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"

static int
h_changes (arca_http_request_t *req, void *app, arca_error_t *err)
{
  arca_container_t *c;
  if (container_lookup (app, arca_req_param (req, "id"), &c, err) < 0)
    return -1;
  json_t *out = NULL;
  int r = container_changes_json (app, c, &out, err);
  container_unref (c);
  if (r < 0)
    return -1;
  return arca_resp_json (req, 200, out);
}

typedef struct
{
  arca_container_t *c;
  arca_export_t *x;
} export_ctx_t;

static int
stream_write (void *ctx, const void *data, size_t len)
{
  return arca_stream_write (ctx, data, len);
}

static void
export_stream (arca_stream_t *s, void *ctx)
{
  export_ctx_t *x = ctx;
  arca_error_t err;
  if (container_export_write (x->x, stream_write, s, &err) < 0)
    log_warn ("export %.12s: %s", container_id (x->c), err.msg);
}

static void
export_free (void *ctx)
{
  export_ctx_t *x = ctx;
  container_export_close (x->x);
  container_unref (x->c);
  free (x);
}

static int
h_export (arca_http_request_t *req, void *app, arca_error_t *err)
{
  arca_container_t *c;
  if (container_lookup (app, arca_req_param (req, "id"), &c, err) < 0)
    return -1;
  arca_export_t *x = NULL;
  if (container_export_open (app, c, &x, err) < 0)
    {
      container_unref (c);
      return -1;
    }
  export_ctx_t *ctx = xmalloc0 (sizeof *ctx);
  ctx->c = c;
  ctx->x = x;
  return arca_resp_stream (req, 200, "application/x-tar", export_stream, ctx, export_free);
}

static int
h_commit (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_json_ json_t *body = NULL;
  if (arca_req_json (req, &body, err) < 0)
    return -1;
  const char *ref = arca_req_query (req, "container");
  arca_container_t *c;
  if (container_lookup (app, ref ? ref : "", &c, err) < 0)
    return -1;
  _cleanup_strv_ char **changes = arca_req_query_all (req, "changes");
  arca_commit_opts_t o = {
    .repo = arca_req_query (req, "repo"),
    .tag = arca_req_query (req, "tag"),
    .comment = arca_req_query (req, "comment"),
    .author = arca_req_query (req, "author"),
    .changes = changes,
    .config = body,
    /* moby postCommit: pause unless pause=false (API >= 1.13) */
    .pause = arca_req_query_bool (req, "pause", true),
  };
  _cleanup_free_ char *id = NULL;
  int r = container_commit (app, c, &o, &id, err);
  container_unref (c);
  if (r < 0)
    return -1;
  return arca_resp_json (req, 201, json_pack ("{s:s}", "Id", id));
}

const arca_route_t arca_commit_routes[] = {
  { "GET", "/containers/{id}/changes", h_changes, 0 },
  { "GET", "/containers/{id}/export", h_export, 0 },
  { "POST", "/commit", h_commit, ARCA_ROUTE_BODY_JSON },
  { NULL, NULL, NULL, 0 },
};
