#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
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
