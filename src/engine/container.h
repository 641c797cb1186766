/* Containers: records, lifecycle verbs and their persistence.
 *
 * A container's record lives in memory (the engine's table) and in SQLite
 * (containers.data, JSON); every change is committed before the API answers.
 * Files: <data-root>/containers/<id>/ holds the OCI bundle (config.json,
 * rootfs mount point), the writable layer (upper, work), /etc files,
 * <id>-json.log and the shim's exit file exit.json;
 * <exec-root>/containers/<id>/ is the shim's state dir (shim.sock, ...). */
#ifndef ARCA_ENGINE_CONTAINER_H
#define ARCA_ENGINE_CONTAINER_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "util/error.h"
#include "util/strutil.h"

typedef struct arca_container arca_container_t;

/* ---- lookup ---- */
/* Find by full ID, name (with or without "/"), or unique ID prefix (moby
 * container/view.go GetByPrefix).  404 "No such container: <ref>", 400
 * "multiple IDs found with provided prefix: <ref>".  The returned container
 * holds a reference: release with container_unref. */
int container_lookup (arca_engine_t *e, const char *ref, arca_container_t **out, arca_error_t *err);
void container_unref (arca_container_t *c);
const char *container_id (arca_container_t *c);

/* ---- create ---- */
/* POST /containers/create: body is the ContainerCreateRequest (Config fields
 * at top level + HostConfig + NetworkingConfig); name may be NULL.
 * *id gets the new 64-hex ID; *warnings a JSON array (possibly empty). */
int container_create (arca_engine_t *e, const char *name, json_t *body, char **id, json_t **warnings,
                      arca_error_t *err);
/* container_create with the query's options: name (NULL = generated) and
 * platform ("os[/arch[/variant]]", NULL = any): an image of another
 * platform is 404 "image with reference <ref> was found but its platform
 * (<p>) does not match the specified platform (<q>)" as dockerd.  The body
 * is decoded as Go's encoding/json decodes a container.CreateRequest
 * (runtime/options.h options_decode_create). */
typedef struct
{
  const char *name;
  const char *platform;
  int api_version;      /* negotiated, 1.51 -> 151; 0 = the latest */
} arca_create_opts_t;
int container_create_with (arca_engine_t *e, const arca_create_opts_t *opts, json_t *body, char **id,
                           json_t **warnings, arca_error_t *err);

/* ---- lifecycle ---- */
/* 304 "container is already running"; 409 for paused. */
int container_start (arca_engine_t *e, arca_container_t *c, arca_error_t *err);
/* timeout_s < 0: the container's StopTimeout or 10 s; signal NULL: its
 * StopSignal or SIGTERM.  304 if not running. */
int container_stop (arca_engine_t *e, arca_container_t *c, int timeout_s, const char *signal, arca_error_t *err);
int container_restart (arca_engine_t *e, arca_container_t *c, int timeout_s, const char *signal, arca_error_t *err);
/* signal: name with or without SIG, or number; NULL = SIGKILL. */
int container_kill (arca_engine_t *e, arca_container_t *c, const char *signal, arca_error_t *err);
int container_remove (arca_engine_t *e, arca_container_t *c, bool force, bool volumes, arca_error_t *err);
int container_resize (arca_engine_t *e, arca_container_t *c, unsigned height, unsigned width, arca_error_t *err);

/* ---- wait ---- */
typedef enum { WAIT_NOT_RUNNING, WAIT_NEXT_EXIT, WAIT_REMOVED } arca_wait_condition_t;
/* Blocks until the condition holds; cancel_fd (or -1) becomes readable when
 * the client has gone (then returns -1 quietly).  *exit_code receives the
 * status. */
int container_wait (arca_engine_t *e, arca_container_t *c, arca_wait_condition_t cond, int cancel_fd,
                    int *exit_code, arca_error_t *err);
/* Snapshot of state taken when a wait is issued (for WAIT_NEXT_EXIT): the
 * condition is judged against the container's exit generation at call time. */

