/* Logging drivers (moby daemon/logger): what the shim is told to do with a
 * container's output at each start, checked as each driver's New() checks
 * its options (a failure is dockerd's "failed to create task for
 * container: failed to initialize logging driver: ..."), and where the
 * daemon reads logs back from.
 *   json-file  <dir>/<id>-json.log, max-size/max-file/compress, attrs from
 *              labels, labels-regex, env, env-regex, tag
 *   local      <dir>/local-logs/container.log, protobuf entries,
 *              20 MB x 5 compressed unless set
 *   syslog     to syslog-address (unix, unixgram, udp, tcp), with the
 *              local cache <dir>/container-cached.log for docker logs
 *              (dockerd's dual logging) unless cache-disabled
 *   none       nothing */
#include "engine/internal.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strutil.h"

#define LOCAL_MAX_SIZE (20 * 1024 * 1024) /* moby local defaultMaxFileSize */
#define LOCAL_MAX_FILES 5

/* go-units FromHumanSize: decimal (SI) units, "10k" = 10000. */
static int
from_human_size (const char *s, int64_t *out, arca_error_t *err)
{
  char *end;
  double v = strtod (s, &end);
  if (end == s || v < 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "invalid size: '%s'", s);
  while (*end == ' ')
    end++;
  double mul = 1;
  switch (tolower ((unsigned char) *end))
    {
    case 'k': mul = 1e3; end++; break;
    case 'm': mul = 1e6; end++; break;
    case 'g': mul = 1e9; end++; break;
    case 't': mul = 1e12; end++; break;
    case 'p': mul = 1e15; end++; break;
    default: break;
    }
  if (*end == 'i' || *end == 'I')
    end++;
  if (*end == 'b' || *end == 'B')
    end++;
  if (*end != '\0')
    return arca_error_set (err, ARCA_ERR_INTERNAL, "invalid size: '%s'", s);
  *out = (int64_t) (v * mul);
  return 0;
}

/* go-units RAMInBytes: binary units, "64k" = 65536 (what moby's
 * StartLogger parses max-buffer-size with). */
static int
from_ram_size (const char *s, int64_t *out, arca_error_t *err)
{
  int64_t v;
  if (from_human_size (s, &v, err) < 0)
    return -1;
  char *end;
  double n = strtod (s, &end);
  while (*end == ' ')
    end++;
  static const char units[] = "kmgtp";
  const char *u = *end ? strchr (units, tolower ((unsigned char) *end)) : NULL;
  double mul = 1;
  for (const char *k = units; u && k <= u; k++)
    mul *= 1024;
  *out = (int64_t) (n * mul);
  return 0;
}

/* Go strconv.Atoi / ParseBool errors as they read. */
static int
go_atoi (const char *s, int *out, arca_error_t *err)
{
  char *end;
  errno = 0;
  long v = strtol (s, &end, 10);
  if (*s == '\0' || *end != '\0' || errno)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "strconv.Atoi: parsing \"%s\": invalid syntax", s);
  *out = (int) v;
  return 0;
}

static int
go_parse_bool (const char *s, bool *out, arca_error_t *err)
{
  static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True", NULL };
  static const char *const f[] = { "0", "f", "F", "FALSE", "false", "False", NULL };
  for (size_t i = 0; t[i]; i++)
    if (strcmp (s, t[i]) == 0)
      {
        *out = true;
        return 0;
      }
  for (size_t i = 0; f[i]; i++)
    if (strcmp (s, f[i]) == 0)
      {
        *out = false;
        return 0;
      }
  return arca_error_set (err, ARCA_ERR_INTERNAL, "strconv.ParseBool: parsing \"%s\": invalid syntax", s);
}

static const char *
opt (json_t *cfg, const char *key)
{
  return json_string_value (json_object_get (cfg, key));
}

