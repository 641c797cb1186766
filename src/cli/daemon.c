/* `arca daemon start|stop|status`.
 *
 * start runs in the foreground and logs to stderr.  The pidfile
 * <exec-root>/arca.pid is held with an exclusive flock for the daemon's
 * lifetime: a lock that can be taken means no daemon is running, whatever
 * the file says (stale files after kill -9, reused pids, zombies).
 * SIGTERM/SIGINT stop the HTTP server and the engine; containers keep
 * running under their shims. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <grp.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/routes.h"
#include "cli/cli.h"
#include "engine/engine.h"
#include "http/http.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/memtrim.h"
#include "util/strutil.h"

#ifndef ARCA_VERSION
#define ARCA_VERSION "0.0.0"
#endif

/* ---- pidfile ------------------------------------------------------------- */

static char *
pidfile_path (const char *exec_root)
{
  return xasprintf ("%s/arca.pid", exec_root);
}

/* Is a daemon holding the pidfile?  Returns its pid (>0), 0 if none. */
static pid_t
pidfile_holder (const char *path)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  if (flock (fd, LOCK_SH | LOCK_NB) == 0)
    return 0; /* nobody holds it: stale */
  char buf[32] = "";
  ssize_t n = pread (fd, buf, sizeof buf - 1, 0);
  if (n <= 0)
    return -1; /* held but pid not written yet */
  buf[n] = '\0';
  long pid = strtol (buf, NULL, 10);
  return pid > 0 ? (pid_t) pid : -1;
}

/* Take the pidfile: refuse if another live daemon holds it.  Returns the
 * locked fd (kept open for the daemon's lifetime, close-on-exec). */
static int
pidfile_take (const char *path, arca_error_t *err)
{
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return arca_error_errno (err, errno, "open %s", path);
  /* A daemon killed with -9 may leave a forked child between fork and
   * exec/_exit (shim spawn, netns creation) that shares its lock for a
   * moment: give such a lock up to 5 s to go before refusing. */
  int locked = flock (fd, LOCK_EX | LOCK_NB);
  for (int i = 0; locked < 0 && i < 50; i++)
    {
      struct timespec ts = { .tv_nsec = 100 * 1000 * 1000 };
      nanosleep (&ts, NULL);
      locked = flock (fd, LOCK_EX | LOCK_NB);
    }
  if (locked < 0)
    {
      char buf[32] = "";
      ssize_t n = pread (fd, buf, sizeof buf - 1, 0);
      close (fd);
      if (n > 0)
        buf[strcspn (buf, "\n")] = '\0';
      return arca_error_set (err, ARCA_ERR_CONFLICT, "arca daemon is already running (pid %s, pidfile %s)",
                             n > 0 ? buf : "?", path);
    }
  char buf[32];
  int len = snprintf (buf, sizeof buf, "%d\n", (int) getpid ());
  if (ftruncate (fd, 0) < 0 || pwrite (fd, buf, (size_t) len, 0) != len)
    {
      int e = errno;
      close (fd);
      return arca_error_errno (err, e, "write %s", path);
    }
  return fd;
}

/* <exec-root>/arca.json: what the running daemon serves, so that status
 * finds the socket without being told. */
static char *
state_path (const char *exec_root)
{
  return xasprintf ("%s/arca.json", exec_root);
}

static void
state_write (const arca_config_t *c)
{
  arca_error_t err;
  _cleanup_free_ char *path = state_path (c->exec_root);
  _cleanup_json_ json_t *j = json_pack ("{s:i, s:s, s:s, s:s, s:s}", "pid", (int) getpid (), "socketPath",
                                        c->socket_path, "dataRoot", c->data_root, "execRoot", c->exec_root,
                                        "version", ARCA_VERSION);
  _cleanup_free_ char *data = json_dumps (j, JSON_INDENT (2));
  if (data && fs_write_atomic (path, data, strlen (data), 0644, &err) < 0)
    log_warn ("writing %s: %s", path, err.msg);
}

/* ---- listeners ------------------------------------------------------------ */

/* dockerd's default TLS files: $DOCKER_CERT_PATH or ~/.docker, then
 * ca.pem, cert.pem, key.pem (moby cmd/dockerd options.go). */
