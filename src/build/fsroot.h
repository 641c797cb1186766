/* File operations confined to a root directory, for the build context
 * and the layers COPY and ADD write into: every path is resolved with
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) relative to an fd of
 * the root, so ".." and symlinks (absolute or relative) never lead out of
 * it, as moby's FollowSymlinkInScope and chrootarchive promise. */
#ifndef ARCA_BUILD_FSROOT_H
#define ARCA_BUILD_FSROOT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <jansson.h>

#include "util/error.h"
#include "util/fs.h"

/* Opening one file in the root: fs_openat_in_root (util/fs.h). */

/* Open the parent directory of path in the root (O_PATH | O_DIRECTORY)
 * and give the last element in *base (malloc'd; "." for the root
 * itself).  -1 with errno. */
int root_open_parent (int rootfd, const char *path, char **base);

typedef struct
{
  uid_t uid;
  gid_t gid;
} root_owner_t;

/* MkdirAllAndChownNew: create the missing elements of path with mode
 * (owned by own when not NULL, else root); existing ones (followed if
 * symlinks) are left alone.  Returns an fd of the directory, -1 with
 * *err ("mkdir <path>: not a directory" ...). */
int root_mkdir_all (int rootfd, const char *path, mode_t mode, const root_owner_t *own, arca_error_t *err);

/* The resolved absolute path of path in the root (lexically, moby
 * FollowSymlinkInScope): symlinks followed, ".." clamped at "/".  A
 * missing element ends the resolution with the rest appended.  NULL with
 * errno (ELOOP after 255 links). */
char *root_resolve (int rootfd, const char *path);

/* Called for every entry extracted: the path (cleaned, relative), its
 * header fields and content, for the context's tarsum. */
typedef struct root_untar_hash root_untar_hash_t;

typedef struct
{
  bool keep_owner;        /* chown to the tar's uid/gid (else root) */
  bool no_devices;        /* skip device nodes */
  /* tarsum v1 of each entry (moby pkg/tarsum), keyed by the cleaned
   * relative path; NULL: not wanted */
  json_t *sums;
  /* Go's tar reader takes a stream that ends right after the last
   * entry's data (no padding, no end blocks), which is what the docker
   * CLI sends when it adds a Dockerfile from stdin to the context; with
   * this set the stream is padded the same way (a compressed stream is
   * decompressed into this directory first).  NULL: strict. */
  const char *tolerate_truncation_dir;
} root_untar_opts_t;

/* Extract the tar (plain, gzip, bzip2, xz, zstd) at tar_path into the
 * directory dest of the root (created as needed).  Entry names are
 * cleaned and taken relative to dest; each is created through fds
 * resolved in the root.  Modes and modification times are kept;
 * directories' times are set last.  400 for a stream that is not a tar
 * ("archive/tar: invalid tar header" as Go's reader). */
int root_untar (int rootfd, const char *dest, const char *tar_path, const root_untar_opts_t *o, arca_error_t *err);

/* Is the file at fd a tar archive, maybe compressed (moby
 * isArchivePath: the first header reads)?  1 or 0; fd is not moved.  -1
 * with err if the tar library cannot be loaded. */
int file_is_archive (int fd, arca_error_t *err);

/* rm -rf of path in the root (not following symlinks). */
int root_remove_all (int rootfd, const char *path);

#endif
