/* arca-shim internals.  One process per container: a single-threaded poll
 * loop over the container's stdio, the control socket and its connections,
 * and a signalfd for SIGCHLD.  See src/runtime/shim_client.h for the
 * protocol the daemon speaks. */
#ifndef ARCA_SHIM_SHIM_H
#define ARCA_SHIM_SHIM_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "util/detachkeys.h"
#include "util/jsonlog.h"
#include "util/strutil.h"

/* Above this many unsent bytes to one attach client the shim stops reading
 * the container's output until the client catches up, as dockerd's
 * broadcaster blocks on a slow attach. */
#define SHIM_OUT_HIGH_WATER (1024 * 1024)
#define SHIM_READ_CHUNK (16 * 1024)
#define SHIM_MAX_REQUEST (64 * 1024)

typedef enum { SHIM_CREATED, SHIM_RUNNING, SHIM_STOPPED } shim_status_t;

typedef struct shim_conn shim_conn_t;
typedef struct shim shim_t;

/* The poll set of one loop iteration. */
typedef struct
{
  struct pollfd *v;
  size_t n, cap;
} pollset_t;
void pollset_add (pollset_t *p, int fd, short events);
short pollset_revents (pollset_t *p, int fd);

/* What runs the container's process: the OCI runtime (runtime.c), a VM
 * (vm.c), or, for an exec into a VM container, that container's shim
 * (vm_exec.c).  The loop, the stdio, the logs and the attach sessions are
 * the same for all. */
typedef struct
{
  /* The "start" op: run the process.  Returns the reply, or NULL when the
   * backend answers on c later (shim_reply with shim_start_ok/failed). */
  json_t *(*start) (shim_t *s, shim_conn_t *c);
  /* Signal the process (all: every process of the container). */
  int (*kill) (shim_t *s, int sig, bool all, char **err_msg);
  /* A TTY's new size, once the process runs. */
  void (*resize) (shim_t *s, unsigned height, unsigned width);
  /* Ops beyond the common ones: NULL with *handled false if unknown; NULL
   * with *handled true when answered later. */
  json_t *(*op) (shim_t *s, shim_conn_t *c, const char *op, json_t *req, bool *handled);
  /* Optional: more fds to poll, and the earliest monotonic ns it must run
   * again at (lower *deadline; 0 = no need). */
  void (*poll_add) (shim_t *s, pollset_t *ps, int64_t *deadline);
  void (*poll_handle) (shim_t *s, pollset_t *ps);
  /* Optional: a child was reaped; true if it was the backend's. */
  bool (*child_exited) (shim_t *s, pid_t pid, int status);
  /* At the end (the process is gone): release what the backend made. */
  void (*cleanup) (shim_t *s);
} shim_backend_t;
struct shim_conn
{
  shim_conn_t *next;
  int fd;
  arca_buf_t rbuf;      /* request bytes not yet parsed */
  arca_buf_t out;       /* bytes not yet sent; from out_off */
  size_t out_off;
  bool read_eof;        /* peer shut down its write side */
  bool waiting;         /* a "wait" is pending */
  bool attached;        /* the connection now carries an attach stream */
  bool a_stdin, a_stdout, a_stderr;
  bool closing;         /* close once `out` is sent */
  bool dead;            /* to be freed */
  detachkeys_matcher_t detach;
  int fds[4];           /* descriptors received with the request (SCM_RIGHTS) */
  int nfds;
  /* VM backends: this connection waits for the start of a process (the
   * "start" or "vm-exec" answer) or for an exec session's exit. */
  bool start_pending;
  uint32_t vm_session;
  bool vm_waiting;
  uint32_t vm_query;    /* a "top" waiting for the guest's process list */
};

struct shim
{
  const shim_backend_t *backend;
  void *vm;             /* the VM backends' state */

  /* options */
  const char *id, *bundle, *state_dir, *log_path, *exit_file, *runtime, *runtime_root;
  const char *log_config;   /* --log-config: the logging driver's settings (engine/logdrivers.c) */
  const char *exec_process; /* exec mode: process.json for `runtime exec` */
  const char *vm_config;    /* VM mode: vm.json written by the daemon (runtime/vm.h) */
  const char *vm_container; /* exec into a VM container: that container's state dir */
  bool runtime_cgroup_v1_view; /* --runtime-cgroup-v1-view: util/cgview.h */
  const char *cgroups_path;    /* --cgroups-path: the container's linux.cgroupsPath */
  int runtime_fd;              /* --runtime-fd: sealed copy of --runtime to execute, -1 = none */
  bool tty, open_stdin, stdin_once;
  bool daemonize; /* --daemonize: fork once, the parent exits (shim_spawn reaps it) */
  unsigned height, width;
  int ready_fd;