static char *
tls_default (const char *given, const char *name)
{
  if (given)
    return xstrdup (given);
  const char *dir = getenv ("DOCKER_CERT_PATH");
  if (dir && *dir)
    return xasprintf ("%s/%s", dir, name);
  const char *home = getenv ("HOME");
  return xasprintf ("%s/.docker/%s", home && *home ? home : "/root", name);
}

/* How often the main thread looks whether the API has gone idle, and how
 * long it must have been quiet (arca_malloc_trim_if_idle). */
#define IDLE_TRIM_CHECK_MS 1000
#define IDLE_TRIM_QUIET_NS 1000000000LL

/* ---- signals --------------------------------------------------------------- */

static int signal_pipe[2] = { -1, -1 };

static void
on_signal (int sig)
{
  int saved = errno;
  char c = (char) sig;
  if (write (signal_pipe[1], &c, 1) < 0)
    {
    }
  errno = saved;
}

/* A handler, not SIG_IGN, for SIGPIPE: writes still fail with EPIPE, and
 * unlike SIG_IGN the disposition is reset to default in the shims and
 * containers this process execs. */
static void
on_sigpipe (int sig)
{
}

static int
install_signals (arca_error_t *err)
{
  if (pipe2 (signal_pipe, O_CLOEXEC) < 0)
    return arca_error_errno (err, errno, "pipe");
  struct sigaction sa = { 0 };
  sigemptyset (&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sa.sa_handler = on_signal;
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGHUP, &sa, NULL);
  sa.sa_handler = on_sigpipe;
  sigaction (SIGPIPE, &sa, NULL);
  return 0;
}

/* ---- start ----------------------------------------------------------------- */

/* A companion executable: next to arca, else in PATH. */
static char *
sibling_path (const char *name)
{
  char self[4096];
  ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
  if (n > 0)
    {
      self[n] = '\0';
      char *cand = xasprintf ("%s/%s", dirname (self), name);
      if (access (cand, X_OK) == 0)
        return cand;
      free (cand);
    }
  return cli_find_executable (name);
}

static char *
shim_path (void)
{
  return sibling_path ("arca-shim");
}

