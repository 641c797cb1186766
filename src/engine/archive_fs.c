/* docker cp below the container level: path rules (Go's path.Clean and
 * pkg/archive's naming), lookups confined to a root directory, and the tar
 * producer / extractor working only on fds resolved inside that root.
 *
 * Why no path strings reach the kernel outside openat2(RESOLVE_IN_ROOT):
 * the container's processes can change its filesystem while we copy
 * (CVE-2018-15664, CVE-2019-14271 and friends swapped a directory for a
 * symlink between check and use).  Every multi-component lookup here is an
 * openat2 with RESOLVE_IN_ROOT relative to the rootfs fd, and every other
 * operation is a single-component *at() call on a directory fd obtained that
 * way, with O_NOFOLLOW / AT_SYMLINK_NOFOLLOW, so a swapped-in symlink is
 * either followed inside the root or not at all. */
#include "engine/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/strutil.h"
#include "util/timeutil.h"

static char *
xstrndup (const char *s, size_t n)
{
  char *r = xmalloc0 (n + 1);
  memcpy (r, s, n);
  return r;
}

/* ---- path rules -------------------------------------------------------- */


char *
archive_path_base (const char *p)
{
  if (*p == '\0')
    return xstrdup (".");
  size_t n = strlen (p);
  while (n > 0 && p[n - 1] == '/')
    n--;
  if (n == 0)
    return xstrdup ("/");
  size_t i = n;
  while (i > 0 && p[i - 1] != '/')
    i--;
  return xstrndup (p + i, n - i);
}

static bool
ends_with_slash (const char *s)
{
  size_t n = strlen (s);
  return n > 0 && s[n - 1] == '/';
}

char *
archive_abs_path (const char *p)
{
  _cleanup_free_ char *joined = xasprintf ("/%s", p);
  char *c = path_clean (joined);
  _cleanup_free_ char *ob = archive_path_base (p);
  if (strcmp (ob, ".") == 0)
    {
      char *t = xasprintf ("%s%s.", c, ends_with_slash (c) ? "" : "/");
      free (c);
      c = t;
    }
  if (!ends_with_slash (c) && ends_with_slash (p))
    {
      char *t = xasprintf ("%s/", c);
      free (c);
      c = t;
    }
  return c;
}

int
archive_entry_path_check (const char *name, const char *dest, char **rel, arca_error_t *err)
{
  _cleanup_free_ char *c = path_clean (name);
  if (strcmp (c, "..") == 0 || strncmp (c, "../", 3) == 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "\"%s\" is outside of \"%s\"", c, dest);
  const char *s = c;
  while (*s == '/')
    s++;
  *rel = xstrdup (*s ? s : ".");
  return 0;
}

/* dirname / basename of a cleaned absolute path ("/a/b" -> "/a", "b"). */
static void
split_abs (const char *p, char **dir, char **base)
{
  const char *slash = strrchr (p, '/');
  if (slash == NULL)
    {
      *dir = xstrdup ("/");
      *base = xstrdup (p);
      return;
    }
  *dir = slash == p ? xstrdup ("/") : xstrndup (p, (size_t) (slash - p));
  *base = xstrdup (slash + 1);
}

/* ---- lookups inside the root ------------------------------------------- */

