/* Internals shared by the builder's files (builder.c, dispatch.c,
 * copy.c, buildargs.c).  Not part of the module API. */
#ifndef ARCA_BUILD_INTERNAL_H
#define ARCA_BUILD_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "build/build.h"
#include "build/context.h"
#include "build/instructions.h"
#include "image/image.h"
#include "util/error.h"

/* ---- build args (moby builder/dockerfile/buildargs.go) ---- */
typedef struct
{
  json_t *allowed;    /* ARGs declared in the stage: key -> default or null */
  json_t *meta;       /* ARGs before the first FROM: key -> default or null */
  json_t *referenced; /* every key an ARG declared */
  json_t *options;    /* --build-arg: key -> value or null (borrowed reference held) */
} buildargs_t;

buildargs_t *buildargs_new (json_t *options);
buildargs_t *buildargs_clone (const buildargs_t *b);
void buildargs_free (buildargs_t *b);
void buildargs_reset_allowed (buildargs_t *b);
void buildargs_add_arg (buildargs_t *b, const char *key, const char *value);
void buildargs_add_meta (buildargs_t *b, const char *key, const char *value);
/* GetAllAllowed / GetAllMeta as "k=v" entries, sorted. */
char **buildargs_all_allowed (const buildargs_t *b);
char **buildargs_all_meta (const buildargs_t *b);
/* FilterAllowed: allowed args whose key env does not set, "k=v", sorted. */
char **buildargs_filter_allowed (const buildargs_t *b, char **env);
bool buildargs_referenced_or_not_builtin (const buildargs_t *b, const char *key);
void buildargs_merge_referenced (buildargs_t *dst, const buildargs_t *src);
/* --build-arg keys nothing used and that are not proxy args, sorted. */
char **buildargs_unused (const buildargs_t *b);

/* ---- dispatch state (moby evaluator.go dispatchState) ---- */
typedef struct
{
  json_t *run_config;     /* container.Config of the image being built */
  char *image_id;         /* "" before the first commit of a FROM scratch stage */
  bool has_base;          /* a FROM was dispatched (baseImage set) */
  char *stage_name;
  buildargs_t *args;
  char *maintainer;
  bool cmd_set;
} dstate_t;

struct build
{
  build_options_t o;
  arca_image_store_t *images;
  build_backend_t be;
  build_context_t *ctx;
  dockerfile_t *df;
  char escape;
  char **warnings;
  /* output */
  build_emit_fn emit;
  void *emit_ctx;
  int cancel_fd;
  json_t *quiet_buf;      /* messages held back by a quiet build */
  bool client_gone;
  /* cache */
  bool cache_busted;
  char **cache_from;      /* --cache-from image IDs */
  char **used_cache;      /* records hit, touched at the end */
  /* stages built so far (stagesBuildResults) */
  json_t *stage_flat;     /* [Config with "Image"] */
  json_t *stage_names;    /* name -> index */
  /* containers of the current instruction (containerManager) */
  char **tmp_containers;
  /* images this build holds against a prune */
  char **holds;
  buildargs_t *args;
  dstate_t *state;
  int failed_code;        /* the exit status of a failed RUN */
  bool disable_commit;    /* commit/import --change: Config only (moby disableCommit) */
};

/* ---- output (builder.c) ---- */
int out_stream (build_t *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
int out_stderr (build_t *b, const char *data, size_t len);
int out_msg (build_t *b, json_t *msg); /* steals msg */
bool build_cancelled (build_t *b);

/* ---- steps (builder.c) ---- */
/* The shell for shell-form commands: Config.Shell or ["/bin/sh","-c"]. */
json_t *state_shell (const dstate_t *s);
/* commit(): the metadata step with comment, cache probe first. */
int step_commit (build_t *b, const char *comment, arca_error_t *err);
/* probeCache: 1 on a hit (state moved to it, "Using cache" printed). */
int step_probe (build_t *b, json_t *probe_config, arca_error_t *err);
/* create(): a step container from run_config (" ---> Running in <id>"). */
int step_create (build_t *b, json_t *run_config, char **id, arca_error_t *err);
/* commitContainer(): the container as the state's next image;
 * container_config NULL: the container's own Config. */
int step_commit_container (build_t *b, const char *id, json_t *container_config, arca_error_t *err);
/* A new image made without a container (COPY, ADD): layer from upper. */
int step_commit_upper (build_t *b, const char *upper, json_t *container_config, arca_error_t *err);
/* An empty-layer image on no parent (FROM scratch, before any file). */
int step_commit_upper_empty (build_t *b, json_t *container_config, arca_error_t *err);
/* Remove the instruction's containers ("Removing intermediate container"). */
void containers_remove_all (build_t *b);
/* Hold an image against prune for the rest of the build. */
void build_hold (build_t *b, const char *id);
/* An image for FROM or COPY --from (local, or pulled unless local_only);
 * *id, *config (the whole config blob). */
int build_get_image (build_t *b, const char *ref, bool local_only, const char *platform, char **id, json_t **config,
                     arca_error_t *err);

/* ---- dispatchers (dispatch.c, copy.c) ---- */
int dispatch (build_t *b, instr_t *ins, arca_error_t *err);
int dispatch_copy (build_t *b, instr_t *ins, char **envs, arca_error_t *err);
/* The Config object with every field of moby's container.Config in its
 * order (missing ones null/empty as Go marshals them). */
json_t *config_normalize (json_t *c);
/* The expansion environment: Env plus the allowed build args it lacks. */
char **state_envs (const dstate_t *s);

#endif
