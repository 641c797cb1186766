/* docker cp at the container level: get hold of the container's root
 * filesystem (mounted while it runs; mounted here for a stopped one) and
 * hand an O_PATH fd of it to the in-root helpers of archive_fs.c. */
#include "engine/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/events.h"
#include "engine/internal.h"
#include "image/snapshot.h"
#include "runtime/spec.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timeutil.h"

void
arca_path_stat_clear (arca_path_stat_t *st)
{
  free (st->name);
  free (st->link_target);
  memset (st, 0, sizeof *st);
}

json_t *
arca_path_stat_json (const arca_path_stat_t *st)
{
  char mtime[64];
  time_format_rfc3339nano (st->mtime_ns, mtime, sizeof mtime);
  return json_pack ("{s:s,s:I,s:I,s:s,s:s}", "name", st->name ? st->name : "", "size", (json_int_t) st->size,
                    "mode", (json_int_t) st->mode, "mtime", mtime, "linkTarget",
                    st->link_target ? st->link_target : "");
}

/* ---- holding the rootfs ------------------------------------------------- */

typedef struct
{
  arca_engine_t *e;
  arca_container_t *c;
  int fd;         /* O_PATH fd of the mounted rootfs; keeps the mount alive even
                     if it is detached meanwhile (container exit) */
  bool counted;   /* we hold one of c->archive_mounts */
  char *dir;      /* container dir */
  char *rootfs;   /* mount point */
} rootfs_hold_t;

/* An overlay is mounted on fd (it is not the bare mount-point directory). */
static bool
fd_is_mounted (int fd, const char *container_dir)
{
  struct stat st, pst;
  return fstat (fd, &st) == 0 && stat (container_dir, &pst) == 0 && st.st_dev != pst.st_dev;
}

static void
wait_changed_locked (arca_engine_t *e, long ms)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  ts.tv_nsec += ms * 1000000L;
  ts.tv_sec += ts.tv_nsec / 1000000000L;
  ts.tv_nsec %= 1000000000L;
  pthread_cond_timedwait (&e->changed, &e->lock, &ts);
}

static void rootfs_release (rootfs_hold_t *h);

/* Concurrency: the decision to mount or unmount is taken under the engine
 * lock, looking at running/starting: container_start marks "starting"
 * under the lock before it mounts (a no-op if we already did), so the
 * last copy never unmounts under a running container, and we never mount
 * while a start is mounting.  container_handle_exit unmounts lazily; the
 * fd we hold keeps that detached mount usable until we are done. */
