/* The typed store API (src/store/): rows round-trip, the IP claim is
 * exclusive, and the image store's transactions are all or nothing (a
 * statement failing half-way leaves no row of the operation behind). */
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

#include "store/containers.h"
#include "store/db.h"
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
    _cleanup_store_container_rows_ arca_store_container_rows_t rows = { 0 };
    assert_int_equal (arca_store_containers_list (f->db, &rows, &err), 0);
    assert_int_equal (rows.n, 1);
    assert_string_equal (rows.v[0].id, "c1");
    assert_string_equal (rows.v[0].name, "uno");
    assert_true (json_is_true (json_object_get (rows.v[0].rec, "Running")));
  }
  assert_int_equal (arca_store_container_delete (f->db, "c1", &err), 0);
  _cleanup_store_container_rows_ arca_store_container_rows_t rows = { 0 };
  assert_int_equal (arca_store_containers_list (f->db, &rows, &err), 0);
  assert_int_equal (rows.n, 0);
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

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_volumes, setup, teardown),
    cmocka_unit_test_setup_teardown (test_containers, setup, teardown),
    cmocka_unit_test_setup_teardown (test_networks_and_claims, setup, teardown),
    cmocka_unit_test_setup_teardown (test_images_commit_all_or_nothing, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
