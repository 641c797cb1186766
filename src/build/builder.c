/* The classic builder's driver (moby builder/dockerfile builder.go,
 * evaluator.go, internals.go, containerbackend.go, imageprobe.go,
 * imagecontext.go): stages, steps, the cache, intermediate containers
 * and the output stream. */
#include "build/internal.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "build/gofmt.h"
#include "build/parser.h"
#include "build/shell.h"
#include "image/registry.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"

/* ---- options ------------------------------------------------------------------------ */

void
build_options_clear (build_options_t *o)
{
  strv_free (o->tags);
  free (o->dockerfile);
  json_decref (o->build_args);
  free (o->target);
  json_decref (o->labels);
  free (o->network_mode);
  free (o->platform);
  strv_free (o->cache_from);
  free (o->cpuset_cpus);
  free (o->cpuset_mems);
  free (o->cgroup_parent);
  strv_free (o->extra_hosts);
  json_decref (o->ulimits);
  free (o->remote);
  json_decref (o->auth_configs);
  memset (o, 0, sizeof *o);
}

static void
options_copy (build_options_t *d, const build_options_t *s)
{
  *d = *s;
  d->tags = strv_copy (s->tags);
  d->dockerfile = xstrdup (s->dockerfile && *s->dockerfile ? s->dockerfile : "Dockerfile");
  d->build_args = s->build_args ? json_deep_copy (s->build_args) : json_object ();
  d->target = xstrdup (s->target);
  d->labels = s->labels ? json_deep_copy (s->labels) : NULL;
  d->network_mode = xstrdup (s->network_mode);
  d->platform = xstrdup (s->platform);
  d->cache_from = strv_copy (s->cache_from);
  d->cpuset_cpus = xstrdup (s->cpuset_cpus);
  d->cpuset_mems = xstrdup (s->cpuset_mems);
  d->cgroup_parent = xstrdup (s->cgroup_parent);
  d->extra_hosts = strv_copy (s->extra_hosts);
  d->ulimits = s->ulimits ? json_deep_copy (s->ulimits) : NULL;
  d->remote = xstrdup (s->remote);
  d->auth_configs = s->auth_configs ? json_deep_copy (s->auth_configs) : NULL;
}

/* ---- output -------------------------------------------------------------------------- */

int
out_msg (build_t *b, json_t *msg)
{
  if (b->emit == NULL)
    {
      json_decref (msg); /* commit/import --change: no output (moby io.Discard) */
      return 0;
    }
  if (b->o.quiet)
    {
      /* notVerboseBuffer: only shown when the build fails */
      json_array_append_new (b->quiet_buf, msg);
      return 0;
    }
  int r = b->client_gone ? -1 : b->emit (b->emit_ctx, msg);
  json_decref (msg);
  if (r < 0)
    b->client_gone = true;
  return r;
}

int
out_stream (build_t *b, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    s = NULL;
  va_end (ap);
  if (s == NULL)
    return -1;
  _cleanup_free_ char *clean = utf8_sanitize (s, strlen (s));
  int r = out_msg (b, json_pack ("{s:s}", "stream", clean));
  free (s);
  return r;
}

/* streamformatter.NewStderrWriter: red, reset after each write */
int
out_stderr (build_t *b, const char *data, size_t len)
{
  _cleanup_free_ char *clean = utf8_sanitize (data, len);
  _cleanup_free_ char *s = xasprintf ("\033[91m%s\033[0m", clean);
  return out_msg (b, json_pack ("{s:s}", "stream", s));
}

void
build_flush_quiet (build_t *b, build_emit_fn emit, void *ctx)
{
  size_t i;
  json_t *m;
  json_array_foreach (b->quiet_buf, i, m)
    if (emit (ctx, m) < 0)
      break;
  json_array_clear (b->quiet_buf);
}

bool
build_cancelled (build_t *b)
{
  if (b->client_gone)
    return true;
  if (b->cancel_fd < 0)
    return false;
  struct pollfd p = { .fd = b->cancel_fd, .events = POLLIN };
  if (poll (&p, 1, 0) > 0)
    b->client_gone = true;
  return b->client_gone;
}

/* stringid.TruncateID */
static const char *
short_id (const char *id)
{
  static __thread char buf[13];
  const char *hex = strchr (id ? id : "", ':');
  hex = hex ? hex + 1 : (id ? id : "");
  snprintf (buf, sizeof buf, "%s", hex);
  return buf;
}

/* ---- config helpers ----------------------------------------------------------------------- */

