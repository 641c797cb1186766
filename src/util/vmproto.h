/* The host <-> guest agent protocol of VM isolation (src/guest is the agent,
 * src/shim/vm*.c the host side).
 *
 * One reliable byte stream carries everything: a virtio-serial port here
 * (the guest's /dev/vportNpM named "arca.0", a socketpair end in QEMU on the
 * host), an AF_VSOCK stream connection where vhost-vsock exists; nothing
 * below depends on which.  The stream is a sequence of frames:
 *
 *   u32 length   payload bytes (<= VMPROTO_MAX_PAYLOAD)     big-endian
 *   u32 session  0: the VM itself; 1: the container's init;
 *                2..: execs; DNS relay queries carry their query id
 *   u8  type     vmproto_type_t
 *   u8  flags    0 (reserved)
 *   u16 zero     (reserved)
 *   payload
 *
 * A conversation: the guest says HELLO as soon as it runs; the host sends
 * CONFIG (the container's OCI config.json and the VM's network settings);
 * the guest builds the container's root and answers READY.  Each process
 * (the init, then execs) is an EXEC on a session of its own, answered by
 * STARTED; its stdio flows as STDIN/STDOUT/STDERR data frames (an empty
 * frame is the end of that stream), and EXIT ends the session.  Output is
 * flow-controlled per session and direction: a sender may have at most
 * VMPROTO_WINDOW bytes outstanding until the receiver grants more with a
 * CREDIT frame (u32 bytes), as it hands the bytes on; so one slow reader
 * never stalls the stream for the others.  Everything else (SIGNAL,
 * RESIZE, PS, SHUTDOWN, DNS) is small JSON or raw bytes.
 */
#ifndef ARCA_UTIL_VMPROTO_H
#define ARCA_UTIL_VMPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strutil.h"

#define VMPROTO_VERSION 1
#define VMPROTO_HEADER_LEN 12
#define VMPROTO_MAX_PAYLOAD (1024 * 1024)
/* Bytes a sender may have in flight per session and direction. */
#define VMPROTO_WINDOW (256 * 1024)
/* Name of the virtio-serial port (and the vsock port number's meaning). */
#define VMPROTO_PORT_NAME "arca.0"
#define VMPROTO_VSOCK_PORT 1024
/* Session numbers. */
#define VMPROTO_SESSION_VM 0
#define VMPROTO_SESSION_INIT 1

typedef enum
{
  VM_HELLO = 1,     /* g->h JSON {"version","release","boot":{phase: ns since boot}} */
  VM_CONFIG,        /* h->g JSON {"time_ns","spec":{OCI config},"interfaces":[..],"dns_relay":b,"mounts":[..]} */
  VM_READY,         /* g->h JSON {"ok":true,"boot":{..}} | {"ok":false,"error":".."} */
  VM_EXEC,          /* h->g JSON {"process":{OCI process},"init":b,"stdin":b} on a new session */
  VM_STARTED,       /* g->h JSON {"pid":N} | {"error":".."} (then the session is over) */
  VM_STDIN,         /* h->g bytes; empty: end of stdin */
  VM_STDOUT,        /* g->h bytes; empty: end (with a TTY all output is STDOUT) */
  VM_STDERR,        /* g->h bytes; empty: end */
  VM_CREDIT,        /* either way: u32 bytes the peer may send more on this session */
  VM_EXIT,          /* g->h JSON {"code":N,"oom":b}: 128+signal for a killed process */
  VM_SIGNAL,        /* h->g JSON {"signal":N,"all":b} */
  VM_RESIZE,        /* h->g JSON {"height":H,"width":W} */
  VM_DNS_QUERY,     /* g->h DNS message asked of 127.0.0.11 in the guest; session = query id */
  VM_DNS_REPLY,     /* h->g the answer (empty: no answer) */
  VM_PS,            /* h->g {} */
  VM_PS_REPLY,      /* g->h JSON {"Titles":[..],"Processes":[[..]..]} | {"error":..} */
  VM_SHUTDOWN,      /* h->g {}: sync and power off */
  VM_LOG,           /* g->h text: a line for the shim's log */
  VM_TYPE_MAX
} vmproto_type_t;

typedef struct
{
  uint32_t length;
  uint32_t session;
  uint8_t type;
} vmproto_header_t;

/* Encode a header into out[VMPROTO_HEADER_LEN]. */
void vmproto_header_pack (uint8_t *out, uint32_t length, uint32_t session, uint8_t type);
/* Decode; -1 if the header is not a valid one (type unknown, reserved bits
 * set, length above VMPROTO_MAX_PAYLOAD): the stream is then unusable. */
int vmproto_header_unpack (const uint8_t *in, vmproto_header_t *h);

/* Append one whole frame to out. */
void vmproto_append (arca_buf_t *out, uint32_t session, uint8_t type, const void *payload, size_t len);
/* Append a CREDIT frame granting n bytes. */
void vmproto_append_credit (arca_buf_t *out, uint32_t session, uint32_t n);
/* The u32 of a CREDIT payload; 0 if malformed. */
uint32_t vmproto_credit_value (const void *payload, size_t len);

/* Incremental decoder: feed bytes as they arrive, take whole frames out. */
typedef struct
{
  arca_buf_t buf;
  size_t off;       /* start of the first unconsumed byte in buf */
  bool broken;      /* an invalid header was seen */
} vmproto_reader_t;

typedef struct
{
  vmproto_header_t h;
  const uint8_t *payload; /* valid until the next reader call */
} vmproto_frame_t;

void vmproto_reader_feed (vmproto_reader_t *r, const void *data, size_t len);
/* 1: *f holds the next frame; 0: more bytes are needed; -1: the stream is
 * broken (invalid header), for good. */
int vmproto_reader_next (vmproto_reader_t *r, vmproto_frame_t *f);
/* Bytes buffered and not yet returned as frames. */
size_t vmproto_reader_pending (const vmproto_reader_t *r);
void vmproto_reader_free (vmproto_reader_t *r);

#endif
