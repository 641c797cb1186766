/* Typed instructions after buildkit's frontend/dockerfile/instructions
 * (moby 20.10 vendor): parse.go (per-instruction checks and messages),
 * bflag.go (builder flags), support.go (shell and exec forms). */
#include "build/instructions.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "build/gofmt.h"
#include "util/cleanup.h"
#include "util/strutil.h"
#include "util/timeutil.h"

/* ---- builder flags (bflag.go) -------------------------------------------------------------- */

typedef enum { FLAG_BOOL, FLAG_STRING, FLAG_STRINGS } flag_type_t;

typedef struct
{
  const char *name;
  flag_type_t type;
  char *value;          /* string: the value ("" default); bool: "true"/"false" */
  char **values;        /* strings */
  bool used;
} bflag_t;

static void
bflags_clear (bflag_t *f, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (f[i].value);
      strv_free (f[i].values);
    }
}

/* BFlags.Parse */
static int
bflags_parse (char **args, bflag_t *flags, size_t n, arca_error_t *err)
{
  for (size_t i = 0; args && args[i]; i++)
    {
      const char *arg = args[i];
      if (!str_has_prefix (arg, "--"))
        return arca_error_set (err, ARCA_ERR_INVALID, "Arg should start with -- : %s", arg);
      if (strcmp (arg, "--") == 0)
        return 0;
      arg += 2;
      const char *eq = strchr (arg, '=');
      _cleanup_free_ char *name = eq ? strndup (arg, (size_t) (eq - arg)) : xstrdup (arg);
      const char *value = eq ? eq + 1 : "";
      bflag_t *f = NULL;
      for (size_t j = 0; j < n; j++)
        if (strcmp (flags[j].name, name) == 0)
          f = &flags[j];
      if (f == NULL)
        return arca_error_set (err, ARCA_ERR_INVALID, "Unknown flag: %s", name);
      if (f->used && f->type != FLAG_STRINGS)
        return arca_error_set (err, ARCA_ERR_INVALID, "Duplicate flag specified: %s", name);
      f->used = true;
      switch (f->type)
        {
        case FLAG_BOOL:
          if (eq && *value == '\0')
            return arca_error_set (err, ARCA_ERR_INVALID, "Missing a value on flag: %s", name);
          if (*value == '\0' || strcasecmp (value, "true") == 0)
            {
              free (f->value);
              f->value = xstrdup ("true");
            }
          else if (strcasecmp (value, "false") == 0)
            {
              free (f->value);
              f->value = xstrdup ("false");
            }
          else
            return arca_error_set (err, ARCA_ERR_INVALID, "Expecting boolean value for flag %s, not: %s", name,
                                   value);
          break;
        case FLAG_STRING:
          if (eq == NULL)
            return arca_error_set (err, ARCA_ERR_INVALID, "Missing a value on flag: %s", name);
          free (f->value);
          f->value = xstrdup (value);
          break;
        case FLAG_STRINGS:
          if (eq == NULL)
            return arca_error_set (err, ARCA_ERR_INVALID, "Missing a value on flag: %s", name);
          f->values = strv_append (f->values ? f->values : xmalloc0 (sizeof (char *)), value);
          break;
        }
    }
  return 0;
}

/* A flag's value, NULL when empty (as the Go code tests `!= ""`). */
static char *
flag_take (bflag_t *f)
{
  if (f->value == NULL || *f->value == '\0')
    return NULL;
  char *v = f->value;
  f->value = NULL;
  return v;
}

/* Instructions that take no flags still run BFlags.Parse: any flag is
 * "Unknown flag". */
static int
no_flags (const df_node_t *n, arca_error_t *err)
{
  return bflags_parse (n->flags, NULL, 0, err);
}

/* ---- helpers -------------------------------------------------------------------------------- */

static char *
upper (const char *s)
{
  char *u = xstrdup (s);
  for (char *c = u; *c; c++)
    *c = (char) toupper ((unsigned char) *c);
  return u;
}

static size_t
nargs (const df_node_t *n)
{
  return strv_len (n->args);
}

