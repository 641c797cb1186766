/* docker diff, export and commit: walks of a container's writable layer
 * (or of a read-only overlay of its whole filesystem) that produce change
 * lists or tar streams (moby pkg/archive changes.go, archive.go with the
 * overlay whiteout format, daemon/commit.go). */
#include "engine/commit.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "build/build.h"
#include "engine/events.h"
#include "image/ref.h"
#include "engine/internal.h"
#include "util/cleanup.h"
#include "util/env.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"

static void
entry_freep (struct archive_entry **p)
{
  if (*p)
    archive_entry_free (*p);
}
#define _cleanup_entry_ __attribute__ ((cleanup (entry_freep)))

typedef enum
{
  WALK_CHANGES, /* upper dir -> change list */
  WALK_LAYER,   /* upper dir -> Docker layer tar */
  WALK_EXPORT,  /* merged filesystem -> plain tar */
} walk_mode_t;

typedef struct
{
  walk_mode_t mode;
  char **lower;        /* image layer dirs, top first (WALK_CHANGES) */
  json_t *changes;     /* WALK_CHANGES output */
  json_t *changed_dirs;
  struct archive *a;   /* WALK_LAYER / WALK_EXPORT output */
  int (*write_fn) (void *ctx, const void *data, size_t len);
  void *write_ctx;
  int out_fd;          /* WALK_LAYER writes to a file */
  arca_error_t *err;
} walk_t;

/* ---- what dockerd keeps in its init layer ---- */

/* dockerd mounts /etc/hosts, /etc/hostname, /etc/resolv.conf and the kernel
 * filesystems over paths it creates in a separate "-init" layer, so they are
 * never part of the container's changes.  Here the runtime creates those
 * mount points in the writable layer itself: leave them out. */
static bool
init_layer_path (const char *path, const struct stat *st)
{
  static const char *const files[] = { "/.dockerenv", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", NULL };
  static const char *const dirs[] = { "/dev", "/proc", "/sys", NULL };
  if (S_ISREG (st->st_mode) && st->st_size == 0)
    for (size_t i = 0; files[i]; i++)
      if (strcmp (path, files[i]) == 0)
        return true;
  if (S_ISDIR (st->st_mode))
    for (size_t i = 0; dirs[i]; i++)
      if (strcmp (path, dirs[i]) == 0)
        return true;
  return false;
}

static bool
is_whiteout (const struct stat *st)
{
  return S_ISCHR (st->st_mode) && major (st->st_rdev) == 0 && minor (st->st_rdev) == 0;
}

static bool
is_opaque (int dirfd, const char *name)
{
  _cleanup_free_ char *p = xasprintf ("/proc/self/fd/%d/%s", dirfd, name);
  char v[4];
  ssize_t n = lgetxattr (p, "trusted.overlay.opaque", v, sizeof v);
  return n == 1 && v[0] == 'y';
}

/* Names in a directory, sorted bytewise (Go's filepath.Walk order). */
static int
cmp_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static char **
read_names (int dirfd)
{
  arca_strv_builder_t b = { 0 };
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return strv_builder_finish (&b);
  DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return strv_builder_finish (&b);
    }
  struct dirent *de;
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      strv_builder_add (&b, de->d_name);
  closedir (d);
  size_t n = b.len;
  char **v = strv_builder_finish (&b);
  qsort (v, n, sizeof (char *), cmp_names);
  return v;
}

/* ---- changes ---- */

static void
add_change (walk_t *w, const char *path, int kind)
{
  json_array_append_new (w->changes, json_pack ("{s:s, s:i}", "Path", path, "Kind", kind));
}

/* A change, preceded by its not yet reported ancestors as modified. */
static void
add_with_ancestors (walk_t *w, const char *path, int kind)
{
  _cleanup_free_ char *anc = xstrdup (path);
  for (char *slash = strchr (anc + 1, '/'); slash; slash = strchr (slash + 1, '/'))
    {
      *slash = '\0';
      if (json_object_get (w->changed_dirs, anc) == NULL)
        {
          add_change (w, anc, 0);
          json_object_set_new (w->changed_dirs, anc, json_true ());
        }
      *slash = '/';
    }
  json_object_set_new (w->changed_dirs, path, json_true ());
  add_change (w, path, kind);
}

