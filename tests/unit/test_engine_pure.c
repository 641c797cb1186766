/* Pure engine logic: signal names, container names, IDs, filters, times. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/internal.h"
#include "util/filters.h"
#include "util/strutil.h"
#include "util/timeutil.h"

static void
test_signal_parse (void **state)
{
  (void) state;
  assert_int_equal (signal_parse ("KILL"), SIGKILL);
  assert_int_equal (signal_parse ("SIGKILL"), SIGKILL);
  assert_int_equal (signal_parse ("sigterm"), SIGTERM);
  assert_int_equal (signal_parse ("9"), 9);
  assert_int_equal (signal_parse ("INT"), SIGINT);
  assert_int_equal (signal_parse ("RTMIN+3"), SIGRTMIN + 3);
  assert_int_equal (signal_parse ("SIGRTMAX-1"), SIGRTMAX - 1);
  assert_int_equal (signal_parse ("NOPE"), -1);
  assert_int_equal (signal_parse ("0"), -1);
  assert_int_equal (signal_parse ("999"), -1);
  assert_int_equal (signal_parse (""), -1);
}

static void
test_name_validate (void **state)
{
  (void) state;
  arca_error_t err;
  assert_int_equal (container_name_validate ("web", &err), 0);
  assert_int_equal (container_name_validate ("/web-1.a_b", &err), 0);
  assert_int_equal (container_name_validate ("a", &err), -1);
  assert_int_equal (container_name_validate ("-web", &err), -1);
  assert_int_equal (container_name_validate ("we b", &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_INVALID);
  assert_string_equal (err.msg, "Invalid container name (we b), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
}

static void
test_id_generate (void **state)
{
  (void) state;
  char a[65], b[65];
  container_id_generate (a);
  container_id_generate (b);
  assert_int_equal (strlen (a), 64);
  assert_string_not_equal (a, b);
  bool digits = true;
  for (int i = 0; i < 12; i++)
    digits &= a[i] >= '0' && a[i] <= '9';
  assert_false (digits);
  char *n = container_name_generate ();
  assert_non_null (strchr (n, '_'));
  assert_int_equal (container_name_validate (n, NULL), 0);
  free (n);
}

static void
test_filters (void **state)
{
  (void) state;
  json_t *f = NULL;
  arca_error_t err;
  assert_int_equal (filters_parse ("{\"label\":{\"a=b\":true,\"c\":true},\"status\":[\"running\"]}", &f, &err), 0);
  char **st = filters_values (f, "status");
  assert_string_equal (st[0], "running");
  assert_null (st[1]);
  strv_free (st);
  json_t *labels = json_pack ("{s:s,s:s}", "a", "b", "c", "x");
  assert_true (filters_match_labels (f, labels));
  json_object_set_new (labels, "a", json_string ("other"));
  assert_false (filters_match_labels (f, labels));
  json_decref (labels);
  const char *allowed[] = { "label", NULL };
  assert_int_equal (filters_validate (f, allowed, &err), -1);
  assert_string_equal (err.msg, "invalid filter 'status'");
  json_decref (f);
  assert_int_equal (filters_parse ("not json", &f, &err), -1);
  /* found by fuzz_http: the key was printed after its object was freed
   * (use after free under `make asan`) */
  assert_int_equal (filters_parse ("{\"label\":true}", &f, &err), -1);
  assert_string_equal (err.msg, "invalid filter 'label'");
  assert_null (f);
  assert_int_equal (filters_parse (NULL, &f, &err), 0);
  /* name filters are regular expressions (moby filters.Args.Match) */
  assert_true (filters_regex_match ("web", "myweb1"));
  assert_true (filters_regex_match ("^web$", "web"));
  assert_false (filters_regex_match ("^web$", "web1"));
  assert_true (filters_regex_match ("^/w.b[0-9]+$", "/web12"));
  assert_false (filters_regex_match ("^/w.b[0-9]+$", "/web"));
  assert_true (filters_regex_match ("a|b", "xbx"));
  assert_false (filters_regex_match ("(", "x(y")); /* invalid: matches nothing */
  assert_true (filters_regex_match ("(", "(")); /* but an exact match still counts */
  assert_null (f);
}

