/* COPY and ADD (moby builder/dockerfile copy.go, copy_unix.go,
 * internals.go performCopy, internals_linux.go parseChownFlag): the
 * sources (context, another stage or image, a URL for ADD), their cache
 * hash, and the copy into a writable layer on the state's image, all
 * through file descriptors resolved inside their roots. */
#include "build/internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "build/fetch.h"
#include "build/fsroot.h"
#include "build/gofmt.h"
#include "build/ignore.h"
#include "image/digest.h"
#include "image/snapshot.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timeutil.h"

#define UNNAMED "__unnamed__"

/* A writable (or scratch) overlay of an image under the build's dir:
 * the destination of COPY/ADD, or a read view of a COPY --from image. */
typedef struct
{
  char *dir;    /* <build dir>/layer-XXXXXX */
  char *rootfs;
  int rootfd;
  bool mounted;
} layer_t;

static void
layer_close (layer_t *l)
{
  if (l->rootfd >= 0)
    close (l->rootfd);
  l->rootfd = -1;
  if (l->dir)
    {
      arca_error_t ignored;
      if (l->mounted)
        snapshot_unmount (l->dir, &ignored);
      l->mounted = false;
    }
}

static void
layer_free (layer_t *l)
{
  layer_close (l);
  if (l->dir)
    {
      arca_error_t ignored;
      snapshot_remove (l->dir, &ignored);
      fs_remove_all (l->dir, NULL);
    }
  free (l->dir);
  free (l->rootfs);
  memset (l, 0, sizeof *l);
  l->rootfd = -1;
}

static int
layer_open (build_t *b, const char *image_id, layer_t *l, arca_error_t *err)
{
  memset (l, 0, sizeof *l);
  l->rootfd = -1;
  l->dir = xasprintf ("%s/layer-XXXXXX", b->ctx->dir);
  if (mkdtemp (l->dir) == NULL)
    {
      int e = errno;
      free (l->dir);
      l->dir = NULL;
      return arca_error_errno (err, e, "create a layer directory");
    }
  _cleanup_strv_ char **lower = NULL;
  if (image_id && *image_id)
    {
      arca_image_t *img = NULL;
      if (image_resolve (b->images, image_id, &img, err) < 0)
        return -1;
      int r = image_layer_dirs (b->images, img, &lower, err);
      image_free (img);
      if (r < 0)
        return -1;
    }
  else
    lower = xmalloc0 (sizeof (char *));
  if (snapshot_create (l->dir, err) < 0 || snapshot_mount (l->dir, lower, &l->rootfs, err) < 0)
    return -1;
  l->mounted = true;
  l->rootfd = open (l->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (l->rootfd < 0)
    return arca_error_errno (err, errno, "open %s", l->rootfs);
  return 0;
}

/* ---- sources ------------------------------------------------------------------------ */

typedef struct
{
  int rootfd;         /* the source's root (borrowed) */
  char *path;         /* as named, relative to the root */
  char *hash;
  bool no_decompress; /* downloaded: never extracted */
} copy_info_t;

typedef struct
{
  build_t *b;
  const char *cmd;      /* "COPY" / "ADD" */
  int rootfd;           /* where sources are looked up */
  bool image_source;    /* COPY --from */
  char *image_id;
  layer_t from;         /* COPY --from view */
  char **tmp_dirs;      /* downloads */
  int *tmp_fds;
  size_t n_tmp;
  copy_info_t *infos;
  size_t n_infos;
} copier_t;

static void
copier_free (copier_t *c)
{
  for (size_t i = 0; i < c->n_infos; i++)
    {
      free (c->infos[i].path);
      free (c->infos[i].hash);
    }
  free (c->infos);
  for (size_t i = 0; i < c->n_tmp; i++)
    {
      if (c->tmp_fds[i] >= 0)
        close (c->tmp_fds[i]);
      fs_remove_all (c->tmp_dirs[i], NULL);
      free (c->tmp_dirs[i]);
    }
  free (c->tmp_dirs);
  free (c->tmp_fds);
  if (c->image_source)
    layer_free (&c->from);
  free (c->image_id);
}

static void
add_info (copier_t *c, int rootfd, const char *path, const char *hash, bool no_decompress)
{
  c->infos = xrealloc (c->infos, (c->n_infos + 1) * sizeof *c->infos);
  c->infos[c->n_infos++] = (copy_info_t) { rootfd, xstrdup (path), xstrdup (hash), no_decompress };
}

/* "/" + p cleaned, without the leading "/" ("" for the root). */
static char *
rel_clean (const char *p)
{
  _cleanup_free_ char *a = xasprintf ("/%s", p);
  _cleanup_free_ char *c = path_clean (a);
  return xstrdup (c + 1);
}

/* The path in the source root after every symlink (FollowSymlinkInScope),
 * relative, "" for the root. */
static char *
resolved_rel (int rootfd, const char *path)
{
  _cleanup_free_ char *r = root_resolve (rootfd, path);
  if (r == NULL)
    return rel_clean (path);
  return xstrdup (r + 1);
}

/* remotecontext NewFileHash: a tar header of the file (moby
 * FileInfoHeader: mode with the file type bits, no mtime) and its
 * content, for sources outside the context. */
static char *
lazy_hash (int rootfd, const char *rel)
{
  _cleanup_free_ char *res = resolved_rel (rootfd, rel);
  _cleanup_free_ char *base = NULL;
  _cleanup_close_ int parent = root_open_parent (rootfd, res, &base);
  struct stat st;
  if (parent < 0 || fstatat (parent, strcmp (base, ".") == 0 ? "" : base, &st,
                             AT_SYMLINK_NOFOLLOW | (strcmp (base, ".") == 0 ? AT_EMPTY_PATH : 0))
                        < 0)
    return xstrdup (rel);
  digest_ctx_t *d = digest_new ();
  char num[64];
#define FIELD(k, v)                                                                                                    \
  do                                                                                                                   \
    {                                                                                                                  \
      const char *_v = (v);                                                                                            \
      digest_update (d, k, strlen (k));                                                                                \
      digest_update (d, _v, strlen (_v));                                                                              \
    }                                                                                                                  \
  while (0)
  char flag = S_ISDIR (st.st_mode) ? '5' : S_ISLNK (st.st_mode) ? '2' : S_ISCHR (st.st_mode) ? '3'
              : S_ISBLK (st.st_mode) ? '4' : S_ISFIFO (st.st_mode) ? '6' : '0';
  _cleanup_free_ char *name = xstrdup (res);
  if (S_ISDIR (st.st_mode))
    {
      free (name);
      name = xasprintf ("%s/", res);
    }
  FIELD ("name", name);
  snprintf (num, sizeof num, "%lld", (long long) (st.st_mode & (S_IFMT | 07777)));
  FIELD ("mode", num);
  snprintf (num, sizeof num, "%u", st.st_uid);
  FIELD ("uid", num);
  snprintf (num, sizeof num, "%u", st.st_gid);
  FIELD ("gid", num);
  snprintf (num, sizeof num, "%lld", (long long) (S_ISREG (st.st_mode) ? st.st_size : 0));
  FIELD ("size", num);
  char tf[2] = { flag, 0 };
  FIELD ("typeflag", tf);
  char link[4096] = "";
  if (S_ISLNK (st.st_mode))
    {
      ssize_t n = readlinkat (parent, base, link, sizeof link - 1);
      link[n > 0 ? n : 0] = '\0';
    }
  FIELD ("linkname", link);
  FIELD ("uname", "");
  FIELD ("gname", "");
  snprintf (num, sizeof num, "%u", S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode) ? major (st.st_rdev) : 0);
  FIELD ("devmajor", num);
  snprintf (num, sizeof num, "%u", S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode) ? minor (st.st_rdev) : 0);
  FIELD ("devminor", num);
