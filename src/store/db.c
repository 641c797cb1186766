#include "store/db_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timeutil.h"

struct arca_db
{
  sqlite3 *handle;
  pthread_mutex_t lock;
  int64_t last_use_ns; /* CLOCK_MONOTONIC at the last arca_db_unlock; lock */
  bool used;           /* a statement ran since the last release; lock */
};

/* Each entry migrates from version i to i+1.  Never edit a shipped entry:
 * append a new one. */
static const char *const migrations[] = {
  "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
  "CREATE TABLE containers (id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, data TEXT NOT NULL);"
  "CREATE TABLE images (id TEXT PRIMARY KEY, data TEXT NOT NULL);"
  "CREATE TABLE image_refs (ref TEXT PRIMARY KEY, image_id TEXT NOT NULL, kind TEXT NOT NULL,"
  "                         created INTEGER NOT NULL);"
  "CREATE INDEX image_refs_by_image ON image_refs (image_id);"
  "CREATE TABLE layers (chain_id TEXT PRIMARY KEY, diff_id TEXT NOT NULL, parent TEXT,"
  "                     size INTEGER NOT NULL);",
  /* v2: named volumes (engine/volumes.c); data: volume record JSON */
  "CREATE TABLE volumes (name TEXT PRIMARY KEY, data TEXT NOT NULL);",
  /* v3: networking (src/net): networks (data: record JSON), endpoints
   * (container x network: config and current state), IPv4 allocations. */
  "CREATE TABLE networks (id TEXT PRIMARY KEY, name TEXT NOT NULL, data TEXT NOT NULL);"
  "CREATE TABLE endpoints (container_id TEXT NOT NULL, network_id TEXT NOT NULL, data TEXT NOT NULL,"
  "                        PRIMARY KEY (container_id, network_id));"
  "CREATE TABLE ip_allocations (network_id TEXT NOT NULL, address TEXT NOT NULL, container_id TEXT NOT NULL,"
  "                             PRIMARY KEY (network_id, address));",
  /* v4: the event history (engine/events.c, store/events.h): the last
   * events in publication order; data is the Docker event message JSON.
   * IF NOT EXISTS: safe whatever order migrations of parallel branches
   * end up in. */
  "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, data TEXT NOT NULL);",
};

static int
db_error (arca_db_t *db, arca_error_t *err, const char *what)
{
  return arca_error_set (err, ARCA_ERR_INTERNAL, "%s: %s", what, sqlite3_errmsg (db->handle));
}

