/* Raw statement helpers of the SQLite store: private to src/store/ (the
 * other modules call the typed functions of store/<concern>.h; nothing
 * outside src/store/ includes this header or speaks SQL).
 *
 * Every statement runs through one runner: prepare, bind n text
 * parameters to ?1..?n (a NULL entry binds SQL NULL), step, and hand each
 * result row to a row visitor that reads its columns straight from the
 * statement (arca_db_col_* below) into the caller's typed rows.  Errors are
 * "<step>: <sqlite message>" with step prepare, bind, then exec, query or
 * sql (the runner's name).  A runner that fails after some rows were
 * visited returns -1: the caller frees what its visitor built. */
#ifndef ARCA_STORE_DB_INTERNAL_H
#define ARCA_STORE_DB_INTERNAL_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"
#include "util/error.h"

sqlite3 *arca_db_handle (arca_db_t *db);
void arca_db_lock (arca_db_t *db);
void arca_db_unlock (arca_db_t *db);

/* Reads the current row of st into ctx.  A negative return stops the
 * statement and is the runner's result (the visitor set err). */
typedef int (*arca_db_row_fn) (sqlite3_stmt *st, void *ctx, arca_error_t *err);

/* Run a query, calling fn on each row.  Takes the lock. */
int arca_db_each (arca_db_t *db, const char *sql, const char *const *params, int n, arca_db_row_fn fn, void *ctx,
                  arca_error_t *err);
/* The same with the lock already held (inside a transaction); fn may be
 * NULL for a statement whose rows are not wanted. */
int arca_db_each_locked (arca_db_t *db, const char *sql, const char *const *params, int n, arca_db_row_fn fn,
                         void *ctx, arca_error_t *err);
/* Run one statement whose rows are not wanted.  Takes the lock. */
int arca_db_exec (arca_db_t *db, const char *sql, const char *const *params, int n, arca_error_t *err);

/* A transaction: arca_db_begin takes arca_db_lock and runs BEGIN IMMEDIATE
 * (returns its result; the lock is held either way); arca_db_end COMMITs
 * when ret == 0 (a failing COMMIT makes ret -1), ROLLBACKs otherwise, and
 * releases the lock.  Returns the final ret.  Always pair them:
 *   int ret = arca_db_begin (db, err);
 *   if (ret == 0) ret = arca_db_each_locked (db, ...);
 *   return arca_db_end (db, ret, err); */
int arca_db_begin (arca_db_t *db, arca_error_t *err);
int arca_db_end (arca_db_t *db, int ret, arca_error_t *err);

/* ---- columns of the current row ---- */

/* Column c as text: NULL if it is SQL NULL or an integer (the store's
 * text columns are never either; a NULL here means "not text"). */
const char *arca_db_col_text (sqlite3_stmt *st, int c);
/* A copy of arca_db_col_text (NULL stays NULL). */
char *arca_db_col_strdup (sqlite3_stmt *st, int c);
/* Column c parsed as JSON: NULL if it is not text or does not parse. */
json_t *arca_db_col_json (sqlite3_stmt *st, int c);
/* Column c if it is an integer, else 0. */
int64_t arca_db_col_int (sqlite3_stmt *st, int c);

/* ---- whole queries of common shapes ---- */

/* Single-value queries (at most one row): *out gets a copy of column 0 of
 * the first row whose column 0 is text (arca_db_first_json: parsed; NULL
 * if it does not parse), NULL if none and on error. */
int arca_db_first_str (arca_db_t *db, const char *sql, const char *const *params, int n, char **out,
                       arca_error_t *err);
int arca_db_first_str_locked (arca_db_t *db, const char *sql, const char *const *params, int n, char **out,
                              arca_error_t *err);
int arca_db_first_json (arca_db_t *db, const char *sql, const char *const *params, int n, json_t **out,
                        arca_error_t *err);
/* Run a query whose visitor fn adds each row to into (a JSON array or
 * object the caller made): *out gets into, or NULL on error (into freed). */
int arca_db_json_each (arca_db_t *db, const char *sql, const char *const *params, int n, arca_db_row_fn fn,
                       json_t *into, json_t **out, arca_error_t *err);
/* *out: a JSON array of column 0 of every row parsed, rows that do not
 * parse left out (NULL on error). */
int arca_db_json_list (arca_db_t *db, const char *sql, const char *const *params, int n, json_t **out,
                       arca_error_t *err);

/* *out: column 0 of every row that is text, as a NULL-terminated list
 * (never NULL on success, NULL on error). */
int arca_db_strv (arca_db_t *db, const char *sql, const char *const *params, int n, char ***out, arca_error_t *err);

/* Append a zeroed element to a typed row list { T *v; size_t n; } and
 * return it: the lists grow by doubling. */
void *arca_db_grow (void *v, size_t n, size_t size);
#define arca_db_push(rows) \
  ((rows)->v = arca_db_grow ((rows)->v, (rows)->n, sizeof *(rows)->v), &(rows)->v[(rows)->n++])

#endif
