/* Image store: an OCI image layout under <data-root>/image
 *   oci/oci-layout, oci/index.json, oci/blobs/sha256/<hex>   (content store)
 *   layers/<chain-id hex>/diff                                (unpacked layer,
 *                                  whiteouts converted to overlay form:
 *                                  char 0/0 devices and trusted.overlay.opaque)
 * References (tags, digests) and image/layer metadata live in SQLite
 * (store/db.h tables images, image_refs, layers).  An image ID is the digest
 * of its config blob, "sha256:<64 hex>".
 *
 * Thread safety: every call may be made from any thread; the store
 * serialises writers internally.
 */
#ifndef ARCA_IMAGE_IMAGE_H
#define ARCA_IMAGE_IMAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/db.h"
#include "util/error.h"

typedef struct arca_image_store arca_image_store_t;

typedef struct
{
  char *id;            /* "sha256:<hex>" */
  json_t *config;      /* the whole image config blob (OCI/Docker image JSON):
                          architecture, os, created, config{Cmd,Entrypoint,Env,...}, rootfs, history */
  char **repo_tags;    /* familiar-independent full names, e.g. "busybox:latest" as dockerd shows */
  char **repo_digests; /* "busybox@sha256:..." */
  char **diff_ids;     /* rootfs.diff_ids, bottom first */
  char **chain_ids;    /* same order */
  int64_t created_ns;  /* from config "created" (0 if none) */
  int64_t size;        /* uncompressed size of all layers, bytes */
  char *parent;        /* the local parent image ("sha256:..."): the image a commit or a
                          build step was made on (moby image store SetParent); NULL if none */
} arca_image_t;

/* Asked before an image is deleted: 0 when no container uses image_id, 1 when
 * a stopped container does, 2 when a running one does; the container's full
 * ID is copied to container_id_out. */
typedef int (*arca_image_in_use_fn) (void *ctx, const char *image_id, char *container_id_out, size_t len);

/* Told of every image event as dockerd logs them (moby
 * ImageService.LogImageEvent): action "tag", "untag", "delete", "import",
 * "load", "save", "pull", "push", "create" (commit), "prune"; image_id is
 * the Actor ID (for pull and push the reference, as moby's distribution
 * package), name the "name" attribute (NULL for none), labels the image's
 * labels while it exists (borrowed, may be NULL).  Called without the
 * store's lock. */
typedef void (*arca_image_event_fn) (void *ctx, const char *action, const char *image_id, const char *name,
                                     json_t *labels);

int image_store_open (const char *data_root, arca_db_t *db, arca_image_store_t **out, arca_error_t *err);
void image_store_close (arca_image_store_t *s);
void image_store_set_in_use_cb (arca_image_store_t *s, arca_image_in_use_fn fn, void *ctx);
void image_store_set_event_cb (arca_image_store_t *s, arca_image_event_fn fn, void *ctx);

/* Reference normalisation as Docker (distribution/reference
 * ParseNormalizedNamed): "busybox" -> "docker.io/library/busybox:latest",
 * "user/x:1" -> "docker.io/user/x:1", "127.0.0.1:5000/a" keeps its host.
 * Returns a malloc'd canonical string; 400 "invalid reference format" on bad
 * input.  image_ref_familiar gives the short form dockerd prints
 * ("busybox:latest", "127.0.0.1:5000/a:1"). */
int image_ref_normalize (const char *ref, char **canonical, arca_error_t *err);
char *image_ref_familiar (const char *canonical);

/* Resolve a name, name:tag, name@digest, full or short (>= 1 char prefix,
 * unique) image ID, or "sha256:<id>" to an image.  404 "No such image:
 * <familiar ref>" (e.g. "No such image: alpine:latest"). */
int image_resolve (arca_image_store_t *s, const char *ref, arca_image_t **out, arca_error_t *err);
void image_free (arca_image_t *img);

/* Unpacked layer directories for an overlay lowerdir, TOP layer first
 * (overlay order).  Empty list for an image with no layers. */
int image_layer_dirs (arca_image_store_t *s, const arca_image_t *img, char ***dirs, arca_error_t *err);

/* docker load: tar_path holds a docker-save tarball (manifest.json) or an OCI
 * layout tarball (index.json).  For each tag loaded, emit is called with a
 * line such as "Loaded image: busybox:latest" (or "Loaded image ID:
 * sha256:..." for untagged images); an existing tag moved to another image
 * first emits "The image busybox:latest already exists, renaming the old one
 * with ID sha256:... to empty string".  Nothing is left half-imported on
 * error. */
int image_load (arca_image_store_t *s, const char *tar_path,
                void (*emit) (void *ctx, const char *line), void *ctx, arca_error_t *err);

/* docker import: a plain rootfs tarball (maybe compressed) becomes a one-layer
 * image; repo/tag may be NULL (untagged); image_config: the image's Config
 * (--change already applied; NULL: empty); message: history comment.
 * *image_id receives "sha256:<hex>". */
