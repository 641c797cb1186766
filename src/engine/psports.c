/* publish= / expose= filter values (psports.h). */
#include "engine/psports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"

/* strconv.ParseUint (s, 10, 16): digits only; the range error as soon as
 * the value passes 65535, the syntax error at the first non-digit. */
static int
parse_u16 (const char *s, size_t len, unsigned *out, char *why, size_t why_len)
{
  unsigned long n = 0;
  if (len == 0)
    {
      snprintf (why, why_len, "strconv.ParseUint: parsing \"\": invalid syntax");
      return -1;
    }
  for (size_t i = 0; i < len; i++)
    {
      if (s[i] < '0' || s[i] > '9')
        {
          snprintf (why, why_len, "strconv.ParseUint: parsing \"%.*s\": invalid syntax", (int) len, s);
          return -1;
        }
      n = n * 10 + (unsigned long) (s[i] - '0');
      if (n > 65535)
        {
          snprintf (why, why_len, "strconv.ParseUint: parsing \"%.*s\": value out of range", (int) len, s);
          return -1;
        }
    }
  *out = (unsigned) n;
  return 0;
}

/* nat.ParsePortRange: "" is refused, "a-b" takes the first two parts
 * ("1-2-3" is 1-2) and wants a <= b. */
static int
parse_range (const char *port, size_t len, unsigned *lo, unsigned *hi, char *why, size_t why_len)
{
  if (len == 0)
    {
      snprintf (why, why_len, "Empty string specified for ports.");
      return -1;
    }
  const char *dash = memchr (port, '-', len);
  if (dash == NULL)
    {
      if (parse_u16 (port, len, lo, why, why_len) < 0)
        return -1;
      *hi = *lo;
      return 0;
    }
  const char *second = dash + 1;
  const char *end = memchr (second, '-', len - (size_t) (second - port));
  size_t second_len = end ? (size_t) (end - second) : len - (size_t) (second - port);
  if (parse_u16 (port, (size_t) (dash - port), lo, why, why_len) < 0
      || parse_u16 (second, second_len, hi, why, why_len) < 0)
    return -1;
  if (*hi < *lo)
    {
      snprintf (why, why_len, "Invalid range specified for the Port: %.*s", (int) len, port);
      return -1;
    }
  return 0;
}

int
ps_ports_add (ps_ports_t *set, const char *key, const char *value, arca_error_t *err)
{
  if (strchr (value, ':'))
    return arca_error_set (err, ARCA_ERR_INTERNAL, "filter for '%s' should not contain ':': %s", key, value);
  /* nat.SplitProtoPort: "<port>[/<proto>[/...]]", tcp when the protocol
   * is missing or empty; nothing at all when the port part is empty. */
  const char *slash = strchr (value, '/');
  size_t port_len = slash ? (size_t) (slash - value) : strlen (value);
  const char *proto = "tcp";
  size_t proto_len = 3;
  if (port_len > 0 && slash && slash[1] && slash[1] != '/')
    {
      proto = slash + 1;
      const char *next = strchr (proto, '/');
      proto_len = next ? (size_t) (next - proto) : strlen (proto);
    }
  char why[160];
  ps_port_range_t r = { 0 };
  if (parse_range (value, port_len, &r.lo, &r.hi, why, sizeof why) < 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "error while looking up for %s %s: %s", key, value, why);
  r.proto = xasprintf ("%.*s", (int) proto_len, proto);
  set->v = xrealloc (set->v, (set->n + 1) * sizeof *set->v);
  set->v[set->n++] = r;
  return 0;
}

bool
ps_ports_has (const ps_ports_t *set, unsigned port, const char *proto)
{
  for (size_t i = 0; i < set->n; i++)
    if (port >= set->v[i].lo && port <= set->v[i].hi && strcmp (set->v[i].proto, proto) == 0)
      return true;
  return false;
}

void
ps_ports_clear (ps_ports_t *set)
{
  for (size_t i = 0; i < set->n; i++)
    free (set->v[i].proto);
  free (set->v);
  set->v = NULL;
  set->n = 0;
}
