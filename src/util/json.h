/* jansson helpers used across modules. */
#ifndef ARCA_UTIL_JSON_H
#define ARCA_UTIL_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Field getters that tolerate missing keys, null values and wrong types. */
const char *json_get_str (json_t *obj, const char *key);        /* NULL if absent */
int64_t json_get_int (json_t *obj, const char *key, int64_t def);
bool json_get_bool (json_t *obj, const char *key, bool def);
/* NULL-terminated copy of a JSON array of strings (NULL if absent/not array). */
char **json_get_strv (json_t *obj, const char *key);
/* JSON array of strings from a strv (empty array for NULL). */
json_t *json_from_strv (char **v);
/* json_dumps compact; caller frees. */
char *json_dump_compact (json_t *j);

#endif
