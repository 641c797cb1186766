/* arca-shim against the real runc: a tiny busybox bundle, one container per
 * test.  Skipped unless root with runc, busybox-static and a built
 * arca-shim (next to this test binary, or $ARCA_SHIM). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/shim_client.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/jsonlog.h"
#include "util/stdcopy.h"
#include "util/strutil.h"
#include "util/timeutil.h"

static char tmpdir[64];
static char shim_path[4096];
static const char *runc_path;
static int counter;
static bool usable;

typedef struct
{
  char id[64];
  char bundle[256];
  char state_dir[256];
  char log_path[256];
  char exit_file[320];
  char runtime_root[256];
  arca_shim_options_t o;
} ctr_t;

static const char *
find_runc (void)
{
  static const char *cands[] = { "/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc" };
  for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++)
    if (access (cands[i], X_OK) == 0)
      return cands[i];
  return NULL;
}

static int
copy_file (const char *from, const char *to)
{
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  if (fs_read_file (from, &data, &len, NULL) < 0)
    return -1;
  return fs_write_atomic (to, data, len, 0755, NULL);
}

/* rootfs with busybox; config.json from `runc spec`, adjusted. */
static int
make_bundle (ctr_t *c, const char *const *args, bool tty)
{
  _cleanup_free_ char *bin = xasprintf ("%s/rootfs/bin", c->bundle);
  if (fs_mkdir_p (bin, 0755, NULL) < 0)
    return -1;
  _cleanup_free_ char *bb = xasprintf ("%s/busybox", bin);
  if (copy_file ("/bin/busybox", bb) < 0)
    return -1;
  static const char *links[] = { "sh", "echo", "cat", "tty", "sleep", "yes", "head", "stty" };
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
    {
      _cleanup_free_ char *l = xasprintf ("%s/%s", bin, links[i]);
      if (symlink ("busybox", l) < 0)
        return -1;
    }
  _cleanup_free_ char *cmd = xasprintf ("cd '%s' && '%s' spec", c->bundle, runc_path);
  if (system (cmd) != 0)
    return -1;
  _cleanup_free_ char *cfg = xasprintf ("%s/config.json", c->bundle);
  _cleanup_json_ json_t *j = json_load_file (cfg, 0, NULL);
  if (j == NULL)
    return -1;
  json_t *proc = json_object_get (j, "process");
  json_object_set_new (proc, "terminal", json_boolean (tty));
  /* As the daemon's spec does: runc sizes the PTY before the process runs. */
  if (tty)
    json_object_set_new (proc, "consoleSize", json_pack ("{s:i,s:i}", "height", 24, "width", 80));
  json_t *a = json_array ();
  for (size_t i = 0; args[i]; i++)
    json_array_append_new (a, json_string (args[i]));
  json_object_set_new (proc, "args", a);
  json_object_set_new (json_object_get (j, "root"), "readonly", json_false ());
  _cleanup_free_ char *cg = xasprintf ("/arca-test/%s", c->id);
  json_object_set_new (json_object_get (j, "linux"), "cgroupsPath", json_string (cg));
  return json_dump_file (j, cfg, JSON_INDENT (1));
}

static int
ctr_prepare (ctr_t *c, const char *const *args, bool tty, bool open_stdin, bool stdin_once)
{
  snprintf (c->id, sizeof c->id, "h3-shimtest-%d-%d", (int) getpid (), ++counter);
  snprintf (c->bundle, sizeof c->bundle, "%s/%s/bundle", tmpdir, c->id);
  snprintf (c->state_dir, sizeof c->state_dir, "%s/%s/state", tmpdir, c->id);
  snprintf (c->log_path, sizeof c->log_path, "%s/%s/ctr-json.log", tmpdir, c->id);
  snprintf (c->exit_file, sizeof c->exit_file, "%s/%s/exit.json", tmpdir, c->id);
  snprintf (c->runtime_root, sizeof c->runtime_root, "%s/runc-root", tmpdir);
  if (make_bundle (c, args, tty) < 0)
    return -1;
  c->o = (arca_shim_options_t){
    .shim_path = shim_path, .id = c->id, .bundle = c->bundle, .state_dir = c->state_dir,
    .log_path = c->log_path, .exit_file = c->exit_file, .runtime_path = runc_path,
    .runtime_root = c->runtime_root, .tty = tty, .open_stdin = open_stdin, .stdin_once = stdin_once,
    .console_height = tty ? 24 : 0, .console_width = tty ? 80 : 0,
  };
  return 0;
}

