/* Pure helpers shared by the shim and the daemon: stdcopy frame headers,
 * detach-key parsing and matching, json-file log lines, runtime log errors. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/detachkeys.h"
#include "util/jsonlog.h"
#include "util/timeutil.h"
#include "util/ocilog.h"
#include "util/stdcopy.h"
#include "util/strutil.h"

static void
test_stdcopy_header (void **state)
{
  uint8_t h[8];
  stdcopy_header (h, STDCOPY_STDERR, 0x01020304);
  const uint8_t want[8] = { 2, 0, 0, 0, 1, 2, 3, 4 };
  assert_memory_equal (h, want, 8);
  stdcopy_header (h, STDCOPY_STDOUT, 6);
  const uint8_t want2[8] = { 1, 0, 0, 0, 0, 0, 0, 6 };
  assert_memory_equal (h, want2, 8);
  stdcopy_stream_t s;
  uint32_t len;
  assert_int_equal (stdcopy_parse_header (h, &s, &len), 0);
  assert_int_equal (s, STDCOPY_STDOUT);
  assert_int_equal (len, 6);
  h[0] = 4;
  assert_int_equal (stdcopy_parse_header (h, &s, &len), -1);
}

static void
test_detachkeys_parse (void **state)
{
  uint8_t k[DETACHKEYS_MAX];
  size_t n = 0;
  arca_error_t err = { 0 };
  assert_int_equal (detachkeys_parse (NULL, k, &n, &err), 0);
  assert_int_equal (n, 2);
  assert_int_equal (k[0], 0x10);
  assert_int_equal (k[1], 0x11);
  assert_int_equal (detachkeys_parse ("ctrl-a,X,CTRL-@,ctrl-\\,ctrl-_", k, &n, &err), 0);
  assert_int_equal (n, 5);
  const uint8_t want[] = { 1, 'X', 0, 28, 31 };
  assert_memory_equal (k, want, 5);
  /* moby splits at every comma: "," is two empty keys, both invalid. */
  assert_int_equal (detachkeys_parse (",", k, &n, &err), -1);
  assert_int_equal (detachkeys_parse ("ctrl-1", k, &n, &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_INVALID);
  assert_string_equal (err.msg, "Invalid detach keys (ctrl-1) provided");
  assert_int_equal (detachkeys_parse ("ab", k, &n, &err), -1);
  assert_int_equal (detachkeys_parse ("a,,b", k, &n, &err), -1);
}

static void
test_detachkeys_match (void **state)
{
  detachkeys_matcher_t m;
  const uint8_t keys[] = { 0x10, 0x11 };
  detachkeys_matcher_init (&m, keys, 2);
  uint8_t out[64 + DETACHKEYS_MAX];
  size_t n;
  /* Plain input passes through. */
  assert_false (detachkeys_feed (&m, (const uint8_t *) "ab", 2, out, &n));
  assert_int_equal (n, 2);
  /* A held-back prefix is released when the next byte does not match. */
  assert_false (detachkeys_feed (&m, (const uint8_t *) "x\x10", 2, out, &n));
  assert_int_equal (n, 1);
  assert_false (detachkeys_feed (&m, (const uint8_t *) "y", 1, out, &n));
  assert_int_equal (n, 2);
  assert_memory_equal (out, "\x10y", 2);
  /* ctrl-p ctrl-p ctrl-q: the first ctrl-p is input, then detach. */
  assert_true (detachkeys_feed (&m, (const uint8_t *) "z\x10\x10\x11tail", 8, out, &n));
  assert_int_equal (n, 2);
  assert_memory_equal (out, "z\x10", 2);
  /* Split across reads. */
  assert_false (detachkeys_feed (&m, (const uint8_t *) "\x10", 1, out, &n));
  assert_int_equal (n, 0);
  assert_true (detachkeys_feed (&m, (const uint8_t *) "\x11", 1, out, &n));
  assert_int_equal (n, 0);
  /* Flush at EOF gives back a partial match. */
  assert_false (detachkeys_feed (&m, (const uint8_t *) "\x10", 1, out, &n));
  detachkeys_flush (&m, out, &n);
  assert_int_equal (n, 1);
  assert_int_equal (out[0], 0x10);
  /* Disabled matcher. */
  detachkeys_matcher_init (&m, keys, 0);
  assert_false (detachkeys_feed (&m, (const uint8_t *) "\x10\x11", 2, out, &n));
  assert_int_equal (n, 2);
}

