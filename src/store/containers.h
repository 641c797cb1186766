/* Container rows (engine/container.c): containers(id, name, data), data
 * the container record JSON (engine/record.c). */
#ifndef ARCA_STORE_CONTAINERS_H
#define ARCA_STORE_CONTAINERS_H

#include <jansson.h>
#include <stddef.h>

#include "store/db.h"
#include "util/error.h"

typedef struct
{
  char *id;
  char *name;
  json_t *rec; /* NULL if the stored record does not parse */
} arca_store_container_row_t;

typedef struct
{
  arca_store_container_row_t *v;
  size_t n;
} arca_store_container_rows_t;

void arca_store_container_rows_clear (arca_store_container_rows_t *rows);
#define _cleanup_store_container_rows_ __attribute__ ((cleanup (arca_store_container_rows_clear)))

/* Insert or update the row of container id (one statement: atomic). */
int arca_store_container_put (arca_db_t *db, const char *id, const char *name, json_t *rec, arca_error_t *err);
int arca_store_container_delete (arca_db_t *db, const char *id, arca_error_t *err);
/* Every container row (rows with a NULL id or name are left out). */
int arca_store_containers_list (arca_db_t *db, arca_store_container_rows_t *out, arca_error_t *err);

#endif
