/* docker commit --change and docker import --change: Dockerfile
 * instructions applied to an image's Config without building anything
 * (moby builder/dockerfile/builder.go BuildFromConfig): the builder's own
 * parser and dispatchers, with commits disabled, on a state whose
 * run_config is the caller's Config. */
#include "build/internal.h"

#include <string.h>

#include "build/parser.h"
#include "util/cleanup.h"
#include "util/strutil.h"

/* moby validCommitCommands */
static bool
valid_change (const char *cmd)
{
  static const char *const valid[] = { "cmd",     "entrypoint", "healthcheck", "env",    "expose",
                                       "label",   "onbuild",    "user",        "volume", "workdir", NULL };
  for (size_t i = 0; valid[i]; i++)
    if (strcmp (cmd, valid[i]) == 0)
      return true;
  return false;
}

static char *
join_lines (char **changes)
{
  arca_buf_t b = { 0 };
  for (size_t i = 0; changes[i]; i++)
    buf_printf (&b, "%s%s", i ? "\n" : "", changes[i]);
  return b.data ? b.data : xstrdup ("");
}

int
build_apply_changes (json_t *config, char **changes, arca_error_t *err)
{
  if (changes == NULL || changes[0] == NULL)
    return 0;
  _cleanup_free_ char *text = join_lines (changes);
  df_ast_t *ast = NULL;
  int line = 0;
  if (dockerfile_parse (text, strlen (text), &ast, &line, err) < 0)
    {
      err->kind = ARCA_ERR_INVALID;
      return -1;
    }
  int ret = -1;
  instr_t *ins = xmalloc0 ((ast->n ? ast->n : 1) * sizeof *ins);
  size_t n_ins = 0;
  /* All checked and parsed before any is applied, as moby does. */
  for (size_t i = 0; i < ast->n; i++)
    if (!valid_change (ast->nodes[i].cmd))
      {
        arca_error_set (err, ARCA_ERR_INVALID, "%s is not a valid change command", ast->nodes[i].cmd);
        goto out;
      }
  for (; n_ins < ast->n; n_ins++)
    if (instruction_parse (&ast->nodes[n_ins], &ins[n_ins], err) < 0)
      {
        err->kind = ARCA_ERR_INVALID;
        goto out;
      }
  char no_image[] = "";
  dstate_t state = { .run_config = config, .image_id = no_image, .args = buildargs_new (NULL) };
  build_t b = { .escape = ast->escape, .state = &state, .disable_commit = true };
  ret = 0;
  for (size_t i = 0; i < n_ins && ret == 0; i++)
    if (dispatch (&b, &ins[i], err) < 0)
      {
        err->kind = ARCA_ERR_INVALID;
        ret = -1;
      }
  free (state.maintainer);
  buildargs_free (state.args);
out:
  for (size_t i = 0; i < n_ins; i++)
    instr_clear (&ins[i]);
  free (ins);
  df_ast_free (ast);
  return ret;
}
