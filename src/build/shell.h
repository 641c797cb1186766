/* Dockerfile word expansion: quotes, escapes and $VAR, ${VAR},
 * ${VAR:-word}, ${VAR:+word}, ${VAR?msg}, ${VAR:?msg} (buildkit
 * frontend/dockerfile/shell/lex.go as vendored by moby 20.10, which the
 * classic builder uses for every instruction that expands words).
 *
 * env is a NULL-terminated list of "KEY=value" (or "KEY") entries; a later
 * entry for the same key wins (shell.BuildEnvs).  escape is the
 * Dockerfile's escape token ('\\' or '`'). */
#ifndef ARCA_BUILD_SHELL_H
#define ARCA_BUILD_SHELL_H

#include "util/error.h"

/* ProcessWord: the word with quotes removed and variables substituted
 * (*out malloc'd).  Errors (400) as buildkit's, wrapped as
 * "failed to process \"<word>\": <reason>". */
int shell_process_word (const char *word, char **env, char escape, char **out, arca_error_t *err);
/* ProcessWords: the same, then split into words on unquoted whitespace
 * (including whitespace that came from a substitution); *out is a
 * NULL-terminated vector. */
int shell_process_words (const char *word, char **env, char escape, char ***out, arca_error_t *err);

#endif
