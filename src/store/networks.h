/* Networking rows (src/net): networks(id, name, data) with data the
 * network record JSON, endpoints(container_id, network_id, data) with data
 * the endpoint's config and state JSON, and the IP allocations
 * ip_allocations(network_id, address, container_id) of net/ipam.c. */
#ifndef ARCA_STORE_NETWORKS_H
#define ARCA_STORE_NETWORKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/db.h"
#include "util/error.h"

/* ---- networks ---- */

typedef struct
{
  char *id;   /* NULL if the stored id is not text */
  json_t *rec; /* NULL if the stored record does not parse */
} arca_store_network_row_t;

typedef struct
{
  arca_store_network_row_t *v;
  size_t n;
} arca_store_network_rows_t;

void arca_store_network_rows_clear (arca_store_network_rows_t *rows);
#define _cleanup_store_network_rows_ __attribute__ ((cleanup (arca_store_network_rows_clear)))

/* Insert or replace network id's row. */
int arca_store_network_put (arca_db_t *db, const char *id, const char *name, json_t *rec, arca_error_t *err);
int arca_store_network_delete (arca_db_t *db, const char *id, arca_error_t *err);
/* Every network row, in insertion order (the builtin networks first). */
int arca_store_networks_list (arca_db_t *db, arca_store_network_rows_t *out, arca_error_t *err);

/* ---- endpoints ---- */

typedef struct
{
  char *container_id; /* NULL if not text */
  char *network_id;   /* NULL if not text */
  json_t *rec;        /* NULL if the stored record does not parse */
} arca_store_endpoint_row_t;

typedef struct
{
  arca_store_endpoint_row_t *v;
  size_t n;
} arca_store_endpoint_rows_t;

void arca_store_endpoint_rows_clear (arca_store_endpoint_rows_t *rows);
#define _cleanup_store_endpoint_rows_ __attribute__ ((cleanup (arca_store_endpoint_rows_clear)))

/* Insert or replace the endpoint of container_id on network_id. */
int arca_store_endpoint_put (arca_db_t *db, const char *container_id, const char *network_id, json_t *rec,
                             arca_error_t *err);
int arca_store_endpoint_delete (arca_db_t *db, const char *container_id, const char *network_id, arca_error_t *err);
int arca_store_endpoints_list (arca_db_t *db, arca_store_endpoint_rows_t *out, arca_error_t *err);

/* ---- IP allocations ---- */

/* Claim address (as inet_ntop prints it) on network_id for owner (a
 * container ID or "aux:<name>"): *claimed is true when the address is now
 * owner's (newly or already).  The primary key (network_id, address)
 * makes the claim atomic: INSERT OR IGNORE, then read who owns it. */
int arca_store_ip_claim (arca_db_t *db, const char *network_id, const char *address, const char *owner,
                         bool *claimed, arca_error_t *err);
/* Every address held on network_id by another owner than except_owner,
 * as inet_ntop prints it; a snapshot to pick candidates from: only a
 * claim is atomic. */
int arca_store_ip_taken (arca_db_t *db, const char *network_id, const char *except_owner, char ***addresses,
                         arca_error_t *err);
/* Release every address owner holds on network_id. */
int arca_store_ip_release (arca_db_t *db, const char *network_id, const char *owner, arca_error_t *err);
/* Release every address of network_id. */
int arca_store_ip_release_network (arca_db_t *db, const char *network_id, arca_error_t *err);

#endif
