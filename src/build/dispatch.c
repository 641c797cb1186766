/* The instruction dispatchers (moby builder/dockerfile dispatchers.go,
 * dispatchers_unix.go, evaluator.go dispatch): word expansion per
 * instruction, the Config changes, the history texts each commit
 * records, RUN in a container. */
#include "build/internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "build/gofmt.h"
#include "build/ignore.h"
#include "build/shell.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"

/* ---- expansion (instructions.SupportsSingleWordExpansion) ----------------------------- */

static int
expand (build_t *b, char **envs, char **word, arca_error_t *err)
{
  if (*word == NULL)
    return 0;
  char *out = NULL;
  if (shell_process_word (*word, envs, b->escape, &out, err) < 0)
    return -1;
  free (*word);
  *word = out;
  return 0;
}

static int
expand_instruction (build_t *b, instr_t *ins, char **envs, arca_error_t *err)
{
  switch (ins->kind)
    {
    case INS_ENV:
    case INS_LABEL:
    case INS_ARG:
      if (ins->kind == INS_LABEL && ins->no_expand)
        return 0;
      for (size_t i = 0; i < ins->n_pairs; i++)
        if (expand (b, envs, &ins->pairs[i].key, err) < 0 || expand (b, envs, &ins->pairs[i].value, err) < 0)
          return -1;
      return 0;
    case INS_ADD:
    case INS_COPY:
      if (expand (b, envs, &ins->chown, err) < 0)
        return -1;
      /* fallthrough */
    case INS_VOLUME:
      for (size_t i = 0; ins->args && ins->args[i]; i++)
        if (expand (b, envs, &ins->args[i], err) < 0)
          return -1;
      return 0;
    case INS_WORKDIR:
    case INS_USER:
    case INS_STOPSIGNAL:
      return expand (b, envs, &ins->str, err);
    default:
      return 0;
    }
}

/* ---- simple instructions ------------------------------------------------------------------ */

static json_t *
config_array (json_t *config, const char *key)
{
  json_t *a = json_object_get (config, key);
  if (!json_is_array (a))
    json_object_set_new (config, key, a = json_array ());
  return a;
}

static json_t *
config_object (json_t *config, const char *key)
{
  json_t *o = json_object_get (config, key);
  if (!json_is_object (o))
    json_object_set_new (config, key, o = json_object ());
  return o;
}

static int
d_env (build_t *b, instr_t *ins, arca_error_t *err)
{
  json_t *env = config_array (b->state->run_config, "Env");
  arca_buf_t msg = { 0 };
  buf_append (&msg, "ENV", 3);
  for (size_t i = 0; i < ins->n_pairs; i++)
    {
      const char *k = ins->pairs[i].key, *v = ins->pairs[i].value ?: "";
      _cleanup_free_ char *nv = xasprintf ("%s=%s", k, v);
      buf_printf (&msg, " %s", nv);
      bool replaced = false;
      size_t j;
      json_t *e;
      json_array_foreach (env, j, e)
        {
          const char *s = json_string_value (e) ?: "";
          size_t kl = strcspn (s, "=");
          if (kl == strlen (k) && strncmp (s, k, kl) == 0)
            {
              json_array_set_new (env, j, json_string (nv));
              replaced = true;
              break;
            }
        }
      if (!replaced)
        json_array_append_new (env, json_string (nv));
    }
  int r = step_commit (b, msg.data, err);
  buf_free (&msg);
  return r;
}

static int
d_maintainer (build_t *b, instr_t *ins, arca_error_t *err)
{
  free (b->state->maintainer);
  b->state->maintainer = xstrdup (ins->str);
  _cleanup_free_ char *msg = xasprintf ("MAINTAINER %s", ins->str);
  return step_commit (b, msg, err);
}

static int
d_label (build_t *b, instr_t *ins, arca_error_t *err)
{
  json_t *labels = config_object (b->state->run_config, "Labels");
  arca_buf_t msg = { 0 };
  buf_append (&msg, "LABEL", 5);
  for (size_t i = 0; i < ins->n_pairs; i++)
    {
      json_object_set_new (labels, ins->pairs[i].key, json_string (ins->pairs[i].value ?: ""));
      buf_printf (&msg, " %s=%s", ins->pairs[i].key, ins->pairs[i].value ?: "");
    }
  int r = step_commit (b, msg.data, err);
  buf_free (&msg);
  return r;
}

static int
d_onbuild (build_t *b, instr_t *ins, arca_error_t *err)
{
  json_array_append_new (config_array (b->state->run_config, "OnBuild"), json_string (ins->str));
  _cleanup_free_ char *msg = xasprintf ("ONBUILD %s", ins->str);
  return step_commit (b, msg, err);
}

