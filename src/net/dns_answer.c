/* Embedded DNS, the answers the server gives itself (moby libnetwork
 * resolver.go, Sandbox.ResolveName/ResolveIP): names of containers sharing
 * a user network with the asker, "<name>.<network>", reverse records, and
 * the error answers.  Pure functions of the query and the live network
 * state (read under net->lock); see dns.c for the server. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/dns_internal.h"
#include "util/cleanup.h"
#include "util/lazy_ldns.h"
#include "util/strutil.h"

#define DNS_TTL 600                 /* moby respTTL */
#define DNS_MAX_ADDRS 32

/* True when the container has an active endpoint on a network with a way
 * out (not --internal): dockerd only forwards for those. */
static bool
has_external_access (arca_net_t *net, const char *container_id)
{
  bool ext = false;
  pthread_mutex_lock (&net->lock);
  for (arca_endpoint_t *ep = net->endpoints; ep && !ext; ep = ep->next)
    {
      if (!ep->active || strcmp (ep->container_id, container_id) != 0)
        continue;
      for (arca_network_t *n = net->networks; n; n = n->next)
        if (strcmp (n->id, ep->network_id) == 0)
          {
            ext = !n->internal;
            break;
          }
    }
  pthread_mutex_unlock (&net->lock);
  return ext;
}

/* A response to q carrying the question, with rcode and n address
 * records of type atype (A: addrs are struct in_addr, AAAA: struct
 * in6_addr); wire form (malloc'd) in *out. */
static int
build_response_typed (ldns_pkt *q, uint8_t rcode, ldns_rr_type atype, const void *addrs, int n, const char *ptr,
                      uint8_t **out, size_t *len)
{
  bool v6 = atype == LDNS_RR_TYPE_AAAA;
  size_t alen = v6 ? sizeof (struct in6_addr) : sizeof (struct in_addr);
  ldns_pkt *r = ldns_pkt_new ();
  if (r == NULL)
    return -1;
  ldns_pkt_set_id (r, ldns_pkt_id (q));
  ldns_pkt_set_qr (r, true);
  ldns_pkt_set_opcode (r, ldns_pkt_get_opcode (q));
  ldns_pkt_set_rd (r, ldns_pkt_rd (q));
  ldns_pkt_set_ra (r, true);
  ldns_pkt_set_rcode (r, rcode);
  ldns_rr_list *qs = ldns_pkt_question (q);
  ldns_rr *qrr = qs && ldns_rr_list_rr_count (qs) > 0 ? ldns_rr_list_rr (qs, 0) : NULL;
  if (qrr)
    {
      ldns_pkt_push_rr (r, LDNS_SECTION_QUESTION, ldns_rr_clone (qrr));
      for (int i = 0; i < n; i++)
        {
          ldns_rr *a = ldns_rr_new ();
          ldns_rr_set_owner (a, ldns_rdf_clone (ldns_rr_owner (qrr)));
          ldns_rr_set_type (a, atype);
          ldns_rr_set_class (a, LDNS_RR_CLASS_IN);
          ldns_rr_set_ttl (a, DNS_TTL);
          ldns_rr_push_rdf (a, ldns_rdf_new_frm_data (v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, alen,
                                                      (const char *) addrs + (size_t) i * alen));
          ldns_pkt_push_rr (r, LDNS_SECTION_ANSWER, a);
        }
      ldns_rdf *target = ptr ? ldns_dname_new_frm_str (ptr) : NULL;
      if (target)
        {
          ldns_rr *p = ldns_rr_new ();
          ldns_rr_set_owner (p, ldns_rdf_clone (ldns_rr_owner (qrr)));
          ldns_rr_set_type (p, LDNS_RR_TYPE_PTR);
          ldns_rr_set_class (p, LDNS_RR_CLASS_IN);
          ldns_rr_set_ttl (p, DNS_TTL);
          ldns_rr_push_rdf (p, target);
          ldns_pkt_push_rr (r, LDNS_SECTION_ANSWER, p);
        }
    }
  ldns_status st = ldns_pkt2wire (out, r, len);
  ldns_pkt_free (r);
  return st == LDNS_STATUS_OK ? 0 : -1;
}

static int
build_response (ldns_pkt *q, uint8_t rcode, const struct in_addr *addrs, int n, const char *ptr, uint8_t **out,
                size_t *len)
{
  return build_response_typed (q, rcode, LDNS_RR_TYPE_A, addrs, n, ptr, out, len);
}

/* The header-only error answer for a message ldns could not parse: same ID,
 * QR set, FORMERR, nothing else. */
