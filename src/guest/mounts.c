/* The container's mount tree in the guest, from config.json's "mounts",
 * built under GUEST_ROOT in the agent's namespace (so that every process
 * of the container inherits it), and the switch into it for the init.
 *
 * The root is the host's rootfs directory shared by tag "rootfs" (9p here;
 * a virtiofs share of the same tag on hosts with virtiofsd).  Bind mounts
 * cannot name host paths from inside the guest: the host shares one more
 * tree, "mounts", in which the source of the spec's mount number i is the
 * entry "i" (the shim binds each source there, read-only when the mount
 * is); the guest binds GUEST_MOUNTS/i onto the destination.  Kernel
 * filesystems (tmpfs, devpts, mqueue, sysfs) are the guest's own.  Paths
 * inside the root are resolved with openat2(RESOLVE_IN_ROOT), so a symlink
 * in the image cannot send a mount outside of it. */
#include "guest/guest.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/json.h"

/* 9p options: the guest kernel enforces permissions (access=client) with
 * the real owners the host keeps (QEMU's passthrough model); cache=mmap
 * keeps host-side changes (docker cp into a running container) visible
 * while allowing shared writable mappings. */
#define P9_OPTS "trans=virtio,version=9p2000.L,access=client,cache=mmap,msize=524288"

static int
mount_share (const char *tag, const char *target, char **err_msg)
{
  mkdir (target, 0755);
  if (mount (tag, target, "9p", 0, P9_OPTS) == 0)
    return 0;
  int e9p = errno;
  /* A host with virtiofsd shares the same tag over virtio-fs. */
  guest_load_modules ("fuse");
  guest_load_modules ("virtiofs");
  if (mount (tag, target, "virtiofs", 0, NULL) == 0)
    return 0;
  *err_msg = xasprintf ("mount share %s on %s: %s", tag, target, strerror (e9p));
  return -1;
}