#undef FIELD
  if (S_ISREG (st.st_mode) && st.st_size > 0)
    {
      _cleanup_close_ int fd = openat (parent, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      char buf[65536];
      ssize_t n;
      while (fd >= 0 && (n = read (fd, buf, sizeof buf)) > 0)
        digest_update (d, buf, (size_t) n);
    }
  char out[DIGEST_BUF];
  digest_final (d, out);
  return xstrdup (digest_hex (out));
}

/* source.Hash(rel) */
static char *
source_hash (copier_t *c, int rootfd, const char *rel)
{
  if (rootfd == c->b->ctx->rootfd)
    {
      _cleanup_free_ char *res = resolved_rel (rootfd, rel);
      return xstrdup (build_context_hash (c->b->ctx, res));
    }
  return lazy_hash (rootfd, rel);
}

typedef struct
{
  char **v;
} strlist_t;

/* filepath.Walk from dir (relative, "" = root) in lexical order, not
 * following symlinks; fn gets each path relative to the root. */
static int
walk (int rootfd, const char *rel, int (*fn) (void *ctx, const char *rel, const struct stat *st), void *ctx,
      int depth)
{
  if (depth > 4096)
    return 0;
  _cleanup_free_ char *base = NULL;
  _cleanup_close_ int parent = root_open_parent (rootfd, rel, &base);
  if (parent < 0)
    return 0;
  struct stat st;
  bool is_root = strcmp (base, ".") == 0;
  if (fstatat (parent, is_root ? "" : base, &st, AT_SYMLINK_NOFOLLOW | (is_root ? AT_EMPTY_PATH : 0)) < 0)
    return 0;
  int r = fn (ctx, rel, &st);
  if (r != 0 || !S_ISDIR (st.st_mode))
    return r < 0 ? r : 0;
  int fd = is_root ? openat (parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                   : openat (parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return 0;
  DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return 0;
    }
  char **names = xmalloc0 (sizeof (char *));
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      names = strv_append (names, de->d_name);
  closedir (d);
  size_t n = strv_len (names);
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (strcmp (names[j], names[i]) < 0)
        {
          char *t = names[i];
          names[i] = names[j];
          names[j] = t;
        }
  for (size_t i = 0; i < n && r == 0; i++)
    {
      _cleanup_free_ char *child = *rel ? xasprintf ("%s/%s", rel, names[i]) : xstrdup (names[i]);
      r = walk (rootfd, child, fn, ctx, depth + 1);
    }
  strv_free (names);
  return r;
}

typedef struct
{
  copier_t *c;
  int rootfd;
  char **hashes;
} dirhash_t;

static int
dirhash_fn (void *ctx, const char *rel, const struct stat *st)
{
  dirhash_t *h = ctx;
  if (*rel == '\0')
    return 0;
  _cleanup_free_ char *x = source_hash (h->c, h->rootfd, rel);
  h->hashes = strv_append (h->hashes, x);
  return 0;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* hashStringSlice(prefix, list) */
static char *
hash_list (const char *prefix, char **list)
{
  arca_buf_t b = { 0 };
  buf_append (&b, "", 0);
  for (size_t i = 0; list && list[i]; i++)
    {
      if (i > 0)
        buf_append (&b, ",", 1);
      buf_append (&b, list[i], strlen (list[i]));
    }
  char d[DIGEST_BUF];
  digest_buf (b.data, b.len, d);
  buf_free (&b);
  return xasprintf ("%s:%s", prefix, digest_hex (d));
}

static int calc_copy_info (copier_t *c, const char *orig, bool wildcards, arca_error_t *err);

/* containsWildcards: * ? [ not escaped by a backslash */
static bool
has_wildcards (const char *p)
{
  for (size_t i = 0; p[i]; i++)
    {
      if (p[i] == '\\' && p[i + 1])
        i++;
      else if (p[i] == '*' || p[i] == '?' || p[i] == '[')
        return true;
    }
  return false;
}

typedef struct
{
  copier_t *c;
  const char *pattern;
  arca_error_t *err;
} wild_t;

static int
wild_fn (void *ctx, const char *rel, const struct stat *st)
{
  wild_t *w = ctx;
  if (*rel == '\0')
    return 0;
  if (fnmatch (w->pattern, rel, FNM_PATHNAME) != 0)
    return 0;
  return calc_copy_info (w->c, rel, false, w->err) < 0 ? -1 : 0;
}

static int
calc_copy_info (copier_t *c, const char *orig, bool wildcards, arca_error_t *err)
{
  if (!c->image_source && c->b->ctx->no_context)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "missing build context");
  const char *p = orig;
  while (*p == '/')
    p++;
  if (p[0] == '.' && p[1] == '/')
    p += 2;
  if (wildcards && has_wildcards (p))
    {
      wild_t w = { c, p, err };
      return walk (c->rootfd, "", wild_fn, &w, 0);
    }
  _cleanup_free_ char *rel = rel_clean (p);
  _cleanup_close_ int fd = fs_openat_in_root (c->rootfd, rel, O_PATH, 0);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        {
          if (!c->image_source)
            return arca_error_set (err, ARCA_ERR_INTERNAL,
                                   "file not found in build context or excluded by .dockerignore: stat %s: file does "
                                   "not exist",
                                   p);
          return arca_error_set (err, ARCA_ERR_INTERNAL, "stat %s: file does not exist", p);
        }
      return arca_error_errno (err, errno, "stat %s", p);
    }
  if (!S_ISDIR (st.st_mode))
    {
      _cleanup_free_ char *h = source_hash (c, c->rootfd, rel);
      _cleanup_free_ char *hash = xasprintf ("file:%s", h);
      add_info (c, c->rootfd, *rel ? rel : ".", hash, false);
      return 0;
    }
  /* walkSource: every path under the directory, hashed, sorted */
  _cleanup_free_ char *res = resolved_rel (c->rootfd, rel);
  dirhash_t h = { c, c->rootfd, xmalloc0 (sizeof (char *)) };
  walk (c->rootfd, res, dirhash_fn, &h, 0);
  qsort (h.hashes, strv_len (h.hashes), sizeof (char *), cmp_str);
  _cleanup_free_ char *hash = hash_list ("dir", h.hashes);
  strv_free (h.hashes);
  add_info (c, c->rootfd, *rel ? rel : ".", hash, false);
  return 0;
}

