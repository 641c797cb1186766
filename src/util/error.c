#include "util/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int
arca_error_set (arca_error_t *err, arca_error_kind_t kind, const char *fmt, ...)
{
  if (err == NULL)
    return -1;
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (err->msg, sizeof err->msg, fmt, ap);
  va_end (ap);
  err->kind = kind;
  err->errno_value = 0;
  return -1;
}

int
arca_error_errno (arca_error_t *err, int errno_value, const char *fmt, ...)
{
  if (err == NULL)
    return -1;
  char buf[768];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (buf, sizeof buf, fmt, ap);
  va_end (ap);
  snprintf (err->msg, sizeof err->msg, "%s: %s", buf, strerror (errno_value));
  err->kind = errno_value == ENOENT ? ARCA_ERR_NOT_FOUND : ARCA_ERR_INTERNAL;
  err->errno_value = errno_value;
  return -1;
}

int
arca_error_wrap (arca_error_t *err, const char *fmt, ...)
{
  if (err == NULL)
    return -1;
  char prefix[512], old[sizeof err->msg];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (prefix, sizeof prefix, fmt, ap);
  va_end (ap);
  memcpy (old, err->msg, sizeof old);
  int n = snprintf (err->msg, sizeof err->msg, "%s: ", prefix);
  if (n >= 0 && (size_t) n < sizeof err->msg)
    snprintf (err->msg + n, sizeof err->msg - n, "%.*s", (int) (sizeof err->msg - n - 1), old);
  return -1;
}

int
arca_error_http_status (arca_error_kind_t kind)
{
  switch (kind)
    {
    case ARCA_OK: return 200;
    case ARCA_ERR_INVALID: return 400;
    case ARCA_ERR_UNAUTHORIZED: return 401;
    case ARCA_ERR_FORBIDDEN: return 403;
    case ARCA_ERR_NOT_FOUND: return 404;
    case ARCA_ERR_CONFLICT: return 409;
    case ARCA_ERR_NOT_MODIFIED: return 304;
    case ARCA_ERR_NOT_IMPLEMENTED: return 501;
    case ARCA_ERR_UNAVAILABLE: return 503;
    case ARCA_ERR_TOO_LARGE: return 413;
    case ARCA_ERR_INTERNAL:
    default: return 500;
    }
}

void
arca_error_clear (arca_error_t *err)
{
  if (err)
    {
      err->kind = ARCA_OK;
      err->errno_value = 0;
      err->msg[0] = '\0';
    }
}

const char *
arca_go_strerror (int e)
{
  static __thread char buf[128];
  snprintf (buf, sizeof buf, "%s", strerror (e));
  if (buf[0] >= 'A' && buf[0] <= 'Z')
    buf[0] = (char) (buf[0] - 'A' + 'a');
  return buf;
}