/* ---- attach ---- */
typedef struct
{
  bool in, out, err;
  /* logs: first replay the container's log (stdout/stderr as out/err ask);
   * stream: then attach to the live streams.  moby daemon/attach.go
   * containerAttach: without stream the session ends after the logs. */
  bool logs, stream;
  const char *detach_keys;
  /* Called once the session is set to receive the output (queued for the
   * next start, or about to connect to a running container), so that a
   * caller in another thread may start the container knowing no byte
   * will be missed.  Runs with the engine lock held: it must only signal
   * (write an eventfd), never block or call the engine.  May be NULL. */
  void (*ready) (void *ctx);
  void *ready_ctx;
  bool announced; /* set by container_attach_announce: the event is out */
} arca_attach_opts_t;
/* The "attach" event before the client has the 101 answer, when no log
 * comes first: dockerd emits it right after the hijack, so a client's
 * next request (the CLI's resize) always comes after it; a session run in
 * a thread of its own could otherwise emit it later.  With logs the event
 * follows the replay, in container_attach. */
void container_attach_announce (arca_engine_t *e, arca_container_t *c, arca_attach_opts_t *opts);
/* Runs an attach session on a hijacked client socket until the container's
 * output ends, the client leaves or detaches.  If the container is not
 * running yet, the session waits for the next start and receives output
 * from the first byte. */
void container_attach (arca_engine_t *e, arca_container_t *c, int client_fd, const char *extra,
                       size_t extra_len, const arca_attach_opts_t *opts);
/* Validation before hijacking: 409 for paused/restarting. */
int container_attach_check (arca_container_t *c, arca_error_t *err);
bool container_tty (arca_container_t *c);

/* ---- logs ---- */
typedef struct
{
  bool stdout_, stderr_, follow, timestamps;
  int64_t since_ns, until_ns; /* 0 = unset */
  long tail;                  /* -1 = all */
} arca_logs_opts_t;
/* Before a logs stream starts: 501 "configured logging driver does not
 * support reading" for none (and syslog with cache-disabled), as dockerd. */
int container_logs_check (arca_engine_t *e, arca_container_t *c, arca_error_t *err);
/* Write the container's log (json-file, local, or syslog's local cache;
 * rotated and compressed files included) through write_fn (framed by the caller's choice:
 * frame=true for multiplexed streams).  Returns when done, when follow ends
 * at container stop, or when write_fn fails / cancel_fd fires. */
int container_logs (arca_engine_t *e, arca_container_t *c, const arca_logs_opts_t *opts,
                    int (*write_fn) (void *ctx, const void *data, size_t len), void *ctx, int cancel_fd,
                    arca_error_t *err);

/* ---- views ---- */
int container_inspect_json (arca_engine_t *e, arca_container_t *c, bool size, json_t **out, arca_error_t *err);
/* GET /containers/json with parsed filters object (or NULL): the
 * ContainerSummary array written as JSON text to out (compact, as
 * json_dumps writes it; no trailing newline), straight from the records:
 * no tree is built for a list that may hold thousands (issue 15). */
int container_list_write (arca_engine_t *e, bool all, long limit, json_t *filters, arca_buf_t *out,
                          arca_error_t *err);
/* The same parsed into a tree (system df). */
int container_list_json (arca_engine_t *e, bool all, long limit, json_t *filters, json_t **out, arca_error_t *err);

/* ---- engine internals (engine.c <-> container*.c) ---- */
int containers_restore (arca_engine_t *e, arca_error_t *err);
/* Used by the image store's in-use callback. */
int containers_image_in_use (void *engine, const char *image_id, char *container_id_out, size_t len);

/* ---- operations (ops.c): top, stats, pause, rename, update, prune ---- */
/* GET /containers/{id}/top (moby daemon/top_unix.go): runs `ps <ps_args>
 * -q <pids>` (ps_args NULL/"" = "-ef", split on single spaces; retried
 * without -q for options that refuse it) and keeps the rows whose PID is
 * in the container's cgroup.  *out = {"Titles":[...],"Processes":[[...]]}
 * (the last column keeps its spaces).  409 "container <id> is not
 * running"; ps failing -> 500 "ps: <first line of its stderr>"; "k=PID"
 * renames with k != pid -> 500 "specifying \"k=PID\" is not allowed". */
