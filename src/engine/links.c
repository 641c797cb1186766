/* Legacy links (see links.h). */
#include "engine/links.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "engine/container.h"
#include "engine/internal.h"
#include "engine/networks.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"

/* moby opts.ParseLink: "name:alias" or "name" (alias = name); a leading
 * "/" on either is dropped. */
static int
parse_link (const char *l, char **name, char **alias, arca_error_t *err)
{
  const char *colon = strchr (l, ':');
  _cleanup_free_ char *n = colon ? strndup (l, (size_t) (colon - l)) : xstrdup (l);
  const char *a = colon ? colon + 1 : n;
  if (*n == '\0' || strchr (a, ':'))
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid format for links: %s", l);
  *alias = xstrdup (*a == '/' ? a + 1 : a);
  *name = xstrdup (*n == '/' ? n + 1 : n);
  return 0;
}

static bool
default_bridge_mode (json_t *hc)
{
  const char *m = json_get_str (hc, "NetworkMode");
  return m == NULL || *m == '\0' || strcmp (m, "default") == 0 || strcmp (m, "bridge") == 0;
}

int
links_validate_create (arca_engine_t *e, json_t *hc, arca_error_t *err)
{
  json_t *links = json_object_get (hc, "Links");
  if (!json_is_array (links) || json_array_size (links) == 0 || !default_bridge_mode (hc))
    return 0;
  _cleanup_json_ json_t *out = json_array ();
  size_t i;
  json_t *v;
  json_array_foreach (links, i, v)
    {
      _cleanup_free_ char *name = NULL, *alias = NULL;
      if (parse_link (json_string_value (v) ? json_string_value (v) : "", &name, &alias, err) < 0)
        return -1;
      arca_container_t *child = NULL;
      if (container_lookup (e, name, &child, err) < 0)
        {
          /* moby registerLinks: invalid parameter, so the CLI does not pull */
          if (err->kind == ARCA_ERR_NOT_FOUND)
            err->kind = ARCA_ERR_INVALID;
          return arca_error_wrap (err, "could not get container for %s", name);
        }
      pthread_mutex_lock (&e->lock);
      _cleanup_free_ char *child_name = xstrdup (child->name);
      bool host = strcmp (container_network_mode (child), "host") == 0;
      pthread_mutex_unlock (&e->lock);
      container_unref (child);
      if (host) /* runconfig.ErrConflictHostNetworkAndLinks */
        return arca_error_set (err, ARCA_ERR_INVALID,
                               "conflicting options: host type networking can't be used with links. This would "
                               "result in undefined behavior");
      json_array_append_new (out, json_sprintf ("%s:%s", child_name, alias));
    }
  json_object_set (hc, "Links", out);
  return 0;
}

json_t *
links_inspect_view (const char *parent_name, json_t *links)
{
  if (!json_is_array (links) || json_array_size (links) == 0)
    return json_null ();
  json_t *out = json_array ();
  size_t i;
  json_t *v;
  json_array_foreach (links, i, v)
    {
      _cleanup_free_ char *name = NULL, *alias = NULL;
      arca_error_t ignored;
      if (parse_link (json_string_value (v) ? json_string_value (v) : "", &name, &alias, &ignored) == 0)
        json_array_append_new (out, json_sprintf ("/%s:/%s/%s", name, parent_name, alias));
    }
  return out;
}

/* Every link of the table, as child name -> ["/parent/alias", ...] in table
 * order (moby: the parents' link names are in the name index). */
json_t *
links_names_index_locked (arca_engine_t *e)
{
  json_t *index = json_object ();
  for (arca_container_t *p = e->containers; p; p = p->next)
    {
      /* has_links first: a list must not parse every HostConfig */
      if (p->removed || !p->has_links)
        continue;
      _cleanup_json_ json_t *hc = container_host_config (p);
      json_t *links = json_object_get (hc, "Links");
      if (!json_is_array (links) || !default_bridge_mode (hc))
        continue;
      size_t i;
      json_t *v;
      json_array_foreach (links, i, v)
        {
          _cleanup_free_ char *name = NULL, *alias = NULL;
          arca_error_t ignored;
          if (parse_link (json_string_value (v) ? json_string_value (v) : "", &name, &alias, &ignored) < 0)
            continue;
          json_t *names = json_object_get (index, name);
          if (names == NULL)
            json_object_set_new (index, name, names = json_array ());
          json_array_append_new (names, json_sprintf ("/%s/%s", p->name, alias));
        }
    }
  return index;
}