static uint8_t *
formerr (const uint8_t *q, size_t qlen, size_t *len)
{
  if (qlen < 12)
    return NULL;
  uint8_t *r = xmalloc0 (12);
  r[0] = q[0];
  r[1] = q[1];
  r[2] = (uint8_t) (0x80 | (q[2] & 0x79)); /* QR, opcode, RD */
  r[3] = 0x80 | LDNS_RCODE_FORMERR;        /* RA */
  *len = 12;
  return r;
}

/* dockerd's Sandbox.ResolveName second form: "<name>.<network>" where
 * <network> is a user network the asker is on: <name> on that network only.
 * Returns the number of addresses found (<= max). */
static int
lookup_on_network (arca_net_t *net, const char *container_id, const char *qname, struct in_addr *out, int max)
{
  const char *dot = strrchr (qname, '.');
  if (dot == NULL || dot == qname || dot[1] == '\0')
    return 0;
  _cleanup_free_ char *name = strndup (qname, (size_t) (dot - qname));
  const char *netname = dot + 1;
  int found = 0;
  pthread_mutex_lock (&net->lock);
  for (arca_endpoint_t *me = net->endpoints; me; me = me->next)
    {
      if (!me->active || strcmp (me->container_id, container_id) != 0)
        continue;
      arca_network_t *n = NULL;
      for (arca_network_t *o = net->networks; o; o = o->next)
        if (strcmp (o->id, me->network_id) == 0)
          n = o;
      if (n == NULL || n->is_default_bridge || n->name == NULL || strcasecmp (n->name, netname) != 0)
        continue;
      for (arca_endpoint_t *ep = net->endpoints; ep && found < max; ep = ep->next)
        {
          if (!ep->active || strcmp (ep->network_id, me->network_id) != 0)
            continue;
          for (size_t i = 0; ep->dns_names && ep->dns_names[i]; i++)
            if (strcasecmp (ep->dns_names[i], name) == 0)
              {
                out[found++] = ep->addr;
                break;
              }
        }
    }
  pthread_mutex_unlock (&net->lock);
  return found;
}

/* "d.c.b.a.in-addr.arpa" -> a.b.c.d; false if the name is not one. */
static bool
parse_ptr_name (const char *name, struct in_addr *out)
{
  unsigned o[4];
  char tail[32];
  if (sscanf (name, "%u.%u.%u.%u.%31s", &o[3], &o[2], &o[1], &o[0], tail) != 5
      || (strcasecmp (tail, "in-addr.arpa") != 0 && strcasecmp (tail, "in-addr.arpa.") != 0) || o[0] > 255 || o[1] > 255 || o[2] > 255 || o[3] > 255)
    return false;
  out->s_addr = htonl ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]);
  return true;
}

/* "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa"
 * (32 nibbles, least significant first) -> the IPv6 address. */
static bool
parse_ptr6_name (const char *name, struct in6_addr *out)
{
  memset (out, 0, sizeof *out);
  const char *p = name;
  for (int i = 31; i >= 0; i--)
    {
      int v;
      char c = p[0];
      if (c >= '0' && c <= '9')
        v = c - '0';
      else if (c >= 'a' && c <= 'f')
        v = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        v = c - 'A' + 10;
      else
        return false;
      if (p[1] != '.')
        return false;
      out->s6_addr[i / 2] |= (uint8_t) (i % 2 ? v : v << 4);
      p += 2;
    }
  return strcasecmp (p, "ip6.arpa") == 0 || strcasecmp (p, "ip6.arpa.") == 0;
}

/* dockerd's reverse records: "<container name>.<network name>" for an
 * address of a container sharing a user network with the asker (family
 * AF_INET: addr is a struct in_addr, AF_INET6: a struct in6_addr);
 * malloc'd, NULL if none. */
static char *
reverse_lookup_family (arca_net_t *net, const char *container_id, int family, const void *addr)
{
  char *name = NULL;
  pthread_mutex_lock (&net->lock);
  for (arca_endpoint_t *me = net->endpoints; me && !name; me = me->next)
    {
      if (!me->active || strcmp (me->container_id, container_id) != 0)
        continue;
      arca_network_t *n = NULL;
      for (arca_network_t *o = net->networks; o; o = o->next)
        if (strcmp (o->id, me->network_id) == 0)
          n = o;
      if (n == NULL || n->is_default_bridge)
        continue;
      for (arca_endpoint_t *ep = net->endpoints; ep && !name; ep = ep->next)
        if (ep->active
            && (family == AF_INET ? memcmp (&ep->addr, addr, sizeof ep->addr) == 0
                                  : !IN6_IS_ADDR_UNSPECIFIED (&ep->addr6) && memcmp (&ep->addr6, addr, sizeof ep->addr6) == 0)
            && strcmp (ep->network_id, me->network_id) == 0 && ep->container_name)
          name = xasprintf ("%s.%s.", ep->container_name, n->name);
    }
  pthread_mutex_unlock (&net->lock);
  return name;
}