int container_top (arca_engine_t *e, arca_container_t *c, const char *ps_args, json_t **out, arca_error_t *err);

typedef struct
{
  bool stream;   /* one object per second until the client leaves or the container is removed */
  bool one_shot; /* with !stream: a single sample at once, precpu_stats zero */
} arca_stats_opts_t;
/* GET /containers/{id}/stats (moby daemon/stats.go): StatsResponse objects
 * (each followed by "\n") from the container's cgroup (v1 or v2), chained
 * so that precpu_stats/preread are the previous sample's.  !stream &&
 * !one_shot: two samples 1 s apart, the second written.  A stopped
 * container: zeroed stats with name and ID (!stream), nothing until it
 * runs (stream).  CPU times in ns, system_cpu_usage from /proc/stat in ns,
 * memory in bytes (limit capped at the host's MemTotal). */
int container_stats (arca_engine_t *e, arca_container_t *c, const arca_stats_opts_t *opts,
                     int (*write_fn) (void *ctx, const void *data, size_t len), void *ctx, int cancel_fd,
                     arca_error_t *err);

/* POST /containers/{id}/pause|unpause: `<runtime> pause|resume` (freezer),
 * State.Paused persisted.  409 "container <id> is not running", "container
 * <id> is already paused", "container <id> is not paused"; a runtime failure
 * 500 "Cannot pause container <id>: <msg>". */
int container_pause (arca_engine_t *e, arca_container_t *c, arca_error_t *err);
int container_unpause (arca_engine_t *e, arca_container_t *c, arca_error_t *err);

/* POST /containers/{id}/rename (moby daemon/rename.go): 400 "Neither old
 * nor new names may be empty", 400 "Renaming a container with the same name
 * as its current name", 400/409 "Error when allocating new name: <invalid
 * name | name conflict text>".  Persisted before returning. */
int container_rename (arca_engine_t *e, arca_container_t *c, const char *new_name, arca_error_t *err);

/* POST /containers/{id}/update (moby daemon/update.go): body is the
 * Resources fields + RestartPolicy.  Validation errors 400 (dockerd's
 * texts); conflicts 409 "Cannot update container <id>: ..."; the merged
 * HostConfig is persisted and, for a running (or paused) container, the
 * resources applied with `<runtime> update -r` (failure: 500, HostConfig
 * restored).  *warnings = [] on success. */
int container_update (arca_engine_t *e, arca_container_t *c, json_t *body, json_t **warnings, arca_error_t *err);

/* POST /containers/prune (moby daemon/prune.go): removes every container
 * that is not running and matches filters (until, label, label!; others
 * 400 "invalid filter '<k>'").  *out = {"ContainersDeleted":[ids]|null,
 * "SpaceReclaimed":bytes of their writable layers}.  409 "a prune
 * operation is already running". */
int containers_prune (arca_engine_t *e, json_t *filters, json_t **out, arca_error_t *err);

/* ---- docker system df (df.c; issue 4) ---- */

/* GET /system/df?type= (moby SystemDiskUsage): {"LayersSize", "Images":
 * [ImageSummary with Containers = how many containers use it and
 * SharedSize], "Containers": [container summaries with SizeRw = bytes of
 * regular files in the writable layer and SizeRootFs = SizeRw + image
 * size], "Volumes": [volumes_df's list], "BuildCache": [the
 * classic builder's cache records, image.h image_build_cache_json],
 * "BuilderSize": bytes of the records not shared with images}.  types
 * (NULL or empty = all): "container", "image", "volume", "build-cache"
 * select the parts; another value is 400 "unknown object type: <t>". */
int system_df_json (arca_engine_t *e, char **types, json_t **out, arca_error_t *err);
/* Bytes of regular files in container id's writable layer (its upper dir). */
int64_t container_rw_size (arca_engine_t *e, const char *id);

#endif
