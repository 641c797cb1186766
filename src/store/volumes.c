/* Named volume rows (see store/volumes.h). */
#include "store/volumes.h"

#include "store/db_internal.h"
#include "util/cleanup.h"
#include "util/json.h"

int
arca_store_volume_get (arca_db_t *db, const char *name, json_t **rec, arca_error_t *err)
{
  _cleanup_json_ json_t *rows = NULL;
  const char *p[] = { name };
  *rec = NULL;
  if (arca_db_query (db, "SELECT data FROM volumes WHERE name = ?1", p, 1, &rows, err) < 0)
    return -1;
  const char *data = arca_db_rows_str (rows);
  *rec = data ? json_loads (data, 0, NULL) : NULL;
  return 0;
}

int
arca_store_volumes_list (arca_db_t *db, json_t **recs, arca_error_t *err)
{
  _cleanup_json_ json_t *rows = NULL;
  if (arca_db_query (db, "SELECT data FROM volumes ORDER BY name", NULL, 0, &rows, err) < 0)
    return -1;
  json_t *out = json_array ();
  size_t i;
  json_t *row;
  json_array_foreach (rows, i, row)
    {
      json_t *rec = json_loads (json_string_value (json_array_get (row, 0)), 0, NULL);
      if (rec)
        json_array_append_new (out, rec);
    }
  *recs = out;
  return 0;
}

int
arca_store_volume_insert (arca_db_t *db, const char *name, json_t *rec, arca_error_t *err)
{
  _cleanup_free_ char *text = json_dump_compact (rec);
  const char *p[] = { name, text };
  return arca_db_exec (db, "INSERT INTO volumes (name, data) VALUES (?1, ?2)", p, 2, err);
}

int
arca_store_volume_delete (arca_db_t *db, const char *name, arca_error_t *err)
{
  const char *p[] = { name };
  return arca_db_exec (db, "DELETE FROM volumes WHERE name = ?1", p, 1, err);
}
