/* Restart manager: restart policies on exit and at daemon start-up
 * (moby restartmanager/restartmanager.go, daemon/monitor.go,
 * daemon/daemon.go restore).
 *
 * State lives in the container record under the engine lock: the persisted
 * RestartCount, HasBeenManuallyStopped and State.Restarting, and in memory
 * the backoff delay, the "cancelled" flag (moby's ExitOnNext) and a
 * generation that calls off a pending timer.  A scheduled restart is a
 * detached thread that sleeps on the engine's condvar for the backoff and
 * then calls container_start without holding the lock; the thread-local
 * claim below lets that one start through although the container shows
 * Running (moby keeps Running=true while restarting). */
#include "engine/restart.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/internal.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/thread.h"
#include "util/timeutil.h"

/* ---- pure policy logic ---- */

void
restart_policy_from_json (json_t *rp, arca_restart_policy_t *out)
{
  out->name = RESTART_NO;
  out->max_retry = 0;
  const char *name = json_get_str (rp, "Name");
  if (name == NULL)
    return;
  if (strcmp (name, "always") == 0)
    out->name = RESTART_ALWAYS;
  else if (strcmp (name, "unless-stopped") == 0)
    out->name = RESTART_UNLESS_STOPPED;
  else if (strcmp (name, "on-failure") == 0)
    {
      out->name = RESTART_ON_FAILURE;
      int64_t max = json_get_int (rp, "MaximumRetryCount", 0);
      out->max_retry = max > 0 ? (int) max : 0;
    }
}

bool
restart_policy_should_restart (const arca_restart_policy_t *p, int exit_code, bool manually_stopped,
                               int restart_count)
{
  switch (p->name)
    {
    case RESTART_ALWAYS:
      return true;
    case RESTART_UNLESS_STOPPED:
      return !manually_stopped;
    case RESTART_ON_FAILURE:
      if (p->max_retry == 0 || restart_count < p->max_retry)
        return exit_code != 0;
      return false;
    case RESTART_NO:
    default:
      return false;
    }
}

int64_t
restart_next_delay_ms (int64_t prev_delay_ms, int64_t exec_duration_ns)
{
  int64_t d = prev_delay_ms;
  if (exec_duration_ns >= RESTART_RESET_AFTER_NS)
    d = 0;
  if (d <= 0)
    d = RESTART_DELAY_MIN_MS;
  else if (d < RESTART_DELAY_MAX_MS)
    d *= 2;
  if (d > RESTART_DELAY_MAX_MS)
    d = RESTART_DELAY_MAX_MS;
  return d;
}

/* ---- manager ---- */

/* Set on a restart thread while it calls container_start: the generation it
 * was scheduled with (0 = not a restart thread). */
static __thread uint64_t restart_claim_gen;

typedef struct
{
  arca_engine_t *e;
  arca_container_t *c;
  int64_t delay_ms;
  uint64_t gen;    /* restart_gen at scheduling; 0 = start-up start (API-like) */
} restart_job_t;

static bool
job_still_wanted_locked (restart_job_t *j)
{
  arca_container_t *c = j->c;
  if (j->e->closing || c->removing || c->removed)
    return false;
  if (j->gen != 0)
    return c->restart_gen == j->gen && c->restarting;
  return !c->running && !c->starting;
}

static void *
restart_thread (void *arg)
{
  restart_job_t *j = arg;
  arca_engine_t *e = j->e;
  arca_container_t *c = j->c;

  struct timespec deadline;
  clock_gettime (CLOCK_REALTIME, &deadline);
  deadline.tv_sec += j->delay_ms / 1000;
  deadline.tv_nsec += (j->delay_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L)
    {
      deadline.tv_sec++;
      deadline.tv_nsec -= 1000000000L;
    }
  pthread_mutex_lock (&e->lock);
  while (job_still_wanted_locked (j))
    if (pthread_cond_timedwait (&e->changed, &e->lock, &deadline) == ETIMEDOUT)
      break;
  bool go = job_still_wanted_locked (j);
  pthread_mutex_unlock (&e->lock);

  if (go)
    {
      arca_error_t err;
      restart_claim_gen = j->gen;
      int r = container_start (e, c, &err);
      restart_claim_gen = 0;
      if (r < 0 && err.kind != ARCA_ERR_NOT_MODIFIED)
        {
          log_warn ("container %.12s: restart failed: %s", c->id, err.msg);
          /* moby: a failed policy restart leaves the container stopped. */
          pthread_mutex_lock (&e->lock);
          if (j->gen != 0 && c->restart_gen == j->gen && c->restarting && !c->starting)
            {
              c->running = false;
              c->restarting = false;
              c->pid = 0;
              arca_error_t ignored;
              if (!c->removed)
                container_save (e, c, &ignored);
              pthread_cond_broadcast (&e->changed);
            }
          pthread_mutex_unlock (&e->lock);
        }
      else if (r == 0)
        {
          pthread_mutex_lock (&e->lock);
          int count = c->restart_count;
          pthread_mutex_unlock (&e->lock);
          log_info ("container %.12s: restarted (restart count %d)", c->id, count);
        }
    }
  container_unref (c);
  free (j);
  return NULL;
}

