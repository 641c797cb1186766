/* Daemon configuration: built-in defaults, the JSON config file
 * (default /etc/arca/config.json), command-line flags — later wins. */
#include "cli/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/strutil.h"

char *
cli_find_executable (const char *name)
{
  if (name == NULL || name[0] == '\0')
    return NULL;
  if (strchr (name, '/'))
    return access (name, X_OK) == 0 ? xstrdup (name) : NULL;
  const char *path = getenv ("PATH");
  if (path == NULL || path[0] == '\0')
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  _cleanup_free_ char *copy = xstrdup (path);
  char *save = NULL;
  for (char *dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      char *cand = xasprintf ("%s/%s", dir[0] ? dir : ".", name);
      if (access (cand, X_OK) == 0)
        return cand;
      free (cand);
    }
  return NULL;
}

static void
set_str (char **dst, const char *v)
{
  free (*dst);
  *dst = xstrdup (v);
}

static int
check_abs (const char *what, const char *v, const char *src, arca_error_t *err)
{
  if (v == NULL || v[0] != '/')
    return arca_error_set (err, ARCA_ERR_INVALID, "%s: %s must be an absolute path, got \"%s\"", src, what,
                           v ? v : "");
  return 0;
}

static int
check_level (const char *v, const char *src, arca_error_t *err)
{
  if (arca_log_parse_level (v) < 0)
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "%s: invalid log level \"%s\" (want debug, info, warning or error)", src, v);
  return 0;
}

static int
string_key (json_t *v, const char *key, const char *path, const char **out, arca_error_t *err)
{
  if (!json_is_string (v) || json_string_value (v)[0] == '\0')
    return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"%s\" must be a non-empty string", path, key);
  *out = json_string_value (v);
  return 0;
}

static int
load_runtimes (arca_config_t *c, json_t *v, const char *path, arca_error_t *err)
{
  if (!json_is_object (v))
    return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"runtimes\" must be an object of name -> {\"path\": ...}",
                           path);
  const char *name;
  json_t *rt;
  json_object_foreach (v, name, rt)
  {
    if (name[0] == '\0' || strchr (name, '/'))
      return arca_error_set (err, ARCA_ERR_INVALID, "%s: invalid runtime name \"%s\"", path, name);
    if (!json_is_object (rt))
      return arca_error_set (err, ARCA_ERR_INVALID, "%s: runtime \"%s\" must be an object with a \"path\"", path,
                             name);
    const char *k;
    json_t *kv;
    const char *rpath = NULL;
    json_object_foreach (rt, k, kv)
    {
      if (strcmp (k, "path") != 0)
        return arca_error_set (err, ARCA_ERR_INVALID, "%s: unknown key \"%s\" in runtime \"%s\"", path, k, name);
      if (string_key (kv, "path", path, &rpath, err) < 0)
        return -1;
    }
    if (rpath == NULL)
      return arca_error_set (err, ARCA_ERR_INVALID, "%s: runtime \"%s\" has no \"path\"", path, name);
    json_object_set_new (c->runtimes, name, json_pack ("{s:s}", "path", rpath));
  }
  return 0;
}

/* dockerd's "exec-opts": ["key=value", ...]; arca knows isolation=
 * (process, vm, or default = process), the default of HostConfig.Isolation
 * as dockerd's on Windows. */
static int
load_exec_opts (arca_config_t *c, json_t *v, const char *path, arca_error_t *err)
{
  if (!json_is_array (v))
    return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"exec-opts\" must be an array of strings", path);
  size_t i;
  json_t *e;
  json_array_foreach (v, i, e)
  {
    const char *s = json_string_value (e);
    const char *eq = s ? strchr (s, '=') : NULL;
    if (eq == NULL)
      return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"exec-opts\": invalid option \"%s\" (want key=value)", path,
                             s ? s : "");
    if (strncmp (s, "isolation", (size_t) (eq - s)) != 0 || eq - s != 9)
      return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"exec-opts\": unknown option %.*s (known: isolation)", path,
                             (int) (eq - s), s);
    const char *val = eq + 1;
    if (strcmp (val, "default") == 0)
      val = "process";
    if (strcmp (val, "process") != 0 && strcmp (val, "vm") != 0)
      return arca_error_set (err, ARCA_ERR_INVALID,
                             "%s: \"exec-opts\": invalid isolation \"%s\" (want default, process or vm)", path, eq + 1);
    set_str (&c->default_isolation, val);
  }
  return 0;
}