json_t *
config_normalize (json_t *c)
{
  json_t *n = json_object ();
#define STR(k) json_object_set_new (n, k, json_string (json_get_str (c, k) ?: ""))
#define BOOL(k) json_object_set_new (n, k, json_boolean (json_get_bool (c, k, false)))
#define ANY(k)                                                                                                         \
  do                                                                                                                   \
    {                                                                                                                  \
      json_t *_v = json_object_get (c, k);                                                                             \
      json_object_set_new (n, k, _v ? json_deep_copy (_v) : json_null ());                                             \
    }                                                                                                                  \
  while (0)
#define OMIT(k, cond)                                                                                                  \
  do                                                                                                                   \
    {                                                                                                                  \
      json_t *_v = json_object_get (c, k);                                                                             \
      if (_v && (cond))                                                                                                \
        json_object_set_new (n, k, json_deep_copy (_v));                                                               \
    }                                                                                                                  \
  while (0)
  STR ("Hostname");
  STR ("Domainname");
  STR ("User");
  BOOL ("AttachStdin");
  BOOL ("AttachStdout");
  BOOL ("AttachStderr");
  OMIT ("ExposedPorts", json_object_size (_v) > 0);
  BOOL ("Tty");
  BOOL ("OpenStdin");
  BOOL ("StdinOnce");
  ANY ("Env");
  ANY ("Cmd");
  OMIT ("Healthcheck", json_is_object (_v));
  OMIT ("ArgsEscaped", json_is_true (_v));
  STR ("Image");
  ANY ("Volumes");
  STR ("WorkingDir");
  ANY ("Entrypoint");
  OMIT ("NetworkDisabled", json_is_true (_v));
  OMIT ("MacAddress", json_is_string (_v) && *json_string_value (_v));
  ANY ("OnBuild");
  ANY ("Labels");
  OMIT ("StopSignal", json_is_string (_v) && *json_string_value (_v));
  OMIT ("StopTimeout", !json_is_null (_v));
  OMIT ("Shell", json_array_size (_v) > 0);
#undef STR
#undef BOOL
#undef ANY
#undef OMIT
  return n;
}

json_t *
state_shell (const dstate_t *s)
{
  json_t *sh = json_object_get (s->run_config, "Shell");
  if (json_array_size (sh) > 0)
    return json_deep_copy (sh);
  return json_pack ("[s,s]", "/bin/sh", "-c");
}

char **
state_envs (const dstate_t *s)
{
  _cleanup_strv_ char **env = json_get_strv (s->run_config, "Env");
  char **out = strv_copy (env ? env : (char *[]) { NULL });
  _cleanup_strv_ char **extra = buildargs_filter_allowed (s->args, env);
  for (size_t i = 0; extra[i]; i++)
    out = strv_append (out, extra[i]);
  return out;
}

/* ---- images ---------------------------------------------------------------------------------- */

void
build_hold (build_t *b, const char *id)
{
  if (id == NULL || *id == '\0')
    return;
  for (size_t i = 0; b->holds && b->holds[i]; i++)
    if (strcmp (b->holds[i], id) == 0)
      return;
  image_cache_hold (b->images, id);
  b->holds = strv_append (b->holds, id);
}

/* The AuthConfig of X-Registry-Config for ref's registry (moby
 * registry.ResolveAuthConfig: docker.io under its index address). */
static void
auth_for (build_t *b, const char *ref, registry_auth_t *auth)
{
  memset (auth, 0, sizeof *auth);
  if (!json_is_object (b->o.auth_configs))
    return;
  _cleanup_free_ char *canon = NULL;
  if (image_ref_normalize (ref, &canon, NULL) < 0)
    return;
  _cleanup_free_ char *domain = strndup (canon, strcspn (canon, "/"));
  const char *k;
  json_t *v;
  json_object_foreach (b->o.auth_configs, k, v)
    {
      const char *h = k;
      if (str_has_prefix (h, "https://"))
        h += 8;
      else if (str_has_prefix (h, "http://"))
        h += 7;
      size_t hl = strcspn (h, "/");
      bool docker_io = strcmp (domain, "docker.io") == 0
                       && ((hl == 16 && strncmp (h, "index.docker.io", 15) == 0) || (hl == 9 && strncmp (h, "docker.io", 9) == 0)
                           || (hl == 20 && strncmp (h, "registry-1.docker.io", 20) == 0));
      if (docker_io || (hl == strlen (domain) && strncmp (h, domain, hl) == 0))
        {
          registry_auth_from_json (v, auth);
          return;
        }
    }
}

static int
pull_emit (void *ctx, json_t *msg)
{
  build_t *b = ctx;
  return out_msg (b, json_incref (msg));
}

