#include "image/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"
#include "util/strutil.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define IO_BUF (1 << 17)

/* ---- reader chain ------------------------------------------------------
 * file --(src_read, hashes blob bytes)--> outer archive (filters + "raw"
 * format = decompressor) --(mid_read, hashes uncompressed bytes)--> inner
 * archive (tar).  The outer stage exists only to see the uncompressed
 * stream, whose digest is the diff ID. */

typedef struct
{
  int fd;
  digest_ctx_t *blob;
  char *buf;
} src_t;

typedef struct
{
  struct archive *outer;
  digest_ctx_t *diff;
  char *buf;
  bool eof;
  bool failed;
} mid_t;

static la_ssize_t
src_read (struct archive *a, void *ud, const void **out)
{
  src_t *s = ud;
  for (;;)
    {
      ssize_t n = read (s->fd, s->buf, IO_BUF);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          archive_set_error (a, errno, "read layer");
          return -1;
        }
      if (s->blob)
        digest_update (s->blob, s->buf, (size_t) n);
      *out = s->buf;
      return n;
    }
}

static la_ssize_t
mid_read (struct archive *a, void *ud, const void **out)
{
  mid_t *m = ud;
  if (m->eof)
    return 0;
  la_ssize_t n = archive_read_data (m->outer, m->buf, IO_BUF);
  if (n < 0)
    {
      m->failed = true;
      archive_set_error (a, EIO, "%s", archive_error_string (m->outer));
      return -1;
    }
  if (n == 0)
    m->eof = true;
  if (m->diff)
    digest_update (m->diff, m->buf, (size_t) n);
  *out = m->buf;
  return n;
}

/* ---- whiteouts --------------------------------------------------------- */

/* Open the directory holding rel (relative, already free of "..") below
 * rootfd without following symlinks, creating missing directories; *base
 * points at the last component inside rel. */
