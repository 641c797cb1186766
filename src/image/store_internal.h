/* Internals shared by the image store's files (store.c, resolve.c,
 * remove.c, load.c, import.c).  Not part of the module API. */
#ifndef ARCA_IMAGE_STORE_INTERNAL_H
#define ARCA_IMAGE_STORE_INTERNAL_H

#include <pthread.h>

#include "image/digest.h"
#include "image/image.h"
#include "image/ref.h"
#include "image/unpack.h"
#include "store/images.h"
#include "util/strutil.h"

#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

struct arca_image_store
{
  char *data_root;
  char *oci_dir;    /* <data-root>/image/oci */
  char *blobs_dir;  /* <oci>/blobs/sha256 */
  char *layers_dir; /* <data-root>/image/layers */
  char *tmp_dir;    /* <data-root>/tmp */
  arca_db_t *db;
  /* Writers (load, import, tag, remove) run one at a time: a load holds it
   * from its first layer to its commit, so a concurrent remove cannot take
   * away a layer it decided to reuse.  Readers do not take it. */
  pthread_mutex_t lock;
  arca_image_in_use_fn in_use;
  void *in_use_ctx;
  arca_image_event_fn event;   /* events (engine/events.c) */
  void *event_ctx;
};

/* Report an image event (see arca_image_event_fn); the labels are read
 * from the image image_id names, if it exists.  Call without s->lock. */
void store_event (arca_image_store_t *s, const char *action, const char *image_id, const char *name);
/* The same with the labels given (an image about to go). */
void store_event_labels (arca_image_store_t *s, const char *action, const char *image_id, const char *name,
                         json_t *labels);

/* Paths created by an operation that has not committed yet; removed on
 * failure so nothing is left half-imported. */
typedef struct
{
  arca_strv_builder_t paths; /* one per blob and layer of an archive: any number */
} store_undo_t;
void store_undo_add (store_undo_t *u, const char *path);
void store_undo_rollback (store_undo_t *u); /* remove everything, then forget */
void store_undo_forget (store_undo_t *u);   /* keep everything */

char *store_blob_path (arca_image_store_t *s, const char *digest);
/* Put src (a file under tmp_dir) into the content store as digest (already
 * verified); no-op if the blob exists.  fsyncs file and directory. */
int store_blob_put_file (arca_image_store_t *s, const char *src, const char *digest, store_undo_t *u,
                         arca_error_t *err);
int store_blob_put_data (arca_image_store_t *s, const void *data, size_t len, char digest[DIGEST_BUF],
                         store_undo_t *u, arca_error_t *err);
int store_blob_read_json (arca_image_store_t *s, const char *digest, json_t **out, arca_error_t *err);

char *store_layer_dir (arca_image_store_t *s, const char *chain_id); /* <layers>/<hex>/diff */

typedef struct
{
  char chain_id[DIGEST_BUF];
  char diff_id[DIGEST_BUF];
  char blob_digest[DIGEST_BUF];
  const char *media_type;
  int64_t blob_size; /* bytes of the stored blob */
  int64_t size;      /* uncompressed content bytes */
} store_layer_t;

/* Make sure the layer in blob_path (a tar, maybe compressed) is unpacked
 * under its chain ID on top of parent_chain (NULL for the bottom layer).
 * expected_diff_id (may be NULL) is checked: layer i mismatching gives
 * "invalid diffID for layer <i>: expected ..., got ...".  An already
 * unpacked chain is reused without extraction (only the blob is hashed). */
int store_layer_ensure (arca_image_store_t *s, const char *blob_path, const char *parent_chain,
                        const char *expected_diff_id, int index, store_layer_t *out, store_undo_t *u,
                        arca_error_t *err);

/* New temp dir under <data-root>/tmp ("image-XXXXXX"); malloc'd path. */
int store_mkdtemp (arca_image_store_t *s, char **out, arca_error_t *err);

/* An image ready to be committed. */
typedef struct
{
  char id[DIGEST_BUF];
  char manifest[DIGEST_BUF];
  const char *manifest_media_type;
  int64_t manifest_size;
  char **blobs;      /* all blob digests of the image */
  store_layer_t *layers;
  size_t n_layers;
  char **tags;       /* canonical "name:tag" keys */
  const char *parent; /* local parent image ID (commit, build step) or NULL */
  bool build_step;   /* made by the classic builder (image/buildcache.c) */
  char **prev_ids;   /* out: previous image of each tag or NULL (parallel to tags) */
  bool set_last_tag_time;
} store_pending_t;

void store_pending_clear (store_pending_t *p);
/* Insert layers, images and refs of n pending images in one transaction,
 * then rewrite index.json. */
int store_commit (arca_image_store_t *s, store_pending_t *p, size_t n, arca_error_t *err);

/* Point the tag key ("name:tag") at id and set the image's LastTagTime
 * to now, in one transaction; *prev_id gets the image the tag pointed at
 * before (NULL if none or the same). */
int store_set_tag (arca_image_store_t *s, const char *key, const char *id, char **prev_id, arca_error_t *err);
/* Delete refs (NULL-terminated keys) and, if delete_id is not NULL, that
 * image's row and the layers rows in chain_ids, in one transaction. */
int store_delete (arca_image_store_t *s, char **refs, const char *delete_id, char **chain_ids, arca_error_t *err);

/* {chain_id: size} of every layer (an empty object on error). */
json_t *store_layer_sizes (arca_image_store_t *s);
/* Rewrite oci/index.json from the database (call with the writer lock). */
int store_index_rewrite (arca_image_store_t *s, arca_error_t *err);
/* The image row's data object (NULL if no such image). */
int store_image_data (arca_image_store_t *s, const char *id, json_t **data, arca_error_t *err);

/* Child image counts: {"sha256:<parent>": n} over every image whose
 * local parent is set (parent.c). */
int store_children_counts (arca_image_store_t *s, json_t **out, arca_error_t *err);
/* The IDs of the images whose local parent is id ("" or NULL: images
 * without a parent). */
int store_children (arca_image_store_t *s, const char *id, char ***out, arca_error_t *err);
/* Rewrite fields of an image row's data object in one statement:
 * every key of patch replaces the row's (json null deletes it). */
int store_image_data_patch (arca_image_store_t *s, const char *id, json_t *patch, arca_error_t *err);
/* The layers of an image as store records (chain/diff IDs, blob, size)
 * from its manifest and the layers table (commit.c); n = its layer
 * count; the blob digests are appended to *blobs. */
int store_image_layers (arca_image_store_t *s, const arca_image_t *img, store_layer_t *out, size_t n, char ***blobs,
                        arca_error_t *err);

/* Delete an image row with its references, and its layers and blobs no
 * other image uses; {"Deleted": id} and {"Deleted": chain} records are
 * appended.  Caller holds the writer lock (remove.c). */
int store_image_delete_locked (arca_image_store_t *s, const arca_image_t *img, json_t *records, arca_error_t *err);

/* A copy of o with its top-level keys in sorted order (what Go's
 * json.Marshal of a map gives; image configs are written that way). */
json_t *store_sort_keys (json_t *o);

/* resolve.c */
int store_image_load (arca_image_store_t *s, const char *id, arca_image_t **out, arca_error_t *err);
/* 404 "No such image: <familiar ref>" for the reference as given. */
int store_not_found (const char *ref, arca_error_t *err);
/* Go arch name of this machine ("amd64", "arm64", ...), variant or NULL. */
const char *store_go_arch (const char **variant);

#endif