/* As dockerd's naive diff (pkg/archive changes.go ChangesDirs, the path
 * its overlay2 driver takes on kernels with redirect_dir): a path in the
 * writable layer is added unless a lower layer has it; a file there is
 * modified; a directory only when its mode or owner differ.  Every
 * ancestor of a change is reported as modified just before it. */
static void
record_change (walk_t *w, const char *path, const struct stat *st)
{
  int kind;
  if (is_whiteout (st))
    kind = 2;
  else
    {
      kind = 1;
      for (size_t i = 0; w->lower && w->lower[i]; i++)
        {
          _cleanup_free_ char *lp = xasprintf ("%s%s", w->lower[i], path);
          struct stat ls;
          if (lstat (lp, &ls) < 0)
            continue;
          if (S_ISDIR (ls.st_mode) && S_ISDIR (st->st_mode) && ls.st_mode == st->st_mode && ls.st_uid == st->st_uid
              && ls.st_gid == st->st_gid)
            return; /* only there as the parent of changes */
          kind = 0;
          break;
        }
    }
  add_with_ancestors (w, path, kind);
}

/* A directory deleted and made again (opaque): what the lower layers had
 * in it and it no longer has is deleted, as dockerd lists it. */
static void
opaque_deletions (walk_t *w, int upperfd, const char *path)
{
  _cleanup_json_ json_t *seen = json_object ();
  for (size_t i = 0; w->lower && w->lower[i]; i++)
    {
      _cleanup_free_ char *lp = xasprintf ("%s%s", w->lower[i], path);
      _cleanup_close_ int fd = open (lp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0)
        continue;
      _cleanup_strv_ char **names = read_names (fd);
      for (size_t j = 0; names[j]; j++)
        {
          struct stat st;
          if (json_object_get (seen, names[j]) || fstatat (upperfd, names[j], &st, AT_SYMLINK_NOFOLLOW) == 0)
            continue;
          if (fstatat (fd, names[j], &st, AT_SYMLINK_NOFOLLOW) == 0 && is_whiteout (&st))
            continue;
          json_object_set_new (seen, names[j], json_true ());
          _cleanup_free_ char *child = xasprintf ("%s/%s", path, names[j]);
          add_with_ancestors (w, child, 2);
        }
      int parent = open (w->lower[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      bool stop = false;
      if (parent >= 0)
        {
          _cleanup_free_ char *rel = xstrdup (path + 1);
          stop = is_opaque (parent, rel);
          close (parent);
        }
      if (stop)
        break; /* lower layers below an opaque copy are hidden too */
    }
}

/* ---- tar output ---- */

static la_ssize_t
archive_write_cb (struct archive *a, void *ctx, const void *buf, size_t len)
{
  walk_t *w = ctx;
  if (w->write_fn)
    {
      if (w->write_fn (w->write_ctx, buf, len) < 0)
        {
          archive_set_error (a, EPIPE, "client went away");
          return -1;
        }
      return (la_ssize_t) len;
    }
  const char *p = buf;
  size_t left = len;
  while (left > 0)
    {
      ssize_t n = write (w->out_fd, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          archive_set_error (a, errno, "write layer: %s", strerror (errno));
          return -1;
        }
      p += n;
      left -= (size_t) n;
    }
  return (la_ssize_t) len;
}

static int
archive_fail (walk_t *w, const char *what)
{
  return arca_error_set (w->err, ARCA_ERR_INTERNAL, "%s: %s", what, archive_error_string (w->a) ?: "tar error");
}

static int
tar_open (walk_t *w)
{
  w->a = archive_write_new ();
  /* Go's archive/tar: USTAR, PAX records only when needed; no padding of
   * the last block, so the empty layer is exactly 1024 zero bytes. */
  archive_write_set_format_pax_restricted (w->a);
  archive_write_set_bytes_per_block (w->a, 10240);
  archive_write_set_bytes_in_last_block (w->a, 1);
  if (archive_write_open2 (w->a, w, NULL, archive_write_cb, NULL, NULL) != ARCHIVE_OK)
    return archive_fail (w, "tar");
  return 0;
}

static int
tar_close (walk_t *w)
{
  int r = 0;
  if (w->a && archive_write_close (w->a) != ARCHIVE_OK)
    r = archive_fail (w, "tar");
  if (w->a)
    archive_write_free (w->a);
  w->a = NULL;
  return r;
}

/* One entry: name is relative (no leading "/"), directories end in "/". */
static int
tar_entry (walk_t *w, int dirfd, const char *fname, const char *name, const struct stat *st)
{
  _cleanup_entry_ struct archive_entry *ae = archive_entry_new ();
  archive_entry_copy_stat (ae, st);
  if (S_ISDIR (st->st_mode))
    {
      _cleanup_free_ char *dn = xasprintf ("%s/", name);
      archive_entry_copy_pathname (ae, dn);
      archive_entry_set_size (ae, 0);
    }
  else
    archive_entry_copy_pathname (ae, name);
  if (S_ISLNK (st->st_mode))
    {
      char target[PATH_MAX + 1];
      ssize_t n = readlinkat (dirfd, fname, target, PATH_MAX);
      if (n < 0)
        return arca_error_errno (w->err, errno, "readlink %s", name);
      target[n] = '\0';
      archive_entry_copy_symlink (ae, target);
      archive_entry_set_size (ae, 0);
    }
  else if (!S_ISREG (st->st_mode))
    archive_entry_set_size (ae, 0);

  int fd = -1;
  if (S_ISREG (st->st_mode))
    {
      fd = openat (dirfd, fname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return arca_error_errno (w->err, errno, "open %s", name);
      /* moby keeps file capabilities in layers. */
      char cap[256];
      _cleanup_free_ char *p = xasprintf ("/proc/self/fd/%d", fd);
      ssize_t n = getxattr (p, "security.capability", cap, sizeof cap);
      if (n > 0)
        archive_entry_xattr_add_entry (ae, "security.capability", cap, (size_t) n);
    }
  _cleanup_close_ int fdc = fd;
  if (archive_write_header (w->a, ae) != ARCHIVE_OK)
    return archive_fail (w, name);
  if (fd >= 0)
    {
      char buf[65536];
      off_t left = st->st_size;
      while (left > 0)
        {
          ssize_t n = read (fd, buf, sizeof buf < (size_t) left ? sizeof buf : (size_t) left);
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            return arca_error_errno (w->err, errno, "read %s", name);
          if (n == 0)
            {
              /* Shrank while being read: pad so the header's size holds. */
              memset (buf, 0, sizeof buf);
              n = sizeof buf < (size_t) left ? (ssize_t) sizeof buf : (ssize_t) left;
            }
          if (archive_write_data (w->a, buf, (size_t) n) < 0)
            return archive_fail (w, name);
          left -= n;
        }
    }
  return 0;
}

/* ".wh.<name>" (an empty regular file) for a whiteout, as moby's
 * overlayWhiteoutConverter writes them. */
static int
tar_marker (walk_t *w, const char *dir, const char *marker, const struct stat *st)
{
  _cleanup_entry_ struct archive_entry *ae = archive_entry_new ();
  struct stat ms = *st;
  ms.st_mode = S_IFREG | (st->st_mode & 07777);
  ms.st_size = 0;
  ms.st_rdev = 0;
  archive_entry_copy_stat (ae, &ms);
  _cleanup_free_ char *name = *dir ? xasprintf ("%s/%s", dir, marker) : xstrdup (marker);
  archive_entry_copy_pathname (ae, name);
  if (archive_write_header (w->a, ae) != ARCHIVE_OK)
    return archive_fail (w, name);
  return 0;
}

/* ---- the walk ---- */

/* A directory of the writable layer that holds nothing but the runtime's
 * mount points for /etc/hosts, /etc/hostname and /etc/resolv.conf is only
 * there because of them (overlay copied it up): dockerd keeps those in
 * its init layer, so a layer made from it leaves the directory out. */
static bool
only_init_files (int dirfd, const char *name, const char *path)
{
  if (strcmp (path, "/etc") != 0)
    return false;
  _cleanup_close_ int fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return false;
  _cleanup_strv_ char **names = read_names (fd);
  for (size_t i = 0; names[i]; i++)
    {
      struct stat st;
      _cleanup_free_ char *p = xasprintf ("%s/%s", path, names[i]);
      if (fstatat (fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0 || !init_layer_path (p, &st))
        return false;
    }
  return true;
}

/* rel: "" for the root, else "/a/b". */
static int
walk_dir (walk_t *w, int dirfd, const char *rel)
{
  _cleanup_strv_ char **names = read_names (dirfd);
  for (size_t i = 0; names[i]; i++)
    {
      struct stat st;
      if (fstatat (dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT)
            continue; /* gone while walking a running container */
          return arca_error_errno (w->err, errno, "stat %s%s", rel, names[i]);
        }
      _cleanup_free_ char *path = xasprintf ("%s/%s", rel, names[i]);
      if (w->mode != WALK_EXPORT && init_layer_path (path, &st))
        continue;
      if (w->mode == WALK_LAYER && S_ISDIR (st.st_mode) && !is_opaque (dirfd, names[i])
          && only_init_files (dirfd, names[i], path))
        continue;
      switch (w->mode)
        {
        case WALK_CHANGES:
          record_change (w, path, &st);
          break;
        case WALK_LAYER:
          if (is_whiteout (&st))
            {
              _cleanup_free_ char *wh = xasprintf (".wh.%s", names[i]);
              if (tar_marker (w, rel[0] ? rel + 1 : "", wh, &st) < 0)
                return -1;
              continue;
            }
          if (tar_entry (w, dirfd, names[i], path + 1, &st) < 0)
            return -1;
          if (S_ISDIR (st.st_mode) && is_opaque (dirfd, names[i]) && tar_marker (w, path + 1, ".wh..wh..opq", &st) < 0)
            return -1;
          break;
        case WALK_EXPORT:
          if (tar_entry (w, dirfd, names[i], path + 1, &st) < 0)
            return -1;
          break;
        }
      if (S_ISDIR (st.st_mode))
        {
          _cleanup_close_ int sub = openat (dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub < 0)
            {
              if (errno == ENOENT)
                continue;
              return arca_error_errno (w->err, errno, "open %s", path);
            }
          if (walk_dir (w, sub, path) < 0)
            return -1;
          if (w->mode == WALK_CHANGES && is_opaque (dirfd, names[i]))
            opaque_deletions (w, sub, path);
        }
    }
  return 0;
}

static int
open_dir (const char *path, arca_error_t *err)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return arca_error_errno (err, errno, "open %s", path);
  return fd;
}

/* Image ID and a copy of Config, under the lock. */
static void
snapshot_record (arca_engine_t *e, arca_container_t *c, char **image_id, json_t **config, bool *removing,
                 bool *dead)
{
  pthread_mutex_lock (&e->lock);
  *image_id = xstrdup (c->image_id);
  if (config)
    *config = container_config (c);
  if (removing)
    *removing = c->removing || c->removed;
  if (dead)
    *dead = c->dead;
  pthread_mutex_unlock (&e->lock);
}

static int
lower_dirs (arca_engine_t *e, const char *image_id, char ***out, arca_error_t *err)
{
  arca_image_t *img = NULL;
  if (image_resolve (e->images, image_id, &img, err) < 0)
    return -1;
  int r = image_layer_dirs (e->images, img, out, err);
  image_free (img);
  return r;
}

int
container_changes_json (arca_engine_t *e, arca_container_t *c, json_t **out, arca_error_t *err)
{
  _cleanup_free_ char *image_id = NULL;
  snapshot_record (e, c, &image_id, NULL, NULL, NULL);
  _cleanup_strv_ char **lower = NULL;
  if (lower_dirs (e, image_id, &lower, err) < 0)
    return -1;
  _cleanup_free_ char *dir = container_dir (e, c->id);
  _cleanup_free_ char *upper = xasprintf ("%s/upper", dir);
  _cleanup_close_ int fd = open_dir (upper, err);
  if (fd < 0)
    return -1;
  _cleanup_json_ json_t *changed_dirs = json_object ();
  walk_t w = { .mode = WALK_CHANGES, .lower = lower, .changes = json_array (), .changed_dirs = changed_dirs,
               .err = err };
  if (walk_dir (&w, fd, "") < 0)
    {
      json_decref (w.changes);
      return -1;
    }
  *out = w.changes;
  return 0;
}

/* ---- export ---- */

struct arca_export
{
  char *tmp;   /* <container-dir>/export-XXXXXX */
  char *mnt;   /* tmp/mnt */
  bool mounted;
  arca_error_t *err;
  arca_engine_t *e;     /* events: "export" once written */
  arca_container_t *c;  /* our reference */
};

void
container_export_close (arca_export_t *x)
{
  if (x == NULL)
    return;
  if (x->mounted && umount2 (x->mnt, 0) < 0 && umount2 (x->mnt, MNT_DETACH) < 0)
    log_warn ("export: unmount %s: %s", x->mnt, strerror (errno));
  arca_error_t ignored;
  if (x->tmp)
    fs_remove_all (x->tmp, &ignored);
  free (x->tmp);
  free (x->mnt);
  container_unref (x->c);
  free (x);
}

int
container_export_open (arca_engine_t *e, arca_container_t *c, arca_export_t **out, arca_error_t *err)
{
  _cleanup_free_ char *image_id = NULL;
  bool removing;
  snapshot_record (e, c, &image_id, NULL, &removing, NULL);
  _cleanup_strv_ char **lower = NULL;
  if (lower_dirs (e, image_id, &lower, err) < 0)
    return -1;
  _cleanup_free_ char *dir = container_dir (e, c->id);
  arca_export_t *x = xmalloc0 (sizeof *x);
  container_ref (c);
  x->e = e;
  x->c = c;
  x->tmp = xasprintf ("%s/export-XXXXXX", dir);
  if (mkdtemp (x->tmp) == NULL)
    {
      int en = errno;
      free (x->tmp);
      x->tmp = NULL;
      container_export_close (x);
      return arca_error_errno (err, en, "create export dir");
    }
  x->mnt = xasprintf ("%s/mnt", x->tmp);
  _cleanup_free_ char *empty = xasprintf ("%s/empty", x->tmp);
  if (mkdir (x->mnt, 0755) < 0 || mkdir (empty, 0755) < 0)
    {
      int en = errno;
      container_export_close (x);
      return arca_error_errno (err, en, "create export dir");
    }
  /* The writable layer as the top lower dir: a read-only view that needs no
   * work dir, so it can coexist with the container's own mount. */
  arca_buf_t b = { 0 };
  buf_printf (&b, "lowerdir=%s/upper", dir);
  for (size_t i = 0; lower && lower[i]; i++)
    buf_printf (&b, ":%s", lower[i]);
  if (lower == NULL || lower[0] == NULL)
    buf_printf (&b, ":%s", empty); /* overlay wants two lower dirs without an upper */
  buf_append (&b, "", 1);
  int r = mount ("overlay", x->mnt, "overlay", MS_RDONLY, b.data);
  int en = errno;
  buf_free (&b);
  if (r < 0)
    {
      container_export_close (x);
      return arca_error_errno (err, en, "mount container filesystem for export");
    }
  x->mounted = true;
  *out = x;
  return 0;
}

int
container_export_write (arca_export_t *x, int (*write_fn) (void *ctx, const void *data, size_t len), void *ctx,
                        arca_error_t *err)
{
  _cleanup_close_ int fd = open_dir (x->mnt, err);
  if (fd < 0)
    return -1;
  walk_t w = { .mode = WALK_EXPORT, .write_fn = write_fn, .write_ctx = ctx, .out_fd = -1, .err = err };
  if (tar_open (&w) < 0)
    return -1;
  int r = walk_dir (&w, fd, "");
  if (r < 0)
    {
      archive_write_fail (w.a);
      archive_write_free (w.a);
      return -1;
    }
  if (tar_close (&w) < 0)
    return -1;
  events_container (x->e, x->c, "export", NULL); /* events */
  return 0;
}

/* ---- commit ---- */

typedef struct
{
  const char *upper;
} layer_ctx_t;

static int
write_layer (void *ctx, int out_fd, arca_error_t *err)
{
  layer_ctx_t *l = ctx;
  _cleanup_close_ int fd = open_dir (l->upper, err);
  if (fd < 0)
    return -1;
  walk_t w = { .mode = WALK_LAYER, .out_fd = out_fd, .err = err };
  if (tar_open (&w) < 0)
    return -1;
  if (walk_dir (&w, fd, "") < 0)
    {
      archive_write_fail (w.a);
      archive_write_free (w.a);
      return -1;
    }
  return tar_close (&w);
}

static bool
empty_field (json_t *o, const char *key)
{
  json_t *v = json_object_get (o, key);
  return v == NULL || json_is_null (v) || (json_is_string (v) && *json_string_value (v) == '\0')
         || (json_is_array (v) && json_array_size (v) == 0) || (json_is_object (v) && json_object_size (v) == 0);
}

static void
merge_set (json_t *user, json_t *image, const char *key)
{
  json_t *iv = json_object_get (image, key);
  if (!json_is_object (iv))
    return;
  json_t *uv = json_object_get (user, key);
  if (!json_is_object (uv))
    {
      json_object_set (user, key, iv);
      return;
    }
  const char *k;
  json_t *v;
  json_object_foreach (iv, k, v)
    if (json_object_get (uv, k) == NULL)
      json_object_set (uv, k, v);
}

/* moby daemon/commit.go merge(userConf, imageConf). */
static void
merge_config (json_t *user, json_t *image)
{
  static const char *const scalars[] = { "User", "WorkingDir", "StopSignal", NULL };
  for (size_t i = 0; scalars[i]; i++)
    if (empty_field (user, scalars[i]) && json_object_get (image, scalars[i]))
      json_object_set (user, scalars[i], json_object_get (image, scalars[i]));
  merge_set (user, image, "ExposedPorts");
  merge_set (user, image, "Volumes");
  merge_set (user, image, "Labels");
  json_t *ienv = json_object_get (image, "Env");
  if (empty_field (user, "Env"))
    {
      if (json_is_array (ienv))
        json_object_set_new (user, "Env", json_deep_copy (ienv));
    }
  else
    {
      env_json_append_missing (json_object_get (user, "Env"), ienv);
    }
  if (empty_field (user, "Entrypoint"))
    {
      if (empty_field (user, "Cmd") && json_object_get (image, "Cmd"))
        json_object_set (user, "Cmd", json_object_get (image, "Cmd"));
      json_t *uep = json_object_get (user, "Entrypoint");
      if ((uep == NULL || json_is_null (uep)) && json_object_get (image, "Entrypoint"))
        json_object_set (user, "Entrypoint", json_object_get (image, "Entrypoint"));
    }
  if (json_object_get (image, "Healthcheck") && !json_object_get (user, "Healthcheck"))
    json_object_set (user, "Healthcheck", json_object_get (image, "Healthcheck"));
}

/* events: the tag a commit gave, as dockerd prints it ("img:c"), or NULL. */
static char *
commit_ref_familiar (const char *repo, const char *tag)
{
  _cleanup_free_ char *key = NULL;
  arca_error_t ignored;
  if (image_ref_repo_tag_key (repo, tag, "", &key, &ignored) < 0 || key == NULL)
    return NULL;
  return image_ref_familiar (key);
}

int
layer_tar_write_upper (const char *upper, int fd, arca_error_t *err)
{
  layer_ctx_t lc = { .upper = upper };
  return write_layer (&lc, fd, err);
}

int
container_commit_build (arca_engine_t *e, arca_container_t *c, json_t *config, json_t *container_config,
                        const char *author, char **image_id, arca_error_t *err)
{
  _cleanup_free_ char *parent = NULL;
  _cleanup_json_ json_t *ccfg = NULL;
  bool removing, dead;
  snapshot_record (e, c, &parent, &ccfg, &removing, &dead);
  if (removing || dead)
    return arca_error_set (err, ARCA_ERR_CONFLICT, "You cannot commit container %s which is %s", c->id,
                           removing ? "being removed" : "dead");
  _cleanup_free_ char *dir = container_dir (e, c->id);
  _cleanup_free_ char *upper = xasprintf ("%s/upper", dir);
  layer_ctx_t lc = { .upper = upper };
  arca_image_commit_t ic = {
    .parent_id = parent,
    .config = config,
    .container_config = container_config ? container_config : ccfg,
    .container_id = c->id,
    .author = author,
    .write_layer = write_layer,
    .ctx = &lc,
    .build_step = true,
  };
  return image_commit (e->images, &ic, image_id, err);
}

static int
commit_now (arca_engine_t *e, arca_container_t *c, const arca_commit_opts_t *o, char **image_id, arca_error_t *err)
{
  _cleanup_free_ char *parent = NULL;
  _cleanup_json_ json_t *ccfg = NULL;
  bool removing, dead;
  snapshot_record (e, c, &parent, &ccfg, &removing, &dead);
  if (removing)
    return arca_error_set (err, ARCA_ERR_CONFLICT, "You cannot commit container %s which is being removed", c->id);
  if (dead)
    return arca_error_set (err, ARCA_ERR_CONFLICT, "You cannot commit container %s which is dead", c->id);

  /* No body Config (the CLI sends none): the container's own Config is the
   * base the changes apply to, as dockerd does. */
  _cleanup_json_ json_t *config = json_deep_copy (json_is_object (o->config) ? o->config : ccfg);
  if (build_apply_changes (config, o->changes, err) < 0)
    return -1;
  merge_config (config, ccfg);

  _cleanup_free_ char *dir = container_dir (e, c->id);
  _cleanup_free_ char *upper = xasprintf ("%s/upper", dir);
  layer_ctx_t lc = { .upper = upper };
  arca_image_commit_t ic = {
    .parent_id = parent,
    .config = config,
    .container_config = ccfg,
    .container_id = c->id,
    .repo = o->repo,
    .tag = o->tag,
    .comment = o->comment,
    .author = o->author,
    .write_layer = write_layer,
    .ctx = &lc,
  };
  if (image_commit (e->images, &ic, image_id, err) < 0)
    return -1;
  /* events (moby daemon/commit.go): the image's "create" and "tag" came
   * from the image store; then the container's "commit". */
  _cleanup_free_ char *ref = commit_ref_familiar (o->repo, o->tag);
  events_container (e, c, "commit", "comment", o->comment ? o->comment : "", "imageID", *image_id, "imageRef",
                    ref ? ref : "", NULL);
  return 0;
}

int
container_commit (arca_engine_t *e, arca_container_t *c, const arca_commit_opts_t *o, char **image_id,
                  arca_error_t *err)
{
  /* moby daemon/commit.go: a running container is paused for the commit
   * (its errors ignored, as containerPause's there) and unpaused after,
   * so events read pause, commit, unpause. */
  bool paused_here = false;
  if (o->pause)
    {
      arca_error_t perr;
      paused_here = container_pause (e, c, &perr) == 0;
    }
  int r = commit_now (e, c, o, image_id, err);
  if (paused_here)
    {
      arca_error_t uerr;
      if (container_unpause (e, c, &uerr) < 0)
        log_warn ("commit %.12s: %s", c->id, uerr.msg);
    }
  return r;
}
