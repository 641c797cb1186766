/* Published ports (net/portmap.c): the /containers/json "Ports" summary
 * built from NetworkSettings.Ports and Config.ExposedPorts, as dockerd lists
 * it (bound ports with IP and PublicPort, exposed-only ports bare), sorted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/net.h"
#include "util/cleanup.h"

static void
check (const char *ports, const char *exposed, const char *want)
{
  _cleanup_json_ json_t *p = ports ? json_loads (ports, 0, NULL) : NULL;
  _cleanup_json_ json_t *x = exposed ? json_loads (exposed, 0, NULL) : NULL;
  _cleanup_json_ json_t *got = portmap_summary (p, x);
  _cleanup_json_ json_t *w = json_loads (want, 0, NULL);
  assert_non_null (w);
  if (!json_equal (got, w))
    {
      _cleanup_free_ char *s = json_dumps (got, JSON_COMPACT);
      fail_msg ("summary(%s, %s) = %s, want %s", ports, exposed, s, want);
    }
}

static void
test_summary (void **state)
{
  (void) state;
  check (NULL, "{\"80/tcp\":{}}", "[]"); /* not running: nothing, as dockerd */
  check ("{}", NULL, "[]");
  check ("{\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"8080\"},{\"HostIp\":\"::\",\"HostPort\":\"8080\"}]}",
         NULL,
         "[{\"IP\":\"0.0.0.0\",\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"},"
         "{\"IP\":\"::\",\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"}]");
  check ("{\"90/udp\":null,\"53/udp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"5353\"}]}", "{\"22/tcp\":{}}",
         "[{\"PrivatePort\":22,\"Type\":\"tcp\"},"
         "{\"IP\":\"127.0.0.1\",\"PrivatePort\":53,\"PublicPort\":5353,\"Type\":\"udp\"},"
         "{\"PrivatePort\":90,\"Type\":\"udp\"}]");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_summary),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