static pid_t
ctr_spawn (ctr_t *c)
{
  pid_t pid = 0;
  arca_error_t err = { 0 };
  int r = shim_spawn (&c->o, &pid, &err);
  if (r < 0)
    fail_msg ("shim_spawn: %s", err.msg);
  /* The process is run by the start op, after attaches connect. */
  assert_int_equal (pid, 0);
  return pid;
}

static void
ctr_op (ctr_t *c, const char *op)
{
  _cleanup_json_ json_t *req = json_pack ("{s:s}", "op", op);
  arca_error_t err = { 0 };
  if (shim_request (c->state_dir, req, NULL, &err) < 0)
    fail_msg ("%s: %s", op, err.msg);
}

/* Send a wait request now; read its answer later with wait_result. */
static int
wait_begin (ctr_t *c)
{
  arca_error_t err = { 0 };
  int fd = shim_connect (c->state_dir, &err);
  assert_true (fd >= 0);
  const char *req = "{\"op\":\"wait\"}\n";
  assert_int_equal (write (fd, req, strlen (req)), (ssize_t) strlen (req));
  return fd;
}

static int
wait_result (int fd)
{
  char buf[512];
  size_t len = 0;
  for (;;)
    {
      ssize_t n = read (fd, buf + len, sizeof buf - 1 - len);
      if (n <= 0)
        break;
      len += (size_t) n;
    }
  close (fd);
  buf[len] = 0;
  _cleanup_json_ json_t *j = json_loads (buf, JSON_DISABLE_EOF_CHECK, NULL);
  assert_non_null (j);
  assert_true (json_get_bool (j, "ok", false));
  assert_true (json_get_int (j, "FinishedAt", 0) > 0);
  return (int) json_get_int (j, "ExitCode", -1);
}

static void
read_all (int fd, arca_buf_t *b)
{
  char chunk[4096];
  for (;;)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      assert_true (poll (&p, 1, 20000) == 1);
      ssize_t n = read (fd, chunk, sizeof chunk);
      if (n <= 0)
        break;
      buf_append (b, chunk, (size_t) n);
    }
}

/* Split a multiplexed stream into stdout / stderr text. */
static void
demux (arca_buf_t *in, arca_buf_t *out, arca_buf_t *errs)
{
  size_t off = 0;
  while (off + 8 <= in->len)
    {
      stdcopy_stream_t s;
      uint32_t len;
      assert_int_equal (stdcopy_parse_header ((uint8_t *) in->data + off, &s, &len), 0);
      assert_true (off + 8 + len <= in->len);
      buf_append (s == STDCOPY_STDERR ? errs : out, in->data + off + 8, len);
      off += 8 + len;
    }
  assert_int_equal (off, in->len);
  buf_append (out, "", 1);
  buf_append (errs, "", 1);
}

static void
wait_shim_gone (ctr_t *c)
{
  _cleanup_free_ char *sock = xasprintf ("%s/shim.sock", c->state_dir);
  for (int i = 0; i < 200 && access (sock, F_OK) == 0; i++)
    usleep (50000);
  assert_int_not_equal (access (sock, F_OK), 0);
}

static int
group_setup (void **state)
{
  runc_path = find_runc ();
  const char *env = getenv ("ARCA_SHIM");
  if (env)
    snprintf (shim_path, sizeof shim_path, "%s", env);
  else
    {
      char self[4096];
      ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
      if (n > 0)
        {
          self[n] = 0;
          snprintf (shim_path, sizeof shim_path, "%s/arca-shim", dirname (self));
        }
    }
  usable = geteuid () == 0 && runc_path && access ("/bin/busybox", X_OK) == 0 && access (shim_path, X_OK) == 0;
  if (!usable)
    return 0;
  snprintf (tmpdir, sizeof tmpdir, "/tmp/h3-shimtest-XXXXXX");
  if (mkdtemp (tmpdir) == NULL)
    usable = false;
  return 0;
}