int
archive_open_in_root (int rootfd, const char *path, int flags, mode_t mode)
{
  struct open_how how = {
    .flags = (uint64_t) (flags | O_CLOEXEC),
    .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  if (*path == '\0')
    path = "/";
  for (int i = 0; i < 16; i++)
    {
      long fd = syscall (SYS_openat2, rootfd, path, &how, sizeof how);
      /* EAGAIN: a rename raced with a ".." step; the kernel asks to retry. */
      if (fd >= 0 || errno != EAGAIN)
        return (int) fd;
    }
  return -1;
}

/* lstat of the cleaned absolute container path p, its parent resolved in
 * the root.  Returns 0, or -1 with errno. */
static int
lstat_in_root (int rootfd, const char *p, struct stat *st)
{
  if (strcmp (p, "/") == 0)
    return fstat (rootfd, st);
  _cleanup_free_ char *dir = NULL, *base = NULL;
  split_abs (p, &dir, &base);
  _cleanup_close_ int dfd = archive_open_in_root (rootfd, dir, O_PATH | O_DIRECTORY, 0);
  if (dfd < 0)
    return -1;
  return fstatat (dfd, base, st, AT_SYMLINK_NOFOLLOW);
}

static char *
readlink_in_root (int rootfd, const char *p)
{
  _cleanup_free_ char *dir = NULL, *base = NULL;
  split_abs (p, &dir, &base);
  _cleanup_close_ int dfd = archive_open_in_root (rootfd, dir, O_PATH | O_DIRECTORY, 0);
  if (dfd < 0)
    return NULL;
  char buf[4096];
  ssize_t n = readlinkat (dfd, base, buf, sizeof buf - 1);
  if (n < 0)
    return NULL;
  buf[n] = '\0';
  return xstrdup (buf);
}

char *
archive_resolve_in_root (int rootfd, const char *path)
{
  /* moby pkg/symlink evalSymlinksInScope, with every lstat/readlink done
   * on a parent fd resolved inside the root. */
  char *rest = xstrdup (path);
  arca_buf_t b = { 0 };
  buf_printf (&b, "%s", "");
  int links = 0;
  while (*rest)
    {
      if (links > 255)
        {
          free (rest);
          free (b.data);
          errno = ELOOP;
          return NULL;
        }
      char *slash = strchr (rest, '/');
      _cleanup_free_ char *p = slash ? xstrndup (rest, (size_t) (slash - rest)) : xstrdup (rest);
      char *next = xstrdup (slash ? slash + 1 : "");
      free (rest);
      rest = next;
      if (*p == '\0')
        continue;
      _cleanup_free_ char *joined = xasprintf ("/%s%s", b.data, p);
      _cleanup_free_ char *clean_p = path_clean (joined);
      if (strcmp (clean_p, "/") == 0)
        {
          b.len = 0;
          b.data[0] = '\0';
          continue;
        }
      struct stat st;
      if (lstat_in_root (rootfd, clean_p, &st) < 0 || !S_ISLNK (st.st_mode))
        {
          /* Missing elements are accepted as they are (moby does too). */
          buf_printf (&b, "%s/", p);
          continue;
        }
      _cleanup_free_ char *dest = readlink_in_root (rootfd, clean_p);
      links++;
      if (dest == NULL)
        {
          buf_printf (&b, "%s/", p);
          continue;
        }
      if (dest[0] == '/')
        {
          b.len = 0;
          b.data[0] = '\0';
        }
      char *np = xasprintf ("%s/%s", dest, rest);
      free (rest);
      rest = np;
    }
  free (rest);
  _cleanup_free_ char *joined = xasprintf ("/%s", b.data);
  free (b.data);
  return path_clean (joined);
}

uint32_t
archive_go_filemode (mode_t m)
{
  uint32_t r = m & 0777;
  switch (m & S_IFMT)
    {
    case S_IFDIR: r |= 1u << 31; break;
    case S_IFLNK: r |= 1u << 27; break;
    case S_IFBLK: r |= 1u << 26; break;
    case S_IFCHR: r |= (1u << 26) | (1u << 21); break;
    case S_IFIFO: r |= 1u << 25; break;
    case S_IFSOCK: r |= 1u << 24; break;
    default: break;
    }
  if (m & S_ISUID)
    r |= 1u << 23;
  if (m & S_ISGID)
    r |= 1u << 22;
  if (m & S_ISVTX)
    r |= 1u << 20;
  return r;
}

/* The item an abs path designates, as dockerd's ResolvePath: the directory
 * part is followed, the last element is not; "dir/" and "dir/." designate
 * the (followed) directory itself.  *dfd gets the parent fd (O_PATH) and
 * *leaf the last element, or *leaf = NULL and *dfd the item itself. */
static int
open_item (int rootfd, const char *abs, int *dfd, char **leaf)
{
  const char *slash = strrchr (abs, '/');
  const char *base = slash + 1;
  *leaf = NULL;
  if (*base == '\0' || strcmp (base, ".") == 0)
    {
      *dfd = archive_open_in_root (rootfd, abs, O_PATH | O_DIRECTORY, 0);
      return *dfd < 0 ? -1 : 0;
    }
  _cleanup_free_ char *dir = slash == abs ? xstrdup ("/") : xstrndup (abs, (size_t) (slash - abs));
  *dfd = archive_open_in_root (rootfd, dir, O_PATH | O_DIRECTORY, 0);
  if (*dfd < 0)
    return -1;
  *leaf = xstrdup (base);
  return 0;
}

int
archive_stat_in_root (int rootfd, const char *abs, const char *name, arca_path_stat_t *out)
{
  memset (out, 0, sizeof *out);
  _cleanup_close_ int dfd = -1;
  _cleanup_free_ char *leaf = NULL;
  if (open_item (rootfd, abs, &dfd, &leaf) < 0)
    return -1;
  struct stat st;
  if (fstatat (dfd, leaf ? leaf : "", &st, leaf ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH) < 0)
    return -1;
  out->name = name ? xstrdup (name) : archive_path_base (abs);
  out->size = st.st_size;
  out->mode = archive_go_filemode (st.st_mode);
  out->mtime_ns = (int64_t) st.st_mtim.tv_sec * ARCA_NSEC_PER_SEC + st.st_mtim.tv_nsec;
  out->link_target = NULL;
  if (S_ISLNK (st.st_mode))
    out->link_target = archive_resolve_in_root (rootfd, abs);
  if (out->link_target == NULL)
    out->link_target = xstrdup ("");
  return 0;
}

/* ---- tar producer ------------------------------------------------------- */

typedef struct
{
  dev_t dev;
  ino_t ino;
  char *name;
} seen_link_t;

typedef struct
{
  unsigned id;
  char *name;     /* NULL: no such user/group */
} id_name_t;

typedef struct
{
  struct archive *a;
  id_name_t *unames, *gnames;
  size_t n_unames, n_gnames;
  int (*write_fn) (void *ctx, const void *data, size_t len);
  void *ctx;
  bool gone;            /* the consumer stopped */
  seen_link_t *links;
  size_t n_links;
  char buf[64 * 1024];
} tar_writer_t;

static la_ssize_t
tw_write_cb (struct archive *a, void *ud, const void *buf, size_t len)
{
  tar_writer_t *t = ud;
  if (t->write_fn (t->ctx, buf, len) < 0)
    {
      t->gone = true;
      archive_set_error (a, EPIPE, "client went away");
      return -1;
    }
  return (la_ssize_t) len;
}

static int
tw_fail (tar_writer_t *t, arca_error_t *err, const char *what, const char *name)
{
  if (t->gone)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "client went away");
  return arca_error_set (err, ARCA_ERR_INTERNAL, "%s %s: %s", what, name, archive_error_string (t->a));
}

