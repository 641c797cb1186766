/* The HTTP server over a real unix socket: chunked headers flushed at once,
 * a client going away cancels a stream, hijack with extra_in bytes and
 * half-close, JSON body checks, bodies spooled to a file (chunked upload),
 * middleware headers, shutdown with busy streams and hijacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "http/http.h"
#include "util/fs.h"
#include "util/strutil.h"
#include "util/timeutil.h"

static char sock_path[256];
static char tmp_dir[256];
static arca_http_server_t *srv;
static atomic_int cancelled_seen;

/* ---- handlers ------------------------------------------------------------ */

static void
slow_fn (arca_stream_t *s, void *ctx)
{
  usleep (1500 * 1000);
  arca_stream_write (s, "done\n", 5);
}

static int
h_slow (arca_http_request_t *req, void *app, arca_error_t *err)
{
  return arca_resp_stream (req, 200, "application/json", slow_fn, NULL, NULL);
}

static void
wait_fn (arca_stream_t *s, void *ctx)
{
  struct pollfd p = { .fd = arca_stream_cancel_fd (s), .events = POLLIN };
  if (poll (&p, 1, 10000) == 1)
    atomic_store (&cancelled_seen, 1);
}

static int
h_wait (arca_http_request_t *req, void *app, arca_error_t *err)
{
  return arca_resp_stream (req, 200, "application/json", wait_fn, NULL, NULL);
}

/* Echo: everything the client sends until its half-close, then "got:<data>". */
static void
echo_fn (int fd, const char *extra, size_t extra_len, void *ctx)
{
  arca_buf_t b = { 0 };
  buf_append (&b, "got:", 4);
  buf_append (&b, extra, extra_len);
  char chunk[256];
  ssize_t n;
  while ((n = read (fd, chunk, sizeof chunk)) > 0)
    buf_append (&b, chunk, (size_t) n);
  send (fd, b.data, b.len, MSG_NOSIGNAL);
  shutdown (fd, SHUT_WR);
  buf_free (&b);
}

static int
h_hijack (arca_http_request_t *req, void *app, arca_error_t *err)
{
  return arca_resp_hijack (req, "application/vnd.docker.raw-stream", echo_fn, NULL, NULL);
}

static int
h_json (arca_http_request_t *req, void *app, arca_error_t *err)
{
  json_t *j;
  if (arca_req_json (req, &j, err) < 0)
    return -1;
  return arca_resp_json (req, 200, j ? j : json_object ());
}

static int
h_load (arca_http_request_t *req, void *app, arca_error_t *err)
{
  const char *path = arca_req_body_file (req);
  struct stat st;
  long long size = path && stat (path, &st) == 0 ? (long long) st.st_size : -1;
  return arca_resp_json (req, 200, json_pack ("{s:I, s:s?}", "size", size, "q", arca_req_query (req, "q")));
}

static int
h_param (arca_http_request_t *req, void *app, arca_error_t *err)
{
  return arca_resp_json (req, 200,
                         json_pack ("{s:s, s:b, s:i}", "name", arca_req_param (req, "name"), "all",
                                    arca_req_query_bool (req, "all", false), "v", arca_req_api_version (req)));
}

static int
h_conflict (arca_http_request_t *req, void *app, arca_error_t *err)
{
  return arca_error_set (err, ARCA_ERR_CONFLICT, "container is busy");
}

static int
h_notmod (arca_http_request_t *req, void *app, arca_error_t *err)
{
  return arca_error_set (err, ARCA_ERR_NOT_MODIFIED, "container is already running");
}

/* A plain (not streamed) answer after 2.5 s: longer than the idle timeout. */
static int
h_sleepy (arca_http_request_t *req, void *app, arca_error_t *err)
{
  usleep (2500 * 1000);
  return arca_resp_json (req, 200, json_pack ("{s:b}", "slept", true));
}

static int
h_bodyless (arca_http_request_t *req, void *app, arca_error_t *err)
{
  return arca_resp_json (req, 200, json_pack ("{s:s}", "path", arca_req_path (req)));
}

