/* Errors: every fallible function returns int (0 ok, negative on failure)
 * and takes arca_error_t *err last.  The kind maps to an HTTP status
 * (moby api/server/httpstatus/status.go FromError); the message is the text
 * the Docker clients print, in dockerd's exact wording. */
#ifndef ARCA_UTIL_ERROR_H
#define ARCA_UTIL_ERROR_H

#include <stdarg.h>

typedef enum {
  ARCA_OK = 0,
  ARCA_ERR_INTERNAL,      /* 500 */
  ARCA_ERR_INVALID,       /* 400 */
  ARCA_ERR_NOT_FOUND,     /* 404 */
  ARCA_ERR_CONFLICT,      /* 409 */
  ARCA_ERR_NOT_MODIFIED,  /* 304 */
  ARCA_ERR_FORBIDDEN,     /* 403 */
  ARCA_ERR_UNAUTHORIZED,  /* 401 */
  ARCA_ERR_UNAVAILABLE,   /* 503 */
  ARCA_ERR_NOT_IMPLEMENTED, /* 501 */
  ARCA_ERR_TOO_LARGE,     /* 413: a request body over its route's limit */
} arca_error_kind_t;

typedef struct {
  arca_error_kind_t kind;
  int errno_value;        /* errno at the failure, 0 if none */
  char msg[1024];
} arca_error_t;

/* Set *err (if non-NULL) and return -1.  printf-style message. */
int arca_error_set (arca_error_t *err, arca_error_kind_t kind, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Like arca_error_set with ARCA_ERR_INTERNAL, appending ": strerror(errno)". */
int arca_error_errno (arca_error_t *err, int errno_value, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Prefix the existing message with "<prefix>: " keeping the kind; returns -1. */
int arca_error_wrap (arca_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* HTTP status for a kind (ARCA_OK -> 200). */
int arca_error_http_status (arca_error_kind_t kind);

void arca_error_clear (arca_error_t *err);

/* strerror as Go's syscall.Errno prints it ("no such file or directory"),
 * for dockerd's texts.  Thread-local buffer. */
const char *arca_go_strerror (int errno_value);

#endif
