/* Image, reference and layer rows (see store/images.h). */
#include "store/images.h"

#include <stdio.h>
#include <string.h>

#include "store/db_internal.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"

/* ctx int64_t *: column 0 of the (one) row, if an integer */
static int
int_row (sqlite3_stmt *st, void *ctx, arca_error_t *err)
{
  *(int64_t *) ctx = arca_db_col_int (st, 0);
  return 0;
}

/* ---- images ---- */

int
arca_store_image_get (arca_db_t *db, const char *id, json_t **data, arca_error_t *err)
{
  const char *p[] = { id };
  return arca_db_first_json (db, "SELECT data FROM images WHERE id = ?1", p, 1, data, err);
}

int
arca_store_images_data (arca_db_t *db, const char *except_id, json_t **out, arca_error_t *err)
{
  const char *p[] = { except_id };
  return except_id ? arca_db_json_list (db, "SELECT data FROM images WHERE id != ?1", p, 1, out, err)
                   : arca_db_json_list (db, "SELECT data FROM images", NULL, 0, out, err);
}

int
arca_store_image_ids (arca_db_t *db, char ***ids, arca_error_t *err)
{
  return arca_db_strv (db, "SELECT id FROM images ORDER BY id", NULL, 0, ids, err);
}

int
arca_store_image_ids_by_prefix (arca_db_t *db, const char *prefix, char ***ids, arca_error_t *err)
{
  _cleanup_free_ char *pattern = xasprintf ("%s*", prefix);
  const char *q[] = { pattern };
  return arca_db_strv (db, "SELECT id FROM images WHERE id GLOB ?1 LIMIT 2", q, 1, ids, err);
}

int
arca_store_image_count (arca_db_t *db, int64_t *n, arca_error_t *err)
{
  *n = 0;
  return arca_db_each (db, "SELECT count(*) FROM images", NULL, 0, int_row, n, err);
}

int
arca_store_image_patch (arca_db_t *db, const char *id, json_t *patch, arca_error_t *err)
{
  /* json_patch (RFC 7396 merge patch): null removes a key */
  _cleanup_free_ char *text = json_dump_compact (patch);
  const char *p[] = { id, text };
  return arca_db_exec (db, "UPDATE images SET data = json_patch (data, ?2) WHERE id = ?1", p, 2, err);
}

/* ---- local parents ---- */

/* ctx json_t * (an object): {column 0: column 1} */
static int
count_row (sqlite3_stmt *st, void *ctx, arca_error_t *err)
{
  const char *key = arca_db_col_text (st, 0);
  if (key)
    json_object_set_new ((json_t *) ctx, key, json_integer (arca_db_col_int (st, 1)));
  return 0;
}

int
arca_store_image_children_counts (arca_db_t *db, json_t **out, arca_error_t *err)
{
  return arca_db_json_each (db,
                            "SELECT json_extract (data, '$.Parent') AS p, count (*) FROM images "
                            "WHERE p IS NOT NULL AND p != '' GROUP BY p",
                            NULL, 0, count_row, json_object (), out, err);
}

int
arca_store_image_children (arca_db_t *db, const char *id, char ***out, arca_error_t *err)
{
  const char *p[] = { id ? id : "" };
  return arca_db_strv (db, "SELECT id FROM images WHERE coalesce (json_extract (data, '$.Parent'), '') = ?1 ORDER BY id",
                     p, 1, out, err);
}

/* ---- build cache ---- */

int
arca_store_build_cache_children (arca_db_t *db, const char *parent_id, char ***out, arca_error_t *err)
{
  const char *p[] = { parent_id ? parent_id : "" };
  return arca_db_strv (db,
                     "SELECT id FROM images WHERE coalesce (json_extract (data, '$.Parent'), '') = ?1 "
                     "AND json_extract (data, '$.BuildStep') AND NOT coalesce (json_extract (data, '$.Orphan'), 0)",
                     p, 1, out, err);
}

int
arca_store_build_cache_touch (arca_db_t *db, char **ids, int64_t now, arca_error_t *err)
{
  _cleanup_free_ char *now_s = xasprintf ("%lld", (long long) now);
  _cleanup_json_ json_t *list = json_from_strv (ids);
  _cleanup_free_ char *text = json_dump_compact (list);
  const char *p[] = { text, now_s };
  return arca_db_exec (db,
                       "UPDATE images SET data = json_set (data, '$.LastUsed', CAST (?2 AS INTEGER), '$.UsageCount', "
                       "coalesce (json_extract (data, '$.UsageCount'), 0) + 1) "
                       "WHERE id IN (SELECT value FROM json_each (?1))",
                       p, 2, err);
}

