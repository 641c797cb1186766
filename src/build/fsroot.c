/* File operations confined to a root (see fsroot.h).  Why no path string
 * ever reaches the kernel outside openat2(RESOLVE_IN_ROOT): a build
 * context and an image layer are untrusted trees; a symlink in them must
 * resolve as it would inside the container, never on the host. */
#include "build/fsroot.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "build/ignore.h"
#include "image/digest.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strutil.h"


/* "/" + path, cleaned. */
static char *
abs_clean (const char *path)
{
  _cleanup_free_ char *p = xasprintf ("/%s", path ? path : "");
  return path_clean (p);
}

int
root_open_parent (int rootfd, const char *path, char **base)
{
  _cleanup_free_ char *p = abs_clean (path);
  if (strcmp (p, "/") == 0)
    {
      *base = xstrdup (".");
      return fs_openat_in_root (rootfd, "/", O_PATH | O_DIRECTORY, 0);
    }
  char *slash = strrchr (p, '/');
  *base = xstrdup (slash + 1);
  *slash = '\0';
  int fd = fs_openat_in_root (rootfd, *p ? p : "/", O_PATH | O_DIRECTORY, 0);
  if (fd < 0)
    {
      int e = errno;
      free (*base);
      *base = NULL;
      errno = e;
    }
  return fd;
}

