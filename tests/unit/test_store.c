/* The typed store API (src/store/): rows round-trip, the IP claim is
 * exclusive, and the image store's transactions are all or nothing (a
 * statement failing half-way leaves no row of the operation behind).
 * Every query's typed result is checked: text, integer and NULL columns,
 * rows whose data does not parse, empty results, and a statement failing
 * after some rows were read (no partial output; run under valgrind or the
 * ASan build to see nothing leaks).  Rows the typed API cannot write
 * (NULL ids, unparseable data) and failing statements are made with a
 * second, raw connection to the database file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "store/containers.h"
#include "store/db.h"
#include "store/events.h"
#include "store/images.h"
#include "store/networks.h"
#include "store/volumes.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strutil.h"

#define IMG_A "sha256:aaaa000000000000000000000000000000000000000000000000000000000000"
#define IMG_B "sha256:bbbb000000000000000000000000000000000000000000000000000000000000"
#define CHAIN1 "sha256:1111000000000000000000000000000000000000000000000000000000000000"
#define CHAIN2 "sha256:2222000000000000000000000000000000000000000000000000000000000000"
#define IMG_C "sha256:cccc000000000000000000000000000000000000000000000000000000000000"

typedef struct
{
  char dir[64];
  arca_db_t *db;
} fixture_t;

static int
setup (void **state)
{
  fixture_t *f = calloc (1, sizeof *f);
  snprintf (f->dir, sizeof f->dir, "/tmp/arca-test-store-XXXXXX");
  assert_non_null (mkdtemp (f->dir));
  _cleanup_free_ char *path = xasprintf ("%s/arca.db", f->dir);
  arca_error_t err;
  assert_int_equal (arca_db_open (path, &f->db, &err), 0);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  fixture_t *f = *state;
  arca_db_close (f->db);
  arca_error_t err;
  fs_remove_all (f->dir, &err);
  free (f);
  return 0;
}

/* Run sql on a connection of its own (the store's sees its commits). */
static void
raw_sql (fixture_t *f, const char *sql)
{
  _cleanup_free_ char *path = xasprintf ("%s/arca.db", f->dir);
  sqlite3 *h = NULL;
  assert_int_equal (sqlite3_open (path, &h), SQLITE_OK);
  char *msg = NULL;
  int rc = sqlite3_exec (h, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK)
    fail_msg ("%s: %s", sql, msg);
  sqlite3_close (h);
}

/* Make every statement reading table fail at the row where key = value,
 * after the rows before it were read: the table becomes a view whose
 * columns cols (comma-separated) are json('x') ("malformed JSON") on that
 * row. */
static void
break_row (fixture_t *f, const char *table, const char *cols, const char *key, const char *value)
{
  _cleanup_free_ char *sel = xstrdup ("");
  _cleanup_free_ char *list = xstrdup (cols);
  char *save = NULL;
  for (char *c = strtok_r (list, ",", &save); c; c = strtok_r (NULL, ",", &save))
    {
      char *next = xasprintf ("%s%sCASE WHEN %s = '%s' THEN json('x') ELSE %s END AS %s", sel, *sel ? ", " : "",
                              key, value, c, c);
      free (sel);
      sel = next;
    }
  _cleanup_free_ char *sql = xasprintf ("ALTER TABLE %s RENAME TO %s_real; CREATE VIEW %s AS SELECT %s FROM %s_real;",
                                        table, table, table, sel, table);
  raw_sql (f, sql);
}

static void
assert_query_error (const arca_error_t *err)
{
  assert_non_null (strstr (err->msg, "query: "));
  assert_non_null (strstr (err->msg, "malformed JSON"));
}

static void
test_meta (void **state)
{
  fixture_t *f = *state;
  arca_error_t err;
  char *v = (char *) 1;
  assert_int_equal (arca_db_meta_get (f->db, "id", &v, &err), 0);
  assert_null (v);
  assert_int_equal (arca_db_meta_set (f->db, "id", "one", &err), 0);
  assert_int_equal (arca_db_meta_set (f->db, "id", "two", &err), 0);
  assert_int_equal (arca_db_meta_get (f->db, "id", &v, &err), 0);
  assert_string_equal (v, "two");
  free (v);
  /* a NULL value reads as absent */
  assert_int_equal (arca_db_meta_set (f->db, "id", NULL, &err), 0);
  assert_int_equal (arca_db_meta_get (f->db, "id", &v, &err), 0);
  assert_null (v);
  /* the table gone behind the store's back: the first statement finds
   * out when it runs (SQLite re-prepares it on the schema change), the
   * next when it is prepared */
  raw_sql (f, "DROP TABLE meta");
  v = (char *) 1;
  assert_int_equal (arca_db_meta_get (f->db, "id", &v, &err), -1);
  assert_null (v);
  assert_string_equal (err.msg, "query: no such table: meta");
  assert_int_equal (arca_db_meta_set (f->db, "id", "x", &err), -1);
  assert_string_equal (err.msg, "prepare: no such table: meta");
}