static int tw_walk (tar_writer_t *t, int dirfd, const char *prefix, arca_error_t *err);

/* User and group names as Go's archive/tar FileInfoHeader fills them in
 * dockerd: looked up on the daemon's host, cached per archive. */
static const char *
id_name (id_name_t **tab, size_t *n, unsigned id, bool group)
{
  for (size_t i = 0; i < *n; i++)
    if ((*tab)[i].id == id)
      return (*tab)[i].name;
  char buf[4096];
  char *name = NULL;
  if (group)
    {
      struct group gr, *res = NULL;
      if (getgrgid_r (id, &gr, buf, sizeof buf, &res) == 0 && res)
        name = xstrdup (res->gr_name);
    }
  else
    {
      struct passwd pw, *res = NULL;
      if (getpwuid_r (id, &pw, buf, sizeof buf, &res) == 0 && res)
        name = xstrdup (res->pw_name);
    }
  *tab = xrealloc (*tab, (*n + 1) * sizeof **tab);
  (*tab)[(*n)++] = (id_name_t){ id, name };
  return name;
}

static char *
child_name (const char *prefix, const char *leaf)
{
  return xasprintf ("%s%s%s", prefix, ends_with_slash (prefix) ? "" : "/", leaf);
}

/* Add the object dfd/leaf (leaf NULL: dfd itself, a directory) as name. */
static int
tw_add (tar_writer_t *t, int dfd, const char *leaf, const char *name, arca_error_t *err)
{
  struct stat st;
  if (fstatat (dfd, leaf ? leaf : "", &st, leaf ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH) < 0)
    {
      if (errno == ENOENT)
        return 0; /* removed meanwhile */
      return arca_error_errno (err, errno, "lstat %s", name);
    }
  if (S_ISSOCK (st.st_mode))
    return 0; /* dockerd skips sockets too */

  _cleanup_close_ int fd = -1;
  if (S_ISDIR (st.st_mode) || S_ISREG (st.st_mode))
    {
      int fl = S_ISDIR (st.st_mode) ? O_RDONLY | O_DIRECTORY : O_RDONLY;
      fd = openat (dfd, leaf ? leaf : ".", fl | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        {
          if (errno == ENOENT)
            return 0;
          return arca_error_errno (err, errno, "open %s", name);
        }
      /* What we opened is what we archive (it may have been swapped). */
      if (fstat (fd, &st) < 0)
        return arca_error_errno (err, errno, "stat %s", name);
    }

  struct archive_entry *en = archive_entry_new ();
  _cleanup_free_ char *path = S_ISDIR (st.st_mode) && !ends_with_slash (name) ? xasprintf ("%s/", name)
                                                                              : xstrdup (name);
  archive_entry_set_pathname (en, path);
  archive_entry_set_mode (en, st.st_mode);
  archive_entry_set_uid (en, st.st_uid);
  archive_entry_set_gid (en, st.st_gid);
  const char *un = id_name (&t->unames, &t->n_unames, st.st_uid, false);
  const char *gn = id_name (&t->gnames, &t->n_gnames, st.st_gid, true);
  if (un)
    archive_entry_set_uname (en, un);
  if (gn)
    archive_entry_set_gname (en, gn);
  archive_entry_set_mtime (en, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  archive_entry_set_size (en, 0);
  bool copy_data = false;
  if (S_ISREG (st.st_mode))
    {
      const char *prev = NULL;
      if (st.st_nlink > 1)
        {
          for (size_t i = 0; i < t->n_links; i++)
            if (t->links[i].dev == st.st_dev && t->links[i].ino == st.st_ino)
              prev = t->links[i].name;
          if (prev == NULL)
            {
              t->links = xrealloc (t->links, (t->n_links + 1) * sizeof *t->links);
              t->links[t->n_links++] = (seen_link_t){ st.st_dev, st.st_ino, xstrdup (path) };
            }
        }
      if (prev)
        archive_entry_set_hardlink (en, prev);
      else
        {
          archive_entry_set_size (en, st.st_size);
          copy_data = true;
        }
    }
  else if (S_ISLNK (st.st_mode))
    {
      char target[4096];
      ssize_t n = readlinkat (dfd, leaf, target, sizeof target - 1);
      if (n < 0)
        {
          archive_entry_free (en);
          return errno == ENOENT ? 0 : arca_error_errno (err, errno, "readlink %s", name);
        }
      target[n] = '\0';
      archive_entry_set_symlink (en, target);
    }
  else if (S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode))
    archive_entry_set_rdev (en, st.st_rdev);

  int r = archive_write_header (t->a, en);
  archive_entry_free (en);
  if (r < ARCHIVE_WARN)
    return tw_fail (t, err, "write header", name);

  if (copy_data)
    {
      int64_t left = st.st_size;
      while (left > 0)
        {
          size_t want = left < (int64_t) sizeof t->buf ? (size_t) left : sizeof t->buf;
          ssize_t n = read (fd, t->buf, want);
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            return arca_error_errno (err, errno, "read %s", name);
          if (n == 0)
            {
              /* Shrunk while we copy: pad to the size in the header. */
              n = (ssize_t) want;
              memset (t->buf, 0, want);
            }
          if (archive_write_data (t->a, t->buf, (size_t) n) < 0)
            return tw_fail (t, err, "write", name);
          left -= n;
        }
    }
  if (S_ISDIR (st.st_mode))
    return tw_walk (t, fd, path, err);
  return 0;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
tw_walk (tar_writer_t *t, int dirfd, const char *prefix, arca_error_t *err)
{
  int dup_fd = fcntl (dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0)
    return arca_error_errno (err, errno, "dup");
  _cleanup_closedir_ DIR *d = fdopendir (dup_fd);
  if (d == NULL)
    {
      close (dup_fd);
      return arca_error_errno (err, errno, "opendir %s", prefix);
    }
  arca_strv_builder_t b = { 0 };
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      strv_builder_add (&b, de->d_name);
    }
  size_t n = b.len;
  _cleanup_strv_ char **names = strv_builder_finish (&b);
  /* Lexical order, like Go's filepath.Walk. */
  qsort (names, n, sizeof *names, cmp_str);
  for (size_t i = 0; i < n; i++)
    {
      _cleanup_free_ char *cn = child_name (prefix, names[i]);
      if (tw_add (t, dirfd, names[i], cn, err) < 0)
        return -1;
    }
  return 0;
}

int
archive_tar_write (int rootfd, const char *abs, const char *name,
                   int (*write_fn) (void *ctx, const void *data, size_t len), void *ctx, arca_error_t *err)
{
  _cleanup_close_ int dfd = -1;
  _cleanup_free_ char *leaf = NULL;
  if (open_item (rootfd, abs, &dfd, &leaf) < 0)
    return arca_error_errno (err, errno, "open %s", abs);
  if (leaf == NULL)
    {
      /* O_PATH cannot be read: reopen the directory itself for reading. */
      int fd = openat (dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0)
        return arca_error_errno (err, errno, "open %s", abs);
      close (dfd);
      dfd = fd;
    }
  _cleanup_free_ char *top = name ? xstrdup (name) : archive_path_base (abs);

  tar_writer_t *t = xmalloc0 (sizeof *t);
  t->write_fn = write_fn;
  t->ctx = ctx;
  t->a = archive_write_new ();
  archive_write_set_format_pax_restricted (t->a);
  archive_write_set_bytes_per_block (t->a, 10240);
  int r = -1;
  if (archive_write_open (t->a, t, NULL, tw_write_cb, NULL) != ARCHIVE_OK)
    tw_fail (t, err, "open", "archive");
  else if (tw_add (t, dfd, leaf, top, err) == 0)
    {
      if (archive_write_close (t->a) != ARCHIVE_OK)
        tw_fail (t, err, "close", "archive");
      else
        r = 0;
    }
  archive_write_free (t->a);
  for (size_t i = 0; i < t->n_links; i++)
    free (t->links[i].name);
  free (t->links);
  for (size_t i = 0; i < t->n_unames; i++)
    free (t->unames[i].name);
  for (size_t i = 0; i < t->n_gnames; i++)
    free (t->gnames[i].name);
  free (t->unames);
  free (t->gnames);
  free (t);
  return r;
}

/* ---- extraction --------------------------------------------------------- */

/* rm -rf of dfd/name without following symlinks. */
static int
remove_all_at (int dfd, const char *name)
{
  struct stat st;
  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : -1;
  if (!S_ISDIR (st.st_mode))
    return unlinkat (dfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
  int fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return -1;
    }
  struct dirent *de;
  int r = 0;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (remove_all_at (fd, de->d_name) < 0)
        r = -1;
    }
  closedir (d);
  if (r < 0)
    return -1;
  return unlinkat (dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -1 : 0;
}

/* O_PATH fd of the directory p (absolute container path), creating missing
 * elements with mode 0755 as dockerd's MkdirAll for entry parents. */
static int
mkdir_all_in_root (int rootfd, const char *p)
{
  int fd = archive_open_in_root (rootfd, p, O_PATH | O_DIRECTORY, 0);
  if (fd >= 0 || errno != ENOENT || strcmp (p, "/") == 0)
    return fd;
  _cleanup_free_ char *dir = NULL, *base = NULL;
  split_abs (p, &dir, &base);
  _cleanup_close_ int pfd = mkdir_all_in_root (rootfd, dir);
  if (pfd < 0)
    return -1;
  if (mkdirat (pfd, base, 0755) < 0 && errno != EEXIST)
    return -1;
  return archive_open_in_root (rootfd, p, O_PATH | O_DIRECTORY, 0);
}

typedef struct
{
  char *path;
  struct timespec ts[2];
} dir_time_t;

typedef struct
{
  int rootfd;
  const char *dest;       /* as requested (messages) */
  char *dest_real;        /* fully resolved in the root */
  const arca_extract_opts_t *o;
  struct archive *a;
  dir_time_t *dirs;
  size_t n_dirs;
} extractor_t;

static int
ex_errno (arca_error_t *err, int e, const char *what, const char *path)
{
  return arca_error_set (err, ARCA_ERR_INTERNAL, "%s %s: %s", what, path, strerror (e));
}

/* fchown + fchmod + futimens on an fd we hold: nothing is looked up by
 * name again, so a swapped-in symlink cannot redirect them. */
static int
apply_meta_fd (int fd, uid_t uid, gid_t gid, mode_t perm, const struct timespec *ts, const char *path,
               arca_error_t *err)
{
  if (fchown (fd, uid, gid) < 0)
    return ex_errno (err, errno, "lchown", path);
  /* After chown, which clears set-id bits. */
  if (fchmod (fd, perm) < 0)
    return ex_errno (err, errno, "chmod", path);
  if (ts && futimens (fd, ts) < 0)
    return ex_errno (err, errno, "chtimes", path);
  return 0;
}

static int
copy_file_data (extractor_t *x, int fd, const char *path, arca_error_t *err)
{
  for (;;)
    {
      const void *buf;
      size_t size;
      la_int64_t off;
      int r = archive_read_data_block (x->a, &buf, &size, &off);
      if (r == ARCHIVE_EOF)
        return 0;
      if (r < ARCHIVE_WARN)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "read %s: %s", path, archive_error_string (x->a));
      const char *p = buf;
      while (size > 0)
        {
          ssize_t w = pwrite (fd, p, size, off);
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            return ex_errno (err, errno, "write", path);
          p += w;
          off += w;
          size -= (size_t) w;
        }
    }
}