int
root_mkdir_all (int rootfd, const char *path, mode_t mode, const root_owner_t *own, arca_error_t *err)
{
  _cleanup_free_ char *p = abs_clean (path);
  int fd = fs_openat_in_root (rootfd, p, O_PATH | O_DIRECTORY, 0);
  if (fd >= 0)
    return fd;
  if (errno == ENOTDIR)
    return arca_error_set (err, ARCA_ERR_INVALID, "mkdir %s: not a directory", p);
  if (errno != ENOENT)
    return arca_error_errno (err, errno, "open %s", p);
  /* walk from the root, creating what is missing */
  size_t len = strlen (p);
  for (size_t i = 1; i <= len; i++)
    {
      if (i < len && p[i] != '/')
        continue;
      char saved = p[i];
      p[i] = '\0';
      _cleanup_close_ int cur = fs_openat_in_root (rootfd, p, O_PATH | O_DIRECTORY, 0);
      if (cur < 0 && errno == ENOENT)
        {
          _cleanup_free_ char *base = NULL;
          _cleanup_close_ int parent = root_open_parent (rootfd, p, &base);
          if (parent < 0)
            {
              p[i] = saved;
              return arca_error_errno (err, errno, "mkdir %s", p);
            }
          if (mkdirat (parent, base, mode) < 0 && errno != EEXIST)
            {
              p[i] = saved;
              return arca_error_errno (err, errno, "mkdir %s", p);
            }
          _cleanup_close_ int d = openat (parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (d >= 0)
            {
              /* exact mode whatever the umask; owner only for what we made */
              if (fchmod (d, mode) < 0 || fchown (d, own ? own->uid : 0, own ? own->gid : 0) < 0)
                log_debug ("mkdir %s: chmod/chown: %s", p, strerror (errno));
            }
          cur = fs_openat_in_root (rootfd, p, O_PATH | O_DIRECTORY, 0);
        }
      if (cur < 0)
        {
          int e = errno;
          p[i] = saved;
          if (e == ENOTDIR || e == ENOENT)
            return arca_error_set (err, ARCA_ERR_INVALID, "mkdir %s: not a directory", p);
          return arca_error_errno (err, e, "mkdir %s", p);
        }
      p[i] = saved;
    }
  fd = fs_openat_in_root (rootfd, p, O_PATH | O_DIRECTORY, 0);
  if (fd < 0)
    return arca_error_errno (err, errno, "mkdir %s", p);
  return fd;
}

/* The host path of an fd (for turning an fd back into a path in the root). */
static char *
fd_path (int fd)
{
  char link[64], buf[4096];
  snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink (link, buf, sizeof buf - 1);
  if (n < 0)
    return NULL;
  buf[n] = '\0';
  return xstrdup (buf);
}

char *
root_resolve (int rootfd, const char *path)
{
  _cleanup_free_ char *p = abs_clean (path);
  _cleanup_free_ char *root = fd_path (rootfd);
  if (root == NULL)
    return NULL;
  _cleanup_close_ int fd = fs_openat_in_root (rootfd, p, O_PATH, 0);
  if (fd >= 0)
    {
      _cleanup_free_ char *host = fd_path (fd);
      if (host == NULL)
        return NULL;
      size_t rl = strlen (root);
      if (strcmp (root, "/") == 0)
        return xstrdup (host);
      if (strncmp (host, root, rl) != 0 || (host[rl] != '/' && host[rl] != '\0'))
        {
          errno = EXDEV;
          return NULL;
        }
      return xstrdup (host[rl] ? host + rl : "/");
    }
  if (errno != ENOENT || strcmp (p, "/") == 0)
    return NULL;
  /* a missing element: resolve its parent, append the rest */
  char *slash = strrchr (p, '/');
  _cleanup_free_ char *base = xstrdup (slash + 1);
  *slash = '\0';
  _cleanup_free_ char *parent = root_resolve (rootfd, *p ? p : "/");
  if (parent == NULL)
    return NULL;
  return xasprintf ("%s%s%s", parent, strcmp (parent, "/") == 0 ? "" : "/", base);
}

/* ---- rm -rf --------------------------------------------------------------------- */

static int
remove_at (int parent, const char *name, int depth)
{
  if (unlinkat (parent, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    return -1;
  if (depth > 4096)
    {
      errno = ELOOP;
      return -1;
    }
  int fd = openat (parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return -1;
    }
  struct dirent *de;
  int ret = 0;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (remove_at (dirfd (d), de->d_name, depth + 1) < 0)
        ret = -1;
    }
  closedir (d);
  if (ret == 0 && unlinkat (parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    ret = -1;
  return ret;
}

int
root_remove_all (int rootfd, const char *path)
{
  _cleanup_free_ char *base = NULL;
  _cleanup_close_ int parent = root_open_parent (rootfd, path, &base);
  if (parent < 0)
    return errno == ENOENT ? 0 : -1;
  if (strcmp (base, ".") == 0)
    {
      errno = EINVAL;
      return -1;
    }
  _cleanup_close_ int pd = openat (parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pd < 0)
    return -1;
  return remove_at (pd, base, 0);
}

/* ---- tar extraction ------------------------------------------------------------------ */

/* Tarsum v1 of one entry (moby pkg/tarsum v1TarHeaderSelect: name, mode,
 * uid, gid, size, typeflag, linkname, uname, gname, devmajor, devminor,
 * xattrs by key; no mtime), then its content. */
static digest_ctx_t *
tarsum_begin (struct archive_entry *e)
{
  digest_ctx_t *d = digest_new ();
  char num[64];
#define FIELD(k, v)                                                                                                    \
  do                                                                                                                   \
    {                                                                                                                  \
      const char *_v = (v);                                                                                            \
      digest_update (d, k, strlen (k));                                                                                \
      digest_update (d, _v ? _v : "", _v ? strlen (_v) : 0);                                                           \
    }                                                                                                                  \
  while (0)
  mode_t type = archive_entry_filetype (e);
  const char *hardlink = archive_entry_hardlink (e);
  char flag = hardlink ? '1' : type == AE_IFDIR ? '5' : type == AE_IFLNK ? '2' : type == AE_IFCHR ? '3'
                             : type == AE_IFBLK ? '4' : type == AE_IFIFO ? '6' : '0';
  FIELD ("name", archive_entry_pathname (e));
  snprintf (num, sizeof num, "%lld", (long long) archive_entry_mode (e));
  FIELD ("mode", num);
  snprintf (num, sizeof num, "%lld", (long long) archive_entry_uid (e));
  FIELD ("uid", num);
  snprintf (num, sizeof num, "%lld", (long long) archive_entry_gid (e));
  FIELD ("gid", num);
  snprintf (num, sizeof num, "%lld", (long long) (type == AE_IFREG && !hardlink ? archive_entry_size (e) : 0));
  FIELD ("size", num);
  char tf[2] = { flag, 0 };
  FIELD ("typeflag", tf);
  FIELD ("linkname", hardlink ? hardlink : archive_entry_symlink (e));
  FIELD ("uname", archive_entry_uname (e));
  FIELD ("gname", archive_entry_gname (e));
  snprintf (num, sizeof num, "%lld", (long long) (type == AE_IFCHR || type == AE_IFBLK ? archive_entry_rdevmajor (e) : 0));
  FIELD ("devmajor", num);
  snprintf (num, sizeof num, "%lld", (long long) (type == AE_IFCHR || type == AE_IFBLK ? archive_entry_rdevminor (e) : 0));
  FIELD ("devminor", num);
  /* xattrs sorted by key */
  size_t nx = archive_entry_xattr_reset (e);
  if (nx > 0)
    {
      char **keys = xmalloc0 ((nx + 1) * sizeof (char *));
      const void **vals = xmalloc0 ((nx + 1) * sizeof (void *));
      size_t *lens = xmalloc0 ((nx + 1) * sizeof (size_t));
      size_t k = 0;
      const char *name;
      const void *val;
      size_t len;
      while (k < nx && archive_entry_xattr_next (e, &name, &val, &len) == ARCHIVE_OK)
        {
          keys[k] = xstrdup (name);
          vals[k] = val;
          lens[k] = len;
          k++;
        }
      for (size_t a = 0; a < k; a++)
        for (size_t b = a + 1; b < k; b++)
          if (strcmp (keys[b], keys[a]) < 0)
            {
              char *tk = keys[a];
              keys[a] = keys[b];
              keys[b] = tk;
              const void *tv = vals[a];
              vals[a] = vals[b];
              vals[b] = tv;
              size_t tl = lens[a];
              lens[a] = lens[b];
              lens[b] = tl;
            }
      for (size_t a = 0; a < k; a++)
        {
          digest_update (d, keys[a], strlen (keys[a]));
          digest_update (d, vals[a], lens[a]);
          free (keys[a]);
        }
      free (keys);
      free (vals);
      free (lens);
    }
#undef FIELD
  return d;
}

typedef struct
{
  char *path;             /* relative to the root */
  struct timespec times[2];
} dir_time_t;

typedef struct
{
  int rootfd;
  const char *dest;       /* absolute, cleaned */
  const root_untar_opts_t *o;
  dir_time_t *dirs;
  size_t n_dirs;
} untar_t;

static void
set_owner_mode_times (int parent, const char *base, struct archive_entry *e, const untar_t *u, bool is_link)
{
  uid_t uid = u->o->keep_owner ? (uid_t) archive_entry_uid (e) : 0;
  gid_t gid = u->o->keep_owner ? (gid_t) archive_entry_gid (e) : 0;
  if (fchownat (parent, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
    log_debug ("untar %s: chown: %s", base, strerror (errno));
  if (!is_link && fchmodat (parent, base, archive_entry_mode (e) & 07777, 0) < 0)
    log_debug ("untar %s: chmod: %s", base, strerror (errno));
}

static int
write_data (struct archive *a, int fd, digest_ctx_t *sum, const char *name, arca_error_t *err)
{
  const void *buf;
  size_t len;
  la_int64_t off;
  int r;
  while ((r = archive_read_data_block (a, &buf, &len, &off)) == ARCHIVE_OK)
    {
      if (sum)
        digest_update (sum, buf, len);
      if (pwrite (fd, buf, len, off) != (ssize_t) len)
        return arca_error_errno (err, errno, "write %s", name);
    }
  if (r != ARCHIVE_EOF)
    return arca_error_set (err, ARCA_ERR_INVALID, "%s", archive_error_string (a) ?: "unexpected EOF");
  /* a sparse tail: extend the file to its full size */
  return 0;
}

static int
untar_entry (struct archive *a, struct archive_entry *e, untar_t *u, arca_error_t *err)
{
  const char *name = archive_entry_pathname (e);
  if (name == NULL)
    return 0;
  _cleanup_free_ char *rel = abs_clean (name);
  _cleanup_free_ char *full = xasprintf ("%s%s", strcmp (u->dest, "/") == 0 ? "" : u->dest, rel);
  _cleanup_free_ char *key = xstrdup (rel + 1);
  mode_t type = archive_entry_filetype (e);
  const char *hardlink = archive_entry_hardlink (e);
  digest_ctx_t *sum = u->o->sums ? tarsum_begin (e) : NULL;
  int ret = -1;
  _cleanup_free_ char *base = NULL;
  _cleanup_close_ int parent = -1;
  _cleanup_close_ int pdir = -1;

  if (strcmp (rel, "/") == 0)
    {
      /* "." names the destination itself: left as it is (moby Unpack) */
      ret = 0;
      goto out;
    }
  {
    /* the parent directories, 0755 root-owned when missing */
    _cleanup_free_ char *dir = xstrdup (full);
    *strrchr (dir, '/') = '\0';
    _cleanup_close_ int dfd = root_mkdir_all (u->rootfd, *dir ? dir : "/", 0755, NULL, err);
    if (dfd < 0)
      goto out;
  }
  parent = root_open_parent (u->rootfd, full, &base);
  if (parent < 0)
    {
      arca_error_errno (err, errno, "open %s", full);
      goto out;
    }
  pdir = openat (parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pdir < 0)
    {
      arca_error_errno (err, errno, "open %s", full);
      goto out;
    }
  /* what is there goes, unless a directory meets a directory */
  struct stat st;
  bool exists = fstatat (pdir, base, &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && !(S_ISDIR (st.st_mode) && type == AE_IFDIR && !hardlink))
    {
      if (remove_at (pdir, base, 0) < 0)
        {
          arca_error_errno (err, errno, "remove %s", full);
          goto out;
        }
      exists = false;
    }
  if (hardlink)
    {
      _cleanup_free_ char *target = abs_clean (hardlink);
      _cleanup_free_ char *tfull = xasprintf ("%s%s", strcmp (u->dest, "/") == 0 ? "" : u->dest, target);
      _cleanup_free_ char *tbase = NULL;
      _cleanup_close_ int tparent = root_open_parent (u->rootfd, tfull, &tbase);
      if (tparent < 0 || linkat (tparent, tbase, pdir, base, 0) < 0)
        {
          arca_error_errno (err, errno, "link %s to %s", full, tfull);
          goto out;
        }
      ret = 0;
      goto out;
    }
  switch (type)
    {
    case AE_IFDIR:
      if (!exists && mkdirat (pdir, base, 0700) < 0)
        {
          arca_error_errno (err, errno, "mkdir %s", full);
          goto out;
        }
      break;
    case AE_IFREG:
      {
        _cleanup_close_ int fd = openat (pdir, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
          {
            arca_error_errno (err, errno, "create %s", full);
            goto out;
          }
        if (write_data (a, fd, sum, full, err) < 0)
          goto out;
        if (ftruncate (fd, archive_entry_size (e)) < 0)
          {
            arca_error_errno (err, errno, "write %s", full);
            goto out;
          }
        break;
      }
    case AE_IFLNK:
      if (symlinkat (archive_entry_symlink (e) ?: "", pdir, base) < 0)
        {
          arca_error_errno (err, errno, "symlink %s", full);
          goto out;
        }
      break;
    case AE_IFIFO:
      if (mknodat (pdir, base, S_IFIFO | 0600, 0) < 0)
        {
          arca_error_errno (err, errno, "mkfifo %s", full);
          goto out;
        }
      break;
    case AE_IFCHR:
    case AE_IFBLK:
      if (u->o->no_devices)
        {
          ret = 0;
          goto out;
        }
      if (mknodat (pdir, base, (type == AE_IFCHR ? S_IFCHR : S_IFBLK) | 0600,
                   makedev (archive_entry_rdevmajor (e), archive_entry_rdevminor (e)))
          < 0)
        {
          arca_error_errno (err, errno, "mknod %s", full);
          goto out;
        }
      break;
    default:
      ret = 0; /* sockets and the like are not archived by Docker */
      goto out;
    }
  set_owner_mode_times (pdir, base, e, u, type == AE_IFLNK);
  struct timespec ts[2] = {
    { archive_entry_atime_is_set (e) ? archive_entry_atime (e) : archive_entry_mtime (e),
      archive_entry_atime_is_set (e) ? archive_entry_atime_nsec (e) : archive_entry_mtime_nsec (e) },
    { archive_entry_mtime (e), archive_entry_mtime_nsec (e) },
  };
  if (type == AE_IFDIR)
    {
      u->dirs = xrealloc (u->dirs, (u->n_dirs + 1) * sizeof *u->dirs);
      u->dirs[u->n_dirs].path = xstrdup (full);
      u->dirs[u->n_dirs].times[0] = ts[0];
      u->dirs[u->n_dirs].times[1] = ts[1];
      u->n_dirs++;
    }
  else if (utimensat (pdir, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
    log_debug ("untar %s: times: %s", full, strerror (errno));
  ret = 0;
out:
  if (sum)
    {
      char d[DIGEST_BUF];
      digest_final (sum, d);
      if (ret == 0)
        json_object_set_new (u->o->sums, key, json_string (digest_hex (d)));
    }
  return ret;
}

/* A reader that, at the end of the file, adds the zeros a complete tar
 * would have: padding to the block and two end blocks. */
typedef struct
{
  int fd;
  off_t total;
  bool eof;
  size_t pad_left;
  char buf[65536];
} pad_reader_t;

static la_ssize_t
pad_read (struct archive *a, void *ud, const void **buf)
{
  pad_reader_t *p = ud;
  *buf = p->buf;
  if (!p->eof)
    {
      ssize_t r;
      do
        r = read (p->fd, p->buf, sizeof p->buf);
      while (r < 0 && errno == EINTR);
      if (r < 0)
        {
          archive_set_error (a, errno, "read: %s", strerror (errno));
          return -1;
        }
      if (r > 0)
        {
          p->total += r;
          return r;
        }
      p->eof = true;
      p->pad_left = (size_t) ((512 - p->total % 512) % 512) + 1024;
    }
  size_t n = p->pad_left < sizeof p->buf ? p->pad_left : sizeof p->buf;
  memset (p->buf, 0, n);
  p->pad_left -= n;
  return (la_ssize_t) n;
}

/* A compressed stream decompressed into a file of dir (malloc'd path). */
static int
decompress_to (const char *tar_path, const char *dir, char **out, arca_error_t *err)
{
  unsigned char magic[6] = { 0 };
  _cleanup_close_ int in = open (tar_path, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return arca_error_errno (err, errno, "open %s", tar_path);
  ssize_t n = read (in, magic, sizeof magic);
  bool compressed = n >= 2
                    && ((magic[0] == 0x1f && magic[1] == 0x8b) || (n >= 3 && memcmp (magic, "BZh", 3) == 0)
                        || (n >= 6 && memcmp (magic, "\xfd" "7zXZ\0", 6) == 0)
                        || (n >= 4 && memcmp (magic, "\x28\xb5\x2f\xfd", 4) == 0));
  *out = NULL;
  if (!compressed)
    return 0;
  *out = xasprintf ("%s/context-XXXXXX", dir);
  _cleanup_close_ int fd = mkostemp (*out, O_CLOEXEC);
  if (fd < 0)
    return arca_error_errno (err, errno, "create %s", *out);
  struct archive *a = archive_read_new ();
  archive_read_support_filter_all (a);
  archive_read_support_format_raw (a);
  struct archive_entry *e;
  int ret = 0;
  if (archive_read_open_filename (a, tar_path, 65536) != ARCHIVE_OK || archive_read_next_header (a, &e) != ARCHIVE_OK)
    ret = arca_error_set (err, ARCA_ERR_INVALID, "%s", archive_error_string (a) ?: "unexpected EOF");
  else
    {
      char buf[65536];
      la_ssize_t r;
      while ((r = archive_read_data (a, buf, sizeof buf)) > 0)
        if (write (fd, buf, (size_t) r) != r)
          {
            ret = arca_error_errno (err, errno, "write %s", *out);
            break;
          }
      /* a truncated compressed stream: keep what came out, as Go does */
    }
  archive_read_free (a);
  return ret;
}

int
root_untar (int rootfd, const char *dest, const char *tar_path, const root_untar_opts_t *o, arca_error_t *err)
{
  _cleanup_free_ char *d = abs_clean (dest);
  _cleanup_close_ int dfd = root_mkdir_all (rootfd, d, 0755, NULL, err);
  if (dfd < 0)
    return -1;
  struct archive *a = archive_read_new ();
  archive_read_support_filter_all (a);
  archive_read_support_format_tar (a);
  archive_read_support_format_gnutar (a);
  untar_t u = { .rootfd = rootfd, .dest = d, .o = o };
  int ret = 0;
  _cleanup_free_ char *plain = NULL;
  pad_reader_t *pr = NULL;
  int opened;
  if (o->tolerate_truncation_dir)
    {
      if (decompress_to (tar_path, o->tolerate_truncation_dir, &plain, err) < 0)
        {
          if (plain)
            unlink (plain);
          archive_read_free (a);
          return -1;
        }
      pr = xmalloc0 (sizeof *pr);
      pr->fd = open (plain ? plain : tar_path, O_RDONLY | O_CLOEXEC);
      if (plain)
        unlink (plain);
      opened = pr->fd >= 0 ? archive_read_open (a, pr, NULL, pad_read, NULL) : ARCHIVE_FATAL;
    }
  else
    opened = archive_read_open_filename (a, tar_path, 65536);
  if (opened != ARCHIVE_OK)
    {
      ret = arca_error_set (err, ARCA_ERR_INVALID, "%s", archive_error_string (a) ?: "cannot read the archive");
      goto out;
    }
  struct archive_entry *e;
  int r;
  while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
    if (untar_entry (a, e, &u, err) < 0)
      {
        ret = -1;
        goto out;
      }
  if (r != ARCHIVE_EOF)
    {
      ret = arca_error_set (err, ARCA_ERR_INVALID, "%s", archive_error_string (a) ?: "archive/tar: invalid tar header");
      goto out;
    }
  /* directory times last: their entries' creation changed them */
  for (size_t i = u.n_dirs; i-- > 0;)
    {
      _cleanup_free_ char *base = NULL;
      _cleanup_close_ int p = root_open_parent (rootfd, u.dirs[i].path, &base);
      if (p >= 0)
        {
          _cleanup_close_ int pd = openat (p, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          if (pd >= 0)
            utimensat (pd, base, u.dirs[i].times, AT_SYMLINK_NOFOLLOW);
        }
    }
out:
  for (size_t i = 0; i < u.n_dirs; i++)
    free (u.dirs[i].path);
  free (u.dirs);
  archive_read_free (a);
  if (pr)
    {
      if (pr->fd >= 0)
        close (pr->fd);
      free (pr);
    }
  return ret;
}

int
file_is_archive (int fd, arca_error_t *err)
{
  int dup_fd = dup (fd);
  if (dup_fd < 0)
    return 0;
  off_t pos = lseek (dup_fd, 0, SEEK_CUR);
  lseek (dup_fd, 0, SEEK_SET);
  struct archive *a = archive_read_new ();
  archive_read_support_filter_all (a);
  archive_read_support_format_tar (a);
  archive_read_support_format_gnutar (a);
  int ok = 0;
  if (archive_read_open_fd (a, dup_fd, 65536) == ARCHIVE_OK)
    {
      struct archive_entry *e;
      int r = archive_read_next_header (a, &e);
      ok = r == ARCHIVE_OK || r == ARCHIVE_WARN;
    }
  archive_read_free (a);
  lseek (dup_fd, pos, SEEK_SET);
  close (dup_fd);
  return ok;
}
