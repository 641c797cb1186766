/* docker import: a rootfs tarball becomes a one-layer image (moby
 * daemon/images/image_import.go).  The config's "config" follows the
 * Dockerfile instructions given as changes (moby builder/dockerfile
 * BuildFromConfig; the same instructions `docker import --change` allows). */
#include "image/store_internal.h"

#include <ctype.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"
#include "util/timeutil.h"

/* Words of a shell-form line, honouring simple "..." and '...' quoting and
 * backslash escapes (enough for ENV/LABEL/VOLUME/EXPOSE key=value lists). */
static char **
split_words (const char *s)
{
  arca_strv_builder_t v = { 0 };
  arca_buf_t b = { 0 };
  bool in_word = false;
  char quote = 0;
  for (const char *p = s;; p++)
    {
      char c = *p;
      if (c == '\0' || (!quote && isspace ((unsigned char) c)))
        {
          if (in_word)
            {
              buf_append (&b, "", 1);
              strv_builder_add (&v, b.data);
              b.len = 0;
              in_word = false;
            }
          if (c == '\0')
            break;
          continue;
        }
      in_word = true;
      if (quote)
        {
          if (c == quote)
            quote = 0;
          else if (c == '\\' && quote == '"' && p[1])
            buf_append (&b, ++p, 1);
          else
            buf_append (&b, &c, 1);
        }
      else if (c == '"' || c == '\'')
        quote = c;
      else if (c == '\\' && p[1])
        buf_append (&b, ++p, 1);
      else
        buf_append (&b, &c, 1);
    }
  buf_free (&b);
  return strv_builder_finish (&v);
}

/* A JSON array of strings, or NULL if s is not one (shell form). */
static json_t *
json_form (const char *s)
{
  while (isspace ((unsigned char) *s))
    s++;
  if (*s != '[')
    return NULL;
  json_t *a = json_loads (s, 0, NULL);
  if (!json_is_array (a))
    {
      json_decref (a);
      return NULL;
    }
  size_t i;
  json_t *v;
  json_array_foreach (a, i, v)
    if (!json_is_string (v))
      {
        json_decref (a);
        return NULL;
      }
  return a;
}

static json_t *
command_form (const char *rest)
{
  json_t *a = json_form (rest);
  if (a)
    return a;
  return json_pack ("[s, s, s]", "/bin/sh", "-c", rest);
}

static void
set_env (json_t *config, const char *key, const char *value)
{
  json_t *env = json_object_get (config, "Env");
  if (!json_is_array (env))
    {
      env = json_array ();
      json_object_set_new (config, "Env", env);
    }
  _cleanup_free_ char *entry = xasprintf ("%s=%s", key, value);
  size_t klen = strlen (key), i;
  json_t *v;
  json_array_foreach (env, i, v)
    {
      const char *e = json_string_value (v);
      if (e && strncmp (e, key, klen) == 0 && (e[klen] == '=' || e[klen] == '\0'))
        {
          json_array_set_new (env, i, json_string (entry));
          return;
        }
    }
  json_array_append_new (env, json_string (entry));
}

/* KEY=VALUE pairs, or the legacy "KEY VALUE" form. */
static int
key_values (const char *instr, const char *rest, void (*set) (json_t *, const char *, const char *), json_t *config,
            arca_error_t *err)
{
  _cleanup_strv_ char **words = split_words (rest);
  if (words[0] == NULL)
    return arca_error_set (err, ARCA_ERR_INVALID, "%s requires at least one argument", instr);
  if (strchr (words[0], '=') == NULL)
    {
      /* "ENV KEY some value": the value is the rest of the line. */
      const char *p = rest;
      while (isspace ((unsigned char) *p))
        p++;
      const char *sp = p + strcspn (p, " \t");
      _cleanup_free_ char *key = strndup (p, (size_t) (sp - p));
      while (isspace ((unsigned char) *sp))
        sp++;
      if (*sp == '\0')
        return arca_error_set (err, ARCA_ERR_INVALID, "%s must have two arguments", instr);
      set (config, key, sp);
      return 0;
    }
  for (size_t i = 0; words[i]; i++)
    {
      char *eq = strchr (words[i], '=');
      if (eq == NULL || eq == words[i])
        return arca_error_set (err, ARCA_ERR_INVALID, "Syntax error - can't find = in \"%s\". Must be of the form: name=value",
                               words[i]);
      *eq = '\0';
      set (config, words[i], eq + 1);
    }
  return 0;
}

