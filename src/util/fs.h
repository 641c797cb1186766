/* File helpers shared by the daemon and the shim (the shim links only util).
 * Atomic writes follow moby's ioutils.AtomicWriteFile: write a temp file in
 * the same directory, fsync, rename over the target, fsync the directory. */
#ifndef ARCA_UTIL_FS_H
#define ARCA_UTIL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "util/error.h"

int fs_write_atomic (const char *path, const void *data, size_t len, mode_t mode, arca_error_t *err);
/* The same without the fsyncs: all-or-nothing against a crash of any
 * process (the page cache survives kill -9), not against power loss.  For
 * files rewritten at every container start (the bundle's config.json, the
 * shim's log config), which nothing reads after a reboot before the next
 * start rewrites them; two fsyncs less on the path of docker start. */
int fs_write_atomic_nosync (const char *path, const void *data, size_t len, mode_t mode, arca_error_t *err);
/* Read a whole file (NUL-terminated); *len optional. */
int fs_read_file (const char *path, char **data, size_t *len, arca_error_t *err);
/* mkdir -p with mode for created components. */
int fs_mkdir_p (const char *path, mode_t mode, arca_error_t *err);
/* mkdir -p, then give path itself exactly mode even if it existed before
 * (moby user.MkdirAllAndChown): how start-up tightens the directories of
 * an existing data root.  500 if path is not a directory. */
int fs_mkdir_mode (const char *path, mode_t mode, arca_error_t *err);
/* chmod every direct entry of dir whose type is type (S_IFREG, S_IFDIR)
 * to mode; symlinks are never followed.  Best effort (logs nothing):
 * tightening what an older version created. */
void fs_chmod_entries (const char *dir, mode_t type, mode_t mode);
/* rm -rf that never crosses into another mount (skips mount points). */
int fs_remove_all (const char *path, arca_error_t *err);
int fs_fsync_dir (const char *dir);

/* Open path inside the directory tree root_dir as if root_dir were "/":
 * ".." stops at it and symlinks, absolute or not, resolve inside it, so
 * nothing outside is ever reached (moby symlink.FollowSymlinkInScope;
 * openat2 RESOLVE_IN_ROOT, or a component-by-component walk on kernels
 * without it).  flags as open(2) (O_CREAT makes 0644 files).  Returns the
 * fd, or -1 with errno. */
int fs_open_in_root (const char *root_dir, const char *path, int flags);
/* The same with the root as a directory fd (O_PATH is enough) and the mode
 * of files O_CREAT makes; NULL or "" opens the root itself. */
int fs_openat_in_root (int rootfd, const char *path, int flags, mode_t mode);
/* The walk alone (what fs_open_in_root falls back to), for tests. */
int fs_open_in_root_walk (const char *root_dir, const char *path, int flags);
/* Read at most max bytes of fd into a NUL-terminated buffer; *too_big set
 * (and nothing returned) if fd holds more. */
int fs_read_fd_max (int fd, size_t max, char **data, size_t *len, bool *too_big, arca_error_t *err);

#endif
