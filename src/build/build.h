/* The classic builder (moby 20.10 builder/dockerfile, the builder dockerd
 * runs for POST /build without BuildKit): a Dockerfile run step by step,
 * each step committed as an image through image/, RUN steps in real
 * containers through the engine's create/start/wait path, the classic
 * cache, and Docker's output stream.
 *
 * Layering: build/ sits between engine/ and image/.  It calls image/
 * directly (images, layers, commits, the cache) and reaches containers
 * only through the build_backend_t the engine hands it (moby's
 * builder.Backend), so the engine's container code never depends on the
 * builder.
 *
 * Threads: build_prepare runs in the request's thread, build_execute in
 * the response's stream thread; a build_t is used by one thread at a
 * time.  Several builds may run at once. */
#ifndef ARCA_BUILD_BUILD_H
#define ARCA_BUILD_BUILD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

/* image/image.h's store, opaque here: this header reaches src/api/ through
 * engine/build.h (build_options_t), which must not pull the image module
 * in (module rule: api calls only engine). */
typedef struct arca_image_store arca_image_store_t;

/* POST /build query parameters (moby api/server/router/build
 * newImageBuildOptions), parsed by the API layer. */
typedef struct
{
  char **tags;            /* t, repeatable */
  char *dockerfile;       /* path in the context; NULL = "Dockerfile" */
  json_t *build_args;     /* {"K": "v" | null} */
  char *target;
  bool no_cache, pull, remove, force_remove, quiet;
  json_t *labels;         /* {"k": "v"} */
  char *network_mode;     /* "" = default */
  char *platform;         /* "" = this host */
  char **cache_from;
  int64_t shm_size, memory, memory_swap, cpu_shares, cpu_period, cpu_quota;
  char *cpuset_cpus, *cpuset_mems, *cgroup_parent;
  char **extra_hosts;
  json_t *ulimits;        /* [{"Name","Soft","Hard"}] or NULL */
  char *remote;           /* remote context URL or NULL */
  json_t *auth_configs;   /* X-Registry-Config: {"registry": AuthConfig} or NULL */
  bool want_aux;          /* API >= 1.30: {"aux":{"ID":...}} after each stage */
} build_options_t;

void build_options_clear (build_options_t *o);

/* docker commit/import --change (moby BuildFromConfig): the instructions
 * (each string may hold several lines) applied to config in place.  Only
 * CMD, ENTRYPOINT, HEALTHCHECK, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME
 * and WORKDIR; 400 "<cmd> is not a valid change command" for the others,
 * the builder's parse errors otherwise.  Nothing is built or stored. */
int build_apply_changes (json_t *config, char **changes, arca_error_t *err);

/* One chunk of a RUN step's output: stream 1 stdout, 2 stderr. */
typedef int (*build_output_fn) (void *ctx, int stream, const char *data, size_t len);

/* What the builder needs from the engine (moby builder.Backend and
 * ExecBackend).  Every call returns 0 or -1 with *err. */
typedef struct
{
  void *ctx;
  /* ContainerCreate: body is a ContainerCreateRequest (Config fields,
   * HostConfig); *id gets the full ID, *warnings a strv (may be empty). */
  int (*create) (void *ctx, json_t *body, char **id, char ***warnings, arca_error_t *err);
  /* Attach to stdout and stderr, start, relay the output until it ends,
   * wait: *exit_code.  cancel_fd becoming readable kills the container
   * and ends the call with -1 (a cancelled build). */
  int (*run) (void *ctx, const char *id, build_output_fn out, void *out_ctx, int cancel_fd, int *exit_code,
              arca_error_t *err);
  /* ContainerRm force + volumes. */
  int (*remove) (void *ctx, const char *id, arca_error_t *err);
  /* CommitBuildStep: the container's writable layer on top of its image
   * with config as the image's "config", container_config (NULL: the
   * container's own Config, as the classic builder's metadata steps
   * record it), author; a build step image (build cache). */
  int (*commit) (void *ctx, const char *id, json_t *config, json_t *container_config, const char *author,
                 char **image_id, arca_error_t *err);
  /* ContainerCreateWorkdir: make the container's WorkingDir (and missing
   * parents, 0755, root) in its root filesystem. */
  int (*create_workdir) (void *ctx, const char *id, arca_error_t *err);
  /* The Docker layer tar of an overlay upper directory (the walk docker
   * commit does), written to fd: COPY and ADD layers. */
  int (*write_upper_layer) (void *ctx, const char *upper, int fd, arca_error_t *err);
} build_backend_t;

/* Receives every message of the output stream (JSONMessage objects:
 * {"stream"}, {"aux"}, {"status","progressDetail","id"}, borrowed);
 * returns -1 once the client has gone away. */
typedef int (*build_emit_fn) (void *ctx, json_t *msg);

typedef struct build build_t;

/* Everything dockerd does before the first byte of output: the tags,
 * the context (tar_path: the request body, NULL if none; extracted under
 * tmp_dir), the Dockerfile read, parsed and compiled, the target stage
 * and the platform.  Errors are the HTTP errors dockerd answers with
 * (400 "dockerfile parse error line 3: unknown instruction: FOO", 400
 * "failed to reach build target x in Dockerfile", 500 "Cannot locate
 * specified Dockerfile: Dockerfile", ...).  o is copied. */
int build_prepare (arca_image_store_t *images, const build_backend_t *be, const build_options_t *o,
                   const char *tar_path, const char *tmp_dir, build_t **out, arca_error_t *err);

/* Run the build, writing the output stream through emit: "Step 1/7 :
 * FROM busybox", " ---> Running in <12 hex>", " ---> <12 hex>",
 * "Removing intermediate container <12 hex>", "Successfully built <12
 * hex>", "Successfully tagged name:tag"; with quiet only the image ID at
 * the end ("sha256:...\n").  A failure after the first message is
 * returned here for the caller to end the stream with an error message
 * (with *code the RUN's exit status when a RUN failed, else 0): "The
 * command '/bin/sh -c false' returned a non-zero code: 1".  cancel_fd
 * (or -1) becomes readable when the client has gone. */
int build_execute (build_t *b, build_emit_fn emit, void *ctx, int cancel_fd, char **image_id, int *code,
                   arca_error_t *err);

/* The output buffered by a quiet build, emitted before its error (moby
 * postBuild errf). */
void build_flush_quiet (build_t *b, build_emit_fn emit, void *ctx);

void build_free (build_t *b);

/* At daemon start: what builds of a daemon that died left under tmp_dir
 * (build-* directories with their overlay mounts, remote-* downloads)
 * is unmounted and removed. */
void build_sweep (const char *tmp_dir);

#endif