static void
test_volumes (void **state)
{
  fixture_t *f = *state;
  arca_error_t err;
  _cleanup_json_ json_t *rec = json_pack ("{s:s, s:s}", "Name", "v1", "Driver", "local");
  assert_int_equal (arca_store_volume_insert (f->db, "v1", rec, &err), 0);
  /* a name taken: the create's commit point refuses it */
  assert_int_equal (arca_store_volume_insert (f->db, "v1", rec, &err), -1);
  json_t *got = NULL;
  assert_int_equal (arca_store_volume_get (f->db, "v1", &got, &err), 0);
  assert_string_equal (json_get_str (got, "Driver"), "local");
  json_decref (got);
  assert_int_equal (arca_store_volume_get (f->db, "nope", &got, &err), 0);
  assert_null (got);
  _cleanup_json_ json_t *rec0 = json_pack ("{s:s}", "Name", "v0");
  assert_int_equal (arca_store_volume_insert (f->db, "v0", rec0, &err), 0);
  _cleanup_json_ json_t *all = NULL;
  assert_int_equal (arca_store_volumes_list (f->db, &all, &err), 0);
  assert_int_equal (json_array_size (all), 2);
  assert_string_equal (json_get_str (json_array_get (all, 0), "Name"), "v0"); /* by name */
  assert_int_equal (arca_store_volume_delete (f->db, "v1", &err), 0);
  assert_int_equal (arca_store_volume_get (f->db, "v1", &got, &err), 0);
  assert_null (got);
}

/* arca_store_containers_each callbacks: collect {id, name, rec} objects
 * (rec null when the row did not parse) into a JSON array; or fail. */
static int
collect_container_row (const char *id, const char *name, json_t *rec, void *ctx, arca_error_t *err)
{
  json_array_append_new (ctx, json_pack ("{s:s,s:s,s:O?}", "id", id, "name", name, "rec", rec));
  return 0;
}

static int
fail_container_row (const char *id, const char *name, json_t *rec, void *ctx, arca_error_t *err)
{
  return arca_error_set (err, ARCA_ERR_INTERNAL, "stop here");
}

static void
test_containers (void **state)
{
  fixture_t *f = *state;
  arca_error_t err;
  _cleanup_json_ json_t *r1 = json_pack ("{s:b}", "Running", 0);
  _cleanup_json_ json_t *r2 = json_pack ("{s:b}", "Running", 1);
  assert_int_equal (arca_store_container_put (f->db, "c1", "one", r1, &err), 0);
  assert_int_equal (arca_store_container_put (f->db, "c1", "uno", r2, &err), 0); /* update */
  /* the name is unique */
  assert_int_equal (arca_store_container_put (f->db, "c2", "uno", r1, &err), -1);
  {
    _cleanup_json_ json_t *rows = json_array ();
    assert_int_equal (arca_store_containers_each (f->db, collect_container_row, rows, &err), 0);
    assert_int_equal (json_array_size (rows), 1);
    json_t *r = json_array_get (rows, 0);
    assert_string_equal (json_string_value (json_object_get (r, "id")), "c1");
    assert_string_equal (json_string_value (json_object_get (r, "name")), "uno");
    assert_true (json_is_true (json_object_get (json_object_get (r, "rec"), "Running")));
    /* the walk stops at the first error, and returns it */
    assert_int_equal (arca_store_containers_each (f->db, fail_container_row, NULL, &err), -1);
    assert_string_equal (err.msg, "stop here");
  }
  assert_int_equal (arca_store_container_delete (f->db, "c1", &err), 0);
  _cleanup_json_ json_t *rows = json_array ();
  assert_int_equal (arca_store_containers_each (f->db, collect_container_row, rows, &err), 0);
  assert_int_equal (json_array_size (rows), 0);
}

static void
test_networks_and_claims (void **state)
{
  fixture_t *f = *state;
  arca_error_t err;
  _cleanup_json_ json_t *n = json_pack ("{s:s}", "Name", "br");
  assert_int_equal (arca_store_network_put (f->db, "n2", "second", n, &err), 0);
  assert_int_equal (arca_store_network_put (f->db, "n1", "first", n, &err), 0);
  {
    _cleanup_store_network_rows_ arca_store_network_rows_t rows = { 0 };
    assert_int_equal (arca_store_networks_list (f->db, &rows, &err), 0);
    assert_int_equal (rows.n, 2);
    assert_string_equal (rows.v[0].id, "n2"); /* insertion order */
  }
  _cleanup_json_ json_t *ep = json_pack ("{s:i}", "Order", 0);
  assert_int_equal (arca_store_endpoint_put (f->db, "c1", "n1", ep, &err), 0);
  {
    _cleanup_store_endpoint_rows_ arca_store_endpoint_rows_t rows = { 0 };
    assert_int_equal (arca_store_endpoints_list (f->db, &rows, &err), 0);
    assert_int_equal (rows.n, 1);
    assert_string_equal (rows.v[0].container_id, "c1");
    assert_string_equal (rows.v[0].network_id, "n1");
  }
  assert_int_equal (arca_store_endpoint_delete (f->db, "c1", "n1", &err), 0);

  bool claimed = false;
  assert_int_equal (arca_store_ip_claim (f->db, "n1", "10.0.0.2", "c1", &claimed, &err), 0);
  assert_true (claimed);
  assert_int_equal (arca_store_ip_claim (f->db, "n1", "10.0.0.2", "c1", &claimed, &err), 0);
  assert_true (claimed); /* already its own */
  assert_int_equal (arca_store_ip_claim (f->db, "n1", "10.0.0.2", "c2", &claimed, &err), 0);
  assert_false (claimed); /* taken */
  assert_int_equal (arca_store_ip_claim (f->db, "n2", "10.0.0.2", "c2", &claimed, &err), 0);
  assert_true (claimed); /* another network */
  assert_int_equal (arca_store_ip_release (f->db, "n1", "c1", &err), 0);
  assert_int_equal (arca_store_ip_claim (f->db, "n1", "10.0.0.2", "c2", &claimed, &err), 0);
  assert_true (claimed);
  assert_int_equal (arca_store_ip_release_network (f->db, "n1", &err), 0);
  assert_int_equal (arca_store_ip_claim (f->db, "n1", "10.0.0.2", "c3", &claimed, &err), 0);
  assert_true (claimed);
  assert_int_equal (arca_store_network_delete (f->db, "n1", &err), 0);
}