static int
open_parent_nofollow (int rootfd, const char *rel, const char **base, arca_error_t *err)
{
  _cleanup_free_ char *copy = xstrdup (rel);
  int fd = dup (rootfd);
  char *save = NULL;
  const char *last = strrchr (rel, '/');
  *base = last ? last + 1 : rel;
  if (last == NULL)
    return fd;
  copy[last - rel] = '\0';
  for (char *comp = strtok_r (copy, "/", &save); comp; comp = strtok_r (NULL, "/", &save))
    {
      if (strcmp (comp, ".") == 0)
        continue;
      int next = openat (fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0 && errno == ENOENT)
        {
          if (mkdirat (fd, comp, 0755) < 0 && errno != EEXIST)
            {
              close (fd);
              return arca_error_errno (err, errno, "mkdir %s", comp);
            }
          next = openat (fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
      if (next < 0)
        {
          int e = errno;
          close (fd);
          return arca_error_set (err, ARCA_ERR_INVALID, "invalid whiteout %s: %s", rel, strerror (e));
        }
      close (fd);
      fd = next;
    }
  return fd;
}

/* Returns 1 if the entry was a whiteout (handled), 0 if it is an ordinary
 * entry, -1 on error. */
static int
handle_whiteout (const char *path, arca_error_t *err)
{
  while (path[0] == '.' && path[1] == '/')
    path += 2;
  while (path[0] == '/')
    path++;
  const char *slash = strrchr (path, '/');
  const char *name = slash ? slash + 1 : path;
  if (!str_has_prefix (name, WHITEOUT_PREFIX))
    return 0;
  /* The ".." check mirrors SECURE_NODOTDOT for the paths we handle. */
  for (const char *p = path; (p = strstr (p, "..")) != NULL; p += 2)
    if ((p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
      return arca_error_set (err, ARCA_ERR_INVALID, "invalid whiteout path %s", path);

  const char *base;
  /* The thread's cwd is the layer root (see job_thread). */
  _cleanup_close_ int rootfd = open (".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return arca_error_errno (err, errno, "open layer root");
  _cleanup_close_ int dirfd = open_parent_nofollow (rootfd, path, &base, err);
  if (dirfd < 0)
    return -1;
  if (strcmp (base, WHITEOUT_OPAQUE) == 0)
    {
      if (fsetxattr (dirfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
        return arca_error_errno (err, errno, "set opaque xattr for %s", path);
      return 1;
    }
  if (str_has_prefix (base, WHITEOUT_PREFIX WHITEOUT_PREFIX))
    return 1; /* other AUFS metadata (.wh..wh.plnk, ...): not part of the tree */
  const char *target = base + strlen (WHITEOUT_PREFIX);
  if (*target == '\0' || strcmp (target, ".") == 0 || strcmp (target, "..") == 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid whiteout %s", path);
  struct stat st;
  if (fstatat (dirfd, target, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      if (S_ISDIR (st.st_mode))
        return arca_error_set (err, ARCA_ERR_INVALID, "whiteout %s hides a directory of the same layer", path);
      unlinkat (dirfd, target, 0);
    }
  if (mknodat (dirfd, target, S_IFCHR | 0000, makedev (0, 0)) < 0)
    return arca_error_errno (err, errno, "create whiteout for %s", path);
  return 1;
}

/* ---- extraction ------------------------------------------------------- */

typedef struct
{
  const char *tar_path;
  const char *dest;
  bool layer; /* hash + whiteouts + owners */
  layer_stat_t *st;
  arca_error_t err;
  int ret;
} job_t;

static int
copy_data (struct archive *in, struct archive *out, arca_error_t *err)
{
  const void *buf;
  size_t size;
  la_int64_t off;
  for (;;)
    {
      int r = archive_read_data_block (in, &buf, &size, &off);
      if (r == ARCHIVE_EOF)
        return 0;
      if (r < ARCHIVE_WARN)
        return arca_error_set (err, ARCA_ERR_INVALID, "read layer: %s", archive_error_string (in));
      if (archive_write_data_block (out, buf, size, off) < ARCHIVE_WARN)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "write layer: %s", archive_error_string (out));
    }
}

/* An image archive (docker load) holds files, directories and links only:
 * a FIFO would block whoever reads it, a device node would read as the
 * host's device, and a sparse entry makes a huge file from a small
 * upload.  Layers are not checked here: a root filesystem may hold all of
 * them. */
static int
archive_entry_allowed (struct archive_entry *e, const char *path, arca_error_t *err)
{
  mode_t t = archive_entry_filetype (e);
  if (archive_entry_hardlink (e) == NULL && t != AE_IFREG && t != AE_IFDIR && t != AE_IFLNK)
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "invalid archive: %s is not a regular file, a directory or a link", path);
  if (archive_entry_sparse_count (e) > 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid archive: %s is a sparse file", path);
  return 0;
}

static int
run_job (job_t *j)
{
  arca_error_t *err = &j->err;
  int ret = -1;
  struct archive *outer = NULL, *in = NULL, *out = NULL;
  src_t src = { .fd = -1 };
  mid_t mid = { 0 };

  src.fd = open (j->tar_path, O_RDONLY | O_CLOEXEC);
  if (src.fd < 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "open %s: %s", j->tar_path, strerror (errno));
  src.buf = xmalloc0 (IO_BUF);
  mid.buf = xmalloc0 (IO_BUF);
  if (j->layer)
    {
      src.blob = digest_new ();
      mid.diff = digest_new ();
    }

  outer = archive_read_new ();
  archive_read_support_filter_all (outer);
  archive_read_support_format_raw (outer);
  archive_read_support_format_empty (outer);
  struct archive_entry *e;
  int r = archive_read_open (outer, &src, NULL, src_read, NULL);
  if (r == ARCHIVE_OK)
    r = archive_read_next_header (outer, &e);
  if (r == ARCHIVE_EOF)
    mid.eof = true; /* empty file: an empty layer */
  else if (r != ARCHIVE_OK)
    {
      arca_error_set (err, ARCA_ERR_INVALID, "invalid tar archive: %s", archive_error_string (outer));
      goto out;
    }
  mid.outer = outer;
  if (j->st)
    {
      switch (archive_filter_code (outer, 0))
        {
        case ARCHIVE_FILTER_GZIP:
          j->st->media_type = "application/vnd.docker.image.rootfs.diff.tar.gzip";
          break;
        case ARCHIVE_FILTER_ZSTD:
          j->st->media_type = "application/vnd.oci.image.layer.v1.tar+zstd";
          break;
        case ARCHIVE_FILTER_NONE:
          j->st->media_type = "application/vnd.docker.image.rootfs.diff.tar";
          break;
        default:
          j->st->media_type = "application/vnd.oci.image.layer.v1.tar";
        }
    }

  in = archive_read_new ();
  archive_read_support_format_tar (in);
  archive_read_support_format_gnutar (in);
  archive_read_support_format_empty (in);
  if (archive_read_open (in, &mid, NULL, mid_read, NULL) != ARCHIVE_OK)
    {
      arca_error_set (err, ARCA_ERR_INVALID, "invalid tar archive: %s", archive_error_string (in));
      goto out;
    }

  int flags = ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT
              | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_UNLINK;
  if (j->layer)
    flags |= ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR;
  if (j->dest)
    {
      out = archive_write_disk_new ();
      archive_write_disk_set_options (out, flags);
    }

  int64_t size = 0;
  for (;;)
    {
      r = archive_read_next_header (in, &e);
      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        {
          arca_error_set (err, ARCA_ERR_INVALID, "invalid tar archive: %s", archive_error_string (in));
          goto out;
        }
      const char *path = archive_entry_pathname (e);
      if (path == NULL)
        continue;
      if (archive_entry_filetype (e) == AE_IFREG && archive_entry_hardlink (e) == NULL)
        size += archive_entry_size (e);
      /* dockerd's DiffSize (directory.Size) counts a symlink's own size,
       * the length of its target, too. */
      else if (archive_entry_filetype (e) == AE_IFLNK && archive_entry_symlink (e))
        size += (int64_t) strlen (archive_entry_symlink (e));
      if (out == NULL)
        continue; /* hash only: the data is skipped (and still hashed) */
      if (!j->layer && archive_entry_allowed (e, path, err) < 0)
        goto out;
      if (j->layer)
        {
          int w = handle_whiteout (path, err);
          if (w < 0)
            goto out;
          if (w > 0)
            continue;
        }
      r = archive_write_header (out, e);
      if (r < ARCHIVE_WARN)
        {
          arca_error_set (err, ARCA_ERR_INVALID, "%sextract %s: %s", j->layer ? "" : "invalid archive: ", path,
                          archive_error_string (out));
          goto out;
        }
      if (r == ARCHIVE_WARN)
        log_debug ("extract %s: %s", path, archive_error_string (out));
      if (archive_entry_size (e) > 0 && copy_data (in, out, err) < 0)
        goto out;
      if (archive_write_finish_entry (out) < ARCHIVE_WARN)
        {
          arca_error_set (err, ARCA_ERR_INTERNAL, "extract %s: %s", path, archive_error_string (out));
          goto out;
        }
    }
  if (out && archive_write_close (out) < ARCHIVE_WARN)
    {
      arca_error_set (err, ARCA_ERR_INTERNAL, "extract: %s", archive_error_string (out));
      goto out;
    }

  if (j->layer)
    {
      /* Hash what follows the tar's end marker too: the digests cover the
       * whole stream, as the registry and docker save computed them. */
      const void *buf;
      while (!mid.eof && mid_read (in, &mid, &buf) > 0)
        ;
      if (mid.failed)
        {
          arca_error_set (err, ARCA_ERR_INVALID, "invalid layer: %s", archive_error_string (outer));
          goto out;
        }
      for (;;)
        {
          la_ssize_t n = src_read (outer, &src, &buf);
          if (n <= 0)
            break;
        }
      digest_final (src.blob, j->st->blob_digest);
      src.blob = NULL;
      digest_final (mid.diff, j->st->diff_id);
      mid.diff = NULL;
      j->st->size = size;
    }
  ret = 0;
out:
  if (out)
    archive_write_free (out);
  if (in)
    archive_read_free (in);
  if (outer)
    archive_read_free (outer);
  digest_free (src.blob);
  digest_free (mid.diff);
  free (src.buf);
  free (mid.buf);
  close (src.fd);
  return ret;
}

static void *
job_thread (void *arg)
{
  job_t *j = arg;
  j->ret = -1;
  if (j->dest)
    {
      /* Private cwd and umask for this thread only. */
      if (unshare (CLONE_FS) < 0)
        {
          arca_error_errno (&j->err, errno, "unshare(CLONE_FS)");
          return NULL;
        }
      if (chdir (j->dest) < 0)
        {
          arca_error_errno (&j->err, errno, "chdir %s", j->dest);
          return NULL;
        }
      umask (0);
    }
  j->ret = run_job (j);
  return NULL;
}

static int
run_in_thread (job_t *j, arca_error_t *err)
{
  pthread_t t;
  int e = pthread_create (&t, NULL, job_thread, j);
  if (e != 0)
    return arca_error_errno (err, e, "create extraction thread");
  pthread_join (t, NULL);
  if (j->ret < 0)
    {
      if (err)
        *err = j->err;
      return -1;
    }
  return 0;
}

int
layer_unpack (const char *tar_path, const char *dest, layer_stat_t *st, arca_error_t *err)
{
  job_t j = { .tar_path = tar_path, .dest = dest, .layer = true, .st = st };
  memset (st, 0, sizeof *st);
  return run_in_thread (&j, err);
}

int
archive_extract_secure (const char *tar_path, const char *dest, arca_error_t *err)
{
  job_t j = { .tar_path = tar_path, .dest = dest, .layer = false };
  return run_in_thread (&j, err);
}
