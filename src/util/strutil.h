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

/* NULL-terminated string vectors. */
size_t strv_len (char **v);
char **strv_append (char **v, const char *s);  /* copies s */
char **strv_copy (char **v);
void strv_free (char **v);

/* Growable byte buffer. */
typedef struct { char *data; size_t len, cap; } arca_buf_t;
void buf_append (arca_buf_t *b, const void *data, size_t len);
void buf_printf (arca_buf_t *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void buf_free (arca_buf_t *b);

#endif