/* normalizeWorkdir (unix) */
static int
d_workdir (build_t *b, instr_t *ins, arca_error_t *err)
{
  dstate_t *s = b->state;
  if (ins->str == NULL || *ins->str == '\0')
    return arca_error_set (err, ARCA_ERR_INTERNAL, "cannot normalize nothing");
  char *wd;
  if (ins->str[0] == '/')
    wd = xstrdup (ins->str);
  else
    {
      _cleanup_free_ char *joined = xasprintf ("/%s/%s", json_get_str (s->run_config, "WorkingDir") ?: "", ins->str);
      wd = path_clean (joined);
    }
  json_object_set_new (s->run_config, "WorkingDir", json_string (wd));
  if (b->disable_commit)
    {
      free (wd); /* --change: the daemon is not asked to make the directory */
      return 0;
    }
  _cleanup_free_ char *comment = xasprintf ("#(nop) WORKDIR %s", wd);
  free (wd);
  /* withCmdCommentString: shell + one "#(nop) WORKDIR <dir>" word */
  _cleanup_json_ json_t *cfg = json_deep_copy (s->run_config);
  json_t *cmd = state_shell (s);
  json_array_append_new (cmd, json_string (comment));
  json_object_set_new (cfg, "Cmd", cmd);
  int hit = step_probe (b, cfg, err);
  if (hit != 0)
    return hit < 0 ? -1 : 0;
  if (*s->image_id == '\0')
    return step_commit_upper_empty (b, cfg, err); /* see step_commit */
  _cleanup_free_ char *id = NULL;
  if (step_create (b, cfg, &id, err) < 0)
    return -1;
  if (b->be.create_workdir (b->be.ctx, id, err) < 0)
    return -1;
  return step_commit_container (b, id, NULL, err);
}

/* resolveCmdLine: shell form gets the shell in front. */
static json_t *
resolve_cmd (build_t *b, instr_t *ins)
{
  if (ins->cmd_nil)
    return json_null ();
  json_t *cmd = ins->prepend_shell ? state_shell (b->state) : json_array ();
  for (size_t i = 0; ins->args && ins->args[i]; i++)
    json_array_append_new (cmd, json_string (ins->args[i]));
  return cmd;
}

static char **
json_strv (json_t *a)
{
  char **v = xmalloc0 (sizeof (char *));
  size_t i;
  json_t *e;
  json_array_foreach (a, i, e)
    v = strv_append (v, json_string_value (e) ?: "");
  return v;
}

static int
d_cmd (build_t *b, instr_t *ins, arca_error_t *err)
{
  json_t *cmd = resolve_cmd (b, ins);
  json_object_set_new (b->state->run_config, "Cmd", cmd);
  json_object_del (b->state->run_config, "ArgsEscaped");
  _cleanup_strv_ char **v = json_strv (cmd);
  _cleanup_free_ char *q = go_strv_q (v);
  _cleanup_free_ char *msg = xasprintf ("CMD %s", q);
  if (step_commit (b, msg, err) < 0)
    return -1;
  if (ins->args && ins->args[0])
    b->state->cmd_set = true;
  return 0;
}

static int
d_entrypoint (build_t *b, instr_t *ins, arca_error_t *err)
{
  json_t *ep = resolve_cmd (b, ins);
  json_object_set_new (b->state->run_config, "Entrypoint", ep);
  json_object_del (b->state->run_config, "ArgsEscaped");
  if (!b->state->cmd_set)
    json_object_set_new (b->state->run_config, "Cmd", json_null ());
  _cleanup_strv_ char **v = json_strv (ep);
  _cleanup_free_ char *q = go_strv_q (v);
  _cleanup_free_ char *msg = xasprintf ("ENTRYPOINT %s", q);
  return step_commit (b, msg, err);
}