static const arca_route_t routes[] = {
  { "GET", "/sleepy", h_sleepy, 0 },
  { "POST", "/bodyless", h_bodyless, 0 },
  { "POST", "/json-undeclared", h_json, 0 },
  { "GET", "/slow", h_slow, 0 },
  { "GET", "/wait", h_wait, 0 },
  { "POST", "/hijack", h_hijack, 0 },
  { "POST", "/json", h_json, ARCA_ROUTE_BODY_JSON },
  { "POST", "/load", h_load, ARCA_ROUTE_BODY_FILE },
  { "GET", "/images/{name}/json", h_param, 0 },
  { "POST", "/conflict", h_conflict, 0 },
  { "POST", "/notmod", h_notmod, 0 },
  { 0 },
};

/* ---- client helpers -------------------------------------------------------- */

static int
dial (void)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  strcpy (sa.sun_path, sock_path);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true (fd >= 0);
  assert_int_equal (connect (fd, (struct sockaddr *) &sa, sizeof sa), 0);
  struct timeval tv = { 10, 0 };
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

static void
send_all (int fd, const void *data, size_t len)
{
  assert_int_equal (send (fd, data, len, MSG_NOSIGNAL), (ssize_t) len);
}

/* Read until needle appears (or EOF); returns malloc'd data. */
static char *
read_until (int fd, const char *needle)
{
  arca_buf_t b = { 0 };
  char chunk[4096];
  for (;;)
    {
      buf_append (&b, "", 1);
      b.len--;
      if (needle && strstr (b.data, needle))
        break;
      ssize_t n = read (fd, chunk, sizeof chunk);
      if (n <= 0)
        break;
      buf_append (&b, chunk, (size_t) n);
    }
  return b.data;
}

/* One request with Connection: close; whole response. */
static char *
roundtrip (const char *req)
{
  int fd = dial ();
  send_all (fd, req, strlen (req));
  char *r = read_until (fd, NULL);
  close (fd);
  return r;
}

/* ---- tests ---------------------------------------------------------------- */

static void
test_chunked_headers_flush (void **state)
{
  int fd = dial ();
  const char *req = "GET /v1.51/slow HTTP/1.1\r\nHost: x\r\n\r\n";
  int64_t t0 = time_mono_ns ();
  send_all (fd, req, strlen (req));
  char *hdr = read_until (fd, "\r\n\r\n");
  int64_t dt = time_mono_ns () - t0;
  assert_non_null (strstr (hdr, "HTTP/1.1 200"));
  assert_non_null (strstr (hdr, "Transfer-Encoding: chunked"));
  assert_non_null (strstr (hdr, "Api-Version: 1.51"));
  assert_true (dt < 1000 * 1000 * 1000LL); /* the producer sleeps 1.5 s */
  char *rest = read_until (fd, "0\r\n\r\n");
  assert_non_null (strstr (rest, "done\n"));
  assert_true (time_mono_ns () - t0 >= 1400 * 1000 * 1000LL);
  free (hdr);
  free (rest);
  close (fd);
}

static void
test_client_gone_cancels (void **state)
{
  atomic_store (&cancelled_seen, 0);
  int fd = dial ();
  const char *req = "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n";
  send_all (fd, req, strlen (req));
  free (read_until (fd, "\r\n\r\n"));
  close (fd);
  for (int i = 0; i < 100 && !atomic_load (&cancelled_seen); i++)
    usleep (20 * 1000);
  assert_int_equal (atomic_load (&cancelled_seen), 1);
}

static void
test_hijack_half_close (void **state)
{
  int fd = dial ();
  /* "hel" travels with the headers: it must arrive as extra_in */
  const char *req = "POST /v1.51/hijack HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                    "Content-Type: text/plain\r\nContent-Length: 0\r\n\r\nhel";
  send_all (fd, req, strlen (req));
  char *hdr = read_until (fd, "\r\n\r\n");
  assert_non_null (strstr (hdr, "HTTP/1.1 101"));
  assert_non_null (strstr (hdr, "Upgrade: tcp"));
  assert_non_null (strcasestr (hdr, "Connection: Upgrade"));
  assert_non_null (strstr (hdr, "Content-Type: application/vnd.docker.raw-stream"));
  assert_non_null (strstr (hdr, "Api-Version: 1.51"));
  char *body = strstr (hdr, "\r\n\r\n") + 4;
  assert_string_equal (body, ""); /* nothing before our half-close */
  send_all (fd, "lo", 2);
  shutdown (fd, SHUT_WR);
  char *out = read_until (fd, NULL); /* until the server closes */
  assert_string_equal (out, "got:hello");
  free (out);
  free (hdr);
  close (fd);
}