/* loggerutils.ParseLogTag: the tag template's common fields. */
static char *
log_tag (arca_container_t *c, json_t *cfg, const char *dflt)
{
  const char *tmpl = opt (cfg, "tag");
  if (tmpl == NULL || *tmpl == '\0')
    tmpl = dflt;
  if (tmpl == NULL)
    return NULL;
  arca_buf_t b = { 0 };
  buf_append (&b, "", 0);
  for (const char *p = tmpl; *p;)
    {
      const char *open = strstr (p, "{{");
      if (open == NULL)
        {
          buf_printf (&b, "%s", p);
          break;
        }
      buf_append (&b, p, (size_t) (open - p));
      const char *close = strstr (open, "}}");
      if (close == NULL)
        {
          buf_printf (&b, "%s", open);
          break;
        }
      _cleanup_free_ char *field = xasprintf ("%.*s", (int) (close - open - 2), open + 2);
      char *f = field;
      while (*f == ' ')
        f++;
      for (char *e = f + strlen (f); e > f && e[-1] == ' ';)
        *--e = '\0';
      if (strcmp (f, ".ID") == 0)
        buf_printf (&b, "%.12s", c->id);
      else if (strcmp (f, ".FullID") == 0)
        buf_printf (&b, "%s", c->id);
      else if (strcmp (f, ".Name") == 0)
        buf_printf (&b, "%s", c->name);
      else if (strcmp (f, ".ImageID") == 0)
        buf_printf (&b, "%.12s", c->image_id + (str_has_prefix (c->image_id, "sha256:") ? 7 : 0));
      else if (strcmp (f, ".ImageFullID") == 0)
        buf_printf (&b, "%s", c->image_id);
      else if (strcmp (f, ".ImageName") == 0)
        buf_printf (&b, "%s", c->config_image ?: "");
      else if (strcmp (f, ".DaemonName") == 0)
        buf_printf (&b, "docker");
      else if (strcmp (f, ".Command") == 0)
        {
          buf_printf (&b, "%s", c->path);
          for (size_t i = 0; c->args && c->args[i]; i++)
            buf_printf (&b, " %s", c->args[i]);
        }
      p = close + 2;
    }
  return b.data;
}

static bool
regex_match (const char *re_text, const char *s)
{
  regex_t re;
  if (regcomp (&re, re_text, REG_EXTENDED | REG_NOSUB) != 0)
    return false;
  bool m = regexec (&re, s, 0, NULL, 0) == 0;
  regfree (&re);
  return m;
}

/* Info.ExtraAttributes: labels, labels-regex, env, env-regex. */
static json_t *
extra_attributes (arca_container_t *c, json_t *cfg)
{
  json_t *attrs = json_object ();
  json_t *labels = c->labels;
  const char *l = opt (cfg, "labels");
  if (l && *l)
    {
      _cleanup_free_ char *copy = xstrdup (l);
      char *save = NULL;
      for (char *k = strtok_r (copy, ",", &save); k; k = strtok_r (NULL, ",", &save))
        if (json_is_string (json_object_get (labels, k)))
          json_object_set (attrs, k, json_object_get (labels, k));
    }
  const char *lr = opt (cfg, "labels-regex");
  if (lr && *lr)
    {
      const char *k;
      json_t *v;
      json_object_foreach (labels, k, v)
        if (regex_match (lr, k))
          json_object_set (attrs, k, v);
    }
  json_t *envmap = json_object ();
  _cleanup_json_ json_t *ccfg = container_config (c);
  size_t i;
  json_t *e;
  json_array_foreach (json_object_get (ccfg, "Env"), i, e)
    {
      const char *s = json_string_value (e), *eq = s ? strchr (s, '=') : NULL;
      if (eq)
        {
          _cleanup_free_ char *k = xasprintf ("%.*s", (int) (eq - s), s);
          json_object_set_new (envmap, k, json_string (eq + 1));
        }
    }
  const char *en = opt (cfg, "env");
  if (en && *en)
    {
      _cleanup_free_ char *copy = xstrdup (en);
      char *save = NULL;
      for (char *k = strtok_r (copy, ",", &save); k; k = strtok_r (NULL, ",", &save))
        if (json_object_get (envmap, k))
          json_object_set (attrs, k, json_object_get (envmap, k));
    }
  const char *er = opt (cfg, "env-regex");
  if (er && *er)
    {
      const char *k;
      json_t *v;
      json_object_foreach (envmap, k, v)
        if (regex_match (er, k))
          json_object_set (attrs, k, v);
    }
  json_decref (envmap);
  return attrs;
}