void
arca_store_image_rows_clear (arca_store_image_rows_t *rows)
{
  for (size_t i = 0; i < rows->n; i++)
    {
      free (rows->v[i].id);
      json_decref (rows->v[i].data);
    }
  free (rows->v);
  memset (rows, 0, sizeof *rows);
}

static int
image_row (sqlite3_stmt *st, void *ctx, arca_error_t *err)
{
  arca_store_image_row_t *r = arca_db_push ((arca_store_image_rows_t *) ctx);
  r->id = arca_db_col_strdup (st, 0);
  r->data = arca_db_col_json (st, 1);
  r->n_refs = arca_db_col_int (st, 2);
  return 0;
}

int
arca_store_images_with_ref_counts (arca_db_t *db, arca_store_image_rows_t *out, arca_error_t *err)
{
  memset (out, 0, sizeof *out);
  int ret = arca_db_each (db,
                          "SELECT i.id, i.data, (SELECT count (*) FROM image_refs r WHERE r.image_id = i.id) "
                          "FROM images i ORDER BY i.id",
                          NULL, 0, image_row, out, err);
  if (ret < 0)
    arca_store_image_rows_clear (out);
  return ret;
}

/* ---- references ---- */

void
arca_store_refs_clear (arca_store_refs_t *refs)
{
  for (size_t i = 0; i < refs->n; i++)
    {
      free (refs->v[i].ref);
      free (refs->v[i].image_id);
    }
  free (refs->v);
  memset (refs, 0, sizeof *refs);
}

static arca_store_ref_kind_t
ref_kind (const char *kind)
{
  return kind && strcmp (kind, "digest") == 0 ? ARCA_STORE_REF_DIGEST : ARCA_STORE_REF_TAG;
}

/* (ref, kind): image_id left NULL; rows without a ref left out */
static int
ref_kind_row (sqlite3_stmt *st, void *ctx, arca_error_t *err)
{
  const char *ref = arca_db_col_text (st, 0);
  if (ref == NULL)
    return 0;
  arca_store_ref_t *r = arca_db_push ((arca_store_refs_t *) ctx);
  r->ref = xstrdup (ref);
  r->kind = ref_kind (arca_db_col_text (st, 1));
  return 0;
}

/* (ref, image_id) of tags */
static int
tag_row (sqlite3_stmt *st, void *ctx, arca_error_t *err)
{
  arca_store_ref_t *r = arca_db_push ((arca_store_refs_t *) ctx);
  r->ref = arca_db_col_strdup (st, 0);
  r->image_id = arca_db_col_strdup (st, 1);
  r->kind = ARCA_STORE_REF_TAG;
  return 0;
}

/* A reference list from a query of ref_kind_row's or tag_row's shape. */
static int
query_refs (arca_db_t *db, const char *sql, const char *const *params, int n, arca_db_row_fn fn,
            arca_store_refs_t *out, arca_error_t *err)
{
  memset (out, 0, sizeof *out);
  int ret = arca_db_each (db, sql, params, n, fn, out, err);
  if (ret < 0)
    arca_store_refs_clear (out);
  return ret;
}

int
arca_store_image_refs (arca_db_t *db, const char *image_id, arca_store_refs_t *out, arca_error_t *err)
{
  const char *p[] = { image_id };
  return query_refs (db, "SELECT ref, kind FROM image_refs WHERE image_id = ?1 ORDER BY ref", p, 1, ref_kind_row,
                     out, err);
}

int
arca_store_image_ref_keys (arca_db_t *db, const char *image_id, char ***out, arca_error_t *err)
{
  const char *p[] = { image_id };
  return arca_db_strv (db, "SELECT ref FROM image_refs WHERE image_id = ?1", p, 1, out, err);
}

int
arca_store_ref_image (arca_db_t *db, const char *ref, char **image_id, arca_error_t *err)
{
  const char *p[] = { ref };
  return arca_db_first_str (db, "SELECT image_id FROM image_refs WHERE ref = ?1", p, 1, image_id, err);
}

int
arca_store_ref_put_digest (arca_db_t *db, const char *ref, const char *image_id, int64_t created,
                           arca_error_t *err)
{
  _cleanup_free_ char *now = xasprintf ("%lld", (long long) created);
  const char *params[] = { ref, image_id, now };
  return arca_db_exec (db,
                       "INSERT INTO image_refs (ref, image_id, kind, created) VALUES (?1, ?2, 'digest', CAST(?3 AS INTEGER)) "
                       "ON CONFLICT (ref) DO UPDATE SET image_id = excluded.image_id, kind = 'digest', created = excluded.created",
                       params, 3, err);
}

int
arca_store_repo_tags_like (arca_db_t *db, const char *repo, char ***out, arca_error_t *err)
{
  _cleanup_free_ char *like = xasprintf ("%s:%%", repo);
  const char *p[] = { like };
  return arca_db_strv (db, "SELECT ref FROM image_refs WHERE kind = 'tag' AND ref LIKE ?1 ORDER BY ref", p, 1, out,
                     err);
}

