#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <ftw.h>
#include <limits.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/strutil.h"

int
fs_fsync_dir (const char *dir)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int r = fsync (fd);
  close (fd);
  return r;
}

static int
write_atomic (const char *path, const void *data, size_t len, mode_t mode, bool sync, arca_error_t *err)
{
  _cleanup_free_ char *tmp = xasprintf ("%s.tmp-XXXXXX", path);
  _cleanup_close_ int fd = mkostemp (tmp, O_CLOEXEC);
  if (fd < 0)
    return arca_error_errno (err, errno, "create %s", tmp);
  const char *p = data;
  size_t left = len;
  while (left > 0)
    {
      ssize_t n = write (fd, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          unlink (tmp);
          return arca_error_errno (err, e, "write %s", tmp);
        }
      p += n;
      left -= n;
    }
  if (fchmod (fd, mode) < 0 || (sync && fsync (fd) < 0))
    {
      int e = errno;
      unlink (tmp);
      return arca_error_errno (err, e, "sync %s", tmp);
    }
  if (rename (tmp, path) < 0)
    {
      int e = errno;
      unlink (tmp);
      return arca_error_errno (err, e, "rename %s", path);
    }
  if (sync)
    {
      _cleanup_free_ char *dup = xstrdup (path);
      fs_fsync_dir (dirname (dup));
    }
  return 0;
}

int
fs_write_atomic (const char *path, const void *data, size_t len, mode_t mode, arca_error_t *err)
{
  return write_atomic (path, data, len, mode, true, err);
}

int
fs_write_atomic_nosync (const char *path, const void *data, size_t len, mode_t mode, arca_error_t *err)
{
  return write_atomic (path, data, len, mode, false, err);
}

int
fs_read_fd_max (int fd, size_t max, char **data, size_t *len, bool *too_big, arca_error_t *err)
{
  arca_buf_t b = { 0 };
  *too_big = false;
  /* Heap, not stack: callers run on small-stack threads. */
  _cleanup_free_ char *chunk = xmalloc0 (65536);
  for (;;)
    {
      ssize_t n = read (fd, chunk, 65536);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          buf_free (&b);
          return arca_error_errno (err, e, "read");
        }
      if (n == 0)
        break;
      if ((size_t) n > max - b.len)
        {
          buf_free (&b);
          *too_big = true;
          return 0;
        }
      buf_append (&b, chunk, n);
    }
  if (b.data == NULL)
    buf_append (&b, "", 0);
  if (len)
    *len = b.len;
  *data = b.data;
  return 0;
}

int
fs_read_file (const char *path, char **data, size_t *len, arca_error_t *err)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return arca_error_errno (err, errno, "open %s", path);
  bool too_big;
  if (fs_read_fd_max (fd, SIZE_MAX, data, len, &too_big, err) < 0)
    return arca_error_wrap (err, "%s", path);
  return 0;
}

int
fs_mkdir_p (const char *path, mode_t mode, arca_error_t *err)
{
  _cleanup_free_ char *p = xstrdup (path);
  for (char *s = p + 1; *s; s++)
    {
      if (*s != '/')
        continue;
      *s = '\0';
      if (mkdir (p, mode) < 0 && errno != EEXIST)
        return arca_error_errno (err, errno, "mkdir %s", p);
      *s = '/';
    }
  if (mkdir (p, mode) < 0 && errno != EEXIST)
    return arca_error_errno (err, errno, "mkdir %s", p);
  return 0;
}

int
fs_mkdir_mode (const char *path, mode_t mode, arca_error_t *err)
{
  if (fs_mkdir_p (path, mode, err) < 0)
    return -1;
  struct stat st;
  if (stat (path, &st) < 0)
    return arca_error_errno (err, errno, "stat %s", path);
  if (!S_ISDIR (st.st_mode))
    return arca_error_set (err, ARCA_ERR_INTERNAL, "%s exists and is not a directory", path);
  if ((st.st_mode & 07777) != mode && chmod (path, mode) < 0)
    return arca_error_errno (err, errno, "chmod %s", path);
  return 0;
}

void
fs_chmod_entries (const char *dir, mode_t type, mode_t mode)
{
  DIR *d = opendir (dir);
  if (d == NULL)
    return;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      struct stat st;
      if (de->d_name[0] == '.' && (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
        continue;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || (st.st_mode & S_IFMT) != type)
        continue;
      if ((st.st_mode & 07777) != mode)
        fchmodat (dirfd (d), de->d_name, mode, 0);
    }
  closedir (d);
}

static int
rm_cb (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st;
  (void) ftw;
  int r = (flag == FTW_DP) ? rmdir (path) : unlink (path);
  if (r < 0 && errno != ENOENT)
    return -1;
  return 0;
}

