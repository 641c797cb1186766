/* /containers/{id}/archive: HEAD (stat), GET (tar of a path), PUT (extract
 * a tar into a directory) — docker cp (moby api/server/router/container
 * copy.go, daemon/archive.go).  The path stat travels base64-encoded JSON in
 * the X-Docker-Container-Path-Stat header. */
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "engine/archive.h"
#include "engine/container.h"
#include "util/cleanup.h"
#include "util/strutil.h"

/* moby httputils.ArchiveFormValues: the path is checked before the
 * container (its badParameterError text has no space before "cannot"). */
static int
archive_path (arca_http_request_t *req, const char **path, arca_error_t *err)
{
  *path = arca_req_query (req, "path");
  if (*path == NULL || **path == '\0')
    return arca_error_set (err, ARCA_ERR_INVALID, "bad parameter: pathcannot be empty");
  return 0;
}

/* Standard base64 with padding (Go's base64.StdEncoding). */
static char *
base64_encode (const unsigned char *in, size_t n)
{
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *out = xmalloc0 (4 * ((n + 2) / 3) + 1), *o = out;
  for (size_t i = 0; i < n; i += 3)
    {
      unsigned v = (unsigned) in[i] << 16;
      if (i + 1 < n)
        v |= (unsigned) in[i + 1] << 8;
      if (i + 2 < n)
        v |= in[i + 2];
      *o++ = tbl[(v >> 18) & 63];
      *o++ = tbl[(v >> 12) & 63];
      *o++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
      *o++ = i + 2 < n ? tbl[v & 63] : '=';
    }
  return out;
}

static void
set_stat_header (arca_http_request_t *req, const arca_path_stat_t *st)
{
  _cleanup_json_ json_t *j = arca_path_stat_json (st);
  _cleanup_free_ char *text = json_dumps (j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  _cleanup_free_ char *b64 = base64_encode ((const unsigned char *) text, strlen (text));
  arca_resp_header (req, "X-Docker-Container-Path-Stat", b64);
}

static int
h_stat (arca_http_request_t *req, void *app, arca_error_t *err)
{
  const char *path, *ref = arca_req_param (req, "id");
  if (archive_path (req, &path, err) < 0)
    return -1;
  arca_container_t *c = NULL;
  if (container_lookup (app, ref, &c, err) < 0)
    return -1;
  arca_path_stat_t st = { 0 };
  int r = container_archive_stat (app, c, ref, path, &st, err);
  container_unref (c);
  if (r < 0)
    return -1;
  set_stat_header (req, &st);
  arca_path_stat_clear (&st);
  return arca_resp_status (req, 200);
}

static int
stream_write (void *ctx, const void *data, size_t len)
{
  return arca_stream_write (ctx, data, len);
}

static void
get_stream (arca_stream_t *s, void *ctx)
{
  arca_error_t err;
  /* Once streaming, a failure can only cut the tar short (dockerd too). */
  container_archive_write (ctx, stream_write, s, &err);
}

static void
get_free (void *ctx)
{
  container_archive_close (ctx);
}

static int
h_get (arca_http_request_t *req, void *app, arca_error_t *err)
{
  const char *path, *ref = arca_req_param (req, "id");
  if (archive_path (req, &path, err) < 0)
    return -1;
  arca_container_t *c = NULL;
  if (container_lookup (app, ref, &c, err) < 0)
    return -1;
  arca_path_stat_t st = { 0 };
  arca_archive_reader_t *r = NULL;
  int rc = container_archive_open (app, c, ref, path, &r, &st, err);
  container_unref (c);
  if (rc < 0)
    return -1;
  set_stat_header (req, &st);
  arca_path_stat_clear (&st);
  return arca_resp_stream (req, 200, "application/x-tar", get_stream, r, get_free);
}

static int
h_put (arca_http_request_t *req, void *app, arca_error_t *err)
{
  const char *path, *ref = arca_req_param (req, "id");
  if (archive_path (req, &path, err) < 0)
    return -1;
  arca_container_t *c = NULL;
  if (container_lookup (app, ref, &c, err) < 0)
    return -1;
  int r = container_archive_extract (app, c, ref, path, arca_req_body_file (req),
                                     arca_req_query_bool (req, "copyUIDGID", false),
                                     arca_req_query_bool (req, "noOverwriteDirNonDir", false), err);
  container_unref (c);
  if (r < 0)
    return -1;
  return arca_resp_status (req, 200);
}

const arca_route_t arca_archive_routes[] = {
  { "HEAD", "/containers/{id}/archive", h_stat, 0 },
  { "GET", "/containers/{id}/archive", h_get, 0 },
  { "PUT", "/containers/{id}/archive", h_put, ARCA_ROUTE_BODY_FILE },
  { NULL, NULL, NULL, 0 },
};
