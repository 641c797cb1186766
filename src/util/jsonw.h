/* JSON text written straight into a buffer, byte for byte as jansson's
 * json_dumps (JSON_COMPACT | JSON_ENCODE_ANY) writes the same values: for
 * answers that are large lists of records (GET /containers/json), where
 * building a jansson tree only to dump it costs an allocation per value
 * (issue 15's `docker ps -a` at 1,000 containers).  The caller writes the
 * structure (braces, commas, "key": prefixes) with jw_raw. */
#ifndef ARCA_UTIL_JSONW_H
#define ARCA_UTIL_JSONW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strutil.h"

/* Room for n more bytes (and the NUL) in b: one allocation for a list
 * whose size is known roughly, instead of doublings and their copies. */
void jw_reserve (arca_buf_t *b, size_t n);

/* Appends len bytes as they are; inline for the common case of room. */
static inline void
jw_append (arca_buf_t *b, const char *data, size_t len)
{
  if (b->len + len + 1 > b->cap)
    {
      buf_append (b, data, len);
      return;
    }
  __builtin_memcpy (b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
}
/* A string literal as it is (structure: braces, commas, "key":). */
#define jw_lit(b, s) jw_append ((b), "" s "", sizeof (s) - 1)

/* Appends s as it is (structure, keys known to need no escaping). */
void jw_raw (arca_buf_t *b, const char *s);
/* Appends s as a JSON string, escaped as jansson's dump_string does
 * without flags: \" \\ \b \f \n \r \t, other bytes below 0x20 as \u00XX
 * (upper-case hex); '/' and non-ASCII UTF-8 as they are.  NULL -> "". */
void jw_str (arca_buf_t *b, const char *s);
void jw_strn (arca_buf_t *b, const char *s, size_t len);
/* A string array, or null for NULL (json_from_strv gives [] for NULL:
 * callers choose). */
void jw_strv (arca_buf_t *b, char *const *v);
void jw_int (arca_buf_t *b, int64_t v);
void jw_bool (arca_buf_t *b, int v);
/* Any jansson value, dumped with json_dumps's compact flags into b. */
void jw_json (arca_buf_t *b, const json_t *v);

#endif
