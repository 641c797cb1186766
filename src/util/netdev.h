/* /proc/<pid>/net/dev: per-interface counters of a network namespace, in
 * the shape of the Engine API's stats "networks" (moby
 * api/types/container NetworkStats; dockerd reads them from the container's
 * interfaces, as this file lists them seen from inside). */
#ifndef ARCA_UTIL_NETDEV_H
#define ARCA_UTIL_NETDEV_H

#include <jansson.h>

/* {"eth0": {"rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
 * "tx_bytes", "tx_packets", "tx_errors", "tx_dropped"}, ...} for every
 * interface but lo (dockerd lists the endpoints' interfaces only).  An
 * empty object if the text has none; malformed lines are skipped. */
json_t *netdev_parse_stats (const char *text);

#endif