int image_import (arca_image_store_t *s, const char *tar_path, const char *repo, const char *tag,
                  json_t *image_config, const char *message, char **image_id, arca_error_t *err);

/* GET /images/json: array of ImageSummary (spec) objects.  filters: the
 * parsed filters JSON object (map key -> {value: true}) or NULL; supports
 * dangling, label, reference, before, since. */
int image_list_json (arca_image_store_t *s, json_t *filters, bool all, json_t **out, arca_error_t *err);
/* GET /images/{name}/json: ImageInspect as dockerd returns it (Id, RepoTags,
 * RepoDigests, Parent, Comment, Created RFC 3339 nano, Config, Architecture,
 * Os, Size, RootFS{Type,Layers}, Metadata{LastTagTime}, GraphDriver). */
int image_inspect_json (arca_image_store_t *s, const char *ref, json_t **out, arca_error_t *err);
/* POST /images/{name}/tag?repo=&tag= : 404 if source missing, 400 bad ref. */
int image_tag (arca_image_store_t *s, const char *src, const char *repo, const char *tag, arca_error_t *err);
/* DELETE /images/{name}: *out = [{"Untagged": ...}, {"Deleted": ...}] as
 * dockerd.  409 "conflict: unable to delete <ref> (must be forced) - image is
 * being used by stopped container <id>" / "...(cannot be forced) - image is
 * being used by running container <id>" via the in-use callback. */
int image_remove (arca_image_store_t *s, const char *ref, bool force, bool noprune, json_t **out,
                  arca_error_t *err);
/* Number of images (for /info). */
int image_count (arca_image_store_t *s);

/* ---- docker commit (image/commit.c) ---- */

/* Writes a layer tar (uncompressed, Docker layer format) to fd. */
typedef int (*arca_layer_writer_fn) (void *ctx, int fd, arca_error_t *err);

typedef struct
{
  const char *parent_id;     /* image the container was created from ("sha256:...");
                                NULL: no parent (a build step on FROM scratch) */
  json_t *config;            /* the new image's "config" (merged, changes applied) */
  json_t *container_config;  /* the container's Config ("container_config") */
  const char *container_id;  /* "container" */
  const char *repo, *tag;    /* may be NULL: untagged */
  const char *comment, *author;
  arca_layer_writer_fn write_layer;
  void *ctx;
  bool build_step;           /* made by the classic builder: a build cache record (image/buildcache.c) */
} arca_image_commit_t;

/* docker commit (moby image.NewChildImage): the layer written by
 * write_layer goes on top of the parent's layers (skipped, with history
 * "empty_layer", when it is the empty tar); the config is the parent's with
 * config, container_config, container, author, created replaced, the diff ID
 * appended and a history entry (created_by = the container's Cmd joined
 * by spaces).  Tags repo:tag (default tag "latest").  The parent is
 * recorded as the new image's local parent (inspect "Parent").  Without a
 * parent the config starts empty (architecture and os of this host).
 * *image_id gets "sha256:<hex>".  400 for a bad reference ("invalid
 * reference format"). */
int image_commit (arca_image_store_t *s, const arca_image_commit_t *c, char **image_id, arca_error_t *err);

/* ---- save, history, prune, garbage collection (save.c, history.c,
 * prune.c, gc.c) ---- */

/* docker save (GET /images/get, /images/{name}/get), after moby
 * image/tarexport: prepare resolves every name first (so an unknown one
 * is a plain 404 "No such image: ..." before any byte is sent): a bare
 * repository name takes all of its tags, name:tag that tag, an ID or
 * name@digest the image untagged.  write then produces the tar (docker
 * save layout of dockerd >= 25: manifest.json + repositories + OCI
 * index.json/oci-layout, blobs/sha256/<hex> with layers as uncompressed
 * tars whose digest is the diff ID) through sink, which returns 0 or -1
 * to abort (client gone). */
typedef struct arca_image_save arca_image_save_t;
typedef int (*arca_image_save_sink_fn) (void *ctx, const void *data, size_t len);
int image_save_prepare (arca_image_store_t *s, char **names, arca_image_save_t **out, arca_error_t *err);
int image_save_write (arca_image_save_t *sv, arca_image_save_sink_fn sink, void *ctx, arca_error_t *err);
void image_save_free (arca_image_save_t *sv);

/* GET /images/{name}/history: newest first, [{Id ("sha256:..." for the
 * image itself, "<missing>" for older entries), Created (unix s),
 * CreatedBy, Tags (the image's tags or null), Size (bytes of the layer the
 * entry made, 0 for empty_layer entries), Comment}] (moby
 * daemon/images/image_history.go).  404 as image_resolve. */
int image_history_json (arca_image_store_t *s, const char *ref, json_t **out, arca_error_t *err);

