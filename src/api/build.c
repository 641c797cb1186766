/* POST /build and POST /build/prune (moby api/server/router/build
 * build_routes.go) for the classic builder.  The context tar is the
 * request body: spooled to a file by the HTTP layer (the route's
 * ARCA_ROUTE_BODY_FILE flag, the one place that reads it), never held in
 * memory. */
#include "api/routes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/build.h"
#include "engine/engine.h"
#include "util/cleanup.h"
#include "util/filters.h"
#include "util/json.h"
#include "util/strutil.h"

/* httputils.Int64ValueOrZero */
static int64_t
int_or_zero (arca_http_request_t *req, const char *key)
{
  const char *v = arca_req_query (req, key);
  if (v == NULL || *v == '\0')
    return 0;
  char *end;
  errno = 0;
  long long n = strtoll (v, &end, 10);
  return (*end || errno) ? 0 : n;
}

static char *
qdup (arca_http_request_t *req, const char *key)
{
  const char *v = arca_req_query (req, key);
  return v ? xstrdup (v) : NULL;
}

/* A JSON query value into *out (object or array as want_array). */
static int
json_query (arca_http_request_t *req, const char *key, bool want_array, const char *what, json_t **out,
            arca_error_t *err)
{
  const char *v = arca_req_query (req, key);
  *out = NULL;
  if (v == NULL || *v == '\0')
    return 0;
  json_error_t je;
  json_t *j = json_loads (v, JSON_DECODE_ANY, &je);
  if (j == NULL || (want_array ? !json_is_array (j) : !json_is_object (j)))
    {
      json_decref (j);
      if (what)
        return arca_error_set (err, ARCA_ERR_INVALID, "%s: %s", what, j ? "wrong type" : je.text);
      return arca_error_set (err, ARCA_ERR_INTERNAL, "%s", j ? "wrong type" : je.text);
    }
  *out = j;
  return 0;
}

/* newImageBuildOptions */
static int
parse_options (arca_http_request_t *req, build_options_t *o, arca_error_t *err)
{
  int version = arca_req_api_version (req);
  memset (o, 0, sizeof *o);
  o->dockerfile = qdup (req, "dockerfile");
  o->quiet = arca_req_query_bool (req, "q", false);
  o->no_cache = arca_req_query_bool (req, "nocache", false);
  o->force_remove = arca_req_query_bool (req, "forcerm", false);
  o->memory_swap = int_or_zero (req, "memswap");
  o->memory = int_or_zero (req, "memory");
  o->cpu_shares = int_or_zero (req, "cpushares");
  o->cpu_period = int_or_zero (req, "cpuperiod");
  o->cpu_quota = int_or_zero (req, "cpuquota");
  o->cpuset_cpus = qdup (req, "cpusetcpus");
  o->cpuset_mems = qdup (req, "cpusetmems");
  o->cgroup_parent = qdup (req, "cgroupparent");
  o->network_mode = qdup (req, "networkmode");
  o->tags = arca_req_query_all (req, "t");
  o->extra_hosts = arca_req_query_all (req, "extrahosts");
  o->target = qdup (req, "target");
  o->remote = qdup (req, "remote");
  o->want_aux = version >= 130;
  _cleanup_strv_ char **secopt = arca_req_query_all (req, "securityopt");
  if (secopt[0])
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "The daemon on this platform does not support setting security options on build");
  const char *rm = arca_req_query (req, "rm");
  if (o->force_remove)
    o->remove = true;
  else if (rm == NULL || *rm == '\0')
    o->remove = true;
  else
    o->remove = arca_req_query_bool (req, "rm", true);
  o->pull = arca_req_query_bool (req, "pull", false);
  if (version >= 132)
    o->platform = qdup (req, "platform");
  if (version >= 140)
    {
      /* BuildKit exporters; the classic builder has none */
      _cleanup_json_ json_t *outputs = NULL;
      if (json_query (req, "outputs", true, NULL, &outputs, err) < 0)
        return -1;
      if (json_array_size (outputs) > 0)
        return arca_error_set (err, ARCA_ERR_INVALID, "the outputs option requires BuildKit");
    }
  const char *shm = arca_req_query (req, "shmsize");
  if (shm && *shm)
    {
      char *end;
      errno = 0;
      long long n = strtoll (shm, &end, 10);
      if (*end || errno)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "strconv.ParseInt: parsing \"%s\": %s", shm,
                               errno == ERANGE ? "value out of range" : "invalid syntax");
      o->shm_size = n;
    }
  const char *iso = arca_req_query (req, "isolation");
  if (iso && *iso && strcasecmp (iso, "default") != 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "Unsupported isolation: \"%s\"", iso);
  if (json_query (req, "ulimits", true, "error reading ulimit settings", &o->ulimits, err) < 0
      || json_query (req, "buildargs", false, "error reading build args", &o->build_args, err) < 0
      || json_query (req, "labels", false, "error reading labels", &o->labels, err) < 0)
    return -1;
  _cleanup_json_ json_t *cache_from = NULL;
  if (json_query (req, "cachefrom", true, NULL, &cache_from, err) < 0)
    return -1;
  if (cache_from)
    {
      o->cache_from = xmalloc0 (sizeof (char *));
      size_t i;
      json_t *v;
      json_array_foreach (cache_from, i, v)
        if (json_is_string (v))
          o->cache_from = strv_append (o->cache_from, json_string_value (v));
    }
  const char *bv = arca_req_query (req, "version");
  if (bv && *bv)
    {
      if (strcmp (bv, "2") == 0)
        return arca_error_set (err, ARCA_ERR_INVALID,
                               "BuildKit is not supported by this daemon: use the classic builder (version 1)");
      if (strcmp (bv, "1") != 0)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "invalid version \"%s\"", bv);
    }
  return 0;
}

