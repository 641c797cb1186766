#include "util/stdcopy.h"

void
stdcopy_header (uint8_t hdr[STDCOPY_HEADER_LEN], stdcopy_stream_t stream, uint32_t len)
{
  hdr[0] = (uint8_t) stream;
  hdr[1] = hdr[2] = hdr[3] = 0;
  hdr[4] = (uint8_t) (len >> 24);
  hdr[5] = (uint8_t) (len >> 16);
  hdr[6] = (uint8_t) (len >> 8);
  hdr[7] = (uint8_t) len;
}

int
stdcopy_parse_header (const uint8_t hdr[STDCOPY_HEADER_LEN], stdcopy_stream_t *stream, uint32_t *len)
{
  if (hdr[0] > STDCOPY_SYSERR)
    return -1;
  *stream = (stdcopy_stream_t) hdr[0];
  *len = ((uint32_t) hdr[4] << 24) | ((uint32_t) hdr[5] << 16) | ((uint32_t) hdr[6] << 8) | hdr[7];
  return 0;
}
