/* libarchive, loaded at its first use (util/lazylib.h): the tar library: image
 * load, save, import, export, docker cp, build contexts, commit and layer
 * extraction; its dependencies (libxml2, ICU, libstdc++, lzma, zstd, lz4, bz2,
 * acl) come with it. Include this header instead of the library's: the names
 * below are the library's own, called through the table.  Every function that
 * creates an archive or an entry calls arca_lazy_archive_load first, so that a
 * library that cannot be loaded is a 500 error, never a crash. */
#ifndef ARCA_UTIL_LAZY_ARCHIVE_H
#define ARCA_UTIL_LAZY_ARCHIVE_H

#include <archive.h>
#include <archive_entry.h>

#include "util/lazylib.h"

/* Every function of the library Arca calls (a call of one not listed here
 * fails to link: the daemon does not link the library). */
#define ARCA_LAZY_ARCHIVE_FNS(X) \
  X (archive_entry_atime) \
  X (archive_entry_atime_is_set) \
  X (archive_entry_atime_nsec) \
  X (archive_entry_copy_pathname) \
  X (archive_entry_copy_stat) \
  X (archive_entry_copy_symlink) \
  X (archive_entry_filetype) \
  X (archive_entry_free) \
  X (archive_entry_gid) \
  X (archive_entry_gname) \
  X (archive_entry_hardlink) \
  X (archive_entry_mode) \
  X (archive_entry_mtime) \
  X (archive_entry_mtime_nsec) \
  X (archive_entry_new) \
  X (archive_entry_pathname) \
  X (archive_entry_perm) \
  X (archive_entry_rdev) \
  X (archive_entry_rdevmajor) \
  X (archive_entry_rdevminor) \
  X (archive_entry_set_filetype) \
  X (archive_entry_set_gid) \
  X (archive_entry_set_gname) \
  X (archive_entry_set_hardlink) \
  X (archive_entry_set_mode) \
  X (archive_entry_set_mtime) \
  X (archive_entry_set_pathname) \
  X (archive_entry_set_perm) \
  X (archive_entry_set_rdev) \
  X (archive_entry_set_size) \
  X (archive_entry_set_symlink) \
  X (archive_entry_set_uid) \
  X (archive_entry_set_uname) \
  X (archive_entry_size) \
  X (archive_entry_size_is_set) \
  X (archive_entry_sparse_count) \
  X (archive_entry_symlink) \
  X (archive_entry_uid) \
  X (archive_entry_uname) \
  X (archive_entry_xattr_add_entry) \
  X (archive_entry_xattr_next) \
  X (archive_entry_xattr_reset) \
  X (archive_error_string) \
  X (archive_filter_code) \
  X (archive_read_data) \
  X (archive_read_data_block) \
  X (archive_read_free) \
  X (archive_read_new) \
  X (archive_read_next_header) \
  X (archive_read_open) \
  X (archive_read_open_fd) \
  X (archive_read_open_filename) \
  X (archive_read_support_filter_all) \
  X (archive_read_support_format_empty) \
  X (archive_read_support_format_gnutar) \
  X (archive_read_support_format_raw) \
  X (archive_read_support_format_tar) \
  X (archive_set_error) \
  X (archive_write_close) \
  X (archive_write_data) \
  X (archive_write_data_block) \
  X (archive_write_disk_new) \
  X (archive_write_disk_set_options) \
  X (archive_write_fail) \
  X (archive_write_finish_entry) \
  X (archive_write_free) \
  X (archive_write_header) \
  X (archive_write_new) \
  X (archive_write_open) \
  X (archive_write_open2) \
  X (archive_write_open_filename) \
  X (archive_write_set_bytes_in_last_block) \
  X (archive_write_set_bytes_per_block) \
  X (archive_write_set_format_pax_restricted)

typedef struct arca_lazy_archive
{
  ARCA_LAZY_ARCHIVE_FNS (ARCA_LAZY_FIELD)
} arca_lazy_archive_t;

/* Loads libarchive once; 0, or -1 with a 500 error naming it. */
int arca_lazy_archive_load (arca_error_t *err);

/* The table, loading the library if nobody has (aborts if it cannot be:
 * a call site that skipped arca_lazy_archive_load). */
const arca_lazy_archive_t *arca_lazy_archive (void);