/* getAuthConfigs: X-Registry-Config, base64url JSON {registry: AuthConfig};
 * undecodable is no credentials, as dockerd. */
static json_t *
auth_configs (arca_http_request_t *req)
{
  const char *h = arca_req_header (req, "X-Registry-Config");
  if (h == NULL || *h == '\0')
    return NULL;
  size_t n = strlen (h);
  _cleanup_free_ char *dec = xmalloc0 (n + 1);
  /* base64 (URL or standard alphabet, padding optional) */
  static const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  unsigned acc = 0;
  int bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++)
    {
      char c = h[i] == '-' ? '+' : h[i] == '_' ? '/' : h[i];
      if (c == '=')
        break;
      const char *p = strchr (alpha, c);
      if (p == NULL || c == '\0')
        return NULL;
      acc = (acc << 6) | (unsigned) (p - alpha);
      bits += 6;
      if (bits >= 8)
        {
          bits -= 8;
          dec[o++] = (char) ((acc >> bits) & 0xff);
        }
    }
  json_t *j = json_loadb (dec, o, 0, NULL);
  if (!json_is_object (j))
    {
      json_decref (j);
      return NULL;
    }
  return j;
}

typedef struct
{
  arca_engine_build_t *b;
  bool quiet;
} build_ctx_t;

static int
emit (void *ctx, json_t *msg)
{
  arca_stream_t *s = ctx;
  _cleanup_free_ char *text = json_dumps (msg, JSON_COMPACT);
  _cleanup_free_ char *line = xasprintf ("%s\r\n", text);
  return arca_stream_write (s, line, strlen (line));
}