dns_answer_kind_t
dns_answer_local (arca_net_t *net, const char *container_id, const uint8_t *q, size_t qlen, uint8_t **out, size_t *len)
{
  *out = NULL;
  ldns_pkt *pkt = NULL;
  if (ldns_wire2pkt (&pkt, q, qlen) != LDNS_STATUS_OK)
    {
      *out = formerr (q, qlen, len);
      return DNS_ANSWER_LOCAL;
    }
  ldns_rr_list *qs = ldns_pkt_question (pkt);
  if (ldns_pkt_qr (pkt) || ldns_pkt_get_opcode (pkt) != LDNS_PACKET_QUERY || qs == NULL
      || ldns_rr_list_rr_count (qs) != 1)
    {
      if (!ldns_pkt_qr (pkt))
        build_response (pkt, ldns_pkt_get_opcode (pkt) != LDNS_PACKET_QUERY ? LDNS_RCODE_NOTIMPL
                                                                            : LDNS_RCODE_FORMERR,
                        NULL, 0, NULL, out, len);
      ldns_pkt_free (pkt);
      return DNS_ANSWER_LOCAL;
    }
  ldns_rr *qrr = ldns_rr_list_rr (qs, 0);
  ldns_rr_type type = ldns_rr_get_type (qrr);
  dns_answer_kind_t kind = DNS_ANSWER_FORWARD;
  if (type == LDNS_RR_TYPE_A || type == LDNS_RR_TYPE_AAAA)
    {
      _cleanup_free_ char *name = ldns_rdf2str (ldns_rr_owner (qrr));
      if (name)
        {
          size_t l = strlen (name);
          if (l > 1 && name[l - 1] == '.')
            name[l - 1] = '\0';
          struct in_addr addrs[DNS_MAX_ADDRS];
          int n = net_dns_lookup (net, container_id, name, addrs, DNS_MAX_ADDRS);
          if (n == 0)
            n = lookup_on_network (net, container_id, name, addrs, DNS_MAX_ADDRS);
          if (n > 0 && type == LDNS_RR_TYPE_A)
            {
              build_response (pkt, LDNS_RCODE_NOERROR, addrs, n, NULL, out, len);
              kind = DNS_ANSWER_LOCAL;
            }
          else if (n > 0)
            {
              /* AAAA: the IPv6 addresses of the name's endpoints; a known
               * name without IPv6 gets an empty NOERROR answer (dockerd). */
              struct in6_addr addrs6[DNS_MAX_ADDRS];
              int n6 = net_dns_lookup6 (net, container_id, name, addrs6, DNS_MAX_ADDRS);
              build_response_typed (pkt, LDNS_RCODE_NOERROR, LDNS_RR_TYPE_AAAA, addrs6, n6, NULL, out, len);
              kind = DNS_ANSWER_LOCAL;
            }
        }
    }
  else if (type == LDNS_RR_TYPE_PTR)
    {
      _cleanup_free_ char *name = ldns_rdf2str (ldns_rr_owner (qrr));
      struct in_addr a;
      struct in6_addr a6;
      _cleanup_free_ char *target = NULL;
      if (name && parse_ptr_name (name, &a))
        target = reverse_lookup_family (net, container_id, AF_INET, &a);
      else if (name && parse_ptr6_name (name, &a6))
        target = reverse_lookup_family (net, container_id, AF_INET6, &a6);
      if (target)
        {
          build_response (pkt, LDNS_RCODE_NOERROR, NULL, 0, target, out, len);
          kind = DNS_ANSWER_LOCAL;
        }
    }
  if (kind == DNS_ANSWER_FORWARD && !has_external_access (net, container_id))
    {
      build_response (pkt, LDNS_RCODE_SERVFAIL, NULL, 0, NULL, out, len);
      kind = DNS_ANSWER_LOCAL;
    }
  ldns_pkt_free (pkt);
  return kind;
}

uint8_t *
dns_servfail (const uint8_t *q, size_t qlen, size_t *len)
{
  ldns_pkt *pkt = NULL;
  if (ldns_wire2pkt (&pkt, q, qlen) != LDNS_STATUS_OK)
    return formerr (q, qlen, len);
  uint8_t *r = NULL;
  build_response (pkt, LDNS_RCODE_SERVFAIL, NULL, 0, NULL, &r, len);
  ldns_pkt_free (pkt);
  return r;
}