static void
set_label (json_t *config, const char *key, const char *value)
{
  json_t *labels = json_object_get (config, "Labels");
  if (!json_is_object (labels))
    {
      labels = json_object ();
      json_object_set_new (config, "Labels", labels);
    }
  json_object_set_new (labels, key, json_string (value));
}

static void
add_set_member (json_t *config, const char *field, const char *key)
{
  json_t *o = json_object_get (config, field);
  if (!json_is_object (o))
    {
      o = json_object ();
      json_object_set_new (config, field, o);
    }
  json_object_set_new (o, key, json_object ());
}

/* HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D]
 * [--start-interval=D] [--retries=N] CMD command | NONE, as buildkit's
 * dockerfile parser reads it (instructions/parse.go parseHealthcheck). */
static int
healthcheck_duration (const char *flag, const char *value, json_t *hc, const char *field, arca_error_t *err)
{
  int64_t d = 0;
  if (strcmp (value, "0") != 0 && time_parse_go_duration (value, &d) < 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "time: invalid duration \"%s\"", value);
  if (d != 0 && d < 1000000)
    return arca_error_set (err, ARCA_ERR_INVALID, "Interval \"%s\" cannot be less than 1ms", flag);
  if (d != 0)
    json_object_set_new (hc, field, json_integer (d));
  return 0;
}

static int
healthcheck_change (json_t *config, const char *rest, arca_error_t *err)
{
  static const struct
  {
    const char *flag, *field;
  } durations[] = { { "interval", "Interval" },
                    { "timeout", "Timeout" },
                    { "start-period", "StartPeriod" },
                    { "start-interval", "StartInterval" } };
  _cleanup_json_ json_t *hc = json_object ();
  const char *p = rest;
  while (strncmp (p, "--", 2) == 0)
    {
      size_t len = strcspn (p, " \t");
      _cleanup_free_ char *arg = strndup (p + 2, len - 2);
      p += len;
      while (isspace ((unsigned char) *p))
        p++;
      char *eq = strchr (arg, '=');
      if (eq == NULL)
        return arca_error_set (err, ARCA_ERR_INVALID, "Missing a value on flag: %s", arg);
      *eq = '\0';
      const char *value = eq + 1;
      bool known = false;
      for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++)
        if (strcmp (arg, durations[i].flag) == 0)
          {
            known = true;
            if (healthcheck_duration (arg, value, hc, durations[i].field, err) < 0)
              return -1;
          }
      if (strcmp (arg, "retries") == 0)
        {
          known = true;
          char *end;
          long long n = strtoll (value, &end, 10);
          if (*value == '\0' || *end)
            return arca_error_set (err, ARCA_ERR_INVALID, "strconv.ParseInt: parsing \"%s\": invalid syntax", value);
          if (n < 0)
            return arca_error_set (err, ARCA_ERR_INVALID, "--retries cannot be negative (%lld)", n);
          if (n > 0)
            json_object_set_new (hc, "Retries", json_integer (n));
        }
      if (!known)
        return arca_error_set (err, ARCA_ERR_INVALID, "Unknown flag: %s", arg);
    }
  if (*p == '\0')
    return arca_error_set (err, ARCA_ERR_INVALID, "HEALTHCHECK requires at least one argument");
  size_t tlen = strcspn (p, " \t");
  _cleanup_free_ char *type = strndup (p, tlen);
  for (char *c = type; *c; c++)
    *c = (char) toupper ((unsigned char) *c);
  const char *args = p + tlen;
  while (isspace ((unsigned char) *args))
    args++;
  if (strcmp (type, "NONE") == 0)
    {
      if (*args)
        return arca_error_set (err, ARCA_ERR_INVALID, "HEALTHCHECK NONE takes no arguments");
      json_object_set_new (config, "Healthcheck", json_pack ("{s:[s]}", "Test", "NONE"));
      return 0;
    }
  if (strcmp (type, "CMD") != 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", type);
  json_t *test = json_array ();
  _cleanup_json_ json_t *exec_form = json_form (args);
  if (exec_form)
    {
      json_array_append_new (test, json_string ("CMD"));
      json_array_extend (test, exec_form);
    }
  else if (*args)
    {
      json_array_append_new (test, json_string ("CMD-SHELL"));
      json_array_append_new (test, json_string (args));
    }
  if (json_array_size (test) < 2)
    {
      json_decref (test);
      return arca_error_set (err, ARCA_ERR_INVALID, "Missing command after HEALTHCHECK CMD");
    }
  /* in the field order of moby's HealthConfig */
  json_t *ordered = json_pack ("{s:o}", "Test", test);
  static const char *const order[] = { "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries", NULL };
  for (int i = 0; order[i]; i++)
    if (json_object_get (hc, order[i]))
      json_object_set (ordered, order[i], json_object_get (hc, order[i]));
  json_object_set_new (config, "Healthcheck", ordered);
  return 0;
}