static bool
platform_matches (json_t *config, const char *platform)
{
  if (platform == NULL || *platform == '\0')
    return true;
  registry_platform_t want;
  if (registry_platform_parse (platform, &want, NULL) < 0)
    return true;
  json_t *have = json_pack ("{s:s, s:s}", "os", json_get_str (config, "os") ?: "linux", "architecture",
                            json_get_str (config, "architecture") ?: "");
  if (json_get_str (config, "variant"))
    json_object_set_new (have, "variant", json_string (json_get_str (config, "variant")));
  bool ok = registry_platform_match (have, &want);
  json_decref (have);
  return ok;
}

/* GetImageAndReleasableLayer with PullOptionNoPull (local_only),
 * PreferLocal, or ForcePull (--pull). */
int
build_get_image (build_t *b, const char *ref, bool local_only, const char *platform, char **id, json_t **config,
                 arca_error_t *err)
{
  arca_image_t *img = NULL;
  arca_error_t lerr = { 0 };
  int r = -1;
  if (local_only || !b->o.pull)
    {
      r = image_resolve (b->images, ref, &img, &lerr);
      if (r == 0 && !platform_matches (img->config, platform))
        {
          /* moby GetImage with a platform: the local image is not it */
          const char *variant = json_get_str (img->config, "variant");
          arca_error_set (&lerr, ARCA_ERR_NOT_FOUND,
                          "image with reference %s was found but does not match the specified platform: wanted %s, "
                          "actual: %s/%s%s%s",
                          ref, platform, json_get_str (img->config, "os") ?: "linux",
                          json_get_str (img->config, "architecture") ?: "", variant ? "/" : "", variant ? variant : "");
          image_free (img);
          img = NULL;
          r = -1;
        }
      if (r < 0 && local_only)
        {
          *err = lerr;
          return -1;
        }
    }
  if (img == NULL)
    {
      /* pullForBuilder */
      registry_auth_t auth;
      auth_for (b, ref, &auth);
      image_pull_t *p = NULL;
      int pr = image_pull_prepare (b->images, ref, platform && *platform ? platform : NULL, &auth, &p, err);
      registry_auth_clear (&auth);
      if (pr < 0)
        return -1;
      pr = image_pull_run (p, pull_emit, b, err);
      image_pull_free (p);
      if (pr < 0)
        return -1;
      if (image_resolve (b->images, ref, &img, err) < 0)
        return -1;
    }
  *id = xstrdup (img->id);
  *config = json_incref (img->config);
  image_free (img);
  build_hold (b, *id);
  return 0;
}

/* ---- steps --------------------------------------------------------------------------------------- */

int
step_probe (build_t *b, json_t *probe_config, arca_error_t *err)
{
  if (b->o.no_cache || b->cache_busted)
    return 0;
  dstate_t *s = b->state;
  _cleanup_json_ json_t *cfg = config_normalize (probe_config);
  _cleanup_free_ char *hit = NULL;
  int r = b->cache_from ? image_cache_from_lookup (b->images, &b->cache_from, s->image_id, cfg, &hit, err)
                        : image_cache_lookup (b->images, s->image_id, cfg, &hit, err);
  if (r < 0)
    return -1;
  if (hit == NULL)
    {
      b->cache_busted = true;
      return 0;
    }
  if (out_stream (b, " ---> Using cache\n") < 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "Build cancelled");
  free (s->image_id);
  s->image_id = xstrdup (hit);
  build_hold (b, hit);
  b->used_cache = strv_append (b->used_cache, hit);
  return 1;
}

/* hostConfigFromOptions: the HostConfig of every step container. */
static json_t *
host_config (build_t *b)
{
  json_t *hc = json_object ();
  const build_options_t *o = &b->o;
#define INT(k, v)                                                                                                      \
  if ((v) != 0)                                                                                                        \
  json_object_set_new (hc, k, json_integer (v))
#define STR(k, v)                                                                                                      \
  if ((v) && *(v))                                                                                                     \
  json_object_set_new (hc, k, json_string (v))
  STR ("CgroupParent", o->cgroup_parent);
  INT ("CpuShares", o->cpu_shares);
  INT ("CpuPeriod", o->cpu_period);
  INT ("CpuQuota", o->cpu_quota);
  STR ("CpusetCpus", o->cpuset_cpus);
  STR ("CpusetMems", o->cpuset_mems);
  INT ("Memory", o->memory);
  INT ("MemorySwap", o->memory_swap);
  INT ("ShmSize", o->shm_size);
  STR ("NetworkMode", o->network_mode);
#undef INT
#undef STR
  if (o->ulimits)
    json_object_set (hc, "Ulimits", o->ulimits);
  if (o->extra_hosts && o->extra_hosts[0])
    json_object_set_new (hc, "ExtraHosts", json_from_strv (o->extra_hosts));
  return hc;
}

