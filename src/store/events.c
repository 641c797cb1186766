/* Event history rows (see store/events.h). */
#include "store/events.h"
#include "store/db_internal.h"

#include <sqlite3.h>
#include <stdio.h>

static int
sql_error (sqlite3 *h, arca_error_t *err, const char *what)
{
  return arca_error_set (err, ARCA_ERR_INTERNAL, "event history: %s: %s", what, sqlite3_errmsg (h));
}

static int
insert_rows (sqlite3 *h, const arca_db_event_row_t *rows, size_t n, arca_error_t *err)
{
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2 (h, "INSERT OR REPLACE INTO events (seq, time_ns, data) VALUES (?1, ?2, ?3)", -1, &st,
                          NULL)
      != SQLITE_OK)
    return sql_error (h, err, "prepare");
  int ret = 0;
  for (size_t i = 0; i < n && ret == 0; i++)
    {
      sqlite3_bind_int64 (st, 1, rows[i].seq);
      sqlite3_bind_int64 (st, 2, rows[i].time_ns);
      sqlite3_bind_text (st, 3, rows[i].data, (int) rows[i].data_len, SQLITE_STATIC);
      if (sqlite3_step (st) != SQLITE_DONE)
        ret = sql_error (h, err, "insert");
      sqlite3_reset (st);
      sqlite3_clear_bindings (st);
    }
  sqlite3_finalize (st);
  return ret;
}

int
arca_db_events_append (arca_db_t *db, const arca_db_event_row_t *rows, size_t n, size_t keep,
                       arca_error_t *err)
{
  if (n == 0)
    return 0;
  sqlite3 *h = arca_db_handle (db);
  arca_db_lock (db);
  int ret = 0;
  if (sqlite3_exec (h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    ret = sql_error (h, err, "begin");
  if (ret == 0)
    ret = insert_rows (h, rows, n, err);
  if (ret == 0)
    {
      char sql[128];
      snprintf (sql, sizeof sql, "DELETE FROM events WHERE seq <= %lld", (long long) (rows[n - 1].seq - (int64_t) keep));
      if (sqlite3_exec (h, sql, NULL, NULL, NULL) != SQLITE_OK)
        ret = sql_error (h, err, "trim");
    }
  if (ret == 0 && sqlite3_exec (h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    ret = sql_error (h, err, "commit");
  if (ret < 0)
    sqlite3_exec (h, "ROLLBACK", NULL, NULL, NULL);
  arca_db_unlock (db);
  return ret;
}

/* [seq, time_ns, data]: data null if not text (the loader skips it). */
static int
event_row (sqlite3_stmt *st, void *ctx, arca_error_t *err)
{
  const char *data = arca_db_col_text (st, 2);
  json_array_append_new ((json_t *) ctx, json_pack ("[IIo]", (json_int_t) arca_db_col_int (st, 0),
                                                    (json_int_t) arca_db_col_int (st, 1),
                                                    data ? json_string (data) : json_null ()));
  return 0;
}

int
arca_db_events_load (arca_db_t *db, size_t limit, json_t **out, arca_error_t *err)
{
  char n[32];
  snprintf (n, sizeof n, "%zu", limit);
  const char *p[] = { n };
  return arca_db_json_each (db,
                            "SELECT seq, time_ns, data FROM (SELECT seq, time_ns, data FROM events "
                            "ORDER BY seq DESC LIMIT CAST(?1 AS INTEGER)) ORDER BY seq",
                            p, 1, event_row, json_array (), out, err);
}