static int
d_healthcheck (build_t *b, instr_t *ins, arca_error_t *err)
{
  json_t *old = json_object_get (b->state->run_config, "Healthcheck");
  json_t *old_test = json_object_get (old, "Test");
  if (json_array_size (old_test) > 0 && strcmp (json_string_value (json_array_get (old_test, 0)) ?: "", "NONE") != 0)
    {
      _cleanup_strv_ char **v = json_strv (old_test);
      _cleanup_free_ char *s = go_strv_v (v);
      out_stream (b, "Note: overriding previous HEALTHCHECK: %s\n", s);
    }
  json_object_set (b->state->run_config, "Healthcheck", ins->health);
  /* fmt %q of *container.HealthConfig: &{Test Interval Timeout StartPeriod Retries} */
  _cleanup_strv_ char **test = json_strv (json_object_get (ins->health, "Test"));
  _cleanup_free_ char *tq = go_strv_q (test);
  _cleanup_free_ char *i = go_duration_string (ins->hc_interval);
  _cleanup_free_ char *t = go_duration_string (ins->hc_timeout);
  _cleanup_free_ char *sp = go_duration_string (ins->hc_start_period);
  _cleanup_free_ char *iq = go_quote (i);
  _cleanup_free_ char *tq2 = go_quote (t);
  _cleanup_free_ char *sq = go_quote (sp);
  _cleanup_free_ char *rq = go_quote_rune (ins->hc_retries);
  _cleanup_free_ char *msg = xasprintf ("HEALTHCHECK &{%s %s %s %s %s}", tq, iq, tq2, sq, rq);
  return step_commit (b, msg, err);
}

/* go-connections nat.ParsePortSpecs, for EXPOSE: [ip:[hostPort]:]port[-end][/proto] */
static int
parse_port (const char *spec, json_t *set, arca_error_t *err)
{
  const char *container = strrchr (spec, ':');
  container = container ? container + 1 : spec;
  _cleanup_free_ char *c = xstrdup (container);
  const char *proto = "tcp";
  char *slash = strchr (c, '/');
  if (*c == '\0' || c[0] == '/')
    return arca_error_set (err, ARCA_ERR_INTERNAL, "No port specified: %s<empty>", spec);
  if (slash)
    {
      *slash = '\0';
      if (slash[1])
        proto = slash + 1;
    }
  _cleanup_free_ char *lproto = xstrdup (proto);
  for (char *p = lproto; *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  char *end;
  unsigned long start = strtoul (c, &end, 10), last = start;
  if (end == c || (*end && *end != '-') || start > 65535)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "Invalid containerPort: %s", c);
  if (*end == '-')
    {
      char *e2;
      last = strtoul (end + 1, &e2, 10);
      if (e2 == end + 1 || *e2 || last > 65535)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "Invalid containerPort: %s", c);
      if (last < start)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "Invalid containerPort: %s", c);
    }
  if (strcmp (lproto, "tcp") != 0 && strcmp (lproto, "udp") != 0 && strcmp (lproto, "sctp") != 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "Invalid proto: %s", proto);
  for (unsigned long p = start; p <= last; p++)
    {
      _cleanup_free_ char *key = xasprintf ("%lu/%s", p, lproto);
      json_object_set_new (set, key, json_object ());
    }
  return 0;
}

static int
d_expose (build_t *b, instr_t *ins, char **envs, arca_error_t *err)
{
  char **ports = xmalloc0 (sizeof (char *));
  _cleanup_json_ json_t *parsed = json_object ();
  int ret = -1;
  for (size_t i = 0; ins->args[i]; i++)
    {
      _cleanup_strv_ char **w = NULL;
      if (shell_process_words (ins->args[i], envs, b->escape, &w, err) < 0)
        goto out;
      for (size_t k = 0; w[k]; k++)
        ports = strv_append (ports, w[k]);
    }
  json_t *set = config_object (b->state->run_config, "ExposedPorts");
  for (size_t i = 0; ports[i]; i++)
    if (parse_port (ports[i], parsed, err) < 0)
      goto out;
  json_object_update (set, parsed);
  arca_buf_t msg = { 0 };
  buf_append (&msg, "EXPOSE", 6);
  for (size_t i = 0; ports[i]; i++)
    buf_printf (&msg, " %s", ports[i]);
  if (ports[0] == NULL)
    buf_append (&msg, " ", 1);
  ret = step_commit (b, msg.data, err);
  buf_free (&msg);
out:
  strv_free (ports);
  return ret;
}

static int
d_user (build_t *b, instr_t *ins, arca_error_t *err)
{
  json_object_set_new (b->state->run_config, "User", json_string (ins->str));
  _cleanup_free_ char *msg = xasprintf ("USER %s", ins->str);
  return step_commit (b, msg, err);
}

static int
d_volume (build_t *b, instr_t *ins, arca_error_t *err)
{
  json_t *vols = config_object (b->state->run_config, "Volumes");
  for (size_t i = 0; ins->args[i]; i++)
    {
      if (*ins->args[i] == '\0')
        return arca_error_set (err, ARCA_ERR_INTERNAL, "VOLUME specified can not be an empty string");
      json_object_set_new (vols, ins->args[i], json_object ());
    }
  _cleanup_free_ char *list = go_strv_v (ins->args);
  _cleanup_free_ char *msg = xasprintf ("VOLUME %s", list);
  return step_commit (b, msg, err);
}

