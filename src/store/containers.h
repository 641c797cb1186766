/* Container rows (engine/container.c): containers(id, name, data), data
 * the container record JSON (engine/record.c). */
#ifndef ARCA_STORE_CONTAINERS_H
#define ARCA_STORE_CONTAINERS_H

#include <jansson.h>
#include <stddef.h>

#include "store/db.h"
#include "util/error.h"

/* One container row: rec is NULL if the stored record does not parse; it
 * is freed when the function returns (take a reference to keep it). */
typedef int (*arca_store_container_fn) (const char *id, const char *name, json_t *rec, void *ctx,
                                        arca_error_t *err);

/* Insert or update the row of container id (one statement: atomic). */
int arca_store_container_put (arca_db_t *db, const char *id, const char *name, json_t *rec, arca_error_t *err);
int arca_store_container_delete (arca_db_t *db, const char *id, arca_error_t *err);
/* Every container row, one at a time (rows with a NULL id or name are left
 * out): each is parsed, handed to fn and freed before the next, so loading
 * many containers never holds all their parsed rows at once (a parsed row
 * is ~8 times its text; bench/README.md "Compact container records").  fn
 * runs with the store's lock held: memory work only, no store call and no
 * other lock (docs/design.md lock table).  fn returning < 0 stops the walk
 * and is returned. */
int arca_store_containers_each (arca_db_t *db, arca_store_container_fn fn, void *ctx, arca_error_t *err);

#endif