/* max-size, max-file, compress as json-file's and local's New() read them. */
static int
rotation (json_t *cfg, int64_t dflt_size, int dflt_files, bool dflt_compress, bool local, json_t *out, arca_error_t *err)
{
  int64_t size = dflt_size;
  int files = dflt_files;
  bool compress = dflt_compress;
  const char *s;
  if ((s = opt (cfg, "max-size")))
    {
      if (from_human_size (s, &size, err) < 0)
        return local ? arca_error_wrap (err, "invalid value for max-size: %s", s) : -1;
      if (!local && size <= 0)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "max-size must be a positive number");
    }
  if ((s = opt (cfg, "max-file")))
    {
      if (go_atoi (s, &files, err) < 0)
        return local ? arca_error_wrap (err, "invalid value for max-file: %s", s) : -1;
      if (!local && files < 1)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "max-file cannot be less than 1");
    }
  if ((s = opt (cfg, "compress")))
    {
      if (go_parse_bool (s, &compress, err) < 0)
        return local ? arca_error_wrap (err, "error reading compress log option") : -1;
      if (!local && compress && (files == 1 || size <= 0))
        return arca_error_set (err, ARCA_ERR_INTERNAL,
                               "compress cannot be true when max-file is less than 2 or max-size is not set");
    }
  if (local)
    {
      /* local validateConfig */
      if (size < 0)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "max size should be a positive number");
      if (files < 0)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "max file count cannot be less than 0");
      if (compress && files <= 1)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "compression cannot be enabled when max file count is 1");
    }
  json_object_set_new (out, "max_size", json_integer (size));
  json_object_set_new (out, "max_files", json_integer (files > 0 ? files : 1));
  json_object_set_new (out, "compress", json_boolean (compress));
  return 0;
}

static int
local_file (arca_engine_t *e, arca_container_t *c, const char *name, json_t *out, arca_error_t *err)
{
  _cleanup_free_ char *dir = container_dir (e, c->id);
  _cleanup_free_ char *logdir = xasprintf ("%s/local-logs", dir);
  if (strcmp (name, "container.log") == 0 && fs_mkdir_p (logdir, 0700, err) < 0)
    return -1;
  _cleanup_free_ char *path = strcmp (name, "container.log") == 0 ? xasprintf ("%s/%s", logdir, name)
                                                                   : xasprintf ("%s/%s", dir, name);
  json_object_set_new (out, "path", json_string (path));
  return 0;
}

static const char *const facilities[] = { "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
                                          "uucp", "cron", "authpriv", "ftp", NULL };

/* syslog parseFacility: a name or 0-23. */
static int
syslog_facility (const char *s, int *out)
{
  if (s == NULL || *s == '\0')
    {
      *out = 3; /* daemon */
      return 0;
    }
  for (int i = 0; facilities[i]; i++)
    if (strcmp (s, facilities[i]) == 0)
      return (*out = i), 0;
  if (strncmp (s, "local", 5) == 0 && s[5] >= '0' && s[5] <= '7' && s[6] == '\0')
    return (*out = 16 + (s[5] - '0')), 0;
  char *end;
  long n = strtol (s, &end, 10);
  if (*s && *end == '\0' && n >= 0 && n <= 23)
    return (*out = (int) n), 0;
  return -1;
}

