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
extern const arca_route_t arca_registry_routes[];   /* api/images_registry.c: push, auth */
/* POST /images/create?fromImage= (pull), called by api/images.c. */
int arca_api_image_pull (arca_http_request_t *req, void *app, arca_error_t *err);
extern const arca_route_t arca_images_more_routes[]; /* api/images_more.c: save, history, prune, search, system df */

extern const arca_route_t arca_build_routes[];      /* api/build.c: /build, /build/prune */
extern const arca_route_t arca_volume_routes[];     /* api/volumes.c: /volumes */
extern const arca_route_t arca_network_routes[];    /* api/networks.c: /networks */
extern const arca_route_t arca_events_routes[];     /* api/events.c: /events */
extern const arca_route_t arca_swarm_routes[];      /* api/swarm.c: swarm-mode endpoints (503, not in a swarm) */

/* NULL-handler-terminated table of all routes. */
const arca_route_t *arca_api_routes (void);

#endif
