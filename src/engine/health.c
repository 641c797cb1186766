/* Healthchecks (see engine/health.h). */
#include "engine/health.h"
#include "engine/events.h"
#include "engine/exec.h"
#include "engine/internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/thread.h"
#include "util/timeutil.h"

/* moby daemon/health.go defaults */
#define DEFAULT_INTERVAL_NS (30LL * ARCA_NSEC_PER_SEC)
#define DEFAULT_TIMEOUT_NS (30LL * ARCA_NSEC_PER_SEC)
#define DEFAULT_START_INTERVAL_NS (5LL * ARCA_NSEC_PER_SEC)
#define DEFAULT_RETRIES 3
/* moby api/types/container MinimumDuration */
#define MINIMUM_DURATION_NS 1000000LL

struct arca_health
{
  char status[16];    /* "starting" | "healthy" | "unhealthy" */
  int failing_streak;
  json_t *log;        /* [{Start, End, ExitCode, Output}], oldest first */
  bool monitoring;    /* a monitor thread runs for gen */
  uint64_t gen;       /* bumped whenever the monitor is stopped */
  int stop_fd;        /* the running monitor's eventfd, -1 */
};

/* ---- configuration ---- */

static int64_t
duration_or (json_t *hc, const char *key, int64_t def)
{
  int64_t v = json_get_int (hc, key, 0);
  return v == 0 ? def : v;
}

int
health_config_validate (json_t *hc, arca_error_t *err)
{
  if (!json_is_object (hc))
    return 0;
  static const char *const durations[] = { "Interval", "Timeout", "StartPeriod", "StartInterval", NULL };
  for (int i = 0; durations[i]; i++)
    {
      int64_t v = json_get_int (hc, durations[i], 0);
      if (v != 0 && v < MINIMUM_DURATION_NS)
        return arca_error_set (err, ARCA_ERR_INVALID, "%s in Healthcheck cannot be less than 1ms", durations[i]);
      if (i == 1)
        {
          /* moby checks Retries between Timeout and StartPeriod */
          if (json_get_int (hc, "Retries", 0) < 0)
            return arca_error_set (err, ARCA_ERR_INVALID, "Retries in Healthcheck cannot be negative");
        }
    }
  return 0;
}

void
health_config_merge (json_t *cfg, json_t *image_hc)
{
  if (!json_is_object (image_hc))
    return;
  json_t *user = json_object_get (cfg, "Healthcheck");
  if (!json_is_object (user))
    {
      json_object_set_new (cfg, "Healthcheck", json_deep_copy (image_hc));
      return;
    }
  if (json_array_size (json_object_get (user, "Test")) == 0 && json_object_get (image_hc, "Test"))
    json_object_set (user, "Test", json_object_get (image_hc, "Test"));
  static const char *const fields[] = { "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries", NULL };
  for (int i = 0; fields[i]; i++)
    if (json_get_int (user, fields[i], 0) == 0 && json_get_int (image_hc, fields[i], 0) != 0)
      json_object_set (user, fields[i], json_object_get (image_hc, fields[i]));
}

char **
health_probe_argv (json_t *hc, json_t *shell)
{
  json_t *test = json_object_get (hc, "Test");
  const char *kind = json_string_value (json_array_get (test, 0));
  if (kind == NULL || json_array_size (test) < 2)
    return NULL;
  bool use_shell = strcmp (kind, "CMD-SHELL") == 0;
  if (!use_shell && strcmp (kind, "CMD") != 0)
    return NULL; /* "NONE", or a type dockerd does not know either */
  char **argv = xmalloc0 (sizeof *argv);
  if (use_shell)
    {
      size_t n = json_array_size (shell);
      for (size_t i = 0; i < n; i++)
        if (json_is_string (json_array_get (shell, i)))
          argv = strv_append (argv, json_string_value (json_array_get (shell, i)));
      if (n == 0)
        {
          argv = strv_append (argv, "/bin/sh");
          argv = strv_append (argv, "-c");
        }
    }
  for (size_t i = 1; i < json_array_size (test); i++)
    if (json_is_string (json_array_get (test, i)))
      argv = strv_append (argv, json_string_value (json_array_get (test, i)));
  return argv;
}

void
health_next_state (char status[16], int *failing_streak, int exit_code, int retries, int64_t start_period_ns,
                   int64_t started_ns, int64_t probe_start_ns)
{
  if (retries <= 0)
    retries = DEFAULT_RETRIES;
  if (exit_code == 0)
    {
      *failing_streak = 0;
      snprintf (status, 16, "healthy");
      return;
    }
  /* A container still starting is given its start period: failures in it
   * do not count. */
  if (strcmp (status, "starting") == 0 && probe_start_ns - started_ns < start_period_ns)
    return;
  (*failing_streak)++;
  if (*failing_streak >= retries)
    snprintf (status, 16, "unhealthy");
}

/* ---- records ---- */

static arca_health_t *
health_new (void)
{
  arca_health_t *h = xmalloc0 (sizeof *h);
  snprintf (h->status, sizeof h->status, "starting");
  h->log = json_array ();
  h->stop_fd = -1;
  return h;
}