int
cli_daemon_start (const arca_cli_flags_t *flags)
{
  arca_error_t err = { 0 };
  arca_config_t c;
  if (cli_config_load (&c, flags, &err) < 0)
    {
      fprintf (stderr, "arca daemon: %s\n", err.msg);
      cli_config_free (&c);
      return 1;
    }
  arca_log_set_level ((arca_log_level_t) arca_log_parse_level (c.log_level));
  /* before the first thread is created (util/memtrim.h) */
  arca_malloc_tune ();

  int rc = 1;
  int pid_fd = -1;
  arca_engine_t *engine = NULL;
  arca_listener_t *ls = NULL;
  size_t nls = 0;
  arca_http_server_t **srvs = NULL;
  /* every cleanup variable here, before the first goto out */
  _cleanup_free_ char *tls_ca = NULL, *tls_cert = NULL, *tls_key = NULL, *hosts_text = NULL;
  _cleanup_free_ char *seccomp = NULL;
  _cleanup_free_ char *pidfile = pidfile_path (c.exec_root);
  _cleanup_free_ char *tmp_dir = xasprintf ("%s/tmp", c.data_root);
  _cleanup_free_ char *runtime_path = NULL;
  _cleanup_free_ char *shim = NULL;

  /* as dockerd (cmd/dockerd setDefaultUmask): files made without an
   * explicit mode are 0644/0755, never group- or world-writable */
  umask (022);
  if (arca_engine_prepare_roots (c.data_root, c.exec_root, &err) < 0)
    goto out;
  if ((pid_fd = pidfile_take (pidfile, &err)) < 0)
    goto out;
  if (install_signals (&err) < 0)
    goto out;
  if (cli_listeners_plan (&c, &ls, &nls, &err) < 0)
    goto out;
  for (size_t i = 0; i < nls; i++)
    if (cli_listener_open (&ls[i], &c, &err) < 0)
      goto out;

  const char *rt_conf_path = json_string_value (json_object_get (json_object_get (c.runtimes, c.default_runtime), "path"));
  runtime_path = cli_find_executable (rt_conf_path);
  if (runtime_path == NULL)
    {
      log_warn ("runtime %s: %s not found in PATH; containers will not start", c.default_runtime, rt_conf_path);
      runtime_path = xstrdup (rt_conf_path);
    }
  shim = shim_path ();
  if (shim == NULL)
    {
      log_warn ("arca-shim not found next to arca or in PATH; containers will not start");
      shim = xstrdup ("arca-shim");
    }

  /* VM isolation: the guest agent goes into the guest's initramfs. */
  free (c.vm.agent);
  c.vm.agent = sibling_path ("arca-guest");
  /* daemon.json seccomp-profile: a file's content, or builtin/unconfined
   * (moby daemon setupSeccompProfile). */
  if (c.seccomp_profile && strcmp (c.seccomp_profile, "builtin") != 0 && strcmp (c.seccomp_profile, "unconfined") != 0)
    {
      if (fs_read_file (c.seccomp_profile, &seccomp, NULL, &err) < 0)
        {
          arca_error_wrap (&err, "opening seccomp profile (%s) failed", c.seccomp_profile);
          goto out;
        }
    }
  else if (c.seccomp_profile)
    seccomp = xstrdup (c.seccomp_profile);

  arca_engine_options_t eo = {
    .data_root = c.data_root,
    .exec_root = c.exec_root,
    .runtime_name = c.default_runtime,
    .runtime_path = runtime_path,
    .runtimes = c.runtimes,
    .shim_path = shim,
    .insecure_registries = c.insecure_registries,
    .registry_mirrors = c.registry_mirrors,
    .bridge_name = c.bridge_name,
    .nft_table = c.nft_table,
    .default_address_pools = c.default_address_pools,
    .vm = &c.vm,
    .default_isolation = c.default_isolation,
    .ip_forward_no_drop = c.ip_forward_no_drop,
    .ipv6 = c.ipv6,
    .fixed_cidr_v6 = c.fixed_cidr_v6,
    .proxy_max_connections = c.proxy_max_connections,
    .log_driver = c.log_driver,
    .log_opts = c.log_opts,
    .seccomp_profile = seccomp,
    .default_cgroupns_mode = c.default_cgroupns_mode,
  };
  if (arca_engine_open (&eo, &engine, &err) < 0)
    {
      arca_error_wrap (&err, "opening the engine state in %s", c.data_root);
      goto out;
    }
  arca_http_limits_t limits = { .idle_timeout_s = c.api_idle_timeout, .max_connections = c.api_max_connections };
  tls_ca = tls_default (c.tlscacert, "ca.pem");
  tls_cert = tls_default (c.tlscert, "cert.pem");
  tls_key = tls_default (c.tlskey, "key.pem");
  arca_http_tls_t tls = { .cert_file = tls_cert, .key_file = tls_key, .ca_file = c.tlsverify == 1 ? tls_ca : NULL };
  srvs = xmalloc0 (nls * sizeof *srvs);
  hosts_text = xstrdup ("");
  for (size_t i = 0; i < nls; i++)
    {
      int fd = ls[i].fd;
      ls[i].fd = -1; /* the server owns it, even when it fails */
      if (arca_http_server_start (fd, arca_api_routes (), engine, tmp_dir, &limits, ls[i].tls ? &tls : NULL,
                                  &srvs[i], &err)
          < 0)
        {
          arca_error_wrap (&err, "API listener %s", ls[i].host);
          goto out;
        }
      char *t = xasprintf ("%s%s%s%s", hosts_text, i ? ", " : "", ls[i].host,
                           ls[i].tls ? (c.tlsverify == 1 ? " (TLS, client certificates verified)" : " (TLS)") : "");
      free (hosts_text);
      hosts_text = t;
    }
  /* status finds the daemon through its first unix socket */
  free (c.socket_path);
  c.socket_path = xstrdup ("");
  for (size_t i = 0; i < nls; i++)
    if (ls[i].path)
      {
        free (c.socket_path);
        c.socket_path = xstrdup (ls[i].path);
        break;
      }

  state_write (&c);
  log_info ("arca daemon %s started: pid %d, API 1.51, API listening on %s, data root %s, exec root %s, runtime "
            "%s (%s)",
            ARCA_VERSION, (int) getpid (), hosts_text, c.data_root, c.exec_root, c.default_runtime, runtime_path);

  for (;;)
    {
      /* Between signals: once the API has been quiet for a second after
       * some work, freed memory goes back to the kernel (util/memtrim.h);
       * after a burst of 64 clients the daemon kept 15 MiB otherwise. */
      struct pollfd pfd = { .fd = signal_pipe[0], .events = POLLIN };
      int pr = poll (&pfd, 1, IDLE_TRIM_CHECK_MS);
      if (pr == 0)
        {
          arca_engine_release_idle (engine);
          arca_malloc_trim_if_idle (IDLE_TRIM_QUIET_NS);
          continue;
        }
      if (pr < 0 && errno == EINTR)
        continue;
      char sig;
      ssize_t n = read (signal_pipe[0], &sig, 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      if (sig == SIGHUP)
        {
          log_info ("SIGHUP: configuration reload is not supported; ignored");
          continue;
        }
      log_info ("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
  rc = 0;

out:
  if (rc != 0)
    log_error ("arca daemon: %s", err.msg);
  for (size_t i = 0; srvs && i < nls; i++)
    if (srvs[i])
      arca_http_server_stop (srvs[i]);
  free (srvs);
  if (engine)
    arca_engine_close (engine);
  for (size_t i = 0; i < nls; i++)
    if (ls[i].bound)
      unlink (ls[i].path); /* a socket this daemon bound, never another's */
  cli_listeners_free (ls, nls);
  if (pid_fd >= 0)
    {
      _cleanup_free_ char *state = state_path (c.exec_root);
      unlink (state);
      unlink (pidfile);
      close (pid_fd);
    }
  if (rc == 0)
    log_info ("arca daemon stopped");
  cli_config_free (&c);
  return rc;
}

/* ---- stop ------------------------------------------------------------------ */

int
cli_daemon_stop (const arca_cli_flags_t *flags, int timeout_s)
{
  arca_error_t err = { 0 };
  arca_config_t c;
  if (cli_config_load (&c, flags, &err) < 0)
    {
      fprintf (stderr, "arca daemon stop: %s\n", err.msg);
      cli_config_free (&c);
      return 1;
    }
  _cleanup_free_ char *pidfile = pidfile_path (c.exec_root);
  cli_config_free (&c);
  pid_t pid = pidfile_holder (pidfile);
  if (pid == 0)
    {
      printf ("arca daemon is not running\n");
      return 0;
    }
  if (pid < 0)
    {
      fprintf (stderr, "arca daemon stop: the daemon is starting (no pid in %s yet); try again\n", pidfile);
      return 1;
    }
  if (kill (pid, SIGTERM) < 0 && errno != ESRCH)
    {
      fprintf (stderr, "arca daemon stop: kill %d: %s\n", (int) pid, strerror (errno));
      return 1;
    }
  struct timespec start;
  clock_gettime (CLOCK_MONOTONIC, &start);
  for (;;)
    {
      if (pidfile_holder (pidfile) == 0)
        {
          printf ("arca daemon stopped (pid %d)\n", (int) pid);
          return 0;
        }
      struct timespec now;
      clock_gettime (CLOCK_MONOTONIC, &now);
      if (now.tv_sec - start.tv_sec >= timeout_s)
        {
          fprintf (stderr, "arca daemon stop: pid %d still running after %d s\n", (int) pid, timeout_s);
          return 1;
        }
      struct timespec ts = { 0, 50 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
}

/* ---- status ---------------------------------------------------------------- */

/* GET path over the unix socket (HTTP/1.0, whole response read).  Returns
 * the parsed JSON body of a 200, or NULL. */
static json_t *
socket_get_json (const char *sock, const char *path)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if (strlen (sock) >= sizeof sa.sun_path)
    return NULL;
  strcpy (sa.sun_path, sock);
  _cleanup_close_ int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    return NULL;
  struct timeval tv = { 5, 0 };
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  _cleanup_free_ char *reqs = xasprintf ("GET %s HTTP/1.0\r\nHost: arca\r\n\r\n", path);
  if (send (fd, reqs, strlen (reqs), MSG_NOSIGNAL) < 0)
    return NULL;
  arca_buf_t b = { 0 };
  char chunk[8192];
  ssize_t n;
  while ((n = read (fd, chunk, sizeof chunk)) > 0)
    buf_append (&b, chunk, (size_t) n);
  buf_append (&b, "", 1);
  json_t *j = NULL;
  char *body = b.data ? strstr (b.data, "\r\n\r\n") : NULL;
  if (body && strncmp (b.data, "HTTP/1.", 7) == 0 && strncmp (b.data + 8, " 200", 4) == 0)
    j = json_loads (body + 4, 0, NULL);
  buf_free (&b);
  return j;
}

int
cli_daemon_status (const arca_cli_flags_t *flags)
{
  arca_error_t err = { 0 };
  arca_config_t c;
  if (cli_config_load (&c, flags, &err) < 0)
    {
      fprintf (stderr, "arca daemon status: %s\n", err.msg);
      cli_config_free (&c);
      return 1;
    }
  _cleanup_free_ char *pidfile = pidfile_path (c.exec_root);
  pid_t pid = pidfile_holder (pidfile);
  if (pid == 0)
    {
      printf ("arca daemon: not running\n");
      cli_config_free (&c);
      return 3;
    }
  if (flags->socket_path == NULL)
    {
      _cleanup_free_ char *sp = state_path (c.exec_root);
      _cleanup_json_ json_t *st = json_load_file (sp, 0, NULL);
      const char *s = json_string_value (json_object_get (st, "socketPath"));
      if (s)
        {
          free (c.socket_path);
          c.socket_path = xstrdup (s);
        }
    }
  json_t *info = socket_get_json (c.socket_path, "/v1.51/info");
  printf ("arca daemon: running\n");
  if (pid > 0)
    printf ("  pid:         %d\n", (int) pid);
  printf ("  socket:      %s\n", c.socket_path);
  if (info == NULL)
    {
      printf ("  (not answering on %s)\n", c.socket_path);
      cli_config_free (&c);
      return 0;
    }
  json_t *j;
  printf ("  version:     %s\n", (j = json_object_get (info, "ServerVersion")) ? json_string_value (j) : "?");
  printf ("  data root:   %s\n", (j = json_object_get (info, "DockerRootDir")) ? json_string_value (j) : "?");
  printf ("  containers:  %lld (running %lld, paused %lld, stopped %lld)\n",
          (long long) json_integer_value (json_object_get (info, "Containers")),
          (long long) json_integer_value (json_object_get (info, "ContainersRunning")),
          (long long) json_integer_value (json_object_get (info, "ContainersPaused")),
          (long long) json_integer_value (json_object_get (info, "ContainersStopped")));
  printf ("  images:      %lld\n", (long long) json_integer_value (json_object_get (info, "Images")));
  json_decref (info);
  cli_config_free (&c);
  return 0;
}

/* ---- argument parsing ------------------------------------------------------ */

static void
daemon_usage (FILE *out)
{
  fprintf (out, "Usage: arca daemon COMMAND\n"
                "\n"
                "Manage the arca daemon.\n"
                "\n"
                "Commands:\n"
                "  start    Run the daemon in the foreground (logs to stderr)\n"
                "  stop     Stop a running daemon gracefully (SIGTERM), containers keep running\n"
                "  status   Show whether the daemon runs (exit 0) or not (exit 3)\n"
                "\n"
                "Run 'arca daemon COMMAND --help' for more information on a command.\n");
}

static void
sub_usage (FILE *out, const char *sub)
{
  if (strcmp (sub, "start") == 0)
    fprintf (out, "Usage: arca daemon start [OPTIONS]\n"
                  "\n"
                  "Run the arca daemon in the foreground.  It serves the Docker Engine API\n"
                  "on a unix socket and logs to stderr.  SIGTERM or SIGINT stop it; running\n"
                  "containers are left to their shims and re-adopted on the next start.\n"
                  "\n"
                  "Options:\n"
                  "  --config FILE        JSON config file (default " ARCA_DEFAULT_CONFIG ", optional;\n"
                  "                       also --config-file)\n"
                  "  --socket-path PATH   API socket (default " ARCA_DEFAULT_SOCKET ")\n"
                  "  --data-root DIR      persistent state (default " ARCA_DEFAULT_DATA_ROOT ")\n"
                  "  --exec-root DIR      runtime state, pidfile (default " ARCA_DEFAULT_EXEC_ROOT ")\n"
                  "  --log-level LEVEL    debug, info, warning or error (default info)\n"
                  "  -H, --host ADDR      API listener, repeatable: unix:///PATH or\n"
                  "                       tcp://[HOST]:PORT (default unix://<socket-path>)\n"
                  "  -G, --group GROUP    group of the unix sockets (default docker, if it exists)\n"
                  "  --tls                serve TLS on tcp:// listeners (implied by --tlsverify)\n"
                  "  --tlsverify          TLS, and require client certificates signed by --tlscacert\n"
                  "  --tlscacert FILE     trust client certificates signed by this CA\n"
                  "                       (default $DOCKER_CERT_PATH or ~/.docker, ca.pem)\n"
                  "  --tlscert FILE       server certificate (default ... cert.pem)\n"
                  "  --tlskey FILE        server key (default ... key.pem)\n"
                  "  -h, --help           show this help\n"
                  "\n"
                  "A tcp:// listener on a non-loopback address without --tlsverify is refused\n"
                  "unless --tls, --tls=false or --tlsverify=false is given explicitly (dockerd 27+).\n"
                  "\n"
                  "Config file keys: socketPath, dataRoot, execRoot, logLevel, defaultRuntime,\n"
                  "runtimes ({\"name\": {\"path\": \"...\"}}), hosts, tls, tlsverify, tlscacert,\n"
                  "tlscert, tlskey, group and more (docs).  Flags override the file.\n");
  else if (strcmp (sub, "stop") == 0)
    fprintf (out, "Usage: arca daemon stop [OPTIONS]\n"
                  "\n"
                  "Stop the daemon whose pidfile is <exec-root>/arca.pid (SIGTERM) and wait\n"
                  "until it has exited.  Containers keep running.\n"
                  "\n"
                  "Options:\n"
                  "  --config FILE        JSON config file (default " ARCA_DEFAULT_CONFIG ")\n"
                  "  --exec-root DIR      (default " ARCA_DEFAULT_EXEC_ROOT ")\n"
                  "  --timeout SECONDS    how long to wait (default 30)\n"
                  "  -h, --help           show this help\n");
  else
    fprintf (out, "Usage: arca daemon status [OPTIONS]\n"
                  "\n"
                  "Show whether the daemon is running, with its pid, socket, version and\n"
                  "container counts.  Exit status 0 when running, 3 when not.\n"
                  "\n"
                  "Options:\n"
                  "  --config FILE        JSON config file (default " ARCA_DEFAULT_CONFIG ")\n"
                  "  --socket-path PATH   (default: the running daemon's, else " ARCA_DEFAULT_SOCKET ")\n"
                  "  --exec-root DIR      (default " ARCA_DEFAULT_EXEC_ROOT ")\n"
                  "  -h, --help           show this help\n");
}

int
cli_daemon_main (int argc, char **argv)
{
  if (argc < 2)
    {
      daemon_usage (stderr);
      return 1;
    }
  const char *sub = argv[1];
  if (strcmp (sub, "--help") == 0 || strcmp (sub, "-h") == 0 || strcmp (sub, "help") == 0)
    {
      daemon_usage (stdout);
      return 0;
    }
  bool is_start = strcmp (sub, "start") == 0, is_stop = strcmp (sub, "stop") == 0,
       is_status = strcmp (sub, "status") == 0;
  if (!is_start && !is_stop && !is_status)
    {
      fprintf (stderr, "arca daemon: unknown command '%s'\n\n", sub);
      daemon_usage (stderr);
      return 1;
    }

  enum { OPT_CONFIG = 256, OPT_SOCKET, OPT_DATA, OPT_EXEC, OPT_LEVEL, OPT_TIMEOUT, OPT_TLS, OPT_TLSVERIFY,
         OPT_TLSCACERT, OPT_TLSCERT, OPT_TLSKEY };
  static const struct option opts[] = {
    { "config", required_argument, NULL, OPT_CONFIG },
    { "config-file", required_argument, NULL, OPT_CONFIG }, /* dockerd's spelling */
    { "socket-path", required_argument, NULL, OPT_SOCKET },
    { "data-root", required_argument, NULL, OPT_DATA },
    { "exec-root", required_argument, NULL, OPT_EXEC },
    { "log-level", required_argument, NULL, OPT_LEVEL },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "host", required_argument, NULL, 'H' },
    { "group", required_argument, NULL, 'G' },
    /* Go's boolean flags: --tls, --tls=false (never "--tls false") */
    { "tls", optional_argument, NULL, OPT_TLS },
    { "tlsverify", optional_argument, NULL, OPT_TLSVERIFY },
    { "tlscacert", required_argument, NULL, OPT_TLSCACERT },
    { "tlscert", required_argument, NULL, OPT_TLSCERT },
    { "tlskey", required_argument, NULL, OPT_TLSKEY },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  arca_cli_flags_t f = { .tls = -1, .tlsverify = -1 };
  _cleanup_strv_ char **hosts = NULL;
  int timeout_s = 30;
  int subargc = argc - 1;
  char **subargv = argv + 1;
  optind = 1;
  opterr = 0;
  int ch;
  while ((ch = getopt_long (subargc, subargv, ":hH:G:", opts, NULL)) != -1)
    {
      bool allowed = true;
      switch (ch)
        {
        case 'h':
          sub_usage (stdout, sub);
          return 0;
        case OPT_CONFIG: f.config = optarg; break;
        case OPT_SOCKET: f.socket_path = optarg; allowed = !is_stop; break;
        case OPT_DATA: f.data_root = optarg; allowed = is_start; break;
        case OPT_EXEC: f.exec_root = optarg; break;
        case OPT_LEVEL: f.log_level = optarg; allowed = is_start; break;
        case 'H':
          if (hosts == NULL)
            hosts = xmalloc0 (sizeof (char *));
          hosts = strv_append (hosts, optarg);
          f.hosts = hosts;
          allowed = is_start;
          break;
        case 'G': f.group = optarg; allowed = is_start; break;
        case OPT_TLSCACERT: f.tlscacert = optarg; allowed = is_start; break;
        case OPT_TLSCERT: f.tlscert = optarg; allowed = is_start; break;
        case OPT_TLSKEY: f.tlskey = optarg; allowed = is_start; break;
        case OPT_TLS:
        case OPT_TLSVERIFY:
          {
            /* Go strconv.ParseBool */
            static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
            static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
            int v = optarg ? -1 : 1;
            for (size_t i = 0; optarg && i < 6; i++)
              v = strcmp (optarg, yes[i]) == 0 ? 1 : strcmp (optarg, no[i]) == 0 ? 0 : v;
            if (v < 0)
              {
                fprintf (stderr, "arca daemon %s: invalid boolean value \"%s\" for --%s\n", sub, optarg,
                         ch == OPT_TLS ? "tls" : "tlsverify");
                return 1;
              }
            *(ch == OPT_TLS ? &f.tls : &f.tlsverify) = v;
            allowed = is_start;
            break;
          }
        case OPT_TIMEOUT:
          {
            char *end;
            long t = strtol (optarg, &end, 10);
            if (*end || t <= 0)
              {
                fprintf (stderr, "arca daemon %s: invalid --timeout '%s'\n", sub, optarg);
                return 1;
              }
            timeout_s = (int) t;
            allowed = is_stop;
            break;
          }
        case ':':
          fprintf (stderr, "arca daemon %s: option '%s' needs a value\n", sub, subargv[optind - 1]);
          return 1;
        default:
          fprintf (stderr, "arca daemon %s: unknown option '%s'\n\n", sub, subargv[optind - 1]);
          sub_usage (stderr, sub);
          return 1;
        }
      if (!allowed)
        {
          const char *name = "?";
          for (const struct option *o = opts; o->name; o++)
            if (o->val == ch)
              {
                name = o->name;
                break;
              }
          fprintf (stderr, "arca daemon %s: option '--%s' does not apply here\n\n", sub, name);
          sub_usage (stderr, sub);
          return 1;
        }
    }
  if (optind < subargc)
    {
      fprintf (stderr, "arca daemon %s: unexpected argument '%s'\n", sub, subargv[optind]);
      return 1;
    }
  if (is_start)
    return cli_daemon_start (&f);
  if (is_stop)
    return cli_daemon_stop (&f, timeout_s);
  return cli_daemon_status (&f);
}
