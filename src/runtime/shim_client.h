/* Daemon side of arca-shim.  One shim per container (and per exec), started
 * by the daemon, outliving it (posix_spawn + the shim's own fork, own session, SIGHUP/SIGINT/
 * SIGTERM/SIGPIPE ignored).  The shim:
 *   - runs `<runtime> --root <runtime-root> --log <state-dir>/runtime.log
 *     --log-format json run --detach --bundle <bundle> --pid-file
 *     <state-dir>/init.pid [--console-socket <state-dir>/console.sock] <id>`
 *     with pipes (or a PTY received on the console socket) as the
 *     container's stdio, as a child subreaper;
 *   - reports readiness on the daemon's pipe, then serves <state-dir>/shim.sock;
 *   - copies stdout/stderr to the container's logging driver (json-file,
 *     local, syslog or none, rotated by util/logfile.h; shim/logdrv.c)
 *     and to attached clients;
 *   - on the container's exit: drains output (pipes to EOF, a PTY to EIO,
 *     at most 3 s), closes attach streams (after up to 5 s for slow clients
 *     to take the rest), answers waiters, then writes the exit file
 *     atomically ({"ExitCode":N,"FinishedAt":ns,"Pid":p,"OOMKilled":b};
 *     ExitCode is 128+signal for a killed process; OOMKilled when the
 *     container's memory cgroup counted an OOM kill), runs `<runtime>
 *     delete --force`, removes shim.sock, and exits 0; waiters'
 *     connections close only then (so the daemon may create the same
 *     container again once it sees their EOF).
 * The shim is never restarted: if it dies, no exit file is written and the
 * daemon records the container as exited (137).  It removes a stale exit
 * file when it starts.
 *
 * arca-shim command line (built by shim_spawn):
 *   --id ID --bundle DIR --state-dir DIR --runtime PATH --runtime-root DIR
 *   [--log-path FILE | --log-config FILE] [--exit-file FILE] [--tty] [--open-stdin]
 *   [--stdin-once] [--console-height H --console-width W] [--ready-fd N]
 *   [--exec-process FILE] [--cgroups-path PATH]
 *
 * Control protocol on shim.sock: the client sends one JSON object followed by
 * "\n"; the shim answers one JSON object + "\n": {"ok":true,...} or
 * {"ok":false,"error":"..."}.  Several requests may follow each other on one
 * connection, and are answered in order: the daemon sends "start" and
 * "wait" together, so the shim holds the wait before it can see the exit.
 *   {"op":"start"}                         -> runtime start; {"ok":true}; a
 *        failure carries the runtime's message (its --log "error" line)
 *   {"op":"kill","signal":N,"all":bool}    -> kill(2) of the init process
 *        (safe: it is the shim's child until reaped), or `runtime kill --all`
 *   {"op":"resize","height":H,"width":W}   -> TIOCSWINSZ on the PTY (no-op
 *        without a TTY)
 *   {"op":"wait"}                          -> answered when the container has
 *        exited and its output is drained:
 *        {"ok":true,"ExitCode":N,"FinishedAt":ns,"OOMKilled":b}
 *   {"op":"state"}                         -> {"ok":true,"Pid":p,"Status":"created|running|stopped"}
 *   {"op":"attach","stdin":b,"stdout":b,"stderr":b,"detachKeys":"ctrl-p,ctrl-q"}
 *        -> {"ok":true} then the connection carries the stream: output
 *        multiplexed (8-byte stdcopy frames, util/stdcopy.h) unless the
 *        container has a TTY, raw otherwise; a session attached before
 *        "start" sees the output from its first byte.  Bytes read are the
 *        container's stdin (ignored unless open_stdin).  Read-EOF means
 *        stdin closed: with StdinOnce (and no TTY) the container's stdin is
 *        closed and the output goes on; otherwise only this session ends.
 *        The shim shuts the connection down (SHUT_WR, then close) when the
 *        container's output ends, or on the detach keys with a TTY (only
 *        scanned with a TTY; default ctrl-p,ctrl-q; bad keys give
 *        "Invalid detach keys (<v>) provided").  A session that ends while
 *        "state" still says running was detached.
 *
 * VM mode (vm_config set, `--vm FILE`): the shim runs QEMU with the
 * container's guest instead of the runtime (src/shim/vm.h); "start"
 * answers once the container's process runs in the guest, and its pid is
 * QEMU's.  More ops: {"op":"top"} -> {"ok":true,"Titles":..,"Processes":..}
 * (the guest's process list); {"op":"pause"} / {"op":"resume"} (the VM's
 * vCPUs); and, for exec shims, {"op":"vm-exec","process":{..},"tty":b,
 * "stdin":b} with the exec's stdio fds (SCM_RIGHTS) -> {"ok":true,"pid":p,
 * "session":n} once it runs; {"op":"vm-exec-wait","session":n} ->
 * {"ok":true,"ExitCode":N} at its exit; {"op":"vm-signal","session":n,
 * "signal":s}; {"op":"vm-resize","session":n,"height":h,"width":w}.
 * An exec shim with vm_container (`--vm-container DIR`) starts its process
 * through those ops instead of `runtime exec`; its "state" Pid is the
 * process's PID in the guest.
 *
 * Exec mode (exec_process set): the shim supervises `<runtime> exec
 * --process <exec_process> --detach --pid-file <state-dir>/exec.pid
 * [--console-socket ..] <id>` instead of the container.  shim_spawn returns
 * at once with *pid 0 (nothing runs yet); "start" runs the exec, so attach
 * sessions connected before it see all output.  A failed start answers
 * {"ok":false,"error":<runtime message>} and the shim exits without an exit
 * file.  No `runtime delete` at the end.  Use a state dir of its own per
 * exec.
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
  const char *log_path;      /* json-file log (append), when there is no log_config */
  const char *log_config;    /* logging driver settings file (engine/logdrivers.c), or NULL */
  const char *exit_file;     /* durable exit status file (data root) */
  const char *runtime_path;  /* runc / crun executable */
  const char *runtime_root;  /* --root for the runtime */
  bool runtime_cgroup_v1_view; /* run it where cgroup2 is not mounted (util/cgview.h) */
  const char *cgroups_path;    /* the container's linux.cgroupsPath, for its OOM kills at the exit */
  int runtime_fd;            /* sealed copy of it to execute (runtime/oci.h exec_fd); runtime_path
                                if not above 2 (0 when left out of an initializer) */
  bool tty;
  bool open_stdin;
  bool stdin_once;
  unsigned console_height, console_width; /* initial PTY size, 0 = unset */
  const char *exec_process;  /* exec mode: OCI process.json for `runtime exec`; NULL = the container */
  /* VM isolation (src/shim/vm.h): the container runs in a VM described by
   * vm_config (runtime/vm.h vm_container_write) instead of under the
   * runtime; an exec into such a container names the container's state
   * dir in vm_container (its shim runs the process in the guest). */
  const char *vm_config;
  const char *vm_container;
} arca_shim_options_t;

