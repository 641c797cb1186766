/* Images in the engine: the /images verbs and POST /auth as the API layer
 * calls them.  The image store (image/image.h) and the registry client
 * (image/registry.h) stay behind this header: src/api/ calls only the
 * engine (docs/design.md, "Processes").  Each function documents the
 * dockerd behaviour it keeps; the details are in the image/ function it
 * names. */
#ifndef ARCA_ENGINE_IMAGES_H
#define ARCA_ENGINE_IMAGES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"
#include "util/error.h"

/* Receives one line of text ("Loaded image: busybox:latest"). */
typedef void (*engine_image_line_fn) (void *ctx, const char *line);
/* Receives bytes of a tar stream; returns 0, or -1 to abort (client gone). */
typedef int (*engine_image_sink_fn) (void *ctx, const void *data, size_t len);
/* Receives one progress message (a JSONMessage object, borrowed); returns
 * -1 once the client has gone away (the operation is abandoned). */
typedef int (*engine_image_progress_fn) (void *ctx, json_t *msg);

/* GET /images/json: ImageSummary array (image_list_json).  filters: parsed
 * filters object or NULL. */
int engine_image_list (arca_engine_t *e, json_t *filters, bool all, json_t **out, arca_error_t *err);
/* GET /images/{name}/json: ImageInspect (image_inspect_json); 404 "No such
 * image: <ref>". */
int engine_image_inspect (arca_engine_t *e, const char *ref, json_t **out, arca_error_t *err);
/* POST /images/{name}/tag?repo=&tag= (image_tag): 404 if the source is
 * missing, 400 for a bad reference. */
int engine_image_tag (arca_engine_t *e, const char *src, const char *repo, const char *tag, arca_error_t *err);
/* DELETE /images/{name}: *out = [{"Untagged"}|{"Deleted"}] (image_remove),
 * 409 while a container uses it unless forced. */
int engine_image_remove (arca_engine_t *e, const char *ref, bool force, bool noprune, json_t **out,
                         arca_error_t *err);
/* Number of images (GET /info "Images"); 0 when the store cannot say. */
int engine_image_count (arca_engine_t *e);

/* POST /images/load: the docker save / OCI layout tarball at tar_path;
 * line gets each "Loaded image..." line (image_load). */
int engine_image_load (arca_engine_t *e, const char *tar_path, engine_image_line_fn line, void *ctx,
                       arca_error_t *err);
/* POST /images/create?fromSrc=-: the tar at tar_path as a one-layer image
 * whose Config is the --change instructions applied to an empty one (moby
 * daemon/images ImportImage).  *image_id: "sha256:<hex>". */
int engine_image_import (arca_engine_t *e, const char *tar_path, const char *repo, const char *tag, char **changes,
                         const char *message, char **image_id, arca_error_t *err);

/* GET /images/get, /images/{name}/get (docker save): prepare resolves
 * every name (404 before any byte is sent); write produces the tar through
 * sink (image_save_prepare, image_save_write). */
typedef struct arca_image_save engine_image_save_t; /* opaque: image/image.h's */
int engine_image_save_prepare (arca_engine_t *e, char **names, engine_image_save_t **out, arca_error_t *err);
int engine_image_save_write (engine_image_save_t *sv, engine_image_sink_fn sink, void *ctx, arca_error_t *err);
void engine_image_save_free (engine_image_save_t *sv);

/* GET /images/{name}/history (image_history_json). */
int engine_image_history (arca_engine_t *e, const char *ref, json_t **out, arca_error_t *err);
/* POST /images/prune: {"ImagesDeleted", "SpaceReclaimed"} (image_prune). */
int engine_image_prune (arca_engine_t *e, json_t *filters, json_t **out, arca_error_t *err);

/* POST /images/create?fromImage= (docker pull).  prepare decodes the
 * X-Registry-Auth value x_registry_auth (NULL or "" = no credentials),
 * reaches the registry and fetches manifest and config: its errors are the
 * HTTP errors dockerd answers with (image_pull_prepare).  run downloads,
 * unpacks and tags, emitting dockerd's progress messages. */
typedef struct image_pull engine_image_pull_t; /* opaque: image/registry.h's */
int engine_image_pull_prepare (arca_engine_t *e, const char *ref, const char *platform, const char *x_registry_auth,
                               engine_image_pull_t **out, arca_error_t *err);
int engine_image_pull_run (engine_image_pull_t *p, engine_image_progress_fn emit, void *ctx, arca_error_t *err);
void engine_image_pull_free (engine_image_pull_t *p);

/* POST /images/{name}/push?tag= (docker push).  prepare decodes the
 * X-Registry-Auth value (its errors come before the answer starts); run
 * pushes name's tag (NULL or "" = every tag of the repository), emitting
 * progress (image_push). */
typedef struct engine_image_push engine_image_push_t;
int engine_image_push_prepare (arca_engine_t *e, const char *name, const char *tag, const char *x_registry_auth,
                               engine_image_push_t **out, arca_error_t *err);
int engine_image_push_run (engine_image_push_t *p, engine_image_progress_fn emit, void *ctx, arca_error_t *err);
void engine_image_push_free (engine_image_push_t *p);

/* POST /auth: the AuthConfig body (username, password, serveraddress, ...;
 * NULL = empty credentials) checked against the registry's /v2/
 * (registry_login). */
int engine_registry_login (arca_engine_t *e, json_t *auth_config, arca_error_t *err);

#endif