int
arca_store_repo_tags (arca_db_t *db, const char *prefix, arca_store_refs_t *out, arca_error_t *err)
{
  const char *p[] = { prefix };
  return query_refs (db,
                     "SELECT ref, image_id FROM image_refs WHERE kind = 'tag' AND "
                     "substr(ref, 1, length(?1)) = ?1 ORDER BY ref",
                     p, 1, tag_row, out, err);
}

void
arca_store_image_ref_rows_clear (arca_store_image_ref_rows_t *rows)
{
  for (size_t i = 0; i < rows->n; i++)
    {
      free (rows->v[i].id);
      json_decref (rows->v[i].data);
      free (rows->v[i].ref);
    }
  free (rows->v);
  memset (rows, 0, sizeof *rows);
}

static int
image_ref_row (sqlite3_stmt *st, void *ctx, arca_error_t *err)
{
  arca_store_image_ref_row_t *r = arca_db_push ((arca_store_image_ref_rows_t *) ctx);
  r->id = arca_db_col_strdup (st, 0);
  r->data = arca_db_col_json (st, 1);
  r->ref = arca_db_col_strdup (st, 2);
  return 0;
}

int
arca_store_images_refs_join (arca_db_t *db, arca_store_image_ref_rows_t *out, arca_error_t *err)
{
  memset (out, 0, sizeof *out);
  int ret = arca_db_each (db,
                          "SELECT i.id, i.data, r.ref FROM images i LEFT JOIN image_refs r ON r.image_id = i.id "
                          "ORDER BY i.id, r.ref",
                          NULL, 0, image_ref_row, out, err);
  if (ret < 0)
    arca_store_image_ref_rows_clear (out);
  return ret;
}

/* ---- layers ---- */

void
arca_store_layer_rows_clear (arca_store_layer_rows_t *rows)
{
  for (size_t i = 0; i < rows->n; i++)
    free (rows->v[i].chain_id);
  free (rows->v);
  memset (rows, 0, sizeof *rows);
}

/* ctx arca_store_layer_row_t *: size, and chain_id set (to "") to say
 * the row was there */
static int
layer_size_row (sqlite3_stmt *st, void *ctx, arca_error_t *err)
{
  arca_store_layer_row_t *r = ctx;
  r->size = arca_db_col_int (st, 0);
  r->chain_id = "";
  return 0;
}

int
arca_store_layer_size (arca_db_t *db, const char *chain_id, int64_t *size, bool *found, arca_error_t *err)
{
  const char *p[] = { chain_id };
  arca_store_layer_row_t row = { 0 };
  *size = 0;
  *found = false;
  if (arca_db_each (db, "SELECT size FROM layers WHERE chain_id = ?1", p, 1, layer_size_row, &row, err) < 0)
    return -1;
  *size = row.size;
  *found = row.chain_id != NULL;
  return 0;
}

/* rows without a chain ID left out */
static int
layer_row (sqlite3_stmt *st, void *ctx, arca_error_t *err)
{
  const char *chain = arca_db_col_text (st, 0);
  if (chain == NULL)
    return 0;
  arca_store_layer_row_t *r = arca_db_push ((arca_store_layer_rows_t *) ctx);
  r->chain_id = xstrdup (chain);
  r->size = arca_db_col_int (st, 1);
  return 0;
}

int
arca_store_layers_list (arca_db_t *db, arca_store_layer_rows_t *out, arca_error_t *err)
{
  memset (out, 0, sizeof *out);
  int ret = arca_db_each (db, "SELECT chain_id, size FROM layers", NULL, 0, layer_row, out, err);
  if (ret < 0)
    arca_store_layer_rows_clear (out);
  return ret;
}

int
arca_store_layers_sizes (arca_db_t *db, json_t **out, arca_error_t *err)
{
  _cleanup_store_layer_rows_ arca_store_layer_rows_t rows = { 0 };
  *out = NULL;
  if (arca_store_layers_list (db, &rows, err) < 0)
    return -1;
  json_t *m = json_object ();
  for (size_t i = 0; i < rows.n; i++)
    json_object_set_new (m, rows.v[i].chain_id, json_integer (rows.v[i].size));
  *out = m;
  return 0;
}

/* ---- transactions ---- */

/* Point tag ref at image_id (created = now_s); *prev_id: the image it
 * named before if another, else NULL.  The lock held. */