void
health_free (arca_health_t *h)
{
  if (h == NULL)
    return;
  json_decref (h->log);
  free (h);
}

json_t *
health_to_record (const arca_health_t *h)
{
  if (h == NULL)
    return NULL;
  return json_pack ("{s:s,s:i,s:O}", "Status", h->status, "FailingStreak", h->failing_streak, "Log", h->log);
}

arca_health_t *
health_from_record (json_t *rec)
{
  if (!json_is_object (rec))
    return NULL;
  arca_health_t *h = health_new ();
  const char *st = json_get_str (rec, "Status");
  if (st && (strcmp (st, "starting") == 0 || strcmp (st, "healthy") == 0 || strcmp (st, "unhealthy") == 0))
    snprintf (h->status, sizeof h->status, "%s", st);
  h->failing_streak = (int) json_get_int (rec, "FailingStreak", 0);
  json_t *log = json_object_get (rec, "Log");
  if (json_is_array (log))
    {
      json_decref (h->log);
      h->log = json_deep_copy (log);
    }
  return h;
}

json_t *
health_view_locked (arca_container_t *c)
{
  if (c->health == NULL)
    return NULL;
  return json_pack ("{s:s,s:i,s:o}", "Status", c->health->status, "FailingStreak", c->health->failing_streak,
                    "Log", json_deep_copy (c->health->log));
}

const char *
health_status_locked (arca_container_t *c)
{
  return c->health ? c->health->status : "none";
}

/* ---- the monitor ---- */

typedef struct
{
  arca_engine_t *e;
  arca_container_t *c; /* our reference */
  uint64_t gen;
  int stop_fd;
} monitor_t;

static bool
current_locked (monitor_t *m)
{
  arca_health_t *h = m->c->health;
  return !m->e->closing && !m->c->removed && h && h->monitoring && h->gen == m->gen;
}

/* What the next round needs, read under the lock. */
typedef struct
{
  char **argv;
  int64_t wait_ns, timeout_ns, start_period_ns, started_ns;
  int retries;
} round_t;

static bool
round_prepare_locked (monitor_t *m, round_t *r)
{
  arca_container_t *c = m->c;
  _cleanup_json_ json_t *cfg = container_config (c);
  json_t *hc = json_object_get (cfg, "Healthcheck");
  r->argv = health_probe_argv (hc, json_object_get (cfg, "Shell"));
  if (r->argv == NULL)
    return false;
  int64_t interval = duration_or (hc, "Interval", DEFAULT_INTERVAL_NS);
  int64_t start_interval = duration_or (hc, "StartInterval", DEFAULT_START_INTERVAL_NS);
  r->start_period_ns = json_get_int (hc, "StartPeriod", 0);
  r->timeout_ns = duration_or (hc, "Timeout", DEFAULT_TIMEOUT_NS);
  r->retries = (int) json_get_int (hc, "Retries", 0);
  r->started_ns = c->started_ns;
  /* moby monitor getInterval: StartInterval while starting within the
   * start period. */
  bool in_start_period = time_now_ns () - c->started_ns < r->start_period_ns;
  r->wait_ns = in_start_period && strcmp (c->health->status, "starting") == 0 ? start_interval : interval;
  return true;
}

/* true if stop_fd fired within wait_ns */
static bool
wait_stop (int fd, int64_t wait_ns)
{
  int64_t until = time_mono_ns () + wait_ns;
  for (;;)
    {
      int64_t left = until - time_mono_ns ();
      if (left <= 0)
        return false;
      struct pollfd p = { .fd = fd, .events = POLLIN };
      int n = poll (&p, 1, (int) ((left + 999999) / 1000000));
      if (n > 0)
        return true;
      if (n < 0 && errno != EINTR)
        return true;
    }
}

static json_t *
result_json (int64_t start_ns, int64_t end_ns, int exit_code, const char *output)
{
  char start[48], end[48];
  time_format_rfc3339nano (start_ns, start, sizeof start);
  time_format_rfc3339nano (end_ns, end, sizeof end);
  return json_pack ("{s:s,s:s,s:i,s:s}", "Start", start, "End", end, "ExitCode", exit_code, "Output",
                    output ? output : "");
}

/* moby handleProbeResult: log, streak, status; persist and announce a
 * change of status. */
static void
apply_result_locked (monitor_t *m, const round_t *r, json_t *result, int64_t probe_start_ns)
{
  arca_health_t *h = m->c->health;
  json_array_append_new (h->log, result);
  while (json_array_size (h->log) > HEALTH_LOG_MAX)
    json_array_remove (h->log, 0);
  char before[16];
  snprintf (before, sizeof before, "%s", h->status);
  health_next_state (h->status, &h->failing_streak, (int) json_get_int (result, "ExitCode", -1), r->retries,
                     r->start_period_ns, r->started_ns, probe_start_ns);
  if (strcmp (before, h->status) == 0)
    return;
  arca_error_t err;
  if (container_save (m->e, m->c, &err) < 0)
    log_warn ("container %.12s: save health: %s", m->c->id, err.msg);
  _cleanup_free_ char *action = xasprintf ("health_status: %s", h->status);
  events_container_locked (m->e, m->c, action, NULL);
}

