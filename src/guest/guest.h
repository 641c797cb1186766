/* arca-guest: the agent that runs as PID 1 inside a VM-isolated container's
 * guest (src/runtime/vm.h describes the VM, util/vmproto.h the protocol).
 *
 * It boots the guest far enough to talk to the host (kernel modules from
 * the initramfs, the virtio-serial port), then does what an OCI runtime
 * does for a container, from the same config.json runc gets: mounts the
 * container's root (shared from the host by tag) and its mounts, sets the
 * hostname, sysctls and cgroup limits, configures the network interfaces
 * the host allocated, and runs the container's process and its execs with
 * the OCI process spec's user, capabilities, rlimits, env and cwd, in a
 * PID and mount namespace of their own so that the container sees itself
 * as it would under runc.  It relays stdio, signals, resizes and exit
 * statuses, answers DNS on 127.0.0.11 by asking the host, and lists
 * processes for `docker top`.
 *
 * A single-threaded poll loop; every fd non-blocking. */
#ifndef ARCA_GUEST_GUEST_H
#define ARCA_GUEST_GUEST_H

#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/strutil.h"
#include "util/vmproto.h"

/* Where the agent keeps the container's tree and the shares. */
#define GUEST_ROOT "/rootfs"                /* the container's root (not under /run: see mounts.c) */
#define GUEST_MOUNTS "/run/arca/mounts"    /* share "mounts": bind sources by mount index */
#define GUEST_CGROUP "/sys/fs/cgroup/container"
#define GUEST_MODULES "/lib/modules/arca"  /* modules.list and the .ko files */
#define GUEST_SHARE_ROOTFS "rootfs"        /* share tags */
#define GUEST_SHARE_MOUNTS "mounts"

typedef struct session session_t;
struct session
{
  session_t *next;
  uint32_t id;
  pid_t pid;
  bool init;
  bool tty;
  int in_fd;            /* the process's stdin: pipe write end or PTY master; -1 */
  int out_fd;           /* stdout pipe read end or PTY master; -1 at EOF */
  int err_fd;           /* stderr pipe read end; -1 */
  arca_buf_t in_buf;    /* stdin bytes not yet written */
  size_t in_off;
  bool in_eof;          /* host closed stdin: close in_fd once in_buf is written */
  uint32_t in_unacked;  /* stdin bytes written since the last CREDIT we sent */
  uint32_t out_credit;  /* output bytes we may still send */
  bool reaped;
  int status;           /* wait status */
  int64_t reaped_at;    /* monotonic ns */
  bool exit_sent;
};

typedef struct dns_pending dns_pending_t;

typedef struct
{
  int chan_fd;
  vmproto_reader_t reader;
  arca_buf_t out;       /* frames not yet written to the channel */
  size_t out_off;
  int sig_fd;

  json_t *spec;         /* the container's OCI config (from CONFIG) */
  bool configured;
  bool shutting_down;
  int64_t shutdown_at;

  session_t *sessions;
  pid_t init_pid;       /* 0 until the init runs */
  int init_mntns_fd;    /* the init's mount namespace, for execs */
  bool init_done;       /* the init exited and its EXIT was sent */

  /* DNS relay (dns.c) */
  int dns_udp_fd, dns_tcp_fd;
  dns_pending_t *dns;
  uint32_t dns_next_id;

  /* boot phases: ns since boot (CLOCK_BOOTTIME) */
  int64_t t_agent, t_modules, t_channel, t_config_done;
} guest_t;

/* main.c */
/* Load the always-needed modules (prefix NULL), or the optional ones
 * starting with prefix ("fuse", "virtiofs", "vsock", "vmw_vsock_"). */
void guest_load_modules (const char *prefix);
int64_t guest_boottime_ns (void);
int64_t guest_mono_ns (void);
void guest_log (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* chan.c: frames to the host */
void chan_send (guest_t *g, uint32_t session, uint8_t type, const void *data, size_t len);
void chan_send_json (guest_t *g, uint32_t session, uint8_t type, json_t *j); /* steals j */
void chan_flush (guest_t *g);
/* Block until everything queued is written (or the channel fails). */
void chan_drain (guest_t *g, int timeout_ms);
int chan_open (guest_t *g);

/* setup.c: CONFIG */
int guest_configure (guest_t *g, json_t *cfg, char **err_msg);

/* mounts.c: the container's mount tree under GUEST_ROOT */
int mounts_prepare (json_t *spec, char **err_msg);
/* In the init's new mount namespace: root switch, proc, cgroup, masked and
 * read-only paths.  Only the child calls this; returns -1 with errno-style
 * message in err_msg. */
int mounts_enter_root (json_t *spec, char **err_msg);
/* Mount flags and data from OCI options ("ro", "nosuid", "size=64k", ...). */
unsigned long mount_flags_parse (json_t *options, arca_buf_t *data, bool *bind_ro, bool *rec);

/* netcfg.c */
int net_configure (json_t *interfaces, char **err_msg);
int net_lo_up (void);

/* cgroup.c */
int guest_cgroup_setup (json_t *resources, char **err_msg);
bool guest_cgroup_oom_killed (void);

/* process.c */
/* Run an OCI process on session id: init (new PID + mount namespace, the
 * container root) or an exec (joins the init's namespaces).  On failure
 * returns -1 with the message runc would give ("exec: \"x\": executable
 * file not found in $PATH"). */
int process_spawn (guest_t *g, session_t *s, json_t *process, bool with_stdin, char **err_msg);
int caps_from_name (const char *name);

/* session.c */
session_t *session_find (guest_t *g, uint32_t id);
void session_handle_frame (guest_t *g, const vmproto_frame_t *f);
void session_poll_add (guest_t *g, struct pollfd *p, size_t *n, size_t max);
void session_poll_handle (guest_t *g, struct pollfd *p, size_t n);
void sessions_reap (guest_t *g);
void sessions_tick (guest_t *g);
void session_exec (guest_t *g, uint32_t id, json_t *req);
void session_signal (guest_t *g, session_t *s, int sig, bool all);

/* dns.c */
int dns_relay_start (guest_t *g, char **err_msg);
void dns_poll_add (guest_t *g, struct pollfd *p, size_t *n, size_t max);
void dns_poll_handle (guest_t *g, struct pollfd *p, size_t n);
void dns_reply (guest_t *g, uint32_t id, const uint8_t *data, size_t len);
void dns_tick (guest_t *g);

/* ps.c: {"Titles":[...],"Processes":[[...]]} for the container's processes */
json_t *ps_list (guest_t *g);

/* Small helpers (main.c). */
int write_file (const char *path, const char *data);
void set_nonblock (int fd);
/* The entry of a sysfs class dir ("/sys/class/net") whose attr file holds
 * value (case-insensitively, as MACs are written either way) into name. */
int sysfs_find (const char *dir, const char *attr, const char *value, char *name, size_t size);

#endif