/* handleJSONArgs: exec form as is, shell form joined into one string. */
static char **
json_args (const df_node_t *n)
{
  if (nargs (n) == 0)
    return xmalloc0 (sizeof (char *));
  if (n->json)
    return strv_copy (n->args);
  arca_buf_t b = { 0 };
  buf_append (&b, "", 0);
  for (size_t i = 0; n->args[i]; i++)
    {
      if (i > 0)
        buf_append (&b, " ", 1);
      buf_append (&b, n->args[i], strlen (n->args[i]));
    }
  char **v = strv_append (xmalloc0 (sizeof (char *)), b.data);
  buf_free (&b);
  return v;
}

static int
err_at_least_one (arca_error_t *err, const char *cmd)
{
  return arca_error_set (err, ARCA_ERR_INVALID, "%s requires at least one argument", cmd);
}

static int
err_exactly_one (arca_error_t *err, const char *cmd)
{
  return arca_error_set (err, ARCA_ERR_INVALID, "%s requires exactly one argument", cmd);
}

static int
err_no_destination (arca_error_t *err, const char *cmd)
{
  return arca_error_set (err, ARCA_ERR_INVALID,
                         "%s requires at least two arguments, but only one was provided. Destination could not be "
                         "determined",
                         cmd);
}

/* parseKvps */
static int
parse_kvps (const df_node_t *n, const char *cmd, instr_t *out, arca_error_t *err)
{
  size_t k = nargs (n);
  if (k == 0)
    return err_at_least_one (err, cmd);
  if (k % 2 != 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "Bad input to %s, too many arguments", cmd);
  out->pairs = xmalloc0 ((k / 2) * sizeof *out->pairs);
  for (size_t j = 0; j < k; j += 2)
    {
      if (n->args[j][0] == '\0')
        return arca_error_set (err, ARCA_ERR_INVALID, "%s names can not be blank", cmd);
      out->pairs[out->n_pairs].key = xstrdup (n->args[j]);
      out->pairs[out->n_pairs].value = xstrdup (n->args[j + 1]);
      out->n_pairs++;
    }
  return 0;
}

/* parseOptInterval: a Go duration of at least 1ms (container.MinimumDuration), 0 if unset. */
static int
parse_interval (bflag_t *f, int64_t *ns, arca_error_t *err)
{
  *ns = 0;
  if (f->value == NULL || *f->value == '\0')
    return 0;
  if (time_parse_go_duration (f->value, ns) < 0)
    {
      _cleanup_free_ char *msg = time_go_duration_error (f->value);
      return arca_error_set (err, ARCA_ERR_INVALID, "%s", msg);
    }
  if (*ns < 1000000)
    return arca_error_set (err, ARCA_ERR_INVALID, "Interval \"%s\" cannot be less than 1ms", f->name);
  return 0;
}

