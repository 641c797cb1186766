/* Detach keys: parsing of the detachKeys option and matching it in a TTY
 * attach session's stdin. */
#ifndef ARCA_UTIL_DETACHKEYS_H
#define ARCA_UTIL_DETACHKEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define DETACHKEYS_DEFAULT "ctrl-p,ctrl-q"
#define DETACHKEYS_MAX 32

/* Parse "ctrl-p,ctrl-q" as moby/term ToBytes does: comma-separated keys,
 * each either one literal character or "ctrl-@", "ctrl-a".."ctrl-z",
 * "ctrl-[", "ctrl-\\", "ctrl-]", "ctrl-^", "ctrl-_" (case-insensitive) for
 * codes 0..31.  Writes at most DETACHKEYS_MAX bytes to out, *n = count.
 * NULL or "" gives the default ctrl-p,ctrl-q.  Errors: ARCA_ERR_INVALID
 * "Invalid detach keys (<s>) provided" (dockerd's text, daemon/attach.go). */
int detachkeys_parse (const char *s, uint8_t *out, size_t *n, arca_error_t *err);

/* Incremental matcher over a byte stream.  Bytes that could start the
 * sequence are held back until it is known whether they complete it. */
typedef struct {
  uint8_t keys[DETACHKEYS_MAX];
  size_t nkeys;   /* 0 disables matching */
  size_t matched; /* bytes of keys[] seen so far (held back) */
} detachkeys_matcher_t;

void detachkeys_matcher_init (detachkeys_matcher_t *m, const uint8_t *keys, size_t n);

/* Feed len bytes of input.  Bytes to forward are written to out (capacity
 * must be >= len + DETACHKEYS_MAX), *out_len their count.  Returns true when
 * the whole sequence was seen: bytes before it are still in out, bytes after
 * it are dropped, as the session ends there. */
bool detachkeys_feed (detachkeys_matcher_t *m, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len);

/* At end of input: held-back partial-match bytes (to forward), count in
 * *out_len (out capacity >= DETACHKEYS_MAX). */
void detachkeys_flush (detachkeys_matcher_t *m, uint8_t *out, size_t *out_len);

#endif
