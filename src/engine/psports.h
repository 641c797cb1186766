/* The publish= and expose= filters of GET /containers/json (moby
 * daemon/list.go portOp, go-connections nat.SplitProtoPort and
 * ParsePortRange): each value is <port>[/<proto>] or <start>-<end>[/<proto>],
 * parsed once per list into ranges a container's summary ports are
 * checked against. */
#ifndef ARCA_ENGINE_PSPORTS_H
#define ARCA_ENGINE_PSPORTS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

typedef struct
{
  unsigned lo, hi;
  char *proto; /* as given ("tcp" when none): nat.NewPort does not check it */
} ps_port_range_t;

typedef struct
{
  ps_port_range_t *v;
  size_t n;
} ps_ports_t;

/* Adds value (the filter key is for the error texts, which are dockerd's);
 * -1 with a 500 error as dockerd's unwrapped fmt.Errorf. */
int ps_ports_add (ps_ports_t *set, const char *key, const char *value, arca_error_t *err);
bool ps_ports_has (const ps_ports_t *set, unsigned port, const char *proto);
void ps_ports_clear (ps_ports_t *set);

#endif