static int
migrate (arca_db_t *db, arca_error_t *err)
{
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2 (db->handle, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
    return db_error (db, err, "read schema version");
  int version = sqlite3_step (st) == SQLITE_ROW ? sqlite3_column_int (st, 0) : 0;
  sqlite3_finalize (st);
  int target = (int) (sizeof migrations / sizeof migrations[0]);
  if (version > target)
    return arca_error_set (err, ARCA_ERR_INTERNAL,
                           "database schema version %d is newer than this arca (%d)", version, target);
  for (int v = version; v < target; v++)
    {
      char *msg = NULL;
      char *sql = xasprintf ("BEGIN IMMEDIATE; %s PRAGMA user_version = %d; COMMIT;", migrations[v], v + 1);
      int rc = sqlite3_exec (db->handle, sql, NULL, NULL, &msg);
      free (sql);
      if (rc != SQLITE_OK)
        {
          sqlite3_exec (db->handle, "ROLLBACK", NULL, NULL, NULL);
          arca_error_set (err, ARCA_ERR_INTERNAL, "migrate database to version %d: %s", v + 1,
                          msg ? msg : "?");
          sqlite3_free (msg);
          return -1;
        }
      log_info ("database migrated to schema version %d", v + 1);
    }
  return 0;
}

/* The database holds every container's Env, Cmd, Labels and Binds:
 * readable by root only.  SQLite creates a database 0644 and gives its
 * -wal and -shm files the database's own mode, so the database is made
 * 0600 before SQLite opens it; files an older Arca left 0644 are
 * tightened. */
static int
db_files_private (const char *path, arca_error_t *err)
{
  int fd = open (path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return arca_error_errno (err, errno, "open %s", path);
  int r = fchmod (fd, 0600);
  int e = errno;
  close (fd);
  if (r < 0)
    return arca_error_errno (err, e, "chmod %s", path);
  static const char *const suffixes[] = { "-wal", "-shm", "-journal" };
  for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++)
    {
      char *side = xasprintf ("%s%s", path, suffixes[i]);
      if (chmod (side, 0600) < 0 && errno != ENOENT)
        {
          arca_error_errno (err, errno, "chmod %s", side);
          free (side);
          return -1;
        }
      free (side);
    }
  return 0;
}

int
arca_db_open (const char *path, arca_db_t **out, arca_error_t *err)
{
  if (db_files_private (path, err) < 0)
    return -1;
  arca_db_t *db = xmalloc0 (sizeof *db);
  pthread_mutex_init (&db->lock, NULL);
  if (sqlite3_open_v2 (path, &db->handle,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL)
      != SQLITE_OK)
    {
      arca_error_set (err, ARCA_ERR_INTERNAL, "open %s: %s", path,
                      db->handle ? sqlite3_errmsg (db->handle) : "out of memory");
      arca_db_close (db);
      return -1;
    }
  sqlite3_busy_timeout (db->handle, 5000);
  char *msg = NULL;
  if (sqlite3_exec (db->handle, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
                    NULL, NULL, &msg)
      != SQLITE_OK)
    {
      arca_error_set (err, ARCA_ERR_INTERNAL, "configure %s: %s", path, msg ? msg : "?");
      sqlite3_free (msg);
      arca_db_close (db);
      return -1;
    }
  if (migrate (db, err) < 0)
    {
      arca_db_close (db);
      return -1;
    }
  *out = db;
  return 0;
}

void
arca_db_close (arca_db_t *db)
{
  if (db == NULL)
    return;
  sqlite3_close (db->handle);
  pthread_mutex_destroy (&db->lock);
  free (db);
}

sqlite3 *arca_db_handle (arca_db_t *db) { return db->handle; }

/* store/db.h arca_db_defer_sync: this thread's commits skip the fsync. */
static __thread bool defer_sync;

void
arca_db_defer_sync (bool on)
{
  defer_sync = on;
}

/* The connection runs synchronous=FULL except between arca_db_lock and
 * arca_db_unlock of a thread in a deferred-sync scope.  A failing PRAGMA
 * leaves FULL in place (only the saving is lost). */
static void
set_synchronous (arca_db_t *db, const char *pragma)
{
  char *msg = NULL;
  if (sqlite3_exec (db->handle, pragma, NULL, NULL, &msg) != SQLITE_OK)
    log_warn ("store: %s: %s", pragma, msg ? msg : "failed");
  sqlite3_free (msg);
}

void
arca_db_lock (arca_db_t *db)
{
  pthread_mutex_lock (&db->lock);
  if (defer_sync)
    set_synchronous (db, "PRAGMA synchronous=NORMAL");
}

void
arca_db_unlock (arca_db_t *db)
{
  if (defer_sync)
    set_synchronous (db, "PRAGMA synchronous=FULL");
  db->last_use_ns = time_mono_ns ();
  db->used = true;
  pthread_mutex_unlock (&db->lock);
}

void
arca_db_release_idle (arca_db_t *db, int64_t quiet_ns)
{
  /* a store in use is not idle: the daemon's main thread never waits */
  if (pthread_mutex_trylock (&db->lock) != 0)
    return;
  bool release = db->used && time_mono_ns () - db->last_use_ns >= quiet_ns;
  if (release)
    {
      sqlite3_db_release_memory (db->handle);
      db->used = false;
    }
  pthread_mutex_unlock (&db->lock);
  /* now, and without the lock: the daemon's idle trim runs only after API
   * activity, and the last statement may have come from a monitor thread */
  if (release)
    malloc_trim (0);
}

static int
prepare_bound (arca_db_t *db, const char *sql, const char *const *params, int n, sqlite3_stmt **st,
               arca_error_t *err)
{
  if (sqlite3_prepare_v2 (db->handle, sql, -1, st, NULL) != SQLITE_OK)
    return db_error (db, err, "prepare");
  for (int i = 0; i < n; i++)
    {
      int rc = params[i] ? sqlite3_bind_text (*st, i + 1, params[i], -1, SQLITE_TRANSIENT)
                         : sqlite3_bind_null (*st, i + 1);
      if (rc != SQLITE_OK)
        {
          sqlite3_finalize (*st);
          return db_error (db, err, "bind");
        }
    }
  return 0;
}

/* The one statement runner, the lock held: what names the step in a
 * failing step's error ("exec", "query", "sql": the texts the runners had
 * before they shared this). */
static int
run_locked (arca_db_t *db, const char *sql, const char *const *params, int n, arca_db_row_fn fn, void *ctx,
            const char *what, arca_error_t *err)
{
  sqlite3_stmt *st;
  if (prepare_bound (db, sql, params, n, &st, err) < 0)
    return -1;
  int ret = 0;
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    if (fn && (ret = fn (st, ctx, err)) < 0)
      break;
  if (ret == 0 && rc != SQLITE_DONE)
    ret = db_error (db, err, what);
  sqlite3_finalize (st);
  return ret;
}

static int
run (arca_db_t *db, const char *sql, const char *const *params, int n, arca_db_row_fn fn, void *ctx,
     const char *what, arca_error_t *err)
{
  arca_db_lock (db);
  int ret = run_locked (db, sql, params, n, fn, ctx, what, err);
  arca_db_unlock (db);
  return ret;
}

int
arca_db_each (arca_db_t *db, const char *sql, const char *const *params, int n, arca_db_row_fn fn, void *ctx,
              arca_error_t *err)
{
  return run (db, sql, params, n, fn, ctx, "query", err);
}

int
arca_db_each_locked (arca_db_t *db, const char *sql, const char *const *params, int n, arca_db_row_fn fn,
                     void *ctx, arca_error_t *err)
{
  return run_locked (db, sql, params, n, fn, ctx, "sql", err);
}

int
arca_db_exec (arca_db_t *db, const char *sql, const char *const *params, int n, arca_error_t *err)
{
  return run (db, sql, params, n, NULL, NULL, "exec", err);
}

int
arca_db_begin (arca_db_t *db, arca_error_t *err)
{
  arca_db_lock (db);
  return arca_db_each_locked (db, "BEGIN IMMEDIATE", NULL, 0, NULL, NULL, err);
}

int
arca_db_end (arca_db_t *db, int ret, arca_error_t *err)
{
  if (ret == 0)
    ret = arca_db_each_locked (db, "COMMIT", NULL, 0, NULL, NULL, err);
  if (ret < 0)
    sqlite3_exec (db->handle, "ROLLBACK", NULL, NULL, NULL);
  arca_db_unlock (db);
  return ret;
}

static int
row_synchronous (sqlite3_stmt *st, void *ctx, arca_error_t *err)
{
  *(int *) ctx = (int) sqlite3_column_int (st, 0);
  return 0;
}

int
arca_db_synchronous (arca_db_t *db)
{
  int v = -1;
  arca_error_t err;
  if (run (db, "PRAGMA synchronous", NULL, 0, row_synchronous, &v, "query", &err) < 0)
    return -1;
  return v;
}

/* ---- columns ---- */

/* What the store stored as text comes back as SQLITE_TEXT; integers and
 * NULL are "not text", as json_string_value made them when rows were
 * JSON. */
const char *
arca_db_col_text (sqlite3_stmt *st, int c)
{
  int type = sqlite3_column_type (st, c);
  if (type == SQLITE_NULL || type == SQLITE_INTEGER)
    return NULL;
  return (const char *) sqlite3_column_text (st, c);
}

char *
arca_db_col_strdup (sqlite3_stmt *st, int c)
{
  const char *s = arca_db_col_text (st, c);
  return s ? xstrdup (s) : NULL;
}

json_t *
arca_db_col_json (sqlite3_stmt *st, int c)
{
  const char *s = arca_db_col_text (st, c);
  if (s == NULL)
    return NULL;
  /* sqlite3_column_bytes after sqlite3_column_text: the text's length */
  return json_loadb (s, (size_t) sqlite3_column_bytes (st, c), 0, NULL);
}

int64_t
arca_db_col_int (sqlite3_stmt *st, int c)
{
  return sqlite3_column_type (st, c) == SQLITE_INTEGER ? sqlite3_column_int64 (st, c) : 0;
}

/* ---- shared row visitors ---- */

static int
row_first_str (sqlite3_stmt *st, void *ctx, arca_error_t *err)
{
  char **out = ctx;
  if (*out == NULL)
    *out = arca_db_col_strdup (st, 0);
  return 0;
}

static int
first_str (arca_db_t *db, bool locked, const char *sql, const char *const *params, int n, char **out,
           arca_error_t *err)
{
  *out = NULL;
  int ret = locked ? run_locked (db, sql, params, n, row_first_str, out, "sql", err)
                   : run (db, sql, params, n, row_first_str, out, "query", err);
  if (ret < 0)
    {
      free (*out);
      *out = NULL;
    }
  return ret;
}

int
arca_db_first_str (arca_db_t *db, const char *sql, const char *const *params, int n, char **out,
                   arca_error_t *err)
{
  return first_str (db, false, sql, params, n, out, err);
}

int
arca_db_first_str_locked (arca_db_t *db, const char *sql, const char *const *params, int n, char **out,
                          arca_error_t *err)
{
  return first_str (db, true, sql, params, n, out, err);
}

int
arca_db_first_json (arca_db_t *db, const char *sql, const char *const *params, int n, json_t **out,
                    arca_error_t *err)
{
  char *text;
  *out = NULL;
  if (first_str (db, false, sql, params, n, &text, err) < 0)
    return -1;
  *out = text ? json_loads (text, 0, NULL) : NULL;
  free (text);
  return 0;
}

int
arca_db_json_each (arca_db_t *db, const char *sql, const char *const *params, int n, arca_db_row_fn fn,
                   json_t *into, json_t **out, arca_error_t *err)
{
  *out = NULL;
  if (run (db, sql, params, n, fn, into, "query", err) < 0)
    {
      json_decref (into);
      return -1;
    }
  *out = into;
  return 0;
}

static int
row_json_append (sqlite3_stmt *st, void *ctx, arca_error_t *err)
{
  json_t *rec = arca_db_col_json (st, 0);
  if (rec)
    json_array_append_new ((json_t *) ctx, rec);
  return 0;
}

int
arca_db_json_list (arca_db_t *db, const char *sql, const char *const *params, int n, json_t **out,
                   arca_error_t *err)
{
  return arca_db_json_each (db, sql, params, n, row_json_append, json_array (), out, err);
}

/* ctx arca_strv_builder_t *: column 0 if text */
static int
strv_row (sqlite3_stmt *st, void *ctx, arca_error_t *err)
{
  const char *s = arca_db_col_text (st, 0);
  if (s)
    strv_builder_add (ctx, s);
  return 0;
}

int
arca_db_strv (arca_db_t *db, const char *sql, const char *const *params, int n, char ***out, arca_error_t *err)
{
  _cleanup_strv_builder_ arca_strv_builder_t b = { 0 };
  *out = NULL;
  if (arca_db_each (db, sql, params, n, strv_row, &b, err) < 0)
    return -1;
  *out = strv_builder_finish (&b);
  return 0;
}

void *
arca_db_grow (void *v, size_t n, size_t size)
{
  /* capacity: the power of two >= n (at least 8), so a push at a power
   * of two doubles it */
  if (v == NULL || (n >= 8 && (n & (n - 1)) == 0))
    v = xrealloc (v, (n < 8 ? 8 : 2 * n) * size);
  memset ((char *) v + n * size, 0, size);
  return v;
}

int
arca_db_meta_get (arca_db_t *db, const char *key, char **value, arca_error_t *err)
{
  const char *p[] = { key };
  return arca_db_first_str (db, "SELECT value FROM meta WHERE key = ?1", p, 1, value, err);
}

int
arca_db_meta_set (arca_db_t *db, const char *key, const char *value, arca_error_t *err)
{
  const char *p[] = { key, value };
  return arca_db_exec (db, "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value", p, 2, err);
}
