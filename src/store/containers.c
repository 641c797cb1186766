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

int
arca_store_containers_list (arca_db_t *db, arca_store_container_rows_t *out, arca_error_t *err)
{
  _cleanup_json_ json_t *rows = NULL;
  memset (out, 0, sizeof *out);
  if (arca_db_query (db, "SELECT id, name, data FROM containers", NULL, 0, &rows, err) < 0)
    return -1;
  out->v = xmalloc0 ((json_array_size (rows) + 1) * sizeof *out->v);
  size_t i;
  json_t *row;
  json_array_foreach (rows, i, row)
    {
      const char *id = json_string_value (json_array_get (row, 0));
      const char *name = json_string_value (json_array_get (row, 1));
      if (id == NULL || name == NULL)
        continue;
      arca_store_container_row_t *r = &out->v[out->n++];
      r->id = xstrdup (id);
      r->name = xstrdup (name);
      r->rec = json_loads (json_string_value (json_array_get (row, 2)), 0, NULL);
    }
  return 0;
}
