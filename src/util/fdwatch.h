/* Waiting for many descriptors with one thread.
 *
 * The daemon learns of every exit from a connection to the process's shim
 * that stays silent until the exit.  A thread blocked in read() on each
 * costs ~30 KiB of resident memory (stack pages, TLS, the kernel's task)
 * and a thread creation at start-up per running container; here one
 * thread waits on all of them with epoll, so a running container costs a
 * descriptor (issue 15: costs that stay flat at scale).  When one becomes
 * readable or hangs up, its callback runs once, in a thread of its own:
 * what follows an exit blocks (unmounts, network teardown, fsync). */
#ifndef ARCA_UTIL_FDWATCH_H
#define ARCA_UTIL_FDWATCH_H

#include <stddef.h>

#include "util/error.h"

typedef void (*fdwatch_fn) (int fd, void *ctx);

/* Call fn(fd, ctx) once, on a new thread (stack_bytes; 0 = the default),
 * when fd is readable, at EOF or in error.  The watch ends with that call;
 * fd stays the caller's (fn usually closes it).  Everything fn needs must
 * be ready before this call: fn may run before it returns. */
int fdwatch_add (int fd, fdwatch_fn fn, void *ctx, size_t stack_bytes, arca_error_t *err);

#endif
