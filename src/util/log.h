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

#endif
