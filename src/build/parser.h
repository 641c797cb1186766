/* Dockerfile syntax: lines, comments, parser directives, line
 * continuations and the per-instruction argument forms (buildkit
 * frontend/dockerfile/parser as vendored by moby 20.10: parser.go,
 * line_parsers.go, split_command.go).  The result is one node per
 * instruction; typing and validation per instruction is in
 * instructions.h. */
#ifndef ARCA_BUILD_PARSER_H
#define ARCA_BUILD_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

typedef struct df_node
{
  char *cmd;            /* lower-case instruction ("run", "from", ...) */
  char **flags;         /* "--x=y" builder flags before the arguments */
  char **args;          /* moby instructions.nodeArgs(): for ENV/LABEL key, value, key, value...;
                           for ONBUILD the sub-instruction's cmd then its args */
  bool json;            /* the arguments were a JSON array (exec form) */
  char *original;       /* the whole logical line (continuations joined) */
  int start_line, end_line; /* 1-based */
  struct df_node *sub;  /* ONBUILD: the trigger instruction */
} df_node_t;

typedef struct
{
  df_node_t *nodes;
  size_t n;
  char escape;          /* '\\' or '`' (the escape parser directive) */
  char **warnings;      /* "[WARNING]: Empty continuation line found in: ..." lines */
} df_ast_t;

/* Parse a Dockerfile (data need not be NUL-terminated).  Errors (400) are
 * buildkit's texts without location ("file with no instructions",
 * "invalid escape token '%s' does not match ` or \\", "ENV must have two
 * arguments", "when using JSON array syntax, arrays must be comprised of
 * strings only", "dockerfile line greater than max allowed size of
 * 65535", ...); *err_line gets the 1-based line (may be NULL). */
int dockerfile_parse (const char *data, size_t len, df_ast_t **out, int *err_line, arca_error_t *err);
void df_ast_free (df_ast_t *ast);
void df_node_clear (df_node_t *n);

/* parseWords of line_parsers.go: split on whitespace keeping quotes and
 * escapes in the words (they are removed later by word expansion).
 * Exposed for the unit tests. */
char **df_parse_words (const char *rest, char escape);

#endif
