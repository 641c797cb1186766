/* Copies of network and endpoint identities for the engine, which must not
 * hold net->lock or walk the lists itself (events name the networks of a
 * container; port publishing needs its first endpoint). */
#include "net/net.h"

#include <stdio.h>
#include <string.h>

#include "util/strutil.h"

static void
identity_copy (const arca_network_t *n, net_identity_t *out)
{
  snprintf (out->id, sizeof out->id, "%s", n->id);
  out->name = xstrdup (n->name);
  out->driver = xstrdup (n->driver);
}

void
net_identity_clear (net_identity_t *id)
{
  free (id->name);
  free (id->driver);
  id->name = id->driver = NULL;
}

bool
net_network_identity (arca_net_t *net, const char *ref, net_identity_t *out)
{
  pthread_mutex_lock (&net->lock);
  arca_network_t *n = net_network_find_locked (net, ref);
  if (n)
    identity_copy (n, out);
  pthread_mutex_unlock (&net->lock);
  return n != NULL;
}

json_t *
net_network_identities (arca_net_t *net)
{
  json_t *known = json_object ();
  pthread_mutex_lock (&net->lock);
  for (arca_network_t *n = net->networks; n; n = n->next)
    json_object_set_new (known, n->name, json_pack ("[s,s]", n->id, n->driver));
  pthread_mutex_unlock (&net->lock);
  return known;
}

size_t
net_container_network_identities (arca_net_t *net, const char *cid, net_identity_t *out, size_t max)
{
  size_t n = 0;
  pthread_mutex_lock (&net->lock);
  for (arca_endpoint_t *ep = net->endpoints; ep && n < max; ep = ep->next)
    {
      if (!ep->active || strcmp (ep->container_id, cid) != 0)
        continue;
      arca_network_t *nw = net_network_find_locked (net, ep->network_id);
      if (nw)
        identity_copy (nw, &out[n++]);
    }
  pthread_mutex_unlock (&net->lock);
  return n;
}

bool
net_container_first_endpoint (arca_net_t *net, const char *cid, arca_endpoint_t *out)
{
  bool found = false;
  pthread_mutex_lock (&net->lock);
  for (arca_endpoint_t *ep = net->endpoints; ep && !found; ep = ep->next)
    if (ep->active && strcmp (ep->container_id, cid) == 0)
      {
        *out = *ep;
        out->next = NULL;
        found = true;
      }
  pthread_mutex_unlock (&net->lock);
  return found;
}
