/* Control operations on shim.sock (protocol: src/runtime/shim_client.h). */
#include "shim/shim.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "util/timeutil.h"

static json_t *
ok (void)
{
  return json_pack ("{s:b}", "ok", 1);
}

json_t *
shim_fail (const char *msg)
{
  return json_pack ("{s:b,s:s}", "ok", 0, "error", msg);
}

json_t *
shim_fail_owned (char *msg)
{
  json_t *j = shim_fail (msg ? msg : "failed");
  free (msg);
  return j;
}

#define fail shim_fail
#define fail_owned shim_fail_owned

json_t *
shim_wait_reply (shim_t *s)
{
  /* (DrainedAt, RepliedAt: when the output ended and this reply left, for
   * the daemon's per-phase trace, bench/trace.sh) */
  return json_pack ("{s:b,s:i,s:I,s:b,s:I,s:I}", "ok", 1, "ExitCode", s->exit_code, "FinishedAt",
                    (json_int_t) s->finished_ns, "OOMKilled", s->oom_killed, "DrainedAt", (json_int_t) s->drained_ns,
                    "RepliedAt", (json_int_t) time_now_ns ());
}

void
shim_reply (shim_t *s, shim_conn_t *c, json_t *reply)
{
  _cleanup_free_ char *line = json_dumps (reply, JSON_COMPACT);
  json_decref (reply);
  if (line == NULL)
    return;
  shim_conn_send (s, c, line, strlen (line));
  shim_conn_send (s, c, "\n", 1);
}

void
shim_close_child_fds (shim_t *s)
{
  for (int i = 0; i < 3; i++)
    if (s->child_fds[i] >= 0)
      close (s->child_fds[i]);
  s->child_fds[0] = s->child_fds[1] = s->child_fds[2] = -1;
}

json_t *
shim_start_failed (shim_t *s, char *msg)
{
  /* Nothing ran: end the shim without an exit file; the daemon records
   * 126/127 from the message as dockerd does. */
  s->start_failed = s->exited = true;
  s->status = SHIM_STOPPED;
  s->exit_code = 126;
  s->finished_ns = time_now_ns ();
  s->drain_deadline = time_mono_ns ();
  return fail_owned (msg);
}

json_t *
shim_start_ok (shim_t *s)
{
  /* The process may already have exited and been reaped meanwhile. */
  if (s->status == SHIM_CREATED)
    s->status = SHIM_RUNNING;
  return json_pack ("{s:b,s:i,s:I}", "ok", 1, "pid", (int) (s->state_pid ? s->state_pid : s->init_pid), "runtime_ns",
                    (json_int_t) s->runtime_ns);
}

static json_t *
op_start (shim_t *s, shim_conn_t *c)
{
  if (s->status != SHIM_CREATED)
    return fail (s->status == SHIM_RUNNING ? "container already started" : "container is not running");
  if (s->start_requested)
    return fail ("container is starting");
  s->start_requested = true;
  return s->backend->start (s, c);
}

static json_t *
op_kill (shim_t *s, json_t *req)
{
  int sig = (int) json_get_int (req, "signal", SIGKILL);
  bool all = json_get_bool (req, "all", false);
  if (sig <= 0 || sig >= 65)
    return fail ("invalid signal");
  if (s->exited)
    return fail ("container not running");
  char *msg = NULL;
  if (s->backend->kill (s, sig, all, &msg) < 0)
    return fail_owned (msg);
  return ok ();
}

static json_t *
op_resize (shim_t *s, json_t *req)
{
  int64_t h = json_get_int (req, "height", 0), w = json_get_int (req, "width", 0);
  if (h < 0 || w < 0 || h > 65535 || w > 65535)
    return fail ("invalid size");
  if (s->tty && s->status == SHIM_RUNNING && s->backend->resize)
    s->backend->resize (s, (unsigned) h, (unsigned) w);
  else if (s->tty)
    s->height = (unsigned) h, s->width = (unsigned) w; /* exec not started: applied at start */
  return ok ();
}

static json_t *
op_state (shim_t *s)
{
  static const char *names[] = { "created", "running", "stopped" };
  return json_pack ("{s:b,s:i,s:s}", "ok", 1, "Pid", (int) (s->state_pid ? s->state_pid : s->init_pid), "Status",
                    names[s->status]);
}

static json_t *
op_attach (shim_t *s, shim_conn_t *c, json_t *req)
{
  uint8_t keys[DETACHKEYS_MAX];
  size_t nkeys = 0;
  arca_error_t err = { 0 };
  if (detachkeys_parse (json_get_str (req, "detachKeys"), keys, &nkeys, &err) < 0)
    return fail (err.msg);
  detachkeys_matcher_init (&c->detach, keys, s->tty ? nkeys : 0);
  /* moby drops the client's stdin when the container has no OpenStdin. */
  c->a_stdin = json_get_bool (req, "stdin", false) && s->open_stdin;
  c->a_stdout = json_get_bool (req, "stdout", false);
  c->a_stderr = json_get_bool (req, "stderr", false);
  c->attached = true;
  return ok ();
}

json_t *
shim_control_dispatch (shim_t *s, shim_conn_t *c, json_t *req)
{
  const char *op = json_get_str (req, "op");
  if (op == NULL)
    return fail ("missing op");
  if (strcmp (op, "start") == 0)
    return op_start (s, c);
  if (strcmp (op, "kill") == 0)
    return op_kill (s, req);
  if (strcmp (op, "resize") == 0)
    return op_resize (s, req);
  if (strcmp (op, "state") == 0)
    return op_state (s);
  if (strcmp (op, "attach") == 0)
    return op_attach (s, c, req);
  if (strcmp (op, "wait") == 0)
    {
      /* Answered in shim_finish, once the exit file is on disk. */
      c->waiting = true;
      return NULL;
    }
  bool handled = false;
  json_t *reply = s->backend->op ? s->backend->op (s, c, op, req, &handled) : NULL;
  if (handled)
    return reply;
  return fail_owned (xasprintf ("unknown op %s", op));
}
