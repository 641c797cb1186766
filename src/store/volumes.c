/* Named volume rows (see store/volumes.h). */
#include "store/volumes.h"

#include "store/db_internal.h"
#include "util/cleanup.h"
#include "util/json.h"

int
arca_store_volume_get (arca_db_t *db, const char *name, json_t **rec, arca_error_t *err)
{
  const char *p[] = { name };
  return arca_db_first_json (db, "SELECT data FROM volumes WHERE name = ?1", p, 1, rec, err);
}

int
arca_store_volumes_list (arca_db_t *db, json_t **recs, arca_error_t *err)
{
  return arca_db_json_list (db, "SELECT data FROM volumes ORDER BY name", NULL, 0, recs, err);
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
