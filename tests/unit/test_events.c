/* Pure parts of the event bus and healthchecks: event filters (moby
 * daemon/events/filter.go), since/until parsing, the healthcheck
 * configuration, probe command lines and state transitions, and Go's
 * duration formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/events.h"
#include "engine/health.h"
#include "util/filters.h"
#include "util/strutil.h"
#include "util/timeutil.h"

static bool
match (const char *filters_json, const char *type, const char *action, const char *id, const char *attrs_json)
{
  json_t *f = NULL;
  arca_error_t err;
  assert_int_equal (filters_parse (filters_json, &f, &err), 0);
  json_t *attrs = json_loads (attrs_json, 0, NULL);
  arca_event_view_t ev = { .type = type, .action = action, .actor_id = id, .scope = "local", .attributes = attrs };
  bool r = events_filter_match (f, &ev);
  json_decref (attrs);
  json_decref (f);
  return r;
}

#define CID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CATTRS "{\"name\":\"web\",\"image\":\"busybox\",\"com.docker.compose.project\":\"p1\",\"exitCode\":\"3\"}"

static void
test_filter_container_and_event (void **state)
{
  (void) state;
  assert_true (match (NULL, "container", "die", CID, CATTRS));
  assert_true (match ("{\"container\":{\"web\":true}}", "container", "die", CID, CATTRS));
  assert_true (match ("{\"container\":{\"0123\":true}}", "container", "die", CID, CATTRS)); /* ID prefix */
  assert_true (match ("{\"container\":{\"we\":true}}", "container", "die", CID, CATTRS));   /* name prefix */
  assert_false (match ("{\"container\":{\"db\":true}}", "container", "die", CID, CATTRS));
  /* a container filter leaves out other types whose ID/name do not match */
  assert_false (match ("{\"container\":{\"web\":true}}", "network", "connect", "n1", "{\"name\":\"bridge\"}"));
  assert_true (match ("{\"event\":{\"die\":true}}", "container", "die", CID, CATTRS));
  assert_false (match ("{\"event\":{\"di\":true}}", "container", "die", CID, CATTRS)); /* exact */
  assert_false (match ("{\"event\":{\"start\":true}}", "container", "die", CID, CATTRS));
  /* health_status, exec_create, exec_start match by prefix */
  assert_true (match ("{\"event\":{\"health_status\":true}}", "container", "health_status: healthy", CID, CATTRS));
  assert_true (match ("{\"event\":{\"exec_start\":true}}", "container", "exec_start: sh -c true", CID, CATTRS));
  assert_true (match ("{\"event\":[\"die\",\"start\"]}", "container", "start", CID, CATTRS)); /* legacy form */
}

static void
test_filter_type_label_image (void **state)
{
  (void) state;
  assert_true (match ("{\"type\":{\"container\":true}}", "container", "die", CID, CATTRS));
  assert_false (match ("{\"type\":{\"image\":true}}", "container", "die", CID, CATTRS));
  assert_true (match ("{\"label\":{\"com.docker.compose.project\":true}}", "container", "die", CID, CATTRS));
  assert_true (match ("{\"label\":{\"com.docker.compose.project=p1\":true}}", "container", "die", CID, CATTRS));
  assert_false (match ("{\"label\":{\"com.docker.compose.project=p2\":true}}", "container", "die", CID, CATTRS));
  assert_false (match ("{\"label\":{\"x\":true}}", "container", "die", CID, CATTRS));
  assert_false (match ("{\"label\":{\"x\":true}}", "network", "create", "n", "{}"));
  /* image: the container's image attribute, with or without tag */
  assert_true (match ("{\"image\":{\"busybox\":true}}", "container", "die", CID, CATTRS));
  assert_true (match ("{\"image\":{\"busybox\":true}}", "container", "die", CID,
                      "{\"name\":\"a\",\"image\":\"busybox:latest\"}"));
  assert_false (match ("{\"image\":{\"alpine\":true}}", "container", "die", CID, CATTRS));
  assert_true (match ("{\"image\":{\"foo\":true}}", "image", "tag", "sha256:ab", "{\"name\":\"foo:1\"}"));
  assert_true (match ("{\"scope\":{\"local\":true}}", "container", "die", CID, CATTRS));
  assert_false (match ("{\"scope\":{\"swarm\":true}}", "container", "die", CID, CATTRS));
  assert_true (match ("{\"network\":{\"bridge\":true}}", "network", "connect", "abc", "{\"name\":\"bridge\"}"));
  assert_true (match ("{\"volume\":{\"v1\":true}}", "volume", "create", "v1", "{\"driver\":\"local\"}"));
  assert_true (match ("{\"daemon\":{\"x\":true},\"nope\":{\"y\":true}}", "container", "die", CID, CATTRS) == false);
  /* unknown keys are ignored, as dockerd does */
  assert_true (match ("{\"nope\":{\"y\":true}}", "container", "die", CID, CATTRS));
}