int
links_remove (arca_engine_t *e, const char *ref, arca_error_t *err)
{
  const char *r = *ref == '/' ? ref + 1 : ref;
  const char *slash = strrchr (r, '/');
  if (slash == NULL) /* moby rmLink */
    return arca_error_set (err, ARCA_ERR_INTERNAL, "Conflict, cannot remove the default link name of the container");
  _cleanup_free_ char *parent_name = strndup (r, (size_t) (slash - r));
  const char *alias = slash + 1;
  arca_container_t *p = NULL;
  if (container_lookup (e, parent_name, &p, err) < 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "Cannot get parent /%s for link name /%s", parent_name, r);
  pthread_mutex_lock (&e->lock);
  _cleanup_json_ json_t *hc = container_host_config (p);
  json_t *links = json_object_get (hc, "Links");
  json_t *kept = json_array ();
  bool found = false;
  size_t i;
  json_t *v;
  json_array_foreach (links, i, v)
    {
      _cleanup_free_ char *name = NULL, *a = NULL;
      arca_error_t ignored;
      if (parse_link (json_string_value (v) ? json_string_value (v) : "", &name, &a, &ignored) == 0
          && strcmp (a, alias) == 0)
        found = true;
      else
        json_array_append (kept, v);
    }
  int rc = 0;
  if (found)
    {
      json_object_set_new (hc, "Links", json_array_size (kept) ? kept : json_null ());
      kept = NULL;
      rc = container_set_host_config (p, hc, err);
    }
  json_decref (kept);
  pthread_mutex_unlock (&e->lock);
  if (!found)
    rc = arca_error_set (err, ARCA_ERR_NOT_FOUND, "No such container: %s", ref);
  else if (rc == 0)
    rc = container_save (e, p, err);
  container_unref (p);
  return rc;
}

/* moby links.Link.ToEnv, without the port-range variables. */
static void
link_env (arca_strv_builder_t *env, const char *link_name, const char *alias, const char *ip, json_t *child_env,
          json_t *exposed)
{
  _cleanup_free_ char *up = xstrdup (alias);
  for (char *c = up; *c; c++)
    *c = *c == '-' ? '_' : (char) toupper ((unsigned char) *c);
  /* ports sorted by number, tcp first (nat.Sort with withTCP) */
  _cleanup_json_ json_t *ports = json_array ();
  const char *k;
  json_t *v;
  json_object_foreach (exposed, k, v)
  {
    json_array_append_new (ports, json_string (k));
  }
  size_t n = json_array_size (ports);
  for (size_t a = 0; a + 1 < n; a++)
    for (size_t b = a + 1; b < n; b++)
      {
        const char *pa = json_string_value (json_array_get (ports, a)), *pb = json_string_value (json_array_get (ports, b));
        int na = atoi (pa), nb = atoi (pb);
        bool tcp_b = strstr (pb, "/tcp") != NULL || !strchr (pb, '/');
        if (nb < na || (nb == na && tcp_b))
          {
            json_t *t = json_incref (json_array_get (ports, a));
            json_array_set (ports, a, json_array_get (ports, b));
            json_array_set_new (ports, b, t);
          }
      }
  for (size_t i = 0; i < n; i++)
    {
      const char *p = json_string_value (json_array_get (ports, i));
      const char *slash = strchr (p, '/');
      _cleanup_free_ char *num = slash ? strndup (p, (size_t) (slash - p)) : xstrdup (p);
      const char *proto = slash ? slash + 1 : "tcp";
      _cleanup_free_ char *uproto = xstrdup (proto);
      for (char *c = uproto; *c; c++)
        *c = (char) toupper ((unsigned char) *c);
      if (i == 0)
        strv_builder_take (env, xasprintf ("%s_PORT=%s://%s:%s", up, proto, ip, num));
      strv_builder_take (env, xasprintf ("%s_PORT_%s_%s=%s://%s:%s", up, num, uproto, proto, ip, num));
      strv_builder_take (env, xasprintf ("%s_PORT_%s_%s_ADDR=%s", up, num, uproto, ip));
      strv_builder_take (env, xasprintf ("%s_PORT_%s_%s_PORT=%s", up, num, uproto, num));
      strv_builder_take (env, xasprintf ("%s_PORT_%s_%s_PROTO=%s", up, num, uproto, proto));
    }
  strv_builder_take (env, xasprintf ("%s_NAME=%s", up, link_name));
  size_t i;
  json_array_foreach (child_env, i, v)
    {
      const char *s = json_string_value (v);
      const char *eq = s ? strchr (s, '=') : NULL;
      if (eq == NULL)
        continue;
      /* moby skips HOME and PATH (added by docker build, not the child's own) */
      if ((eq - s == 4 && strncmp (s, "HOME", 4) == 0) || (eq - s == 4 && strncmp (s, "PATH", 4) == 0))
        continue;
      strv_builder_take (env, xasprintf ("%s_ENV_%s", up, s));
    }
}

