/* Named volume rows (engine/volumes.c): volumes(name, data), data the
 * volume record JSON (Name, Driver, Labels, Options, CreatedAt). */
#ifndef ARCA_STORE_VOLUMES_H
#define ARCA_STORE_VOLUMES_H

#include <jansson.h>

#include "store/db.h"
#include "util/error.h"

/* The record of volume name; *rec NULL if there is none (or it does not
 * parse). */
int arca_store_volume_get (arca_db_t *db, const char *name, json_t **rec, arca_error_t *err);
/* Every volume record, by name: *recs a JSON array. */
int arca_store_volumes_list (arca_db_t *db, json_t **recs, arca_error_t *err);
/* Insert a new volume's row: the commit point of a create (a name taken
 * already fails). */
int arca_store_volume_insert (arca_db_t *db, const char *name, json_t *rec, arca_error_t *err);
int arca_store_volume_delete (arca_db_t *db, const char *name, arca_error_t *err);

#endif
