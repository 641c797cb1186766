/* Request routing and query parsing: what the HTTP layer does with a
 * request line before any handler runs (http/util.c, http/server.c
 * request_begin) and the filters= argument (util/filters.c).
 * Input: "METHOD\0/path?query". */
#include "fuzz.h"

#include "api/routes.h"
#include "http/internal.h"
#include "util/filters.h"
#include "util/strutil.h"

static const char *const allowed[] = { "label", "name", "id", "status", "until", "dangling", "before", NULL };

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *p[2];
  fuzz_split (data, size, p, 2);
  const char *method = p[0], *uri = p[1];

  char path[4096];
  const char *q = strchr (uri, '?');
  size_t plen = q ? (size_t) (q - uri) : strlen (uri);
  if (plen >= sizeof path)
    plen = sizeof path - 1;
  memcpy (path, uri, plen);
  path[plen] = '\0';

  char version[16], msg[256];
  const char *rest;
  bool plain;
  arca_api_version_split (path, version, sizeof version, &rest);
  arca_api_version_num (version);
  if (arca_api_version_check (version, msg, sizeof msg, &plain) == 0)
    {
      arca_route_param_t params[ARCA_ROUTE_MAX_PARAMS];
      int n = 0;
      const arca_route_t *r = arca_route_find (arca_api_routes (), method, rest, params, &n);
      if (r)
        arca_route_params_free (params, n);
    }

  char **query = arca_query_parse (q ? q + 1 : NULL);
  for (char **k = query; k[0] && k[1]; k += 2)
    arca_parse_bool (k[1]);
  const char *filters = arca_query_get (query, "filters");
  json_t *f = NULL;
  arca_error_t err;
  if (filters_parse (filters, &f, &err) == 0 && f)
    {
      filters_validate (f, allowed, &err);
      char **v = filters_values (f, "label");
      strv_free (v);
      json_t *labels = json_pack ("{s:s, s:s}", "a", "b", "com.example", "");
      filters_match_labels (f, labels);
      json_decref (labels);
      int64_t until;
      filters_until (f, &until, &err);
      json_decref (f);
    }
  strv_free (query);
  fuzz_parts_free (p, 2);
  return 0;
}
