/* Did the kernel's OOM killer strike the container?  Read once the
 * container's init is gone and before the runtime deletes its cgroup, so
 * the daemon can report State.OOMKilled and the "oom" event (moby
 * libcontainerd EventOOM; containerd watches the same counters). */
#include "shim/shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strutil.h"

/* The value of `key N` in a flat keyed cgroup file, -1 if absent. */
static long long
keyed_value (const char *path, const char *key)
{
  _cleanup_free_ char *data = NULL;
  if (fs_read_file (path, &data, NULL, NULL) < 0)
    return -1;
  size_t klen = strlen (key);
  for (char *line = data; line && *line; line = strchr (line, '\n') ? strchr (line, '\n') + 1 : NULL)
    if (strncmp (line, key, klen) == 0 && line[klen] == ' ')
      return strtoll (line + klen + 1, NULL, 10);
  return -1;
}

bool
shim_oom_killed (shim_t *s)
{
  if (s->bundle == NULL || s->exec_process)
    return false;
  _cleanup_free_ char *cfg_path = xasprintf ("%s/config.json", s->bundle);
  _cleanup_free_ char *data = NULL;
  if (fs_read_file (cfg_path, &data, NULL, NULL) < 0)
    return false;
  _cleanup_json_ json_t *spec = json_loads (data, 0, NULL);
  const char *cg = json_get_str (json_object_get (spec, "linux"), "cgroupsPath");
  if (cg == NULL || *cg != '/' || strstr (cg, ".."))
    return false;
  /* cgroup v1 (memory hierarchy), then v2 */
  _cleanup_free_ char *v1 = xasprintf ("/sys/fs/cgroup/memory%s/memory.oom_control", cg);
  _cleanup_free_ char *v2 = xasprintf ("/sys/fs/cgroup%s/memory.events", cg);
  long long n = keyed_value (v1, "oom_kill");
  if (n < 0)
    n = keyed_value (v2, "oom_kill");
  return n > 0;
}