static void
test_parse_time (void **state)
{
  (void) state;
  arca_error_t err;
  bool set;
  int64_t t;
  int64_t now = 2000000000LL * ARCA_NSEC_PER_SEC;
  assert_int_equal (events_parse_time (NULL, now, &set, &t, &err), 0);
  assert_false (set);
  assert_int_equal (events_parse_time ("", now, &set, &t, &err), 0);
  assert_false (set);
  assert_int_equal (events_parse_time ("1700000000", now, &set, &t, &err), 0);
  assert_true (set && t == 1700000000LL * ARCA_NSEC_PER_SEC);
  assert_int_equal (events_parse_time ("1700000000.5", now, &set, &t, &err), 0);
  assert_true (t == 1700000000LL * ARCA_NSEC_PER_SEC + 500000000LL);
  assert_int_equal (events_parse_time ("1700000000.000000001", now, &set, &t, &err), 0);
  assert_true (t == 1700000000LL * ARCA_NSEC_PER_SEC + 1);
  assert_int_equal (events_parse_time ("0", now, &set, &t, &err), 0);
  assert_true (set && t == 0);
  assert_int_equal (events_parse_time ("10m", now, &set, &t, &err), 0);
  assert_true (t == now - 600LL * ARCA_NSEC_PER_SEC);
  assert_int_equal (events_parse_time ("2023-11-14T22:13:20Z", now, &set, &t, &err), 0);
  assert_true (t == 1700000000LL * ARCA_NSEC_PER_SEC);
  assert_int_equal (events_parse_time ("abc", now, &set, &t, &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_INTERNAL);
  assert_string_equal (err.msg, "strconv.ParseInt: parsing \"abc\": invalid syntax");
  assert_int_equal (events_parse_time ("1.5x", now, &set, &t, &err), -1);
  assert_string_equal (err.msg, "strconv.ParseInt: parsing \"5x\": invalid syntax");
}

static void
test_go_duration_format (void **state)
{
  (void) state;
  char b[48];
  struct
  {
    int64_t ns;
    const char *s;
  } cases[] = { { 0, "0s" },
                { 1, "1ns" },
                { 1500, "1.5µs" },
                { 250000000, "250ms" },
                { 1000000000, "1s" },
                { 1500000000, "1.5s" },
                { 30LL * ARCA_NSEC_PER_SEC, "30s" },
                { 90LL * ARCA_NSEC_PER_SEC, "1m30s" },
                { 60LL * ARCA_NSEC_PER_SEC, "1m0s" },
                { 3600LL * ARCA_NSEC_PER_SEC, "1h0m0s" },
                { -2LL * ARCA_NSEC_PER_SEC, "-2s" } };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      time_format_go_duration (cases[i].ns, b, sizeof b);
      assert_string_equal (b, cases[i].s);
    }
}

