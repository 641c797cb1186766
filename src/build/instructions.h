/* Typed Dockerfile instructions and build stages, validated as buildkit's
 * frontend/dockerfile/instructions (parse.go, bflag.go, commands.go as
 * vendored by moby 20.10) does before the classic builder runs anything.
 * Values are as written: word expansion happens at dispatch. */
#ifndef ARCA_BUILD_INSTRUCTIONS_H
#define ARCA_BUILD_INSTRUCTIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "build/parser.h"
#include "util/error.h"

typedef enum
{
  INS_ENV,
  INS_MAINTAINER,
  INS_LABEL,
  INS_ADD,
  INS_COPY,
  INS_ONBUILD,
  INS_WORKDIR,
  INS_RUN,
  INS_CMD,
  INS_HEALTHCHECK,
  INS_ENTRYPOINT,
  INS_EXPOSE,
  INS_USER,
  INS_VOLUME,
  INS_STOPSIGNAL,
  INS_ARG,
  INS_SHELL,
} ins_kind_t;

typedef struct
{
  char *key;
  char *value;          /* NULL: ARG without a default */
} ins_pair_t;

typedef struct
{
  ins_kind_t kind;
  char *code;           /* the instruction as written, trimmed (Step N/M : <code>) */
  int line;
  /* ENV, LABEL (key/value pairs), ARG (value may be NULL) */
  ins_pair_t *pairs;
  size_t n_pairs;
  bool no_expand;       /* LABEL from the build's labels option */
  /* ADD/COPY: sources then destination; EXPOSE: ports; VOLUME: paths;
   * RUN/CMD/ENTRYPOINT/SHELL: the command line (shell form: one element) */
  char **args;
  bool prepend_shell;   /* RUN/CMD/ENTRYPOINT in shell form */
  bool cmd_nil;         /* ENTRYPOINT with an empty command line: null */
  /* MAINTAINER, WORKDIR, USER, STOPSIGNAL value; ONBUILD expression */
  char *str;
  /* ADD/COPY flags */
  char *chown, *chmod, *from;
  /* RUN: the flags given (the classic builder refuses them) */
  char **flags_used;
  /* HEALTHCHECK: HealthConfig {"Test":[...],"Interval":ns,...} */
  json_t *health;
  /* HEALTHCHECK fields as given, for the history text */
  int64_t hc_interval, hc_timeout, hc_start_period, hc_retries;
} instr_t;

typedef struct
{
  char *name;           /* lower-cased "AS" name or NULL */
  char *base;           /* FROM's image as written */
  char *platform;       /* --platform or NULL */
  char *code;           /* "FROM ... AS ..." as written */
  instr_t *cmds;
  size_t n_cmds;
} stage_t;

typedef struct
{
  stage_t *stages;
  size_t n_stages;
  instr_t *meta_args;   /* ARGs before the first FROM */
  size_t n_meta_args;
} dockerfile_t;

/* instructions.Parse: 400 "dockerfile parse error line <n>: <reason>"
 * (e.g. "unknown instruction: FOO", "Unknown flag: x", "ENV requires at
 * least one argument", "no build stage in current context"). */
int dockerfile_compile (const df_ast_t *ast, dockerfile_t **out, arca_error_t *err);
void dockerfile_free (dockerfile_t *df);

/* ParseCommand for one node (ONBUILD triggers): errors unwrapped. */
int instruction_parse (const df_node_t *node, instr_t *out, arca_error_t *err);
void instr_clear (instr_t *i);
/* Append a LABEL key=value that is not expanded (the build's labels
 * option, moby NewLabelCommand); code "LABEL key=value". */
void stage_add_label (stage_t *s, const char *key, const char *value);

#endif
