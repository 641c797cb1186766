/* Go formatting the classic builder's texts depend on: history entries and
 * error messages are produced by Go's fmt verbs in moby (%q of strings and
 * string slices, %v of string slices, time.Duration.String), so these
 * helpers reproduce them byte for byte.  All return malloc'd strings. */
#ifndef ARCA_BUILD_GOFMT_H
#define ARCA_BUILD_GOFMT_H

#include <stddef.h>
#include <stdint.h>

/* strconv.Quote: "..." with \a \b \f \n \r \t \v \\ \" escapes, other
 * control bytes and invalid UTF-8 as \xNN, printable UTF-8 kept. */
char *go_quote (const char *s);
/* strconv.QuoteRune of a small integer, as %q prints an int: 3 -> '\x03',
 * 65 -> 'A'. */
char *go_quote_rune (int64_t r);
/* fmt %q of a []string: ["a" "b c"] (empty slice: []). */
char *go_strv_q (char **v);
/* fmt %v of a []string: [a b c]. */
char *go_strv_v (char **v);
/* time.Duration(ns).String(): "0s", "1.5s", "1m30s", "1h0m0s", "100ms",
 * "2µs", "-5s". */
char *go_duration_string (int64_t ns);

/* A valid UTF-8 copy of data[0..len): invalid bytes become U+FFFD, as
 * Go's encoding/json writes them (jansson refuses invalid strings). */
char *utf8_sanitize (const char *data, size_t len);

#endif