static void
test_health_config (void **state)
{
  (void) state;
  arca_error_t err;
  assert_int_equal (health_config_validate (NULL, &err), 0);
  json_t *hc = json_loads ("{\"Test\":[\"CMD\",\"true\"],\"Interval\":1000000}", 0, NULL);
  assert_int_equal (health_config_validate (hc, &err), 0);
  json_object_set_new (hc, "Interval", json_integer (999999));
  assert_int_equal (health_config_validate (hc, &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_INVALID);
  assert_string_equal (err.msg, "Interval in Healthcheck cannot be less than 1ms");
  json_object_set_new (hc, "Interval", json_integer (0));
  json_object_set_new (hc, "Timeout", json_integer (-1));
  assert_int_equal (health_config_validate (hc, &err), -1);
  assert_string_equal (err.msg, "Timeout in Healthcheck cannot be less than 1ms");
  json_object_set_new (hc, "Timeout", json_integer (0));
  json_object_set_new (hc, "Retries", json_integer (-1));
  assert_int_equal (health_config_validate (hc, &err), -1);
  assert_string_equal (err.msg, "Retries in Healthcheck cannot be negative");
  json_object_set_new (hc, "Retries", json_integer (0));
  json_object_set_new (hc, "StartPeriod", json_integer (5));
  assert_int_equal (health_config_validate (hc, &err), -1);
  assert_string_equal (err.msg, "StartPeriod in Healthcheck cannot be less than 1ms");
  json_object_set_new (hc, "StartPeriod", json_integer (0));
  json_object_set_new (hc, "StartInterval", json_integer (5));
  assert_int_equal (health_config_validate (hc, &err), -1);
  assert_string_equal (err.msg, "StartInterval in Healthcheck cannot be less than 1ms");
  json_decref (hc);

  /* merge: the image's fields fill what the user left unset */
  json_t *cfg = json_loads ("{\"Healthcheck\":{\"Interval\":1000000000}}", 0, NULL);
  json_t *img = json_loads ("{\"Test\":[\"CMD-SHELL\",\"ok\"],\"Interval\":5,\"Retries\":7}", 0, NULL);
  health_config_merge (cfg, img);
  json_t *m = json_object_get (cfg, "Healthcheck");
  assert_string_equal (json_string_value (json_array_get (json_object_get (m, "Test"), 1)), "ok");
  assert_int_equal (json_integer_value (json_object_get (m, "Interval")), 1000000000);
  assert_int_equal (json_integer_value (json_object_get (m, "Retries")), 7);
  json_decref (cfg);
  cfg = json_object ();
  health_config_merge (cfg, img);
  assert_true (json_equal (json_object_get (cfg, "Healthcheck"), img));
  json_decref (cfg);
  json_decref (img);
}

static void
test_health_probe_argv (void **state)
{
  (void) state;
  json_t *hc = json_loads ("{\"Test\":[\"CMD-SHELL\",\"curl -f x || exit 1\"]}", 0, NULL);
  char **v = health_probe_argv (hc, NULL);
  assert_int_equal (strv_len (v), 3);
  assert_string_equal (v[0], "/bin/sh");
  assert_string_equal (v[1], "-c");
  assert_string_equal (v[2], "curl -f x || exit 1");
  strv_free (v);
  json_t *shell = json_loads ("[\"/bin/ash\",\"-ec\"]", 0, NULL);
  v = health_probe_argv (hc, shell);
  assert_string_equal (v[0], "/bin/ash");
  assert_string_equal (v[1], "-ec");
  strv_free (v);
  json_decref (shell);
  json_decref (hc);
  hc = json_loads ("{\"Test\":[\"CMD\",\"test\",\"-f\",\"/x\"]}", 0, NULL);
  v = health_probe_argv (hc, NULL);
  assert_int_equal (strv_len (v), 3);
  assert_string_equal (v[0], "test");
  strv_free (v);
  json_decref (hc);
  hc = json_loads ("{\"Test\":[\"NONE\"]}", 0, NULL);
  assert_null (health_probe_argv (hc, NULL));
  json_decref (hc);
  assert_null (health_probe_argv (NULL, NULL));
}

static void
test_health_next_state (void **state)
{
  (void) state;
  char st[16] = "starting";
  int streak = 0;
  int64_t s0 = 1000LL * ARCA_NSEC_PER_SEC;
  /* a failure inside the start period does not count */
  health_next_state (st, &streak, 1, 3, 10LL * ARCA_NSEC_PER_SEC, s0, s0 + ARCA_NSEC_PER_SEC);
  assert_string_equal (st, "starting");
  assert_int_equal (streak, 0);
  health_next_state (st, &streak, 0, 3, 0, s0, s0 + 2 * ARCA_NSEC_PER_SEC);
  assert_string_equal (st, "healthy");
  /* Retries consecutive failures make it unhealthy (default 3) */
  health_next_state (st, &streak, 1, 0, 0, s0, s0);
  health_next_state (st, &streak, -1, 0, 0, s0, s0);
  assert_string_equal (st, "healthy");
  assert_int_equal (streak, 2);
  health_next_state (st, &streak, 2, 0, 0, s0, s0);
  assert_string_equal (st, "unhealthy");
  assert_int_equal (streak, 3);
  health_next_state (st, &streak, 0, 0, 0, s0, s0);
  assert_string_equal (st, "healthy");
  assert_int_equal (streak, 0);
  /* starting, past the start period: failures count */
  snprintf (st, sizeof st, "starting");
  health_next_state (st, &streak, 1, 1, ARCA_NSEC_PER_SEC, s0, s0 + 5 * ARCA_NSEC_PER_SEC);
  assert_string_equal (st, "unhealthy");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_filter_container_and_event), cmocka_unit_test (test_filter_type_label_image),
    cmocka_unit_test (test_parse_time),                 cmocka_unit_test (test_go_duration_format),
    cmocka_unit_test (test_health_config),              cmocka_unit_test (test_health_probe_argv),
    cmocka_unit_test (test_health_next_state),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