static void
test_hijack_without_upgrade (void **state)
{
  char *r = roundtrip ("POST /hijack HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  assert_non_null (strstr (r, "HTTP/1.1 200"));
  assert_non_null (strstr (r, "application/vnd.docker.raw-stream"));
  assert_non_null (strstr (r, "got:"));
  free (r);
}

static void
test_json_body (void **state)
{
  char *r = roundtrip ("POST /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json; "
                       "charset=utf-8\r\nContent-Length: 9\r\n\r\n{\"a\": 1}\n");
  assert_non_null (strstr (r, "HTTP/1.1 200"));
  assert_non_null (strstr (r, "\r\n\r\n{\"a\":1}\n"));
  free (r);
  r = roundtrip ("POST /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: text/plain\r\n"
                 "Content-Length: 2\r\n\r\n{}");
  assert_non_null (strstr (r, "HTTP/1.1 400"));
  assert_non_null (strstr (r, "Content-Type: application/json\r\n"));
  assert_non_null (strstr (r, "{\"message\":\"unsupported Content-Type header (text/plain): must be "
                              "'application/json'\"}\n"));
  free (r);
  r = roundtrip ("POST /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  assert_non_null (strstr (r, "HTTP/1.1 200"));
  assert_non_null (strstr (r, "\r\n\r\n{}\n"));
  free (r);
  r = roundtrip ("POST /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                 "Content-Length: 3\r\n\r\n{x}");
  assert_non_null (strstr (r, "HTTP/1.1 400"));
  assert_non_null (strstr (r, "invalid JSON"));
  free (r);
}

static int
count_files (const char *dir)
{
  DIR *d = opendir (dir);
  int n = 0;
  struct dirent *de;
  while (d && (de = readdir (d)))
    if (de->d_name[0] != '.')
      n++;
  if (d)
    closedir (d);
  return n;
}

static void
test_body_file_chunked (void **state)
{
  int fd = dial ();
  const char *hdr = "POST /v1.44/load?q=a+b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    "Content-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n";
  send_all (fd, hdr, strlen (hdr));
  static char block[65536];
  memset (block, 'x', sizeof block);
  char line[32];
  for (int i = 0; i < 32; i++) /* 2 MiB */
    {
      snprintf (line, sizeof line, "%zx\r\n", sizeof block);
      send_all (fd, line, strlen (line));
      send_all (fd, block, sizeof block);
      send_all (fd, "\r\n", 2);
    }
  send_all (fd, "0\r\n\r\n", 5);
  char *r = read_until (fd, NULL);
  close (fd);
  assert_non_null (strstr (r, "HTTP/1.1 200"));
  assert_non_null (strstr (r, "{\"size\":2097152,\"q\":\"a b\"}"));
  free (r);
  for (int i = 0; i < 50 && count_files (tmp_dir) > 0; i++)
    usleep (20 * 1000);
  assert_int_equal (count_files (tmp_dir), 0);
}

static void
test_routing_and_errors (void **state)
{
  char *r = roundtrip ("GET /v1.41/images/127.0.0.1:5000/a/b:1/json?all=1 HTTP/1.1\r\nHost: x\r\n"
                       "Connection: close\r\n\r\n");
  assert_non_null (strstr (r, "{\"name\":\"127.0.0.1:5000/a/b:1\",\"all\":true,\"v\":141}"));
  assert_non_null (strstr (r, "Ostype: linux\r\n"));
  assert_non_null (strstr (r, "Docker-Experimental: false\r\n"));
  assert_non_null (strstr (r, "Server: Arca/"));
  free (r);
  r = roundtrip ("GET /images/x/json?all=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert_non_null (strstr (r, "\"all\":false,\"v\":151"));
  free (r);
  r = roundtrip ("GET /v1.41/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert_non_null (strstr (r, "HTTP/1.1 404"));
  assert_non_null (strstr (r, "{\"message\":\"page not found\"}"));
  free (r);
  r = roundtrip ("DELETE /images/x/json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert_non_null (strstr (r, "HTTP/1.1 404"));
  free (r);
  r = roundtrip ("GET /v1.12/images/x/json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert_non_null (strstr (r, "HTTP/1.1 400"));
  assert_non_null (strstr (r, "text/plain"));
  assert_non_null (strstr (r, "\r\n\r\nclient version 1.12 is too old."));
  free (r);
  r = roundtrip ("GET /v1.52/images/x/json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert_non_null (strstr (r, "HTTP/1.1 400"));
  assert_non_null (strstr (r, "{\"message\":\"client version 1.52 is too new. Maximum supported API version is "
                              "1.51\"}"));
  free (r);
  r = roundtrip ("POST /conflict HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  assert_non_null (strstr (r, "HTTP/1.1 409"));
  assert_non_null (strstr (r, "{\"message\":\"container is busy\"}"));
  free (r);
  r = roundtrip ("POST /notmod HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  assert_non_null (strstr (r, "HTTP/1.1 304"));
  assert_null (strstr (r, "message"));
  free (r);
}

static void
test_keepalive (void **state)
{
  /* two requests on one connection */
  int fd = dial ();
  const char *req = "GET /images/a/json HTTP/1.1\r\nHost: x\r\n\r\n";
  send_all (fd, req, strlen (req));
  free (read_until (fd, "\"v\":151}\n"));
  send_all (fd, req, strlen (req));
  char *r = read_until (fd, "\"v\":151}\n");
  assert_non_null (strstr (r, "HTTP/1.1 200"));
  free (r);
  close (fd);
}

/* ---- limits (the server runs with a 1 s idle timeout) ---------------------- */

static void
test_nul_in_url (void **state)
{
  char *r = roundtrip ("GET /images/x%00y/json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert_non_null (strstr (r, "HTTP/1.1 400"));
  assert_non_null (strstr (r, "%00"));
  assert_null (strstr (r, "\"name\":\"x\""));
  free (r);
  r = roundtrip ("GET /images/x/json?all=1%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert_non_null (strstr (r, "HTTP/1.1 400"));
  free (r);
}

/* A route that takes no body reads and drops one: 8 MiB in, nothing kept. */
static void
test_body_dropped_on_bodyless_route (void **state)
{
  int fd = dial ();
  enum { SIZE = 8 << 20 };
  char hdr[256];
  snprintf (hdr, sizeof hdr, "POST /bodyless HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n",
            SIZE);
  send_all (fd, hdr, strlen (hdr));
  static char block[65536];
  for (int i = 0; i < SIZE / (int) sizeof block; i++)
    send_all (fd, block, sizeof block);
  char *r = read_until (fd, NULL);
  close (fd);
  assert_non_null (strstr (r, "HTTP/1.1 200"));
  assert_non_null (strstr (r, "{\"path\":\"/bodyless\"}"));
  free (r);
}

static void
test_json_body_limits (void **state)
{
  /* Over the limit by Content-Length: 413 before a byte of body is sent. */
  int fd = dial ();
  char hdr[256];
  snprintf (hdr, sizeof hdr,
            "POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
            ARCA_HTTP_JSON_BODY_MAX + 1);
  send_all (fd, hdr, strlen (hdr));
  char *r = read_until (fd, NULL);
  close (fd);
  assert_non_null (strstr (r, "HTTP/1.1 413"));
  assert_non_null (strstr (r, "request body too large"));
  free (r);
  /* A route that does not declare a JSON body cannot read one. */
  r = roundtrip ("POST /json-undeclared HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: "
                 "application/json\r\nContent-Length: 2\r\n\r\n{}");
  assert_non_null (strstr (r, "HTTP/1.1 500"));
  assert_non_null (strstr (r, "takes no request body"));
  free (r);
}

/* Read until EOF or the socket's 10 s receive timeout; true on EOF. */
static bool
closed_by_server (int fd)
{
  char buf[4096];
  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);
      if (n == 0)
        return true;
      if (n < 0)
        return false;
    }
}

static void
test_idle_and_header_timeouts (void **state)
{
  /* Headers never finished: closed after the idle timeout (1 s here). */
  int fd = dial ();
  const char *partial = "GET /images/a/json HTTP/1.1\r\nHost: x\r\n";
  send_all (fd, partial, strlen (partial));
  int64_t t0 = time_mono_ns ();
  assert_true (closed_by_server (fd));
  assert_true (time_mono_ns () - t0 < 8 * ARCA_NSEC_PER_SEC);
  close (fd);
  /* A kept-alive connection left idle after its answer: closed too. */
  fd = dial ();
  const char *req = "GET /images/a/json HTTP/1.1\r\nHost: x\r\n\r\n";
  send_all (fd, req, strlen (req));
  free (read_until (fd, "\"v\":151}\n"));
  assert_true (closed_by_server (fd));
  close (fd);
  /* A handler busy for longer than the timeout still answers, and so
   * does a stream silent for longer (/slow: 1.5 s). */
  char *r = roundtrip ("GET /sleepy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert_non_null (strstr (r, "{\"slept\":true}"));
  free (r);
  r = roundtrip ("GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert_non_null (strstr (r, "done"));
  free (r);
}

/* Runs last: stop while a stream waits and a hijacked session reads. */
static void
test_stop_with_busy_connections (void **state)
{
  atomic_store (&cancelled_seen, 0);
  int a = dial ();
  const char *wreq = "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n";
  send_all (a, wreq, strlen (wreq));
  free (read_until (a, "\r\n\r\n"));
  int b = dial ();
  const char *hreq = "POST /hijack HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                     "Content-Length: 0\r\n\r\n";
  send_all (b, hreq, strlen (hreq));
  free (read_until (b, "\r\n\r\n"));
  int64_t t0 = time_mono_ns ();
  arca_http_server_stop (srv);
  srv = NULL;
  assert_true (time_mono_ns () - t0 < 3 * ARCA_NSEC_PER_SEC);
  assert_int_equal (atomic_load (&cancelled_seen), 1);
  close (a);
  close (b);
}

static int
setup (void **state)
{
  signal (SIGPIPE, SIG_IGN);
  snprintf (tmp_dir, sizeof tmp_dir, "/tmp/arca-test-http-XXXXXX");
  assert_non_null (mkdtemp (tmp_dir));
  snprintf (sock_path, sizeof sock_path, "%.90s.sock", tmp_dir);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  strcpy (sa.sun_path, sock_path);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen (fd, 64) < 0)
    return -1;
  arca_error_t err;
  arca_http_limits_t limits = { .idle_timeout_s = 1, .max_connections = 64 };
  if (arca_http_server_start (fd, routes, NULL, tmp_dir, &limits, NULL, &srv, &err) < 0)
    return -1;
  return 0;
}

static int
teardown (void **state)
{
  if (srv)
    arca_http_server_stop (srv);
  unlink (sock_path);
  arca_error_t err;
  fs_remove_all (tmp_dir, &err);
  return 0;
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_chunked_headers_flush), cmocka_unit_test (test_client_gone_cancels),
    cmocka_unit_test (test_hijack_half_close),     cmocka_unit_test (test_hijack_without_upgrade),
    cmocka_unit_test (test_json_body),             cmocka_unit_test (test_body_file_chunked),
    cmocka_unit_test (test_routing_and_errors),    cmocka_unit_test (test_keepalive),
    cmocka_unit_test (test_nul_in_url),            cmocka_unit_test (test_body_dropped_on_bodyless_route),
    cmocka_unit_test (test_json_body_limits),      cmocka_unit_test (test_idle_and_header_timeouts),
    cmocka_unit_test (test_stop_with_busy_connections),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