static void
test_times (void **state)
{
  (void) state;
  char buf[64];
  time_format_rfc3339nano (0, buf, sizeof buf);
  assert_string_equal (buf, "0001-01-01T00:00:00Z");
  time_format_rfc3339nano (1700000000123400000LL, buf, sizeof buf);
  assert_string_equal (buf, "2023-11-14T22:13:20.1234Z");
  time_format_rfc3339nano_fixed (1700000000123400000LL, buf, sizeof buf);
  assert_string_equal (buf, "2023-11-14T22:13:20.123400000Z");
  int64_t ns;
  assert_int_equal (time_parse_rfc3339 ("2023-11-14T22:13:20.1234Z", &ns), 0);
  assert_true (ns == 1700000000123400000LL);
  assert_int_equal (time_parse_timestamp ("1700000000.5", &ns), 0);
  assert_true (ns == 1700000000500000000LL);
  assert_int_equal (time_parse_timestamp ("2023-11-14T23:13:20+01:00", &ns), 0);
  assert_true (ns == 1700000000000000000LL);
  assert_int_equal (time_parse_timestamp ("yesterday", &ns), -1);
  /* past int64 nanoseconds: saturated, not overflowed (fuzz_http) */
  assert_int_equal (time_parse_timestamp ("3333333333333333333333333333333333333333", &ns), 0);
  assert_true (ns == INT64_MAX);
  assert_int_equal (time_parse_timestamp ("-99999999999999", &ns), 0);
  assert_true (ns == INT64_MIN);
  assert_int_equal (time_parse_timestamp ("9999-12-31T23:59:59Z", &ns), 0);
  assert_true (ns == INT64_MAX);
  time_human_duration (3LL * 1000000000LL, buf, sizeof buf);
  assert_string_equal (buf, "3 seconds");
  time_human_duration (90LL * 1000000000LL, buf, sizeof buf);
  assert_string_equal (buf, "About a minute");
  time_human_duration (500000000LL, buf, sizeof buf);
  assert_string_equal (buf, "Less than a second");
}

static void
test_go_duration_and_until (void **state)
{
  (void) state;
  int64_t ns;
  assert_int_equal (time_parse_go_duration ("1h30m", &ns), 0);
  assert_true (ns == 5400LL * 1000000000LL);
  assert_int_equal (time_parse_go_duration ("1.5s", &ns), 0);
  assert_true (ns == 1500000000LL);
  assert_int_equal (time_parse_go_duration ("-2m", &ns), 0);
  assert_true (ns == -120LL * 1000000000LL);
  assert_int_equal (time_parse_go_duration ("10", &ns), -1);
  assert_int_equal (time_parse_go_duration ("1d", &ns), -1);
  /* found by fuzz_http: past int64 nanoseconds the cast was undefined;
   * Go refuses such durations, and exponents, hex and "inf" */
  assert_int_equal (time_parse_go_duration ("33333333333333333333333333333333333333333333324h", &ns), -1);
  assert_int_equal (time_parse_go_duration ("2562048h", &ns), -1);
  assert_int_equal (time_parse_go_duration ("2562047h", &ns), 0);
  assert_int_equal (time_parse_go_duration ("1e5h", &ns), -1);
  assert_int_equal (time_parse_go_duration ("0x10h", &ns), -1);
  assert_int_equal (time_parse_go_duration ("1.2.3h", &ns), -1);
  assert_int_equal (time_parse_go_duration (".5h", &ns), 0);
  assert_true (ns == 1800LL * 1000000000LL);

  json_t *f = NULL;
  arca_error_t err;
  int64_t until;
  assert_int_equal (filters_parse ("{\"until\":{\"24h\":true}}", &f, &err), 0);
  assert_int_equal (filters_until (f, &until, &err), 0);
  int64_t expect = time_now_ns () - 24LL * 3600 * 1000000000LL;
  assert_true (until <= expect && until > expect - 5LL * 1000000000LL);
  json_decref (f);
  assert_int_equal (filters_parse ("{\"until\":{\"1700000000\":true}}", &f, &err), 0);
  assert_int_equal (filters_until (f, &until, &err), 0);
  assert_true (until == 1700000000LL * 1000000000LL);
  json_decref (f);
  assert_int_equal (filters_parse ("{\"until\":{\"soon\":true}}", &f, &err), 0);
  assert_int_equal (filters_until (f, &until, &err), -1);
  assert_string_equal (err.msg, "failed to parse value as time or duration: \"soon\"");
  json_decref (f);
  assert_int_equal (filters_until (NULL, &until, &err), 0);
  assert_true (until == 0);
}

/* A record keeps its Config and HostConfig as compact text, not jansson
 * trees (bench/README.md "Scale"): what goes in comes out (keys in their
 * order, integers exact), the fields kept apart (image, labels, exposed
 * ports, typed options, has_links) follow it, each parse is the caller's
 * own copy, a HostConfig whose options do not parse changes nothing, and
 * the stored record round-trips. */