static void
test_volumes_rows (void **state)
{
  fixture_t *f = *state;
  arca_error_t err;
  json_t *all = NULL;
  assert_int_equal (arca_store_volumes_list (f->db, &all, &err), 0);
  assert_true (json_is_array (all));
  assert_int_equal (json_array_size (all), 0); /* empty: an array all the same */
  json_decref (all);
  raw_sql (f, "INSERT INTO volumes (name, data) VALUES ('a', '{\"Name\":\"a\"}'), ('b', 'not json'),"
              " ('c', '{\"Name\":\"c\"}'), ('d', 7)");
  json_t *got = (json_t *) 1;
  assert_int_equal (arca_store_volume_get (f->db, "b", &got, &err), 0);
  assert_null (got); /* does not parse */
  assert_int_equal (arca_store_volume_get (f->db, "d", &got, &err), 0);
  assert_null (got); /* stored as text '7' (column affinity): no object or array */
  assert_int_equal (arca_store_volumes_list (f->db, &all, &err), 0);
  assert_int_equal (json_array_size (all), 2); /* b and d left out */
  assert_string_equal (json_get_str (json_array_get (all, 0), "Name"), "a");
  assert_string_equal (json_get_str (json_array_get (all, 1), "Name"), "c");
  json_decref (all);

  break_row (f, "volumes", "name,data", "name", "c");
  all = (json_t *) 1;
  assert_int_equal (arca_store_volumes_list (f->db, &all, &err), -1);
  assert_null (all);
  assert_query_error (&err);
  got = (json_t *) 1;
  assert_int_equal (arca_store_volume_get (f->db, "c", &got, &err), -1);
  assert_null (got);
  assert_query_error (&err);
}

static void
test_containers_rows (void **state)
{
  fixture_t *f = *state;
  arca_error_t err;
  {
    _cleanup_json_ json_t *rows = json_array ();
    assert_int_equal (arca_store_containers_each (f->db, collect_container_row, rows, &err), 0);
    assert_int_equal (json_array_size (rows), 0);
  }
  /* 20 rows */
  for (int i = 0; i < 20; i++)
    {
      _cleanup_free_ char *id = xasprintf ("c%02d", i);
      _cleanup_free_ char *name = xasprintf ("n%02d", i);
      _cleanup_json_ json_t *rec = json_pack ("{s:i}", "I", i);
      assert_int_equal (arca_store_container_put (f->db, id, name, rec, &err), 0);
    }
  /* a NULL id: left out; data that does not parse: rec NULL */
  raw_sql (f, "INSERT INTO containers (id, name, data) VALUES (NULL, 'orphan', '{}'), ('c20', 'n20', '{bad')");
  {
    _cleanup_json_ json_t *rows = json_array ();
    assert_int_equal (arca_store_containers_each (f->db, collect_container_row, rows, &err), 0);
    assert_int_equal (json_array_size (rows), 21);
    for (size_t i = 0; i < 20; i++)
      {
        _cleanup_free_ char *id = xasprintf ("c%02zu", i);
        _cleanup_free_ char *name = xasprintf ("n%02zu", i);
        json_t *r = json_array_get (rows, i);
        assert_string_equal (json_get_str (r, "id"), id);
        assert_string_equal (json_get_str (r, "name"), name);
        assert_int_equal (json_get_int (json_object_get (r, "rec"), "I", -1), (int64_t) i);
      }
    assert_string_equal (json_get_str (json_array_get (rows, 20), "id"), "c20");
    assert_true (json_is_null (json_object_get (json_array_get (rows, 20), "rec")));
  }
  /* failing at the 11th row, after ten were handed over: the error comes
   * back (the caller drops what it took) */
  break_row (f, "containers", "id,name,data", "id", "c10");
  _cleanup_json_ json_t *rows = json_array ();
  assert_int_equal (arca_store_containers_each (f->db, collect_container_row, rows, &err), -1);
  assert_int_equal (json_array_size (rows), 10);
  assert_query_error (&err);
}

static void
test_networks_rows (void **state)
{
  fixture_t *f = *state;
  arca_error_t err;
  {
    _cleanup_store_network_rows_ arca_store_network_rows_t nets = { 0 };
    _cleanup_store_endpoint_rows_ arca_store_endpoint_rows_t eps = { 0 };
    assert_int_equal (arca_store_networks_list (f->db, &nets, &err), 0);
    assert_int_equal (nets.n, 0);
    assert_int_equal (arca_store_endpoints_list (f->db, &eps, &err), 0);
    assert_int_equal (eps.n, 0);
  }
  raw_sql (f, "INSERT INTO networks (id, name, data) VALUES ('n1', 'a', '{\"Name\":\"a\"}'), (NULL, 'b', 'nope'),"
              " ('n3', 'c', '{}');"
              "INSERT INTO endpoints (container_id, network_id, data) VALUES ('c1', 'n1', '{\"Order\":1}'),"
              " ('c2', 'n2', 'nope'), ('c3', 'n3', '{}')");
  {
    _cleanup_store_network_rows_ arca_store_network_rows_t nets = { 0 };
    assert_int_equal (arca_store_networks_list (f->db, &nets, &err), 0);
    assert_int_equal (nets.n, 3);
    assert_string_equal (nets.v[0].id, "n1");
    assert_string_equal (json_get_str (nets.v[0].rec, "Name"), "a");
    assert_null (nets.v[1].id); /* NULL ids are kept, as NULL */
    assert_null (nets.v[1].rec);
    assert_string_equal (nets.v[2].id, "n3");
  }
  {
    _cleanup_store_endpoint_rows_ arca_store_endpoint_rows_t eps = { 0 };
    assert_int_equal (arca_store_endpoints_list (f->db, &eps, &err), 0);
    assert_int_equal (eps.n, 3);
    assert_string_equal (eps.v[0].container_id, "c1");
    assert_string_equal (eps.v[0].network_id, "n1");
    assert_int_equal (json_get_int (eps.v[0].rec, "Order", -1), 1);
    assert_string_equal (eps.v[1].container_id, "c2");
    assert_string_equal (eps.v[1].network_id, "n2");
    assert_null (eps.v[1].rec);
  }
  break_row (f, "networks", "id,name,data", "name", "c");
  break_row (f, "endpoints", "container_id,network_id,data", "container_id", "c3");
  arca_store_network_rows_t nets = { (void *) 1, 5 };
  assert_int_equal (arca_store_networks_list (f->db, &nets, &err), -1);
  assert_null (nets.v);
  assert_int_equal (nets.n, 0);
  assert_query_error (&err);
  arca_store_endpoint_rows_t eps = { (void *) 1, 5 };
  assert_int_equal (arca_store_endpoints_list (f->db, &eps, &err), -1);
  assert_null (eps.v);
  assert_int_equal (eps.n, 0);
  assert_query_error (&err);
}

