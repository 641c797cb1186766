#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int
fs_write_atomic (const char *path, const void *data, size_t len, mode_t mode, arca_error_t *err)
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
  if (fchmod (fd, mode) < 0 || fsync (fd) < 0)
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
  _cleanup_free_ char *dup = xstrdup (path);
  fs_fsync_dir (dirname (dup));
  return 0;
}

int
fs_read_file (const char *path, char **data, size_t *len, arca_error_t *err)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return arca_error_errno (err, errno, "open %s", path);
  arca_buf_t b = { 0 };
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
          return arca_error_errno (err, e, "read %s", path);
        }
      if (n == 0)
        break;
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
