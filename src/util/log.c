#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <time.h>

static arca_log_level_t current_level = ARCA_LOG_INFO;

void arca_log_set_level (arca_log_level_t level) { current_level = level; }
arca_log_level_t arca_log_get_level (void) { return current_level; }

int
arca_log_parse_level (const char *s)
{
  if (strcmp (s, "debug") == 0) return ARCA_LOG_DEBUG;
  if (strcmp (s, "info") == 0) return ARCA_LOG_INFO;
  if (strcmp (s, "warning") == 0 || strcmp (s, "warn") == 0) return ARCA_LOG_WARNING;
  if (strcmp (s, "error") == 0) return ARCA_LOG_ERROR;
  return -1;
}

void
arca_log (arca_log_level_t level, const char *fmt, ...)
{
  static const char *names[] = { "debug", "info", "warning", "error" };
  if (level < current_level)
    return;
  char msg[2048];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r (&ts.tv_sec, &tm);
  char tbuf[32];
  strftime (tbuf, sizeof tbuf, "%Y-%m-%dT%H:%M:%S", &tm);
  fprintf (stderr, "%s.%03ldZ %s %s\n", tbuf, ts.tv_nsec / 1000000, names[level], msg);
}

static int64_t
clock_ns (clockid_t clk)
{
  struct timespec ts;
  clock_gettime (clk, &ts);
  return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void
arca_trace_begin (arca_trace_t *t, const char *id, const char *op)
{
  snprintf (t->id, sizeof t->id, "%.12s", id ? id : "-");
  t->op = op;
  t->last_ns = current_level == ARCA_LOG_DEBUG ? clock_ns (CLOCK_MONOTONIC) : 0;
}

void
arca_trace_mark (arca_trace_t *t, const char *phase)
{
  if (current_level != ARCA_LOG_DEBUG)
    return;
  int64_t now = clock_ns (CLOCK_MONOTONIC);
  arca_log (ARCA_LOG_DEBUG, "trace %s %s.%s %lld us", t->id, t->op, phase, (long long) ((now - t->last_ns) / 1000));
  t->last_ns = clock_ns (CLOCK_MONOTONIC); /* the log line itself is not the next phase's */
}

void
arca_trace_since (arca_trace_t *t, const char *phase, int64_t realtime_ns)
{
  if (current_level != ARCA_LOG_DEBUG)
    return;
  int64_t d = clock_ns (CLOCK_REALTIME) - realtime_ns;
  arca_log (ARCA_LOG_DEBUG, "trace %s %s.%s %lld us", t->id, t->op, phase, (long long) (d > 0 ? d / 1000 : 0));
  t->last_ns = clock_ns (CLOCK_MONOTONIC);
}