static void
test_jsonlog_format (void **state)
{
  arca_buf_t b = { 0 };
  jsonlog_format_line (&b, "stdout", "hi \"x\" <a>&\t\\\n", 14, 1700000000123456000LL);
  buf_append (&b, "", 1);
  assert_string_equal (b.data, "{\"log\":\"hi \\\"x\\\" \\u003ca\\u003e\\u0026\\u0009\\\\\\n\",\"stream\":\"stdout\","
                               "\"time\":\"2023-11-14T22:13:20.123456Z\"}\n");
  b.len = 0;
  /* Invalid UTF-8 becomes U+FFFD; valid multi-byte passes; U+2028 escaped. */
  jsonlog_format_line (&b, "stderr", "\xff\xc3\xa9\xe2\x80\xa8", 6, 0);
  buf_append (&b, "", 1);
  assert_non_null (strstr (b.data, "{\"log\":\"\\ufffd\xc3\xa9\\u2028\",\"stream\":\"stderr\""));
  buf_free (&b);
}

static void
test_jsonlog_parse (void **state)
{
  char *log = NULL, *stream = NULL;
  size_t len = 0;
  int64_t t = 0;
  assert_int_equal (jsonlog_parse_line ("{\"log\":\"a\\u0000b\\n\",\"stream\":\"stderr\",\"time\":\"2023-11-14T22:13:20.5Z\"}\n",
                                        &log, &len, &stream, &t),
                    0);
  assert_int_equal (len, 4);
  assert_memory_equal (log, "a\0b\n", 4);
  assert_string_equal (stream, "stderr");
  assert_true (t == 1700000000500000000LL);
  free (log);
  free (stream);
  assert_int_equal (jsonlog_parse_line ("garbage", &log, &len, &stream, &t), -1);
  assert_int_equal (jsonlog_parse_line ("{\"stream\":\"stdout\"}", &log, &len, &stream, &t), -1);

  /* Round trip. */
  arca_buf_t b = { 0 };
  jsonlog_format_line (&b, "stdout", "x<y\r\n", 5, 1);
  buf_append (&b, "", 1);
  assert_int_equal (jsonlog_parse_line (b.data, &log, &len, NULL, &t), 0);
  assert_int_equal (len, 5);
  assert_memory_equal (log, "x<y\r\n", 5);
  assert_true (t == 1);
  free (log);
  buf_free (&b);
}

/* What jansson and time_parse_rfc3339 make of a line: the reference the
 * fast path of jsonlog_parse must match. */
static int
reference_parse (const char *line, arca_buf_t *log, bool *is_stderr, int64_t *t)
{
  json_t *j = json_loads (line, JSON_ALLOW_NUL | JSON_DISABLE_EOF_CHECK, NULL);
  int r = -1;
  *t = 0;
  if (j && json_is_string (json_object_get (j, "log")))
    {
      json_t *jt = json_object_get (j, "time");
      if (!json_is_string (jt) || time_parse_rfc3339 (json_string_value (jt), t) == 0)
        {
          json_t *jl = json_object_get (j, "log");
          buf_append (log, json_string_value (jl), json_string_length (jl));
          *is_stderr = json_is_string (json_object_get (j, "stream"))
                       && strcmp (json_string_value (json_object_get (j, "stream")), "stderr") == 0;
          r = 0;
        }
    }
  json_decref (j);
  return r;
}

static void
assert_parse_matches_reference (const char *line)
{
  arca_buf_t want = { 0 };
  bool want_err = false, got_err = false;
  int64_t want_t = 0, got_t = 0;
  char *got = NULL;
  size_t got_len = 0;
  int wr = reference_parse (line, &want, &want_err, &want_t);
  int gr = jsonlog_parse (line, strlen (line), &got, &got_len, &got_err, &got_t);
  if (wr != gr)
    fail_msg ("%s: reference %d, jsonlog_parse %d", line, wr, gr);
  if (wr == 0)
    {
      assert_int_equal (got_len, want.len);
      assert_memory_equal (got, want.data, want.len);
      assert_int_equal (got_err, want_err);
      assert_true (got_t == want_t);
    }
  free (got);
  buf_free (&want);
}

static uint32_t
lcg (uint32_t *x)
{
  *x = *x * 1103515245u + 12345u;
  return *x;
}

