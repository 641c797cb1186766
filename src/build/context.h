/* The build context (moby builder/remotecontext archive.go, detect.go):
 * the request's tar extracted into a private directory under
 * <data-root>/tmp with every path resolved inside it, the tarsum of each
 * entry for the cache, and the Dockerfile taken out of it. */
#ifndef ARCA_BUILD_CONTEXT_H
#define ARCA_BUILD_CONTEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

typedef struct
{
  char *dir;        /* <tmp>/build-XXXXXX (removed by build_context_free) */
  char *root;       /* <dir>/context */
  int rootfd;       /* O_PATH fd of root */
  json_t *sums;     /* {"rel/path": "<tarsum hex>"} */
  bool no_context;  /* a remote plain Dockerfile: COPY has no sources */
} build_context_t;

/* Extract tar_path (NULL or empty: an empty context) under tmp_dir. */
int build_context_open (const char *tmp_dir, const char *tar_path, build_context_t **out, arca_error_t *err);
void build_context_free (build_context_t *c);

/* withDockerfileFromContext: read the Dockerfile (name relative to the
 * context; "Dockerfile" falls back to "dockerfile"), then drop it and
 * .dockerignore from the context when .dockerignore lists them.  400
 * "Cannot locate specified Dockerfile: <name>", "the Dockerfile (<name>)
 * cannot be empty". */
int build_context_dockerfile (build_context_t *c, const char *name, char **data, size_t *len, arca_error_t *err);

/* archiveContext.Hash: the entry's tarsum, or the path itself when the
 * tar had no entry for it (a directory made implicitly). */
const char *build_context_hash (build_context_t *c, const char *rel);

#endif
