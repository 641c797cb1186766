/* Restart manager: restart policies (HostConfig.RestartPolicy) applied when a
 * container's main process exits, and when the daemon starts again.
 *
 * Follows moby restartmanager/restartmanager.go ShouldRestart and
 * daemon/monitor.go handleContainerExit.  Engine-internal: the API layer
 * never calls it. */
#ifndef ARCA_ENGINE_RESTART_H
#define ARCA_ENGINE_RESTART_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/container.h"
#include "engine/engine.h"

/* ---- pure policy logic ---- */

typedef enum
{
  RESTART_NO = 0,
  RESTART_ALWAYS,
  RESTART_UNLESS_STOPPED,
  RESTART_ON_FAILURE,
} arca_restart_name_t;

typedef struct
{
  arca_restart_name_t name;
  int max_retry; /* MaximumRetryCount; 0 = unlimited (on-failure only) */
} arca_restart_policy_t;

/* First backoff delay, its cap, and the run time after which the backoff
 * starts again from the first delay (moby restartmanager constants). */
#define RESTART_DELAY_MIN_MS 100
#define RESTART_DELAY_MAX_MS 60000
#define RESTART_RESET_AFTER_NS (10LL * 1000000000LL)

/* HostConfig.RestartPolicy object (or NULL) -> policy.  A missing or empty
 * Name, or an unknown one, is "no" (pre-25.0 records: moby migrates "" to
 * "no"; unknown names are refused at create/update). */
void restart_policy_from_json (json_t *rp, arca_restart_policy_t *out);

/* The decision of moby's ShouldRestart after the "cancelled" check: never for
 * "no"; always for "always"; "unless-stopped" unless manually_stopped;
 * "on-failure" iff exit_code != 0 and (max_retry == 0 or restart_count <
 * max_retry). */
bool restart_policy_should_restart (const arca_restart_policy_t *p, int exit_code, bool manually_stopped,
                                    int restart_count);

/* Backoff: the delay (ms) before the next policy restart given the previous
 * one (0 = none yet) and how long the run that just ended lasted (ns).  A run
 * of >= 10 s resets; then 100 ms, doubling, capped at 60 s. */
int64_t restart_next_delay_ms (int64_t prev_delay_ms, int64_t exec_duration_ns);

/* ---- manager (engine lock discipline: *_locked = caller holds e->lock) ---- */

/* After an exit was recorded in c (running=false, exit_code, finished_ns set):
 * decide with the container's current policy (so `docker update --restart`
 * counts from the next exit), and if it restarts: RestartCount++, state
 * Restarting (Running=true, Restarting=true, Pid 0, as moby SetRestarting),
 * and a timer thread that calls container_start after the backoff unless the
 * restart is cancelled first.  Never restarts a container being removed,
 * cancelled by a manual stop/kill, or while the daemon closes or restores.
 * Returns true if a restart was scheduled.  The caller persists c. */
bool restart_on_exit_locked (arca_engine_t *e, arca_container_t *c);

/* Manual stop/kill/rm of a container: cancel its pending policy restart.
 * If it is waiting in the backoff, it becomes exited (keeping its exit code)
 * and is persisted: returns true (the caller then has no process to signal).
 * Waits first for a policy start that is under way to finish. */
bool restart_cancel_locked (arca_engine_t *e, arca_container_t *c);

/* dockerd's ExitOnNext: later exits of this run are not restarted (docker
 * stop; docker kill with SIGKILL, the StopSignal, or any signal if the
 * container has no StopSignal). */
void restart_exit_on_next_locked (arca_container_t *c);

/* A start through the API (docker start/restart, or the daemon's start-up
 * restarts): fresh restart manager, RestartCount 0 (moby containerStart with
 * resetRestartManager).  Policy restarts keep the count. */
void restart_reset_locked (arca_container_t *c);

/* Called by container_start under the lock: 0 = an ordinary start; 1 = the
 * calling thread is the restart manager's and its restart is still wanted
 * (the start may proceed although the container shows Running); -1 = the
 * calling thread's restart was called off meanwhile (do not start). */
int restart_claim_start_locked (arca_container_t *c);

/* Daemon start-up (after containers_restore loaded every record and recorded
 * the exits that happened while the daemon was down): starts, asynchronously
 * (one thread each, so the API comes up at once), every container that was
 * started before, is not running and whose policy says so, judged with the
 * persisted exit code, HasBeenManuallyStopped and RestartCount (moby
 * daemon.restore): `always` comes back even if stopped by hand;
 * `unless-stopped` unless stopped by hand; `on-failure` if its last exit was
 * non-zero and retries are left.  Lock not held. */
void restart_after_restore (arca_engine_t *e);

#endif
