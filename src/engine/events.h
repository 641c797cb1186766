/* The event bus: every state change of a container, image, network or
 * volume is published once, after it is durable, in the order dockerd
 * publishes them (moby daemon/events/events.go, daemon/events.go), to the
 * live subscribers of GET /events and to a bounded history kept in memory
 * and in SQLite (store/events.h) for `since`/`until` replays that survive
 * a daemon restart, kill -9 included.
 *
 * Message shape (moby api/types/events Message): {"status", "id", "from"
 * (the legacy fields, container and image events only, API < 1.52),
 * "Type", "Action", "Actor": {"ID", "Attributes"}, "scope": "local",
 * "time" (Unix seconds), "timeNano"}.  Attributes are strings, keys in
 * Go's sorted map order.
 *
 * Delivery: each subscriber has its own queue of at most
 * EVENTS_SUBSCRIBER_BUFFER events; publishing never waits for a client.
 * When a subscriber's queue is full the event is skipped for that
 * subscriber only (dockerd's pubsub skips an event a subscriber has not
 * taken within 100 ms), and a warning is logged.
 *
 * Durability: the history is written by a writer thread in batches (one
 * transaction per batch), right after publication; the state change an
 * event reports was committed before it was published.  A kill -9 in the
 * few milliseconds between publication and the batch commit loses those
 * events from the history (never the state changes).
 *
 * Locking: the bus has its own mutex, a leaf lock: emitters may hold the
 * engine lock while publishing; the bus never calls back into the engine. */
#ifndef ARCA_ENGINE_EVENTS_H
#define ARCA_ENGINE_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/container.h"
#include "engine/engine.h"
#include "util/error.h"

/* Events kept for replays (moby keeps 256 in memory only). */
#define EVENTS_HISTORY 1024
/* Events queued per subscriber before events are skipped for it (moby
 * pubsub bufferSize). */
#define EVENTS_SUBSCRIBER_BUFFER 1024

/* ---- GET /events ---- */

typedef struct
{
  bool has_since, has_until;
  int64_t since_ns, until_ns; /* Unix ns, when set */
  json_t *filters;            /* parsed (util/filters.h), borrowed; NULL = all */
  bool skip_image_create;     /* API < 1.46: image "create" events are not sent */
} arca_events_opts_t;

/* A since/until query value as the events endpoint reads it.  dockerd
 * (api/server/router/system getEvents -> timetypes.ParseTimestamps) takes
 * Unix seconds with an optional ".nanoseconds" fraction; the CLI converts
 * durations and dates itself (timetypes.GetTimestamp).  Arca also accepts
 * what GetTimestamp accepts from API clients that pass user input through
 * (dockerode, compose): a Go duration before now_ns ("10m"; not "0") and
 * RFC 3339 dates.  NULL or "" -> *set = false.  Otherwise 500 with
 * dockerd's text: `strconv.ParseInt: parsing "<part>": invalid syntax`. */
int events_parse_time (const char *value, int64_t now_ns, bool *set, int64_t *out_ns, arca_error_t *err);

/* Stream events to write_fn, one JSON message and "\n" per call: first the
 * history between since and until (only when one of them is set), then,
 * unless until is in the past, live events until until passes, cancel_fd
 * becomes readable (client gone), write_fn fails or the engine closes.
 * 400 "`since` time (<since>) cannot be after `until` time (<until>)" is
 * checked by the caller (it has the query texts). */
int events_stream (arca_engine_t *e, const arca_events_opts_t *opts,
                   int (*write_fn) (void *ctx, const void *data, size_t len), void *ctx, int cancel_fd,
                   arca_error_t *err);

/* ---- filters (pure; moby daemon/events/filter.go Include) ---- */

typedef struct
{
  const char *type, *action, *actor_id, *scope;
  json_t *attributes; /* object of strings (may be NULL) */
} arca_event_view_t;

/* True when the event passes filters (NULL = no filters): event (exact, or
 * prefix for health_status / exec_create / exec_start), type, scope,
 * daemon/container/plugin/volume/network/node/service/secret/config (ID or
 * "name" attribute, prefix match, only for events of that type), image
 * (Actor.ID or the image name attribute, with or without tag), label
 * (key or key=value, all must match).  Unknown keys are ignored, as
 * dockerd does. */
bool events_filter_match (json_t *filters, const arca_event_view_t *ev);

/* ---- publishing (engine-internal) ---- */

/* Load the history from the store and start the writer. */
int events_open (arca_engine_t *e, arca_error_t *err);
/* Flush the history, end every subscription. */
void events_close (arca_engine_t *e);

/* Publish one event now.  attrs (stolen, may be NULL) is an object of
 * string values. */
void events_publish (arca_engine_t *e, const char *type, const char *action, const char *actor_id, json_t *attrs);

/* A container event (moby LogContainerEventWithAttributes): the extra
 * attributes given as key, value, ..., NULL, then the container's labels,
 * "image" (Config.Image) and "name".  The _locked form is for callers
 * holding e->lock; the other takes it. */
void events_container (arca_engine_t *e, arca_container_t *c, const char *action, ...)
    __attribute__ ((sentinel));
void events_container_locked (arca_engine_t *e, arca_container_t *c, const char *action, ...)
    __attribute__ ((sentinel));

/* The container events carrying numbers: "die" with exitCode and
 * execDuration (whole seconds the run lasted; moby monitor.go), preceded
 * by "oom" when the kernel's OOM killer hit the container during the run
 * (lock held); "kill" with the signal number; "resize" with height and
 * width. */
void events_container_die_locked (arca_engine_t *e, arca_container_t *c, int exit_code, int64_t ran_ns);
void events_container_signal (arca_engine_t *e, arca_container_t *c, int sig);
void events_container_resize (arca_engine_t *e, arca_container_t *c, unsigned height, unsigned width);

/* A network event: attributes "name", "type" (driver) and, when
 * container_id is set, "container" (moby LogNetworkEventWithAttributes). */
void events_network (arca_engine_t *e, const char *action, const char *network_id, const char *name,
                     const char *driver, const char *container_id);
/* connect/disconnect events for each network container_id has an active
 * endpoint on (start, stop). */
void events_container_networks (arca_engine_t *e, const char *container_id, const char *action);

/* A volume event with attributes key, value, ..., NULL. */
void events_volume (arca_engine_t *e, const char *action, const char *name, ...) __attribute__ ((sentinel));

/* mount (driver, container, destination, read/write, propagation) or
 * unmount (driver, container) events for each volume the container
 * mounts (moby daemon/volumes_unix.go setupMounts, container
 * UnmountVolumes). */
void events_container_mounts (arca_engine_t *e, arca_container_t *c, const char *action);

/* An image event (moby ImageService.LogImageEvent): the image's labels
 * (labels, borrowed, may be NULL) and "name" when name is set.  Also the
 * image store's event hook (image/image.h). */
void events_image (void *engine, const char *action, const char *image_id, const char *name, json_t *labels);

/* A prune event: type "container", "network", "volume" or "image", with
 * the attribute "reclaimed" (bytes), empty actor ID (moby daemon/prune.go). */
void events_prune (arca_engine_t *e, const char *type, int64_t reclaimed);

#endif
