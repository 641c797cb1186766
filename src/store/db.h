/* SQLite state store: one database file <data-root>/arca.db in WAL mode with
 * synchronous=FULL, so a committed change survives kill -9 and power loss.
 * The schema is versioned (PRAGMA user_version) and migrated at open.
 *
 * Concurrency: one connection shared by all threads; every store call takes
 * the store's mutex (arca_db_lock) for its duration; a store function that
 * runs several statements in a transaction holds it from BEGIN to COMMIT.
 *
 * Layering: only src/store/ speaks SQL.  The other modules call the typed
 * functions of store/containers.h, store/images.h, store/networks.h,
 * store/volumes.h and store/events.h; the raw statement helpers are in
 * store/db_internal.h, private to src/store/.
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
#include <stdbool.h>
#include <stdint.h>
#include "util/error.h"

typedef struct arca_db arca_db_t;

int arca_db_open (const char *path, arca_db_t **out, arca_error_t *err);
void arca_db_close (arca_db_t *db);
/* Once no statement has run for quiet_ns since the last call that freed
 * something: SQLite's page cache (up to its default 2 MB; a 20 MB create
 * body's row fills it) goes back to the heap (sqlite3_db_release_memory),
 * to be read again from the kernel's page cache when next needed.  The
 * daemon's idle tick (arca_engine_release_idle). */
void arca_db_release_idle (arca_db_t *db, int64_t quiet_ns);

/* Deferred sync, for the steps of one operation that ends in a commit of
 * its own (the commit point: a start's "running" row, an exit's record, a
 * create's container row).  While the calling thread has it on, its
 * commits run with PRAGMA synchronous=NORMAL: they reach the WAL (the
 * kernel's page cache), so they survive kill -9 as before, but are not
 * fsynced.  The commit point, made with it off, fsyncs the WAL and with it
 * every frame before it; SQLite replays a WAL only up to its first frame
 * whose checksum fails, so a power loss keeps a prefix of the commits and
 * recovery sees the operation as not done, as for a kill -9 before its
 * commit point.  Each answer still follows a synced commit.  Per thread;
 * the connection is back to synchronous=FULL whenever the lock is free.
 * Nesting is not counted: off ends the scope. */
void arca_db_defer_sync (bool on);
/* The PRAGMA synchronous a commit of the calling thread runs with now
 * (1 NORMAL, 2 FULL; -1 on error): for tests and diagnostics. */
int arca_db_synchronous (arca_db_t *db);

/* meta table */
int arca_db_meta_get (arca_db_t *db, const char *key, char **value, arca_error_t *err); /* *value NULL if absent */
int arca_db_meta_set (arca_db_t *db, const char *key, const char *value, arca_error_t *err);

#endif