int
step_create (build_t *b, json_t *run_config, char **id, arca_error_t *err)
{
  json_t *body = config_normalize (run_config);
  json_object_set_new (body, "HostConfig", host_config (b));
  _cleanup_strv_ char **warnings = NULL;
  int r = b->be.create (b->be.ctx, body, id, &warnings, err);
  json_decref (body);
  if (r < 0)
    return -1;
  b->tmp_containers = strv_append (b->tmp_containers, *id);
  for (size_t i = 0; warnings && warnings[i]; i++)
    out_stream (b, " ---> [Warning] %s\n", warnings[i]);
  out_stream (b, " ---> Running in %s\n", short_id (*id));
  return 0;
}

int
step_commit_container (build_t *b, const char *id, json_t *container_config, arca_error_t *err)
{
  dstate_t *s = b->state;
  _cleanup_json_ json_t *config = config_normalize (s->run_config);
  _cleanup_json_ json_t *cc = container_config ? config_normalize (container_config) : NULL;
  char *image_id = NULL;
  if (b->be.commit (b->be.ctx, id, config, cc, s->maintainer, &image_id, err) < 0)
    return -1;
  free (s->image_id);
  s->image_id = image_id;
  build_hold (b, image_id);
  return 0;
}

typedef struct
{
  build_t *b;
  const char *upper;
} upper_ctx_t;

static int
write_upper (void *ctx, int fd, arca_error_t *err)
{
  upper_ctx_t *u = ctx;
  return u->b->be.write_upper_layer (u->b->be.ctx, u->upper, fd, err);
}

int
step_commit_upper (build_t *b, const char *upper, json_t *container_config, arca_error_t *err)
{
  dstate_t *s = b->state;
  _cleanup_json_ json_t *config = config_normalize (s->run_config);
  _cleanup_json_ json_t *cc = config_normalize (container_config);
  upper_ctx_t u = { b, upper };
  arca_image_commit_t c = {
    .parent_id = *s->image_id ? s->image_id : NULL,
    .config = config,
    .container_config = cc,
    .author = s->maintainer,
    .write_layer = write_upper,
    .ctx = &u,
    .build_step = true,
  };
  char *image_id = NULL;
  if (image_commit (b->images, &c, &image_id, err) < 0)
    return -1;
  free (s->image_id);
  s->image_id = image_id;
  build_hold (b, image_id);
  return 0;
}

/* withCmdComment: Cmd = shell + ["#(nop) ", comment] */
static json_t *
comment_config (const dstate_t *s, const char *comment)
{
  json_t *c = json_deep_copy (s->run_config);
  json_t *cmd = state_shell (s);
  json_array_append_new (cmd, json_string ("#(nop) "));
  json_array_append_new (cmd, json_string (comment));
  json_object_set_new (c, "Cmd", cmd);
  return c;
}

static bool
has_from_image (const dstate_t *s)
{
  return *s->image_id || s->has_base;
}

int
step_commit (build_t *b, const char *comment, arca_error_t *err)
{
  if (b->disable_commit)
    return 0;
  dstate_t *s = b->state;
  if (!has_from_image (s))
    return arca_error_set (err, ARCA_ERR_INTERNAL, "Please provide a source image with `from` prior to commit");
  _cleanup_json_ json_t *cfg = comment_config (s, comment);
  int hit = step_probe (b, cfg, err);
  if (hit != 0)
    return hit < 0 ? -1 : 0;
  if (*s->image_id == '\0')
    /* FROM scratch and nothing committed yet: no image to make the
     * container from; the step's image is made directly */
    return step_commit_upper_empty (b, cfg, err);
  _cleanup_free_ char *id = NULL;
  if (step_create (b, cfg, &id, err) < 0)
    return -1;
  return step_commit_container (b, id, NULL, err);
}

int
step_commit_upper_empty (build_t *b, json_t *container_config, arca_error_t *err)
{
  _cleanup_free_ char *empty = xasprintf ("%s/empty", b->ctx->dir);
  mkdir (empty, 0755);
  return step_commit_upper (b, empty, container_config, err);
}

/* containerManager.RemoveAll */
void
containers_remove_all (build_t *b)
{
  for (size_t i = 0; b->tmp_containers && b->tmp_containers[i]; i++)
    {
      arca_error_t err = { 0 };
      if (b->be.remove (b->be.ctx, b->tmp_containers[i], &err) < 0)
        {
          out_stream (b, "Error removing intermediate container %s: %s\n", short_id (b->tmp_containers[i]), err.msg);
          /* the rest stay listed for a later attempt, as moby returns here */
          char **left = strv_copy (b->tmp_containers + i);
          strv_free (b->tmp_containers);
          b->tmp_containers = left;
          return;
        }
      out_stream (b, "Removing intermediate container %s\n", short_id (b->tmp_containers[i]));
    }
  strv_free (b->tmp_containers);
  b->tmp_containers = NULL;
}