/* Detached thread for j; false if it could not be created (j freed, ref
 * dropped).  Safe with the lock held: the thread takes it only later. */
static bool
spawn_job (restart_job_t *j)
{
  int r = thread_start_detached (restart_thread, j, 512 * 1024);
  if (r != 0)
    {
      log_error ("container %.12s: cannot start restart thread: %s", j->c->id, strerror (r));
      __atomic_sub_fetch (&j->c->refs, 1, __ATOMIC_ACQ_REL); /* never the last: the caller holds one */
      free (j);
      return false;
    }
  return true;
}

bool
restart_on_exit_locked (arca_engine_t *e, arca_container_t *c)
{
  if (e->closing || e->restoring || c->removing || c->removed)
    return false;
  arca_restart_policy_t p;
  _cleanup_json_ json_t *hc = container_host_config (c);
  restart_policy_from_json (json_object_get (hc, "RestartPolicy"), &p);
  if (p.name == RESTART_NO || c->restart_canceled)
    return false;
  int64_t ran = c->started_ns > 0 && c->finished_ns > c->started_ns ? c->finished_ns - c->started_ns : 0;
  c->restart_delay_ms = restart_next_delay_ms (c->restart_delay_ms, ran);
  if (!restart_policy_should_restart (&p, c->exit_code, c->manually_stopped, c->restart_count))
    return false;

  restart_job_t *j = xmalloc0 (sizeof *j);
  j->e = e;
  j->c = c;
  j->delay_ms = c->restart_delay_ms;
  j->gen = ++c->restart_gen;
  container_ref (c);
  if (!spawn_job (j))
    return false;
  /* moby SetRestarting: still "running" for the API, no process. */
  c->restart_count++;
  c->running = true;
  c->restarting = true;
  c->pid = 0;
  log_debug ("container %.12s: restarting in %lld ms (restart count %d)", c->id, (long long) c->restart_delay_ms,
             c->restart_count);
  return true;
}

bool
restart_cancel_locked (arca_engine_t *e, arca_container_t *c)
{
  /* A policy start under way: let it finish, then stop what it started. */
  struct timespec deadline;
  clock_gettime (CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 30;
  while (c->restarting && c->starting)
    if (pthread_cond_timedwait (&e->changed, &e->lock, &deadline) == ETIMEDOUT)
      break;
  c->restart_canceled = true;
  if (!(c->restarting && c->running && !c->starting))
    return false;
  c->restart_gen++;
  c->running = false;
  c->restarting = false;
  c->pid = 0;
  c->manually_stopped = true;
  arca_error_t err;
  if (!c->removed && container_save (e, c, &err) < 0)
    log_error ("container %.12s: save state: %s", c->id, err.msg);
  pthread_cond_broadcast (&e->changed);
  return true;
}

void
restart_exit_on_next_locked (arca_container_t *c)
{
  c->restart_canceled = true;
}

void
restart_reset_locked (arca_container_t *c)
{
  c->restart_count = 0;
  c->restart_delay_ms = 0;
  c->restart_canceled = false;
}

int
restart_claim_start_locked (arca_container_t *c)
{
  if (restart_claim_gen == 0)
    return 0;
  if (c->restart_gen == restart_claim_gen && c->restarting && c->running && !c->starting)
    return 1;
  return -1;
}

void
restart_after_restore (arca_engine_t *e)
{
  pthread_mutex_lock (&e->lock);
  e->restoring = false;
  for (arca_container_t *c = e->containers; c; c = c->next)
    {
      if (c->removed || c->removing || c->dead || c->running || c->starting || !c->has_been_started)
        continue;
      arca_restart_policy_t p;
      _cleanup_json_ json_t *hc = container_host_config (c);
      json_t *rp = json_object_get (hc, "RestartPolicy");
      restart_policy_from_json (rp, &p);
      if (!restart_policy_should_restart (&p, c->exit_code, c->manually_stopped, c->restart_count))
        continue;
      log_info ("container %.12s: restart policy %s: starting it again after the daemon restart", c->id,
                json_get_str (rp, "Name"));
      restart_job_t *j = xmalloc0 (sizeof *j);
      j->e = e;
      j->c = c;
      j->delay_ms = 0;
      j->gen = 0;
      container_ref (c);
      spawn_job (j);
    }
  pthread_mutex_unlock (&e->lock);
}
