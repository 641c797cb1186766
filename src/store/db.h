/* SQLite state store: one database file <data-root>/arca.db in WAL mode with
 * synchronous=FULL, so a committed change survives kill -9 and power loss.
 * The schema is versioned (PRAGMA user_version) and migrated at open.
 *
 * Concurrency: one connection shared by all threads; every call below takes
 * the store's mutex for its duration.  Use arca_db_lock()/unlock() around a
 * sequence of raw sqlite3 calls on arca_db_handle().
 *
 * Schema v1:
 *   meta(key TEXT PRIMARY KEY, value TEXT)              -- daemon ID etc.
 *   containers(id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, data TEXT NOT NULL)
 *                                                        -- data: container record JSON
 *   images(id TEXT PRIMARY KEY, data TEXT NOT NULL)     -- id "sha256:<hex>" (config digest)
 *   image_refs(ref TEXT PRIMARY KEY, image_id TEXT NOT NULL, kind TEXT NOT NULL, created INTEGER NOT NULL)
 *                                                        -- ref: "docker.io/library/busybox:latest" or "...@sha256:..";
 *                                                        -- kind "tag" | "digest"
 *   layers(chain_id TEXT PRIMARY KEY, diff_id TEXT NOT NULL, parent TEXT, size INTEGER NOT NULL)
 * v2 volumes, v3 networks/endpoints/ip_allocations (see db.c), v4:
 *   events(seq INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, data TEXT NOT NULL)
 *                                                        -- event history (store/events.h)
 */
#ifndef ARCA_STORE_DB_H
#define ARCA_STORE_DB_H

#include <jansson.h>
#include <sqlite3.h>
#include "util/error.h"

typedef struct arca_db arca_db_t;

int arca_db_open (const char *path, arca_db_t **out, arca_error_t *err);
void arca_db_close (arca_db_t *db);
sqlite3 *arca_db_handle (arca_db_t *db);
void arca_db_lock (arca_db_t *db);
void arca_db_unlock (arca_db_t *db);

/* Run one statement with n text parameters bound to ?1..?n (a NULL entry
 * binds SQL NULL).  Takes the lock. */
int arca_db_exec (arca_db_t *db, const char *sql, const char *const *params, int n, arca_error_t *err);

/* Run a query with n text parameters; returns a JSON array of rows, each row
 * an array of column values (text/integer/null).  Takes the lock. */
int arca_db_query (arca_db_t *db, const char *sql, const char *const *params, int n, json_t **rows,
                   arca_error_t *err);

/* meta table */
int arca_db_meta_get (arca_db_t *db, const char *key, char **value, arca_error_t *err); /* *value NULL if absent */
int arca_db_meta_set (arca_db_t *db, const char *key, const char *value, arca_error_t *err);

#endif