/* ---- stages ------------------------------------------------------------------------------------------ */

static void
state_free (dstate_t *s)
{
  if (s == NULL)
    return;
  json_decref (s->run_config);
  free (s->image_id);
  free (s->stage_name);
  buildargs_free (s->args);
  free (s->maintainer);
  free (s);
}

/* newDispatchState: args cloned, the stage's allowed args reset. */
static dstate_t *
state_new (const buildargs_t *base)
{
  dstate_t *s = xmalloc0 (sizeof *s);
  s->run_config = json_object ();
  s->image_id = xstrdup ("");
  s->args = buildargs_clone (base);
  buildargs_reset_allowed (s->args);
  return s;
}

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* beginStage */
static void
begin_stage (dstate_t *s, const char *name, const char *image_id, json_t *image_config)
{
  free (s->stage_name);
  s->stage_name = xstrdup (name);
  free (s->image_id);
  s->image_id = xstrdup (image_id ? image_id : "");
  json_decref (s->run_config);
  json_t *rc = json_object_get (image_config, "config");
  s->run_config = json_is_object (rc) ? json_deep_copy (rc) : json_object ();
  s->has_base = true;
  /* setDefaultPath */
  json_t *env = json_object_get (s->run_config, "Env");
  bool has_path = false;
  size_t i;
  json_t *v;
  json_array_foreach (env, i, v)
    if (str_has_prefix (json_string_value (v) ?: "", "PATH="))
      has_path = true;
  if (!has_path)
    {
      if (!json_is_array (env))
        json_object_set_new (s->run_config, "Env", env = json_array ());
      json_array_append_new (env, json_string ("PATH=" DEFAULT_PATH));
    }
  json_object_set_new (s->run_config, "OpenStdin", json_false ());
  json_object_set_new (s->run_config, "StdinOnce", json_false ());
}

/* getExpandedString: FROM's words see the meta args only. */
static int
expand_meta (build_t *b, const char *word, char **out, arca_error_t *err)
{
  _cleanup_strv_ char **env = buildargs_all_meta (b->state->args);
  return shell_process_word (word, env, b->escape, out, err);
}

static json_t *
stage_by_name (build_t *b, const char *name)
{
  _cleanup_free_ char *lower = xstrdup (name);
  for (char *c = lower; *c; c++)
    *c = (char) tolower ((unsigned char) *c);
  json_t *ix = json_object_get (b->stage_names, lower);
  return ix ? json_array_get (b->stage_flat, (size_t) json_integer_value (ix)) : NULL;
}

/* dispatchTriggeredOnBuild */
static int
run_triggers (build_t *b, json_t *triggers, arca_error_t *err)
{
  size_t n = json_array_size (triggers);
  out_stream (b, "# Executing %zu build trigger%s\n", n, n > 1 ? "s" : "");
  for (size_t i = 0; i < n; i++)
    {
      json_object_set_new (b->state->run_config, "Image", json_string (b->state->image_id));
      const char *t = json_string_value (json_array_get (triggers, i)) ?: "";
      df_ast_t *ast = NULL;
      if (dockerfile_parse (t, strlen (t), &ast, NULL, err) < 0)
        return -1;
      if (ast->n != 1)
        {
          df_ast_free (ast);
          return arca_error_set (err, ARCA_ERR_INTERNAL, "onbuild trigger should be a single expression");
        }
      instr_t ins;
      int r = instruction_parse (&ast->nodes[0], &ins, err);
      df_ast_free (ast);
      if (r < 0)
        return -1;
      r = dispatch (b, &ins, err);
      instr_clear (&ins);
      if (r < 0)
        return -1;
    }
  return 0;
}