/* syslog parseAddress; tcp+tls is not offered (no TLS in the shim). */
static int
syslog_address (const char *addr, char **proto, char **where, arca_error_t *err)
{
  *proto = *where = NULL;
  if (addr == NULL || *addr == '\0')
    return 0;
  const char *sep = strstr (addr, "://");
  _cleanup_free_ char *scheme = sep ? xasprintf ("%.*s", (int) (sep - addr), addr) : xstrdup ("");
  const char *rest = sep ? sep + 3 : addr;
  if (strcmp (scheme, "unix") == 0 || strcmp (scheme, "unixgram") == 0)
    {
      struct stat st;
      if (stat (rest, &st) < 0)
        return arca_error_set (err, ARCA_ERR_INVALID, "stat %s: %s", rest, arca_go_strerror (errno));
      *proto = xstrdup (scheme);
      *where = xstrdup (rest);
      return 0;
    }
  if (strcmp (scheme, "tcp+tls") == 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "syslog-address: tcp+tls is not supported by arca");
  if (strcmp (scheme, "udp") != 0 && strcmp (scheme, "tcp") != 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "unsupported scheme: '%s'", scheme);
  _cleanup_free_ char *host = xstrdup (rest);
  char *slash = strchr (host, '/');
  if (slash)
    *slash = '\0';
  *proto = xstrdup (scheme);
  const char *colon = strrchr (host, ':');
  *where = colon && !strchr (colon, ']') ? xstrdup (host) : xasprintf ("%s:514", host);
  return 0;
}

int
logdrivers_check_syslog (json_t *cfg, arca_error_t *err)
{
  static const char *const known[]
      = { "env", "env-regex", "labels", "labels-regex", "syslog-address", "syslog-facility", "syslog-tls-ca-cert",
          "syslog-tls-cert", "syslog-tls-key", "syslog-tls-skip-verify", "tag", "syslog-format", "mode",
          "max-buffer-size", "cache-disabled", NULL };
  const char *k;
  json_t *v;
  json_object_foreach (cfg, k, v)
    {
      bool ok = false;
      for (size_t i = 0; known[i] && !ok; i++)
        ok = strcmp (k, known[i]) == 0;
      if (!ok)
        return arca_error_set (err, ARCA_ERR_INVALID, "unknown log opt '%s' for syslog log driver", k);
    }
  _cleanup_free_ char *proto = NULL, *where = NULL;
  if (syslog_address (opt (cfg, "syslog-address"), &proto, &where, err) < 0)
    return -1;
  int fac;
  if (syslog_facility (opt (cfg, "syslog-facility"), &fac) < 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid syslog facility");
  const char *fmt = opt (cfg, "syslog-format");
  if (fmt && *fmt && strcmp (fmt, "rfc3164") != 0 && strcmp (fmt, "rfc5424") != 0 && strcmp (fmt, "rfc5424micro") != 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "Invalid syslog format");
  return 0;
}

int
logdrivers_check_local (json_t *cfg, arca_error_t *err)
{
  static const char *const known[] = { "max-file", "max-size", "compress", "mode", "max-buffer-size", NULL };
  const char *k;
  json_t *v;
  json_object_foreach (cfg, k, v)
    {
      bool ok = false;
      for (size_t i = 0; known[i] && !ok; i++)
        ok = strcmp (k, known[i]) == 0;
      if (!ok)
        return arca_error_set (err, ARCA_ERR_INVALID, "unknown log opt '%s' for log driver local", k);
    }
  return 0;
}

static int
syslog_config (arca_container_t *c, json_t *cfg, json_t *out, arca_error_t *err)
{
  _cleanup_free_ char *proto = NULL, *where = NULL;
  if (syslog_address (opt (cfg, "syslog-address"), &proto, &where, err) < 0)
    return -1;
  if (proto == NULL)
    {
      /* srslog's local syslog: the first socket that exists */
      static const char *const socks[] = { "/dev/log", "/var/run/syslog", "/var/run/log", NULL };
      for (size_t i = 0; socks[i] && proto == NULL; i++)
        if (access (socks[i], F_OK) == 0)
          {
            proto = xstrdup ("unixgram");
            where = xstrdup (socks[i]);
          }
      if (proto == NULL)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "Unix syslog delivery error");
    }
  int fac = 3;
  syslog_facility (opt (cfg, "syslog-facility"), &fac);
  _cleanup_free_ char *tag = log_tag (c, cfg, "{{.ID}}");
  const char *fmt = opt (cfg, "syslog-format");
  json_object_set_new (out, "syslog",
                       json_pack ("{s:s, s:s, s:i, s:s, s:s}", "proto", proto, "address", where, "facility", fac,
                                  "tag", tag ? tag : "", "format", fmt ? fmt : ""));
  return 0;
}

