/* Swarm-mode endpoints (spec tags "Swarm", "Node", "Service", "Task",
 * "Secret", "Config").  Arca is never part of a swarm, so it answers them
 * as dockerd does on a node that is not: 503 with moby's messages
 * (daemon/cluster/errors.go errNoSwarm, and Cluster.errNoManager for a node
 * with no swarm node at all).  Clients rely on this: docker-py's and the
 * CLI's tear-downs call POST /swarm/leave and accept 503, `docker info`
 * reads Swarm.LocalNodeState "inactive" from /info.  Creating or joining a
 * swarm is refused with 503 as well (docs/limitations.md). */
#include "api/routes.h"

/* moby daemon/cluster/errors.go */
#define MSG_NO_SWARM "This node is not part of a swarm"
#define MSG_NO_MANAGER                                                                                       \
  "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node " \
  "to swarm and try again."
#define MSG_UNSUPPORTED "Arca does not support swarm mode: this node cannot create or join a swarm"

static int
no_manager (arca_http_request_t *req, void *app, arca_error_t *err)
{
  (void) req;
  (void) app;
  return arca_error_set (err, ARCA_ERR_UNAVAILABLE, MSG_NO_MANAGER);
}

static int
no_swarm (arca_http_request_t *req, void *app, arca_error_t *err)
{
  (void) req;
  (void) app;
  return arca_error_set (err, ARCA_ERR_UNAVAILABLE, MSG_NO_SWARM);
}

static int
unsupported (arca_http_request_t *req, void *app, arca_error_t *err)
{
  (void) req;
  (void) app;
  return arca_error_set (err, ARCA_ERR_UNAVAILABLE, MSG_UNSUPPORTED);
}

/* moby api/server/router/swarm/cluster.go: the same paths and methods. */
const arca_route_t arca_swarm_routes[] = {
  { "GET", "/swarm", no_manager, 0 },
  { "GET", "/swarm/unlockkey", no_manager, 0 },
  { "POST", "/swarm/init", unsupported, 0 },
  { "POST", "/swarm/join", unsupported, 0 },
  { "POST", "/swarm/leave", no_swarm, 0 },
  { "POST", "/swarm/update", no_manager, 0 },
  { "POST", "/swarm/unlock", no_manager, 0 },
  { "GET", "/services", no_manager, 0 },
  { "GET", "/services/{id}", no_manager, 0 },
  { "POST", "/services/create", no_manager, 0 },
  { "POST", "/services/{id}/update", no_manager, 0 },
  { "DELETE", "/services/{id}", no_manager, 0 },
  { "GET", "/services/{id}/logs", no_manager, 0 },
  { "GET", "/nodes", no_manager, 0 },
  { "GET", "/nodes/{id}", no_manager, 0 },
  { "DELETE", "/nodes/{id}", no_manager, 0 },
  { "POST", "/nodes/{id}/update", no_manager, 0 },
  { "GET", "/tasks", no_manager, 0 },
  { "GET", "/tasks/{id}", no_manager, 0 },
  { "GET", "/tasks/{id}/logs", no_manager, 0 },
  { "GET", "/secrets", no_manager, 0 },
  { "POST", "/secrets/create", no_manager, 0 },
  { "GET", "/secrets/{id}", no_manager, 0 },
  { "DELETE", "/secrets/{id}", no_manager, 0 },
  { "POST", "/secrets/{id}/update", no_manager, 0 },
  { "GET", "/configs", no_manager, 0 },
  { "POST", "/configs/create", no_manager, 0 },
  { "GET", "/configs/{id}", no_manager, 0 },
  { "DELETE", "/configs/{id}", no_manager, 0 },
  { "POST", "/configs/{id}/update", no_manager, 0 },
  { NULL, NULL, NULL, 0 },
};
