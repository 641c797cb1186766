/* Engine internals shared by the engine sources only. */
#ifndef ARCA_ENGINE_INTERNAL_H
#define ARCA_ENGINE_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/container.h"
#include "engine/engine.h"
#include "image/image.h"
#include "runtime/oci.h"
#include "runtime/options.h"
#include "runtime/spec.h"
#include "store/db.h"

/* An attach session waiting for the container's next start. */
typedef struct pending_attach
{
  struct pending_attach *next;
  arca_attach_opts_t opts;
  int shim_fd;     /* set by start: -1 until connected */
  bool failed;     /* start failed or container removed */
  bool claimed;    /* taken by a start: it will set shim_fd or failed */
  int wake_fd;     /* eventfd the session polls; pending_attach_wake */
} pending_attach_t;

/* Wake the session of pa once shim_fd or failed is set (engine lock held),
 * so that it relays at once: compose 1.29 stops printing 100 ms after a
 * container's die event, and a late relay loses the output. */
void pending_attach_wake (pending_attach_t *pa);

struct arca_container
{
  int refs;                 /* guarded by engine lock */
  struct arca_container *next;

  char id[65];
  char *name;               /* without leading "/" */
  /* Config (merged with the image's) and HostConfig, in API shape, as
   * compact JSON text: as jansson trees they cost ~14 KiB a container
   * (HostConfig alone has 63 keys) against ~1.7 KiB of text
   * (bench/README.md "Scale").  Only create, start, inspect, update,
   * exec and a few checks read them whole: container_config and
   * container_host_config parse them.  What list, filters, events and
   * lifecycle read for every container is kept apart: opts (typed), and
   * the fields below.  Config never changes after create; HostConfig only
   * through container_set_host_config. */
  char *config_json;
  char *host_config_json;
  char *config_image;       /* Config.Image as given at create; NULL if unset */
  json_t *labels;           /* Config.Labels (normally an object), NULL if unset */
  json_t *exposed_ports;    /* Config.ExposedPorts, NULL if unset */
  bool has_links;           /* HostConfig.Links is a non-empty array */
  /* Config + HostConfig typed (runtime/options.h), derived from the two
   * whenever they change (create, update, load). */
  arca_container_options_t *opts;
  char *image_id;           /* "sha256:..." */
  char *path;               /* process path */
  char **args;              /* process args after path */
  int64_t created_ns;

  /* State (moby container/state.go) */
  bool running, paused, restarting, dead;
  bool starting, removing, removed;
  bool destroyed;           /* its row is deleted (durable) and it left the table: wait(removed) answers */
  pid_t pid;
  int exit_code;
  char *error;
  int64_t started_ns, finished_ns;
  int restart_count;
  bool has_been_started, manually_stopped;
  bool oom_killed;            /* State.OOMKilled: the last run's memory cgroup saw an OOM kill */
  uint64_t exit_generation;  /* bumped at every exit */

  pending_attach_t *pending; /* attaches waiting for start */
  int attach_relays;         /* attach sessions copying output now */
  bool monitor_running;      /* a monitor holds the shim's wait connection */
  bool remove_after_monitor; /* AutoRemove once the shim is done */
  /* the exit is saved unsynced: the AutoRemove's deletion, synced, comes
   * next (monitor_exit); not-running and next-exit waiters wait for it */
  bool exit_unsynced;

  /* docker cp (engine/archive.c): temporary rootfs mounts of a stopped
   * container in use; the last user unmounts unless it started meanwhile. */
  int archive_mounts;

  /* volumes and mounts (engine/mounts.c): the resolved mount list, a JSON
   * array of MountPoint objects (inspect shape + private fields), persisted
   * as "MountPoints" so anonymous volume names stay stable. */
  json_t *mounts;

  /* restart policies (engine/restart.c), in memory like moby's restart
   * manager: the last backoff delay (ms, 0 = none yet), the ExitOnNext flag
   * set by a manual stop/kill until the next API start, and a generation
   * bumped to call off a pending restart timer. */
  int64_t restart_delay_ms;
  bool restart_canceled;
  uint64_t restart_gen;

