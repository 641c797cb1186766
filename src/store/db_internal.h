/* Raw statement helpers of the SQLite store: private to src/store/ (the
 * other modules call the typed functions of store/<concern>.h; nothing
 * outside src/store/ includes this header or speaks SQL). */
#ifndef ARCA_STORE_DB_INTERNAL_H
#define ARCA_STORE_DB_INTERNAL_H

#include <jansson.h>
#include <sqlite3.h>

#include "store/db.h"
#include "util/error.h"

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

/* The same with the lock already held (inside a transaction): rows may be
 * NULL for a statement whose rows are not wanted. */
int arca_db_sql_locked (arca_db_t *db, const char *sql, const char *const *params, int n, json_t **rows,
                        arca_error_t *err);

/* A transaction: arca_db_begin takes arca_db_lock and runs BEGIN IMMEDIATE
 * (returns its result; the lock is held either way); arca_db_end COMMITs
 * when ret == 0 (a failing COMMIT makes ret -1), ROLLBACKs otherwise, and
 * releases the lock.  Returns the final ret.  Always pair them:
 *   int ret = arca_db_begin (db, err);
 *   if (ret == 0) ret = arca_db_sql_locked (db, ...);
 *   return arca_db_end (db, ret, err); */
int arca_db_begin (arca_db_t *db, arca_error_t *err);
int arca_db_end (arca_db_t *db, int ret, arca_error_t *err);

/* The first column of the first row as a string (NULL: no row or not a
 * string), for single-value queries. */
const char *arca_db_rows_str (json_t *rows);

#endif