/* moby pkg/signal ParseSignal: a non-zero number, or a name with or
 * without SIG (any case). */
static bool
valid_signal (const char *s)
{
  static const char *const names[] = { "ABRT", "ALRM", "BUS",    "CHLD", "CLD",  "CONT",  "FPE",    "HUP",  "ILL",
                                       "INT",  "IO",   "IOT",    "KILL", "PIPE", "POLL",  "PROF",   "PWR",  "QUIT",
                                       "SEGV", "STKFLT", "STOP", "SYS",  "TERM", "TRAP",  "TSTP",   "TTIN", "TTOU",
                                       "UNUSED", "URG", "USR1",  "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN",
                                       "RTMAX", NULL };
  char *end;
  long n = strtol (s, &end, 10);
  if (*s && *end == '\0')
    return n != 0;
  const char *name = s;
  if (strncasecmp (name, "SIG", 3) == 0)
    name += 3;
  for (size_t i = 0; names[i]; i++)
    if (strcasecmp (name, names[i]) == 0)
      return true;
  /* RTMIN+n (1..15), RTMAX-n (1..14) */
  if (strncasecmp (name, "RTMIN+", 6) == 0 || strncasecmp (name, "RTMAX-", 6) == 0)
    {
      long k = strtol (name + 6, &end, 10);
      return *end == '\0' && k >= 1 && k <= (toupper ((unsigned char) name[4]) == 'I' ? 15 : 14);
    }
  return false;
}

static int
d_stopsignal (build_t *b, instr_t *ins, arca_error_t *err)
{
  if (!valid_signal (ins->str))
    return arca_error_set (err, ARCA_ERR_INVALID, "Invalid signal: %s", ins->str);
  json_object_set_new (b->state->run_config, "StopSignal", json_string (ins->str));
  _cleanup_free_ char *msg = xasprintf ("STOPSIGNAL %s", ins->str);
  return step_commit (b, msg, err);
}

static int
d_arg (build_t *b, instr_t *ins, arca_error_t *err)
{
  arca_buf_t msg = { 0 };
  buf_append (&msg, "ARG ", 4);
  for (size_t i = 0; i < ins->n_pairs; i++)
    {
      if (i > 0)
        buf_append (&msg, " ", 1);
      buf_printf (&msg, "%s", ins->pairs[i].key);
      if (ins->pairs[i].value)
        buf_printf (&msg, "=%s", ins->pairs[i].value);
      buildargs_add_arg (b->state->args, ins->pairs[i].key, ins->pairs[i].value);
    }
  int r = step_commit (b, msg.data, err);
  buf_free (&msg);
  return r;
}

static int
d_shell (build_t *b, instr_t *ins, arca_error_t *err)
{
  json_object_set_new (b->state->run_config, "Shell", json_from_strv (ins->args));
  _cleanup_free_ char *list = go_strv_v (ins->args);
  _cleanup_free_ char *msg = xasprintf ("SHELL %s", list);
  return step_commit (b, msg, err);
}

/* ---- RUN ------------------------------------------------------------------------------------- */

/* prependEnvOnCmd: "|N", the referenced build args (sorted), the command */
static json_t *
prepend_env (build_t *b, char **build_env, json_t *cmd)
{
  char **keep = xmalloc0 (sizeof (char *));
  for (size_t i = 0; build_env[i]; i++)
    {
      _cleanup_free_ char *key = strndup (build_env[i], strcspn (build_env[i], "="));
      if (buildargs_referenced_or_not_builtin (b->state->args, key))
        keep = strv_append (keep, build_env[i]);
    }
  /* build_env is sorted already */
  _cleanup_free_ char *n = xasprintf ("|%zu", strv_len (keep));
  json_t *out = json_array ();
  json_array_append_new (out, json_string (n));
  for (size_t i = 0; keep[i]; i++)
    json_array_append_new (out, json_string (keep[i]));
  json_array_extend (out, cmd);
  strv_free (keep);
  return out;
}

static int
run_output (void *ctx, int stream, const char *data, size_t len)
{
  build_t *b = ctx;
  if (stream == 2)
    return out_stderr (b, data, len);
  _cleanup_free_ char *s = utf8_sanitize (data, len);
  return out_msg (b, json_pack ("{s:s}", "stream", s));
}

