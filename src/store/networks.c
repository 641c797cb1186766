/* Networking rows (see store/networks.h). */
#include "store/networks.h"

#include <string.h>

#include "store/db_internal.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"

/* ---- networks ---- */

void
arca_store_network_rows_clear (arca_store_network_rows_t *rows)
{
  for (size_t i = 0; i < rows->n; i++)
    {
      free (rows->v[i].id);
      json_decref (rows->v[i].rec);
    }
  free (rows->v);
  memset (rows, 0, sizeof *rows);
}

int
arca_store_network_put (arca_db_t *db, const char *id, const char *name, json_t *rec, arca_error_t *err)
{
  _cleanup_free_ char *text = json_dump_compact (rec);
  const char *p[] = { id, name, text };
  return arca_db_exec (db, "INSERT OR REPLACE INTO networks (id, name, data) VALUES (?1, ?2, ?3)", p, 3, err);
}

int
arca_store_network_delete (arca_db_t *db, const char *id, arca_error_t *err)
{
  const char *p[] = { id };
  return arca_db_exec (db, "DELETE FROM networks WHERE id = ?1", p, 1, err);
}

static int
network_row (sqlite3_stmt *st, void *ctx, arca_error_t *err)
{
  arca_store_network_row_t *r = arca_db_push ((arca_store_network_rows_t *) ctx);
  r->id = arca_db_col_strdup (st, 0);
  r->rec = arca_db_col_json (st, 1);
  return 0;
}

int
arca_store_networks_list (arca_db_t *db, arca_store_network_rows_t *out, arca_error_t *err)
{
  memset (out, 0, sizeof *out);
  if (arca_db_each (db, "SELECT id, data FROM networks ORDER BY rowid", NULL, 0, network_row, out, err) < 0)
    {
      arca_store_network_rows_clear (out);
      return -1;
    }
  return 0;
}

/* ---- endpoints ---- */

void
arca_store_endpoint_rows_clear (arca_store_endpoint_rows_t *rows)
{
  for (size_t i = 0; i < rows->n; i++)
    {
      free (rows->v[i].container_id);
      free (rows->v[i].network_id);
      json_decref (rows->v[i].rec);
    }
  free (rows->v);
  memset (rows, 0, sizeof *rows);
}

int
arca_store_endpoint_put (arca_db_t *db, const char *container_id, const char *network_id, json_t *rec,
                         arca_error_t *err)
{
  _cleanup_free_ char *text = json_dump_compact (rec);
  const char *p[] = { container_id, network_id, text };
  return arca_db_exec (db, "INSERT OR REPLACE INTO endpoints (container_id, network_id, data) VALUES (?1, ?2, ?3)",
                       p, 3, err);
}

int
arca_store_endpoint_delete (arca_db_t *db, const char *container_id, const char *network_id, arca_error_t *err)
{
  const char *p[] = { container_id, network_id };
  return arca_db_exec (db, "DELETE FROM endpoints WHERE container_id = ?1 AND network_id = ?2", p, 2, err);
}

static int
endpoint_row (sqlite3_stmt *st, void *ctx, arca_error_t *err)
{
  arca_store_endpoint_row_t *r = arca_db_push ((arca_store_endpoint_rows_t *) ctx);
  r->container_id = arca_db_col_strdup (st, 0);
  r->network_id = arca_db_col_strdup (st, 1);
  r->rec = arca_db_col_json (st, 2);
  return 0;
}

int
arca_store_endpoints_list (arca_db_t *db, arca_store_endpoint_rows_t *out, arca_error_t *err)
{
  memset (out, 0, sizeof *out);
  if (arca_db_each (db, "SELECT container_id, network_id, data FROM endpoints", NULL, 0, endpoint_row, out, err)
      < 0)
    {
      arca_store_endpoint_rows_clear (out);
      return -1;
    }
  return 0;
}

/* ---- IP allocations ---- */

int
arca_store_ip_claim (arca_db_t *db, const char *network_id, const char *address, const char *owner,
                     bool *claimed, arca_error_t *err)
{
  const char *p[] = { network_id, address, owner };
  *claimed = false;
  if (arca_db_exec (db, "INSERT OR IGNORE INTO ip_allocations (network_id, address, container_id) VALUES (?1, ?2, ?3)",
                    p, 3, err)
      < 0)
    return -1;
  _cleanup_free_ char *holder = NULL;
  if (arca_db_first_str (db, "SELECT container_id FROM ip_allocations WHERE network_id = ?1 AND address = ?2", p,
                         2, &holder, err)
      < 0)
    return -1;
  *claimed = holder && strcmp (holder, owner) == 0;
  return 0;
}

int
arca_store_ip_taken (arca_db_t *db, const char *network_id, const char *except_owner, char ***addresses,
                     arca_error_t *err)
{
  const char *p[] = { network_id, except_owner };
  return arca_db_strv (db, "SELECT address FROM ip_allocations WHERE network_id = ?1 AND container_id != ?2", p, 2,
                       addresses, err);
}

int
arca_store_ip_release (arca_db_t *db, const char *network_id, const char *owner, arca_error_t *err)
{
  const char *p[] = { network_id, owner };
  return arca_db_exec (db, "DELETE FROM ip_allocations WHERE network_id = ?1 AND container_id = ?2", p, 2, err);
}

int
arca_store_ip_release_network (arca_db_t *db, const char *network_id, arca_error_t *err)
{
  const char *p[] = { network_id };
  return arca_db_exec (db, "DELETE FROM ip_allocations WHERE network_id = ?1", p, 1, err);
}