static void
test_jsonlog_parse_fast_path (void **state)
{
  /* every byte, alone and amid text, through the writer's escaping */
  arca_buf_t b = { 0 };
  for (int c = 0; c < 256; c++)
    {
      char msg[8] = { 'a', (char) c, 'z', (char) c, '\n' };
      b.len = 0;
      jsonlog_format_line (&b, c % 2 ? "stderr" : "stdout", msg, 5, 1700000000000000000LL + c * 1000LL);
      buf_append (&b, "", 1);
      assert_parse_matches_reference (b.data);
    }
  /* pseudo-random payloads and times (fixed seed: the same every run) */
  uint32_t x = 12345;
  for (int i = 0; i < 2000; i++)
    {
      char msg[64];
      size_t n = lcg (&x) % sizeof msg;
      for (size_t k = 0; k < n; k++)
        msg[k] = (char) (lcg (&x) >> 16);
      int64_t secs = lcg (&x) % 4000000000u; /* to 2096 */
      int64_t t = secs * 1000000000LL + lcg (&x) % 1000000000u;
      b.len = 0;
      jsonlog_format_line (&b, "stdout", msg, n, t);
      buf_append (&b, "", 1);
      assert_parse_matches_reference (b.data);
    }
  buf_free (&b);
  /* shapes left to jansson, and malformed ones */
  static const char *const lines[] = {
    "{\"log\":\"\\ud83d\\ude00 \\/ \\b\\f\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20Z\"}\n",
    "{\"log\":\"lone \\ud83d\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20Z\"}\n",
    "{\"log\":\"x\",\"stream\":\"stdout\",\"attrs\":{\"a\":\"}\\\"\"},\"time\":\"2023-11-14T22:13:20.000000001Z\"}\n",
    "{\"log\":\"x\",\"stream\":\"stderr\",\"time\":\"2023-11-14T23:13:20.25+01:00\"}\n",
    "{\"stream\":\"stdout\",\"log\":\"reordered\",\"time\":\"2023-11-14T22:13:20Z\"}",
    "{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.Z\"}",
    "{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2023-13-14T22:13:20Z\"}",
    "{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20.1234567891Z\"}",
    "{\"log\":\"x\",\"stream\":\"other\",\"time\":\"2023-11-14T22:13:20Z\"}",
    "{\"log\":\"x\",\"stream\":\"stdout\"}",
    "{\"log\":\"raw\ttab\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20Z\"}",
    "{\"log\":\"bad \\x\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20Z\"}",
    "{\"log\":\"cut",
    "{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2023-11-14T22:13:20Z\"} trailing",
    "",
  };
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
    assert_parse_matches_reference (lines[i]);
}

typedef struct
{
  char msgs[8][64];
  size_t lens[8];
  int n;
  size_t big;
} collect_t;

static void
collect (void *ctx, const char *data, size_t len)
{
  collect_t *c = ctx;
  if (c->n < 8)
    {
      size_t k = len < 63 ? len : 63;
      memcpy (c->msgs[c->n], data, k);
      c->msgs[c->n][k] = 0;
      c->lens[c->n] = len;
    }
  c->n++;
}

static void
test_jsonlog_split (void **state)
{
  jsonlog_splitter_t s = { 0 };
  collect_t c = { 0 };
  jsonlog_split (&s, "one\ntw", 6, collect, &c);
  assert_int_equal (c.n, 1);
  assert_string_equal (c.msgs[0], "one\n");
  jsonlog_split (&s, "o\nthree\nfo", 10, collect, &c);
  assert_int_equal (c.n, 3);
  assert_string_equal (c.msgs[1], "two\n");
  assert_string_equal (c.msgs[2], "three\n");
  jsonlog_split_flush (&s, collect, &c);
  assert_int_equal (c.n, 4);
  assert_string_equal (c.msgs[3], "fo");
  jsonlog_split_flush (&s, collect, &c);
  assert_int_equal (c.n, 4);

  /* A line longer than 16 KiB is cut into 16 KiB partial messages. */
  memset (&c, 0, sizeof c);
  size_t big = JSONLOG_MAX_LINE * 2 + 10;
  char *data = malloc (big + 1);
  memset (data, 'a', big);
  data[big] = '\n';
  jsonlog_split (&s, data, 100, collect, &c);
  assert_int_equal (c.n, 0);
  jsonlog_split (&s, data + 100, big + 1 - 100, collect, &c);
  assert_int_equal (c.n, 3);
  assert_int_equal (c.lens[0], JSONLOG_MAX_LINE);
  assert_int_equal (c.lens[1], JSONLOG_MAX_LINE);
  assert_int_equal (c.lens[2], 11);
  free (data);
  jsonlog_splitter_free (&s);
}

static void
test_ocilog (void **state)
{
  char path[] = "/tmp/test-ocilog-XXXXXX";
  int fd = mkstemp (path);
  assert_true (fd >= 0);
  const char *text = "{\"level\":\"warning\",\"msg\":\"w\",\"time\":\"x\"}\n"
                     "{\"level\":\"error\",\"msg\":\"first\",\"time\":\"x\"}\n"
                     "not json\n"
                     "{\"level\":\"error\",\"msg\":\"runc create failed: exec: \\\"/x\\\": no such file\",\"time\":\"x\"}\n"
                     "{\"level\":\"info\",\"msg\":\"i\",\"time\":\"x\"}\n";
  assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
  close (fd);
  char *m = ocilog_last_error (path, 0);
  assert_string_equal (m, "runc create failed: exec: \"/x\": no such file");
  free (m);
  assert_null (ocilog_last_error (path, (off_t) strlen (text)));
  unlink (path);
  assert_null (ocilog_last_error (path, 0));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_stdcopy_header), cmocka_unit_test (test_detachkeys_parse),
    cmocka_unit_test (test_detachkeys_match), cmocka_unit_test (test_jsonlog_format),
    cmocka_unit_test (test_jsonlog_parse), cmocka_unit_test (test_jsonlog_parse_fast_path),
    cmocka_unit_test (test_jsonlog_split),
    cmocka_unit_test (test_ocilog),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