static int
load_file (arca_config_t *c, const char *path, bool explicit, arca_error_t *err)
{
  json_error_t jerr;
  _cleanup_fclose_ FILE *f = fopen (path, "re");
  if (f == NULL)
    {
      if (errno == ENOENT && !explicit)
        return 0;
      return arca_error_set (err, ARCA_ERR_INVALID, "cannot read config file %s: %s", path, strerror (errno));
    }
  _cleanup_json_ json_t *root = json_loadf (f, 0, &jerr);
  if (root == NULL)
    return arca_error_set (err, ARCA_ERR_INVALID, "config file %s: line %d: %s", path, jerr.line, jerr.text);
  if (!json_is_object (root))
    return arca_error_set (err, ARCA_ERR_INVALID, "config file %s: must hold a JSON object", path);
  const char *key;
  json_t *v;
  json_object_foreach (root, key, v)
  {
    const char *s = NULL;
    if (strcmp (key, "socketPath") == 0 || strcmp (key, "dataRoot") == 0 || strcmp (key, "execRoot") == 0)
      {
        if (string_key (v, key, path, &s, err) < 0 || check_abs (key, s, path, err) < 0)
          return -1;
        set_str (key[0] == 's' ? &c->socket_path : key[0] == 'd' ? &c->data_root : &c->exec_root, s);
      }
    else if (strcmp (key, "logLevel") == 0)
      {
        if (string_key (v, key, path, &s, err) < 0 || check_level (s, path, err) < 0)
          return -1;
        set_str (&c->log_level, s);
      }
    else if (strcmp (key, "defaultRuntime") == 0)
      {
        if (string_key (v, key, path, &s, err) < 0)
          return -1;
        set_str (&c->default_runtime, s);
      }
    else if (strcmp (key, "runtimes") == 0)
      {
        if (load_runtimes (c, v, path, err) < 0)
          return -1;
      }
    else if (strcmp (key, "insecureRegistries") == 0 || strcmp (key, "registryMirrors") == 0
             || strcmp (key, "hosts") == 0)
      {
        /* Arrays of strings, as dockerd's daemon.json. */
        char ***dst = key[0] == 'i' ? &c->insecure_registries : key[0] == 'h' ? &c->hosts : &c->registry_mirrors;
        size_t i;
        json_t *e;
        if (!json_is_array (v))
          return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"%s\" must be an array of strings", path, key);
        strv_free (*dst);
        *dst = xmalloc0 (sizeof (char *));
        json_array_foreach (v, i, e)
          {
            if (!json_is_string (e) || json_string_value (e)[0] == '\0')
              return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"%s\" must be an array of strings", path, key);
            *dst = strv_append (*dst, json_string_value (e));
          }
      }
    else if (strcmp (key, "bridgeName") == 0 || strcmp (key, "nftTable") == 0)
      {
        /* networking: the default bridge's Linux name (IFNAMSIZ) and the
         * nftables table arca owns */
        if (string_key (v, key, path, &s, err) < 0)
          return -1;
        if (*s == '\0' || strlen (s) > 15)
          return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"%s\" must be 1 to 15 characters", path, key);
        /* both are written into the nft ruleset: never unchecked text */
        arca_error_t why = { 0 };
        if (key[0] == 'b' && net_bridge_name_check (s, &why) < 0)
          return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"%s\": %s", path, key, why.msg);
        if (key[0] == 'n' && !net_nft_table_name_valid (s))
          return arca_error_set (err, ARCA_ERR_INVALID,
                                 "%s: \"%s\" must be letters, digits and '_', not starting with a digit", path,
                                 key);
        set_str (key[0] == 'b' ? &c->bridge_name : &c->nft_table, s);
      }
    else if (strcmp (key, "ipv6") == 0)
      {
        if (!json_is_boolean (v))
          return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"%s\" must be true or false", path, key);
        c->ipv6 = json_is_true (v);
      }
    else if (strcmp (key, "fixed-cidr-v6") == 0)
      {
        /* the subnet itself is checked when the network state opens */
        if (string_key (v, key, path, &s, err) < 0)
          return -1;
        set_str (&c->fixed_cidr_v6, s);
      }
    else if (strcmp (key, "tls") == 0 || strcmp (key, "tlsverify") == 0)
      {
        if (!json_is_boolean (v))
          return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"%s\" must be true or false", path, key);
        *(strcmp (key, "tls") == 0 ? &c->tls : &c->tlsverify) = json_is_true (v);
      }
    else if (strcmp (key, "tlscacert") == 0 || strcmp (key, "tlscert") == 0 || strcmp (key, "tlskey") == 0
             || strcmp (key, "group") == 0)
      {
        if (string_key (v, key, path, &s, err) < 0)
          return -1;
        set_str (key[0] == 'g' ? &c->group : key[4] == 'a' ? &c->tlscacert : key[4] == 'e' ? &c->tlscert : &c->tlskey,
                 s);
      }
    else if (strcmp (key, "ipForwardNoDrop") == 0)
      {
        if (!json_is_boolean (v))
          return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"%s\" must be true or false", path, key);
        c->ip_forward_no_drop = json_is_true (v);
      }
    else if (strcmp (key, "proxyMaxConnections") == 0)
      {
        if (!json_is_integer (v) || json_integer_value (v) < 1 || json_integer_value (v) > 1000000)
          return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"%s\" must be an integer from 1 to 1000000", path,
                                 key);
        c->proxy_max_connections = (int) json_integer_value (v);
      }
    else if (strcmp (key, "apiIdleTimeout") == 0 || strcmp (key, "apiMaxConnections") == 0)
      {
        json_int_t n = json_integer_value (v);
        if (!json_is_integer (v) || n < 1 || n > 1000000)
          return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"%s\" must be an integer from 1 to 1000000", path, key);
        *(key[3] == 'I' ? &c->api_idle_timeout : &c->api_max_connections) = (unsigned) n;
      }
    else if (strcmp (key, "defaultAddressPools") == 0)
      {
        if (!json_is_array (v))
          return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"%s\" must be an array", path, key);
        json_decref (c->default_address_pools);
        c->default_address_pools = json_incref (v);
      }
    else if (strcmp (key, "vm") == 0)
      {
        if (vm_options_load (&c->vm, v, path, err) < 0)
          return -1;
      }
    else if (strcmp (key, "exec-opts") == 0)
      {
        if (load_exec_opts (c, v, path, err) < 0)
          return -1;
      }
    else if (strcmp (key, "log-driver") == 0 || strcmp (key, "seccomp-profile") == 0
             || strcmp (key, "default-cgroupns-mode") == 0)
      {
        if (string_key (v, key, path, &s, err) < 0)
          return -1;
        if (key[0] == 'd' && strcmp (s, "host") != 0 && strcmp (s, "private") != 0)
          return arca_error_set (err, ARCA_ERR_INVALID, "default cgroup namespace mode (%s) is invalid", s);
        set_str (key[0] == 'l' ? &c->log_driver : key[0] == 's' ? &c->seccomp_profile : &c->default_cgroupns_mode, s);
      }
    else if (strcmp (key, "log-opts") == 0)
      {
        const char *k;
        json_t *o;
        if (!json_is_object (v))
          return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"%s\" must be an object of strings", path, key);
        json_object_foreach (v, k, o)
          if (!json_is_string (o))
            return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"%s\" must be an object of strings", path, key);
        json_decref (c->log_opts);
        c->log_opts = json_incref (v);
      }
    else
      return arca_error_set (err, ARCA_ERR_INVALID,
                             "config file %s: unknown key \"%s\" (known: socketPath, dataRoot, execRoot, logLevel, "
                             "defaultRuntime, runtimes, insecureRegistries, registryMirrors, bridgeName, nftTable, "
                             "defaultAddressPools, ipv6, fixed-cidr-v6, ipForwardNoDrop, proxyMaxConnections, "
                             "log-driver, log-opts, "
                             "seccomp-profile, default-cgroupns-mode, apiIdleTimeout, apiMaxConnections, vm, "
                             "exec-opts, hosts, tls, tlsverify, tlscacert, tlscert, tlskey, group)",
                             path, key);
  }
  return 0;
}

