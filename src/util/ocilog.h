/* The OCI runtime's --log file with --log-format json (runc, crun): one
 * object per line, {"level":"error","msg":"...","time":"..."}. */
#ifndef ARCA_UTIL_OCILOG_H
#define ARCA_UTIL_OCILOG_H

#include <sys/types.h>

/* The "msg" of the last line with level "error" at or after byte offset
 * `from`, malloc'ed; NULL if there is none (or the file is unreadable).
 * runc's create failure reads e.g. `runc create failed: unable to start
 * container process: exec: "/x": stat /x: no such file or directory`. */
char *ocilog_last_error (const char *path, off_t from);

#endif