static int
rootfs_acquire (arca_engine_t *e, arca_container_t *c, rootfs_hold_t *h, arca_error_t *err)
{
  memset (h, 0, sizeof *h);
  h->e = e;
  h->c = c;
  h->fd = -1;
  h->dir = container_dir (e, c->id);
  h->rootfs = xasprintf ("%s/rootfs", h->dir);

  /* Layer dirs are looked up before taking the engine lock (the image
   * store calls back into the engine under its own lock). */
  _cleanup_strv_ char **lower = NULL;
  arca_error_t lerr = { 0 };
  arca_image_t *img = NULL;
  if (image_resolve (e->images, c->image_id, &img, &lerr) == 0)
    image_layer_dirs (e->images, img, &lower, &lerr);
  image_free (img);

  pthread_mutex_lock (&e->lock);
  for (int tries = 0;; tries++)
    {
      if (c->removed)
        {
          pthread_mutex_unlock (&e->lock);
          rootfs_release (h);
          return arca_error_set (err, ARCA_ERR_NOT_FOUND, "No such container: %s", c->id);
        }
      if (tries > 200)
        {
          pthread_mutex_unlock (&e->lock);
          rootfs_release (h);
          return arca_error_set (err, ARCA_ERR_INTERNAL, "container %s: root filesystem is not available",
                                 c->id);
        }
      if (c->starting)
        {
          wait_changed_locked (e, 50);
          continue;
        }
      if (c->running)
        {
          int fd = open (h->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
          if (fd >= 0 && fd_is_mounted (fd, h->dir))
            {
              h->fd = fd;
              break;
            }
          if (fd >= 0)
            close (fd);
          /* Exiting: unmounted, not yet recorded as stopped. */
          wait_changed_locked (e, 50);
          continue;
        }
      if (lower == NULL)
        {
          pthread_mutex_unlock (&e->lock);
          rootfs_release (h);
          *err = lerr;
          return -1;
        }
      _cleanup_free_ char *mp = NULL;
      if (snapshot_mount (h->dir, lower, &mp, err) < 0)
        {
          pthread_mutex_unlock (&e->lock);
          rootfs_release (h);
          return -1;
        }
      c->archive_mounts++;
      h->counted = true;
      h->fd = open (h->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (h->fd < 0 || !fd_is_mounted (h->fd, h->dir))
        {
          int saved = errno;
          pthread_mutex_unlock (&e->lock);
          rootfs_release (h);
          return arca_error_errno (err, saved, "open rootfs of %s", c->id);
        }
      break;
    }
  pthread_mutex_unlock (&e->lock);
  return 0;
}

static void
rootfs_release (rootfs_hold_t *h)
{
  if (h->fd >= 0)
    close (h->fd);
  h->fd = -1;
  if (h->counted)
    {
      arca_engine_t *e = h->e;
      arca_container_t *c = h->c;
      arca_error_t ignored;
      pthread_mutex_lock (&e->lock);
      if (--c->archive_mounts == 0 && !c->running && !c->starting && snapshot_unmount (h->dir, &ignored) < 0)
        log_warn ("container %.12s: unmount rootfs after copy: %s", c->id, ignored.msg);
      pthread_mutex_unlock (&e->lock);
      h->counted = false;
    }
  free (h->dir);
  free (h->rootfs);
  h->dir = h->rootfs = NULL;
}

static int
not_found (arca_error_t *err, int e, const char *path, const char *ref)
{
  if (e == ENOENT || e == ENOTDIR || e == ELOOP)
    return arca_error_set (err, ARCA_ERR_NOT_FOUND, "Could not find the file %s in container %s", path, ref);
  return arca_error_errno (err, e, "stat %s", path);
}

/* ---- volumes and bind mounts ------------------------------------------- */

/* Where a copy path lands: in the rootfs, or in the source directory of
 * the volume or bind mount it lies in.  dockerd mounts the container's
 * volumes over its rootfs for every copy (daemon/archive.go mountVolumes),
 * so docker cp reaches a volume of a stopped or never-started container,
 * and of a running one, whose mounts live in its own namespace. */
typedef struct
{
  int fd;          /* root to resolve abs in (rootfs fd, or an owned O_PATH fd of the mount source) */
  bool owned;
  char *abs;       /* the path inside fd's tree */
  char *name;      /* the copied item's name when in a mount (its root is named after the mount point) */
  bool in_mount;
  bool mount_rw;
} copy_target_t;

static void
copy_target_clear (copy_target_t *t)
{
  if (t->owned && t->fd >= 0)
    close (t->fd);
  free (t->abs);
  free (t->name);
  memset (t, 0, sizeof *t);
  t->fd = -1;
}

static void
copy_target_find (arca_engine_t *e, arca_container_t *c, int rootfd, const char *abs, copy_target_t *t)
{
  memset (t, 0, sizeof *t);
  t->fd = rootfd;
  pthread_mutex_lock (&e->lock);
  _cleanup_json_ json_t *mounts = json_deep_copy (c->mounts);
  pthread_mutex_unlock (&e->lock);
  const char *best_src = NULL, *best_dst = NULL;
  bool best_rw = true;
  size_t best_len = 0, i;
  json_t *mp;
  json_array_foreach (mounts, i, mp)
    {
      const char *type = json_get_str (mp, "Type"), *src = json_get_str (mp, "Source"),
                 *dst = json_get_str (mp, "Destination");
      if (!src || !*src || !dst || !*dst || (type && strcmp (type, "tmpfs") == 0))
        continue;
      size_t n = strlen (dst);
      while (n > 1 && dst[n - 1] == '/')
        n--;
      if (strncmp (abs, dst, n) != 0 || (abs[n] != '\0' && abs[n] != '/') || n <= best_len)
        continue;
      best_src = src;
      best_dst = dst;
      best_len = n;
      best_rw = json_get_bool (mp, "RW", true);
    }
  if (best_dst == NULL)
    {
      t->abs = xstrdup (abs);
      return;
    }
  int fd = open (best_src, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) /* a file bind mount, or a source gone: the rootfs as before */
    {
      t->abs = xstrdup (abs);
      return;
    }
  t->fd = fd;
  t->owned = true;
  t->abs = xstrdup (abs[best_len] ? abs + best_len : "/");
  t->name = archive_path_base (abs);
  t->in_mount = true;
  t->mount_rw = best_rw;
}

#define _cleanup_copy_target_ __attribute__ ((cleanup (copy_target_clear)))

/* ---- verbs -------------------------------------------------------------- */

int
container_archive_stat (arca_engine_t *e, arca_container_t *c, const char *ref, const char *path,
                        arca_path_stat_t *out, arca_error_t *err)
{
  rootfs_hold_t h;
  if (rootfs_acquire (e, c, &h, err) < 0)
    return -1;
  _cleanup_free_ char *abs = archive_abs_path (path);
  _cleanup_copy_target_ copy_target_t t;
  copy_target_find (e, c, h.fd, abs, &t);
  int r = archive_stat_in_root (t.fd, t.abs, t.name, out);
  int saved = errno;
  rootfs_release (&h);
  if (r < 0)
    return not_found (err, saved, path, ref);
  return 0;
}

struct arca_archive_reader
{
  rootfs_hold_t hold;
  arca_container_t *c;  /* our reference */
  copy_target_t target;
};

int
container_archive_open (arca_engine_t *e, arca_container_t *c, const char *ref, const char *path,
                        arca_archive_reader_t **out, arca_path_stat_t *st, arca_error_t *err)
{
  arca_archive_reader_t *r = xmalloc0 (sizeof *r);
  if (rootfs_acquire (e, c, &r->hold, err) < 0)
    {
      free (r);
      return -1;
    }
  container_ref (c);
  r->c = c;
  _cleanup_free_ char *abs = archive_abs_path (path);
  copy_target_find (e, c, r->hold.fd, abs, &r->target);
  if (archive_stat_in_root (r->target.fd, r->target.abs, r->target.name, st) < 0)
    {
      int saved = errno;
      container_archive_close (r);
      return not_found (err, saved, path, ref);
    }
  events_container (e, c, "archive-path", NULL); /* events */
  *out = r;
  return 0;
}

int
container_archive_write (arca_archive_reader_t *r, int (*write_fn) (void *ctx, const void *data, size_t len),
                         void *ctx, arca_error_t *err)
{
  return archive_tar_write (r->target.fd, r->target.abs, r->target.name, write_fn, ctx, err);
}

void
container_archive_close (arca_archive_reader_t *r)
{
  if (r == NULL)
    return;
  copy_target_clear (&r->target);
  rootfs_release (&r->hold);
  container_unref (r->c);
  free (r);
}

static int
extract_in (arca_engine_t *e, arca_container_t *c, rootfs_hold_t *h, const char *abs_in_rootfs,
            const char *tar_path, bool copy_uidgid, arca_extract_opts_t *o, arca_error_t *err)
{
  _cleanup_copy_target_ copy_target_t t;
  copy_target_find (e, c, h->fd, abs_in_rootfs, &t);
  const char *abs = t.abs;
  pthread_mutex_lock (&e->lock);
  bool read_only = c->opts->read_only;
  _cleanup_free_ char *user = xstrdup (c->opts->user);
  pthread_mutex_unlock (&e->lock);

  /* The destination checks first (tar_path NULL: nothing is extracted),
   * then the read-only rootfs, as dockerd orders them. */
  if (archive_tar_extract (t.fd, abs, NULL, o, err) < 0)
    return -1;
  /* moby checkIfPathIsInAVolume: a read-only mount refuses (500), a
   * writable one is written even with a read-only rootfs */
  if (t.in_mount && !t.mount_rw)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "mounted volume is marked read-only");
  if (read_only && !t.in_mount)
    return arca_error_set (err, ARCA_ERR_INVALID, "container rootfs is marked read-only");
  if (copy_uidgid && user && *user)
    {
      /* moby tarCopyOptions: everything belongs to the container's user. */
      if (spec_resolve_user (h->rootfs, user, &o->uid, &o->gid, NULL, NULL, NULL, err) < 0)
        return -1;
      o->chown = true;
    }
  return archive_tar_extract (t.fd, abs, tar_path, o, err);
}

int
container_archive_extract (arca_engine_t *e, arca_container_t *c, const char *ref, const char *path,
                           const char *tar_path, bool copy_uidgid, bool no_overwrite_dir_non_dir,
                           arca_error_t *err)
{
  rootfs_hold_t h;
  if (rootfs_acquire (e, c, &h, err) < 0)
    return -1;
  _cleanup_free_ char *abs = archive_abs_path (path);
  arca_extract_opts_t o = { .no_overwrite_dir_non_dir = no_overwrite_dir_non_dir, .ref = ref };
  int r = extract_in (e, c, &h, abs, tar_path, copy_uidgid, &o, err);
  rootfs_release (&h);
  if (r == 0)
    events_container (e, c, "extract-to-dir", NULL); /* events */
  return r;
}
