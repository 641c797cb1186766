/* The VM backend of arca-shim (see vm.h): boot, configure and drive the
 * guest agent; relay each guest process's stdio; turn the guest's answers
 * into the shim's usual replies. */
#include "shim/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/timeutil.h"

#define VM_RELAY_CHUNK (64 * 1024)
#define VM_SHUTDOWN_NS (10 * ARCA_NSEC_PER_SEC) /* the guest powers off after SHUTDOWN */
#define VM_HARD_KILL_NS (5 * ARCA_NSEC_PER_SEC) /* SIGKILL not answered by an exit */

static vm_t *
vm_of (shim_t *s)
{
  return s->vm;
}

static void
set_nonblock (int fd)
{
  int fl = fcntl (fd, F_GETFL);
  if (fl >= 0)
    fcntl (fd, F_SETFL, fl | O_NONBLOCK);
}

/* ---- the channel ---- */

static void
chan_flush (vm_t *vm)
{
  while (vm->chan_fd >= 0 && vm->out_off < vm->out.len)
    {
      ssize_t n = send (vm->chan_fd, vm->out.data + vm->out_off, vm->out.len - vm->out_off,
                        MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      vm->out_off += (size_t) n;
    }
  if (vm->out_off == vm->out.len)
    {
      vm->out_off = vm->out.len = 0;
      if (vm->out.cap > 1024 * 1024)
        buf_free (&vm->out);
    }
}

void
vm_send (vm_t *vm, uint32_t session, uint8_t type, const void *data, size_t len)
{
  if (vm->chan_fd < 0)
    return;
  vmproto_append (&vm->out, session, type, data, len);
  chan_flush (vm);
}

void
vm_send_json (vm_t *vm, uint32_t session, uint8_t type, json_t *j)
{
  _cleanup_free_ char *text = j ? json_dumps (j, JSON_COMPACT) : NULL;
  json_decref (j);
  vm_send (vm, session, type, text ? text : "{}", text ? strlen (text) : 2);
}

/* ---- sessions ---- */

static vm_sess_t *
sess_find (vm_t *vm, uint32_t id)
{
  for (vm_sess_t *x = vm->sessions; x; x = x->next)
    if (x->id == id)
      return x;
  return NULL;
}

static vm_sess_t *
sess_new (vm_t *vm, uint32_t id)
{
  vm_sess_t *x = xmalloc0 (sizeof *x);
  x->id = id;
  x->in_fd = x->out_fd = x->err_fd = -1;
  x->in_credit = VMPROTO_WINDOW;
  x->next = vm->sessions;
  vm->sessions = x;
  return x;
}

static void
sess_close_fds (vm_sess_t *x)
{
  if (x->in_fd >= 0 && x->in_fd != x->out_fd)
    close (x->in_fd);
  if (x->out_fd >= 0)
    close (x->out_fd);
  if (x->err_fd >= 0)
    close (x->err_fd);
  x->in_fd = x->out_fd = x->err_fd = -1;
  buf_free (&x->out_buf);
  buf_free (&x->err_buf);
  x->out_off = x->err_off = 0;
}

static void
sess_free (vm_t *vm, vm_sess_t *x)
{
  for (vm_sess_t **pp = &vm->sessions; *pp; pp = &(*pp)->next)
    if (*pp == x)
      {
        *pp = x->next;
        break;
      }
  sess_close_fds (x);
  free (x);
}

/* Write what the guest sent to our end of the process's stdout/stderr,
 * granting the guest credit for what went through. */
static void
sess_write (vm_t *vm, vm_sess_t *x, int *fdp, arca_buf_t *b, size_t *off, bool eof)
{
  size_t written = 0;
  while (*fdp >= 0 && *off < b->len)
    {
      ssize_t n = write (*fdp, b->data + *off, b->len - *off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        break;
      if (n < 0)
        {
          /* Nobody reads it any more (EPIPE): drop the output. */
          written += b->len - *off;
          *off = b->len;
          break;
        }
      *off += (size_t) n;
      written += (size_t) n;
    }
  if (*off == b->len)
    {
      *off = b->len = 0;
      if (b->cap > 256 * 1024)
        buf_free (b);
      if (eof && *fdp >= 0)
        {
          if (x->tty)
            shutdown (*fdp, SHUT_WR); /* the fd also carries stdin */
          else
            close (*fdp);
          if (!x->tty)
            *fdp = -1;
        }
    }
  if (written > 0 && !x->exited)
    vmproto_append_credit (&vm->out, x->id, (uint32_t) written);
}

static void
sess_output (vm_t *vm, vm_sess_t *x, uint8_t type, const uint8_t *data, size_t len)
{
  bool err = type == VM_STDERR && !x->tty;
  int *fdp = err ? &x->err_fd : &x->out_fd;
  arca_buf_t *b = err ? &x->err_buf : &x->out_buf;
  size_t *off = err ? &x->err_off : &x->out_off;
  bool *eof = err ? &x->err_eof : &x->out_eof;
  if (len == 0)
    *eof = true;
  else if (*fdp >= 0 && !*eof && b->len - *off < 2 * VMPROTO_WINDOW)
    buf_append (b, data, len);
  sess_write (vm, x, fdp, b, off, *eof);
  chan_flush (vm);
}

static void
sess_read_stdin (vm_t *vm, vm_sess_t *x)
{
  char buf[VM_RELAY_CHUNK];
  size_t want = x->in_credit < sizeof buf ? x->in_credit : sizeof buf;
  if (want == 0 || x->in_fd < 0 || x->in_eof_sent)
    return;
  ssize_t n = read (x->in_fd, buf, want);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n > 0)
    {
      x->in_credit -= (uint32_t) n;
      vm_send (vm, x->id, VM_STDIN, buf, (size_t) n);
      return;
    }
  /* The shim closed the process's stdin (StdinOnce, the client's EOF). */
  vm_send (vm, x->id, VM_STDIN, NULL, 0);
  x->in_eof_sent = true;
  if (!x->tty)
    {
      close (x->in_fd);
      x->in_fd = -1;
    }
}

/* ---- connections waiting on the VM ---- */

static void
answer_start (shim_t *s, uint32_t session, json_t *reply)
{
  for (shim_conn_t *c = s->conns; c; c = c->next)
    if (!c->dead && c->start_pending && c->vm_session == session)
      {
        c->start_pending = false;
        shim_reply (s, c, json_incref (reply));
      }
  json_decref (reply);
}

static void
answer_exec_wait (shim_t *s, vm_sess_t *x)
{
  for (shim_conn_t *c = s->conns; c; c = c->next)
    if (!c->dead && c->vm_waiting && c->vm_session == x->id)
      {
        c->vm_waiting = false;
        shim_reply (s, c, json_pack ("{s:b,s:i}", "ok", 1, "ExitCode", x->exit_code));
      }
}

/* The container's start failed: answer, and take the VM down. */
static void
start_fail (shim_t *s, char *msg)
{
  vm_t *vm = vm_of (s);
  log_error ("container %s: %s", s->id, msg);
  json_t *reply = shim_start_failed (s, msg);
  answer_start (s, VMPROTO_SESSION_INIT, reply);
  if (vm->qemu_pid > 0)
    kill (vm->qemu_pid, SIGKILL);
  vm->phase = VM_PHASE_DEAD;
}

static void
write_boot_record (shim_t *s, vm_t *vm)
{
  json_t *j = json_pack ("{s:s?,s:s?,s:f,s:f,s:f,s:O?}", "release", vm->release, "accel",
                         json_get_str (vm->cfg, "accel"), "spawn_to_hello_ms",
                         (double) (vm->t_hello - vm->t_spawn) / 1e6, "hello_to_ready_ms",
                         (double) (vm->t_ready - vm->t_hello) / 1e6, "ready_to_started_ms",
                         (double) (vm->t_started - vm->t_ready) / 1e6, "guest_ns_since_boot", vm->guest_boot);
  _cleanup_free_ char *text = json_dumps (j, JSON_COMPACT);
  json_decref (j);
  _cleanup_free_ char *path = shim_path (s, "boot.json");
  arca_error_t err;
  if (text)
    fs_write_atomic (path, text, strlen (text), 0644, &err);
  log_info ("container %s: VM booted (%s): %s", s->id, json_get_str (vm->cfg, "accel"), text ? text : "");
}

/* ---- guest frames ---- */

static void
on_hello (shim_t *s, vm_t *vm, json_t *j)
{
  if (vm->phase != VM_PHASE_BOOTING)
    return;
  vm->t_hello = time_mono_ns ();
  free (vm->release);
  vm->release = xstrdup (json_get_str (j, "release"));
  json_decref (vm->guest_boot);
  vm->guest_boot = json_incref (json_object_get (j, "boot"));
  json_t *cfg = json_pack ("{s:I,s:O,s:O?,s:b}", "time_ns", (json_int_t) time_now_ns (), "spec", vm->spec,
                           "interfaces", json_object_get (vm->cfg, "interfaces"), "dns_relay",
                           json_get_bool (vm->cfg, "dns_relay", false));
  vm_send_json (vm, VMPROTO_SESSION_VM, VM_CONFIG, cfg);
  vm->phase = VM_PHASE_CONFIGURING;
}

static void
on_ready (shim_t *s, vm_t *vm, json_t *j)
{
  if (vm->phase != VM_PHASE_CONFIGURING)
    return;
  vm->t_ready = time_mono_ns ();
  json_t *boot = json_object_get (j, "boot");
  if (json_is_object (vm->guest_boot) && json_is_object (boot))
    json_object_update (vm->guest_boot, boot);
  if (!json_get_bool (j, "ok", false))
    {
      const char *e = json_get_str (j, "error");
      return start_fail (s, xasprintf ("vm: setting up the container in the guest: %s", e ? e : "failed"));
    }
  vm_send_json (vm, VMPROTO_SESSION_INIT, VM_EXEC,
                json_pack ("{s:b,s:b}", "init", 1, "stdin", sess_find (vm, VMPROTO_SESSION_INIT)->in_fd >= 0));
  vm->phase = VM_PHASE_STARTING;
}

static void
on_started (shim_t *s, vm_t *vm, uint32_t id, json_t *j)
{
  vm_sess_t *x = sess_find (vm, id);
  const char *e = json_get_str (j, "error");
  if (id == VMPROTO_SESSION_INIT)
    {
      if (vm->phase != VM_PHASE_STARTING)
        return;
      if (e)
        return start_fail (s, xasprintf ("unable to start container process: %s", e));
      vm->t_started = time_mono_ns ();
      vm->phase = VM_PHASE_RUNNING;
      vm->deadline = 0; /* the boot's; a SIGKILL sets its own */
      if (x)
        {
          x->started = true;
          x->guest_pid = (pid_t) json_get_int (j, "pid", 0);
        }
      write_boot_record (s, vm);
      answer_start (s, id, shim_start_ok (s));
      return;
    }
  if (x == NULL)
    return;
  if (e)
    {
      answer_start (s, id, shim_fail_owned (xasprintf ("unable to start container process: %s", e)));
      sess_free (vm, x);
      return;
    }
  x->started = true;
  x->guest_pid = (pid_t) json_get_int (j, "pid", 0);
  answer_start (s, id, json_pack ("{s:b,s:i,s:i}", "ok", 1, "pid", (int) x->guest_pid, "session", (int) id));
}

static void
on_exit_frame (shim_t *s, vm_t *vm, uint32_t id, json_t *j)
{
  vm_sess_t *x = sess_find (vm, id);
  if (x == NULL || x->exited)
    return;
  x->exited = true;
  x->exit_code = (int) json_get_int (j, "code", 255);
  if (id == VMPROTO_SESSION_INIT)
    {
      vm->init_exited = true;
      vm->init_code = x->exit_code;
      s->oom_killed = json_get_bool (j, "oom", false);
      /* The guest syncs and powers off; QEMU's exit ends the container. */
      vm_send (vm, VMPROTO_SESSION_VM, VM_SHUTDOWN, "{}", 2);
      vm->phase = VM_PHASE_STOPPING;
      vm->deadline = time_mono_ns () + VM_SHUTDOWN_NS;
      return;
    }
  answer_exec_wait (s, x);
}

static void
on_ps_reply (shim_t *s, uint32_t id, const uint8_t *data, size_t len)
{
  for (shim_conn_t *c = s->conns; c; c = c->next)
    if (!c->dead && c->vm_query == id)
      {
        c->vm_query = 0;
        json_t *j = json_loadb ((const char *) data, len, 0, NULL);
        if (!json_is_object (j))
          {
            json_decref (j);
            shim_reply (s, c, shim_fail ("bad process list from the guest"));
            continue;
          }
        const char *e = json_get_str (j, "error");
        if (e)
          {
            shim_reply (s, c, shim_fail (e));
            json_decref (j);
            continue;
          }
        json_object_set_new (j, "ok", json_true ());
        shim_reply (s, c, j);
      }
}

static void
handle_frame (shim_t *s, vm_t *vm, const vmproto_frame_t *f)
{
  vm_sess_t *x;
  json_t *j = NULL;
  switch (f->h.type)
    {
    case VM_HELLO:
    case VM_READY:
    case VM_STARTED:
    case VM_EXIT:
      /* Small JSON objects; the guest is not trusted: anything else is
       * taken as an empty object. */
      j = json_loadb ((const char *) f->payload, f->h.length, 0, NULL);
      if (!json_is_object (j))
        {
          json_decref (j);
          j = json_object ();
        }
      if (f->h.type == VM_HELLO)
        on_hello (s, vm, j);
      else if (f->h.type == VM_READY)
        on_ready (s, vm, j);
      else if (f->h.type == VM_STARTED)
        on_started (s, vm, f->h.session, j);
      else
        on_exit_frame (s, vm, f->h.session, j);
      json_decref (j);
      break;
    case VM_STDOUT:
    case VM_STDERR:
      if ((x = sess_find (vm, f->h.session)))
        sess_output (vm, x, f->h.type, f->payload, f->h.length);
      break;
    case VM_CREDIT:
      if ((x = sess_find (vm, f->h.session)))
        {
          uint64_t c = (uint64_t) x->in_credit + vmproto_credit_value (f->payload, f->h.length);
          x->in_credit = c > 16u * VMPROTO_WINDOW ? 16u * VMPROTO_WINDOW : (uint32_t) c;
        }
      break;
    case VM_DNS_QUERY:
      vm_dns_query (vm, f->h.session, f->payload, f->h.length);
      break;
    case VM_PS_REPLY:
      on_ps_reply (s, f->h.session, f->payload, f->h.length);
      break;
    case VM_LOG:
      log_info ("guest: %.*s", (int) (f->h.length > 512 ? 512 : f->h.length), (const char *) f->payload);
      break;
    default:
      break;
    }
}

static void
read_channel (shim_t *s, vm_t *vm)
{
  char buf[64 * 1024];
  for (int rounds = 0; rounds < 16 && vm->chan_fd >= 0; rounds++)
    {
      ssize_t n = recv (vm->chan_fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      if (n <= 0)
        {
          /* QEMU closed it: it is exiting; the reaper does the rest. */
          close (vm->chan_fd);
          vm->chan_fd = -1;
          return;
        }
      vmproto_reader_feed (&vm->reader, buf, (size_t) n);
      vmproto_frame_t f;
      int r;
      while ((r = vmproto_reader_next (&vm->reader, &f)) == 1)
        handle_frame (s, vm, &f);
      if (r < 0)
        {
          log_error ("container %s: protocol error from the guest; stopping the VM", s->id);
          if (vm->phase < VM_PHASE_RUNNING && vm->phase != VM_PHASE_OFF)
            start_fail (s, xstrdup ("vm: protocol error from the guest"));
          else if (vm->qemu_pid > 0)
            kill (vm->qemu_pid, SIGKILL);
          close (vm->chan_fd);
          vm->chan_fd = -1;
          return;
        }
    }
}

/* ---- backend ---- */

static int
load_json (const char *path, json_t **out, char **err_msg)
{
  json_error_t jerr;
  *out = json_load_file (path, 0, &jerr);
  if (*out == NULL || !json_is_object (*out))
    {
      *err_msg = xasprintf ("read %s: %s", path, jerr.text);
      return -1;
    }
  return 0;
}

/* The container's netns: the shim lives in it (it holds the tap devices
 * QEMU opens and answers DNS from 127.0.0.11 there); its unix sockets are
 * paths and do not care. */
static int
enter_netns (vm_t *vm, char **err_msg)
{
  const char *path = json_get_str (vm->cfg, "netns");
  if (path == NULL)
    return 0;
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns (fd, CLONE_NEWNET) < 0)
    {
      *err_msg = xasprintf ("join network namespace %s: %s", path, strerror (errno));
      return -1;
    }
  return 0;
}

/* The init's stdio: our ends of the pipes the runtime would have given the
 * container, or for a TTY a socketpair standing in for the PTY master
 * (the PTY itself is in the guest). */
static int
init_session (shim_t *s, vm_t *vm, char **err_msg)
{
  vm_sess_t *x = sess_new (vm, VMPROTO_SESSION_INIT);
  if (s->tty)
    {
      int sp[2];
      if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        {
          *err_msg = xasprintf ("socketpair: %s", strerror (errno));
          return -1;
        }
      set_nonblock (sp[0]);
      set_nonblock (sp[1]);
      s->out_fd = s->in_fd = sp[0];
      x->in_fd = x->out_fd = sp[1];
      x->tty = true;
      shim_close_child_fds (s);
      return 0;
    }
  if (s->open_stdin)
    x->in_fd = s->child_fds[0];
  else
    close (s->child_fds[0]);
  x->out_fd = s->child_fds[1];
  x->err_fd = s->child_fds[2];
  s->child_fds[0] = s->child_fds[1] = s->child_fds[2] = -1;
  for (int *fd = &x->in_fd; fd <= &x->err_fd; fd++)
    if (*fd >= 0)
      set_nonblock (*fd);
  return 0;
}

int
shim_vm_setup (shim_t *s, char **err_msg)
{
  vm_t *vm = xmalloc0 (sizeof *vm);
  s->vm = vm;
  vm->chan_fd = vm->qmp_fd = -1;
  vm->next_session = 2;
  vm->next_query = 1;
  if (load_json (s->vm_config, &vm->cfg, err_msg) < 0)
    return -1;
  _cleanup_free_ char *spec_path = xasprintf ("%s/config.json", s->bundle);
  if (load_json (spec_path, &vm->spec, err_msg) < 0)
    return -1;
  if (enter_netns (vm, err_msg) < 0 || vm_mounts_stage (s, vm, err_msg) < 0)
    return -1;
  return init_session (s, vm, err_msg);
}

static json_t *
vm_start (shim_t *s, shim_conn_t *c)
{
  vm_t *vm = vm_of (s);
  char *msg = NULL;
  if (vm_qemu_spawn (s, vm, &msg) < 0)
    return shim_start_failed (s, msg);
  s->init_pid = vm->qemu_pid;
  vm->phase = VM_PHASE_BOOTING;
  vm->t_spawn = time_mono_ns ();
  int64_t timeout = json_get_int (vm->cfg, "boot_timeout_s", 120);
  vm->deadline = vm->t_spawn + timeout * ARCA_NSEC_PER_SEC;
  c->start_pending = true;
  c->vm_session = VMPROTO_SESSION_INIT;
  return NULL;
}

static int
vm_kill (shim_t *s, int sig, bool all, char **err_msg)
{
  vm_t *vm = vm_of (s);
  if (vm->phase == VM_PHASE_RUNNING)
    {
      vm_send_json (vm, VMPROTO_SESSION_INIT, VM_SIGNAL, json_pack ("{s:i,s:b}", "signal", sig, "all", all));
      /* An agent that does not act on SIGKILL loses its VM. */
      if (sig == SIGKILL && vm->deadline == 0)
        vm->deadline = time_mono_ns () + VM_HARD_KILL_NS;
      return 0;
    }
  if (vm->phase == VM_PHASE_STOPPING || vm->phase == VM_PHASE_DEAD)
    return 0;
  if (vm->qemu_pid > 0 && sig == SIGKILL)
    kill (vm->qemu_pid, SIGKILL);
  return 0;
}

static void
vm_resize (shim_t *s, unsigned height, unsigned width)
{
  vm_send_json (vm_of (s), VMPROTO_SESSION_INIT, VM_RESIZE,
                json_pack ("{s:i,s:i}", "height", (int) height, "width", (int) width));
}

/* {"op":"vm-exec","process":{..},"tty":b,"stdin":b} with the exec's stdio
 * fds (tty: one socketpair end; else stdin, stdout, stderr). */
static json_t *
op_vm_exec (shim_t *s, vm_t *vm, shim_conn_t *c, json_t *req)
{
  bool tty = json_get_bool (req, "tty", false), in = json_get_bool (req, "stdin", false);
  json_t *process = json_object_get (req, "process");
  if (vm->phase != VM_PHASE_RUNNING || vm->init_exited)
    return shim_fail ("container is not running");
  if (!json_is_object (process) || c->nfds != (tty ? 1 : 3))
    return shim_fail ("vm-exec: a process and its stdio are required");
  vm_sess_t *x = sess_new (vm, vm->next_session++);
  x->tty = tty;
  if (tty)
    x->in_fd = x->out_fd = c->fds[0];
  else
    {
      x->in_fd = in ? c->fds[0] : -1;
      if (!in)
        close (c->fds[0]);
      x->out_fd = c->fds[1];
      x->err_fd = c->fds[2];
    }
  c->nfds = 0;
  for (int *fd = &x->in_fd; fd <= &x->err_fd; fd++)
    if (*fd >= 0)
      set_nonblock (*fd);
  vm_send_json (vm, x->id, VM_EXEC, json_pack ("{s:O,s:b}", "process", process, "stdin", in));
  c->start_pending = true;
  c->vm_session = x->id;
  return NULL;
}

static json_t *
op_vm_exec_wait (shim_t *s, vm_t *vm, shim_conn_t *c, json_t *req)
{
  vm_sess_t *x = sess_find (vm, (uint32_t) json_get_int (req, "session", 0));
  if (x == NULL || x->id == VMPROTO_SESSION_INIT)
    return shim_fail ("no such exec session");
  if (x->exited)
    return json_pack ("{s:b,s:i}", "ok", 1, "ExitCode", x->exit_code);
  c->vm_waiting = true;
  c->vm_session = x->id;
  return NULL;
}

static json_t *
vm_op (shim_t *s, shim_conn_t *c, const char *op, json_t *req, bool *handled)
{
  vm_t *vm = vm_of (s);
  *handled = true;
  if (strcmp (op, "vm-exec") == 0)
    return op_vm_exec (s, vm, c, req);
  if (strcmp (op, "vm-exec-wait") == 0)
    return op_vm_exec_wait (s, vm, c, req);
  if (strcmp (op, "vm-signal") == 0 || strcmp (op, "vm-resize") == 0)
    {
      vm_sess_t *x = sess_find (vm, (uint32_t) json_get_int (req, "session", 0));
      if (x == NULL || x->exited || vm->phase != VM_PHASE_RUNNING)
        return shim_fail ("exec is not running");
      if (op[3] == 's')
        vm_send_json (vm, x->id, VM_SIGNAL,
                      json_pack ("{s:i,s:b}", "signal", (int) json_get_int (req, "signal", SIGKILL), "all", 0));
      else
        vm_send_json (vm, x->id, VM_RESIZE,
                      json_pack ("{s:i,s:i}", "height", (int) json_get_int (req, "height", 0), "width",
                                 (int) json_get_int (req, "width", 0)));
      return json_pack ("{s:b}", "ok", 1);
    }
  if (strcmp (op, "top") == 0)
    {
      if (vm->phase != VM_PHASE_RUNNING)
        return shim_fail ("container is not running");
      c->vm_query = vm->next_query++;
      vm_send (vm, c->vm_query, VM_PS, "{}", 2);
      return NULL;
    }
  if (strcmp (op, "pause") == 0 || strcmp (op, "resume") == 0)
    {
      if (vm->phase != VM_PHASE_RUNNING)
        return shim_fail ("container is not running");
      char *msg = NULL;
      if (vm_qmp (vm, op[0] == 'p' ? "stop" : "cont", &msg) < 0)
        return shim_fail_owned (msg);
      return json_pack ("{s:b}", "ok", 1);
    }
  *handled = false;
  return NULL;
}

static void
vm_poll_add (shim_t *s, pollset_t *ps, int64_t *deadline)
{
  vm_t *vm = vm_of (s);
  if (vm->chan_fd >= 0)
    pollset_add (ps, vm->chan_fd, (short) (POLLIN | (vm->out_off < vm->out.len ? POLLOUT : 0)));
  if (vm->qmp_fd >= 0)
    pollset_add (ps, vm->qmp_fd, POLLIN);
  for (vm_sess_t *x = vm->sessions; x; x = x->next)
    {
      if (x->in_fd >= 0 && x->in_credit > 0 && !x->in_eof_sent && x->started && !x->exited)
        pollset_add (ps, x->in_fd, POLLIN);
      if (x->out_fd >= 0 && x->out_off < x->out_buf.len)
        pollset_add (ps, x->out_fd, POLLOUT);
      if (x->err_fd >= 0 && x->err_off < x->err_buf.len)
        pollset_add (ps, x->err_fd, POLLOUT);
    }
  if (vm->deadline > 0 && (*deadline == 0 || vm->deadline < *deadline))
    *deadline = vm->deadline;
  vm_dns_poll_add (vm, ps, deadline);
}

static void
check_deadline (shim_t *s, vm_t *vm)
{
  if (vm->deadline == 0 || time_mono_ns () < vm->deadline)
    return;
  vm->deadline = 0;
  switch (vm->phase)
    {
    case VM_PHASE_BOOTING:
    case VM_PHASE_CONFIGURING:
    case VM_PHASE_STARTING:
      {
        _cleanup_free_ char *tail = vm_console_tail (s);
        static const char *const what[] = { [VM_PHASE_BOOTING] = "boot (no hello from the agent)",
                                            [VM_PHASE_CONFIGURING] = "set up the container (no ready after config)",
                                            [VM_PHASE_STARTING] = "start the container's process" };
        start_fail (s, xasprintf ("vm: the guest (%s) did not %s in time%s%s", json_get_str (vm->cfg, "accel"),
                                  what[vm->phase], tail ? "; console: " : "", tail ? tail : ""));
        break;
      }
    case VM_PHASE_RUNNING:
    case VM_PHASE_STOPPING:
      log_warn ("container %s: the guest did not stop; killing the VM", s->id);
      if (vm->qemu_pid > 0)
        kill (vm->qemu_pid, SIGKILL);
      break;
    default:
      break;
    }
}

/* Sessions done with: exited, output all written, and for execs the exit
 * handed to the exec's shim (or nobody is left to ask). */
static void
sessions_gc (shim_t *s, vm_t *vm)
{
  for (vm_sess_t *x = vm->sessions, *next; x; x = next)
    {
      next = x->next;
      if (x->id == VMPROTO_SESSION_INIT || !x->exited)
        continue;
      if (x->out_off < x->out_buf.len || x->err_off < x->err_buf.len)
        continue;
      bool waited = false;
      for (shim_conn_t *c = s->conns; c; c = c->next)
        waited |= !c->dead && c->vm_session == x->id;
      if (!waited && x->out_fd < 0 && x->err_fd < 0)
        sess_free (vm, x);
    }
}

static void
vm_poll_handle (shim_t *s, pollset_t *ps)
{
  vm_t *vm = vm_of (s);
  check_deadline (s, vm);
  short re = pollset_revents (ps, vm->chan_fd);
  if (re & POLLOUT)
    chan_flush (vm);
  if (re & (POLLIN | POLLHUP | POLLERR))
    read_channel (s, vm);
  if (pollset_revents (ps, vm->qmp_fd) & (POLLIN | POLLHUP))
    {
      /* QMP events nobody asked for (STOP, RESUME, SHUTDOWN): drop them. */
      char junk[4096];
      if (recv (vm->qmp_fd, junk, sizeof junk, MSG_DONTWAIT) == 0)
        {
          close (vm->qmp_fd);
          vm->qmp_fd = -1;
        }
    }
  for (vm_sess_t *x = vm->sessions; x; x = x->next)
    {
      if (x->in_fd >= 0 && (pollset_revents (ps, x->in_fd) & (POLLIN | POLLHUP | POLLERR)))
        sess_read_stdin (vm, x);
      if (x->out_fd >= 0 && (pollset_revents (ps, x->out_fd) & (POLLOUT | POLLERR | POLLHUP)))
        sess_write (vm, x, &x->out_fd, &x->out_buf, &x->out_off, x->out_eof);
      if (x->err_fd >= 0 && (pollset_revents (ps, x->err_fd) & (POLLOUT | POLLERR | POLLHUP)))
        sess_write (vm, x, &x->err_fd, &x->err_buf, &x->err_off, x->err_eof);
    }
  vm_dns_poll_handle (vm, ps);
  sessions_gc (s, vm);
  chan_flush (vm);
}

static bool
vm_child_exited (shim_t *s, pid_t pid, int status)
{
  vm_t *vm = vm_of (s);
  if (pid != vm->qemu_pid || pid <= 0)
    return false;
  /* Frames the guest sent before it went (its EXIT among them). */
  if (vm->chan_fd >= 0)
    read_channel (s, vm);
  vm->qemu_pid = 0;
  vm_phase_t was = vm->phase;
  vm->phase = VM_PHASE_DEAD;
  vm->deadline = 0;
  if (vm->chan_fd >= 0)
    close (vm->chan_fd);
  vm->chan_fd = -1;
  /* Nothing more comes from the guest: end every stream once written. */
  for (vm_sess_t *x = vm->sessions; x; x = x->next)
    {
      x->out_eof = x->err_eof = true;
      sess_write (vm, x, &x->out_fd, &x->out_buf, &x->out_off, true);
      sess_write (vm, x, &x->err_fd, &x->err_buf, &x->err_off, true);
      if (x->in_fd >= 0 && x->in_fd != x->out_fd)
        {
          close (x->in_fd);
          x->in_fd = -1;
        }
      if (!x->exited && x->id != VMPROTO_SESSION_INIT)
        {
          x->exited = true;
          x->exit_code = 137;
          answer_exec_wait (s, x);
        }
    }
  if (s->exited)
    return true; /* a failed start, already answered */
  if (was < VM_PHASE_RUNNING)
    {
      _cleanup_free_ char *tail = vm_console_tail (s);
      vm->phase = was;
      start_fail (s, xasprintf ("vm: QEMU exited (status %d) before the container started%s%s",
                                WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status),
                                tail ? "; console: " : "", tail ? tail : ""));
      vm->phase = VM_PHASE_DEAD;
      return true;
    }
  /* The init's code, or 137: the VM died under it. */
  shim_mark_exited (s, vm->init_exited ? vm->init_code : 137);
  return true;
}

static void
vm_cleanup (shim_t *s)
{
  vm_t *vm = vm_of (s);
  if (vm == NULL)
    return;
  if (vm->qemu_pid > 0)
    {
      kill (vm->qemu_pid, SIGKILL);
      while (waitpid (vm->qemu_pid, NULL, 0) < 0 && errno == EINTR)
        ;
      vm->qemu_pid = 0;
    }
  vm_cgroup_remove (s, vm);
  vm_dns_free (vm);
  while (vm->sessions)
    sess_free (vm, vm->sessions);
  if (vm->chan_fd >= 0)
    close (vm->chan_fd);
  if (vm->qmp_fd >= 0)
    close (vm->qmp_fd);
  vm->chan_fd = vm->qmp_fd = -1;
}

const shim_backend_t shim_vm_backend = {
  .start = vm_start,
  .kill = vm_kill,
  .resize = vm_resize,
  .op = vm_op,
  .poll_add = vm_poll_add,
  .poll_handle = vm_poll_handle,
  .child_exited = vm_child_exited,
  .cleanup = vm_cleanup,
};
