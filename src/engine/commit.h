/* Container filesystem verbs: docker diff (changes), docker export and
 * docker commit, all computed from the container's writable layer
 * <data-root>/containers/<id>/upper (overlay form: whiteouts are char
 * devices 0/0, opaque dirs carry trusted.overlay.opaque=y) and its image's
 * layers.  They work on running and stopped containers alike. */
#ifndef ARCA_ENGINE_COMMIT_H
#define ARCA_ENGINE_COMMIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "engine/container.h"
#include "engine/engine.h"
#include "util/error.h"

/* GET /containers/{id}/changes: *out = [{"Path": "/tmp", "Kind": 0}, ...]
 * in walk (lexical, parent first) order, as dockerd's naive diff (moby
 * pkg/archive ChangesDirs) reports them: Kind 1 added (no lower layer has
 * the path), 0 modified (a file the lower layers have; a directory whose
 * mode or owner changed; every ancestor of a change), 2 deleted (overlay
 * whiteout).  The paths dockerd keeps in its init layer (/etc/hosts,
 * /etc/hostname, /etc/resolv.conf, /.dockerenv mount points; /dev, /proc,
 * /sys) are not changes.  An empty array when nothing changed. */
int container_changes_json (arca_engine_t *e, arca_container_t *c, json_t **out, arca_error_t *err);

/* GET /containers/{id}/export: the whole filesystem (image layers + the
 * writable layer) as a tar stream, as `docker export`.  open mounts a
 * private read-only overlay (the writable layer as the top lower dir, so a
 * running container's own mount and a concurrent start are untouched);
 * write produces the tar through write_fn (which returns -1 to stop);
 * close unmounts and removes it. */
typedef struct arca_export arca_export_t;
int container_export_open (arca_engine_t *e, arca_container_t *c, arca_export_t **out, arca_error_t *err);
int container_export_write (arca_export_t *x, int (*write_fn) (void *ctx, const void *data, size_t len), void *ctx,
                            arca_error_t *err);
void container_export_close (arca_export_t *x);

/* POST /commit (moby daemon/commit.go CreateImageFromContainer). */
typedef struct
{
  const char *repo, *tag;   /* NULL/"": untagged */
  const char *comment, *author;
  char **changes;           /* Dockerfile instructions (CMD, ENV, ...) or NULL */
  json_t *config;           /* request body Config or NULL */
  bool pause;               /* freeze a running container meanwhile */
} arca_commit_opts_t;

/* The writable layer becomes a layer in Docker format (whiteouts as
 * ".wh.<name>", opaque dirs as ".wh..wh..opq") on top of the container's
 * image.  The new config is the body Config (without one: the container's
 * Config, as dockerd) with the changes applied, then merged with the
 * container's Config (moby merge: User, ExposedPorts, Env by
 * key, Labels, Cmd/Entrypoint when no Entrypoint given, WorkingDir,
 * Volumes, StopSignal).  409 "You cannot commit container <id> which is
 * being removed" / "which is dead".  *image_id = "sha256:<hex>". */
int container_commit (arca_engine_t *e, arca_container_t *c, const arca_commit_opts_t *o, char **image_id,
                      arca_error_t *err);

/* The classic builder's CommitBuildStep (moby daemon/commit.go): the
 * writable layer on the container's image, with the builder's config and
 * container_config (NULL: the container's own Config) and author; the
 * image is a build step (image.h build cache).  409 as container_commit. */
int container_commit_build (arca_engine_t *e, arca_container_t *c, json_t *config, json_t *container_config,
                            const char *author, char **image_id, arca_error_t *err);

/* The Docker layer tar (whiteouts as ".wh.<name>", opaque directories as
 * ".wh..wh..opq") of any overlay upper directory, written to fd: what a
 * commit makes of a writable layer, for layers the builder writes itself
 * (COPY, ADD). */
int layer_tar_write_upper (const char *upper, int fd, arca_error_t *err);

#endif