static void
build_stream (arca_stream_t *s, void *ctx)
{
  build_ctx_t *bc = ctx;
  arca_error_t err = { 0 };
  _cleanup_free_ char *id = NULL;
  int code = 0;
  if (engine_build_run (bc->b, emit, s, arca_stream_cancel_fd (s), &id, &code, &err) == 0)
    {
      if (bc->quiet)
        {
          _cleanup_free_ char *line = xasprintf ("%s\n", id);
          json_t *m = json_pack ("{s:s}", "stream", line);
          emit (s, m);
          json_decref (m);
        }
      return;
    }
  /* postBuild errf: a quiet build shows what it held back, then the error
   * (with the RUN's exit status as the code) */
  if (bc->quiet)
    engine_build_flush_quiet (bc->b, emit, s);
  json_t *detail = json_pack ("{s:s}", "message", err.msg);
  if (code != 0)
    json_object_set_new (detail, "code", json_integer (code));
  json_t *m = json_pack ("{s:o, s:s}", "errorDetail", detail, "error", err.msg);
  emit (s, m);
  json_decref (m);
}

static void
build_ctx_free (void *ctx)
{
  build_ctx_t *bc = ctx;
  engine_build_free (bc->b);
  free (bc);
}

static int
h_build (arca_http_request_t *req, void *app, arca_error_t *err)
{
  arca_engine_t *e = app;
  build_options_t o;
  if (parse_options (req, &o, err) < 0)
    {
      engine_build_options_clear (&o);
      return -1;
    }
  o.auth_configs = auth_configs (req);
  if (arca_req_query_bool (req, "squash", false))
    {
      engine_build_options_clear (&o);
      return arca_error_set (err, ARCA_ERR_INVALID, "squash is only supported with experimental mode");
    }
  arca_engine_build_t *b = NULL;
  int r = engine_build_prepare (e, &o, arca_req_body_file (req), &b, err);
  bool quiet = o.quiet;
  engine_build_options_clear (&o);
  if (r < 0)
    return -1;
  build_ctx_t *bc = xmalloc0 (sizeof *bc);
  bc->b = b;
  bc->quiet = quiet;
  return arca_resp_stream (req, 200, "application/json", build_stream, bc, build_ctx_free);
}

static int
size_param (arca_http_request_t *req, const char *key, int64_t *out, arca_error_t *err)
{
  const char *v = arca_req_query (req, key);
  *out = 0;
  if (v == NULL || *v == '\0')
    return 0;
  char *end;
  errno = 0;
  long long n = strtoll (v, &end, 10);
  if (*end || errno)
    return arca_error_set (err, ARCA_ERR_INTERNAL,
                           "%s is in bytes and expects an integer, got %s: strconv.Atoi: parsing \"%s\": invalid syntax",
                           key, v, v);
  *out = n;
  return 0;
}

/* POST /build/prune?all=&keep-storage=&filters= */
static int
h_prune (arca_http_request_t *req, void *app, arca_error_t *err)
{
  _cleanup_json_ json_t *filters = NULL;
  if (filters_parse (arca_req_query (req, "filters"), &filters, err) < 0)
    return arca_error_wrap (err, "could not parse filters");
  int64_t keep = 0, reserved = 0, max_used = 0, min_free = 0;
  if (size_param (req, "keep-storage", &keep, err) < 0 || size_param (req, "reserved-space", &reserved, err) < 0
      || size_param (req, "max-used-space", &max_used, err) < 0
      || size_param (req, "min-free-space", &min_free, err) < 0)
    return -1;
  if (min_free != 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "min-free-space is not supported by the classic builder's cache");
  /* the cache is pruned down to the smallest limit given */
  int64_t limit = keep;
  if (reserved > 0 && (limit == 0 || reserved < limit))
    limit = reserved;
  if (max_used > 0 && (limit == 0 || max_used < limit))
    limit = max_used;
  json_t *out = NULL;
  if (engine_build_prune (app, filters, arca_req_query_bool (req, "all", false), limit, &out, err) < 0)
    return -1;
  return arca_resp_json (req, 200, out);
}

const arca_route_t arca_build_routes[] = {
  { "POST", "/build", h_build, ARCA_ROUTE_BODY_FILE },
  { "POST", "/build/prune", h_prune, 0 },
  { 0 },
};