  /* networking (src/net, engine/networks.c): NetworkSettings.Ports from
   * portmap_container_publish while running (persisted as "NetworkPorts"),
   * NULL otherwise; netns joined for container:<id> mode, NULL otherwise. */
  json_t *net_ports;
  /* EndpointsConfig entries whose network did not exist at create
   * ({"name": EndpointSettings}, persisted as "PendingEndpoints"): dockerd
   * accepts the create and fails the start while the network is missing,
   * so the CLI never takes a 404 from create for a missing image and pulls
   * (moby daemon/container_operations.go connectToNetwork at start). */
  json_t *pending_endpoints;

  /* healthchecks (engine/health.c): State.Health and its monitor, NULL
   * until the first start with a probe. */
  struct arca_health *health;
};

struct arca_engine
{
  arca_engine_options_t opts;
  char *data_root, *exec_root, *runtime_name, *runtime_path, *shim_path;
  char *runtime_root;       /* <exec-root>/runc */
  arca_oci_runtimes_t *runtimes; /* configured OCI runtimes (runtime/oci.h) */
  /* container defaults from the daemon's config (engine/options.c) */
  char *log_driver;         /* "json-file" unless configured */
  json_t *log_opts;         /* {} unless configured */
  char *seccomp_profile;    /* NULL: built-in */
  char *default_cgroupns_mode; /* NULL: host on v1, private on v2 */
  char *id;                 /* daemon ID */
  arca_db_t *db;
  arca_image_store_t *images;

  pthread_mutex_t lock;     /* guards the table and every record's fields */
  pthread_cond_t changed;   /* broadcast on every state change */
  arca_container_t *containers;
  bool closing;

  /* exec (engine/exec.c): exec instances, running and finished, under lock */
  struct arca_exec *execs;

  /* restart policies (engine/restart.c): true while containers_restore runs;
   * exits recorded then are judged by restart_after_restore instead. */
  bool restoring;

  /* networking (src/net/net.h) */
  struct arca_net *net;

  /* events (engine/events.c): the bus, private to events.c */
  struct arca_events *events;

  /* VM isolation (runtime/vm.h, engine/isolation.c) */
  struct arca_vm *vm;
};

/* Paths (malloc'd). */
char *container_dir (arca_engine_t *e, const char *id);
char *container_state_dir (arca_engine_t *e, const char *id);
char *container_log_path (arca_engine_t *e, const char *id);
char *container_exit_file (arca_engine_t *e, const char *id);

/* Take a reference (atomic; any thread). */
void container_ref (arca_container_t *c);

/* c's Config parsed from its text: a new tree the caller owns (and may
 * change), {} if the text is missing.  Config never changes after create:
 * no lock needed. */
json_t *container_config (arca_container_t *c);
/* c's HostConfig parsed from its text: a new tree the caller owns (and
 * may change), {} if the text is missing.  Caller holds the engine lock or
 * owns c exclusively, as for every field of c. */
json_t *container_host_config (arca_container_t *c);
/* At create and load: cfg becomes c's Config (text, and the fields kept
 * apart).  Before the first container_set_host_config. */
void container_set_config (arca_container_t *c, json_t *cfg);
/* Make hc c's HostConfig (kept as text) and re-derive c->opts from c's
 * Config and hc.  If the options do not parse, nothing changes
 * (ARCA_ERR_INVALID with options_parse's text).  Same locking. */
int container_set_host_config (arca_container_t *c, json_t *hc, arca_error_t *err);
/* HostConfig.NetworkMode as stored ("" if unset), from the typed options. */
const char *container_network_mode (arca_container_t *c);
/* The OCI runtime of c (HostConfig.Runtime, or the default); takes the
 * engine lock. */
int container_runtime (arca_engine_t *e, arca_container_t *c, const arca_oci_runtime_t **rt, arca_error_t *err);

/* The container's cgroup path as its spec names it (runtime/spec.c
 * withCgroups, cgroupfs driver): "<CgroupParent or /arca>/<id>".  Takes
 * the engine lock. */
char *container_cgroup_path (arca_engine_t *e, arca_container_t *c);

/* Engine-level option checks and defaults (options.c), at create:
 * the request's options parsed and verified as dockerd does (warnings
 * appended), the runtime and log driver known; StorageOpt as overlay2
 * without quotas takes it (500); the image's platform against the
 * request's (404 as dockerd); and dockerd's defaults written into the
 * HostConfig that is stored (MemorySwap, ShmSize, IpcMode, CgroupnsMode,
 * OomKillDisable, Runtime, LogConfig). */
int container_options_verify_create (arca_engine_t *e, json_t *config, json_t *hc, json_t *warnings,
                                     arca_error_t *err);
