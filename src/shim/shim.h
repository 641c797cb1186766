/* arca-shim internals.  One process per container: a single-threaded poll
 * loop over the container's stdio, the control socket and its connections,
 * and a signalfd for SIGCHLD.  See src/runtime/shim_client.h for the
 * protocol the daemon speaks. */
#ifndef ARCA_SHIM_SHIM_H
#define ARCA_SHIM_SHIM_H

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
};

typedef struct
{
  /* options */
  const char *id, *bundle, *state_dir, *log_path, *exit_file, *runtime, *runtime_root;
  const char *log_config;   /* --log-config: the logging driver's settings (engine/logdrivers.c) */
  const char *exec_process; /* exec mode: process.json for `runtime exec` */
  bool tty, open_stdin, stdin_once;
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

  int listen_fd, sig_fd;
  jsonlog_splitter_t split[2];
  struct shim_log *log;   /* logdrv.c */

  pid_t init_pid;
  shim_status_t status;
  bool exited;
  int exit_code;
  bool oom_killed;        /* the OOM killer killed a process of the container */
  int64_t finished_ns;
  int64_t drain_deadline; /* monotonic ns */

  shim_conn_t *conns;
} shim_t;

/* stdio.c */
int shim_stdio_setup (shim_t *s, int child_fds[3], char **err_msg);
void shim_set_winsize (int fd, unsigned height, unsigned width);
int shim_console_listen (const char *path);
int shim_console_recv (int listen_fd, int timeout_ms);

/* runtime.c */
/* Run `<runtime> --root R [--log L --log-format json] args...` with the
 * given stdio (-1 = /dev/null) and wait for it; returns the wait status or
 * -1 if it could not be started. */
int shim_run_runtime (shim_t *s, char *const args[], int fds[3]);
/* `create` the container, or in exec mode `exec --detach` the process;
 * sets init_pid and, with a TTY, the PTY master. */
int shim_runtime_create (shim_t *s, int child_fds[3], char **err_msg);
int shim_runtime_kill_all (shim_t *s, int sig, char **err_msg);
void shim_runtime_delete (shim_t *s);
/* Whether the OOM killer struck in the container's cgroup (its
 * linux.cgroupsPath in the bundle's config.json); read before the runtime
 * deletes the cgroup. */
bool shim_oom_killed (shim_t *s);
char *shim_path (shim_t *s, const char *name);

/* logdrv.c: open the log (--log-config, or --log-path as plain json-file),
 * write one message (a line with its newline, or a partial piece), close. */
int shim_log_open (shim_t *s, char **err_msg);
void shim_log_entry (shim_t *s, const char *stream, const char *data, size_t len, int64_t now_ns);
void shim_log_close (shim_t *s);

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

#endif
