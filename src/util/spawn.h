/* Running a helper program and collecting its output. */
#ifndef ARCA_UTIL_SPAWN_H
#define ARCA_UTIL_SPAWN_H

#include "util/error.h"
#include "util/strutil.h"

/* Run argv (argv[0] looked up in PATH) with stdin from /dev/null,
 * collecting stdout into *out and stderr into *errout (NUL-terminated).
 * *status gets the wait status.  -1 only if it could not be started. */
int spawn_capture (char **argv, arca_buf_t *out, arca_buf_t *errout, int *status, arca_error_t *err);
/* The same, with child_setup (system calls only; -1 with errno to fail)
 * run in the child before the exec when not NULL. */
int spawn_capture_with (char **argv, int (*child_setup) (void), arca_buf_t *out, arca_buf_t *errout, int *status,
                        arca_error_t *err);
/* The same, executing file (looked up in PATH if it has no '/') with
 * argv as its arguments: argv[0] need not name it. */
int spawn_capture_file (const char *file, char **argv, int (*child_setup) (void), arca_buf_t *out, arca_buf_t *errout,
                        int *status, arca_error_t *err);

#endif