#ifndef ARCA_LAZY_ARCHIVE_IMPL
#define archive_entry_atime (arca_lazy_archive ()->archive_entry_atime)
#define archive_entry_atime_is_set (arca_lazy_archive ()->archive_entry_atime_is_set)
#define archive_entry_atime_nsec (arca_lazy_archive ()->archive_entry_atime_nsec)
#define archive_entry_copy_pathname (arca_lazy_archive ()->archive_entry_copy_pathname)
#define archive_entry_copy_stat (arca_lazy_archive ()->archive_entry_copy_stat)
#define archive_entry_copy_symlink (arca_lazy_archive ()->archive_entry_copy_symlink)
#define archive_entry_filetype (arca_lazy_archive ()->archive_entry_filetype)
#define archive_entry_free (arca_lazy_archive ()->archive_entry_free)
#define archive_entry_gid (arca_lazy_archive ()->archive_entry_gid)
#define archive_entry_gname (arca_lazy_archive ()->archive_entry_gname)
#define archive_entry_hardlink (arca_lazy_archive ()->archive_entry_hardlink)
#define archive_entry_mode (arca_lazy_archive ()->archive_entry_mode)
#define archive_entry_mtime (arca_lazy_archive ()->archive_entry_mtime)
#define archive_entry_mtime_nsec (arca_lazy_archive ()->archive_entry_mtime_nsec)
#define archive_entry_new (arca_lazy_archive ()->archive_entry_new)
#define archive_entry_pathname (arca_lazy_archive ()->archive_entry_pathname)
#define archive_entry_perm (arca_lazy_archive ()->archive_entry_perm)
#define archive_entry_rdev (arca_lazy_archive ()->archive_entry_rdev)
#define archive_entry_rdevmajor (arca_lazy_archive ()->archive_entry_rdevmajor)
#define archive_entry_rdevminor (arca_lazy_archive ()->archive_entry_rdevminor)
#define archive_entry_set_filetype (arca_lazy_archive ()->archive_entry_set_filetype)
#define archive_entry_set_gid (arca_lazy_archive ()->archive_entry_set_gid)
#define archive_entry_set_gname (arca_lazy_archive ()->archive_entry_set_gname)
#define archive_entry_set_hardlink (arca_lazy_archive ()->archive_entry_set_hardlink)
#define archive_entry_set_mode (arca_lazy_archive ()->archive_entry_set_mode)
#define archive_entry_set_mtime (arca_lazy_archive ()->archive_entry_set_mtime)
#define archive_entry_set_pathname (arca_lazy_archive ()->archive_entry_set_pathname)
#define archive_entry_set_perm (arca_lazy_archive ()->archive_entry_set_perm)
#define archive_entry_set_rdev (arca_lazy_archive ()->archive_entry_set_rdev)
#define archive_entry_set_size (arca_lazy_archive ()->archive_entry_set_size)
#define archive_entry_set_symlink (arca_lazy_archive ()->archive_entry_set_symlink)
#define archive_entry_set_uid (arca_lazy_archive ()->archive_entry_set_uid)
#define archive_entry_set_uname (arca_lazy_archive ()->archive_entry_set_uname)
#define archive_entry_size (arca_lazy_archive ()->archive_entry_size)
#define archive_entry_size_is_set (arca_lazy_archive ()->archive_entry_size_is_set)
#define archive_entry_sparse_count (arca_lazy_archive ()->archive_entry_sparse_count)
#define archive_entry_symlink (arca_lazy_archive ()->archive_entry_symlink)
#define archive_entry_uid (arca_lazy_archive ()->archive_entry_uid)
#define archive_entry_uname (arca_lazy_archive ()->archive_entry_uname)
#define archive_entry_xattr_add_entry (arca_lazy_archive ()->archive_entry_xattr_add_entry)
#define archive_entry_xattr_next (arca_lazy_archive ()->archive_entry_xattr_next)
#define archive_entry_xattr_reset (arca_lazy_archive ()->archive_entry_xattr_reset)
#define archive_error_string (arca_lazy_archive ()->archive_error_string)
#define archive_filter_code (arca_lazy_archive ()->archive_filter_code)
#define archive_read_data (arca_lazy_archive ()->archive_read_data)
#define archive_read_data_block (arca_lazy_archive ()->archive_read_data_block)
#define archive_read_free (arca_lazy_archive ()->archive_read_free)
#define archive_read_new (arca_lazy_archive ()->archive_read_new)
#define archive_read_next_header (arca_lazy_archive ()->archive_read_next_header)
#define archive_read_open (arca_lazy_archive ()->archive_read_open)
#define archive_read_open_fd (arca_lazy_archive ()->archive_read_open_fd)
#define archive_read_open_filename (arca_lazy_archive ()->archive_read_open_filename)
#define archive_read_support_filter_all (arca_lazy_archive ()->archive_read_support_filter_all)
#define archive_read_support_format_empty (arca_lazy_archive ()->archive_read_support_format_empty)
#define archive_read_support_format_gnutar (arca_lazy_archive ()->archive_read_support_format_gnutar)
#define archive_read_support_format_raw (arca_lazy_archive ()->archive_read_support_format_raw)
#define archive_read_support_format_tar (arca_lazy_archive ()->archive_read_support_format_tar)
#define archive_set_error (arca_lazy_archive ()->archive_set_error)
#define archive_write_close (arca_lazy_archive ()->archive_write_close)
#define archive_write_data (arca_lazy_archive ()->archive_write_data)
#define archive_write_data_block (arca_lazy_archive ()->archive_write_data_block)
#define archive_write_disk_new (arca_lazy_archive ()->archive_write_disk_new)
#define archive_write_disk_set_options (arca_lazy_archive ()->archive_write_disk_set_options)
#define archive_write_fail (arca_lazy_archive ()->archive_write_fail)
#define archive_write_finish_entry (arca_lazy_archive ()->archive_write_finish_entry)
#define archive_write_free (arca_lazy_archive ()->archive_write_free)
#define archive_write_header (arca_lazy_archive ()->archive_write_header)
#define archive_write_new (arca_lazy_archive ()->archive_write_new)
#define archive_write_open (arca_lazy_archive ()->archive_write_open)
#define archive_write_open2 (arca_lazy_archive ()->archive_write_open2)
#define archive_write_open_filename (arca_lazy_archive ()->archive_write_open_filename)
#define archive_write_set_bytes_in_last_block (arca_lazy_archive ()->archive_write_set_bytes_in_last_block)
#define archive_write_set_bytes_per_block (arca_lazy_archive ()->archive_write_set_bytes_per_block)
#define archive_write_set_format_pax_restricted (arca_lazy_archive ()->archive_write_set_format_pax_restricted)
#endif

#endif
