/* Container root filesystems as overlay mounts: the image's layer dirs as
 * lowerdir (top first), <container_dir>/upper and /work as the writable
 * layer, merged at <container_dir>/rootfs.
 *
 * The mount data is limited to one page.  When the absolute lowerdir list
 * does not fit, the mount is made from a forked child that chdirs to the
 * layers' common parent and passes relative paths (overlayfs resolves them
 * against the mounter's cwd), the same trick as dockerd's overlay2 driver
 * without touching the daemon's own cwd. */
#include "image/snapshot.h"

#include <errno.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strutil.h"

#ifndef OVERLAYFS_SUPER_MAGIC
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#endif

static size_t
mount_data_max (void)
{
  long p = sysconf (_SC_PAGESIZE);
  return (p > 0 ? (size_t) p : 4096) - 1;
}

/* An overlay is mounted at path (its own filesystem, not the parent's). */
static bool
is_overlay_mounted (const char *path)
{
  struct statfs sf;
  struct stat st, pst;
  if (statfs (path, &sf) < 0 || sf.f_type != OVERLAYFS_SUPER_MAGIC)
    return false;
  _cleanup_free_ char *parent = xasprintf ("%s/..", path);
  if (stat (path, &st) < 0 || stat (parent, &pst) < 0)
    return false;
  return st.st_dev != pst.st_dev;
}

int
snapshot_create (const char *container_dir, arca_error_t *err)
{
  static const struct
  {
    const char *name;
    mode_t mode;
  } dirs[] = { { "upper", 0755 }, { "work", 0700 }, { "rootfs", 0700 } /* the mount point: the mounted root shows upper's mode */ };
  if (fs_mkdir_p (container_dir, 0710, err) < 0)
    return -1;
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
    {
      _cleanup_free_ char *p = xasprintf ("%s/%s", container_dir, dirs[i].name);
      if (mkdir (p, dirs[i].mode) < 0 && errno != EEXIST)
        return arca_error_errno (err, errno, "mkdir %s", p);
    }
  return 0;
}

/* Longest common directory prefix of the lower dirs ("/a/b" for
 * "/a/b/c" and "/a/b/d/e"); "" when only "/" is shared. */
static char *
common_parent (char **dirs)
{
  char *prefix = xstrdup (dirs[0]);
  char *slash = strrchr (prefix, '/');
  if (slash)
    *slash = '\0';
  for (char **d = dirs + 1; *d; d++)
    {
      for (;;)
        {
          size_t n = strlen (prefix);
          if (strncmp (*d, prefix, n) == 0 && (*d)[n] == '/')
            break;
          slash = strrchr (prefix, '/');
          if (slash == NULL)
            {
              prefix[0] = '\0';
              break;
            }
          *slash = '\0';
        }
    }
  return prefix;
}

static char *
build_data (char **lower, size_t skip, const char *upper, const char *work, bool index_off)
{
  arca_buf_t b = { 0 };
  buf_printf (&b, "lowerdir=");
  for (char **l = lower; *l; l++)
    buf_printf (&b, "%s%s", l == lower ? "" : ":", *l + skip);
  buf_printf (&b, ",upperdir=%s,workdir=%s", upper, work);
  /* Layers are shared between containers; the inode index would tie a
   * lower layer to the first upper that used it (overlay2 sets it too). */
  if (index_off)
    buf_printf (&b, ",index=off");
  return b.data;
}

/* mount(2) from a child with cwd = dir, for relative lowerdirs.  The child
 * only makes async-signal-safe calls, so forking a threaded daemon is fine. */
static int
mount_in_dir (const char *dir, const char *target, const char *data)
{
  pid_t pid = fork ();
  if (pid < 0)
    return -1;
  if (pid == 0)
    {
      if (chdir (dir) < 0)
        _exit (errno);
      if (mount ("overlay", target, "overlay", 0, data) < 0)
        _exit (errno);
      _exit (0);
    }
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return -1;
  if (!WIFEXITED (status))
    {
      errno = EIO;
      return -1;
    }
  if (WEXITSTATUS (status) != 0)
    {
      errno = WEXITSTATUS (status);
      return -1;
    }
  return 0;
}

int
snapshot_mount (const char *container_dir, char **lower_dirs, char **rootfs, arca_error_t *err)
{
  if (snapshot_create (container_dir, err) < 0)
    return -1;
  _cleanup_free_ char *target = xasprintf ("%s/rootfs", container_dir);
  if (is_overlay_mounted (target))
    {
      if (rootfs)
        *rootfs = arca_steal (target);
      return 0;
    }
  _cleanup_free_ char *upper = xasprintf ("%s/upper", container_dir);
  _cleanup_free_ char *work = xasprintf ("%s/work", container_dir);

  /* overlayfs needs at least one lower layer: an empty dir for an image
   * without layers (docker import of an empty tar, scratch). */
  _cleanup_free_ char *empty = NULL;
  char *empty_v[2] = { NULL, NULL };
  char **lower = lower_dirs;
  if (lower == NULL || lower[0] == NULL)
    {
      empty = xasprintf ("%s/empty-lower", container_dir);
      if (mkdir (empty, 0755) < 0 && errno != EEXIST)
        return arca_error_errno (err, errno, "mkdir %s", empty);
      empty_v[0] = empty;
      lower = empty_v;
    }

  size_t max = mount_data_max ();
  for (int attempt = 0; attempt < 2; attempt++)
    {
      bool index_off = attempt == 0;
      _cleanup_free_ char *data = build_data (lower, 0, upper, work, index_off);
      int r;
      if (strlen (data) <= max)
        r = mount ("overlay", target, "overlay", 0, data);
      else
        {
          _cleanup_free_ char *parent = common_parent (lower);
          size_t skip = strlen (parent) + 1;
          _cleanup_free_ char *rel = build_data (lower, skip, upper, work, index_off);
          if (parent[0] == '\0' || strlen (rel) > max)
            return arca_error_set (err, ARCA_ERR_INTERNAL,
                                   "overlay mount of %zu layers: mount options too long (%zu bytes, limit %zu)",
                                   strv_len (lower), strlen (rel), max);
          r = mount_in_dir (parent, target, rel);
        }
      if (r == 0)
        break;
      /* Kernels without the "index" option reject it with EINVAL. */
      if (errno == EINVAL && attempt == 0)
        continue;
      return arca_error_errno (err, errno, "mount overlay at %s", target);
    }
  if (rootfs)
    *rootfs = arca_steal (target);
  return 0;
}

int
snapshot_unmount (const char *container_dir, arca_error_t *err)
{
  _cleanup_free_ char *target = xasprintf ("%s/rootfs", container_dir);
  /* Repeat: a rootfs may be stacked (mounted twice by a crashed daemon). */
  for (int i = 0; i < 16 && is_overlay_mounted (target); i++)
    {
      if (umount2 (target, 0) == 0)
        continue;
      if (errno == EBUSY && umount2 (target, MNT_DETACH) == 0)
        {
          log_debug ("rootfs %s busy, detached lazily", target);
          continue;
        }
      if (errno == EINVAL || errno == ENOENT)
        break;
      return arca_error_errno (err, errno, "unmount %s", target);
    }
  return 0;
}

int
snapshot_remove (const char *container_dir, arca_error_t *err)
{
  if (snapshot_unmount (container_dir, err) < 0)
    return -1;
  static const char *const names[] = { "rootfs", "upper", "work", "empty-lower" };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    {
      _cleanup_free_ char *p = xasprintf ("%s/%s", container_dir, names[i]);
      if (fs_remove_all (p, err) < 0)
        return -1;
    }
  return 0;
}