static void
test_events_rows (void **state)
{
  fixture_t *f = *state;
  arca_error_t err;
  json_t *rows = NULL;
  assert_int_equal (arca_db_events_load (f->db, 10, &rows, &err), 0);
  assert_int_equal (json_array_size (rows), 0);
  json_decref (rows);
  arca_db_event_row_t ev[] = {
    { 1, 1000000000001, "{\"a\":1}", 7 },
    { 2, 1000000000002, "{\"a\":2}", 7 },
    { 3, 1000000000003, "{\"a\":3}", 7 },
  };
  assert_int_equal (arca_db_events_append (f->db, ev, 3, 100, &err), 0);
  /* the newest two, oldest first, as [seq, time_ns, data] */
  assert_int_equal (arca_db_events_load (f->db, 2, &rows, &err), 0);
  assert_int_equal (json_array_size (rows), 2);
  for (size_t i = 0; i < 2; i++)
    {
      json_t *row = json_array_get (rows, i);
      assert_true (json_is_integer (json_array_get (row, 0)));
      assert_int_equal (json_integer_value (json_array_get (row, 0)), (json_int_t) (i + 2));
      assert_int_equal (json_integer_value (json_array_get (row, 1)), (json_int_t) (1000000000002 + i));
      assert_string_equal (json_string_value (json_array_get (row, 2)), ev[i + 1].data);
    }
  json_decref (rows);
  /* trimmed to the newest keep rows */
  arca_db_event_row_t more[] = { { 4, 1000000000004, "{\"a\":4}", 7 } };
  assert_int_equal (arca_db_events_append (f->db, more, 1, 2, &err), 0);
  assert_int_equal (arca_db_events_load (f->db, 10, &rows, &err), 0);
  assert_int_equal (json_array_size (rows), 2);
  assert_int_equal (json_integer_value (json_array_get (json_array_get (rows, 0), 0)), 3);
  json_decref (rows);
  break_row (f, "events", "seq,time_ns,data", "seq", "4");
  rows = (json_t *) 1;
  assert_int_equal (arca_db_events_load (f->db, 10, &rows, &err), -1);
  assert_null (rows);
  assert_query_error (&err);
}

static int64_t
layer_count (arca_db_t *db)
{
  _cleanup_store_layer_rows_ arca_store_layer_rows_t rows = { 0 };
  arca_error_t err;
  assert_int_equal (arca_store_layers_list (db, &rows, &err), 0);
  return (int64_t) rows.n;
}

