/* Route tables of each API file; api/router.c joins them.  Every handler
 * receives the arca_engine_t * as its app pointer. */
#ifndef ARCA_API_ROUTES_H
#define ARCA_API_ROUTES_H

#include "http/http.h"

extern const arca_route_t arca_system_routes[];     /* api/system.c: _ping, version, info */
extern const arca_route_t arca_image_routes[];      /* api/images.c */
extern const arca_route_t arca_container_routes[];  /* api/containers.c */
extern const arca_route_t arca_exec_routes[];       /* api/exec.c: exec create/start/resize/inspect */
extern const arca_route_t arca_container_ops_routes[]; /* api/container_ops.c: top, stats, pause, rename, update, port, prune */
extern const arca_route_t arca_archive_routes[];    /* api/archive.c: /containers/{id}/archive (docker cp) */
extern const arca_route_t arca_commit_routes[];     /* api/commit.c: changes, export, commit */

/* NULL-handler-terminated table of all routes. */
const arca_route_t *arca_api_routes (void);

#endif
