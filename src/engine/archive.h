/* docker cp: GET/HEAD/PUT /containers/{id}/archive (moby daemon/archive.go,
 * container/archive.go, pkg/archive).
 *
 * Every path is resolved inside the container's root filesystem and never
 * leaves it: lookups go through openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) relative to an O_PATH fd of the rootfs, so a
 * symlink in the container (absolute or "../..") is followed as the
 * container itself would see it, with "/" being the container's root.
 * Tar entries are read with libarchive but written with *at() syscalls on
 * fds resolved that way, never through libarchive's path-based extraction.
 *
 * Works for running and stopped containers: a stopped container's overlay
 * is mounted for the duration of the operation (counted in the container's
 * archive_mounts, under the engine lock, so a concurrent start reuses the
 * mount and the last copy does not unmount a running container's rootfs). */
#ifndef ARCA_ENGINE_ARCHIVE_H
#define ARCA_ENGINE_ARCHIVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/container.h"
#include "engine/engine.h"
#include "util/error.h"

/* types.ContainerPathStat: the X-Docker-Container-Path-Stat header. */
typedef struct
{
  char *name;          /* base name of the requested path ("/" for the root, "." for "dir/.") */
  int64_t size;        /* lstat size, bytes */
  uint32_t mode;       /* Go os.FileMode bits (ModeDir 1<<31, ModeSymlink 1<<27, ...) | perm */
  int64_t mtime_ns;    /* nanoseconds since the epoch */
  char *link_target;   /* for a symlink: its target fully resolved in the container, absolute; else "" */
} arca_path_stat_t;

void arca_path_stat_clear (arca_path_stat_t *st);
/* {"name","size","mode","mtime" (RFC 3339 nano),"linkTarget"} in that order. */
json_t *arca_path_stat_json (const arca_path_stat_t *st);

/* HEAD /containers/{id}/archive?path=: lstat of path (its last element not
 * followed unless path ends in "/").  ref is the container reference the
 * client used (for the messages).  404 "Could not find the file <path> in
 * container <ref>". */
int container_archive_stat (arca_engine_t *e, arca_container_t *c, const char *ref, const char *path,
                            arca_path_stat_t *out, arca_error_t *err);

/* GET /containers/{id}/archive?path=: container_archive_open resolves path
 * and stats it (errors as container_archive_stat, before any byte is sent);
 * container_archive_write then produces the tar through write_fn (returns
 * 0, or -1 to stop); container_archive_close releases the rootfs.  Tar
 * naming as dockerd: the top entry is the base name of path ("." for
 * "dir/.", so the entries are the directory's contents as "./x"; "/" for
 * the root); directories end in "/"; a symlink as the last element is
 * archived as the link itself. */
typedef struct arca_archive_reader arca_archive_reader_t;
int container_archive_open (arca_engine_t *e, arca_container_t *c, const char *ref, const char *path,
                            arca_archive_reader_t **out, arca_path_stat_t *st, arca_error_t *err);
int container_archive_write (arca_archive_reader_t *r, int (*write_fn) (void *ctx, const void *data, size_t len),
                             void *ctx, arca_error_t *err);
void container_archive_close (arca_archive_reader_t *r);

/* PUT /containers/{id}/archive?path=: extract the tar in tar_path (may be
 * NULL or empty: nothing to do; compressed tars are accepted as dockerd's
 * DecompressStream does) into the directory path (every element, the last
 * one included, followed in the container).  Errors: 404 "Could not find
 * the file <path> in container <ref>"; 400 "extraction point is not a
 * directory"; 400 "container rootfs is marked read-only"; 500 for an entry
 * that would escape the destination ("\"../x\" is outside of \"/dest\"")
 * or, with no_overwrite_dir_non_dir, "cannot overwrite directory ..."/
 * "cannot overwrite non-directory ...".  Ownership: the tar's uid/gid; with
 * copy_uidgid and a Config.User, that user's uid/gid (moby
 * tarCopyOptions). */
int container_archive_extract (arca_engine_t *e, arca_container_t *c, const char *ref, const char *path,
                               const char *tar_path, bool copy_uidgid, bool no_overwrite_dir_non_dir,
                               arca_error_t *err);

/* ---- fd-level helpers (engine/archive_fs.c), independent of containers;
 * rootfd is an O_PATH (or ordinary) directory fd that plays "/". ---- */

/* The container path dockerd works with: Clean("/" + p) keeping a trailing
 * "/" or "/." of p (pkg/archive PreserveTrailingDotOrSeparator). */
char *archive_abs_path (const char *p);
/* Go filepath.Base ("/" -> "/", "/a/" -> "a", "/a/." -> "."). */
char *archive_path_base (const char *p);
/* Validate a tar entry name: Clean(name) must not climb out ("..",
 * "../x"); a leading "/" is relative to the destination as in dockerd's
 * Untar.  *rel gets the relative path ("." for the destination itself).
 * 500 "\"<clean>\" is outside of \"<dest>\"". */
int archive_entry_path_check (const char *name, const char *dest, char **rel, arca_error_t *err);

/* openat2(rootfd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
 * returns the fd or -1 with errno set. */
int archive_open_in_root (int rootfd, const char *path, int flags, mode_t mode);
/* Fully resolve path inside the root lexically as moby's
 * FollowSymlinkInScope (a missing element ends the resolution; the rest is
 * appended as is).  Returns the absolute container path (malloc'd) or NULL
 * with errno (ELOOP after 255 links). */
char *archive_resolve_in_root (int rootfd, const char *path);
/* Stat as dockerd's ResolvePath + StatPath on abs (an archive_abs_path).
 * name: the item's name (NULL: the last element of abs; a mount point
 * reached as the root of its source needs its own).  Returns 0 or -1 with
 * errno (ENOENT / ENOTDIR for a missing path). */
int archive_stat_in_root (int rootfd, const char *abs, const char *name, arca_path_stat_t *out);
/* Go os.FileMode for a st_mode. */
uint32_t archive_go_filemode (mode_t m);

/* Write the tar of abs (see container_archive_open for the naming). */
int archive_tar_write (int rootfd, const char *abs, const char *name,
                       int (*write_fn) (void *ctx, const void *data, size_t len), void *ctx, arca_error_t *err);

typedef struct
{
  bool no_overwrite_dir_non_dir;
  bool chown;       /* use uid/gid below instead of the tar's */
  uid_t uid;
  gid_t gid;
  const char *ref;  /* container ref, for messages (may be NULL) */
} arca_extract_opts_t;
/* Extract tar_path into dest (an absolute container path, fully followed;
 * errors as container_archive_extract). */
int archive_tar_extract (int rootfd, const char *dest, const char *tar_path, const arca_extract_opts_t *o,
                         arca_error_t *err);

#endif
