/* Plain responses: JSON, errors, empty, data; the common middleware
 * headers every response carries. */
#include "http/internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/log.h"

void
arca_resp_header (arca_http_request_t *req, const char *name, const char *value)
{
  arca_hdr_t *h = xmalloc0 (sizeof *h);
  h->name = xstrdup (name);
  h->value = xstrdup (value);
  /* keep insertion order */
  arca_hdr_t **it = &req->resp_headers;
  while (*it)
    it = &(*it)->next;
  *it = h;
}

void
arca_http_add_common_headers (arca_http_request_t *req, struct MHD_Response *resp)
{
  /* moby api/server/middleware/version.go and experimental.go */
  MHD_add_response_header (resp, "Api-Version", ARCA_API_VERSION);
  MHD_add_response_header (resp, "Docker-Experimental", "false");
  MHD_add_response_header (resp, "Ostype", "linux");
  MHD_add_response_header (resp, "Server", ARCA_SERVER_HEADER);
  for (arca_hdr_t *h = req->resp_headers; h; h = h->next)
    MHD_add_response_header (resp, h->name, h->value);
}

int
arca_http_queue (arca_http_request_t *req, int status, struct MHD_Response *resp)
{
  if (resp == NULL)
    return -1;
  if (req->responded)
    {
      log_error ("%s %s: second response (%d) ignored", req->method, req->path, status);
      MHD_destroy_response (resp);
      return -1;
    }
  arca_http_add_common_headers (req, resp);
  enum MHD_Result r = MHD_queue_response (req->conn, (unsigned int) status, resp);
  MHD_destroy_response (resp);
  req->responded = true;
  req->status = status;
  /* A plain response is written at once; a stream re-arms when it ends. */
  if (!req->long_response)
    arca_http_rearm_idle_timeout (req);
  if (r != MHD_YES)
    {
      log_error ("%s %s: failed to queue response %d", req->method, req->path, status);
      return -1;
    }
  return 0;
}

int
arca_resp_data (arca_http_request_t *req, int status, const char *content_type, const void *data, size_t len)
{
  struct MHD_Response *resp
      = MHD_create_response_from_buffer (len, (void *) (len ? data : ""), MHD_RESPMEM_MUST_COPY);
  if (resp == NULL)
    return -1;
  if (content_type)
    MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  return arca_http_queue (req, status, resp);
}

int
arca_resp_json (arca_http_request_t *req, int status, json_t *body)
{
  /* Go's json.Encoder: compact, no HTML escaping, trailing newline. */
  _cleanup_free_ char *s = body ? json_dumps (body, JSON_COMPACT | JSON_ENCODE_ANY) : xstrdup ("null");
  if (body)
    json_decref (body);
  if (s == NULL)
    {
      arca_error_t err;
      arca_error_set (&err, ARCA_ERR_INTERNAL, "failed to encode JSON response");
      return arca_resp_error (req, &err);
    }
  size_t n = strlen (s);
  _cleanup_free_ char *line = xmalloc0 (n + 2);
  memcpy (line, s, n);
  line[n] = '\n';
  return arca_resp_data (req, status, "application/json", line, n + 1);
}

int
arca_resp_json_text (arca_http_request_t *req, int status, char *text, size_t len)
{
  text[len] = '\n';
  struct MHD_Response *resp = MHD_create_response_from_buffer (len + 1, text, MHD_RESPMEM_MUST_FREE);
  if (resp == NULL)
    {
      free (text);
      return -1;
    }
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  return arca_http_queue (req, status, resp);
}

int
arca_resp_status (arca_http_request_t *req, int status)
{
  return arca_resp_data (req, status, NULL, "", 0);
}

int
arca_resp_error (arca_http_request_t *req, const arca_error_t *err)
{
  int status = arca_error_http_status (err->kind);
  if (status < 400 && status != 304)
    status = 500;
  if (status >= 500)
    log_error ("%s %s: %s", req->method ? req->method : "?", req->path ? req->path : "?", err->msg);
  else
    log_debug ("%s %s: %d %s", req->method ? req->method : "?", req->path ? req->path : "?", status, err->msg);
  if (status == 304)
    return arca_resp_status (req, 304);
  json_t *body = json_pack ("{s:s}", "message", err->msg);
  if (body == NULL) /* message not valid UTF-8 */
    body = json_pack ("{s:s}", "message", "internal error (unprintable message)");
  _cleanup_free_ char *s = json_dumps (body, JSON_COMPACT);
  json_decref (body);
  size_t n = strlen (s);
  _cleanup_free_ char *line = xmalloc0 (n + 2);
  memcpy (line, s, n);
  line[n] = '\n';
  /* exactly "application/json": the Go client decodes only then */
  return arca_resp_data (req, status, "application/json", line, n + 1);
}
