/* Route tables of each API file; api/router.c joins them.  Every handler
 * receives the arca_engine_t * as its app pointer. */
#ifndef ARCA_API_ROUTES_H
#define ARCA_API_ROUTES_H

#include "http/http.h"

extern const arca_route_t arca_system_routes[];     /* api/system.c: _ping, version, info */
extern const arca_route_t arca_image_routes[];      /* api/images.c */
extern const arca_route_t arca_container_routes[];  /* api/containers.c */

/* NULL-handler-terminated table of all routes. */
const arca_route_t *arca_api_routes (void);

#endif
