/* The shim's VM backend (vm.c, vm_qemu.c, vm_dns.c): the shim starts and
 * owns QEMU, speaks util/vmproto.h with the guest agent over a
 * virtio-serial port, and relays each guest process's stdio to the shim's
 * usual pipes, so logs, attach and the daemon's protocol stay the same.
 *
 * vm.json (written by the daemon, runtime/vm.h vm_container_write):
 *   {"qemu","kernel","initrd","cmdline","accel":"kvm|tcg","memory_mib",
 *    "cpus","netns":path|null,"interfaces":[{"tap","mac","ifname","addr",
 *    "prefix","gateway","default_route","mtu"}],"dns_relay":b,
 *    "cgroup":"/arca/<id>","boot_timeout_s":N}
 * The container's config.json (<bundle>/config.json) is what the guest
 * gets; its root.path is the rootfs shared as "rootfs", and the sources of
 * its bind mounts are bound (in QEMU's private mount namespace) under
 * <state-dir>/vm-mounts/<mount index>, shared as "mounts". */
#ifndef ARCA_SHIM_VM_H
#define ARCA_SHIM_VM_H

#include "shim/shim.h"
#include "util/json.h"
#include "util/vmproto.h"

typedef enum
{
  VM_PHASE_OFF,         /* not started */
  VM_PHASE_BOOTING,     /* QEMU runs, waiting for HELLO */
  VM_PHASE_CONFIGURING, /* CONFIG sent, waiting for READY */
  VM_PHASE_STARTING,    /* the init's EXEC sent, waiting for STARTED */
  VM_PHASE_RUNNING,
  VM_PHASE_STOPPING,    /* the init exited; SHUTDOWN sent */
  VM_PHASE_DEAD,        /* QEMU is gone */
} vm_phase_t;

/* One guest process's stdio on the host side. */
typedef struct vm_sess vm_sess_t;
struct vm_sess
{
  vm_sess_t *next;
  uint32_t id;
  int in_fd;             /* read: bytes for the guest's stdin (-1: none) */
  int out_fd, err_fd;    /* write: the guest's output; with a TTY out_fd == in_fd */
  bool tty;
  arca_buf_t out_buf, err_buf; /* output not yet written */
  size_t out_off, err_off;
  bool out_eof, err_eof; /* the guest ended the stream */
  uint32_t in_credit;    /* stdin bytes the guest still takes */
  bool in_eof_sent;
  bool started, exited;
  int exit_code;
  pid_t guest_pid;
};

typedef struct vm_dns_query vm_dns_query_t;

typedef struct
{
  json_t *cfg;           /* vm.json */
  json_t *spec;          /* config.json */
  vm_phase_t phase;
  int64_t deadline;      /* monotonic ns: phase timeout, or the hard-kill time */
  pid_t qemu_pid;
  int chan_fd, qmp_fd;
  bool qmp_ready;
  vmproto_reader_t reader;
  arca_buf_t out;        /* frames not yet written */
  size_t out_off;
  vm_sess_t *sessions;
  uint32_t next_session;
  uint32_t next_query;
  bool init_exited;
  int init_code;
  vm_dns_query_t *dns;
  int64_t t_spawn, t_hello, t_ready, t_started; /* monotonic ns */
  json_t *guest_boot;    /* the guest's own phase stamps */
  char *release;         /* the guest kernel's */
} vm_t;

/* vm_qemu.c */
/* Create <state-dir>/vm-mounts/<i> for the spec's bind mounts. */
int vm_mounts_stage (shim_t *s, vm_t *vm, char **err_msg);
/* Fork and exec QEMU (in its own mount namespace with the bind sources
 * staged, in the container's cgroup), the channel and QMP on socketpairs. */
int vm_qemu_spawn (shim_t *s, vm_t *vm, char **err_msg);
/* One QMP command ("stop", "cont"); -1 with the error. */
int vm_qmp (vm_t *vm, const char *command, char **err_msg);
void vm_cgroup_remove (shim_t *s, vm_t *vm);
/* The last lines of <state-dir>/console.log, for error messages. */
char *vm_console_tail (shim_t *s);

/* vm_dns.c: DNS relay to 127.0.0.11:53 in the container's netns */
void vm_dns_query (vm_t *vm, uint32_t id, const uint8_t *data, size_t len);
void vm_dns_poll_add (vm_t *vm, pollset_t *ps, int64_t *deadline);
void vm_dns_poll_handle (vm_t *vm, pollset_t *ps);
void vm_dns_free (vm_t *vm);

/* vm.c */
void vm_send (vm_t *vm, uint32_t session, uint8_t type, const void *data, size_t len);
void vm_send_json (vm_t *vm, uint32_t session, uint8_t type, json_t *j); /* steals j */

#endif