static void
test_images_commit_all_or_nothing (void **state)
{
  fixture_t *f = *state;
  arca_error_t err;
  arca_store_layer_put_t layers[] = { { CHAIN1, CHAIN1, NULL, 100 }, { CHAIN2, CHAIN2, CHAIN1, 20 } };
  char *tags[] = { "docker.io/library/a:latest", NULL };
  _cleanup_json_ json_t *data = json_pack ("{s:I, s:[s,s]}", "Size", (json_int_t) 120, "ChainIDs", CHAIN1, CHAIN2);
  arca_store_image_put_t good = { .id = IMG_A, .layers = layers, .n_layers = 2, .data = data, .tags = tags };
  /* The second image has no data: its row cannot be written (data NOT
   * NULL), so the first image's rows must go too. */
  arca_store_image_put_t bad = { .id = IMG_B, .layers = layers, .n_layers = 1, .data = NULL };
  arca_store_image_put_t both[] = { good, bad };
  assert_int_equal (arca_store_images_commit (f->db, both, 2, 1000, &err), -1);
  for (size_t i = 0; i < 2; i++)
    if (both[i].prev_ids)
      {
        for (size_t k = 0; k < 1; k++)
          free (both[i].prev_ids[k]);
        free (both[i].prev_ids);
      }
  int64_t n;
  assert_int_equal (arca_store_image_count (f->db, &n, &err), 0);
  assert_int_equal (n, 0);
  assert_int_equal (layer_count (f->db), 0);
  _cleanup_free_ char *owner = NULL;
  assert_int_equal (arca_store_ref_image (f->db, tags[0], &owner, &err), 0);
  assert_null (owner);

  /* Alone it commits: layers, row and tag. */
  assert_int_equal (arca_store_images_commit (f->db, &good, 1, 1000, &err), 0);
  assert_null (good.prev_ids[0]);
  free (good.prev_ids);
  assert_int_equal (arca_store_image_count (f->db, &n, &err), 0);
  assert_int_equal (n, 1);
  assert_int_equal (layer_count (f->db), 2);
  int64_t size;
  bool found;
  assert_int_equal (arca_store_layer_size (f->db, CHAIN2, &size, &found, &err), 0);
  assert_true (found);
  assert_int_equal (size, 20);
  assert_int_equal (arca_store_layer_size (f->db, "sha256:none", &size, &found, &err), 0);
  assert_false (found);
  assert_int_equal (arca_store_ref_image (f->db, tags[0], &owner, &err), 0);
  assert_string_equal (owner, IMG_A);

  /* Tagging B's name onto A, then A's tag onto B: prev_id names the image
   * the tag left. */
  _cleanup_json_ json_t *bdata = json_pack ("{s:I}", "Size", (json_int_t) 0);
  arca_store_image_put_t b = { .id = IMG_B, .data = bdata };
  assert_int_equal (arca_store_images_commit (f->db, &b, 1, 2000, &err), 0);
  free (b.prev_ids);
  char *prev = NULL;
  assert_int_equal (arca_store_image_tag (f->db, tags[0], IMG_B, 3000, &prev, &err), 0);
  assert_non_null (prev);
  assert_string_equal (prev, IMG_A);
  free (prev);
  json_t *got = NULL;
  assert_int_equal (arca_store_image_get (f->db, IMG_B, &got, &err), 0);
  assert_int_equal (json_get_int (got, "LastTagTime", 0), 3000);
  json_decref (got);
  {
    _cleanup_store_refs_ arca_store_refs_t refs = { 0 };
    assert_int_equal (arca_store_image_refs (f->db, IMG_B, &refs, &err), 0);
    assert_int_equal (refs.n, 1);
    assert_int_equal (refs.v[0].kind, ARCA_STORE_REF_TAG);
  }
  assert_int_equal (arca_store_ref_put_digest (f->db, "docker.io/library/a@sha256:dd", IMG_B, 4000, &err), 0);
  {
    _cleanup_store_refs_ arca_store_refs_t refs = { 0 };
    assert_int_equal (arca_store_image_refs (f->db, IMG_B, &refs, &err), 0);
    assert_int_equal (refs.n, 2);
    /* sorted by ref: ':' (0x3a) before '@' (0x40) */
    assert_int_equal (refs.v[0].kind, ARCA_STORE_REF_TAG);
    assert_int_equal (refs.v[1].kind, ARCA_STORE_REF_DIGEST);
    assert_string_equal (refs.v[1].ref, "docker.io/library/a@sha256:dd");
  }

  /* Delete B with its references and A's layers in one transaction. */
  char *chains[] = { CHAIN1, CHAIN2, NULL };
  assert_int_equal (arca_store_image_rows_delete (f->db, NULL, IMG_B, chains, &err), 0);
  assert_int_equal (arca_store_image_count (f->db, &n, &err), 0);
  assert_int_equal (n, 1);
  assert_int_equal (layer_count (f->db), 0);
  free (owner);
  owner = NULL;
  assert_int_equal (arca_store_ref_image (f->db, tags[0], &owner, &err), 0);
  assert_null (owner);
}

static void
assert_strv (char **v, const char *const *want)
{
  assert_non_null (v);
  size_t n = 0;
  for (; want[n]; n++)
    {
      assert_non_null (v[n]);
      assert_string_equal (v[n], want[n]);
    }
  assert_null (v[n]);
}

/* A (no parent; tags a:1 and a:2, a digest), B (parent A, a build step;
 * tag b:1), C (parent A, an orphaned build step; no reference); layers
 * CHAIN1 (100) and CHAIN2 (20). */
static void
images_fixture (fixture_t *f)
{
  arca_error_t err;
  arca_store_layer_put_t layers[] = { { CHAIN1, CHAIN1, NULL, 100 }, { CHAIN2, CHAIN2, CHAIN1, 20 } };
  char *atags[] = { "docker.io/library/a:1", "docker.io/library/a:2", NULL };
  char *btags[] = { "docker.io/library/b:1", NULL };
  _cleanup_json_ json_t *ad = json_pack ("{s:s, s:I}", "Parent", "", "Size", (json_int_t) 120);
  _cleanup_json_ json_t *bd = json_pack ("{s:s, s:b}", "Parent", IMG_A, "BuildStep", 1);
  _cleanup_json_ json_t *cd = json_pack ("{s:s, s:b, s:b}", "Parent", IMG_A, "BuildStep", 1, "Orphan", 1);
  arca_store_image_put_t imgs[] = {
    { .id = IMG_A, .layers = layers, .n_layers = 2, .data = ad, .tags = atags },
    { .id = IMG_B, .data = bd, .tags = btags },
    { .id = IMG_C, .data = cd },
  };
  assert_int_equal (arca_store_images_commit (f->db, imgs, 3, 1000, &err), 0);
  for (size_t i = 0; i < 3; i++)
    {
      for (size_t k = 0; k < strv_len (imgs[i].tags); k++)
        assert_null (imgs[i].prev_ids[k]);
      free (imgs[i].prev_ids);
    }
  assert_int_equal (arca_store_ref_put_digest (f->db, "docker.io/library/a@sha256:dd", IMG_A, 2000, &err), 0);
}

