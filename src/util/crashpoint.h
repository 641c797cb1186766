/* Deterministic fault injection for crash-consistency tests.
 *
 * ARCA_CRASHPOINT=<name> in the daemon's environment makes it kill itself
 * with SIGKILL (exactly what `kill -9` does: no handler, no flush, no
 * atexit) the first time execution reaches crashpoint("<name>").  Unset,
 * a crash point costs one load of a cached pointer.  It is a debug aid for
 * testing start-up recovery (docs/design.md "Crash consistency" lists the
 * points); it gives a client no power the daemon's own user lacks, since
 * only whoever starts the daemon sets its environment. */
#ifndef ARCA_UTIL_CRASHPOINT_H
#define ARCA_UTIL_CRASHPOINT_H

void crashpoint (const char *name);

#endif