static int
extract_entry (extractor_t *x, struct archive_entry *en, arca_error_t *err)
{
  const char *name = archive_entry_pathname (en);
  if (name == NULL)
    return 0;
  _cleanup_free_ char *rel = NULL;
  if (archive_entry_path_check (name, x->dest, &rel, err) < 0)
    return -1;
  const char *hardlink = archive_entry_hardlink (en);
  mode_t type = archive_entry_filetype (en);
  bool is_dir = hardlink == NULL && type == AE_IFDIR;
  if (strcmp (rel, ".") == 0)
    {
      /* The destination itself: dockerd merges (skips) a directory. */
      if (is_dir)
        return 0;
      return arca_error_set (err, ARCA_ERR_INVALID, "cannot overwrite directory \"%s\" with non-directory \"%s\"",
                             x->dest, x->dest);
    }
  _cleanup_free_ char *full_raw = xasprintf ("%s/%s", x->dest_real, rel);
  _cleanup_free_ char *full = path_clean (full_raw);
  _cleanup_free_ char *dir = NULL, *leaf = NULL;
  split_abs (full, &dir, &leaf);

  _cleanup_close_ int pfd = mkdir_all_in_root (x->rootfd, dir);
  if (pfd < 0)
    return ex_errno (err, errno, "mkdir", dir);

  struct stat st;
  if (fstatat (pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      if (x->o->no_overwrite_dir_non_dir && S_ISDIR (st.st_mode) && !is_dir)
        return arca_error_set (err, ARCA_ERR_INTERNAL,
                               "cannot overwrite directory \"%s\" with non-directory \"%s\"", full, x->dest);
      if (x->o->no_overwrite_dir_non_dir && !S_ISDIR (st.st_mode) && is_dir)
        return arca_error_set (err, ARCA_ERR_INTERNAL,
                               "cannot overwrite non-directory \"%s\" with directory \"%s\"", full, x->dest);
      if (!(S_ISDIR (st.st_mode) && is_dir) && remove_all_at (pfd, leaf) < 0)
        return ex_errno (err, errno, "remove", full);
    }

  uid_t uid = x->o->chown ? x->o->uid : (uid_t) archive_entry_uid (en);
  gid_t gid = x->o->chown ? x->o->gid : (gid_t) archive_entry_gid (en);
  mode_t perm = archive_entry_perm (en) & 07777;
  struct timespec ts[2];
  ts[1].tv_sec = archive_entry_mtime (en);
  ts[1].tv_nsec = archive_entry_mtime_nsec (en);
  if (archive_entry_atime_is_set (en))
    {
      ts[0].tv_sec = archive_entry_atime (en);
      ts[0].tv_nsec = archive_entry_atime_nsec (en);
    }
  else
    ts[0] = ts[1];

  if (hardlink)
    {
      _cleanup_free_ char *trel = NULL;
      if (archive_entry_path_check (hardlink, x->dest, &trel, err) < 0)
        return -1;
      _cleanup_free_ char *traw = xasprintf ("%s/%s", x->dest_real, trel);
      _cleanup_free_ char *target = path_clean (traw);
      _cleanup_free_ char *tdir = NULL, *tleaf = NULL;
      split_abs (target, &tdir, &tleaf);
      _cleanup_close_ int tfd = archive_open_in_root (x->rootfd, tdir, O_PATH | O_DIRECTORY, 0);
      if (tfd < 0 || linkat (tfd, tleaf, pfd, leaf, 0) < 0)
        return ex_errno (err, errno, "link", full);
      return 0;
    }

  switch (type)
    {
    case AE_IFDIR:
      {
        if (mkdirat (pfd, leaf, 0700) < 0 && errno != EEXIST)
          return ex_errno (err, errno, "mkdir", full);
        _cleanup_close_ int fd = openat (pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
          return ex_errno (err, errno, "open", full);
        if (apply_meta_fd (fd, uid, gid, perm, NULL, full, err) < 0)
          return -1;
        /* Times last, once the entries inside stop touching it. */
        x->dirs = xrealloc (x->dirs, (x->n_dirs + 1) * sizeof *x->dirs);
        x->dirs[x->n_dirs].path = xstrdup (full);
        memcpy (x->dirs[x->n_dirs].ts, ts, sizeof ts);
        x->n_dirs++;
        return 0;
      }
    case AE_IFREG:
      {
        _cleanup_close_ int fd = openat (pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
          return ex_errno (err, errno, "open", full);
        if (copy_file_data (x, fd, full, err) < 0)
          return -1;
        if (archive_entry_size_is_set (en) && ftruncate (fd, archive_entry_size (en)) < 0)
          return ex_errno (err, errno, "truncate", full);
        return apply_meta_fd (fd, uid, gid, perm, ts, full, err);
      }
    case AE_IFLNK:
      {
        const char *target = archive_entry_symlink (en);
        if (target == NULL)
          target = "";
        if (symlinkat (target, pfd, leaf) < 0)
          return ex_errno (err, errno, "symlink", full);
        if (fchownat (pfd, leaf, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
          return ex_errno (err, errno, "lchown", full);
        if (utimensat (pfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0)
          return ex_errno (err, errno, "chtimes", full);
        return 0;
      }
    case AE_IFIFO:
    case AE_IFCHR:
    case AE_IFBLK:
      {
        dev_t rdev = type == AE_IFIFO ? 0 : archive_entry_rdev (en);
        if (mknodat (pfd, leaf, type | 0600, rdev) < 0)
          return ex_errno (err, errno, "mknod", full);
        if (fchownat (pfd, leaf, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
          return ex_errno (err, errno, "lchown", full);
        /* glibc implements AT_SYMLINK_NOFOLLOW through an O_PATH fd and
         * refuses symlinks, so this cannot be redirected either. */
        if (fchmodat (pfd, leaf, perm, AT_SYMLINK_NOFOLLOW) < 0)
          return ex_errno (err, errno, "chmod", full);
        if (utimensat (pfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0)
          return ex_errno (err, errno, "chtimes", full);
        return 0;
      }
    default:
      return 0; /* sockets and unknown types: skipped */
    }
}

int
archive_tar_extract (int rootfd, const char *dest, const char *tar_path, const arca_extract_opts_t *o,
                     arca_error_t *err)
{
  _cleanup_close_ int dfd = archive_open_in_root (rootfd, dest, O_PATH, 0);
  if (dfd < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
        return arca_error_set (err, ARCA_ERR_NOT_FOUND, "Could not find the file %s in container %s", dest,
                               o->ref ? o->ref : "");
      return arca_error_errno (err, errno, "open %s", dest);
    }
  struct stat st;
  if (fstat (dfd, &st) < 0)
    return arca_error_errno (err, errno, "stat %s", dest);
  if (!S_ISDIR (st.st_mode))
    return arca_error_set (err, ARCA_ERR_INVALID, "extraction point is not a directory");
  if (tar_path == NULL)
    return 0;
  struct stat tst;
  if (stat (tar_path, &tst) < 0)
    return arca_error_errno (err, errno, "stat %s", tar_path);
  if (tst.st_size == 0)
    return 0;

  extractor_t x = { .rootfd = rootfd, .dest = dest, .o = o };
  x.dest_real = archive_resolve_in_root (rootfd, dest);
  if (x.dest_real == NULL)
    return arca_error_errno (err, errno, "resolve %s", dest);
  x.a = archive_read_new ();
  archive_read_support_filter_all (x.a);
  archive_read_support_format_tar (x.a);
  int r = 0;
  if (archive_read_open_filename (x.a, tar_path, 64 * 1024) != ARCHIVE_OK)
    r = arca_error_set (err, ARCA_ERR_INVALID, "Error processing tar file(%s)", archive_error_string (x.a));
  while (r == 0)
    {
      struct archive_entry *en;
      int h = archive_read_next_header (x.a, &en);
      if (h == ARCHIVE_EOF)
        break;
      if (h < ARCHIVE_WARN)
        {
          r = arca_error_set (err, ARCA_ERR_INTERNAL, "Error processing tar file(%s)", archive_error_string (x.a));
          break;
        }
      r = extract_entry (&x, en, err);
    }
  archive_read_free (x.a);
  /* Directory times once everything inside is written (dockerd too). */
  for (size_t i = 0; i < x.n_dirs; i++)
    {
      if (r == 0)
        {
          int fd = archive_open_in_root (rootfd, x.dirs[i].path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
          if (fd >= 0)
            {
              futimens (fd, x.dirs[i].ts);
              close (fd);
            }
        }
      free (x.dirs[i].path);
    }
  free (x.dirs);
  free (x.dest_real);
  return r;
}