int container_options_verify_storage (json_t *hc, arca_error_t *err);
/* logger.ValidateLogOpts for a driver and its options (also the daemon's
 * defaults at start). */
int container_options_check_log (const char *type, json_t *cfg, arca_error_t *err);
/* mergeAndVerifyLogConfig's merge: LogConfig.Type "" becomes the daemon's
 * driver, and the daemon's log-opts fill the keys a container of the
 * daemon's driver does not set. */
void container_options_merge_log (arca_engine_t *e, json_t *hc);
int container_options_check_platform (arca_image_t *img, const char *ref, const char *platform, arca_error_t *err);
void container_options_adapt (arca_engine_t *e, json_t *hc);

/* Shared namespaces at start (namespaces.c): the IPC and PID namespaces to
 * join (another container's, resolved now), the UTS mode, and the
 * /dev/shm bind for shareable, host and joined IPC appended to
 * *extra_mounts (unless a user mount is there).  Errors as dockerd's
 * setupIPCDirs ("failed to join IPC namespace: ...") and createSpec
 * ("failed to join PID namespace: ...", 500). */
typedef struct
{
  arca_spec_ns_t ipc, pid, uts;
  char *ipc_path, *pid_path;
} arca_start_ns_t;
int namespaces_container_start (arca_engine_t *e, arca_container_t *c, const arca_container_options_t *o,
                                arca_start_ns_t *ns, json_t **extra_mounts, arca_error_t *err);
void namespaces_start_clear (arca_start_ns_t *ns);
/* At exit: a shareable container's /dev/shm tmpfs is unmounted. */
void namespaces_container_stop (arca_engine_t *e, arca_container_t *c);
/* At create: container:<name> modes stored as container:<ID>. */
void namespaces_adapt (arca_engine_t *e, json_t *hc);
/* At create: PidMode/IpcMode "container:<x>" must name an existing
 * container (dockerd 20.10 answers 400 "No such container: x", so the CLI
 * does not pull; NetworkMode's target is checked at start instead). */
int namespaces_validate_create (arca_engine_t *e, json_t *hc, arca_error_t *err);

/* Logging drivers (logdrivers.c).  The shim's log settings for a start
 * ({"driver", "path", "max_size", "max_files", "compress", "attrs",
 * "syslog":{...}, "cache":{...}}); errors are dockerd's "failed to create
 * task for container: failed to initialize logging driver: ...".
 * Create-time option checks of local and syslog.  Where docker logs reads
 * (the current file of a rotated set; local_format: protobuf entries), or
 * 501 "configured logging driver does not support reading". */
int logdrivers_shim_config (arca_engine_t *e, arca_container_t *c, const arca_container_options_t *o, json_t **out,
                            arca_error_t *err);
int logdrivers_check_local (json_t *cfg, arca_error_t *err);
int logdrivers_check_syslog (json_t *cfg, arca_error_t *err);
int logdrivers_log_files (arca_engine_t *e, arca_container_t *c, char **path, bool *local_format, arca_error_t *err);

/* Persist the record (caller holds the engine lock or owns c exclusively);
 * a no-op once the container is removed (container_destroy). */
int container_save (arca_engine_t *e, arca_container_t *c, arca_error_t *err);
json_t *container_to_record (arca_container_t *c);
arca_container_t *container_from_record (const char *id, const char *name, json_t *rec);
void container_free (arca_container_t *c);

/* Derived state string: created|running|paused|restarting|removing|exited|dead. */
const char *container_state_string (arca_container_t *c);

/* Monitor of a running container found at start-up: a "wait" on its shim,
 * answered at the exit, waited for with every other on one thread
 * (util/fdwatch.h); the exit is then recorded (container_handle_exit). */
int container_monitor_start (arca_engine_t *e, arca_container_t *c, arca_error_t *err);

/* Called with the lock NOT held after a container's process ended;
 * oom_killed: the shim saw an OOM kill in its cgroup (State.OOMKilled). */
void container_handle_exit (arca_engine_t *e, arca_container_t *c, int exit_code, int64_t finished_ns,
                            bool oom_killed);

