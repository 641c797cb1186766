/* Framing of the host <-> guest agent stream (see vmproto.h). */
#include "util/vmproto.h"

#include <string.h>

static void
put32 (uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t) (v >> 24);
  p[1] = (uint8_t) (v >> 16);
  p[2] = (uint8_t) (v >> 8);
  p[3] = (uint8_t) v;
}

static uint32_t
get32 (const uint8_t *p)
{
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | (uint32_t) p[3];
}

void
vmproto_header_pack (uint8_t *out, uint32_t length, uint32_t session, uint8_t type)
{
  put32 (out, length);
  put32 (out + 4, session);
  out[8] = type;
  out[9] = 0;
  out[10] = 0;
  out[11] = 0;
}

int
vmproto_header_unpack (const uint8_t *in, vmproto_header_t *h)
{
  h->length = get32 (in);
  h->session = get32 (in + 4);
  h->type = in[8];
  if (in[9] != 0 || in[10] != 0 || in[11] != 0)
    return -1;
  if (h->type == 0 || h->type >= VM_TYPE_MAX)
    return -1;
  if (h->length > VMPROTO_MAX_PAYLOAD)
    return -1;
  return 0;
}

void
vmproto_append (arca_buf_t *out, uint32_t session, uint8_t type, const void *payload, size_t len)
{
  uint8_t hdr[VMPROTO_HEADER_LEN];
  vmproto_header_pack (hdr, (uint32_t) len, session, type);
  buf_append (out, hdr, sizeof hdr);
  if (len > 0)
    buf_append (out, payload, len);
}

void
vmproto_append_credit (arca_buf_t *out, uint32_t session, uint32_t n)
{
  uint8_t v[4];
  put32 (v, n);
  vmproto_append (out, session, VM_CREDIT, v, sizeof v);
}

uint32_t
vmproto_credit_value (const void *payload, size_t len)
{
  return len == 4 ? get32 (payload) : 0;
}

void
vmproto_reader_feed (vmproto_reader_t *r, const void *data, size_t len)
{
  if (r->off > 0 && r->off == r->buf.len)
    r->off = r->buf.len = 0;
  else if (r->off > 64 * 1024 && r->off * 2 > r->buf.len)
    {
      /* Slide the unread tail down instead of growing for ever. */
      memmove (r->buf.data, r->buf.data + r->off, r->buf.len - r->off);
      r->buf.len -= r->off;
      r->off = 0;
    }
  buf_append (&r->buf, data, len);
}

int
vmproto_reader_next (vmproto_reader_t *r, vmproto_frame_t *f)
{
  if (r->broken)
    return -1;
  size_t avail = r->buf.len - r->off;
  if (avail < VMPROTO_HEADER_LEN)
    return 0;
  const uint8_t *p = (const uint8_t *) r->buf.data + r->off;
  if (vmproto_header_unpack (p, &f->h) < 0)
    {
      r->broken = true;
      return -1;
    }
  if (avail - VMPROTO_HEADER_LEN < f->h.length)
    return 0;
  f->payload = p + VMPROTO_HEADER_LEN;
  r->off += VMPROTO_HEADER_LEN + f->h.length;
  return 1;
}

size_t
vmproto_reader_pending (const vmproto_reader_t *r)
{
  return r->buf.len - r->off;
}

void
vmproto_reader_free (vmproto_reader_t *r)
{
  buf_free (&r->buf);
  r->off = 0;
}
