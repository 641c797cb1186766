/* Leveled logging to stderr: "time level msg".  Thread-safe (one fprintf). */
#ifndef ARCA_UTIL_LOG_H
#define ARCA_UTIL_LOG_H

typedef enum { ARCA_LOG_DEBUG, ARCA_LOG_INFO, ARCA_LOG_WARNING, ARCA_LOG_ERROR } arca_log_level_t;

void arca_log_set_level (arca_log_level_t level);
arca_log_level_t arca_log_get_level (void);
/* Parse "debug|info|warning|error" (also "warn"); -1 if unknown. */
int arca_log_parse_level (const char *s);
void arca_log (arca_log_level_t level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

#define log_debug(...) arca_log (ARCA_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) arca_log (ARCA_LOG_INFO, __VA_ARGS__)
#define log_warn(...) arca_log (ARCA_LOG_WARNING, __VA_ARGS__)
#define log_error(...) arca_log (ARCA_LOG_ERROR, __VA_ARGS__)

#include <stdint.h>

/* Per-phase timings of one operation for bench/trace.sh, logged at debug
 * level as "trace <id> <op>.<phase> <us since the previous mark> us": a
 * phase's line is written when it ends.  Costs two clock reads per mark and
 * nothing else unless the level is debug. */
typedef struct
{
  char id[13]; /* the container's short ID */
  const char *op; /* "start", "exit", "remove", ... */
  int64_t last_ns; /* CLOCK_MONOTONIC */
} arca_trace_t;

void arca_trace_begin (arca_trace_t *t, const char *id, const char *op);
void arca_trace_mark (arca_trace_t *t, const char *phase);
/* A phase that ended at a known CLOCK_REALTIME instant (the container's
 * exit, seen by the shim): logs the time from then to now. */
void arca_trace_since (arca_trace_t *t, const char *phase, int64_t realtime_ns);
/* r, after marking the phase that produced it: a step's result and its
 * timing in one expression. */
static inline int
arca_traced (int r, arca_trace_t *t, const char *phase)
{
  arca_trace_mark (t, phase);
  return r;
}

#endif
