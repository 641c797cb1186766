/* The local log driver's file format (moby daemon/logger/local): each entry
 * is a protobuf logdriver.LogEntry (1 source string, 2 time_nano int64,
 * 3 line bytes, 4 partial bool) framed by its length as a 4-byte big-endian
 * integer before and after.  The line has no trailing newline; a piece of
 * an over-long line is partial.  Hand-encoded: one fixed four-field message
 * does not justify a protobuf library and generated code. */
#ifndef ARCA_UTIL_LOCALLOG_H
#define ARCA_UTIL_LOCALLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strutil.h"

#define LOCALLOG_MAX_ENTRY (1024 * 1024)

/* Append one framed entry to out. */
void locallog_encode (arca_buf_t *out, const char *source, const void *line, size_t len, bool partial,
                      int64_t time_ns);

/* Decode the protobuf message of one frame (without the length words).
 * *source and *line point into msg (not NUL-terminated); -1 if malformed.
 * Unknown fields are skipped. */
int locallog_decode (const unsigned char *msg, size_t len, const char **source, size_t *source_len,
                     const char **line, size_t *line_len, bool *partial, int64_t *time_ns);

#endif