  /* container stdio, as seen from the shim */
  int out_fd;           /* stdout pipe read end, or the PTY master */
  int err_fd;           /* stderr pipe read end; -1 with a TTY */
  int in_fd;            /* stdin pipe write end, the PTY master, or -1 */
  bool in_close_pending;
  arca_buf_t in_buf;
  size_t in_off;
  int child_fds[3];     /* exec mode: the process's stdio until it starts */
  bool start_failed;    /* exec mode: the runtime could not start it */
  bool start_requested; /* the daemon sent "start" (a VM may take a while to boot) */

  int listen_fd, sig_fd;
  jsonlog_splitter_t split[2];
  struct shim_log *log;   /* logdrv.c */

  pid_t init_pid;       /* our child to reap (runtime: the container's init; VM: QEMU) */
  pid_t state_pid;      /* reported Pid when it differs (an exec's PID in the guest) */
  shim_status_t status;
  bool exited;
  int exit_code;
  bool oom_killed;        /* the OOM killer killed a process of the container */
  int64_t finished_ns;
  int64_t drained_ns;     /* realtime: output ended, shim_finish began (trace) */
  int64_t runtime_ns;     /* how long the runtime's run/exec took (bench/trace.sh) */
  int64_t drain_deadline; /* monotonic ns */

  shim_conn_t *conns;
};

/* stdio.c */
int shim_stdio_setup (shim_t *s, int child_fds[3], char **err_msg);
void shim_set_winsize (int fd, unsigned height, unsigned width);
int shim_console_listen (const char *path);
int shim_console_recv (int listen_fd, int timeout_ms);

/* main.c */
/* The process ended with code (128+N for a signal): drain, then finish. */
void shim_mark_exited (shim_t *s, int code);

/* runtime.c: the OCI runtime backend */
extern const shim_backend_t shim_runtime_backend;
/* Run `<runtime> --root R [--log L --log-format json] args...` with the
 * given stdio (-1 = /dev/null) and wait for it; returns the wait status or
 * -1 if it could not be started. */
int shim_run_runtime (shim_t *s, char *const args[], int fds[3]);
/* `create` the container, or in exec mode `exec --detach` the process;
 * sets init_pid and, with a TTY, the PTY master. */
int shim_runtime_create (shim_t *s, int child_fds[3], char **err_msg);
int shim_runtime_kill_all (shim_t *s, int sig, char **err_msg);
void shim_runtime_delete (shim_t *s);
/* Whether the OOM killer struck in the container's cgroup
 * (--cgroups-path); read before the runtime deletes the cgroup. */
bool shim_oom_killed (shim_t *s);
char *shim_path (shim_t *s, const char *name);

/* logdrv.c: open the log (--log-config, or --log-path as plain json-file),
 * write one message (a line with its newline, or a partial piece), close. */
int shim_log_open (shim_t *s, char **err_msg);
void shim_log_entry (shim_t *s, const char *stream, const char *data, size_t len, int64_t now_ns);
void shim_log_close (shim_t *s);
/* After each batch of output: the files get what was written to them. */
void shim_log_flush (shim_t *s);
/* The syslog socket while messages wait for it (poll it for POLLOUT), -1
 * otherwise; shim_log_writable sends what it takes; shim_log_blocks: the
 * blocking mode has messages waiting (stop reading the container). */
int shim_log_wait_fd (shim_t *s);
void shim_log_writable (shim_t *s);
bool shim_log_blocks (shim_t *s);

/* output.c */
void shim_handle_output (shim_t *s, int stream, const char *data, size_t len);
void shim_output_eof (shim_t *s, int stream);
bool shim_backpressured (shim_t *s);

/* conn.c */
void shim_conn_accept (shim_t *s);
void shim_conn_readable (shim_t *s, shim_conn_t *c);
void shim_conn_flush (shim_t *s, shim_conn_t *c);
void shim_conn_send (shim_t *s, shim_conn_t *c, const void *data, size_t len);
void shim_conn_end (shim_t *s, shim_conn_t *c);
void shim_conn_reap (shim_t *s);
void shim_stdin_flush (shim_t *s);

/* control.c */
json_t *shim_control_dispatch (shim_t *s, shim_conn_t *c, json_t *req);
void shim_reply (shim_t *s, shim_conn_t *c, json_t *reply);
json_t *shim_wait_reply (shim_t *s);
json_t *shim_fail (const char *msg);
json_t *shim_fail_owned (char *msg);
/* The start op's answers: the process runs (status RUNNING), or nothing
 * ran (the shim ends without an exit file; msg is taken). */
json_t *shim_start_ok (shim_t *s);
json_t *shim_start_failed (shim_t *s, char *msg);
void shim_close_child_fds (shim_t *s);

/* vm.c: a container in its own VM; vm_exec.c: an exec into one */
extern const shim_backend_t shim_vm_backend;
extern const shim_backend_t shim_vm_exec_backend;
int shim_vm_setup (shim_t *s, char **err_msg);
int shim_vm_exec_setup (shim_t *s, char **err_msg);

#endif