static int
d_run (build_t *b, instr_t *ins, arca_error_t *err)
{
  dstate_t *s = b->state;
  if (ins->flags_used && ins->flags_used[0])
    return arca_error_set (err, ARCA_ERR_INTERNAL,
                           "the --%s option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn "
                           "how to build images with BuildKit enabled",
                           ins->flags_used[0]);
  _cleanup_json_ json_t *cmd = resolve_cmd (b, ins);
  _cleanup_strv_ char **env = json_get_strv (s->run_config, "Env");
  _cleanup_strv_ char **build_env = buildargs_filter_allowed (s->args, env);
  json_t *save_cmd = build_env[0] ? prepend_env (b, build_env, cmd) : json_incref (cmd);
  _cleanup_json_ json_t *probe = json_deep_copy (s->run_config);
  json_object_set (probe, "Cmd", save_cmd);
  json_object_del (probe, "ArgsEscaped");
  if (json_array_size (save_cmd) > 0)
    json_object_set_new (probe, "Entrypoint", json_null ());
  int hit = step_probe (b, probe, err);
  if (hit != 0)
    {
      json_decref (save_cmd);
      return hit < 0 ? -1 : 0;
    }
  _cleanup_json_ json_t *run = json_deep_copy (s->run_config);
  json_object_set (run, "Cmd", cmd);
  json_object_del (run, "ArgsEscaped");
  json_t *renv = json_array ();
  for (size_t i = 0; env && env[i]; i++)
    json_array_append_new (renv, json_string (env[i]));
  for (size_t i = 0; build_env[i]; i++)
    json_array_append_new (renv, json_string (build_env[i]));
  json_object_set_new (run, "Env", renv);
  if (json_array_size (save_cmd) > 0)
    json_object_set_new (run, "Entrypoint", json_pack ("[s]", ""));
  json_object_set_new (run, "Healthcheck", json_pack ("{s:[s]}", "Test", "NONE"));
  json_decref (save_cmd);
  _cleanup_free_ char *id = NULL;
  if (step_create (b, run, &id, err) < 0)
    return -1;
  int code = 0;
  if (b->be.run (b->be.ctx, id, run_output, b, b->cancel_fd, &code, err) < 0)
    {
      /* a cancelled build kills and removes its RUN container (moby
       * containerManager.Run) */
      if (build_cancelled (b))
        containers_remove_all (b);
      return -1;
    }
  if (code != 0)
    {
      _cleanup_strv_ char **c = json_strv (cmd);
      arca_buf_t joined = { 0 };
      buf_append (&joined, "", 0);
      for (size_t i = 0; c[i]; i++)
        buf_printf (&joined, "%s%s", i ? " " : "", c[i]);
      b->failed_code = code;
      arca_error_set (err, ARCA_ERR_INTERNAL, "The command '%s' returned a non-zero code: %d", joined.data, code);
      buf_free (&joined);
      return -1;
    }
  return step_commit_container (b, id, probe, err);
}

/* ---- dispatch ----------------------------------------------------------------------------------- */

int
dispatch (build_t *b, instr_t *ins, arca_error_t *err)
{
  _cleanup_strv_ char **envs = state_envs (b->state);
  if (expand_instruction (b, ins, envs, err) < 0)
    {
      err->kind = ARCA_ERR_INVALID;
      return -1;
    }
  int r;
  switch (ins->kind)
    {
    case INS_ENV: r = d_env (b, ins, err); break;
    case INS_MAINTAINER: r = d_maintainer (b, ins, err); break;
    case INS_LABEL: r = d_label (b, ins, err); break;
    case INS_ADD:
    case INS_COPY: r = dispatch_copy (b, ins, envs, err); break;
    case INS_ONBUILD: r = d_onbuild (b, ins, err); break;
    case INS_WORKDIR: r = d_workdir (b, ins, err); break;
    case INS_RUN: r = d_run (b, ins, err); break;
    case INS_CMD: r = d_cmd (b, ins, err); break;
    case INS_HEALTHCHECK: r = d_healthcheck (b, ins, err); break;
    case INS_ENTRYPOINT: r = d_entrypoint (b, ins, err); break;
    case INS_EXPOSE: r = d_expose (b, ins, envs, err); break;
    case INS_USER: r = d_user (b, ins, err); break;
    case INS_VOLUME: r = d_volume (b, ins, err); break;
    case INS_STOPSIGNAL: r = d_stopsignal (b, ins, err); break;
    case INS_ARG: r = d_arg (b, ins, err); break;
    case INS_SHELL: r = d_shell (b, ins, err); break;
    default: r = arca_error_set (err, ARCA_ERR_INTERNAL, "unsupported command type"); break;
    }
  /* the instruction's containers go: always with forcerm, on success with rm */
  if (b->o.force_remove || (b->o.remove && r == 0))
    containers_remove_all (b);
  return r;
}
