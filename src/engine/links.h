/* Legacy container links (--link name:alias on the default bridge; moby
 * daemon/links.go, daemon/links/links.go, daemon/container_operations.go).
 * A link is stored in the parent's HostConfig.Links as "child:alias"
 * (child by name, resolved at create).  At start it gives the parent
 * /etc/hosts entries "<child IP>\t<alias> <child hostname> <child name>"
 * and the environment variables dockerd injects (<ALIAS>_NAME,
 * <ALIAS>_ENV_*, <ALIAS>_PORT*).  Links on user networks are endpoint
 * settings (net/), not these. */
#ifndef ARCA_ENGINE_LINKS_H
#define ARCA_ENGINE_LINKS_H

#include <jansson.h>

#include "engine/engine.h"
#include "util/error.h"

typedef struct arca_container arca_container_t;

/* Create: check HostConfig.Links (default bridge only; ignored on other
 * modes as dockerd's registerLinks) and rewrite them as "childname:alias".
 * 400 "could not get container for X: No such container: X" (dockerd
 * answers 400 so the CLI does not pull), 400 for a child with host
 * networking. */
int links_validate_create (arca_engine_t *e, json_t *hc, arca_error_t *err);

/* Inspect's HostConfig.Links: ["/child:/parent/alias", ...] or null. */
json_t *links_inspect_view (const char *parent_name, json_t *links);

/* "/parent/alias" names under which each container is linked (for GET
 * /containers/json Names): {child name: [names]}, in one pass over the
 * table (a pass per listed container made a listing quadratic: 110 of
 * its 200 ms at 1,000 containers).  Caller holds e->lock. */
json_t *links_names_index_locked (arca_engine_t *e);

/* DELETE /containers/parent/alias?link=1: drop the link from the parent.
 * 404 if parent or link is unknown; 400 for a name without a parent. */
int links_remove (arca_engine_t *e, const char *ref, arca_error_t *err);

/* Start: for each link, the /etc/hosts entry ("names:ip" for
 * spec_write_hosts_file) and the environment (moby links.ToEnv).  500
 * "Cannot link to a non running container: /child AS /parent/alias" and
 * "Cannot link to /child, as it does not belong to the default network" as
 * dockerd. */
int links_resolve (arca_engine_t *e, arca_container_t *c, char ***hosts, char ***env, arca_error_t *err);

#endif