/* Unlink from the table, drop files and DB row (lock not held). */
int container_destroy (arca_engine_t *e, arca_container_t *c, arca_error_t *err);
/* container_destroy in three steps, so that wait(condition=removed) (docker
 * run --rm) answers once the removal is durable and the cleanup comes
 * after: the DB row and the table entry (a failed delete is returned, the
 * entry goes anyway, as before); then c->destroyed and the waiters are
 * woken; then directories, cgroups and the table's reference.  A kill -9
 * between the first and last steps leaves directories no record owns, which
 * the next start-up sweeps (reconcile.c). */
int container_destroy_record (arca_engine_t *e, arca_container_t *c, arca_error_t *err);
void container_mark_destroyed (arca_engine_t *e, arca_container_t *c);
void container_destroy_files (arca_engine_t *e, arca_container_t *c);

/* Start-up recovery (reconcile.c).  A row not running: stop a shim and
 * delete runtime state a start cut short left, unmount the rootfs, drop
 * network leftovers. */
void container_recover_not_running (arca_engine_t *e, arca_container_t *c);
/* A row that says Restarting (running) whose shim was spawned by the policy
 * restart but never told to start: nothing runs.  Ends that shim and
 * returns true; the caller then treats the container as one whose shim is
 * gone (255, its restart policy). */
bool container_stop_unstarted_shim (arca_engine_t *e, arca_container_t *c);
/* `<runtime> delete --force` when the runtime has state for c, then the
 * cgroups it may leave (idempotent; no engine lock held). */
void container_runtime_forget (arca_engine_t *e, arca_container_t *c);
/* Remove c's cgroup directories that are left (container.c). */
void container_remove_cgroups (arca_engine_t *e, arca_container_t *c);
/* Remove container directories no record owns (reconcile.c). */
void containers_reconcile (arca_engine_t *e);

/* Names and IDs (names.c). */
int container_name_validate (const char *name, arca_error_t *err);
char *container_name_generate (void);
void container_id_generate (char out[65]);

/* Signals (signals.c): "KILL", "SIGKILL", "9", "RTMIN+3" -> number; -1 if bad. */
int signal_parse (const char *s);

/* Attach relay (attach.c): copy between a hijacked client and a shim attach
 * stream until the shim ends the stream; the caller then ends the client
 * (shutdown SHUT_WR). */
void attach_relay (int client, int shim, const char *extra, size_t extra_len, bool stdin_wanted);
/* How attach_relay_framed passes the shim's output on. */
typedef enum
{
  ATTACH_FRAMING_AS_IS,         /* as the shim framed it (the process's TTY) */
  ATTACH_FRAMING_FRAME_STDOUT,  /* raw TTY output -> stdout frames */
  ATTACH_FRAMING_UNFRAME,       /* multiplexed frames -> raw bytes */
} attach_framing_t;
void attach_relay_framed (int client, int shim, const char *extra, size_t extra_len, bool stdin_wanted,
                          attach_framing_t framing);

/* Before a container's die event: wait (engine lock held, at most
 * ATTACH_DRAIN_S seconds) until its attach sessions have copied all the
 * output, as moby's handleContainerExit waits on StreamConfig (2 s), so a
 * client that sees die has the output (compose 1.29 stops printing at it). */
#define ATTACH_DRAIN_S 2
void attach_drain_wait_locked (arca_engine_t *e, arca_container_t *c);

/* exec (exec.c): IDs of the container's running execs as a JSON array, or
 * JSON null when there are none (inspect's ExecIDs).  Caller holds e->lock. */
json_t *exec_ids_locked (arca_engine_t *e, arca_container_t *c);

/* pause (ops.c): after a signal to a paused container, resume it when
 * dockerd would (SIGKILL, its StopSignal, or any signal if it has none) so
 * the signal is delivered (moby daemon/kill.go).  Lock not held. */
void container_thaw_after_signal (arca_engine_t *e, arca_container_t *c, int sig);

/* embedded DNS (engine/dns_upstreams.c, n3): the dns_servers_fn handed to
 * src/net/dns.c: HostConfig.Dns of container_id (malloc'd strv), NULL if
 * none or the container is unknown.  ud is the engine.  Takes e->lock. */
char **container_dns_servers (void *ud, const char *container_id);

/* The engine's image store, for engine sources that hand it to a lower
 * module (engine/build.c: the builder, the build cache).  Not part of
 * engine.h: src/api/ reaches images only through engine/images.h. */
arca_image_store_t *arca_engine_images (arca_engine_t *e);
/* The engine's database, likewise (engine sources only). */
arca_db_t *arca_engine_db (arca_engine_t *e);

#endif