static void
test_record_text (void **state)
{
  (void) state;
  const char *ctext = "{\"Hostname\":\"h\",\"Tty\":true,\"Env\":[\"A=1\"],\"Image\":\"busybox\","
                      "\"Labels\":{\"l\":\"v\"},\"ExposedPorts\":{\"80/tcp\":{}},\"StopSignal\":\"SIGUSR1\"}";
  const char *text = "{\"NetworkMode\":\"bridge\",\"Links\":[\"/db:/web/db\"],\"RestartPolicy\":{\"Name\":"
                     "\"always\",\"MaximumRetryCount\":0},\"Memory\":9007199254740993,\"ConsoleSize\":[0,0],"
                     "\"Dns\":[],\"AutoRemove\":true}";
  arca_container_t *c = xmalloc0 (sizeof *c);
  json_t *cfg = json_loads (ctext, 0, NULL);
  container_set_config (c, cfg);
  assert_string_equal (c->config_json, ctext);
  assert_string_equal (c->config_image, "busybox");
  assert_string_equal (json_string_value (json_object_get (c->labels, "l")), "v");
  assert_non_null (json_object_get (c->exposed_ports, "80/tcp"));
  json_t *ccopy = container_config (c);
  assert_true (json_equal (ccopy, cfg));
  json_decref (ccopy);
  c->name = xstrdup ("web");
  c->image_id = xstrdup ("sha256:0");
  c->path = xstrdup ("true");
  json_t *hc = json_loads (text, 0, NULL);
  arca_error_t err;
  assert_int_equal (container_set_host_config (c, hc, &err), 0);
  assert_string_equal (c->host_config_json, text);
  assert_true (c->has_links);
  assert_true (c->opts->auto_remove);
  assert_string_equal (container_network_mode (c), "bridge");
  assert_true (c->opts->tty);
  assert_string_equal (c->opts->stop_signal, "SIGUSR1");
  assert_string_equal (c->opts->env[0], "A=1");

  json_t *copy = container_host_config (c);
  assert_true (json_equal (copy, hc));
  json_object_set_new (copy, "NetworkMode", json_string ("host"));
  json_decref (copy);
  copy = container_host_config (c);
  assert_string_equal (json_string_value (json_object_get (copy, "NetworkMode")), "bridge");
  json_decref (copy);

  json_t *bad = json_loads ("{\"IpcMode\":\"bogus\"}", 0, NULL);
  assert_int_equal (container_set_host_config (c, bad, &err), -1);
  assert_string_equal (err.msg, "invalid IPC mode: bogus");
  assert_string_equal (c->host_config_json, text);
  assert_true (c->opts->auto_remove);
  json_decref (bad);

  json_t *rec = container_to_record (c);
  assert_true (json_equal (json_object_get (rec, "HostConfig"), hc));
  assert_true (json_equal (json_object_get (rec, "Config"), cfg));
  arca_container_t *d = container_from_record ("0123", "web", rec);
  assert_string_equal (d->host_config_json, text);
  assert_string_equal (d->config_json, ctext);
  assert_string_equal (d->config_image, "busybox");
  assert_true (d->opts->tty);
  assert_true (d->has_links);
  assert_true (d->opts->auto_remove);
  container_free (d);
  json_decref (rec);

  json_t *none = json_loads ("{\"NetworkMode\":\"none\",\"Links\":[]}", 0, NULL);
  assert_int_equal (container_set_host_config (c, none, &err), 0);
  assert_false (c->has_links);
  assert_string_equal (container_network_mode (c), "none");
  json_decref (none);
  json_decref (hc);
  json_decref (cfg);
  container_free (c);

  /* A record without HostConfig (an older version's) reads as {}. */
  json_t *old = json_loads ("{\"Config\":{},\"Image\":\"sha256:0\",\"Path\":\"true\"}", 0, NULL);
  d = container_from_record ("0123", "old", old);
  assert_string_equal (d->host_config_json, "{}");
  assert_string_equal (container_network_mode (d), "");
  assert_null (d->labels);
  assert_null (d->exposed_ports);
  container_free (d);
  json_decref (old);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_signal_parse), cmocka_unit_test (test_name_validate), cmocka_unit_test (test_id_generate),
    cmocka_unit_test (test_filters),      cmocka_unit_test (test_times),
    cmocka_unit_test (test_go_duration_and_until), cmocka_unit_test (test_record_text),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