/* ---- ADD <url> ----------------------------------------------------------------------------- */

typedef struct
{
  build_t *b;
} dl_progress_t;

static void
dl_progress (void *ctx, int64_t current, int64_t total)
{
  dl_progress_t *p = ctx;
  json_t *detail = json_pack ("{s:I}", "current", (json_int_t) current);
  if (total > 0)
    json_object_set_new (detail, "total", json_integer (total));
  out_msg (p->b, json_pack ("{s:s, s:o}", "status", "Downloading", "progressDetail", detail));
}

/* getFilenameForDownload: the URL path's base name, else the
 * Content-Disposition filename. */
static char *
download_name (const char *url, const fetch_info_t *info)
{
  const char *path = strstr (url, "://");
  path = path ? strchr (path + 3, '/') : NULL;
  if (path)
    {
      size_t len = strcspn (path, "?#");
      if (len > 0 && path[len - 1] != '/')
        {
          _cleanup_free_ char *pp = strndup (path, len);
          const char *base = strrchr (pp, '/');
          base = base ? base + 1 : pp;
          if (*base)
            return xstrdup (base);
        }
    }
  const char *cd = info->content_disposition;
  const char *fn = cd ? strcasestr (cd, "filename=") : NULL;
  if (fn)
    {
      fn += 9;
      _cleanup_free_ char *v = NULL;
      if (*fn == '"')
        v = strndup (fn + 1, strcspn (fn + 1, "\""));
      else
        v = strndup (fn, strcspn (fn, "; "));
      if (*v && v[strlen (v) - 1] != '/')
        {
          const char *base = strrchr (v, '/');
          base = base ? base + 1 : v;
          if (*base && strcmp (base, ".") != 0 && strcmp (base, "..") != 0)
            return xstrdup (base);
        }
    }
  return NULL;
}