int
fs_remove_all (const char *path, arca_error_t *err)
{
  struct stat st;
  if (lstat (path, &st) < 0)
    return errno == ENOENT ? 0 : arca_error_errno (err, errno, "stat %s", path);
  if (!S_ISDIR (st.st_mode))
    {
      if (unlink (path) < 0 && errno != ENOENT)
        return arca_error_errno (err, errno, "unlink %s", path);
      return 0;
    }
  if (nftw (path, rm_cb, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
    return arca_error_errno (err, errno, "remove %s", path);
  return 0;
}

/* ---- opening files inside a directory tree as if it were "/" ---- */

#define IN_ROOT_MAX_SYMLINKS 40

static int
openat_in_root_walk (int rootfd, const char *path, int flags, mode_t mode)
{
  int stack[PATH_MAX / 2];
  int depth = 0;
  int links = 0;
  stack[0] = openat (rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (stack[0] < 0)
    return -1;
  _cleanup_free_ char *rest = xstrdup (path);
  int result = -1;
  int saved = 0;

  for (;;)
    {
      char *p = rest;
      while (*p == '/')
        p++;
      if (*p == '\0')
        {
          /* Path named a directory we already hold. */
          result = openat (stack[depth], ".", (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC);
          saved = errno;
          break;
        }
      char *slash = strchr (p, '/');
      char *next = slash ? slash + 1 : p + strlen (p);
      size_t len = slash ? (size_t) (slash - p) : strlen (p);
      _cleanup_free_ char *comp = strndup (p, len);
      bool last = true;
      for (char *q = next; *q; q++)
        if (*q != '/')
          {
            last = false;
            break;
          }

      if (strcmp (comp, ".") == 0 || strcmp (comp, "..") == 0)
        {
          if (comp[1] == '.' && depth > 0)
            close (stack[depth--]);
          memmove (rest, next, strlen (next) + 1);
          continue;
        }

      struct stat st;
      if (fstatat (stack[depth], comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT && last && (flags & O_CREAT))
            {
              result = openat (stack[depth], comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
              saved = errno;
              break;
            }
          saved = errno;
          break;
        }
      if (S_ISLNK (st.st_mode))
        {
          if (++links > IN_ROOT_MAX_SYMLINKS)
            {
              saved = ELOOP;
              break;
            }
          char target[PATH_MAX];
          ssize_t n = readlinkat (stack[depth], comp, target, sizeof target - 1);
          if (n < 0)
            {
              saved = errno;
              break;
            }
          target[n] = '\0';
          if (target[0] == '/')
            while (depth > 0)
              close (stack[depth--]);
          char *spliced = xasprintf ("%s/%s", target, next);
          free (rest);
          rest = spliced;
          continue;
        }
      if (last)
        {
          result = openat (stack[depth], comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
          saved = errno;
          break;
        }
      if (!S_ISDIR (st.st_mode))
        {
          saved = ENOTDIR;
          break;
        }
      if (depth + 1 >= (int) (sizeof stack / sizeof stack[0]))
        {
          saved = ENAMETOOLONG;
          break;
        }
      int fd = openat (stack[depth], comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        {
          saved = errno;
          break;
        }
      stack[++depth] = fd;
      memmove (rest, next, strlen (next) + 1);
    }
  while (depth >= 0)
    close (stack[depth--]);
  errno = saved;
  return result;
}

int
fs_open_in_root_walk (const char *root_dir, const char *path, int flags)
{
  _cleanup_close_ int root = open (root_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return -1;
  return openat_in_root_walk (root, path, flags, 0644);
}

int
fs_openat_in_root (int rootfd, const char *path, int flags, mode_t mode)
{
  if (path == NULL || *path == '\0')
    path = "/";
  struct open_how how = {
    .flags = (uint64_t) (flags | O_CLOEXEC),
    /* O_TMPFILE contains O_DIRECTORY's bit: test it whole */
    .mode = ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? mode : 0,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  /* EAGAIN: a rename anywhere on the host while ".." was resolved; the
   * kernel asks to retry (openat2(2)).  On a busy host that can last: the
   * walk, which holds each directory open, then does the job. */
  for (int attempt = 0; attempt < 16; attempt++)
    {
      int fd = (int) syscall (SYS_openat2, rootfd, path, &how, sizeof how);
      if (fd >= 0 || (errno != ENOSYS && errno != EPERM && errno != EAGAIN))
        return fd;
      if (errno != EAGAIN)
        break;
    }
  /* ENOSYS: old kernel; EPERM: a seccomp filter that blocks openat2. */
  return openat_in_root_walk (rootfd, path, flags, mode);
}

int
fs_open_in_root (const char *root_dir, const char *path, int flags)
{
  _cleanup_close_ int root = open (root_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return -1;
  return fs_openat_in_root (root, path, flags, 0644);
}
