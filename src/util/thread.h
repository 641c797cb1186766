/* Threads the daemon starts and never joins. */
#ifndef ARCA_UTIL_THREAD_H
#define ARCA_UTIL_THREAD_H

#include <stddef.h>

/* Run fn(arg) on a new detached thread with a stack of stack_bytes (0:
 * glibc's default, 8 MiB of address space); 0 or pthread_create's error
 * number. */
int thread_start_detached (void *(*fn) (void *), void *arg, size_t stack_bytes);

#endif
