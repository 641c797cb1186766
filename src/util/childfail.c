#include "util/childfail.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void
child_fail (int errfd, const char *fmt, ...)
{
  char buf[1024];
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (buf, sizeof buf, fmt, ap);
  va_end (ap);
  if (n > 0)
    (void) !write (errfd, buf, (size_t) n < sizeof buf ? (size_t) n : sizeof buf - 1);
  _exit (127);
}