static int
group_teardown (void **state)
{
  if (!usable)
    return 0;
  _cleanup_free_ char *cmd = xasprintf ("for c in $('%s' --root '%s/runc-root' list -q 2>/dev/null); do '%s' --root '%s/runc-root' delete --force $c; done;"
                                        "rm -rf '%s'; rmdir /sys/fs/cgroup/*/arca-test 2>/dev/null; true",
                                        runc_path, tmpdir, runc_path, tmpdir, tmpdir);
  return system (cmd) == 0 ? 0 : -1;
}

#define SKIP_UNLESS_USABLE()                                                                                           \
  do                                                                                                                   \
    {                                                                                                                  \
      if (!usable)                                                                                                     \
        skip ();                                                                                                       \
    }                                                                                                                  \
  while (0)

/* Attach before start sees the first byte; exit code, log and exit file. */
static void
test_output_and_exit (void **state)
{
  SKIP_UNLESS_USABLE ();
  ctr_t c;
  const char *args[] = { "sh", "-c", "echo hello; echo oops >&2; exit 3", NULL };
  assert_int_equal (ctr_prepare (&c, args, false, false, false), 0);
  ctr_spawn (&c);
  {
    _cleanup_json_ json_t *req = json_pack ("{s:s}", "op", "state");
    json_t *reply = NULL;
    arca_error_t err = { 0 };
    assert_int_equal (shim_request (c.state_dir, req, &reply, &err), 0);
    assert_string_equal (json_get_str (reply, "Status"), "created");
    json_decref (reply);
  }
  int afd = -1;
  arca_error_t err = { 0 };
  assert_int_equal (shim_attach (c.state_dir, false, true, true, NULL, &afd, &err), 0);
  int wfd = wait_begin (&c);
  ctr_op (&c, "start");
  arca_buf_t raw = { 0 }, out = { 0 }, errs = { 0 };
  read_all (afd, &raw);
  close (afd);
  demux (&raw, &out, &errs);
  assert_string_equal (out.data, "hello\n");
  assert_string_equal (errs.data, "oops\n");
  assert_int_equal (wait_result (wfd), 3);
  wait_shim_gone (&c);

  int code = -1;
  int64_t fin = 0;
  assert_int_equal (shim_read_exit_file (c.exit_file, &code, &fin, NULL, &err), 0);
  assert_int_equal (code, 3);
  assert_true (fin > 0);

  _cleanup_free_ char *log = NULL;
  assert_int_equal (fs_read_file (c.log_path, &log, NULL, &err), 0);
  int lines = 0, seen_out = 0, seen_err = 0;
  char *save = NULL;
  for (char *l = strtok_r (log, "\n", &save); l; l = strtok_r (NULL, "\n", &save), lines++)
    {
      char *text = NULL, *stream = NULL;
      int64_t t = 0;
      assert_int_equal (jsonlog_parse_line (l, &text, NULL, &stream, &t), 0);
      assert_true (t > 0);
      if (strcmp (stream, "stdout") == 0 && strcmp (text, "hello\n") == 0)
        seen_out++;
      if (strcmp (stream, "stderr") == 0 && strcmp (text, "oops\n") == 0)
        seen_err++;
      free (text);
      free (stream);
    }
  assert_int_equal (lines, 2);
  assert_int_equal (seen_out, 1);
  assert_int_equal (seen_err, 1);
  buf_free (&raw);
  buf_free (&out);
  buf_free (&errs);
}

static void
test_kill (void **state)
{
  SKIP_UNLESS_USABLE ();
  ctr_t c;
  const char *args[] = { "sleep", "100", NULL };
  assert_int_equal (ctr_prepare (&c, args, false, false, false), 0);
  ctr_spawn (&c);
  int wfd = wait_begin (&c);
  ctr_op (&c, "start");
  _cleanup_json_ json_t *req = json_pack ("{s:s,s:i}", "op", "kill", "signal", 9);
  arca_error_t err = { 0 };
  assert_int_equal (shim_request (c.state_dir, req, NULL, &err), 0);
  assert_int_equal (wait_result (wfd), 137);
  wait_shim_gone (&c);
}

