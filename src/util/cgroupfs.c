/* Container cgroup reads shared by the shim and the daemon (cgroupfs.h). */
#include "util/cgroupfs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/strutil.h"

/* "key value" lines (memory.oom_control, memory.events) */
static long
read_key (const char *path, const char *key)
{
  _cleanup_fclose_ FILE *f = fopen (path, "re");
  if (f == NULL)
    return -1;
  char line[256];
  size_t klen = strlen (key);
  while (fgets (line, sizeof line, f))
    if (strncmp (line, key, klen) == 0 && line[klen] == ' ')
      return strtol (line + klen + 1, NULL, 10);
  return -1;
}

long
cgroupfs_oom_kills (const char *root, const char *cgroups_path)
{
  if (cgroups_path == NULL || *cgroups_path == '\0')
    return -1;
  _cleanup_free_ char *controllers = xasprintf ("%s/cgroup.controllers", root);
  bool v2 = access (controllers, F_OK) == 0;
  _cleanup_free_ char *path = v2 ? xasprintf ("%s/%s/memory.events", root, cgroups_path)
                                 : xasprintf ("%s/memory/%s/memory.oom_control", root, cgroups_path);
  return read_key (path, "oom_kill");
}
