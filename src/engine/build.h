/* docker build, engine side: the classic builder (src/build) run with the
 * engine's containers as its backend (moby daemon/build.go and
 * builder.Backend), and the build cache verbs (POST /build/prune). */
#ifndef ARCA_ENGINE_BUILD_H
#define ARCA_ENGINE_BUILD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "build/build.h"
#include "engine/engine.h"
#include "util/error.h"

typedef struct arca_engine_build arca_engine_build_t;

/* Release what a build_options_t holds (the API layer fills one from the
 * query). */
void engine_build_options_clear (build_options_t *o);

/* build_prepare with this engine's image store and containers; tar_path
 * is the request body (the context tar, spooled to a file; NULL when the
 * body was empty).  Errors are HTTP errors (see build.h). */
int engine_build_prepare (arca_engine_t *e, const build_options_t *o, const char *tar_path,
                          arca_engine_build_t **out, arca_error_t *err);
/* build_execute (see build.h). */
int engine_build_run (arca_engine_build_t *b, build_emit_fn emit, void *ctx, int cancel_fd, char **image_id,
                      int *code, arca_error_t *err);
void engine_build_flush_quiet (arca_engine_build_t *b, build_emit_fn emit, void *ctx);
void engine_build_free (arca_engine_build_t *b);

/* POST /build/prune (image.h image_build_cache_prune). */
int engine_build_prune (arca_engine_t *e, json_t *filters, bool all, int64_t keep_storage, json_t **out,
                        arca_error_t *err);

#endif