static int
open_in_root (int root, const char *path, int flags)
{
  struct open_how how = {
    .flags = (uint64_t) (flags | O_CLOEXEC),
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  return (int) syscall (SYS_openat2, root, path, &how, sizeof how);
}

/* The destination inside the root as an O_PATH fd, created (directories
 * along the way, then a directory or an empty file) if missing. */
static int
make_target (int root, const char *dest, bool is_dir)
{
  int fd = open_in_root (root, dest, O_PATH);
  if (fd >= 0 || errno != ENOENT)
    return fd;
  _cleanup_free_ char *p = xstrdup (dest);
  size_t len = strlen (p);
  while (len > 1 && p[len - 1] == '/')
    p[--len] = '\0';
  char *slash = strrchr (p, '/');
  if (slash == NULL)
    {
      errno = EINVAL;
      return -1;
    }
  const char *name = slash + 1;
  _cleanup_close_ int parent = -1;
  if (slash == p)
    parent = open_in_root (root, "/", O_PATH | O_DIRECTORY);
  else
    {
      *slash = '\0';
      parent = make_target (root, p, true);
      *slash = '/';
    }
  if (parent < 0)
    return -1;
  /* Create relative to the resolved parent: the name has no '/'. */
  _cleanup_close_ int pdir = openat (parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pdir < 0)
    return -1;
  if (is_dir)
    {
      if (mkdirat (pdir, name, 0755) < 0 && errno != EEXIST)
        return -1;
    }
  else
    {
      int f = openat (pdir, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (f < 0 && errno != EEXIST)
        return -1;
      if (f >= 0)
        close (f);
    }
  return openat (pdir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

static int
fd_path (int fd, char *buf, size_t size)
{
  return snprintf (buf, size, "/proc/self/fd/%d", fd) < (int) size ? 0 : -1;
}

unsigned long
mount_flags_parse (json_t *options, arca_buf_t *data, bool *bind_ro, bool *rec)
{
  static const struct
  {
    const char *name;
    bool clear;
    unsigned long flag;
  } known[] = {
    { "ro", false, MS_RDONLY },          { "rw", true, MS_RDONLY },         { "nosuid", false, MS_NOSUID },
    { "suid", true, MS_NOSUID },         { "nodev", false, MS_NODEV },      { "dev", true, MS_NODEV },
    { "noexec", false, MS_NOEXEC },      { "exec", true, MS_NOEXEC },       { "sync", false, MS_SYNCHRONOUS },
    { "async", true, MS_SYNCHRONOUS },   { "noatime", false, MS_NOATIME },  { "atime", true, MS_NOATIME },
    { "nodiratime", false, MS_NODIRATIME }, { "relatime", false, MS_RELATIME }, { "norelatime", true, MS_RELATIME },
    { "strictatime", false, MS_STRICTATIME }, { "bind", false, MS_BIND },  { "rbind", false, MS_BIND | MS_REC },
    { "mand", false, MS_MANDLOCK },      { "dirsync", false, MS_DIRSYNC },
  };
  /* Propagation flags concern the host side of a bind; the guest's tree is
   * private to the container anyway. */
  static const char *const ignored[] = { "private", "rprivate", "shared", "rshared", "slave", "rslave",
                                         "unbindable", "runbindable", "nocopy", "copy", NULL };
  unsigned long flags = 0;
  *bind_ro = false;
  *rec = false;
  size_t i;
  json_t *o;
  json_array_foreach (options, i, o)
  {
    const char *s = json_string_value (o);
    if (s == NULL)
      continue;
    bool done = false;
    for (size_t k = 0; k < sizeof known / sizeof known[0] && !done; k++)
      if (strcmp (s, known[k].name) == 0)
        {
          if (known[k].clear)
            flags &= ~known[k].flag;
          else
            flags |= known[k].flag;
          if (strcmp (s, "rbind") == 0)
            *rec = true;
          done = true;
        }
    for (size_t k = 0; ignored[k] && !done; k++)
      done = strcmp (s, ignored[k]) == 0;
    if (done)
      continue;
    if (data->len > 0)
      buf_append (data, ",", 1);
    buf_append (data, s, strlen (s));
  }
  if (data->len > 0)
    buf_append (data, "", 1);
  if ((flags & MS_BIND) && (flags & MS_RDONLY))
    *bind_ro = true;
  return flags;
}

static bool
share_source_is_dir (size_t index)
{
  char src[64];
  snprintf (src, sizeof src, "%s/%zu", GUEST_MOUNTS, index);
  struct stat st;
  return stat (src, &st) < 0 || S_ISDIR (st.st_mode);
}

static int
mount_bind (int root, size_t index, const char *target, unsigned long flags, bool ro, bool rec, const char *dest,
            char **err_msg)
{
  char src[64];
  snprintf (src, sizeof src, "%s/%zu", GUEST_MOUNTS, index);
  if (mount (src, target, NULL, MS_BIND | (rec ? MS_REC : 0), NULL) < 0)
    {
      *err_msg = xasprintf ("bind mount %s: %s", dest, strerror (errno));
      return -1;
    }
  unsigned long keep = flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
  if (!ro && !keep)
    return 0;
  /* The fd we mounted on still names the covered file: look the
   * destination up again to reach the new mount. */
  _cleanup_close_ int top = open_in_root (root, dest, O_PATH);
  char path[64];
  if (top < 0 || fd_path (top, path, sizeof path) < 0
      || mount (NULL, path, NULL, MS_REMOUNT | MS_BIND | keep | (ro ? MS_RDONLY : 0), NULL) < 0)
    {
      *err_msg = xasprintf ("remount %s: %s", dest, strerror (errno));
      return -1;
    }
  return 0;
}

/* runc's default device nodes and links (libcontainer/rootfs_linux.go
 * createDevices / setupDevSymlinks), made in the container's /dev. */
static void
make_default_devices (int root)
{
  static const struct
  {
    const char *name;
    unsigned maj, min;
  } devs[] = {
    { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
  };
  static const char *const links[][2] = {
    { "/proc/self/fd", "fd" },       { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
    { "/proc/self/fd/2", "stderr" }, { "pts/ptmx", "ptmx" },
  };
  _cleanup_close_ int dev = open_in_root (root, "/dev", O_RDONLY | O_DIRECTORY);
  if (dev < 0)
    return;
  for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++)
    {
      unlinkat (dev, devs[i].name, 0);
      if (mknodat (dev, devs[i].name, S_IFCHR | 0666, makedev (devs[i].maj, devs[i].min)) == 0)
        fchmodat (dev, devs[i].name, 0666, 0); /* umask */
    }
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
    if (symlinkat (links[i][0], dev, links[i][1]) < 0 && errno != EEXIST)
      guest_log ("symlink /dev/%s: %s", links[i][1], strerror (errno));
}

static bool
spec_has_bind (json_t *mounts)
{
  size_t i;
  json_t *m;
  json_array_foreach (mounts, i, m)
  {
    const char *type = json_get_str (m, "type");
    if (type && strcmp (type, "bind") == 0)
      return true;
  }
  return false;
}

/* One entry of "mounts". */
static int
mount_one (int root, size_t index, json_t *m, bool *dev_tmpfs, char **err_msg)
{
  const char *dest = json_get_str (m, "destination");
  const char *type = json_get_str (m, "type");
  const char *source = json_get_str (m, "source");
  if (dest == NULL || dest[0] != '/' || type == NULL)
    {
      *err_msg = xasprintf ("mount %zu: destination and type are required", index);
      return -1;
    }
  bool is_bind = strcmp (type, "bind") == 0;
  _cleanup_close_ int target = make_target (root, dest, is_bind ? share_source_is_dir (index) : true);
  if (target < 0)
    {
      *err_msg = xasprintf ("mountpoint %s: %s", dest, strerror (errno));
      return -1;
    }
  /* proc and cgroup need the init's namespaces: mounted when it enters. */
  if (strcmp (type, "proc") == 0 || strcmp (type, "cgroup") == 0 || strcmp (type, "cgroup2") == 0)
    return 0;
  char path[64];
  fd_path (target, path, sizeof path);
  arca_buf_t data = { 0 };
  bool ro, rec;
  unsigned long flags = mount_flags_parse (json_object_get (m, "options"), &data, &ro, &rec);
  int r = 0;
  if (is_bind)
    r = mount_bind (root, index, path, flags, ro, rec, dest, err_msg);
  else if (mount (source ? source : type, path, type, flags & ~(MS_BIND | MS_REC), data.len ? data.data : NULL) < 0)
    {
      *err_msg = xasprintf ("mount %s on %s: %s", type, dest, strerror (errno));
      r = -1;
    }
  if (r == 0 && strcmp (dest, "/dev") == 0 && strcmp (type, "tmpfs") == 0)
    *dev_tmpfs = true;
  buf_free (&data);
  return r;
}

int
mounts_prepare (json_t *spec, char **err_msg)
{
  json_t *mounts = json_object_get (spec, "mounts");
  if (mount_share (GUEST_SHARE_ROOTFS, GUEST_ROOT, err_msg) < 0)
    return -1;
  if (spec_has_bind (mounts) && mount_share (GUEST_SHARE_MOUNTS, GUEST_MOUNTS, err_msg) < 0)
    return -1;
  _cleanup_close_ int root = open (GUEST_ROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    {
      *err_msg = xasprintf ("open %s: %s", GUEST_ROOT, strerror (errno));
      return -1;
    }
  bool dev_tmpfs = false;
  size_t i;
  json_t *m;
  json_array_foreach (mounts, i, m)
    if (mount_one (root, i, m, &dev_tmpfs, err_msg) < 0)
      return -1;
  if (dev_tmpfs)
    make_default_devices (root);
  /* The container's own mountpoints exist now: the root may go read-only. */
  if (json_get_bool (json_object_get (spec, "root"), "readonly", false)
      && mount (NULL, GUEST_ROOT, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
    {
      *err_msg = xasprintf ("read-only root: %s", strerror (errno));
      return -1;
    }
  return 0;
}

/* ---- in the init, after fork ---- */

static void
mask_paths (json_t *paths)
{
  size_t i;
  json_t *p;
  json_array_foreach (paths, i, p)
  {
    const char *path = json_string_value (p);
    struct stat st;
    if (path == NULL || stat (path, &st) < 0)
      continue;
    if (S_ISDIR (st.st_mode))
      mount ("tmpfs", path, "tmpfs", MS_RDONLY, NULL);
    else
      mount ("/dev/null", path, NULL, MS_BIND, NULL);
  }
}

static void
readonly_paths (json_t *paths)
{
  size_t i;
  json_t *p;
  json_array_foreach (paths, i, p)
  {
    const char *path = json_string_value (p);
    if (path == NULL || mount (path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
      continue;
    mount (NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  }
}

/* proc and cgroup2 entries of the spec, now that the init has its own PID
 * and cgroup namespaces. */
static int
mount_late (json_t *spec, char **err_msg)
{
  size_t i;
  json_t *m;
  json_array_foreach (json_object_get (spec, "mounts"), i, m)
  {
    const char *type = json_get_str (m, "type");
    const char *dest = json_get_str (m, "destination");
    if (type == NULL || dest == NULL)
      continue;
    bool proc = strcmp (type, "proc") == 0;
    bool cg = strcmp (type, "cgroup") == 0 || strcmp (type, "cgroup2") == 0;
    if (!proc && !cg)
      continue;
    arca_buf_t data = { 0 };
    bool ro, rec;
    unsigned long flags = mount_flags_parse (json_object_get (m, "options"), &data, &ro, &rec);
    /* The guest has cgroup v2 whatever the host has. */
    int r = mount (proc ? "proc" : "cgroup", dest, proc ? "proc" : "cgroup2", flags & ~(MS_BIND | MS_REC),
                   proc && data.len ? data.data : NULL);
    buf_free (&data);
    if (r < 0)
      {
        *err_msg = xasprintf ("mount %s on %s: %s", type, dest, strerror (errno));
        return -1;
      }
  }
  return 0;
}

int
mounts_enter_root (json_t *spec, char **err_msg)
{
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    {
      *err_msg = xasprintf ("make / private: %s", strerror (errno));
      return -1;
    }
  /* Drop the agent's own view (its devices, the shares) from this
   * namespace, then put the container's root over the initramfs and chroot
   * into it: the initramfs root cannot be pivoted away. */
  umount2 (GUEST_MOUNTS, MNT_DETACH);
  umount2 ("/run", MNT_DETACH);
  umount2 ("/sys", MNT_DETACH);
  umount2 ("/dev/pts", MNT_DETACH);
  umount2 ("/dev", MNT_DETACH);
  umount2 ("/proc", MNT_DETACH);
  if (chdir (GUEST_ROOT) < 0 || mount (GUEST_ROOT, "/", NULL, MS_MOVE, NULL) < 0 || chroot (".") < 0
      || chdir ("/") < 0)
    {
      *err_msg = xasprintf ("enter the container root: %s", strerror (errno));
      return -1;
    }
  if (mount_late (spec, err_msg) < 0)
    return -1;
  json_t *lnx = json_object_get (spec, "linux");
  mask_paths (json_object_get (lnx, "maskedPaths"));
  readonly_paths (json_object_get (lnx, "readonlyPaths"));
  return 0;
}