static int
parse_healthcheck (const df_node_t *n, instr_t *out, arca_error_t *err)
{
  if (nargs (n) == 0)
    return err_at_least_one (err, "HEALTHCHECK");
  _cleanup_free_ char *typ = upper (n->args[0]);
  size_t rest = nargs (n) - 1;
  if (strcmp (typ, "NONE") == 0)
    {
      if (rest != 0)
        return arca_error_set (err, ARCA_ERR_INVALID, "HEALTHCHECK NONE takes no arguments");
      out->health = json_pack ("{s:[s]}", "Test", "NONE");
      return 0;
    }
  bflag_t f[] = {
    { "interval", FLAG_STRING, xstrdup (""), NULL, false },
    { "timeout", FLAG_STRING, xstrdup (""), NULL, false },
    { "start-period", FLAG_STRING, xstrdup (""), NULL, false },
    { "retries", FLAG_STRING, xstrdup (""), NULL, false },
  };
  int ret = -1;
  json_t *test = NULL;
  char **cmd = NULL;
  if (bflags_parse (n->flags, f, 4, err) < 0)
    goto out;
  if (strcmp (typ, "CMD") != 0)
    {
      arca_error_set (err, ARCA_ERR_INVALID, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", typ);
      goto out;
    }
  df_node_t sub = *n;
  sub.args = n->args + 1;
  cmd = json_args (&sub);
  if (cmd[0] == NULL)
    {
      arca_error_set (err, ARCA_ERR_INVALID, "Missing command after HEALTHCHECK CMD");
      goto out;
    }
  test = json_array ();
  json_array_append_new (test, json_string (n->json ? "CMD" : "CMD-SHELL"));
  for (size_t i = 0; cmd[i]; i++)
    json_array_append_new (test, json_string (cmd[i]));
  if (parse_interval (&f[0], &out->hc_interval, err) < 0 || parse_interval (&f[1], &out->hc_timeout, err) < 0
      || parse_interval (&f[2], &out->hc_start_period, err) < 0)
    goto out;
  if (f[3].value && *f[3].value)
    {
      char *end;
      errno = 0;
      long long r = strtoll (f[3].value, &end, 10);
      if (*end || end == f[3].value || errno == ERANGE || r > INT32_MAX || r < INT32_MIN)
        {
          arca_error_set (err, ARCA_ERR_INVALID, "strconv.ParseInt: parsing \"%s\": %s", f[3].value,
                          (errno == ERANGE || (*end == '\0' && end != f[3].value)) ? "value out of range"
                                                                                   : "invalid syntax");
          goto out;
        }
      if (r < 1)
        {
          arca_error_set (err, ARCA_ERR_INVALID, "--retries must be at least 1 (not %lld)", r);
          goto out;
        }
      out->hc_retries = r;
    }
  /* container.HealthConfig with omitempty fields */
  out->health = json_pack ("{s:O}", "Test", test);
  if (out->hc_interval)
    json_object_set_new (out->health, "Interval", json_integer (out->hc_interval));
  if (out->hc_timeout)
    json_object_set_new (out->health, "Timeout", json_integer (out->hc_timeout));
  if (out->hc_start_period)
    json_object_set_new (out->health, "StartPeriod", json_integer (out->hc_start_period));
  if (out->hc_retries)
    json_object_set_new (out->health, "Retries", json_integer (out->hc_retries));
  ret = 0;
out:
  strv_free (cmd);
  json_decref (test);
  bflags_clear (f, 4);
  return ret;
}

static int
parse_copy_add (const df_node_t *n, instr_t *out, bool copy, arca_error_t *err)
{
  if (nargs (n) < 2)
    return err_no_destination (err, copy ? "COPY" : "ADD");
  bflag_t f[] = {
    { "chown", FLAG_STRING, xstrdup (""), NULL, false },
    { "from", FLAG_STRING, xstrdup (""), NULL, false },
    { "chmod", FLAG_STRING, xstrdup (""), NULL, false },
  };
  /* ADD has no --from */
  bflag_t fa[] = {
    { "chown", FLAG_STRING, xstrdup (""), NULL, false },
    { "chmod", FLAG_STRING, xstrdup (""), NULL, false },
  };
  int ret;
  if (copy)
    {
      ret = bflags_parse (n->flags, f, 3, err);
      out->chown = flag_take (&f[0]);
      out->from = flag_take (&f[1]);
      out->chmod = flag_take (&f[2]);
    }
  else
    {
      ret = bflags_parse (n->flags, fa, 2, err);
      out->chown = flag_take (&fa[0]);
      out->chmod = flag_take (&fa[1]);
    }
  bflags_clear (f, 3);
  bflags_clear (fa, 2);
  if (ret < 0)
    return -1;
  out->args = strv_copy (n->args);
  return 0;
}

static int
parse_onbuild (const df_node_t *n, instr_t *out, arca_error_t *err)
{
  if (nargs (n) == 0)
    return err_at_least_one (err, "ONBUILD");
  if (no_flags (n, err) < 0)
    return -1;
  _cleanup_free_ char *trig = upper (n->args[0]);
  if (strcmp (trig, "ONBUILD") == 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (strcmp (trig, "MAINTAINER") == 0 || strcmp (trig, "FROM") == 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "%s isn't allowed as an ONBUILD trigger", trig);
  /* (?i)^\s*ONBUILD\s* removed from the original line */
  const char *p = n->original;
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\f' || *p == '\r')
    p++;
  if (strncasecmp (p, "onbuild", 7) == 0)
    {
      p += 7;
      while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\f' || *p == '\r')
        p++;
    }
  else
    p = n->original;
  out->str = xstrdup (p);
  return 0;
}

static int
parse_shell_dependent (const df_node_t *n, instr_t *out, bool empty_as_nil)
{
  out->args = json_args (n);
  out->prepend_shell = !n->json;
  out->cmd_nil = empty_as_nil && out->args[0] == NULL;
  return 0;
}

static int
parse_arg (const df_node_t *n, instr_t *out, arca_error_t *err)
{
  size_t k = nargs (n);
  if (k < 1)
    return err_at_least_one (err, "ARG");
  out->pairs = xmalloc0 (k * sizeof *out->pairs);
  for (size_t i = 0; i < k; i++)
    {
      const char *a = n->args[i];
      const char *eq = strchr (a, '=');
      if (eq)
        {
          if (eq == a)
            return arca_error_set (err, ARCA_ERR_INVALID, "ARG names can not be blank");
          out->pairs[i].key = strndup (a, (size_t) (eq - a));
          out->pairs[i].value = xstrdup (eq + 1);
        }
      else
        out->pairs[i].key = xstrdup (a);
      out->n_pairs = i + 1;
    }
  return 0;
}

static char *
code_of (const df_node_t *n)
{
  /* strings.TrimSpace(original); the parser's line has no leading space */
  const char *s = n->original;
  while (*s == ' ' || *s == '\t' || *s == '\v' || *s == '\f' || *s == '\r' || *s == '\n')
    s++;
  size_t len = strlen (s);
  while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\v' || s[len - 1] == '\f'
                     || s[len - 1] == '\r' || s[len - 1] == '\n'))
    len--;
  return strndup (s, len);
}