static void
test_images_rows (void **state)
{
  fixture_t *f = *state;
  arca_error_t err;
  /* empty results first */
  {
    int64_t n = -1;
    assert_int_equal (arca_store_image_count (f->db, &n, &err), 0);
    assert_int_equal (n, 0);
    _cleanup_strv_ char **ids = NULL;
    assert_int_equal (arca_store_image_ids (f->db, &ids, &err), 0);
    assert_strv (ids, (const char *const[]){ NULL });
    _cleanup_json_ json_t *data = NULL, *counts = NULL, *sizes = NULL;
    assert_int_equal (arca_store_images_data (f->db, NULL, &data, &err), 0);
    assert_int_equal (json_array_size (data), 0);
    assert_int_equal (arca_store_image_children_counts (f->db, &counts, &err), 0);
    assert_int_equal (json_object_size (counts), 0);
    assert_int_equal (arca_store_layers_sizes (f->db, &sizes, &err), 0);
    assert_int_equal (json_object_size (sizes), 0);
    _cleanup_store_image_rows_ arca_store_image_rows_t rows = { 0 };
    assert_int_equal (arca_store_images_with_ref_counts (f->db, &rows, &err), 0);
    assert_int_equal (rows.n, 0);
    _cleanup_store_image_ref_rows_ arca_store_image_ref_rows_t join = { 0 };
    assert_int_equal (arca_store_images_refs_join (f->db, &join, &err), 0);
    assert_int_equal (join.n, 0);
    _cleanup_store_refs_ arca_store_refs_t refs = { 0 };
    assert_int_equal (arca_store_repo_tags (f->db, "docker.io/", &refs, &err), 0);
    assert_int_equal (refs.n, 0);
  }
  images_fixture (f);

  json_t *got = NULL;
  assert_int_equal (arca_store_image_get (f->db, IMG_A, &got, &err), 0);
  assert_int_equal (json_get_int (got, "Size", 0), 120);
  json_decref (got);
  got = (json_t *) 1;
  assert_int_equal (arca_store_image_get (f->db, "sha256:none", &got, &err), 0);
  assert_null (got);
  {
    _cleanup_json_ json_t *all = NULL, *others = NULL;
    assert_int_equal (arca_store_images_data (f->db, NULL, &all, &err), 0);
    assert_int_equal (json_array_size (all), 3);
    assert_int_equal (arca_store_images_data (f->db, IMG_A, &others, &err), 0);
    assert_int_equal (json_array_size (others), 2);
    size_t i;
    json_t *d;
    json_array_foreach (others, i, d)
      assert_string_equal (json_get_str (d, "Parent"), IMG_A);
  }
  int64_t n = 0;
  assert_int_equal (arca_store_image_count (f->db, &n, &err), 0);
  assert_int_equal (n, 3);
  {
    _cleanup_strv_ char **ids = NULL, **two = NULL, **one = NULL, **none = NULL;
    assert_int_equal (arca_store_image_ids (f->db, &ids, &err), 0);
    assert_strv (ids, (const char *const[]){ IMG_A, IMG_B, IMG_C, NULL });
    assert_int_equal (arca_store_image_ids_by_prefix (f->db, "sha256:", &two, &err), 0);
    assert_int_equal (strv_len (two), 2); /* LIMIT 2: enough to see it is ambiguous */
    assert_int_equal (arca_store_image_ids_by_prefix (f->db, "sha256:bb", &one, &err), 0);
    assert_strv (one, (const char *const[]){ IMG_B, NULL });
    assert_int_equal (arca_store_image_ids_by_prefix (f->db, "sha256:ff", &none, &err), 0);
    assert_strv (none, (const char *const[]){ NULL });
  }
  {
    _cleanup_json_ json_t *counts = NULL;
    assert_int_equal (arca_store_image_children_counts (f->db, &counts, &err), 0);
    assert_int_equal (json_object_size (counts), 1);
    assert_true (json_is_integer (json_object_get (counts, IMG_A)));
    assert_int_equal (json_get_int (counts, IMG_A, 0), 2);
    _cleanup_strv_ char **kids = NULL, **roots = NULL, **steps = NULL, **leaf = NULL;
    assert_int_equal (arca_store_image_children (f->db, IMG_A, &kids, &err), 0);
    assert_strv (kids, (const char *const[]){ IMG_B, IMG_C, NULL });
    assert_int_equal (arca_store_image_children (f->db, NULL, &roots, &err), 0);
    assert_strv (roots, (const char *const[]){ IMG_A, NULL });
    assert_int_equal (arca_store_build_cache_children (f->db, IMG_A, &steps, &err), 0);
    assert_strv (steps, (const char *const[]){ IMG_B, NULL }); /* C is an orphan */
    assert_int_equal (arca_store_build_cache_children (f->db, IMG_B, &leaf, &err), 0);
    assert_strv (leaf, (const char *const[]){ NULL });
  }
  {
    _cleanup_store_image_rows_ arca_store_image_rows_t rows = { 0 };
    assert_int_equal (arca_store_images_with_ref_counts (f->db, &rows, &err), 0);
    assert_int_equal (rows.n, 3);
    const char *ids[] = { IMG_A, IMG_B, IMG_C };
    const int64_t nrefs[] = { 3, 1, 0 };
    for (size_t i = 0; i < 3; i++)
      {
        assert_string_equal (rows.v[i].id, ids[i]);
        assert_int_equal (rows.v[i].n_refs, nrefs[i]);
        assert_true (json_is_object (rows.v[i].data));
      }
  }
  {
    _cleanup_store_refs_ arca_store_refs_t refs = { 0 };
    assert_int_equal (arca_store_image_refs (f->db, IMG_A, &refs, &err), 0);
    assert_int_equal (refs.n, 3);
    assert_string_equal (refs.v[0].ref, "docker.io/library/a:1");
    assert_int_equal (refs.v[0].kind, ARCA_STORE_REF_TAG);
    assert_null (refs.v[0].image_id); /* not asked for */
    assert_string_equal (refs.v[2].ref, "docker.io/library/a@sha256:dd");
    assert_int_equal (refs.v[2].kind, ARCA_STORE_REF_DIGEST);
  }
  {
    _cleanup_store_refs_ arca_store_refs_t none = { 0 };
    assert_int_equal (arca_store_image_refs (f->db, IMG_C, &none, &err), 0);
    assert_int_equal (none.n, 0);
    _cleanup_strv_ char **keys = NULL, **nokeys = NULL, **like = NULL;
    assert_int_equal (arca_store_image_ref_keys (f->db, IMG_A, &keys, &err), 0);
    assert_int_equal (strv_len (keys), 3);
    assert_int_equal (arca_store_image_ref_keys (f->db, IMG_C, &nokeys, &err), 0);
    assert_strv (nokeys, (const char *const[]){ NULL });
    assert_int_equal (arca_store_repo_tags_like (f->db, "docker.io/library/a", &like, &err), 0);
    assert_strv (like, (const char *const[]){ "docker.io/library/a:1", "docker.io/library/a:2", NULL });
  }
  {
    _cleanup_free_ char *owner = NULL, *nobody = (char *) 1;
    assert_int_equal (arca_store_ref_image (f->db, "docker.io/library/b:1", &owner, &err), 0);
    assert_string_equal (owner, IMG_B);
    assert_int_equal (arca_store_ref_image (f->db, "docker.io/library/z:1", &nobody, &err), 0);
    assert_null (nobody);
  }
  {
    _cleanup_store_refs_ arca_store_refs_t tags = { 0 };
    assert_int_equal (arca_store_repo_tags (f->db, "docker.io/library/", &tags, &err), 0);
    assert_int_equal (tags.n, 3); /* tags only: the digest is left out */
    assert_string_equal (tags.v[0].ref, "docker.io/library/a:1");
    assert_string_equal (tags.v[0].image_id, IMG_A);
    assert_string_equal (tags.v[2].ref, "docker.io/library/b:1");
    assert_string_equal (tags.v[2].image_id, IMG_B);
    assert_int_equal (tags.v[2].kind, ARCA_STORE_REF_TAG);
  }
  {
    _cleanup_store_image_ref_rows_ arca_store_image_ref_rows_t join = { 0 };
    assert_int_equal (arca_store_images_refs_join (f->db, &join, &err), 0);
    assert_int_equal (join.n, 5); /* A x 3, B x 1, C without any */
    assert_string_equal (join.v[0].id, IMG_A);
    assert_string_equal (join.v[0].ref, "docker.io/library/a:1");
    assert_string_equal (join.v[3].id, IMG_B);
    assert_string_equal (join.v[4].id, IMG_C);
    assert_null (join.v[4].ref); /* the LEFT JOIN's NULL */
    assert_true (json_get_bool (join.v[4].data, "Orphan", false));
  }
  {
    _cleanup_store_layer_rows_ arca_store_layer_rows_t layers = { 0 };
    assert_int_equal (arca_store_layers_list (f->db, &layers, &err), 0);
    assert_int_equal (layers.n, 2);
    assert_string_equal (layers.v[0].chain_id, CHAIN1);
    assert_int_equal (layers.v[0].size, 100);
    assert_int_equal (layers.v[1].size, 20);
    _cleanup_json_ json_t *sizes = NULL;
    assert_int_equal (arca_store_layers_sizes (f->db, &sizes, &err), 0);
    assert_int_equal (json_get_int (sizes, CHAIN2, 0), 20);
  }
  /* tagging the same image again: no previous image to report */
  char *prev = (char *) 1;
  assert_int_equal (arca_store_image_tag (f->db, "docker.io/library/b:1", IMG_B, 3000, &prev, &err), 0);
  assert_null (prev);
}

