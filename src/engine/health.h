/* Healthchecks (moby daemon/health.go, container/health.go): the
 * container's Config.Healthcheck (merged with the image's HEALTHCHECK at
 * create) is probed by an exec inside the running container, on a monitor
 * thread of its own; the results make State.Health {Status, FailingStreak,
 * Log (the last 5 probes)}, the "(healthy)" of `docker ps`, the `health`
 * filter and the health_status events.
 *
 * Test: ["NONE"] (no probe), ["CMD", argv...] or ["CMD-SHELL", command]
 * (run with Config.Shell, default /bin/sh -c).  Durations are nanoseconds;
 * 0 means the default: Interval 30 s, Timeout 30 s, StartPeriod 0,
 * StartInterval 5 s, Retries 3.
 *
 * Lifecycle: a start resets the status to "starting" and runs the monitor;
 * an exit, a pause or a removal stops it and leaves "unhealthy" (moby
 * CloseMonitorChannel), an unpause resumes it.  The status is persisted
 * in the container record at each change, so after a daemon restart
 * (kill -9 included) a re-adopted container keeps the status it had and
 * its probes resume (dockerd would show "starting" until the next probe).
 * Probes never hold the engine lock while they run.
 *
 * Locking: a container's health fields are guarded by the engine lock;
 * the *_locked functions expect it held. */
#ifndef ARCA_ENGINE_HEALTH_H
#define ARCA_ENGINE_HEALTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/container.h"
#include "engine/engine.h"
#include "util/error.h"

/* Health log entries kept (moby maxLogEntries) and probe output bytes
 * kept per entry (maxOutputLen). */
#define HEALTH_LOG_MAX 5
#define HEALTH_OUTPUT_MAX 4096

typedef struct arca_health arca_health_t;

/* ---- configuration (pure) ---- */

/* moby daemon/container.go validateHealthCheck, 400 with its texts:
 * "Interval in Healthcheck cannot be less than 1ms", the same for
 * Timeout, StartPeriod and StartInterval (0 is allowed: the default), and
 * "Retries in Healthcheck cannot be negative".  hc may be NULL. */
int health_config_validate (json_t *hc, arca_error_t *err);

/* moby daemon/commit.go merge for Healthcheck: the image's config when the
 * user gave none; otherwise each unset field (Test empty, durations and
 * Retries 0) from the image.  cfg is the container Config being built. */
void health_config_merge (json_t *cfg, json_t *image_hc);

/* The probe's argv for a Healthcheck and the container's Config.Shell, or
 * NULL when there is no probe (no Test, "NONE", unknown type). */
char **health_probe_argv (json_t *hc, json_t *shell);

/* The state after a probe (moby handleProbeResult), pure: status
 * "starting"|"healthy"|"unhealthy" and failing streak in and out.
 * started_ns is the container's StartedAt, probe_start_ns the probe's
 * start; retries and start_period_ns as configured (0 = default). */
void health_next_state (char status[16], int *failing_streak, int exit_code, int retries, int64_t start_period_ns,
                        int64_t started_ns, int64_t probe_start_ns);

/* ---- state ---- */

/* Monitors for a container that (re)starts: status "starting", streak 0,
 * the monitor thread started.  No-op without a probe. */
void health_start_locked (arca_engine_t *e, arca_container_t *c);
/* Stop the monitor (exit, pause, removal); status "unhealthy" if it ran. */
void health_stop_locked (arca_engine_t *e, arca_container_t *c);
/* After pause/unpause and at re-adoption: run the monitor iff the
 * container runs unpaused with a probe, keeping its status. */
void health_update_locked (arca_engine_t *e, arca_container_t *c);

/* Record persistence: the "Health" object of the container record (NULL
 * when the container never had a monitor) and back. */
json_t *health_to_record (const arca_health_t *h);
arca_health_t *health_from_record (json_t *rec);
void health_free (arca_health_t *h);

/* State.Health of inspect ({Status, FailingStreak, Log}) or NULL. */
json_t *health_view_locked (arca_container_t *c);
/* "healthy", "unhealthy", "starting", or "none" without a monitor ever
 * (moby container/view.go); for `ps` and the health filter. */
const char *health_status_locked (arca_container_t *c);

#endif
