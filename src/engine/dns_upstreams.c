/* The embedded DNS server's upstreams (src/net/dns.c asks at every
 * forwarded query): the asking container's HostConfig.Dns (--dns), as
 * dockerd's ExtServers when the user overrode the nameservers; none means
 * the host's resolv.conf servers. */
#include "engine/internal.h"

#include <string.h>

#include "util/cleanup.h"
#include "util/json.h"

char **
container_dns_servers (void *ud, const char *container_id)
{
  arca_engine_t *e = ud;
  char **v = NULL;
  pthread_mutex_lock (&e->lock);
  for (arca_container_t *c = e->containers; c; c = c->next)
    if (!c->removed && strcmp (c->id, container_id) == 0)
      {
        _cleanup_json_ json_t *hc = container_host_config (c);
        v = json_get_strv (hc, "Dns");
        break;
      }
  pthread_mutex_unlock (&e->lock);
  return v;
}