/* One probe; false when the monitor was told to stop meanwhile. */
static bool
probe_once (monitor_t *m, const round_t *r)
{
  int64_t start = time_now_ns ();
  int code = -1;
  bool timed_out = false;
  _cleanup_free_ char *out = NULL;
  arca_error_t err;
  int rc = exec_probe (m->e, m->c, r->argv, r->timeout_ns, HEALTH_OUTPUT_MAX, m->stop_fd, &code, &timed_out, &out,
                       &err);
  if (rc < 0 && err.kind == ARCA_ERR_UNAVAILABLE)
    return false; /* stopped while probing */
  _cleanup_free_ char *msg = NULL;
  if (rc < 0)
    {
      log_warn ("container %.12s: health check error: %s", m->c->id, err.msg);
      code = -1;
      msg = xstrdup (err.msg);
    }
  else if (timed_out)
    {
      char d[48];
      time_format_go_duration (r->timeout_ns, d, sizeof d);
      msg = out && *out ? xasprintf ("Health check exceeded timeout (%s): %s", d, out)
                        : xasprintf ("Health check exceeded timeout (%s)", d);
      code = -1;
    }
  json_t *result = result_json (start, time_now_ns (), code, msg ? msg : out);
  pthread_mutex_lock (&m->e->lock);
  bool go_on = current_locked (m);
  if (go_on)
    apply_result_locked (m, r, result, start);
  else
    json_decref (result);
  pthread_mutex_unlock (&m->e->lock);
  return go_on;
}

static void *
monitor_thread (void *arg)
{
  monitor_t *m = arg;
  for (;;)
    {
      round_t r = { 0 };
      pthread_mutex_lock (&m->e->lock);
      bool go_on = current_locked (m) && round_prepare_locked (m, &r);
      pthread_mutex_unlock (&m->e->lock);
      bool ran = go_on && !wait_stop (m->stop_fd, r.wait_ns) && probe_once (m, &r);
      strv_free (r.argv);
      if (!ran)
        break;
    }
  pthread_mutex_lock (&m->e->lock);
  arca_health_t *h = m->c->health;
  if (h && h->monitoring && h->gen == m->gen)
    {
      /* Ended by itself (removal, daemon closing): nobody else will. */
      h->monitoring = false;
      h->stop_fd = -1;
      h->gen++;
    }
  pthread_mutex_unlock (&m->e->lock);
  close (m->stop_fd);
  container_unref (m->c);
  free (m);
  return NULL;
}

static void
monitor_start_locked (arca_engine_t *e, arca_container_t *c)
{
  arca_health_t *h = c->health;
  if (h->monitoring)
    return;
  int fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0)
    {
      log_warn ("container %.12s: healthcheck: eventfd: %s", c->id, strerror (errno));
      return;
    }
  monitor_t *m = xmalloc0 (sizeof *m);
  m->e = e;
  m->c = c;
  m->gen = h->gen;
  m->stop_fd = fd;
  container_ref (c);
  int r = thread_start_detached (monitor_thread, m, 256 * 1024);
  if (r != 0)
    {
      log_warn ("container %.12s: healthcheck: start monitor: %s", c->id, strerror (r));
      close (fd);
      __atomic_sub_fetch (&c->refs, 1, __ATOMIC_ACQ_REL); /* the table still holds one */
      free (m);
      return;
    }
  h->monitoring = true;
  h->stop_fd = fd;
}

static bool
has_probe_locked (arca_container_t *c)
{
  _cleanup_json_ json_t *cfg = container_config (c);
  _cleanup_strv_ char **argv
      = health_probe_argv (json_object_get (cfg, "Healthcheck"), json_object_get (cfg, "Shell"));
  return argv != NULL;
}

void
health_stop_locked (arca_engine_t *e, arca_container_t *c)
{
  (void) e;
  arca_health_t *h = c->health;
  if (h == NULL || !h->monitoring)
    return;
  uint64_t one = 1;
  if (h->stop_fd >= 0 && write (h->stop_fd, &one, sizeof one) < 0)
    log_debug ("container %.12s: healthcheck: stop: %s", c->id, strerror (errno));
  h->monitoring = false;
  h->stop_fd = -1; /* the thread closes it */
  h->gen++;
  /* moby CloseMonitorChannel: unhealthy once the monitor stopped */
  snprintf (h->status, sizeof h->status, "unhealthy");
}

void
health_start_locked (arca_engine_t *e, arca_container_t *c)
{
  if (!has_probe_locked (c))
    return;
  health_stop_locked (e, c);
  if (c->health == NULL)
    c->health = health_new ();
  snprintf (c->health->status, sizeof c->health->status, "starting");
  c->health->failing_streak = 0;
  monitor_start_locked (e, c);
}

void
health_update_locked (arca_engine_t *e, arca_container_t *c)
{
  bool want = c->running && !c->paused && !c->restarting && !c->removed && has_probe_locked (c);
  if (!want)
    {
      health_stop_locked (e, c);
      return;
    }
  if (c->health == NULL)
    c->health = health_new ();
  monitor_start_locked (e, c);
}
