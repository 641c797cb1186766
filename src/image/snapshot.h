/* Container root filesystems: overlay of the image's unpacked layers (lower,
 * top first) plus a per-container writable layer.
 *   <container-dir>/upper, <container-dir>/work   (writable layer)
 *   <container-dir>/rootfs                        (overlay mount point)
 * A single-layer or empty image works too (an empty lower dir is used). */
#ifndef ARCA_IMAGE_SNAPSHOT_H
#define ARCA_IMAGE_SNAPSHOT_H

#include "util/error.h"

/* Create upper/work (idempotent). */
int snapshot_create (const char *container_dir, arca_error_t *err);
/* Mount the overlay at <container_dir>/rootfs (no-op if already mounted);
 * *rootfs gets the malloc'd path. */
int snapshot_mount (const char *container_dir, char **lower_dirs, char **rootfs, arca_error_t *err);
/* Unmount (lazy detach if busy; no error if not mounted). */
int snapshot_unmount (const char *container_dir, arca_error_t *err);
/* Unmount and remove upper/work/rootfs. */
int snapshot_remove (const char *container_dir, arca_error_t *err);

#endif
