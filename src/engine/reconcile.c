/* Start-up hygiene: a crash between creating a container's directories and
 * committing its record (or between deleting the record and the
 * directories) leaves directories no record owns.  Remove them, unmounting
 * a rootfs first, so a kill -9 at any point leaks nothing. */
#include "engine/internal.h"

#include <dirent.h>
#include <string.h>

#include "image/snapshot.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strutil.h"

static bool
known_locked (arca_engine_t *e, const char *id)
{
  for (arca_container_t *c = e->containers; c; c = c->next)
    if (strcmp (c->id, id) == 0)
      return true;
  return false;
}

static void
sweep (arca_engine_t *e, const char *root, bool data)
{
  _cleanup_closedir_ DIR *d = opendir (root);
  if (d == NULL)
    return;
  struct dirent *de;
  while ((de = readdir (d)))
    {
      if (strlen (de->d_name) != 64 || !str_is_hex (de->d_name, 64))
        continue;
      pthread_mutex_lock (&e->lock);
      bool known = known_locked (e, de->d_name);
      pthread_mutex_unlock (&e->lock);
      if (known)
        continue;
      _cleanup_free_ char *path = xasprintf ("%s/%s", root, de->d_name);
      arca_error_t err;
      if (data)
        snapshot_remove (path, &err);
      if (fs_remove_all (path, &err) < 0)
        log_warn ("remove leftover %s: %s", path, err.msg);
      else
        log_info ("removed leftover container directory %s", path);
    }
}

void
containers_reconcile (arca_engine_t *e)
{
  _cleanup_free_ char *data = xasprintf ("%s/containers", e->data_root);
  _cleanup_free_ char *state = xasprintf ("%s/containers", e->exec_root);
  sweep (e, data, true);
  sweep (e, state, false);
}
