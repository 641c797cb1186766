/* .dockerignore patterns (buildkit frontend/dockerfile/dockerignore
 * ReadAll and moby 20.10 pkg/fileutils PatternMatcher, the code dockerd's
 * classic builder uses).  The docker CLI and docker-py exclude ignored
 * files from the context themselves; dockerd uses the patterns only to
 * drop the Dockerfile and .dockerignore from the context when they are
 * listed (remotecontext removeDockerfile), and so does Arca. */
#ifndef ARCA_BUILD_IGNORE_H
#define ARCA_BUILD_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* ReadAll: one pattern per line; "#" lines skipped; whitespace trimmed;
 * each pattern cleaned (path.Clean), a leading "/" dropped, "!" kept in
 * front.  NULL-terminated vector. */
char **dockerignore_read (const char *data, size_t len);

/* fileutils.Matches(file, patterns): file is cleaned ("." never
 * matches); the last matching pattern decides ("!p" re-includes); a
 * pattern also matches when it matches a parent directory of file.
 * 1 = excluded, 0 = not, -1 = bad pattern (400 "syntax error in
 * pattern" / "illegal exclusion pattern: \"!\""). */
int dockerignore_matches (const char *file, char **patterns, arca_error_t *err);

/* Go's path.Clean. */
char *go_path_clean (const char *p);

#endif