/* Start a shim and wait (at most 60 s) until it serves its socket, with the
 * container's stdio ready but no process yet: the process runs at the
 * "start" op (`<runtime> run --detach`, or `exec --detach` in exec mode), so
 * attach sessions connected before it see every byte.  *pid is 0; the start
 * op's reply carries {"pid":N}.  A failed start op returns the runtime's own
 * message (the last "error" line of its --log), e.g. "runc run failed:
 * unable to start container process: exec: \"/nonexistent\": stat
 * /nonexistent: no such file or directory" (the caller builds dockerd's full
 * text from it); the shim then ends without an exit file.  The state dir is
 * created if missing; the shim's own stderr goes to <state_dir>/shim.log.
 * Safe in a multi-threaded daemon (posix_spawn, no fork of the daemon); the
 * spawned process forks the shim and exits, and is reaped here, so no
 * zombie remains. */
int shim_spawn (const arca_shim_options_t *opts, pid_t *pid, arca_error_t *err);
/* shim_spawn in two halves, so that the caller prepares the rest of a
 * start (network, config.json) while the shim process comes up (~1 ms):
 * begin starts it, finish waits for its ready report and reaps the spawned
 * process, and always releases sp.  A shim that is never started (no
 * "start" op) ends by itself after 120 s; engine/reconcile.c stops it. */
typedef struct
{
  pid_t child;     /* the spawned process, which forks the shim and exits */
  int ready_fd;    /* the ready pipe's read end */
  char *state_dir; /* for the runtime's last error when the shim dies */
} arca_shim_spawn_t;
#define SHIM_SPAWN_INIT { .child = -1, .ready_fd = -1, .state_dir = NULL }
int shim_spawn_begin (const arca_shim_options_t *opts, arca_shim_spawn_t *sp, arca_error_t *err);
int shim_spawn_finish (arca_shim_spawn_t *sp, const char *shim_path, pid_t *pid, arca_error_t *err);

/* Connect to <state_dir>/shim.sock (paths too long for sun_path go through
 * /proc/self/fd); -1 with ARCA_ERR_UNAVAILABLE if no shim listens (it
 * exited). */
int shim_connect (const char *state_dir, arca_error_t *err);
/* Send one request on a connected fd and read the one-line reply (never
 * more: stream bytes after it stay in the socket).  Blocks without a
 * timeout ("wait" returns only at the exit).  {"ok":false,...} becomes
 * ARCA_ERR_INTERNAL with its "error" text; a closed connection
 * ARCA_ERR_UNAVAILABLE.  *reply (optional) is set only on success. */
int shim_call (int fd, json_t *request, json_t **reply, arca_error_t *err);
/* shim_call's two halves, for a caller that waits for the reply elsewhere
 * (the exit monitors' epoll, engine/monitors.c). */
int shim_send (int fd, json_t *request, arca_error_t *err);
int shim_reply_read (int fd, json_t **reply, arca_error_t *err);
/* Convenience: connect, call, close. */
int shim_request (const char *state_dir, json_t *request, json_t **reply, arca_error_t *err);

/* Open an attach session: on success returns the connected fd carrying the
 * stream (after the {"ok":true} line).  detach_keys NULL/"" = default.  The
 * fd is blocking; EOF (or ECONNRESET) on it is the end of the stream. */
int shim_attach (const char *state_dir, bool in, bool out, bool errs, const char *detach_keys,
                 int *fd, arca_error_t *err);

/* Read the exit file written by the shim: 0 and fields set (each out
 * parameter may be NULL), or -1 with ARCA_ERR_NOT_FOUND when none was
 * written. */
int shim_read_exit_file (const char *exit_file, int *exit_code, int64_t *finished_ns, bool *oom_killed,
                         arca_error_t *err);

#endif
