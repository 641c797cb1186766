/* publish= / expose= filter values of GET /containers/json
 * (engine/psports.c): moby daemon/list.go portOp over go-connections
 * nat.SplitProtoPort and ParsePortRange, error texts as a reference
 * dockerd 20.10.24 gives them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/psports.h"

/* value parses into one range lo-hi/proto */
static void
ok (const char *value, unsigned lo, unsigned hi, const char *proto)
{
  ps_ports_t set = { 0 };
  arca_error_t err = { 0 };
  if (ps_ports_add (&set, "publish", value, &err) < 0)
    fail_msg ("%s: %s", value, err.msg);
  assert_int_equal (set.n, 1);
  if (set.v[0].lo != lo || set.v[0].hi != hi || strcmp (set.v[0].proto, proto) != 0)
    fail_msg ("%s: %u-%u/%s, want %u-%u/%s", value, set.v[0].lo, set.v[0].hi, set.v[0].proto, lo, hi, proto);
  ps_ports_clear (&set);
}

static void
bad (const char *key, const char *value, const char *want)
{
  ps_ports_t set = { 0 };
  arca_error_t err = { 0 };
  assert_int_equal (ps_ports_add (&set, key, value, &err), -1);
  assert_int_equal (set.n, 0);
  assert_int_equal (err.kind, ARCA_ERR_INTERNAL); /* dockerd: 500 */
  assert_string_equal (err.msg, want);
  ps_ports_clear (&set);
}

static void
test_values (void **state)
{
  (void) state;
  ok ("8080", 8080, 8080, "tcp");
  ok ("8080/udp", 8080, 8080, "udp");
  ok ("80/", 80, 80, "tcp");
  ok ("80//udp", 80, 80, "tcp");
  ok ("80/udp/x", 80, 80, "udp");
  ok ("80/foo", 80, 80, "foo"); /* nat.NewPort does not check the protocol */
  ok ("9000-9001/udp", 9000, 9001, "udp");
  ok ("1-65535", 1, 65535, "tcp");
  ok ("1-2-3", 1, 2, "tcp"); /* ParsePortRange reads the first two parts */
  ok ("0", 0, 0, "tcp");
  ok ("5-5", 5, 5, "tcp");
}

static void
test_errors (void **state)
{
  (void) state;
  bad ("publish", "abc", "error while looking up for publish abc: strconv.ParseUint: parsing \"abc\": invalid syntax");
  bad ("expose", "80:80", "filter for 'expose' should not contain ':': 80:80");
  bad ("publish", "", "error while looking up for publish : Empty string specified for ports.");
  bad ("publish", "/tcp", "error while looking up for publish /tcp: Empty string specified for ports.");
  bad ("publish", "70000", "error while looking up for publish 70000: strconv.ParseUint: parsing \"70000\": value out of range");
  bad ("publish", "70000x", "error while looking up for publish 70000x: strconv.ParseUint: parsing \"70000x\": value out of range");
  bad ("publish", "8x", "error while looking up for publish 8x: strconv.ParseUint: parsing \"8x\": invalid syntax");
  bad ("expose", "90-80", "error while looking up for expose 90-80: Invalid range specified for the Port: 90-80");
  bad ("publish", "-5", "error while looking up for publish -5: strconv.ParseUint: parsing \"\": invalid syntax");
  bad ("publish", "80-", "error while looking up for publish 80-: strconv.ParseUint: parsing \"\": invalid syntax");
  bad ("publish", " 80", "error while looking up for publish  80: strconv.ParseUint: parsing \" 80\": invalid syntax");
  bad ("publish", "+80", "error while looking up for publish +80: strconv.ParseUint: parsing \"+80\": invalid syntax");
}

static void
test_has (void **state)
{
  (void) state;
  ps_ports_t set = { 0 };
  arca_error_t err = { 0 };
  assert_int_equal (ps_ports_add (&set, "publish", "8000-8100", &err), 0);
  assert_int_equal (ps_ports_add (&set, "publish", "53/udp", &err), 0);
  assert_true (ps_ports_has (&set, 8000, "tcp"));
  assert_true (ps_ports_has (&set, 8100, "tcp"));
  assert_false (ps_ports_has (&set, 8101, "tcp"));
  assert_false (ps_ports_has (&set, 8080, "udp"));
  assert_true (ps_ports_has (&set, 53, "udp"));
  assert_false (ps_ports_has (&set, 53, "tcp"));
  ps_ports_clear (&set);
  assert_false (ps_ports_has (&set, 53, "udp"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_values),
    cmocka_unit_test (test_errors),
    cmocka_unit_test (test_has),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