static int
download (copier_t *c, const char *url, const char *dest, arca_error_t *err)
{
  if (strcmp (c->cmd, "COPY") == 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "source can't be a URL for COPY");
  _cleanup_free_ char *dir = xasprintf ("%s/download-XXXXXX", c->b->ctx->dir);
  if (mkdtemp (dir) == NULL)
    return arca_error_errno (err, errno, "create a download directory");
  c->tmp_dirs = xrealloc (c->tmp_dirs, (c->n_tmp + 1) * sizeof (char *));
  c->tmp_fds = xrealloc (c->tmp_fds, (c->n_tmp + 1) * sizeof (int));
  c->tmp_dirs[c->n_tmp] = xstrdup (dir);
  c->tmp_fds[c->n_tmp] = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int dirfd = c->tmp_fds[c->n_tmp++];
  _cleanup_free_ char *part = xasprintf ("%s/.download", dir);
  _cleanup_close_ int fd = open (part, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 || dirfd < 0)
    return arca_error_errno (err, errno, "create %s", part);
  fetch_info_t info;
  dl_progress_t prog = { c->b };
  if (fetch_url (url, fd, &info, dl_progress, &prog, err) < 0)
    return -1;
  out_stream (c->b, "\n");
  _cleanup_free_ char *name = download_name (url, &info);
  if (name == NULL && str_has_suffix (dest, "/"))
    {
      fetch_info_clear (&info);
      return arca_error_set (err, ARCA_ERR_INTERNAL, "cannot determine filename for source %s", url);
    }
  _cleanup_free_ char *final = xasprintf ("%s/%s", dir, name ? name : UNNAMED);
  if (rename (part, final) < 0)
    {
      fetch_info_clear (&info);
      return arca_error_errno (err, errno, "rename %s", part);
    }
  /* the file's time is the Last-Modified header's (zero time without one) */
  struct timespec ts[2] = { { 0, 0 }, { 0, 0 } };
  struct tm tm = { 0 };
  if (info.last_modified && strptime (info.last_modified, "%a, %d %b %Y %H:%M:%S GMT", &tm))
    ts[0].tv_sec = ts[1].tv_sec = timegm (&tm);
  else
    ts[0].tv_sec = ts[1].tv_sec = -62135596800LL; /* Go's zero time */
  futimens (fd, ts);
  fetch_info_clear (&info);
  _cleanup_free_ char *h = lazy_hash (dirfd, name ? name : UNNAMED);
  add_info (c, dirfd, name ? name : UNNAMED, h, true);
  return 0;
}

/* ---- copying ----------------------------------------------------------------------------- */

typedef struct
{
  bool chown;         /* identity given (else the source's owners) */
  uid_t uid;
  gid_t gid;
  json_t *links;      /* "dev:ino" -> destination path, for hard links */
  int dest_rootfd;
} copy_opts_t;

static int
copy_xattrs (int src, int dst)
{
  char val[4096];
  ssize_t n = fgetxattr (src, "security.capability", val, sizeof val);
  if (n > 0)
    fsetxattr (dst, "security.capability", val, (size_t) n, 0);
  return 0;
}

