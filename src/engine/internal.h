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

/* An attach session waiting for the container's next start. */
typedef struct pending_attach
{
  struct pending_attach *next;
  arca_attach_opts_t opts;
  int shim_fd;     /* set by start: -1 until connected */
  bool failed;     /* start failed or container removed */
  bool claimed;    /* taken by a start: it will set shim_fd or failed */
} pending_attach_t;

struct arca_container
{
  int refs;                 /* guarded by engine lock */
  struct arca_container *next;

  char id[65];
  char *name;               /* without leading "/" */
  json_t *config;           /* merged Config (API shape) */
  json_t *host_config;      /* HostConfig (API shape) */
  char *image_id;           /* "sha256:..." */
  char *path;               /* process path */
  char **args;              /* process args after path */
  int64_t created_ns;

  /* State (moby container/state.go) */
  bool running, paused, restarting, dead;
  bool starting, removing, removed;
  pid_t pid;
  int exit_code;
  char *error;
  int64_t started_ns, finished_ns;
  int restart_count;
  bool has_been_started, manually_stopped;
  bool oom_killed;           /* State.OOMKilled: the OOM killer struck this run */
  uint64_t exit_generation;  /* bumped at every exit */

  pending_attach_t *pending; /* attaches waiting for start */
  bool monitor_running;      /* a monitor holds the shim's wait connection */
  bool remove_after_monitor; /* AutoRemove once the shim is done */

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

  /* healthchecks (engine/health.c): State.Health and its monitor, NULL
   * until the first start with a probe. */
  struct arca_health *health;
};

struct arca_engine
{
  arca_engine_options_t opts;
  char *data_root, *exec_root, *runtime_name, *runtime_path, *shim_path;
  char *runtime_root;       /* <exec-root>/runc */
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
};

/* Paths (malloc'd). */
char *container_dir (arca_engine_t *e, const char *id);
char *container_state_dir (arca_engine_t *e, const char *id);
char *container_log_path (arca_engine_t *e, const char *id);
char *container_exit_file (arca_engine_t *e, const char *id);

/* Take a reference (atomic; any thread). */
void container_ref (arca_container_t *c);

/* Persist the record (caller holds the engine lock or owns c exclusively). */
int container_save (arca_engine_t *e, arca_container_t *c, arca_error_t *err);
json_t *container_to_record (arca_container_t *c);
arca_container_t *container_from_record (const char *id, const char *name, json_t *rec);
void container_free (arca_container_t *c);

/* Derived state string: created|running|paused|restarting|removing|exited|dead. */
const char *container_state_string (arca_container_t *c);

/* Monitor: a thread per running container that waits on its shim and
 * records the exit. */
int container_monitor_start (arca_engine_t *e, arca_container_t *c, arca_error_t *err);

/* Called with the lock NOT held after a container's process ended. */
void container_handle_exit (arca_engine_t *e, arca_container_t *c, int exit_code, int64_t finished_ns);

/* Unlink from the table, drop files and DB row (lock not held). */
int container_destroy (arca_engine_t *e, arca_container_t *c, arca_error_t *err);

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

#endif
