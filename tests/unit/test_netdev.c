/* util/netdev: /proc/<pid>/net/dev -> stats "networks". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/netdev.h"

static const char sample[]
    = "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls "
      "carrier compressed\n"
      "    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0 "
      "      0          0\n"
      "  eth0:    1296      16    1    2    0     0          0         0      486       5    3    4    0     0 "
      "      0          0\n"
      "  eth1:7 1 0 0 0 0 0 0 9 2 0 0 0 0 0 0\n";

static void
test_netdev_parse (void **state)
{
  (void) state;
  json_t *j = netdev_parse_stats (sample);
  assert_int_equal (json_object_size (j), 2); /* lo left out */
  json_t *e0 = json_object_get (j, "eth0");
  assert_int_equal (json_integer_value (json_object_get (e0, "rx_bytes")), 1296);
  assert_int_equal (json_integer_value (json_object_get (e0, "rx_packets")), 16);
  assert_int_equal (json_integer_value (json_object_get (e0, "rx_errors")), 1);
  assert_int_equal (json_integer_value (json_object_get (e0, "rx_dropped")), 2);
  assert_int_equal (json_integer_value (json_object_get (e0, "tx_bytes")), 486);
  assert_int_equal (json_integer_value (json_object_get (e0, "tx_packets")), 5);
  assert_int_equal (json_integer_value (json_object_get (e0, "tx_errors")), 3);
  assert_int_equal (json_integer_value (json_object_get (e0, "tx_dropped")), 4);
  assert_int_equal (json_integer_value (json_object_get (json_object_get (j, "eth1"), "tx_bytes")), 9);
  json_decref (j);
  j = netdev_parse_stats ("garbage\n:\n");
  assert_int_equal (json_object_size (j), 0);
  json_decref (j);
}

int
main (void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test (test_netdev_parse) };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
