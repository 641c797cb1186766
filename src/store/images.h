/* Image rows (src/image): images(id, data) with data the image record JSON
 * (Size, LastTagTime, Manifest, ManifestMediaType, ManifestSize, ChainIDs,
 * Blobs, Parent, and the build cache fields BuildStep, LastUsed,
 * UsageCount, Orphan), image_refs(ref, image_id, kind, created) with kind
 * "tag" or "digest", and layers(chain_id, diff_id, parent, size).
 *
 * The image store (image/store.c) takes its writer lock around the
 * operations that change rows; every function here takes arca_db_lock for
 * its statements, and the ones that change several rows run them in one
 * transaction. */
#ifndef ARCA_STORE_IMAGES_H
#define ARCA_STORE_IMAGES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"
#include "util/error.h"

/* ---- images ---- */

/* The data object of image id (*data NULL if there is no such row). */
int arca_store_image_get (arca_db_t *db, const char *id, json_t **data, arca_error_t *err);
/* The data objects of every image but except_id (NULL: every image), as a
 * JSON array; rows whose data does not parse are left out. */
int arca_store_images_data (arca_db_t *db, const char *except_id, json_t **out, arca_error_t *err);
/* Every image ID, sorted. */
int arca_store_image_ids (arca_db_t *db, char ***ids, arca_error_t *err);
/* Up to two image IDs starting with prefix ("sha256:<hex>"): enough to
 * tell a unique prefix from an ambiguous one. */
int arca_store_image_ids_by_prefix (arca_db_t *db, const char *prefix, char ***ids, arca_error_t *err);
int arca_store_image_count (arca_db_t *db, int64_t *n, arca_error_t *err);

/* Rewrite keys of image id's data in one statement: every key of patch
 * replaces the row's, json null deletes it (RFC 7396 merge patch). */
int arca_store_image_patch (arca_db_t *db, const char *id, json_t *patch, arca_error_t *err);

/* ---- local parents (image/parent.c) ---- */

/* {"<parent id>": n} over every image whose data names a Parent. */
int arca_store_image_children_counts (arca_db_t *db, json_t **out, arca_error_t *err);
/* IDs of the images whose Parent is id (NULL or "": images without one),
 * sorted. */
int arca_store_image_children (arca_db_t *db, const char *id, char ***out, arca_error_t *err);

/* ---- build cache (image/buildcache.c) ---- */

/* IDs of the build step records made on parent_id (NULL or ""; none) that
 * did not lose their parent to a prune (no Orphan). */
int arca_store_build_cache_children (arca_db_t *db, const char *parent_id, char ***out, arca_error_t *err);
/* LastUsed = now and UsageCount + 1 on every image of ids, in one
 * statement (one transaction, one sync). */
int arca_store_build_cache_touch (arca_db_t *db, char **ids, int64_t now, arca_error_t *err);

typedef struct
{
  char *id;
  json_t *data;   /* NULL if the stored data does not parse */
  int64_t n_refs; /* references (tags and digests) naming it */
} arca_store_image_row_t;

typedef struct
{
  arca_store_image_row_t *v;
  size_t n;
} arca_store_image_rows_t;

void arca_store_image_rows_clear (arca_store_image_rows_t *rows);
#define _cleanup_store_image_rows_ __attribute__ ((cleanup (arca_store_image_rows_clear)))

/* Every image with the number of references naming it, by ID. */
int arca_store_images_with_ref_counts (arca_db_t *db, arca_store_image_rows_t *out, arca_error_t *err);

/* ---- references ---- */

typedef enum
{
  ARCA_STORE_REF_TAG,
  ARCA_STORE_REF_DIGEST,
} arca_store_ref_kind_t;

typedef struct
{
  char *ref;      /* canonical key: "docker.io/library/busybox:latest" or "...@sha256:..." */
  char *image_id; /* NULL when not asked for */
  arca_store_ref_kind_t kind;
} arca_store_ref_t;

typedef struct
{
  arca_store_ref_t *v;
  size_t n;
} arca_store_refs_t;

void arca_store_refs_clear (arca_store_refs_t *refs);
#define _cleanup_store_refs_ __attribute__ ((cleanup (arca_store_refs_clear)))

