/* The last words of a forked child before exec: its error goes to a pipe
 * the parent reads, then the child exits. */
#ifndef ARCA_UTIL_CHILDFAIL_H
#define ARCA_UTIL_CHILDFAIL_H

/* Write the formatted message (at most 1023 bytes) to errfd and _exit(127),
 * the shell's "command not found" status, as runc's init does.  Only for
 * the child between fork and exec: no allocation, no stdio buffers. */
void __attribute__ ((noreturn, format (printf, 2, 3))) child_fail (int errfd, const char *fmt, ...);

#endif