/* POST /images/prune (moby ImagesPrune): filters dangling (default true:
 * only untagged images; false: every image no container uses), until
 * (timestamp or Go duration), label, label!; other keys 400 "invalid
 * filter '<k>'".  Images some container (any state) uses are kept.  Each
 * chosen image is removed reference by reference as image_remove does,
 * then unused blobs and layers are collected.  *out =
 * {"ImagesDeleted": [{"Untagged"}|{"Deleted"}] or null, "SpaceReclaimed":
 * bytes of the deleted layers}.  409 "a prune operation is already
 * running". */
int image_prune (arca_image_store_t *s, json_t *filters, json_t **out, arca_error_t *err);

/* Garbage collection: remove layer rows and directories, and blobs, that
 * no image references (layers still named by a mounted overlay are kept;
 * layers a stopped container kept after `rmi -f` of its image go too).
 * *reclaimed (may be NULL) gets the bytes freed.  Takes the store's writer
 * lock.  image_gc_blobs_locked sweeps only unreferenced blobs (e.g. those
 * a second load of the same image brought: another manifest, a compressed
 * copy of a layer); for a caller holding the writer lock (image_remove). */
int image_gc (arca_image_store_t *s, int64_t *reclaimed, arca_error_t *err);
int image_gc_blobs_locked (arca_image_store_t *s, arca_error_t *err);

/* The image part of GET /system/df: *images = ImageSummary list (as
 * image_list_json) with SharedSize (bytes of layers other images use too)
 * and Containers 0 (the caller counts containers); *layers_size = bytes
 * of all unpacked layers. */
int image_disk_usage_json (arca_image_store_t *s, json_t **images, int64_t *layers_size, arca_error_t *err);

/* ---- the classic builder's cache (buildcache.c) ----
 *
 * Every image a build step makes (arca_image_commit_t.build_step) is a
 * build cache record: its row keeps the local parent, when it was last
 * used and how often.  A step is reused when a record made on the same
 * parent has a container_config equal to the step's as moby's
 * image/cache compare() judges it.  Untagged records are what `docker
 * builder prune` removes and `docker system df` lists as build cache. */

/* moby image/cache LocalImageCache.GetCache: the newest record whose
 * parent is parent_id (NULL or "": FROM scratch) and whose
 * container_config matches; *hit = its ID or NULL. */
int image_cache_lookup (arca_image_store_t *s, const char *parent_id, json_t *container_config, char **hit,
                        arca_error_t *err);
/* moby image/cache ImageCache.GetCache with --cache-from images (sources:
 * image IDs): a local record is used only if it is an ancestor of a
 * source; otherwise a source whose history continues parent_id's with an
 * entry created by the step's command gives the hit (the source itself
 * when that entry is its last, else a new image restored from that entry
 * on top of parent_id).  On a restore *sources is narrowed to that one
 * source, as moby does.  *hit = ID or NULL. */
int image_cache_from_lookup (arca_image_store_t *s, char ***sources, const char *parent_id, json_t *container_config,
                             char **hit, arca_error_t *err);
/* Record that the builder used these records (LastUsed = now,
 * UsageCount + 1). */
int image_cache_touch (arca_image_store_t *s, char **ids, arca_error_t *err);
/* A running build holds the images it builds on, so that a concurrent
 * prune leaves them (and their layers) alone until released. */
void image_cache_hold (arca_image_store_t *s, const char *id);
void image_cache_release (arca_image_store_t *s, const char *id);

/* GET /system/df BuildCache (types.BuildCache): one record per untagged
 * build step image: ID (hex), Parent/Parents, Type "regular", Description
 * (the step's created_by), InUse (a container or a build uses it), Shared
 * (its layer is part of another image), Size (bytes of the layer the step
 * added), CreatedAt, LastUsedAt, UsageCount.  *builder_size = bytes of the
 * records that are not shared. */
int image_build_cache_json (arca_image_store_t *s, json_t **records, int64_t *builder_size, arca_error_t *err);

typedef struct
{
  json_t *filters;       /* parsed filters or NULL */
  bool all;              /* also records an image still builds on */
  int64_t keep_storage;  /* bytes of cache to keep, 0 = none */
} arca_build_prune_opts_t;
/* POST /build/prune: removes records no container or build uses: without
 * all only those no kept image (tagged, not built, or used by a
 * container) descends from; with all every one (a kept image built on a
 * removed record loses its local parent, as after a pull).  Filters
 * (moby builder-next toBuildkitPruneInfo): until / unused-for (Go
 * duration: last used before now minus it), id (prefix), parent, type,
 * description, inuse, shared, private, label, label!; others 400
 * "invalid filter '<k>'"; "filters expect only one value", "conflicting
 * filters: \"until\" and \"unused-for\"".  keep_storage: least recently
 * used first, until the cache is no bigger.  *out = {"CachesDeleted":
 * [ids] or null, "SpaceReclaimed": bytes of the layers removed}. */
int image_build_cache_prune (arca_image_store_t *s, const arca_build_prune_opts_t *o, json_t **out, arca_error_t *err);

#endif
