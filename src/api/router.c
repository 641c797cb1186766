/* The API's route table: the tables of each API file joined in one,
 * built once.  Matching itself ({param} segments, the version prefix and
 * its bounds) is done by the HTTP layer (http/http.h). */
#include "api/routes.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"

static arca_route_t *all_routes;
static pthread_once_t all_routes_once = PTHREAD_ONCE_INIT;

static size_t
table_len (const arca_route_t *t)
{
  size_t n = 0;
  while (t[n].handler)
    n++;
  return n;
}

static void
build_routes (void)
{
  const arca_route_t *tables[] = { arca_system_routes, arca_image_routes,        arca_container_routes,
                                   arca_exec_routes,   arca_container_ops_routes, arca_archive_routes,
                                   arca_commit_routes, arca_images_more_routes,
                                   arca_registry_routes, arca_volume_routes, arca_network_routes,
                                   arca_events_routes, arca_build_routes, arca_swarm_routes };
  size_t total = 0;
  for (size_t i = 0; i < sizeof tables / sizeof *tables; i++)
    total += table_len (tables[i]);
  all_routes = xmalloc0 ((total + 1) * sizeof *all_routes);
  size_t at = 0;
  for (size_t i = 0; i < sizeof tables / sizeof *tables; i++)
    {
      size_t n = table_len (tables[i]);
      memcpy (all_routes + at, tables[i], n * sizeof *all_routes);
      at += n;
    }
  /* all_routes[total] stays zeroed: the terminator */
}

const arca_route_t *
arca_api_routes (void)
{
  pthread_once (&all_routes_once, build_routes);
  return all_routes;
}