static int
apply_change (json_t *config, const char *line, arca_error_t *err)
{
  while (isspace ((unsigned char) *line))
    line++;
  if (*line == '\0' || *line == '#')
    return 0;
  size_t wlen = strcspn (line, " \t");
  _cleanup_free_ char *instr = strndup (line, wlen);
  for (char *p = instr; *p; p++)
    *p = (char) toupper ((unsigned char) *p);
  const char *rest = line + wlen;
  while (isspace ((unsigned char) *rest))
    rest++;
  _cleanup_free_ char *trimmed = xstrdup (rest);
  for (size_t n = strlen (trimmed); n > 0 && isspace ((unsigned char) trimmed[n - 1]); n--)
    trimmed[n - 1] = '\0';

  if (strcmp (instr, "CMD") == 0)
    json_object_set_new (config, "Cmd", command_form (trimmed));
  else if (strcmp (instr, "ENTRYPOINT") == 0)
    json_object_set_new (config, "Entrypoint", command_form (trimmed));
  else if (strcmp (instr, "ENV") == 0)
    return key_values ("ENV", trimmed, set_env, config, err);
  else if (strcmp (instr, "LABEL") == 0)
    return key_values ("LABEL", trimmed, set_label, config, err);
  else if (strcmp (instr, "WORKDIR") == 0)
    {
      const char *prev = json_get_str (config, "WorkingDir");
      _cleanup_free_ char *wd = trimmed[0] == '/' || prev == NULL ? xstrdup (trimmed)
                                                                   : xasprintf ("%s/%s", prev, trimmed);
      json_object_set_new (config, "WorkingDir", json_string (wd));
    }
  else if (strcmp (instr, "USER") == 0)
    json_object_set_new (config, "User", json_string (trimmed));
  else if (strcmp (instr, "STOPSIGNAL") == 0)
    json_object_set_new (config, "StopSignal", json_string (trimmed));
  else if (strcmp (instr, "EXPOSE") == 0)
    {
      _cleanup_strv_ char **ports = split_words (trimmed);
      for (size_t i = 0; ports[i]; i++)
        {
          _cleanup_free_ char *p = strchr (ports[i], '/') ? xstrdup (ports[i]) : xasprintf ("%s/tcp", ports[i]);
          add_set_member (config, "ExposedPorts", p);
        }
    }
  else if (strcmp (instr, "VOLUME") == 0)
    {
      _cleanup_json_ json_t *a = json_form (trimmed);
      if (a)
        {
          size_t i;
          json_t *v;
          json_array_foreach (a, i, v)
            add_set_member (config, "Volumes", json_string_value (v));
        }
      else
        {
          _cleanup_strv_ char **vols = split_words (trimmed);
          for (size_t i = 0; vols[i]; i++)
            add_set_member (config, "Volumes", vols[i]);
        }
    }
  else if (strcmp (instr, "HEALTHCHECK") == 0)
    return healthcheck_change (config, trimmed, err);
  else if (strcmp (instr, "ONBUILD") == 0)
    {
      json_t *ob = json_object_get (config, "OnBuild");
      if (!json_is_array (ob))
        json_object_set_new (config, "OnBuild", ob = json_array ());
      json_array_append_new (ob, json_string (trimmed));
    }
  else
    return arca_error_set (err, ARCA_ERR_INVALID, "%s is not a valid change command", instr);
  return 0;
}