/* mode=non-blocking and its max-buffer-size (moby container.StartLogger
 * wraps the driver in a ring logger; the shim's queue plays its part). */
static int
logging_mode (json_t *cfg, json_t *out, arca_error_t *err)
{
  const char *mode = opt (cfg, "mode");
  if (mode == NULL || strcmp (mode, "non-blocking") != 0)
    return 0;
  json_object_set_new (out, "nonblocking", json_true ());
  const char *mbs = opt (cfg, "max-buffer-size");
  int64_t size;
  if (mbs == NULL)
    return 0;
  if (from_ram_size (mbs, &size, err) < 0)
    return -1;
  json_object_set_new (out, "max_buffer_size", json_integer (size));
  return 0;
}

int
logdrivers_shim_config (arca_engine_t *e, arca_container_t *c, const arca_container_options_t *o, json_t **out,
                        arca_error_t *err)
{
  const char *driver = *o->log_type ? o->log_type : e->log_driver;
  json_t *cfg = o->log_config;
  _cleanup_json_ json_t *lc = json_pack ("{s:s}", "driver", driver);
  int r = 0;
  if (strcmp (driver, "json-file") == 0)
    {
      _cleanup_free_ char *path = container_log_path (e, c->id);
      json_object_set_new (lc, "path", json_string (path));
      r = rotation (cfg, -1, 1, false, false, lc, err);
      _cleanup_free_ char *tag = log_tag (c, cfg, NULL);
      json_t *attrs = extra_attributes (c, cfg);
      if (tag && *tag)
        json_object_set_new (attrs, "tag", json_string (tag));
      json_object_set_new (lc, "attrs", attrs);
    }
  else if (strcmp (driver, "local") == 0)
    r = rotation (cfg, LOCAL_MAX_SIZE, LOCAL_MAX_FILES, true, true, lc, err) < 0
            ? -1
            : local_file (e, c, "container.log", lc, err);
  else if (strcmp (driver, "syslog") == 0)
    {
      r = syslog_config (c, cfg, lc, err);
      const char *off = opt (cfg, "cache-disabled");
      bool disabled = false;
      if (r == 0 && off)
        go_parse_bool (off, &disabled, NULL);
      if (r == 0 && !disabled)
        {
          json_t *cache = json_object ();
          json_object_set_new (lc, "cache", cache);
          _cleanup_json_ json_t *none = json_object ();
          r = rotation (none, LOCAL_MAX_SIZE, LOCAL_MAX_FILES, true, true, cache, err);
          if (r == 0)
            r = local_file (e, c, "container-cached.log", cache, err);
        }
    }
  if (r == 0)
    r = logging_mode (cfg, lc, err);
  if (r < 0)
    return arca_error_wrap (err, "failed to create task for container: failed to initialize logging driver");
  *out = arca_steal (lc);
  return 0;
}

int
logdrivers_log_files (arca_engine_t *e, arca_container_t *c, char **path, bool *local_format, arca_error_t *err)
{
  pthread_mutex_lock (&e->lock);
  const char *t = c->opts && *c->opts->log_type ? c->opts->log_type : e->log_driver;
  _cleanup_free_ char *driver = xstrdup (t);
  bool cache_off = false;
  const char *off = c->opts ? opt (c->opts->log_config, "cache-disabled") : NULL;
  if (off)
    go_parse_bool (off, &cache_off, NULL);
  pthread_mutex_unlock (&e->lock);
  _cleanup_free_ char *dir = container_dir (e, c->id);
  *local_format = false;
  if (strcmp (driver, "json-file") == 0)
    *path = container_log_path (e, c->id);
  else if (strcmp (driver, "local") == 0)
    {
      *path = xasprintf ("%s/local-logs/container.log", dir);
      *local_format = true;
    }
  else if (strcmp (driver, "syslog") == 0 && !cache_off)
    {
      *path = xasprintf ("%s/container-cached.log", dir);
      *local_format = true;
    }
  else
    return arca_error_set (err, ARCA_ERR_NOT_IMPLEMENTED, "configured logging driver does not support reading");
  return 0;
}
