/* The json-file log driver's on-disk format (moby daemon/logger/jsonfilelog):
 * one JSON object per message,
 *   {"log":"<bytes incl. \n>","stream":"stdout"|"stderr","time":"<RFC3339Nano UTC>"}\n
 * A message is one output line including its newline; a line longer than
 * JSONLOG_MAX_LINE bytes is cut into partial messages without newline, and
 * a partial last line is written as-is at EOF (moby logger.Copier). */
#ifndef ARCA_UTIL_JSONLOG_H
#define ARCA_UTIL_JSONLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strutil.h"

#define JSONLOG_MAX_LINE (16 * 1024)

/* Append one encoded log line (with trailing "\n") to out.  The payload is
 * escaped as moby's jsonlog does (Go encoding/json rules: \" \\ \n \r, other
 * control bytes and < > & as \u00XX, invalid UTF-8 as \ufffd, U+2028/2029
 * escaped).  time_ns: nanoseconds since the epoch. */
void jsonlog_format_line (arca_buf_t *out, const char *stream, const void *data, size_t len, int64_t time_ns);

/* Parse one line of a json-file log.  On success *log (malloc'ed, may hold
 * NUL bytes, also NUL-terminated) with *len bytes, *stream (malloc'ed) and
 * *time_ns are set; any out pointer may be NULL.  -1 on malformed input. */
/* The same with "attrs" (a compact JSON object, moby's RawAttrs: labels,
 * env, tag) between "stream" and "time"; attrs NULL or "" = none. */
void jsonlog_format_line_attrs (arca_buf_t *out, const char *stream, const void *data, size_t len, const char *attrs,
                                int64_t time_ns);

int jsonlog_parse_line (const char *line, char **log, size_t *len, char **stream, int64_t *time_ns);
/* The same for the n bytes at line (its newline may be included), with
 * the stream as a flag. */
int jsonlog_parse (const char *line, size_t n, char **log, size_t *len, bool *is_stderr, int64_t *time_ns);

/* Splits one output stream into log messages. */
typedef void (*jsonlog_emit_fn) (void *ctx, const char *data, size_t len);
typedef struct {
  char *buf; /* pending partial line, allocated lazily (JSONLOG_MAX_LINE) */
  size_t len;
} jsonlog_splitter_t;

/* Feed bytes; emit is called once per complete line (newline included) and
 * for each JSONLOG_MAX_LINE-byte piece of an over-long line. */
void jsonlog_split (jsonlog_splitter_t *s, const char *data, size_t len, jsonlog_emit_fn emit, void *ctx);
/* Emit the pending partial line, if any (at EOF). */
void jsonlog_split_flush (jsonlog_splitter_t *s, jsonlog_emit_fn emit, void *ctx);
void jsonlog_splitter_free (jsonlog_splitter_t *s);

#endif