int
image_import (arca_image_store_t *s, const char *tar_path, const char *repo, const char *tag, char **changes,
              const char *message, char **image_id, arca_error_t *err)
{
  /* moby httputils.RepoTagReference */
  _cleanup_free_ char *key = NULL;
  if (image_ref_repo_tag_key (repo, tag, "cannot import digest reference", &key, err) < 0)
    return -1;

  _cleanup_json_ json_t *cfg = json_object ();
  for (size_t i = 0; changes && changes[i]; i++)
    {
      /* One value may hold several instructions, one per line. */
      _cleanup_free_ char *copy = xstrdup (changes[i]);
      char *save = NULL;
      for (char *line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
        if (apply_change (cfg, line, err) < 0)
          return -1;
    }

  store_undo_t undo = { 0 };
  store_pending_t p = { 0 };
  int ret = -1;
  _cleanup_json_ json_t *config = NULL;
  _cleanup_json_ json_t *manifest = NULL;
  _cleanup_free_ char *config_text = NULL;
  _cleanup_free_ char *manifest_text = NULL;
  pthread_mutex_lock (&s->lock);
  store_layer_t *layer = xmalloc0 (sizeof *layer);
  p.layers = layer;
  p.n_layers = 1;
  p.blobs = xmalloc0 (sizeof (char *));
  p.tags = xmalloc0 (sizeof (char *));
  if (store_layer_ensure (s, tar_path, NULL, NULL, 0, layer, &undo, err) < 0)
    goto out;
  if (store_blob_put_file (s, tar_path, layer->blob_digest, &undo, err) < 0)
    goto out;
  p.blobs = strv_append (p.blobs, layer->blob_digest);

  const char *comment = message && *message ? message : "Imported from -";
  char created[64];
  time_format_rfc3339nano (time_now_ns (), created, sizeof created);
  const char *variant;
  const char *arch = store_go_arch (&variant);
  config = json_pack ("{s:s, s:O, s:s, s:s, s:s, s:{s:s, s:[s]}, s:[{s:s, s:s}]}", "created",
                                             created, "config", cfg, "architecture", arch, "os", "linux", "comment",
                                             comment, "rootfs", "type", "layers", "diff_ids", layer->diff_id, "history",
                                             "created", created, "comment", comment);
  if (variant)
    json_object_set_new (config, "variant", json_string (variant));
  config_text = json_dumps (config, JSON_COMPACT);
  if (store_blob_put_data (s, config_text, strlen (config_text), p.id, &undo, err) < 0)
    goto out;
  p.blobs = strv_append (p.blobs, p.id);

  manifest = json_pack (
      "{s:i, s:s, s:{s:s, s:I, s:s}, s:[{s:s, s:I, s:s}]}", "schemaVersion", 2, "mediaType", MT_DOCKER_MANIFEST,
      "config", "mediaType", MT_DOCKER_CONFIG, "size", (json_int_t) strlen (config_text), "digest", p.id, "layers",
      "mediaType", layer->media_type, "size", (json_int_t) layer->blob_size, "digest", layer->blob_digest);
  manifest_text = json_dumps (manifest, JSON_COMPACT);
  if (store_blob_put_data (s, manifest_text, strlen (manifest_text), p.manifest, &undo, err) < 0)
    goto out;
  p.manifest_media_type = MT_DOCKER_MANIFEST;
  p.manifest_size = (int64_t) strlen (manifest_text);
  p.blobs = strv_append (p.blobs, p.manifest);
  if (key)
    {
      p.tags = strv_append (p.tags, key);
      p.set_last_tag_time = true; /* moby tags through TagImage */
    }
  if (store_commit (s, &p, 1, err) < 0)
    goto out;
  store_undo_forget (&undo);
  *image_id = xstrdup (p.id);
  ret = 0;
out:
  if (ret < 0)
    store_undo_rollback (&undo);
  pthread_mutex_unlock (&s->lock);
  if (ret == 0)
    {
      /* events (moby image_import.go): the tag, then the import */
      if (key)
        {
          _cleanup_free_ char *familiar = image_ref_familiar (key);
          store_event (s, "tag", p.id, familiar);
        }
      store_event (s, "import", p.id, p.id);
    }
  store_pending_clear (&p);
  return ret;
}

/* Shared with docker commit (image/commit.c): the same instructions, applied
 * to a config the caller already holds. */
int
image_config_apply_changes (json_t *config, char **changes, arca_error_t *err)
{
  for (size_t i = 0; changes && changes[i]; i++)
    {
      _cleanup_free_ char *copy = xstrdup (changes[i]);
      char *save = NULL;
      for (char *line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
        if (apply_change (config, line, err) < 0)
          return -1;
    }
  return 0;
}
