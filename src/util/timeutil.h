/* Time helpers.  Times are int64 nanoseconds since the Unix epoch (UTC). */
#ifndef ARCA_UTIL_TIMEUTIL_H
#define ARCA_UTIL_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARCA_NSEC_PER_SEC 1000000000LL

int64_t time_now_ns (void);       /* CLOCK_REALTIME */
int64_t time_mono_ns (void);      /* CLOCK_MONOTONIC */

/* RFC 3339 with nanoseconds as Go's time.RFC3339Nano prints it (trailing
 * zeros of the fraction trimmed, "Z"); ns == 0 gives Go's zero time
 * "0001-01-01T00:00:00Z" as dockerd reports never-set times.  buf >= 40. */
void time_format_rfc3339nano (int64_t ns, char *buf, size_t len);
/* Fixed 9-digit fraction (log timestamps: moby jsonmessage RFC3339NanoFixed). */
void time_format_rfc3339nano_fixed (int64_t ns, char *buf, size_t len);
/* Parse RFC 3339 (any fraction, Z or +hh:mm); returns 0 ok, -1 bad. */
int time_parse_rfc3339 (const char *s, int64_t *ns);
/* Parse Docker's since/until query values: unix seconds with optional
 * ".nanoseconds" fraction, or RFC 3339.  -1 if bad. */
int time_parse_timestamp (const char *s, int64_t *ns);
/* Go's time.ParseDuration ("1h30m", "10s", "1.5h", "-2m"), which Docker's
 * GetTimestamp tries first for since/until values; 0 ok, -1 if s is not a
 * duration. */
int time_parse_go_duration (const char *s, int64_t *ns);
/* Go's error text for s that time_parse_go_duration refused (malloc'd). */
char *time_go_duration_error (const char *s);
/* Go's time.Duration String ("1.5s", "1m30s", "250ms", "0s"), as dockerd
 * prints durations in messages.  buf >= 40. */
void time_format_go_duration (int64_t ns, char *buf, size_t len);
/* Docker's human durations ("Up 3 minutes", "About an hour"): moby
 * go-units HumanDuration.  buf >= 64. */
void time_human_duration (int64_t ns, char *buf, size_t len);

#endif