/* initializeStage */
static int
init_stage (build_t *b, stage_t *st, arca_error_t *err)
{
  b->cache_busted = false; /* imageProber.Reset */
  _cleanup_free_ char *platform = NULL;
  if (st->platform)
    {
      if (expand_meta (b, st->platform, &platform, err) < 0)
        return arca_error_wrap (err, "failed to process arguments for platform %s", st->platform);
      registry_platform_t p;
      if (registry_platform_parse (platform, &p, err) < 0)
        return arca_error_wrap (err, "failed to parse platform %s", platform);
    }
  else if (b->o.platform && *b->o.platform)
    platform = xstrdup (b->o.platform);
  _cleanup_free_ char *name = NULL;
  if (expand_meta (b, st->base, &name, err) < 0)
    return -1;
  if (*name == '\0')
    return arca_error_set (err, ARCA_ERR_INTERNAL, "base name (%s) should not be blank", st->base);
  _cleanup_free_ char *id = NULL;
  _cleanup_json_ json_t *config = NULL;
  json_t *stage = stage_by_name (b, name);
  if (stage)
    {
      if (build_get_image (b, json_get_str (stage, "Image") ?: "", true, platform, &id, &config, err) < 0)
        return -1;
    }
  else if (strcmp (name, "scratch") == 0)
    {
      id = xstrdup ("");
      config = json_pack ("{s:s}", "os", "linux");
    }
  else if (build_get_image (b, name, false, platform, &id, &config, err) < 0)
    return -1;
  begin_stage (b->state, st->name, id, config);
  json_t *onbuild = json_object_get (b->state->run_config, "OnBuild");
  if (json_array_size (onbuild) > 0)
    {
      json_t *triggers = json_incref (onbuild);
      json_object_set_new (b->state->run_config, "OnBuild", json_null ());
      int r = run_triggers (b, triggers, err);
      json_decref (triggers);
      return r;
    }
  return 0;
}

static int
step_line (build_t *b, int *index, int total, const char *code)
{
  out_stream (b, "Step %d/%d : %s", *index, total, code);
  (*index)++;
  return out_stream (b, "\n");
}

/* processMetaArg */
static int
meta_arg (build_t *b, instr_t *ins, arca_error_t *err)
{
  _cleanup_strv_ char **env = buildargs_all_allowed (b->args);
  for (size_t i = 0; i < ins->n_pairs; i++)
    {
      ins_pair_t *p = &ins->pairs[i];
      char *k = NULL, *v = NULL;
      if (shell_process_word (p->key, env, b->escape, &k, err) < 0)
        return -1;
      if (p->value && shell_process_word (p->value, env, b->escape, &v, err) < 0)
        {
          free (k);
          return -1;
        }
      free (p->key);
      p->key = k;
      if (p->value)
        {
          free (p->value);
          p->value = v;
        }
    }
  for (size_t i = 0; i < ins->n_pairs; i++)
    {
      buildargs_add_arg (b->args, ins->pairs[i].key, ins->pairs[i].value);
      buildargs_add_meta (b->args, ins->pairs[i].key, ins->pairs[i].value);
    }
  return 0;
}

static int
emit_aux (build_t *b)
{
  if (!b->o.want_aux || *b->state->image_id == '\0')
    return 0;
  return out_msg (b, json_pack ("{s:{s:s}}", "aux", "ID", b->state->image_id));
}

/* commitStage: the stage's Config (with its image) for FROM <stage> and
 * COPY --from. */
static int
commit_stage (build_t *b, arca_error_t *err)
{
  dstate_t *s = b->state;
  json_object_set_new (s->run_config, "Image", json_string (s->image_id));
  if (s->stage_name)
    {
      if (stage_by_name (b, s->stage_name))
        return arca_error_set (err, ARCA_ERR_INTERNAL, "%s stage name already used", s->stage_name);
      json_object_set_new (b->stage_names, s->stage_name, json_integer ((json_int_t) json_array_size (b->stage_flat)));
    }
  json_array_append_new (b->stage_flat, json_deep_copy (s->run_config));
  return 0;
}

/* dispatchDockerfileWithCancellation */
static int
run_stages (build_t *b, arca_error_t *err)
{
  dockerfile_t *df = b->df;
  int total = (int) (df->n_meta_args + df->n_stages);
  for (size_t i = 0; i < df->n_stages; i++)
    total += (int) df->stages[i].n_cmds;
  int index = 1;
  for (size_t i = 0; i < df->n_meta_args; i++)
    {
      step_line (b, &index, total, df->meta_args[i].code);
      if (meta_arg (b, &df->meta_args[i], err) < 0)
        return -1;
    }
  for (size_t i = 0; i < df->n_stages; i++)
    {
      stage_t *st = &df->stages[i];
      if (st->name && stage_by_name (b, st->name))
        return arca_error_set (err, ARCA_ERR_INTERNAL, "%s stage name already used", st->name);
      state_free (b->state);
      b->state = state_new (b->args);
      step_line (b, &index, total, st->code);
      if (init_stage (b, st, err) < 0)
        return -1;
      json_object_set_new (b->state->run_config, "Image", json_string (b->state->image_id));
      out_stream (b, " ---> %s\n", short_id (b->state->image_id));
      for (size_t k = 0; k < st->n_cmds; k++)
        {
          if (build_cancelled (b))
            {
              out_stream (b, "Build cancelled\n");
              return arca_error_set (err, ARCA_ERR_INTERNAL, "Build cancelled");
            }
          step_line (b, &index, total, st->cmds[k].code);
          if (dispatch (b, &st->cmds[k], err) < 0)
            return -1;
          json_object_set_new (b->state->run_config, "Image", json_string (b->state->image_id));
          out_stream (b, " ---> %s\n", short_id (b->state->image_id));
        }
      if (emit_aux (b) < 0)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "Build cancelled");
      buildargs_merge_referenced (b->args, b->state->args);
      if (commit_stage (b, err) < 0)
        return -1;
    }
  _cleanup_strv_ char **unused = buildargs_unused (b->args);
  if (unused[0])
    {
      _cleanup_free_ char *list = go_strv_v (unused);
      out_stream (b, "[Warning] One or more build-args %s were not consumed\n", list);
    }
  return 0;
}

