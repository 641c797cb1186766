/* Exec handlers (API spec "Exec" tag; moby api/server/router/container/exec.go):
 *   POST /containers/{id}/exec   -> 201 {"Id"}
 *   POST /exec/{id}/start        -> 101 hijack (or 200 empty with Detach)
 *   POST /exec/{id}/resize       -> 200
 *   GET  /exec/{id}/json         -> ExecInspectResponse */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api/routes.h"
#include "engine/exec.h"
#include "util/cleanup.h"
#include "util/godecode.h"
#include "util/json.h"
#include "util/stdcopy.h"
#include "util/strutil.h"

/* moby api/types/container ExecOptions (v28): decoded as Go does, so keys
 * match case-insensitively (docker-py sends "detachKeys"). */
static const go_type_t t_console_size
    = { .kind = GO_ARRAY, .name = "[2]uint", .elem = &go_uint, .len = 2 };
static const go_field_t exec_options_fields[] = {
  { .name = "User", .type = &go_string },
  { .name = "Privileged", .type = &go_bool },
  { .name = "Tty", .type = &go_bool },
  { .name = "ConsoleSize", .type = &t_console_size, .nullable = true },
  { .name = "AttachStdin", .type = &go_bool },
  { .name = "AttachStderr", .type = &go_bool },
  { .name = "AttachStdout", .type = &go_bool },
  { .name = "Detach", .type = &go_bool },
  { .name = "DetachKeys", .type = &go_string },
  { .name = "Env", .type = &go_string_slice },
  { .name = "WorkingDir", .type = &go_string },
  { .name = "Cmd", .type = &go_string_slice },
  { .name = NULL },
};
static const go_type_t t_exec_options
    = { .kind = GO_STRUCT, .name = "container.ExecOptions", .fields = exec_options_fields };

static int
h_exec_create (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_json_ json_t *raw = NULL;
  if (arca_req_json (req, &raw, err) < 0)
    return -1;
  _cleanup_json_ json_t *body = NULL;
  if (raw == NULL)
    body = json_object ();
  else if (go_decode (raw, &t_exec_options, &body, err) < 0)
    return arca_error_wrap (err, "invalid JSON");
  _cleanup_free_ char *id = NULL;
  if (exec_create (app, arca_req_param (req, "id"), body, &id, err) < 0)
    return -1;
  return arca_resp_json (req, 201, json_pack ("{s:s}", "Id", id));
}

typedef struct
{
  arca_engine_t *e;
  arca_exec_t *x;
  json_t *console_size;
  bool raw; /* the start body's Tty: how dockerd frames its error text */
} start_ctx_t;

static void
start_free (void *p)
{
  start_ctx_t *s = p;
  exec_unref (s->x);
  json_decref (s->console_size);
  free (s);
}

static void
send_all (int fd, const void *data, size_t len)
{
  const char *p = data;
  while (len > 0)
    {
      ssize_t n = send (fd, p, len, MSG_NOSIGNAL);
      if (n <= 0)
        return;
      p += n;
      len -= (size_t) n;
    }
}

static void
start_run (int fd, const char *extra, size_t extra_len, void *ctx)
{
  start_ctx_t *s = ctx;
  arca_error_t err;
  if (exec_start (s->e, s->x, s->console_size, s->raw, fd, extra, extra_len, &err) < 0)
    {
      /* After the 101 dockerd writes the error into the stream (on the
       * stdout frame without a TTY) and ends it; the CLI prints it and
       * takes the exit code from the exec's inspect. */
      _cleanup_free_ char *text = xasprintf ("%s\r\n", err.msg);
      size_t len = strlen (text);
      if (!s->raw)
        {
          uint8_t hdr[STDCOPY_HEADER_LEN];
          stdcopy_header (hdr, STDCOPY_STDOUT, (uint32_t) len);
          send_all (fd, hdr, sizeof hdr);
        }
      send_all (fd, text, len);
    }
  shutdown (fd, SHUT_WR);
}

static int
h_exec_start (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_json_ json_t *body = NULL;
  if (arca_req_json (req, &body, err) < 0)
    return -1;
  arca_exec_t *x;
  if (exec_lookup (app, arca_req_param (req, "id"), &x, err) < 0)
    return -1;
  if (exec_start_check (app, x, err) < 0)
    {
      exec_unref (x);
      return -1;
    }
  bool detach = json_get_bool (body, "Detach", false);
  bool tty = json_get_bool (body, "Tty", false);
  json_t *cs = json_object_get (body, "ConsoleSize");
  if (detach)
    {
      int r = exec_start (app, x, cs, tty, -1, NULL, 0, err);
      exec_unref (x);
      if (r < 0)
        return -1;
      return arca_resp_status (req, 200);
    }
  start_ctx_t *s = xmalloc0 (sizeof *s);
  s->e = app;
  s->x = x;
  s->console_size = cs ? json_incref (cs) : NULL;
  s->raw = tty;
  const char *ct = (!tty && arca_req_api_version (req) >= 142) ? "application/vnd.docker.multiplexed-stream"
                                                                : "application/vnd.docker.raw-stream";
  return arca_resp_hijack (req, ct, start_run, s, start_free);
}

static int
h_exec_resize (arca_http_request_t *req, void *app, arca_error_t *err)
{
  long h = 0, w = 0;
  const char *hs = arca_req_query (req, "h"), *ws = arca_req_query (req, "w");
  char *end;
  if (hs && *hs)
    {
      h = strtol (hs, &end, 10);
      if (*end || h < 0)
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid resize height %s", hs);
    }
  if (ws && *ws)
    {
      w = strtol (ws, &end, 10);
      if (*end || w < 0)
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid resize width %s", ws);
    }
  arca_exec_t *x;
  if (exec_lookup (app, arca_req_param (req, "id"), &x, err) < 0)
    return -1;
  int r = exec_resize (app, x, (unsigned) h, (unsigned) w, err);
  exec_unref (x);
  if (r < 0)
    return -1;
  return arca_resp_status (req, 200);
}

static int
h_exec_inspect (arca_http_request_t *req, void *app, arca_error_t *err)
{
  arca_exec_t *x;
  if (exec_lookup (app, arca_req_param (req, "id"), &x, err) < 0)
    return -1;
  json_t *out = NULL;
  int r = exec_inspect_json (app, x, &out, err);
  exec_unref (x);
  if (r < 0)
    return -1;
  return arca_resp_json (req, 200, out);
}

const arca_route_t arca_exec_routes[] = {
  { "POST", "/containers/{id}/exec", h_exec_create, ARCA_ROUTE_BODY_JSON },
  { "POST", "/exec/{id}/start", h_exec_start, ARCA_ROUTE_BODY_JSON },
  { "POST", "/exec/{id}/resize", h_exec_resize, 0 },
  { "GET", "/exec/{id}/json", h_exec_inspect, 0 },
  { NULL, NULL, NULL, 0 },
};
