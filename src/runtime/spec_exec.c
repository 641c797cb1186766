/* The OCI process of an exec (moby daemon/exec.go ContainerExecStart and
 * execSetPlatformOpt): the container's process with the exec's settings. */
#include "runtime/spec.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/spec_internal.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"

static int
exec_user (json_t *p, const arca_exec_process_options_t *x, arca_error_t *err)
{
  uid_t uid;
  gid_t gid;
  _cleanup_free_ gid_t *groups = NULL;
  size_t ngroups = 0;
  if (spec_resolve_user (x->rootfs, x->user, &uid, &gid, &groups, &ngroups, NULL, err) < 0)
    return -1;
  json_t *gids = json_array ();
  for (size_t i = 0; i < ngroups; i++)
    spec_gids_add (gids, groups[i]);
  /* HostConfig.GroupAdd (numeric entries; names need the group file). */
  for (size_t i = 0; x->group_add && x->group_add[i]; i++)
    {
      char *end;
      unsigned long g = strtoul (x->group_add[i], &end, 10);
      if (*x->group_add[i] && *end == '\0')
        spec_gids_add (gids, (json_int_t) g);
    }
  json_t *u = json_object_get (p, "user");
  if (!json_is_object (u))
    {
      u = json_object ();
      json_object_set_new (p, "user", u);
    }
  json_object_set_new (u, "uid", json_integer (uid));
  json_object_set_new (u, "gid", json_integer (gid));
  json_object_set_new (u, "additionalGids", gids);
  return 0;
}

int
spec_exec_process (json_t *container_process, const arca_exec_process_options_t *x, json_t **out,
                   arca_error_t *err)
{
  if (!json_is_object (container_process))
    return arca_error_set (err, ARCA_ERR_INTERNAL, "no process in the container's spec");
  _cleanup_json_ json_t *p = json_deep_copy (container_process);
  json_object_set_new (p, "args", json_from_strv (x->args));
  json_object_set_new (p, "env", json_from_strv (x->env));
  json_object_set_new (p, "cwd", json_string (x->working_dir && *x->working_dir ? x->working_dir : "/"));
  json_object_set_new (p, "terminal", json_boolean (x->tty));
  json_object_del (p, "consoleSize");
  if (x->tty && x->console_height > 0 && x->console_width > 0)
    json_object_set_new (p, "consoleSize",
                         json_pack ("{s:i,s:i}", "height", (int) x->console_height, "width", (int) x->console_width));
  if (x->user && exec_user (p, x, err) < 0)
    return -1;
  if (x->privileged)
    {
      json_t *caps = json_object_get (p, "capabilities");
      if (!json_is_object (caps))
        {
          caps = json_object ();
          json_object_set_new (p, "capabilities", caps);
        }
      _cleanup_strv_ char **all = spec_caps_all ();
      json_object_set_new (caps, "bounding", json_from_strv (all));
      json_object_set_new (caps, "effective", json_from_strv (all));
      json_object_set_new (caps, "permitted", json_from_strv (all));
    }
  *out = arca_steal (p);
  return 0;
}
