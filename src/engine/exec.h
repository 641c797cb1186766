/* Exec instances: extra processes run inside a running container
 * (POST /containers/{id}/exec, /exec/{id}/start|resize|json).
 *
 * Each exec is supervised by an arca-shim of its own in exec mode
 * (runtime/shim_client.h): the shim runs `<runtime> exec --detach` with the
 * process description written to <exec-root>/containers/<cid>/exec/<eid>/
 * process.json, so the process joins the container's namespaces and cgroup
 * and dies with the container's PID namespace.  The process description
 * starts from the container's own OCI process (config.json: capabilities,
 * rlimits, noNewPrivileges, user) and overrides args, env, cwd, terminal,
 * console size, the user when the exec names one, and the capabilities for
 * privileged execs — as moby's ContainerExecStart does.
 *
 * Records live in memory only (as in dockerd): finished execs stay
 * inspectable until their container is removed. */
#ifndef ARCA_ENGINE_EXEC_H
#define ARCA_ENGINE_EXEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "engine/container.h"
#include "engine/engine.h"
#include "util/error.h"

typedef struct arca_exec arca_exec_t;

/* POST /containers/{ref}/exec with the ExecConfig body (User, Privileged,
 * Tty, AttachStdin/Stdout/Stderr, DetachKeys, Env, WorkingDir, Cmd,
 * ConsoleSize).  *id gets the new 64-hex exec ID (malloc'd).  Errors (moby
 * daemon/exec.go ContainerExecCreate): 404 "No such container: <ref>";
 * 409 "container <id> is not running", "Container <ref> is paused, unpause
 * the container before exec", "Container <id> is restarting, wait until the
 * container is running"; 400 "No exec command specified"; 400 for a user
 * that does not resolve in the container ("unable to find user ..."); 500
 * "Invalid escape keys (<v>) provided". */
int exec_create (arca_engine_t *e, const char *ref, json_t *body, char **id, arca_error_t *err);

/* Find an exec by full ID; 404 "No such exec instance: <id>" (also when its
 * container was removed).  Release with exec_unref. */
int exec_lookup (arca_engine_t *e, const char *id, arca_exec_t **out, arca_error_t *err);
void exec_unref (arca_exec_t *x);
bool exec_tty (arca_exec_t *x);

/* The checks dockerd makes before hijacking an exec start (ExecExists ->
 * getExecConfig): 404 "No such container: <exec id>" if the container is
 * gone, 409 not running / paused / restarting as exec_create. */
int exec_start_check (arca_engine_t *e, arca_exec_t *x, arca_error_t *err);

/* POST /exec/{id}/start.  console_size: the start body's ConsoleSize
 * ([h, w] or NULL: the one given at create).  client_fd < 0: detached
 * (returns once the process runs).  Otherwise the client's hijacked socket
 * (extra: bytes it sent after its headers): the session relays stdio until
 * the process's output ends or the client detaches (TTY detach keys), and
 * returns only after the exit code is recorded, so GET /exec/{id}/json
 * right after the stream ends sees it.  The caller ends the client socket.
 * Errors: 409 "exec command <id> is already running" / "exec command <id>
 * has already run"; the container checks of exec_start_check; a process
 * that cannot be started: "OCI runtime exec failed: <runtime message>:
 * unknown" with exit code 126 whatever the cause recorded on the exec
 * (moby ContainerExecStart's deferred clean-up).  In the hijacked case the caller writes the error
 * text into the stream as dockerd does.  start_tty is the start request's
 * Tty: the stream is multiplexed unless it is set, whatever the exec's own
 * Tty (moby api/server/router/container/exec.go postContainerExecStart). */
int exec_start (arca_engine_t *e, arca_exec_t *x, json_t *console_size, bool start_tty, int client_fd,
                const char *extra, size_t extra_len, arca_error_t *err);

/* POST /exec/{id}/resize: TIOCSWINSZ on the exec's PTY; waits up to 10 s for
 * the exec to have started (moby ExecResize); no-op without a TTY or after
 * the exit.  Container checks as exec_start_check. */
int exec_resize (arca_engine_t *e, arca_exec_t *x, unsigned height, unsigned width, arca_error_t *err);

/* GET /exec/{id}/json: ExecInspectResponse (ID, Running, ExitCode (null
 * until the exit), ProcessConfig {tty, entrypoint, arguments, privileged,
 * user (omitted when empty)}, OpenStdin, OpenStderr, OpenStdout, CanRemove,
 * ContainerID, DetachKeys (base64 of the key bytes, as moby's []byte), Pid). */
int exec_inspect_json (arca_engine_t *e, arca_exec_t *x, json_t **out, arca_error_t *err);

/* A healthcheck probe (moby daemon/health.go cmdProbe): argv run as an
 * exec in c with the container's User, WorkingDir and environment, no
 * TTY, stdout and stderr captured together (*output, malloc'd: at most
 * max_output bytes, "..." appended when more came).  The process is killed
 * (SIGKILL) once timeout_ns passed since it started (*timed_out), or when
 * cancel_fd (or -1) becomes readable (-1, "context canceled").  It is an
 * exec like the others: it has an ID, shows in ExecIDs while it runs and
 * is announced by exec_create, exec_start and exec_die events.
 * *exit_code: its exit status.  Errors: the container checks of
 * exec_create (409), a process that could not start (the runtime's text). */
int exec_probe (arca_engine_t *e, arca_container_t *c, char **argv, int64_t timeout_ns, size_t max_output,
                int cancel_fd, int *exit_code, bool *timed_out, char **output, arca_error_t *err);

#endif