int
cli_config_load (arca_config_t *c, const arca_cli_flags_t *flags, arca_error_t *err)
{
  memset (c, 0, sizeof *c);
  c->socket_path = xstrdup (ARCA_DEFAULT_SOCKET);
  c->data_root = xstrdup (ARCA_DEFAULT_DATA_ROOT);
  c->exec_root = xstrdup (ARCA_DEFAULT_EXEC_ROOT);
  c->log_level = xstrdup ("info");
  c->runtimes = json_object ();
  json_object_set_new (c->runtimes, "runc", json_pack ("{s:s}", "path", "runc"));
  /* crun when installed: it starts a container in half runc's time
   * (bench/README.md); runc stays selectable with --runtime runc, and the
   * config file's defaultRuntime wins. */
  _cleanup_free_ char *crun = cli_find_executable ("crun");
  if (crun)
    json_object_set_new (c->runtimes, "crun", json_pack ("{s:s}", "path", "crun"));
  c->default_runtime = xstrdup (crun ? "crun" : "runc");
  vm_options_defaults (&c->vm);
  c->default_isolation = xstrdup ("process");
  c->tls = c->tlsverify = -1;

  if (load_file (c, flags->config ? flags->config : ARCA_DEFAULT_CONFIG, flags->config != NULL, err) < 0)
    return -1;

  if (flags->socket_path)
    {
      if (check_abs ("--socket-path", flags->socket_path, "flag", err) < 0)
        return -1;
      set_str (&c->socket_path, flags->socket_path);
    }
  if (flags->data_root)
    {
      if (check_abs ("--data-root", flags->data_root, "flag", err) < 0)
        return -1;
      set_str (&c->data_root, flags->data_root);
    }
  if (flags->exec_root)
    {
      if (check_abs ("--exec-root", flags->exec_root, "flag", err) < 0)
        return -1;
      set_str (&c->exec_root, flags->exec_root);
    }
  if (flags->log_level)
    {
      if (check_level (flags->log_level, "--log-level", err) < 0)
        return -1;
      set_str (&c->log_level, flags->log_level);
    }
  /* dockerd 20.10 refuses to start so (daemon_unix.go initBridgeDriver) */
  if (c->ipv6 && (c->fixed_cidr_v6 == NULL || *c->fixed_cidr_v6 == '\0'))
    return arca_error_set (err, ARCA_ERR_INVALID, "IPv6 is enabled for the default bridge, but no subnet is "
                                                  "configured. Specify an IPv6 subnet using fixed-cidr-v6");
  /* listeners: flags win over the file, as everywhere here */
  if (flags->hosts && flags->hosts[0])
    {
      strv_free (c->hosts);
      c->hosts = xmalloc0 (sizeof (char *));
      for (char **h = flags->hosts; *h; h++)
        c->hosts = strv_append (c->hosts, *h);
    }
  if (flags->tls >= 0)
    c->tls = flags->tls;
  if (flags->tlsverify >= 0)
    c->tlsverify = flags->tlsverify;
  if (flags->tlscacert)
    set_str (&c->tlscacert, flags->tlscacert);
  if (flags->tlscert)
    set_str (&c->tlscert, flags->tlscert);
  if (flags->tlskey)
    set_str (&c->tlskey, flags->tlskey);
  if (flags->group)
    set_str (&c->group, flags->group);
  if (json_object_get (c->runtimes, c->default_runtime) == NULL)
    return arca_error_set (err, ARCA_ERR_INVALID, "default runtime \"%s\" is not among the configured runtimes",
                           c->default_runtime);
  return 0;
}

void
cli_config_free (arca_config_t *c)
{
  free (c->socket_path);
  free (c->data_root);
  free (c->exec_root);
  free (c->log_level);
  free (c->default_runtime);
  if (c->runtimes)
    json_decref (c->runtimes);
  strv_free (c->insecure_registries);
  strv_free (c->registry_mirrors);
  free (c->bridge_name);
  free (c->fixed_cidr_v6);
  free (c->nft_table);
  json_decref (c->default_address_pools);
  free (c->log_driver);
  json_decref (c->log_opts);
  free (c->seccomp_profile);
  free (c->default_cgroupns_mode);
  vm_options_free (&c->vm);
  free (c->default_isolation);
  strv_free (c->hosts);
  free (c->tlscacert);
  free (c->tlscert);
  free (c->tlskey);
  free (c->group);
  memset (c, 0, sizeof *c);
}
