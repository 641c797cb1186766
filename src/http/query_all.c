/* Multi-valued query parameters (Go's url.Values: a key may repeat, as in
 * `docker commit --change A --change B` -> changes=A&changes=B). */
#include <string.h>

#include "http/internal.h"

char **
arca_req_query_all (arca_http_request_t *req, const char *key)
{
  arca_strv_builder_t v = { 0 };
  for (char **it = req->query; it && it[0] && it[1]; it += 2)
    if (strcmp (it[0], key) == 0)
      strv_builder_add (&v, it[1]);
  return strv_builder_finish (&v);
}