void
instr_clear (instr_t *i)
{
  if (i == NULL)
    return;
  free (i->code);
  for (size_t k = 0; k < i->n_pairs; k++)
    {
      free (i->pairs[k].key);
      free (i->pairs[k].value);
    }
  free (i->pairs);
  strv_free (i->args);
  free (i->str);
  free (i->chown);
  free (i->chmod);
  free (i->from);
  strv_free (i->flags_used);
  json_decref (i->health);
  memset (i, 0, sizeof *i);
}

static int
parse_one_value (const df_node_t *n, const char *cmd, instr_t *out, bool parse_flags, arca_error_t *err)
{
  if (nargs (n) != 1)
    return err_exactly_one (err, cmd);
  if (parse_flags && no_flags (n, err) < 0)
    return -1;
  out->str = xstrdup (n->args[0]);
  return 0;
}

static int
parse_list (const df_node_t *n, const char *cmd, instr_t *out, arca_error_t *err)
{
  if (nargs (n) == 0)
    return err_at_least_one (err, cmd);
  if (no_flags (n, err) < 0)
    return -1;
  out->args = strv_copy (n->args);
  return 0;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
parse_command (const df_node_t *n, instr_t *out, arca_error_t *err)
{
  const char *c = n->cmd;
  if (strcmp (c, "env") == 0)
    {
      out->kind = INS_ENV;
      return no_flags (n, err) < 0 ? -1 : parse_kvps (n, "ENV", out, err);
    }
  if (strcmp (c, "maintainer") == 0)
    {
      out->kind = INS_MAINTAINER;
      return parse_one_value (n, "MAINTAINER", out, true, err);
    }
  if (strcmp (c, "label") == 0)
    {
      out->kind = INS_LABEL;
      return no_flags (n, err) < 0 ? -1 : parse_kvps (n, "LABEL", out, err);
    }
  if (strcmp (c, "add") == 0 || strcmp (c, "copy") == 0)
    {
      out->kind = c[0] == 'a' ? INS_ADD : INS_COPY;
      return parse_copy_add (n, out, c[0] == 'c', err);
    }
  if (strcmp (c, "onbuild") == 0)
    {
      out->kind = INS_ONBUILD;
      return parse_onbuild (n, out, err);
    }
  if (strcmp (c, "workdir") == 0)
    {
      out->kind = INS_WORKDIR;
      return parse_one_value (n, "WORKDIR", out, true, err);
    }
  if (strcmp (c, "run") == 0)
    {
      /* moby's build registers only the --mount flag (dfrunmount); the
       * dispatcher refuses every flag used */
      out->kind = INS_RUN;
      bflag_t f[] = { { "mount", FLAG_STRINGS, NULL, NULL, false } };
      int r = bflags_parse (n->flags, f, 1, err);
      if (r == 0 && f[0].used)
        out->flags_used = strv_append (xmalloc0 (sizeof (char *)), "mount");
      bflags_clear (f, 1);
      if (r < 0)
        return -1;
      return parse_shell_dependent (n, out, false);
    }
  if (strcmp (c, "cmd") == 0 || strcmp (c, "entrypoint") == 0)
    {
      out->kind = c[0] == 'c' ? INS_CMD : INS_ENTRYPOINT;
      if (no_flags (n, err) < 0)
        return -1;
      return parse_shell_dependent (n, out, out->kind == INS_ENTRYPOINT);
    }
  if (strcmp (c, "healthcheck") == 0)
    {
      out->kind = INS_HEALTHCHECK;
      return parse_healthcheck (n, out, err);
    }
  if (strcmp (c, "expose") == 0)
    {
      out->kind = INS_EXPOSE;
      if (parse_list (n, "EXPOSE", out, err) < 0)
        return -1;
      qsort (out->args, strv_len (out->args), sizeof (char *), cmp_str);
      return 0;
    }
  if (strcmp (c, "user") == 0)
    {
      out->kind = INS_USER;
      return parse_one_value (n, "USER", out, true, err);
    }
  if (strcmp (c, "volume") == 0)
    {
      out->kind = INS_VOLUME;
      if (parse_list (n, "VOLUME", out, err) < 0)
        return -1;
      for (size_t i = 0; out->args[i]; i++)
        {
          /* strings.TrimSpace of each path */
          char *v = out->args[i];
          size_t a = 0, len = strlen (v);
          while (a < len && isspace ((unsigned char) v[a]))
            a++;
          while (len > a && isspace ((unsigned char) v[len - 1]))
            len--;
          memmove (v, v + a, len - a);
          v[len - a] = '\0';
          if (*v == '\0')
            return arca_error_set (err, ARCA_ERR_INVALID, "VOLUME specified can not be an empty string");
        }
      return 0;
    }
  if (strcmp (c, "stopsignal") == 0)
    {
      out->kind = INS_STOPSIGNAL;
      return parse_one_value (n, "STOPSIGNAL", out, false, err); /* parse.go never parses its flags */
    }
  if (strcmp (c, "arg") == 0)
    {
      out->kind = INS_ARG;
      return parse_arg (n, out, err);
    }
  if (strcmp (c, "shell") == 0)
    {
      out->kind = INS_SHELL;
      if (no_flags (n, err) < 0)
        return -1;
      out->args = json_args (n);
      if (out->args[0] == NULL)
        return err_at_least_one (err, "SHELL");
      if (!n->json)
        return arca_error_set (err, ARCA_ERR_INVALID,
                               "SHELL requires the arguments to be in JSON form");
      return 0;
    }
  _cleanup_free_ char *u = upper (c);
  return arca_error_set (err, ARCA_ERR_INVALID, "unknown instruction: %s", u);
}

int
instruction_parse (const df_node_t *node, instr_t *out, arca_error_t *err)
{
  memset (out, 0, sizeof *out);
  out->code = code_of (node);
  out->line = node->start_line;
  if (parse_command (node, out, err) < 0)
    {
      instr_clear (out);
      return -1;
    }
  return 0;
}

/* ---- stages (parse.go Parse, parseFrom) ---------------------------------------------------- */

static void
stage_clear (stage_t *s)
{
  free (s->name);
  free (s->base);
  free (s->platform);
  free (s->code);
  for (size_t i = 0; i < s->n_cmds; i++)
    instr_clear (&s->cmds[i]);
  free (s->cmds);
}

void
dockerfile_free (dockerfile_t *df)
{
  if (df == NULL)
    return;
  for (size_t i = 0; i < df->n_stages; i++)
    stage_clear (&df->stages[i]);
  free (df->stages);
  for (size_t i = 0; i < df->n_meta_args; i++)
    instr_clear (&df->meta_args[i]);
  free (df->meta_args);
  free (df);
}

static void
stage_push (stage_t *s, instr_t *i)
{
  s->cmds = xrealloc (s->cmds, (s->n_cmds + 1) * sizeof *s->cmds);
  s->cmds[s->n_cmds++] = *i;
}

void
stage_add_label (stage_t *s, const char *key, const char *value)
{
  instr_t i = { .kind = INS_LABEL, .no_expand = true };
  i.code = xasprintf ("LABEL %s=%s", key, value);
  i.pairs = xmalloc0 (sizeof *i.pairs);
  i.pairs[0].key = xstrdup (key);
  i.pairs[0].value = xstrdup (value);
  i.n_pairs = 1;
  stage_push (s, &i);
}

/* ^[a-z][a-z0-9-_\.]*$ */
static bool
valid_stage_name (const char *s)
{
  if (!(*s >= 'a' && *s <= 'z'))
    return false;
  for (s++; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
      return false;
  return true;
}

static int
parse_from (const df_node_t *n, stage_t *out, arca_error_t *err)
{
  size_t k = nargs (n);
  memset (out, 0, sizeof *out);
  if (k == 3 && strcasecmp (n->args[1], "as") == 0)
    {
      char *name = xstrdup (n->args[2]);
      for (char *c = name; *c; c++)
        *c = (char) tolower ((unsigned char) *c);
      if (!valid_stage_name (name))
        {
          free (name);
          _cleanup_free_ char *q = go_quote (n->args[2]);
          return arca_error_set (err, ARCA_ERR_INVALID,
                                 "invalid name for build stage: %s, name can't start with a number or contain symbols",
                                 q);
        }
      out->name = name;
    }
  else if (k != 1)
    return arca_error_set (err, ARCA_ERR_INVALID, "FROM requires either one or three arguments");
  bflag_t f[] = { { "platform", FLAG_STRING, xstrdup (""), NULL, false } };
  if (bflags_parse (n->flags, f, 1, err) < 0)
    {
      bflags_clear (f, 1);
      free (out->name);
      out->name = NULL;
      return -1;
    }
  out->platform = flag_take (&f[0]);
  bflags_clear (f, 1);
  out->base = xstrdup (n->args[0]);
  out->code = code_of (n);
  return 0;
}

int
dockerfile_compile (const df_ast_t *ast, dockerfile_t **out, arca_error_t *err)
{
  dockerfile_t *df = xmalloc0 (sizeof *df);
  for (size_t i = 0; i < ast->n; i++)
    {
      const df_node_t *n = &ast->nodes[i];
      if (strcmp (n->cmd, "from") == 0)
        {
          stage_t s;
          if (parse_from (n, &s, err) < 0)
            goto fail_at;
          df->stages = xrealloc (df->stages, (df->n_stages + 1) * sizeof *df->stages);
          df->stages[df->n_stages++] = s;
          continue;
        }
      instr_t ins;
      if (instruction_parse (n, &ins, err) < 0)
        goto fail_at;
      if (df->n_stages == 0)
        {
          if (ins.kind == INS_ARG)
            {
              df->meta_args = xrealloc (df->meta_args, (df->n_meta_args + 1) * sizeof *df->meta_args);
              df->meta_args[df->n_meta_args++] = ins;
              continue;
            }
          /* parse.go returns this one with a location only, unwrapped */
          instr_clear (&ins);
          dockerfile_free (df);
          return arca_error_set (err, ARCA_ERR_INVALID, "no build stage in current context");
        }
      stage_push (&df->stages[df->n_stages - 1], &ins);
      continue;
    fail_at:
      arca_error_wrap (err, "dockerfile parse error line %d", n->start_line);
      dockerfile_free (df);
      return -1;
    }
  *out = df;
  return 0;
}