/* The references naming image_id, sorted by ref. */
int arca_store_image_refs (arca_db_t *db, const char *image_id, arca_store_refs_t *out, arca_error_t *err);
/* The reference keys naming image_id, in the table's order. */
int arca_store_image_ref_keys (arca_db_t *db, const char *image_id, char ***out, arca_error_t *err);
/* The image ref names (*image_id NULL if none). */
int arca_store_ref_image (arca_db_t *db, const char *ref, char **image_id, arca_error_t *err);
/* Point the digest reference ref ("name@sha256:...") at image_id. */
int arca_store_ref_put_digest (arca_db_t *db, const char *ref, const char *image_id, int64_t created,
                               arca_error_t *err);
/* The tag keys of repository repo ("<repo>:<tag>"), sorted, matched with
 * SQL LIKE "<repo>:%" (docker push --all-tags). */
int arca_store_repo_tags_like (arca_db_t *db, const char *repo, char ***out, arca_error_t *err);
/* The tags whose key starts with prefix exactly, with their image IDs,
 * sorted (docker save of a bare name). */
int arca_store_repo_tags (arca_db_t *db, const char *prefix, arca_store_refs_t *out, arca_error_t *err);

/* An image with its references, one row per (image, reference), sorted
 * by ID then reference; ref NULL for an image without any (index.json). */
typedef struct
{
  char *id;
  json_t *data; /* NULL if the stored data does not parse */
  char *ref;
} arca_store_image_ref_row_t;

typedef struct
{
  arca_store_image_ref_row_t *v;
  size_t n;
} arca_store_image_ref_rows_t;

void arca_store_image_ref_rows_clear (arca_store_image_ref_rows_t *rows);
#define _cleanup_store_image_ref_rows_ __attribute__ ((cleanup (arca_store_image_ref_rows_clear)))

int arca_store_images_refs_join (arca_db_t *db, arca_store_image_ref_rows_t *out, arca_error_t *err);

/* ---- layers ---- */

typedef struct
{
  char *chain_id;
  int64_t size; /* uncompressed content bytes */
} arca_store_layer_row_t;

typedef struct
{
  arca_store_layer_row_t *v;
  size_t n;
} arca_store_layer_rows_t;

void arca_store_layer_rows_clear (arca_store_layer_rows_t *rows);
#define _cleanup_store_layer_rows_ __attribute__ ((cleanup (arca_store_layer_rows_clear)))

/* The size of layer chain_id; *found false (and *size 0) if no row. */
int arca_store_layer_size (arca_db_t *db, const char *chain_id, int64_t *size, bool *found, arca_error_t *err);
/* Every layer row, in the table's order. */
int arca_store_layers_list (arca_db_t *db, arca_store_layer_rows_t *out, arca_error_t *err);
/* {chain_id: size} of every layer row. */
int arca_store_layers_sizes (arca_db_t *db, json_t **out, arca_error_t *err);

/* ---- transactions ---- */

typedef struct
{
  const char *chain_id;
  const char *diff_id;
  const char *parent; /* chain ID below, NULL for the bottom layer */
  int64_t size;
} arca_store_layer_put_t;

typedef struct
{
  const char *id;
  const arca_store_layer_put_t *layers; /* inserted unless there */
  size_t n_layers;
  json_t *data;       /* the image row, written if there is none yet ... */
  bool replace;       /* ... or over the existing one */
  char **tags;        /* tag keys pointed at id (NULL-terminated, may be NULL) */
  char **prev_ids;    /* out: the image each tag named before if another
                       * (else NULL); an array of strv_len (tags) + 1 */
} arca_store_image_put_t;

/* Write n images (layers, row, tags with created = now) in one
 * transaction: all or nothing. */
int arca_store_images_commit (arca_db_t *db, arca_store_image_put_t *imgs, size_t n, int64_t now,
                              arca_error_t *err);
/* Point tag ref at image_id and set the image's LastTagTime to now, in
 * one transaction; *prev_id gets the image the tag named before (NULL if
 * none or the same). */
int arca_store_image_tag (arca_db_t *db, const char *ref, const char *image_id, int64_t now, char **prev_id,
                          arca_error_t *err);
/* Delete refs (NULL-terminated keys, may be NULL) and, if image_id is not
 * NULL, that image's row with every reference to it, and the layer rows
 * chain_ids (may be NULL), in one transaction. */
int arca_store_image_rows_delete (arca_db_t *db, char **refs, const char *image_id, char **chain_ids,
                                  arca_error_t *err);

#endif
