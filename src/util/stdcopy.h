/* Docker's multiplexed stream framing (moby pkg/stdcopy): each chunk of
 * non-TTY output is sent as an 8-byte header [type, 0, 0, 0, len as
 * big-endian uint32] followed by len bytes of payload.  Used by attach,
 * exec start and logs when the container has no TTY. */
#ifndef ARCA_UTIL_STDCOPY_H
#define ARCA_UTIL_STDCOPY_H

#include <stddef.h>
#include <stdint.h>

#define STDCOPY_HEADER_LEN 8

typedef enum {
  STDCOPY_STDIN = 0,
  STDCOPY_STDOUT = 1,
  STDCOPY_STDERR = 2,
  STDCOPY_SYSERR = 3, /* the CLI prints "error from daemon in stream: ..." */
} stdcopy_stream_t;

/* Fill hdr[0..7] for a frame of `len` payload bytes on `stream`. */
void stdcopy_header (uint8_t hdr[STDCOPY_HEADER_LEN], stdcopy_stream_t stream, uint32_t len);

/* Decode a header: 0 with *stream and *len set, -1 if the type byte is not 0..3
 * (the client's "Unrecognized input header"). */
int stdcopy_parse_header (const uint8_t hdr[STDCOPY_HEADER_LEN], stdcopy_stream_t *stream, uint32_t *len);

#endif
