/* Networks in the engine: the /networks API verbs (resolving containers for
 * connect/disconnect) and the container hooks that give a container its
 * netns, endpoints, /etc/hosts, resolv.conf, published ports and DNS
 * (src/net/net.h does the networking itself). */
#ifndef ARCA_ENGINE_NETWORKS_H
#define ARCA_ENGINE_NETWORKS_H

#include <jansson.h>
#include <stdbool.h>

#include "engine/engine.h"
#include "util/strutil.h"

struct arca_container;

/* Open/close e->net (called by arca_engine_open/close). */
int networks_open (arca_engine_t *e, arca_error_t *err);
/* arca_engine_release_idle's part: net_release_idle. */
void networks_release_idle (arca_engine_t *e);

int network_create (arca_engine_t *e, json_t *body, char **id_out, arca_error_t *err);
int network_inspect (arca_engine_t *e, const char *ref, json_t **out, arca_error_t *err);
int network_list (arca_engine_t *e, json_t *filters, json_t **out, arca_error_t *err);
int network_remove (arca_engine_t *e, const char *ref, arca_error_t *err);
int networks_prune (arca_engine_t *e, json_t *filters, json_t **deleted, arca_error_t *err);
/* POST /networks/{id}/connect {Container, EndpointConfig{Aliases, IPAMConfig{IPv4Address}}} */
int network_connect (arca_engine_t *e, const char *ref, json_t *body, arca_error_t *err);
/* POST /networks/{id}/disconnect {Container, Force} */
int network_disconnect (arca_engine_t *e, const char *ref, json_t *body, arca_error_t *err);

/* Container hooks (lock not held). */
/* The container-wide Config.MacAddress moved to the main network's
 * endpoint (moby postContainersCreate handleMACAddressBC): before API 1.44
 * it is the endpoint's address (endpoint ones discarded; 400 with host,
 * none or container: modes); from 1.44 it is deprecated: moved with a
 * warning, 400 when it contradicts the endpoint's. */
int networks_mac_address_bc (json_t *body, int api_version, json_t *warnings, arca_error_t *err);
int networks_validate_create (arca_engine_t *e, json_t *host_config, json_t *networking_config, arca_error_t *err);
int networks_container_create (arca_engine_t *e, struct arca_container *c, json_t *networking_config,
                               arca_error_t *err);
/* Before spec_build: the netns to join (malloc'd into *netns_out; NULL for
 * host and none: the spec then has none / a new one), writes
 * dir/hosts and dir/resolv.conf, publishes ports, starts DNS. */
int networks_container_start (arca_engine_t *e, struct arca_container *c, const char *dir, char **netns_out,
                              arca_error_t *err);
void networks_container_stop (arca_engine_t *e, struct arca_container *c);
/* An exit's: all of networks_container_stop but the netns, which
 * networks_container_netns_remove removes after the exit's answer
 * (net_container_detach). */
void networks_container_detach (arca_engine_t *e, struct arca_container *c);
void networks_container_netns_remove (arca_engine_t *e, struct arca_container *c);
/* endpoints and addresses; the netns is gone already, or goes with
 * networks_container_netns_remove */
void networks_container_remove (arca_engine_t *e, struct arca_container *c);
void networks_container_restore (arca_engine_t *e, struct arca_container *c, bool running);
/* NetworkSettings (inspect); caller holds e->lock. */
json_t *networks_settings_view (arca_engine_t *e, struct arca_container *c);
/* NetworkSettings.Networks of GET /containers/json, the same text as
 * networks_settings_view's "Networks" dumped, written to b from view (one
 * for the whole list, net_list_view_new); caller holds e->lock. */
struct net_list_view;
void networks_list_write (struct arca_container *c, const struct net_list_view *view, arca_buf_t *b);
/* GET /containers/json network=<name|ID prefix> (moby daemon/list.go):
 * whether one of the Networks networks_list_write lists for c is named
 * network or has an ID starting with it.  Caller holds e->lock. */
bool networks_list_on (struct arca_container *c, const struct net_list_view *view, const char *network);

#endif
