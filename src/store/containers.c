/* Container rows (see store/containers.h). */
#include "store/containers.h"

#include <string.h>

#include "store/db_internal.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"

void
arca_store_container_rows_clear (arca_store_container_rows_t *rows)
{
  for (size_t i = 0; i < rows->n; i++)
    {
      free (rows->v[i].id);
      free (rows->v[i].name);
      json_decref (rows->v[i].rec);
    }
  free (rows->v);
  memset (rows, 0, sizeof *rows);
}

int
arca_store_container_put (arca_db_t *db, const char *id, const char *name, json_t *rec, arca_error_t *err)
{
  _cleanup_free_ char *data = json_dump_compact (rec);
  const char *p[] = { id, name, data };
  return arca_db_exec (db,
                       "INSERT INTO containers (id, name, data) VALUES (?1, ?2, ?3) "
                       "ON CONFLICT (id) DO UPDATE SET name = excluded.name, data = excluded.data",
                       p, 3, err);
}

int
arca_store_container_delete (arca_db_t *db, const char *id, arca_error_t *err)
{
  const char *p[] = { id };
  return arca_db_exec (db, "DELETE FROM containers WHERE id = ?1", p, 1, err);
}

/* Rows with a NULL id or name are left out (the list's contract). */
static int
container_row (sqlite3_stmt *st, void *ctx, arca_error_t *err)
{
  const char *id = arca_db_col_text (st, 0);
  const char *name = arca_db_col_text (st, 1);
  if (id == NULL || name == NULL)
    return 0;
  arca_store_container_row_t *r = arca_db_push ((arca_store_container_rows_t *) ctx);
  r->id = xstrdup (id);
  r->name = xstrdup (name);
  r->rec = arca_db_col_json (st, 2);
  return 0;
}

int
arca_store_containers_list (arca_db_t *db, arca_store_container_rows_t *out, arca_error_t *err)
{
  memset (out, 0, sizeof *out);
  if (arca_db_each (db, "SELECT id, name, data FROM containers", NULL, 0, container_row, out, err) < 0)
    {
      arca_store_container_rows_clear (out);
      return -1;
    }
  return 0;
}
