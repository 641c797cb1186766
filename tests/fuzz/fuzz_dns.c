/* DNS packets a container sends to the embedded server
 * (net/dns_answer.c dns_answer_local, dns_servfail), against an in-memory
 * network holding the asker and one other container, so that names,
 * "<name>.<network>" and reverse lookups are all reachable.
 * Input: a wire-format DNS message. */
#include "fuzz.h"

#include <arpa/inet.h>

#include "net/dns_internal.h"
#include "net/net.h"

static arca_net_t net;
static arca_network_t network;
static arca_endpoint_t asker, web;
static char *web_names[] = { "web", "web-alias", "0123456789ab", NULL };
static char *asker_names[] = { "client", NULL };

static void
setup (void)
{
  pthread_mutex_init (&net.lock, NULL);
  strcpy (network.id, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  network.name = "fuzznet";
  network.driver = "bridge";
  strcpy (network.bridge, "br-fuzz");
  inet_pton (AF_INET, "172.30.0.0", &network.subnet);
  network.prefix = 16;
  inet_pton (AF_INET, "172.30.0.1", &network.gateway);
  network.masquerade = true;
  network.icc = true;
  net.networks = &network;

  strcpy (asker.container_id, "1111111111111111111111111111111111111111111111111111111111111111");
  asker.container_name = "client";
  strcpy (asker.network_id, network.id);
  inet_pton (AF_INET, "172.30.0.2", &asker.addr);
  asker.prefix = 16;
  asker.dns_names = asker_names;
  asker.active = true;

  strcpy (web.container_id, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  web.container_name = "web";
  strcpy (web.network_id, network.id);
  inet_pton (AF_INET, "172.30.0.3", &web.addr);
  web.prefix = 16;
  web.dns_names = web_names;
  web.active = true;
  asker.next = &web;
  net.endpoints = &asker;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static bool ready;
  if (!ready)
    {
      setup ();
      ready = true;
    }
  uint8_t *out = NULL;
  size_t len = 0;
  dns_answer_local (&net, asker.container_id, data, size, &out, &len);
  free (out);
  out = dns_servfail (data, size, &len);
  free (out);
  return 0;
}