/* Each image query failing at a row (B's) after reading those before it:
 * -1, the query error, and no partial output. */
static void
test_images_rows_errors (void **state)
{
  fixture_t *f = *state;
  arca_error_t err;
  images_fixture (f);
  break_row (f, "images", "id,data", "id", IMG_B);
  break_row (f, "image_refs", "ref,image_id,kind,created", "ref", "docker.io/library/a:2");
  break_row (f, "layers", "chain_id,diff_id,parent,size", "chain_id", CHAIN2);

  char **v = (char **) 1;
  assert_int_equal (arca_store_image_ids (f->db, &v, &err), -1);
  assert_null (v);
  assert_query_error (&err);
  v = (char **) 1;
  assert_int_equal (arca_store_image_children (f->db, IMG_A, &v, &err), -1);
  assert_null (v);
  v = (char **) 1;
  assert_int_equal (arca_store_build_cache_children (f->db, IMG_A, &v, &err), -1);
  assert_null (v);
  v = (char **) 1;
  assert_int_equal (arca_store_image_ref_keys (f->db, IMG_A, &v, &err), -1);
  assert_null (v);
  v = (char **) 1;
  assert_int_equal (arca_store_repo_tags_like (f->db, "docker.io/library/a", &v, &err), -1);
  assert_null (v);
  assert_query_error (&err);

  json_t *j = (json_t *) 1;
  assert_int_equal (arca_store_images_data (f->db, NULL, &j, &err), -1);
  assert_null (j);
  j = (json_t *) 1;
  assert_int_equal (arca_store_image_children_counts (f->db, &j, &err), -1);
  assert_null (j);
  j = (json_t *) 1;
  assert_int_equal (arca_store_image_get (f->db, IMG_B, &j, &err), -1);
  assert_null (j);
  j = (json_t *) 1;
  assert_int_equal (arca_store_layers_sizes (f->db, &j, &err), -1);
  assert_null (j);
  assert_query_error (&err);

  int64_t n = -1;
  assert_int_equal (arca_store_image_count (f->db, &n, &err), 0);
  assert_int_equal (n, 3); /* count(*) reads no column: B's does not fail */
  char *s = (char *) 1;
  assert_int_equal (arca_store_ref_image (f->db, "docker.io/library/a:2", &s, &err), -1);
  assert_null (s);
  int64_t size = -1;
  bool found = true;
  assert_int_equal (arca_store_layer_size (f->db, CHAIN2, &size, &found, &err), -1);
  assert_int_equal (size, 0);
  assert_false (found);

  arca_store_image_rows_t rows = { (void *) 1, 5 };
  assert_int_equal (arca_store_images_with_ref_counts (f->db, &rows, &err), -1);
  assert_null (rows.v);
  assert_int_equal (rows.n, 0);
  arca_store_image_ref_rows_t join = { (void *) 1, 5 };
  assert_int_equal (arca_store_images_refs_join (f->db, &join, &err), -1);
  assert_null (join.v);
  assert_int_equal (join.n, 0);
  arca_store_refs_t refs = { (void *) 1, 5 };
  assert_int_equal (arca_store_image_refs (f->db, IMG_A, &refs, &err), -1);
  assert_null (refs.v);
  assert_int_equal (refs.n, 0);
  refs = (arca_store_refs_t){ (void *) 1, 5 };
  assert_int_equal (arca_store_repo_tags (f->db, "docker.io/library/", &refs, &err), -1);
  assert_null (refs.v);
  assert_int_equal (refs.n, 0);
  arca_store_layer_rows_t layers = { (void *) 1, 5 };
  assert_int_equal (arca_store_layers_list (f->db, &layers, &err), -1);
  assert_null (layers.v);
  assert_int_equal (layers.n, 0);
  assert_query_error (&err);

  /* in a transaction ("sql: ..."), rolled back: the tag stays B's */
  char *prev = (char *) 1;
  assert_int_equal (arca_store_image_tag (f->db, "docker.io/library/a:2", IMG_B, 3000, &prev, &err), -1);
  assert_null (prev);
  assert_non_null (strstr (err.msg, "sql: "));
}