static void
set_meta (int dirfd, const char *name, const struct stat *st, const copy_opts_t *o, bool chmod_too)
{
  uid_t uid = o->chown ? o->uid : st->st_uid;
  gid_t gid = o->chown ? o->gid : st->st_gid;
  if (fchownat (dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
    log_debug ("copy %s: chown: %s", name, strerror (errno));
  if (chmod_too && fchmodat (dirfd, name, st->st_mode & 07777, 0) < 0)
    log_debug ("copy %s: chmod: %s", name, strerror (errno));
  struct timespec ts[2] = { st->st_mtim, st->st_mtim };
  if (st->st_atim.tv_sec > st->st_mtim.tv_sec)
    ts[0] = st->st_atim;
  utimensat (dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

/* What is at name goes unless a directory meets a directory. */
static int
clear_for (int dirfd, const char *name, bool want_dir)
{
  struct stat st;
  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : -1;
  if (want_dir && S_ISDIR (st.st_mode))
    return 1;
  if (unlinkat (dirfd, name, S_ISDIR (st.st_mode) ? AT_REMOVEDIR : 0) == 0)
    return 0;
  /* a non-empty directory */
  _cleanup_free_ char *tmp = NULL;
  int fd = openat (dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int r = root_remove_all (fd, name);
  close (fd);
  return r;
}

static int
copy_content (int src, int dst)
{
  for (;;)
    {
      ssize_t n = sendfile (dst, src, NULL, 1 << 30);
      if (n == 0)
        return 0;
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EINVAL || errno == ENOSYS))
        break;
      if (n < 0)
        return -1;
    }
  char buf[65536];
  ssize_t n;
  while ((n = read (src, buf, sizeof buf)) > 0)
    if (write (dst, buf, (size_t) n) != n)
      return -1;
  return n < 0 ? -1 : 0;
}

/* One non-directory entry: src at (sdir, name) to (ddir, dname). */
static int
copy_entry (int sdir, const char *name, const struct stat *st, int ddir, const char *dname, const char *dpath,
            copy_opts_t *o, arca_error_t *err)
{
  if (S_ISSOCK (st->st_mode))
    return 0; /* tar skips sockets */
  if (clear_for (ddir, dname, false) < 0)
    return arca_error_errno (err, errno, "remove %s", dpath);
  if (S_ISREG (st->st_mode) && st->st_nlink > 1)
    {
      _cleanup_free_ char *key = xasprintf ("%lu:%lu", (unsigned long) st->st_dev, (unsigned long) st->st_ino);
      const char *first = json_string_value (json_object_get (o->links, key));
      if (first)
        {
          _cleanup_free_ char *fbase = NULL;
          _cleanup_close_ int fparent = root_open_parent (o->dest_rootfd, first, &fbase);
          if (fparent >= 0 && linkat (fparent, fbase, ddir, dname, 0) == 0)
            return 0;
        }
      json_object_set_new (o->links, key, json_string (dpath));
    }
  if (S_ISREG (st->st_mode))
    {
      _cleanup_close_ int in = openat (sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (in < 0)
        return arca_error_errno (err, errno, "open %s", name);
      _cleanup_close_ int out = openat (ddir, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (out < 0)
        return arca_error_errno (err, errno, "create %s", dpath);
      if (copy_content (in, out) < 0)
        return arca_error_errno (err, errno, "copy to %s", dpath);
      copy_xattrs (in, out);
    }
  else if (S_ISLNK (st->st_mode))
    {
      char target[4096];
      ssize_t n = readlinkat (sdir, name, target, sizeof target - 1);
      if (n < 0)
        return arca_error_errno (err, errno, "readlink %s", name);
      target[n] = '\0';
      if (symlinkat (target, ddir, dname) < 0)
        return arca_error_errno (err, errno, "symlink %s", dpath);
    }
  else if (mknodat (ddir, dname, st->st_mode & (S_IFMT | 07777), st->st_rdev) < 0)
    return arca_error_errno (err, errno, "mknod %s", dpath);
  set_meta (ddir, dname, st, o, !S_ISLNK (st->st_mode));
  return 0;
}

/* The contents of directory sfd into ddir (both real directory fds). */
static int
copy_tree (int sfd, int ddir, const char *dpath, copy_opts_t *o, int depth, arca_error_t *err)
{
  if (depth > 4096)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "%s: too deep", dpath);
  int dup_fd = dup (sfd);
  if (dup_fd < 0)
    return arca_error_errno (err, errno, "open %s", dpath);
  DIR *d = fdopendir (dup_fd);
  if (d == NULL)
    {
      close (dup_fd);
      return arca_error_errno (err, errno, "open %s", dpath);
    }
  rewinddir (d);
  struct dirent *de;
  int ret = 0;
  while (ret == 0 && (de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      struct stat st;
      if (fstatat (sfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      _cleanup_free_ char *child = xasprintf ("%s/%s", strcmp (dpath, "/") == 0 ? "" : dpath, de->d_name);
      if (!S_ISDIR (st.st_mode))
        {
          ret = copy_entry (sfd, de->d_name, &st, ddir, de->d_name, child, o, err);
          continue;
        }
      int c = clear_for (ddir, de->d_name, true);
      if (c < 0 || (c == 0 && mkdirat (ddir, de->d_name, 0700) < 0))
        {
          ret = arca_error_errno (err, errno, "mkdir %s", child);
          break;
        }
      _cleanup_close_ int s2 = openat (sfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      _cleanup_close_ int d2 = openat (ddir, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (s2 < 0 || d2 < 0)
        {
          ret = arca_error_errno (err, errno, "open %s", child);
          break;
        }
      ret = copy_tree (s2, d2, child, o, depth + 1, err);
      if (ret == 0)
        set_meta (ddir, de->d_name, &st, o, true);
    }
  closedir (d);
  return ret;
}

/* parseChownFlag: user[:group], names looked up in the destination's
 * /etc/passwd and /etc/group (a lone user names the group too). */
static int
lookup_id (int rootfd, const char *file, const char *name, unsigned *out, arca_error_t *err)
{
  char *end;
  unsigned long n = strtoul (name, &end, 10);
  if (*name && *end == '\0' && name[0] != '-' && name[0] != '+')
    {
      *out = (unsigned) n;
      return 0;
    }
  _cleanup_close_ int fd = fs_openat_in_root (rootfd, file, O_RDONLY, 0);
  if (fd < 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "open %s: %s", file, strerror (errno));
  FILE *f = fdopen (fd, "r");
  if (f == NULL)
    return arca_error_errno (err, errno, "open %s", file);
  fd = -1;
  char *line = NULL;
  size_t cap = 0;
  bool found = false;
  while (!found && getline (&line, &cap, f) > 0)
    {
      line[strcspn (line, "\n")] = '\0';
      char *f0 = line, *f2 = NULL;
      char *c1 = strchr (f0, ':');
      if (c1 == NULL)
        continue;
      *c1 = '\0';
      char *c2 = strchr (c1 + 1, ':');
      if (c2 == NULL)
        continue;
      f2 = c2 + 1;
      if (strcmp (f0, name) == 0)
        {
          *out = (unsigned) strtoul (f2, NULL, 10);
          found = true;
        }
    }
  free (line);
  fclose (f);
  if (!found)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "no such %s: %s", strstr (file, "passwd") ? "user" : "group", name);
  return 0;
}

static int
parse_chown (int rootfd, const char *chown, copy_opts_t *o, arca_error_t *err)
{
  _cleanup_free_ char *s = xstrdup (chown);
  char *colon = strchr (s, ':');
  if (colon && strchr (colon + 1, ':'))
    return arca_error_set (err, ARCA_ERR_INTERNAL, "invalid chown string format: %s", chown);
  const char *user = s, *group = s;
  if (colon)
    {
      *colon = '\0';
      group = colon + 1;
    }
  unsigned uid, gid;
  if (lookup_id (rootfd, "/etc/passwd", user, &uid, err) < 0)
    return arca_error_wrap (err, "can't find uid for user %s", user);
  if (lookup_id (rootfd, "/etc/group", group, &gid, err) < 0)
    return arca_error_wrap (err, "can't find gid for group %s", group);
  o->chown = true;
  o->uid = uid;
  o->gid = gid;
  return 0;
}

/* isExistingDirectory of an absolute path in the root */
static bool
is_dir_in_root (int rootfd, const char *path)
{
  _cleanup_close_ int fd = fs_openat_in_root (rootfd, path, O_PATH, 0);
  struct stat st;
  return fd >= 0 && fstat (fd, &st) == 0 && S_ISDIR (st.st_mode);
}

static int
copy_directory (int sfd, int dest_rootfd, const char *dest, copy_opts_t *o, arca_error_t *err)
{
  bool existed = is_dir_in_root (dest_rootfd, dest);
  _cleanup_close_ int dpath = root_mkdir_all (dest_rootfd, dest, 0755, NULL, err);
  if (dpath < 0)
    return arca_error_wrap (err, "failed to copy directory");
  _cleanup_close_ int dfd = openat (dpath, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return arca_error_errno (err, errno, "open %s", dest);
  if (copy_tree (sfd, dfd, dest, o, 0, err) < 0)
    return arca_error_wrap (err, "failed to copy directory");
  /* fixPermissions: the destination directory itself only when new */
  if (o->chown && !existed && fchown (dfd, o->uid, o->gid) < 0)
    log_debug ("copy %s: chown: %s", dest, strerror (errno));
  return 0;
}

static int
copy_file (int src_parent, const char *src_name, const struct stat *st, int dest_rootfd, const char *dest,
           copy_opts_t *o, arca_error_t *err)
{
  _cleanup_free_ char *dir = xstrdup (dest);
  char *slash = strrchr (dir, '/');
  const char *base = slash ? slash + 1 : dir;
  if (slash)
    *slash = '\0';
  root_owner_t own = { o->uid, o->gid };
  _cleanup_close_ int parent = root_mkdir_all (dest_rootfd, *dir ? dir : "/", 0755, o->chown ? &own : NULL, err);
  if (parent < 0)
    return arca_error_wrap (err, "failed to create new directory");
  _cleanup_close_ int pd = openat (parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pd < 0)
    return arca_error_errno (err, errno, "open %s", *dir ? dir : "/");
  if (copy_entry (src_parent, src_name, st, pd, base, dest, o, err) < 0)
    return arca_error_wrap (err, "failed to copy file");
  return 0;
}

/* performCopyForInfo */
static int
copy_info (copier_t *c, const copy_info_t *info, int dest_rootfd, const char *dest_path, bool decompress,
           copy_opts_t *o, arca_error_t *err)
{
  _cleanup_free_ char *src = resolved_rel (info->rootfd, info->path);
  _cleanup_free_ char *sbase = NULL;
  _cleanup_close_ int sparent = root_open_parent (info->rootfd, src, &sbase);
  struct stat st;
  bool is_root = sbase && strcmp (sbase, ".") == 0;
  if (sparent < 0
      || fstatat (sparent, is_root ? "" : sbase, &st, AT_SYMLINK_NOFOLLOW | (is_root ? AT_EMPTY_PATH : 0)) < 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "source path not found: %s", info->path);
  _cleanup_free_ char *resolved_dest = root_resolve (dest_rootfd, dest_path);
  if (resolved_dest == NULL)
    return arca_error_errno (err, errno, "resolve %s", dest_path);
  if (S_ISDIR (st.st_mode))
    {
      _cleanup_close_ int sfd = is_root ? openat (sparent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                                        : openat (sparent, sbase, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sfd < 0)
        return arca_error_errno (err, errno, "open %s", info->path);
      return copy_directory (sfd, dest_rootfd, resolved_dest, o, err);
    }
  if (decompress && !info->no_decompress && S_ISREG (st.st_mode))
    {
      _cleanup_close_ int fd = openat (sparent, sbase, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      int is_archive = fd >= 0 ? file_is_archive (fd, err) : 0;
      if (is_archive < 0)
        return -1;
      if (is_archive)
        {
          /* UntarPath: extracted into the destination, owners kept */
          char link[64];
          snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
          root_untar_opts_t uo = { .keep_owner = true };
          return root_untar (dest_rootfd, resolved_dest, link, &uo, err);
        }
    }
  _cleanup_free_ char *target = NULL;
  if (str_has_suffix (dest_path, "/") || is_dir_in_root (dest_rootfd, resolved_dest))
    {
      const char *b = strrchr (info->path, '/');
      b = b ? b + 1 : info->path;
      target = xasprintf ("%s/%s", strcmp (resolved_dest, "/") == 0 ? "" : resolved_dest, b);
    }
  else
    target = xstrdup (resolved_dest);
  return copy_file (sparent, sbase, &st, dest_rootfd, target, o, err);
}

static bool
is_url (const char *s)
{
  return str_has_prefix (s, "http://") || str_has_prefix (s, "https://");
}

/* d.getImageMount: a stage (by name or index) or an image */
static int
from_image (build_t *b, const char *from, char **id, arca_error_t *err)
{
  const char *ref = from;
  bool local_only = false;
  _cleanup_free_ char *lower = xstrdup (from);
  for (char *p = lower; *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  json_t *ix = json_object_get (b->stage_names, lower);
  json_t *stage = ix ? json_array_get (b->stage_flat, (size_t) json_integer_value (ix)) : NULL;
  if (stage == NULL)
    {
      char *end;
      long n = strtol (from, &end, 10);
      if (*from && *end == '\0')
        {
          if (n == (long) json_array_size (b->stage_flat))
            return arca_error_set (err, ARCA_ERR_INTERNAL, "refers to current build stage");
          if (n < 0 || n > (long) json_array_size (b->stage_flat))
            return arca_error_set (err, ARCA_ERR_INTERNAL, "index out of bounds");
          stage = json_array_get (b->stage_flat, (size_t) n);
        }
    }
  if (stage)
    {
      ref = json_get_str (stage, "Image") ?: "";
      local_only = true;
    }
  _cleanup_json_ json_t *config = NULL;
  return build_get_image (b, ref, local_only, b->o.platform, id, &config, err);
}

int
dispatch_copy (build_t *b, instr_t *ins, char **envs, arca_error_t *err)
{
  (void) envs;
  const char *cmd = ins->kind == INS_ADD ? "ADD" : "COPY";
  dstate_t *s = b->state;
  if (ins->chmod)
    return arca_error_set (err, ARCA_ERR_INTERNAL,
                           "the --chmod option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to "
                           "learn how to build images with BuildKit enabled");
  copier_t c = { .b = b, .cmd = cmd, .rootfd = b->ctx->rootfd };
  c.from.rootfd = -1;
  layer_t dest = { .rootfd = -1 };
  int ret = -1;
  _cleanup_free_ char *src_hash = NULL;
  _cleanup_free_ char *chown_comment = NULL;
  _cleanup_free_ char *comment = NULL;
  _cleanup_json_ json_t *cfg = NULL;
  _cleanup_free_ char *dest_path = NULL;
  _cleanup_free_ char *upper = NULL;
  if (ins->from)
    {
      if (from_image (b, ins->from, &c.image_id, err) < 0)
        {
          arca_error_wrap (err, "invalid from flag value %s", ins->from);
          goto out;
        }
      c.image_source = true;
      if (layer_open (b, c.image_id, &c.from, err) < 0)
        goto out;
      c.rootfd = c.from.rootfd;
    }
  size_t n = strv_len (ins->args);
  const char *dst = ins->args[n - 1];
  for (size_t i = 0; i + 1 < n; i++)
    {
      int r = is_url (ins->args[i]) ? download (&c, ins->args[i], dst, err)
                                    : calc_copy_info (&c, ins->args[i], true, err);
      if (r < 0)
        {
          arca_error_wrap (err, "%s failed", cmd);
          goto out;
        }
    }
  if (c.n_infos == 0)
    {
      arca_error_set (err, ARCA_ERR_INTERNAL, "%s failed: no source files were specified", cmd);
      goto out;
    }
  if (c.n_infos > 1 && !str_has_suffix (dst, "/"))
    {
      arca_error_set (err, ARCA_ERR_INTERNAL,
                      "When using %s with more than one source file, the destination must be a directory and end "
                      "with a /",
                      cmd);
      goto out;
    }
  /* performCopy: the cache key is the sources' hash */
  char **hashes = xmalloc0 (sizeof (char *));
  for (size_t i = 0; i < c.n_infos; i++)
    hashes = strv_append (hashes, c.infos[i].hash);
  src_hash = c.n_infos == 1 ? xstrdup (hashes[0]) : hash_list ("multi", hashes);
  strv_free (hashes);
  chown_comment = ins->chown ? xasprintf ("--chown=%s", ins->chown) : xstrdup ("");
  comment = xasprintf ("#(nop) %s %s%s in %s ", cmd, chown_comment, src_hash, dst);
  cfg = json_deep_copy (s->run_config);
  json_t *sh = state_shell (s);
  json_array_append_new (sh, json_string (comment));
  json_object_set_new (cfg, "Cmd", sh);
  int hit = step_probe (b, cfg, err);
  if (hit != 0)
    {
      ret = hit < 0 ? -1 : 0;
      goto out;
    }
  if (layer_open (b, s->image_id, &dest, err) < 0)
    goto out;
  /* normalizeDest */
  if (dst[0] == '/')
    dest_path = xstrdup (dst);
  else
    {
      _cleanup_free_ char *j = xasprintf ("/%s/%s", json_get_str (s->run_config, "WorkingDir") ?: "", dst);
      _cleanup_free_ char *cl = path_clean (j);
      dest_path = xasprintf ("%s%s", cl, str_has_suffix (dst, "/") && strcmp (cl, "/") != 0 ? "/" : "");
    }
  copy_opts_t o = { .links = json_object (), .dest_rootfd = dest.rootfd };
  if (ins->chown)
    {
      if (parse_chown (dest.rootfd, ins->chown, &o, err) < 0)
        {
          arca_error_wrap (err, "unable to convert uid/gid chown string to host mapping");
          json_decref (o.links);
          goto out;
        }
    }
  else if (!ins->from)
    o.chown = true; /* the root pair; COPY --from keeps the source's owners */
  for (size_t i = 0; i < c.n_infos; i++)
    if (copy_info (&c, &c.infos[i], dest.rootfd, dest_path, ins->kind == INS_ADD, &o, err) < 0)
      {
        arca_error_wrap (err, "failed to copy files");
        json_decref (o.links);
        goto out;
      }
  json_decref (o.links);
  /* exportImage: the layer is what the copy wrote */
  layer_close (&dest);
  upper = xasprintf ("%s/upper", dest.dir);
  ret = step_commit_upper (b, upper, cfg, err);
out:
  layer_free (&dest);
  copier_free (&c);
  return ret;
}