int
links_resolve (arca_engine_t *e, arca_container_t *c, char ***hosts, char ***env, arca_error_t *err)
{
  *hosts = NULL;
  *env = NULL;
  pthread_mutex_lock (&e->lock);
  _cleanup_json_ json_t *hc = container_host_config (c);
  _cleanup_json_ json_t *links = json_incref (json_object_get (hc, "Links"));
  bool bridge = default_bridge_mode (hc);
  _cleanup_free_ char *parent = xstrdup (c->name);
  pthread_mutex_unlock (&e->lock);
  if (!bridge || !json_is_array (links) || json_array_size (links) == 0)
    return 0;
  arca_strv_builder_t hv = { 0 }, ev = { 0 };
  size_t i;
  json_t *v;
  json_array_foreach (links, i, v)
    {
      _cleanup_free_ char *name = NULL, *alias = NULL;
      arca_container_t *child = NULL;
      if (parse_link (json_string_value (v) ? json_string_value (v) : "", &name, &alias, err) < 0
          || container_lookup (e, name, &child, err) < 0)
        goto fail;
      _cleanup_free_ char *link_name = xasprintf ("/%s/%s", parent, alias);
      _cleanup_json_ json_t *ns = networks_settings_view (e, child);
      pthread_mutex_lock (&e->lock);
      bool running = child->running;
      _cleanup_free_ char *cname = xstrdup (child->name);
      _cleanup_json_ json_t *ccfg = container_config (child);
      _cleanup_free_ char *chost = xstrdup (json_get_str (ccfg, "Hostname") ?: "");
      _cleanup_json_ json_t *cenv = json_incref (json_object_get (ccfg, "Env"));
      _cleanup_json_ json_t *cports = json_incref (json_object_get (ccfg, "ExposedPorts"));
      pthread_mutex_unlock (&e->lock);
      container_unref (child);
      if (!running)
        {
          arca_error_set (err, ARCA_ERR_INTERNAL, "Cannot link to a non running container: /%s AS %s", cname,
                          link_name);
          goto fail;
        }
      const char *ip = json_get_str (json_object_get (json_object_get (ns, "Networks"), "bridge"), "IPAddress");
      if (ip == NULL || *ip == '\0')
        {
          arca_error_set (err, ARCA_ERR_INTERNAL, "Cannot link to /%s, as it does not belong to the default network",
                          cname);
          goto fail;
        }
      /* moby buildSandboxOptions: alias, hostname, and the name unless it is the alias */
      if (strcmp (alias, cname) != 0)
        strv_builder_take (&hv, xasprintf ("%s %s %s:%s", alias, chost, cname, ip));
      else
        strv_builder_take (&hv, xasprintf ("%s %s:%s", alias, chost, ip));
      link_env (&ev, link_name, alias, ip, cenv, cports);
    }
  *hosts = strv_builder_finish (&hv);
  *env = strv_builder_finish (&ev);
  return 0;
fail:
  strv_free (strv_builder_finish (&hv));
  strv_free (strv_builder_finish (&ev));
  return -1;
}
