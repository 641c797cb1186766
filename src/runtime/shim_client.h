/* Daemon side of arca-shim.  One shim per container, started by the daemon,
 * outliving it (double fork, own session).  The shim:
 *   - runs `<runtime> --root <runtime-root> --log <state-dir>/runtime.log
 *     --log-format json create --bundle <bundle> [--console-socket ..]
 *     --pid-file <state-dir>/init.pid <id>` with pipes (or a PTY received on
 *     the console socket) as the container's stdio, as a child subreaper;
 *   - reports readiness on the daemon's pipe, then serves <state-dir>/shim.sock;
 *   - copies stdout/stderr to the json-file log and to attached clients;
 *   - on the container's exit: drains output, closes attach streams, writes
 *     the exit file atomically ({"ExitCode":N,"FinishedAt":ns,"Pid":p}),
 *     answers waiters, runs `<runtime> delete`, and exits.
 *
 * Control protocol on shim.sock: the client sends one JSON object followed by
 * "\n"; the shim answers one JSON object + "\n": {"ok":true,...} or
 * {"ok":false,"error":"..."}.
 *   {"op":"start"}                         -> runtime start; {"ok":true}
 *   {"op":"kill","signal":N,"all":bool}    -> runtime kill
 *   {"op":"resize","height":H,"width":W}   -> TIOCSWINSZ on the PTY
 *   {"op":"wait"}                          -> answered when the container has
 *        exited: {"ok":true,"ExitCode":N,"FinishedAt":ns}
 *   {"op":"state"}                         -> {"ok":true,"Pid":p,"Status":"created|running|stopped"}
 *   {"op":"attach","stdin":b,"stdout":b,"stderr":b,"detachKeys":"ctrl-p,ctrl-q"}
 *        -> {"ok":true} then the connection carries the stream: output
 *        multiplexed (8-byte stdcopy frames) unless the container has a TTY,
 *        raw otherwise; bytes read are the container's stdin.  Read-EOF means
 *        stdin closed: with StdinOnce (and no TTY) the container's stdin is
 *        closed; otherwise only this session's stdin ends.  The shim shuts the
 *        connection down when the container's output ends (or on detach keys
 *        with a TTY).
 */
#ifndef ARCA_RUNTIME_SHIM_CLIENT_H
#define ARCA_RUNTIME_SHIM_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

typedef struct
{
  const char *shim_path;     /* arca-shim executable */
  const char *id;            /* container ID */
  const char *bundle;        /* OCI bundle directory (config.json, rootfs) */
  const char *state_dir;     /* <exec-root>/containers/<id>: shim.sock, init.pid, runtime.log */
  const char *log_path;      /* json-file log (append) */
  const char *exit_file;     /* durable exit status file (data root) */
  const char *runtime_path;  /* runc / crun executable */
  const char *runtime_root;  /* --root for the runtime */
  bool tty;
  bool open_stdin;
  bool stdin_once;
  unsigned console_height, console_width; /* initial PTY size, 0 = unset */
} arca_shim_options_t;

/* Start a shim and wait until the container is created (not yet started).
 * On success *pid is the container's init PID.  A runtime failure returns
 * ARCA_ERR_INTERNAL with the runtime's own message, e.g.
 * "exec: \"/nonexistent\": stat /nonexistent: no such file or directory"
 * (the caller builds dockerd's full text from it); the shim is gone then. */
int shim_spawn (const arca_shim_options_t *opts, pid_t *pid, arca_error_t *err);

/* Connect to <state_dir>/shim.sock; -1 with ARCA_ERR_UNAVAILABLE if no shim
 * listens (it exited). */
int shim_connect (const char *state_dir, arca_error_t *err);
/* Send one request on a connected fd and read the one-line reply.
 * {"ok":false,...} becomes ARCA_ERR_INTERNAL with its "error" text. */
int shim_call (int fd, json_t *request, json_t **reply, arca_error_t *err);
/* Convenience: connect, call, close. */
int shim_request (const char *state_dir, json_t *request, json_t **reply, arca_error_t *err);

/* Open an attach session: on success returns the connected fd carrying the
 * stream (after the {"ok":true} line). */
int shim_attach (const char *state_dir, bool in, bool out, bool errs, const char *detach_keys,
                 int *fd, arca_error_t *err);

/* Read the exit file written by the shim: 0 and fields set, or -1 with
 * ARCA_ERR_NOT_FOUND when none was written. */
int shim_read_exit_file (const char *exit_file, int *exit_code, int64_t *finished_ns, arca_error_t *err);

#endif
