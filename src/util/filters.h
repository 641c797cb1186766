/* Docker's `filters=` query argument (moby api/types/filters/parse.go):
 * JSON {"key":{"value":true,...}} or the legacy {"key":["value",...]}. */
#ifndef ARCA_UTIL_FILTERS_H
#define ARCA_UTIL_FILTERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "util/error.h"

/* Parse the query value (NULL or "" -> *out = NULL).  Normalises to the map
 * form.  Bad JSON -> 400 "invalid filter". */
int filters_parse (const char *text, json_t **out, arca_error_t *err);
/* Values of key, NULL-terminated (NULL if the key is absent). */
char **filters_values (json_t *filters, const char *key);
/* 400 "invalid filter '<key>'" for any key not in allowed (NULL-terminated). */
int filters_validate (json_t *filters, const char *const *allowed, arca_error_t *err);
/* Label filter match: each value is "key" (label present) or "key=value"
 * (exact); all values must match (moby filters.MatchKVList). */
bool filters_match_labels (json_t *filters, json_t *labels);
/* moby filters.Args.Match for one value: source equals pattern, or the
 * pattern (a regular expression, POSIX extended syntax standing in for Go's
 * RE2) matches somewhere in source; an invalid pattern matches nothing. */
bool filters_regex_match (const char *pattern, const char *source);

/* The `until` filter as moby's timetypes.GetTimestamp reads it: a Go
 * duration before now ("24h"; not "0"), or a timestamp (unix seconds with
 * fraction, or RFC 3339).  *until_ns = 0 when absent.  400 "more than one
 * until filter specified" / "failed to parse value as time or duration". */
int filters_until (json_t *filters, int64_t *until_ns, arca_error_t *err);

#endif
