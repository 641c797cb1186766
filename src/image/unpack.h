/* Layer and archive extraction with libarchive's secure flags.
 *
 * Extraction runs in a short-lived thread that unshares its filesystem
 * context (CLONE_FS) and chdirs into the destination, so libarchive works
 * on relative paths with ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS and the
 * daemon's other threads keep their working directory. */
#ifndef ARCA_IMAGE_UNPACK_H
#define ARCA_IMAGE_UNPACK_H

#include <stdint.h>

#include "image/digest.h"
#include "util/error.h"

typedef struct
{
  char blob_digest[DIGEST_BUF]; /* sha256 of the file as stored (maybe compressed) */
  char diff_id[DIGEST_BUF];     /* sha256 of the uncompressed tar stream */
  int64_t size;                 /* bytes of regular-file content in the layer */
  const char *media_type;       /* layer media type for a Docker v2 manifest */
} layer_stat_t;

/* Read a layer (tar, gzip/zstd/xz/bzip2 tar, auto-detected) in one pass:
 * hash it (blob digest and diff ID) and, if dest is not NULL, extract it
 * into the existing empty directory dest keeping owners, modes, xattrs and
 * times, with AUFS whiteouts converted to overlay form: ".wh.<name>"
 * becomes a character device 0/0 "<name>", ".wh..wh..opq" sets
 * trusted.overlay.opaque=y on its directory.  400 "invalid tar" class
 * errors for a malformed layer. */
int layer_unpack (const char *tar_path, const char *dest, layer_stat_t *st, arca_error_t *err);

/* Extract a (maybe compressed) tarball such as a `docker save` archive
 * into the existing directory dest; no owners, no whiteout conversion.
 * Only regular files, directories, symlinks and hard links are taken:
 * anything else (FIFO, device, socket) or a sparse entry is a 400
 * "invalid archive: ...".  Links never point out of dest (libarchive's
 * secure flags), but symlinks may: read the result with fs_open_in_root. */
int archive_extract_secure (const char *tar_path, const char *dest, arca_error_t *err);

#endif
