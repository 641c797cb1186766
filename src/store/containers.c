/* Container rows (see store/containers.h). */
#include "store/containers.h"

#include <string.h>

#include "store/db_internal.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"

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

typedef struct
{
  arca_store_container_fn fn;
  void *ctx;
} each_ctx_t;

/* Rows with a NULL id or name are left out (the walk's contract). */
static int
container_row (sqlite3_stmt *st, void *ctx, arca_error_t *err)
{
  each_ctx_t *w = ctx;
  const char *id = arca_db_col_text (st, 0);
  const char *name = arca_db_col_text (st, 1);
  if (id == NULL || name == NULL)
    return 0;
  _cleanup_json_ json_t *rec = arca_db_col_json (st, 2);
  return w->fn (id, name, rec, w->ctx, err);
}

int
arca_store_containers_each (arca_db_t *db, arca_store_container_fn fn, void *ctx, arca_error_t *err)
{
  each_ctx_t w = { fn, ctx };
  return arca_db_each (db, "SELECT id, name, data FROM containers", NULL, 0, container_row, &w, err);
}