static int
tag_locked (arca_db_t *db, const char *ref, const char *image_id, const char *now_s, char **prev_id,
            arca_error_t *err)
{
  const char *rp[] = { ref };
  if (arca_db_first_str_locked (db, "SELECT image_id FROM image_refs WHERE ref = ?1", rp, 1, prev_id, err) < 0)
    return -1;
  if (*prev_id && strcmp (*prev_id, image_id) == 0)
    {
      free (*prev_id);
      *prev_id = NULL;
    }
  const char *params[] = { ref, image_id, now_s };
  return arca_db_each_locked (db,
                              "INSERT INTO image_refs (ref, image_id, kind, created) VALUES (?1, ?2, 'tag', CAST(?3 AS INTEGER)) "
                              "ON CONFLICT (ref) DO UPDATE SET image_id = excluded.image_id, kind = 'tag', "
                              "created = excluded.created",
                              params, 3, NULL, NULL, err);
}

static int
commit_one (arca_db_t *db, arca_store_image_put_t *img, const char *now_s, arca_error_t *err)
{
  for (size_t i = 0; i < img->n_layers; i++)
    {
      const arca_store_layer_put_t *l = &img->layers[i];
      _cleanup_free_ char *size = xasprintf ("%lld", (long long) l->size);
      const char *params[] = { l->chain_id, l->diff_id, l->parent, size };
      if (arca_db_each_locked (db,
                               "INSERT OR IGNORE INTO layers (chain_id, diff_id, parent, size) "
                               "VALUES (?1, ?2, ?3, CAST(?4 AS INTEGER))",
                               params, 4, NULL, NULL, err)
          < 0)
        return -1;
    }

  _cleanup_free_ char *had = NULL;
  const char *idp[] = { img->id };
  if (arca_db_first_str_locked (db, "SELECT id FROM images WHERE id = ?1", idp, 1, &had, err) < 0)
    return -1;
  if (had == NULL || img->replace)
    {
      _cleanup_free_ char *text = json_dump_compact (img->data);
      const char *params[] = { img->id, text };
      if (arca_db_each_locked (db,
                               "INSERT INTO images (id, data) VALUES (?1, ?2) "
                               "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                               params, 2, NULL, NULL, err)
          < 0)
        return -1;
    }

  size_t n = strv_len (img->tags);
  img->prev_ids = xmalloc0 ((n + 1) * sizeof (char *));
  for (size_t i = 0; i < n; i++)
    {
      if (tag_locked (db, img->tags[i], img->id, now_s, &img->prev_ids[i], err) < 0)
        return -1;
    }
  return 0;
}

int
arca_store_images_commit (arca_db_t *db, arca_store_image_put_t *imgs, size_t n, int64_t now, arca_error_t *err)
{
  _cleanup_free_ char *now_s = xasprintf ("%lld", (long long) now);
  int ret = arca_db_begin (db, err);
  for (size_t i = 0; ret == 0 && i < n; i++)
    ret = commit_one (db, &imgs[i], now_s, err);
  return arca_db_end (db, ret, err);
}

int
arca_store_image_tag (arca_db_t *db, const char *ref, const char *image_id, int64_t now, char **prev_id,
                      arca_error_t *err)
{
  _cleanup_free_ char *now_s = xasprintf ("%lld", (long long) now);
  _cleanup_free_ char *prev = NULL;
  const char *ip[] = { image_id, now_s };
  *prev_id = NULL;
  int ret = arca_db_begin (db, err);
  if (ret == 0)
    ret = tag_locked (db, ref, image_id, now_s, &prev, err);
  if (ret == 0)
    ret = arca_db_each_locked (db,
                               "UPDATE images SET data = json_set(data, '$.LastTagTime', CAST(?2 AS INTEGER)) WHERE id = ?1",
                               ip, 2, NULL, NULL, err);
  if (arca_db_end (db, ret, err) < 0)
    return -1;
  *prev_id = arca_steal (prev);
  return 0;
}

int
arca_store_image_rows_delete (arca_db_t *db, char **refs, const char *image_id, char **chain_ids,
                              arca_error_t *err)
{
  int ret = arca_db_begin (db, err);
  for (size_t i = 0; ret == 0 && refs && refs[i]; i++)
    {
      const char *p[] = { refs[i] };
      ret = arca_db_each_locked (db, "DELETE FROM image_refs WHERE ref = ?1", p, 1, NULL, NULL, err);
    }
  if (ret == 0 && image_id)
    {
      const char *p[] = { image_id };
      ret = arca_db_each_locked (db, "DELETE FROM images WHERE id = ?1", p, 1, NULL, NULL, err);
      if (ret == 0)
        ret = arca_db_each_locked (db, "DELETE FROM image_refs WHERE image_id = ?1", p, 1, NULL, NULL, err);
    }
  for (size_t i = 0; ret == 0 && chain_ids && chain_ids[i]; i++)
    {
      const char *p[] = { chain_ids[i] };
      ret = arca_db_each_locked (db, "DELETE FROM layers WHERE chain_id = ?1", p, 1, NULL, NULL, err);
    }
  return arca_db_end (db, ret, err);
}