/* ---- prepare / execute -------------------------------------------------------------------------------------- */

/* NewTagger / sanitizeRepoAndTags: canonical names, duplicates dropped. */
static int
check_tags (char **tags, char ***out, arca_error_t *err)
{
  char **v = xmalloc0 (sizeof (char *));
  for (size_t i = 0; tags && tags[i]; i++)
    {
      if (*tags[i] == '\0')
        continue;
      _cleanup_free_ char *canon = NULL;
      if (image_ref_normalize (tags[i], &canon, err) < 0)
        {
          strv_free (v);
          err->kind = ARCA_ERR_INTERNAL; /* dockerd answers 500 here */
          return -1;
        }
      if (strchr (canon, '@'))
        {
          strv_free (v);
          return arca_error_set (err, ARCA_ERR_INTERNAL, "build tag cannot contain a digest");
        }
      bool dup = false;
      for (size_t k = 0; v[k]; k++)
        dup |= strcmp (v[k], canon) == 0;
      if (!dup)
        v = strv_append (v, canon);
    }
  *out = v;
  return 0;
}

int build_remote_context (build_t *b, const char *tmp_dir, char **dockerfile, size_t *len, arca_error_t *err);

int
build_prepare (arca_image_store_t *images, const build_backend_t *be, const build_options_t *o, const char *tar_path,
               const char *tmp_dir, build_t **out, arca_error_t *err)
{
  build_t *b = xmalloc0 (sizeof *b);
  b->images = images;
  b->be = *be;
  b->cancel_fd = -1;
  b->quiet_buf = json_array ();
  b->stage_flat = json_array ();
  b->stage_names = json_object ();
  options_copy (&b->o, o);
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  df_ast_t *ast = NULL;
  char **tags = NULL;
  if (check_tags (b->o.tags, &tags, err) < 0)
    goto fail;
  strv_free (b->o.tags);
  b->o.tags = tags;
  if (b->o.platform && *b->o.platform)
    {
      registry_platform_t p;
      if (registry_platform_parse (b->o.platform, &p, err) < 0)
        {
          _cleanup_free_ char *q = go_quote (b->o.platform);
          arca_error_set (err, ARCA_ERR_INVALID, "%s: cannot parse platform specifier: invalid argument", q);
          goto fail;
        }
    }
  if (b->o.remote && *b->o.remote)
    {
      if (build_remote_context (b, tmp_dir, &data, &len, err) < 0)
        goto fail;
    }
  else
    {
      if (build_context_open (tmp_dir, tar_path, &b->ctx, err) < 0)
        goto fail;
      if (build_context_dockerfile (b->ctx, b->o.dockerfile, &data, &len, err) < 0)
        goto fail;
    }
  if (dockerfile_parse (data, len, &ast, NULL, err) < 0)
    {
      arca_error_wrap (err, "failed to parse %s", b->o.dockerfile);
      goto fail;
    }
  b->escape = ast->escape;
  b->warnings = strv_copy (ast->warnings);
  if (dockerfile_compile (ast, &b->df, err) < 0)
    goto fail;
  df_ast_free (ast);
  ast = NULL;
  if (b->o.target && *b->o.target)
    {
      size_t k = b->df->n_stages;
      for (size_t i = 0; i < b->df->n_stages; i++)
        if (b->df->stages[i].name && strcasecmp (b->df->stages[i].name, b->o.target) == 0)
          {
            k = i;
            break;
          }
      if (k == b->df->n_stages)
        {
          arca_error_set (err, ARCA_ERR_INVALID, "failed to reach build target %s in Dockerfile", b->o.target);
          goto fail;
        }
      dockerfile_t *df = b->df;
      for (size_t i = k + 1; i < df->n_stages; i++)
        {
          stage_t *st = &df->stages[i];
          free (st->name);
          free (st->base);
          free (st->platform);
          free (st->code);
          for (size_t c = 0; c < st->n_cmds; c++)
            instr_clear (&st->cmds[c]);
          free (st->cmds);
        }
      df->n_stages = k + 1;
    }
  if (b->df->n_stages == 0)
    {
      /* only ARGs: nothing to build ("No image was generated" comes at the end in moby) */
    }
  else if (json_is_object (b->o.labels) && json_object_size (b->o.labels) > 0)
    {
      /* buildLabelOptions: sorted keys, on the last stage */
      size_t n = json_object_size (b->o.labels);
      const char **keys = xmalloc0 ((n + 1) * sizeof (char *));
      size_t k = 0;
      const char *key;
      json_t *v;
      json_object_foreach (b->o.labels, key, v)
        keys[k++] = key;
      for (size_t i = 0; i < k; i++)
        for (size_t j = i + 1; j < k; j++)
          if (strcmp (keys[j], keys[i]) < 0)
            {
              const char *t = keys[i];
              keys[i] = keys[j];
              keys[j] = t;
            }
      for (size_t i = 0; i < k; i++)
        stage_add_label (&b->df->stages[b->df->n_stages - 1], keys[i],
                         json_string_value (json_object_get (b->o.labels, keys[i])) ?: "");
      free (keys);
    }
  b->args = buildargs_new (b->o.build_args);
  *out = b;
  return 0;
fail:
  df_ast_free (ast);
  build_free (b);
  return -1;
}