/* StdinOnce: the client's half-close closes the container's stdin. */
static void
test_stdin_once (void **state)
{
  SKIP_UNLESS_USABLE ();
  ctr_t c;
  const char *args[] = { "cat", NULL };
  assert_int_equal (ctr_prepare (&c, args, false, true, true), 0);
  ctr_spawn (&c);
  int afd = -1;
  arca_error_t err = { 0 };
  assert_int_equal (shim_attach (c.state_dir, true, true, true, NULL, &afd, &err), 0);
  int wfd = wait_begin (&c);
  ctr_op (&c, "start");
  assert_int_equal (write (afd, "ping\npong", 9), 9);
  shutdown (afd, SHUT_WR);
  arca_buf_t raw = { 0 }, out = { 0 }, errs = { 0 };
  read_all (afd, &raw);
  close (afd);
  demux (&raw, &out, &errs);
  assert_string_equal (out.data, "ping\npong");
  assert_int_equal (wait_result (wfd), 0);
  /* The partial last line reaches the log at EOF. */
  _cleanup_free_ char *log = NULL;
  assert_int_equal (fs_read_file (c.log_path, &log, NULL, &err), 0);
  assert_non_null (strstr (log, "{\"log\":\"pong\",\"stream\":\"stdout\""));
  buf_free (&raw);
  buf_free (&out);
  buf_free (&errs);
}

static void
test_tty (void **state)
{
  SKIP_UNLESS_USABLE ();
  ctr_t c;
  const char *args[] = { "sh", "-c", "tty; stty size", NULL };
  assert_int_equal (ctr_prepare (&c, args, true, false, false), 0);
  ctr_spawn (&c);
  int afd = -1;
  arca_error_t err = { 0 };
  assert_int_equal (shim_attach (c.state_dir, false, true, true, NULL, &afd, &err), 0);
  int wfd = wait_begin (&c);
  ctr_op (&c, "start");
  arca_buf_t raw = { 0 };
  read_all (afd, &raw);
  close (afd);
  buf_append (&raw, "", 1);
  /* Raw (not framed) and with the PTY's \r\n. */
  assert_string_equal (raw.data, "/dev/pts/0\r\n24 80\r\n");
  assert_int_equal (wait_result (wfd), 0);
  _cleanup_free_ char *log = NULL;
  assert_int_equal (fs_read_file (c.log_path, &log, NULL, &err), 0);
  assert_non_null (strstr (log, "{\"log\":\"/dev/pts/0\\r\\n\",\"stream\":\"stdout\""));
  buf_free (&raw);
}

/* TTY detach keys end only that session; resize reaches the PTY. */
static void
test_tty_detach (void **state)
{
  SKIP_UNLESS_USABLE ();
  ctr_t c;
  const char *args[] = { "sh", NULL };
  assert_int_equal (ctr_prepare (&c, args, true, true, true), 0);
  ctr_spawn (&c);
  int afd = -1;
  arca_error_t err = { 0 };
  assert_int_equal (shim_attach (c.state_dir, true, true, true, "ctrl-x,y", &afd, &err), 0);
  ctr_op (&c, "start");
  _cleanup_json_ json_t *rs = json_pack ("{s:s,s:i,s:i}", "op", "resize", "height", 33, "width", 99);
  assert_int_equal (shim_request (c.state_dir, rs, NULL, &err), 0);
  const char *in = "stty size; echo mark$((6*7))\n";
  assert_int_equal (write (afd, in, strlen (in)), (ssize_t) strlen (in));
  /* Wait for the command's output, then detach. */
  arca_buf_t raw = { 0 };
  for (int i = 0; i < 100; i++)
    {
      char chunk[1024];
      struct pollfd p = { .fd = afd, .events = POLLIN };
      if (poll (&p, 1, 100) == 1)
        {
          ssize_t n = read (afd, chunk, sizeof chunk);
          assert_true (n > 0);
          buf_append (&raw, chunk, (size_t) n);
          buf_append (&raw, "", 1);
          raw.len--;
          if (strstr (raw.data, "mark42"))
            break;
        }
    }
  assert_non_null (strstr (raw.data, "33 99"));
  assert_int_equal (write (afd, "\x18y", 2), 2);
  read_all (afd, &raw); /* EOF: the session ended */
  close (afd);
  _cleanup_json_ json_t *sreq = json_pack ("{s:s}", "op", "state");
  json_t *reply = NULL;
  assert_int_equal (shim_request (c.state_dir, sreq, &reply, &err), 0);
  assert_string_equal (json_get_str (reply, "Status"), "running");
  json_decref (reply);
  int wfd = wait_begin (&c);
  _cleanup_json_ json_t *kreq = json_pack ("{s:s,s:i}", "op", "kill", "signal", 9);
  assert_int_equal (shim_request (c.state_dir, kreq, NULL, &err), 0);
  assert_int_equal (wait_result (wfd), 137);
  buf_free (&raw);
}

