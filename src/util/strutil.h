/* Small string helpers. */
#ifndef ARCA_UTIL_STRUTIL_H
#define ARCA_UTIL_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* asprintf that aborts on OOM; never returns NULL. */
char *xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
char *xstrdup (const char *s);      /* NULL -> NULL */
void *xmalloc0 (size_t n);
void *xrealloc (void *p, size_t n);
bool str_has_prefix (const char *s, const char *prefix);
bool str_has_suffix (const char *s, const char *suffix);
bool str_is_hex (const char *s, size_t len);   /* len chars of [0-9a-f] */

/* NULL-terminated string vectors.  strv_append walks the vector to find
 * its end: O(n) per call, for short lists of a known bound only.  Lists
 * whose length the input decides (a request, an archive, a registry, a
 * container's files) are built with arca_strv_builder_t below. */
size_t strv_len (char **v);
char **strv_append (char **v, const char *s);  /* copies s */
char **strv_copy (char **v);                    /* O(n) */
void strv_free (char **v);

/* A string vector under construction: length and capacity kept, so each
 * add is amortised O(1).  b.v is NULL-terminated after every add (NULL
 * while empty).  Start from {0}; end with strv_builder_finish (or
 * strv_builder_clear to drop it). */
typedef struct { char **v; size_t len, cap; } arca_strv_builder_t;
void strv_builder_add (arca_strv_builder_t *b, const char *s);  /* copies s */
void strv_builder_take (arca_strv_builder_t *b, char *s);       /* takes s */
/* The vector (never NULL, maybe empty); b is left empty. */
char **strv_builder_finish (arca_strv_builder_t *b);
void strv_builder_clear (arca_strv_builder_t *b);
#define _cleanup_strv_builder_ __attribute__ ((cleanup (strv_builder_clear)))

/* Growable byte buffer. */
typedef struct { char *data; size_t len, cap; } arca_buf_t;
void buf_append (arca_buf_t *b, const void *data, size_t len);
void buf_printf (arca_buf_t *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void buf_free (arca_buf_t *b);

#endif
