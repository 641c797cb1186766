/* The list's view of endpoints (net.h net_list_view_*): every endpoint's
 * EndpointSettings rendered once, as net_container_settings builds them
 * for inspect, into one text indexed by container ID.  GET /containers/json
 * asked net_container_settings for each container, each call a walk of
 * the whole endpoint list under net->lock: O(containers x endpoints), a
 * third of the answer's time at 1,000 containers (bench/README.md). */
#include "net/net.h"
#include "net/net_internal.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonw.h"
#include "util/strutil.h"

typedef struct
{
  char cid[65];
  size_t seq;              /* position in the endpoint list */
  size_t name_off, name_len; /* the network's name as a JSON string */
  size_t val_off, val_len;   /* its EndpointSettings object */
} view_entry_t;

struct net_list_view
{
  arca_buf_t text;
  view_entry_t *entries;
  size_t n;
};

static void
jw_ip (arca_buf_t *b, struct in_addr a)
{
  char t[INET_ADDRSTRLEN];
  inet_ntop (AF_INET, &a, t, sizeof t);
  jw_str (b, t);
}

static void
jw_ip6 (arca_buf_t *b, const struct in6_addr *a)
{
  char t[INET6_ADDRSTRLEN];
  inet_ntop (AF_INET6, a, t, sizeof t);
  jw_str (b, t);
}

/* net.c net_container_settings's object for ep, key for key. */
static void
endpoint_write (arca_buf_t *b, const arca_endpoint_t *ep, const arca_network_t *n)
{
  bool has6 = ep->active && !in6_is_zero (&ep->addr6);
  bool req6 = !in6_is_zero (&ep->req_addr6);
  jw_lit (b, "{\"IPAMConfig\":");
  if (ep->req_addr.s_addr || req6 || ep->ll_ips)
    {
      /* EndpointIPAMConfig: omitempty fields */
      const char *sep = "{";
      if (ep->req_addr.s_addr)
        {
          jw_lit (b, "{\"IPv4Address\":");
          jw_ip (b, ep->req_addr);
          sep = ",";
        }
      if (req6)
        {
          jw_raw (b, sep);
          jw_lit (b, "\"IPv6Address\":");
          jw_ip6 (b, &ep->req_addr6);
          sep = ",";
        }
      if (ep->ll_ips)
        {
          jw_raw (b, sep);
          jw_lit (b, "\"LinkLocalIPs\":");
          jw_strv (b, ep->ll_ips);
        }
      jw_lit (b, "}");
    }
  else
    jw_lit (b, "null");
  jw_lit (b, ",\"Links\":");
  jw_strv (b, ep->links);
  jw_lit (b, ",\"Aliases\":");
  jw_strv (b, ep->aliases);
  /* Before the first start dockerd shows the requested MAC address. */
  jw_lit (b, ",\"MacAddress\":");
  jw_str (b, ep->active ? ep->mac : (ep->req_mac ? ep->req_mac : ""));
  jw_lit (b, ",\"DriverOpts\":");
  jw_json (b, ep->driver_opts);
  jw_lit (b, ",\"NetworkID\":");
  jw_str (b, n->id);
  jw_lit (b, ",\"EndpointID\":");
  jw_str (b, ep->active ? ep->id : "");
  jw_lit (b, ",\"Gateway\":");
  if (ep->active)
    jw_ip (b, ep->gateway);
  else
    jw_lit (b, "\"\"");
  jw_lit (b, ",\"IPAddress\":");
  if (ep->active)
    jw_ip (b, ep->addr);
  else
    jw_lit (b, "\"\"");
  jw_lit (b, ",\"IPPrefixLen\":");
  jw_int (b, ep->active ? ep->prefix : 0);
  jw_lit (b, ",\"IPv6Gateway\":");
  if (has6)
    jw_ip6 (b, &ep->gateway6);
  else
    jw_lit (b, "\"\"");
  jw_lit (b, ",\"GlobalIPv6Address\":");
  if (has6)
    jw_ip6 (b, &ep->addr6);
  else
    jw_lit (b, "\"\"");
  jw_lit (b, ",\"GlobalIPv6PrefixLen\":");
  jw_int (b, has6 ? ep->prefix6 : 0);
  jw_lit (b, ",\"DNSNames\":");
  jw_strv (b, ep->active ? ep->dns_names : NULL);
  jw_lit (b, "}");
}

static int
entry_cmp (const void *a, const void *b)
{
  const view_entry_t *x = a, *y = b;
  int c = strcmp (x->cid, y->cid);
  return c ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

net_list_view_t *
net_list_view_new (arca_net_t *net)
{
  net_list_view_t *v = xmalloc0 (sizeof *v);
  size_t cap = 0;
  pthread_mutex_lock (&net->lock);
  size_t seq = 0;
  for (arca_endpoint_t *ep = net->endpoints; ep; ep = ep->next, seq++)
    {
      arca_network_t *n = net_network_find_locked (net, ep->network_id);
      if (n == NULL)
        continue;
      if (v->n == cap)
        {
          cap = cap ? cap * 2 : 64;
          v->entries = xrealloc (v->entries, cap * sizeof *v->entries);
        }
      view_entry_t *e = &v->entries[v->n++];
      memcpy (e->cid, ep->container_id, sizeof e->cid);
      e->seq = seq;
      e->name_off = v->text.len;
      jw_str (&v->text, n->name);
      e->name_len = v->text.len - e->name_off;
      e->val_off = v->text.len;
      endpoint_write (&v->text, ep, n);
      e->val_len = v->text.len - e->val_off;
    }
  pthread_mutex_unlock (&net->lock);
  if (v->n)
    qsort (v->entries, v->n, sizeof *v->entries, entry_cmp);
  return v;
}

static bool
same_name (const net_list_view_t *v, const view_entry_t *a, const view_entry_t *b)
{
  return a->name_len == b->name_len && memcmp (v->text.data + a->name_off, v->text.data + b->name_off, a->name_len) == 0;
}

size_t
net_list_view_write (const net_list_view_t *v, const char *cid, arca_buf_t *b)
{
  /* the first entry of cid (entries are sorted by container ID) */
  size_t lo = 0, hi = v->n;
  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      if (strcmp (v->entries[mid].cid, cid) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  size_t end = lo;
  while (end < v->n && strcmp (v->entries[end].cid, cid) == 0)
    end++;
  size_t written = 0;
  for (size_t i = lo; i < end; i++)
    {
      /* Two endpoints on networks of one name (names need not be
       * unique): inspect's json_object_set_new keeps the first one's
       * place and the last one's value. */
      bool seen = false;
      for (size_t j = lo; j < i && !seen; j++)
        seen = same_name (v, &v->entries[i], &v->entries[j]);
      if (seen)
        continue;
      const view_entry_t *last = &v->entries[i];
      for (size_t j = i + 1; j < end; j++)
        if (same_name (v, &v->entries[i], &v->entries[j]))
          last = &v->entries[j];
      if (written++)
        buf_append (b, ",", 1);
      buf_append (b, v->text.data + v->entries[i].name_off, v->entries[i].name_len);
      buf_append (b, ":", 1);
      buf_append (b, v->text.data + last->val_off, last->val_len);
    }
  return written;
}

void
net_list_view_free (net_list_view_t *v)
{
  if (v == NULL)
    return;
  buf_free (&v->text);
  free (v->entries);
  free (v);
}
