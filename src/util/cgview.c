/* The cgroup v1 view for crun on hybrid hosts (util/cgview.h). */
#include "util/cgview.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#define CGROUP_ROOT "/sys/fs/cgroup"
#define CGROUP_UNIFIED CGROUP_ROOT "/unified"

static bool
fs_type_is (const char *path, long magic)
{
  struct statfs st;
  return statfs (path, &st) == 0 && st.f_type == magic;
}

bool
cgview_v1_host (void)
{
  return fs_type_is (CGROUP_ROOT, TMPFS_MAGIC);
}

bool
cgview_hybrid_with_v2_controllers (void)
{
  if (!cgview_v1_host () || !fs_type_is (CGROUP_UNIFIED, CGROUP2_SUPER_MAGIC))
    return false;
  int fd = open (CGROUP_UNIFIED "/cgroup.controllers", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  char c;
  ssize_t n = read (fd, &c, 1);
  close (fd);
  /* the file is "\n" when empty */
  return n == 1 && c != '\n';
}

int
cgview_enter_v1 (void)
{
  if (unshare (CLONE_NEWNS) < 0)
    return -1;
  /* The copies of shared mounts stay peers of the host's: an unmount under
   * a shared parent would propagate back to the host.  Private first, for
   * the parent and the mount itself only; every other mount keeps the
   * host's propagation, so a container's rshared binds behave as under
   * runc. */
  if (mount (NULL, CGROUP_ROOT, NULL, MS_PRIVATE, NULL) < 0)
    return -1;
  if (mount (NULL, CGROUP_UNIFIED, NULL, MS_PRIVATE, NULL) < 0)
    return -1;
  return umount2 (CGROUP_UNIFIED, MNT_DETACH);
}