/* The exit is recorded with nobody connected (daemon gone). */
static void
test_exit_without_daemon (void **state)
{
  SKIP_UNLESS_USABLE ();
  ctr_t c;
  const char *args[] = { "sh", "-c", "sleep 1; exit 5", NULL };
  assert_int_equal (ctr_prepare (&c, args, false, false, false), 0);
  ctr_spawn (&c);
  ctr_op (&c, "start");
  arca_error_t err = { 0 };
  int code = -1;
  int64_t fin = 0;
  assert_int_equal (shim_read_exit_file (c.exit_file, &code, &fin, NULL, &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_NOT_FOUND);
  wait_shim_gone (&c);
  assert_int_equal (shim_read_exit_file (c.exit_file, &code, &fin, NULL, &err), 0);
  assert_int_equal (code, 5);
  assert_int_equal (shim_connect (c.state_dir, &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_UNAVAILABLE);
}

/* Output larger than the attach high-water mark, with a client that is slow
 * at first: nothing is lost, neither in the stream nor in the log. */
static void
test_big_output (void **state)
{
  SKIP_UNLESS_USABLE ();
  ctr_t c;
  const char *args[] = { "sh", "-c", "yes abcdefghij | head -n 300000", NULL };
  assert_int_equal (ctr_prepare (&c, args, false, false, false), 0);
  ctr_spawn (&c);
  int afd = -1;
  arca_error_t err = { 0 };
  assert_int_equal (shim_attach (c.state_dir, false, true, true, NULL, &afd, &err), 0);
  int wfd = wait_begin (&c);
  ctr_op (&c, "start");
  usleep (500000);
  arca_buf_t raw = { 0 }, out = { 0 }, errs = { 0 };
  read_all (afd, &raw);
  close (afd);
  demux (&raw, &out, &errs);
  assert_int_equal (out.len - 1, 300000 * 11);
  assert_int_equal (wait_result (wfd), 0);
  _cleanup_free_ char *log = NULL;
  size_t len = 0;
  assert_int_equal (fs_read_file (c.log_path, &log, &len, &err), 0);
  size_t lines = 0;
  for (size_t i = 0; i < len; i++)
    lines += log[i] == '\n';
  assert_int_equal (lines, 300000);
  buf_free (&raw);
  buf_free (&out);
  buf_free (&errs);
}

/* Exec mode: a second shim runs `runc exec` at "start". */
static int
exec_prepare (ctr_t *c, ctr_t *x, const char *const *args)
{
  *x = *c;
  snprintf (x->state_dir, sizeof x->state_dir, "%s/%s/exec-%d", tmpdir, c->id, ++counter);
  snprintf (x->exit_file, sizeof x->exit_file, "%s/exit.json", x->state_dir);
  _cleanup_free_ char *cfg = xasprintf ("%s/config.json", c->bundle);
  _cleanup_json_ json_t *j = json_load_file (cfg, 0, NULL);
  json_t *proc = json_deep_copy (json_object_get (j, "process"));
  json_t *a = json_array ();
  for (size_t i = 0; args[i]; i++)
    json_array_append_new (a, json_string (args[i]));
  json_object_set_new (proc, "args", a);
  if (fs_mkdir_p (x->state_dir, 0711, NULL) < 0)
    return -1;
  _cleanup_free_ char *pf = xasprintf ("%s/process.json", x->state_dir);
  int r = json_dump_file (proc, pf, 0);
  json_decref (proc);
  x->o.state_dir = x->state_dir;
  x->o.exit_file = x->exit_file;
  x->o.log_path = NULL;
  x->o.exec_process = xstrdup (pf);
  return r;
}

static void
test_exec (void **state)
{
  SKIP_UNLESS_USABLE ();
  ctr_t c, x, bad;
  const char *args[] = { "sleep", "100", NULL };
  assert_int_equal (ctr_prepare (&c, args, false, false, false), 0);
  ctr_spawn (&c);
  ctr_op (&c, "start");

  const char *xargs[] = { "sh", "-c", "echo in-exec; exit 7", NULL };
  assert_int_equal (exec_prepare (&c, &x, xargs), 0);
  pid_t pid = -1;
  arca_error_t err = { 0 };
  assert_int_equal (shim_spawn (&x.o, &pid, &err), 0);
  assert_int_equal (pid, 0);
  int afd = -1;
  assert_int_equal (shim_attach (x.state_dir, false, true, true, NULL, &afd, &err), 0);
  int wfd = wait_begin (&x);
  ctr_op (&x, "start");
  arca_buf_t raw = { 0 }, out = { 0 }, errs = { 0 };
  read_all (afd, &raw);
  close (afd);
  demux (&raw, &out, &errs);
  assert_string_equal (out.data, "in-exec\n");
  assert_int_equal (wait_result (wfd), 7);
  wait_shim_gone (&x);
  int code = -1;
  assert_int_equal (shim_read_exit_file (x.exit_file, &code, NULL, NULL, &err), 0);
  assert_int_equal (code, 7);

  /* A missing binary: start fails with runc's message, the shim goes. */
  const char *bargs[] = { "nope-not-here", NULL };
  assert_int_equal (exec_prepare (&c, &bad, bargs), 0);
  assert_int_equal (shim_spawn (&bad.o, &pid, &err), 0);
  _cleanup_json_ json_t *sreq = json_pack ("{s:s}", "op", "start");
  assert_int_equal (shim_request (bad.state_dir, sreq, NULL, &err), -1);
  assert_non_null (strstr (err.msg, "executable file not found in $PATH"));
  wait_shim_gone (&bad);
  assert_int_equal (shim_read_exit_file (bad.exit_file, &code, NULL, NULL, &err), -1);

  /* The container itself is untouched. */
  _cleanup_json_ json_t *st = json_pack ("{s:s}", "op", "state");
  json_t *reply = NULL;
  assert_int_equal (shim_request (c.state_dir, st, &reply, &err), 0);
  assert_string_equal (json_get_str (reply, "Status"), "running");
  json_decref (reply);
  wfd = wait_begin (&c);
  _cleanup_json_ json_t *kreq = json_pack ("{s:s,s:i}", "op", "kill", "signal", 9);
  assert_int_equal (shim_request (c.state_dir, kreq, NULL, &err), 0);
  assert_int_equal (wait_result (wfd), 137);
  free ((char *) x.o.exec_process);
  free ((char *) bad.o.exec_process);
  buf_free (&raw);
  buf_free (&out);
  buf_free (&errs);
}

static void
test_bad_executable (void **state)
{
  SKIP_UNLESS_USABLE ();
  ctr_t c;
  const char *args[] = { "/nonexistent", NULL };
  assert_int_equal (ctr_prepare (&c, args, false, false, false), 0);
  ctr_spawn (&c);
  _cleanup_json_ json_t *req = json_pack ("{s:s}", "op", "start");
  arca_error_t err = { 0 };
  assert_int_equal (shim_request (c.state_dir, req, NULL, &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_INTERNAL);
  assert_non_null (strstr (err.msg, "unable to start container process: exec: \"/nonexistent\": "
                                    "stat /nonexistent: no such file or directory"));
  wait_shim_gone (&c);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_output_and_exit), cmocka_unit_test (test_kill),
    cmocka_unit_test (test_stdin_once),      cmocka_unit_test (test_tty),
    cmocka_unit_test (test_tty_detach),      cmocka_unit_test (test_exit_without_daemon),
    cmocka_unit_test (test_big_output),      cmocka_unit_test (test_exec),            cmocka_unit_test (test_bad_executable),
  };
  return cmocka_run_group_tests (tests, group_setup, group_teardown);
}