/* ---- deferred sync (store/db.h arca_db_defer_sync) ---- */

/* The connection's PRAGMA synchronous as this thread's statements see
 * it (1 NORMAL, 2 FULL). */
static int64_t
synchronous_now (fixture_t *f)
{
  return arca_db_synchronous (f->db);
}

static void
test_defer_sync (void **state)
{
  fixture_t *f = *state;
  arca_error_t err;
  assert_int_equal (synchronous_now (f), 2);
  arca_db_defer_sync (true);
  /* This thread's statements run with NORMAL: commits skip the fsync. */
  assert_int_equal (synchronous_now (f), 1);
  assert_int_equal (arca_db_meta_set (f->db, "k", "deferred", &err), 0);
  /* Out of the scope, FULL again. */
  arca_db_defer_sync (false);
  assert_int_equal (synchronous_now (f), 2);
  /* An unsynced commit is a commit: the next reader sees it. */
  _cleanup_free_ char *got = NULL;
  assert_int_equal (arca_db_meta_get (f->db, "k", &got, &err), 0);
  assert_string_equal (got, "deferred");
  /* Deferred or not, the connection is left with FULL: a thread outside
   * the scope commits with FULL right after one inside. */
  arca_db_defer_sync (true);
  assert_int_equal (arca_db_meta_set (f->db, "k", "again", &err), 0);
  arca_db_defer_sync (false);
  assert_int_equal (synchronous_now (f), 2);
}

/* Bytes of heap SQLite holds (the test's only connection is the store's:
 * the handle is private to src/store/). */
static int64_t
cache_used (fixture_t *f)
{
  (void) f;
  return sqlite3_memory_used ();
}

static void
test_release_idle (void **state)
{
  fixture_t *f = *state;
  arca_error_t err;
  /* a 1 MB value (a big create body's row) written and read back fills
   * the page cache with its overflow pages */
  _cleanup_free_ char *big = xmalloc0 (1024 * 1024 + 1);
  memset (big, 'x', 1024 * 1024);
  assert_int_equal (arca_db_meta_set (f->db, "big", big, &err), 0);
  _cleanup_free_ char *got = NULL;
  assert_int_equal (arca_db_meta_get (f->db, "big", &got, &err), 0);
  int64_t full = cache_used (f);
  assert_true (full > 512 * 1024);
  /* not quiet for long enough: kept */
  arca_db_release_idle (f->db, 3600LL * 1000000000LL);
  assert_int_equal (cache_used (f), full);
  /* quiet: given back */
  arca_db_release_idle (f->db, 0);
  assert_true (cache_used (f) < full - 768 * 1024);
  /* and what it held is read again */
  free (got);
  got = NULL;
  assert_int_equal (arca_db_meta_get (f->db, "big", &got, &err), 0);
  assert_string_equal (got, big);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_meta, setup, teardown),
    cmocka_unit_test_setup_teardown (test_volumes, setup, teardown),
    cmocka_unit_test_setup_teardown (test_volumes_rows, setup, teardown),
    cmocka_unit_test_setup_teardown (test_containers_rows, setup, teardown),
    cmocka_unit_test_setup_teardown (test_networks_rows, setup, teardown),
    cmocka_unit_test_setup_teardown (test_events_rows, setup, teardown),
    cmocka_unit_test_setup_teardown (test_images_rows, setup, teardown),
    cmocka_unit_test_setup_teardown (test_images_rows_errors, setup, teardown),
    cmocka_unit_test_setup_teardown (test_containers, setup, teardown),
    cmocka_unit_test_setup_teardown (test_defer_sync, setup, teardown),
    cmocka_unit_test_setup_teardown (test_release_idle, setup, teardown),
    cmocka_unit_test_setup_teardown (test_networks_and_claims, setup, teardown),
    cmocka_unit_test_setup_teardown (test_images_commit_all_or_nothing, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