static void
resolve_cache_from (build_t *b)
{
  if (b->o.no_cache || b->o.cache_from == NULL || b->o.cache_from[0] == NULL)
    return;
  /* MakeImageCache: sources that are not there are skipped */
  b->cache_from = xmalloc0 (sizeof (char *));
  for (size_t i = 0; b->o.cache_from[i]; i++)
    {
      arca_image_t *img = NULL;
      arca_error_t ignored;
      if (image_resolve (b->images, b->o.cache_from[i], &img, &ignored) < 0)
        {
          log_info ("build: cache-from image %s not found", b->o.cache_from[i]);
          continue;
        }
      b->cache_from = strv_append (b->cache_from, img->id);
      image_free (img);
    }
}

int
build_execute (build_t *b, build_emit_fn emit, void *ctx, int cancel_fd, char **image_id, int *code,
               arca_error_t *err)
{
  b->emit = emit;
  b->emit_ctx = ctx;
  b->cancel_fd = cancel_fd;
  *code = 0;
  resolve_cache_from (b);
  if (b->warnings && b->warnings[0])
    {
      arca_buf_t w = { 0 };
      for (size_t i = 0; b->warnings[i]; i++)
        buf_printf (&w, "%s\n", b->warnings[i]);
      out_stderr (b, w.data, w.len);
      buf_free (&w);
    }
  int ret = run_stages (b, err);
  if (ret == 0 && (b->state == NULL || *b->state->image_id == '\0'))
    ret = arca_error_set (err, ARCA_ERR_INTERNAL, "No image was generated. Is your Dockerfile empty?");
  if (ret == 0)
    {
      const char *id = b->state->image_id;
      out_stream (b, "Successfully built %s\n", short_id (id));
      for (size_t i = 0; ret == 0 && b->o.tags[i]; i++)
        {
          /* TagImageWithReference */
          _cleanup_free_ char *repo = xstrdup (b->o.tags[i]);
          char *colon = strrchr (repo, ':');
          char *tag = NULL;
          if (colon && !strchr (colon, '/'))
            {
              *colon = '\0';
              tag = colon + 1;
            }
          if (image_tag (b->images, id, repo, tag, err) < 0)
            ret = -1;
          else
            {
              _cleanup_free_ char *f = image_ref_familiar (b->o.tags[i]);
              out_stream (b, "Successfully tagged %s\n", f);
            }
        }
      if (ret == 0)
        *image_id = xstrdup (id);
    }
  if (ret < 0)
    *code = b->failed_code;
  if (b->used_cache)
    {
      arca_error_t terr = { 0 };
      if (image_cache_touch (b->images, b->used_cache, &terr) < 0)
        log_warn ("build: recording cache use: %s", terr.msg);
    }
  return ret;
}

void
build_free (build_t *b)
{
  if (b == NULL)
    return;
  for (size_t i = 0; b->holds && b->holds[i]; i++)
    image_cache_release (b->images, b->holds[i]);
  strv_free (b->holds);
  build_options_clear (&b->o);
  build_context_free (b->ctx);
  dockerfile_free (b->df);
  strv_free (b->warnings);
  json_decref (b->quiet_buf);
  strv_free (b->cache_from);
  strv_free (b->used_cache);
  json_decref (b->stage_flat);
  json_decref (b->stage_names);
  strv_free (b->tmp_containers);
  buildargs_free (b->args);
  state_free (b->state);
  free (b);
}
