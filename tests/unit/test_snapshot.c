/* Overlay snapshots: merged view of two layers, whiteouts, remount no-op,
 * empty images, the long-lowerdir fallback, unmount and remove.  Needs root
 * (mount(2)); skipped otherwise. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "image/snapshot.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strutil.h"

static void
put (const char *path, const char *content)
{
  FILE *f = fopen (path, "w");
  assert_non_null (f);
  fputs (content, f);
  fclose (f);
}

static char *
slurp (const char *path)
{
  char *data = NULL;
  if (fs_read_file (path, &data, NULL, NULL) < 0)
    return NULL;
  return data;
}

static bool
can_mount (void)
{
  if (geteuid () != 0)
    return false;
  _cleanup_free_ char *fs = slurp ("/proc/filesystems");
  return fs && strstr (fs, "\toverlay\n");
}

static void
test_overlay_two_layers (void **state)
{
  (void) state;
  if (!can_mount ())
    skip ();
  char base[] = "/tmp/arca-test-snap-XXXXXX";
  assert_non_null (mkdtemp (base));
  _cleanup_free_ char *l1 = xasprintf ("%s/layers/1", base);
  _cleanup_free_ char *l2 = xasprintf ("%s/layers/2", base);
  _cleanup_free_ char *cdir = xasprintf ("%s/containers/c1", base);
  assert_int_equal (fs_mkdir_p (l1, 0755, NULL), 0);
  assert_int_equal (fs_mkdir_p (l2, 0755, NULL), 0);

  /* Layer 1 (bottom): a, b, c.  Layer 2 (top): b replaced, c whited out. */
  char *p = xasprintf ("%s/a", l1);
  put (p, "a1");
  free (p);
  p = xasprintf ("%s/b", l1);
  put (p, "b1");
  free (p);
  p = xasprintf ("%s/c", l1);
  put (p, "c1");
  free (p);
  p = xasprintf ("%s/b", l2);
  put (p, "b2");
  free (p);
  p = xasprintf ("%s/c", l2);
  assert_int_equal (mknod (p, S_IFCHR | 0000, makedev (0, 0)), 0);
  free (p);

  arca_error_t err = { 0 };
  char *lower[] = { l2, l1, NULL };
  _cleanup_free_ char *rootfs = NULL;
  if (snapshot_mount (cdir, lower, &rootfs, &err) < 0)
    fail_msg ("mount: %s", err.msg);
  _cleanup_free_ char *want_root = xasprintf ("%s/rootfs", cdir);
  assert_string_equal (rootfs, want_root);

  p = xasprintf ("%s/a", rootfs);
  _cleanup_free_ char *a = slurp (p);
  free (p);
  p = xasprintf ("%s/b", rootfs);
  _cleanup_free_ char *b = slurp (p);
  free (p);
  assert_string_equal (a, "a1");
  assert_string_equal (b, "b2");
  p = xasprintf ("%s/c", rootfs);
  assert_int_equal (access (p, F_OK), -1);
  assert_int_equal (errno, ENOENT);
  free (p);

  /* Writes land in upper; layers stay untouched. */
  p = xasprintf ("%s/new", rootfs);
  put (p, "n");
  free (p);
  p = xasprintf ("%s/upper/new", cdir);
  assert_int_equal (access (p, F_OK), 0);
  free (p);
  p = xasprintf ("%s/new", l2);
  assert_int_equal (access (p, F_OK), -1);
  free (p);

  /* Mounting again is a no-op, not a second stacked mount. */
  _cleanup_free_ char *again = NULL;
  assert_int_equal (snapshot_mount (cdir, lower, &again, &err), 0);
  assert_int_equal (snapshot_unmount (cdir, &err), 0);
  p = xasprintf ("%s/a", rootfs);
  assert_int_equal (access (p, F_OK), -1);
  free (p);
  /* Unmounting what is not mounted is fine. */
  assert_int_equal (snapshot_unmount (cdir, &err), 0);

  assert_int_equal (snapshot_remove (cdir, &err), 0);
  p = xasprintf ("%s/upper", cdir);
  assert_int_equal (access (p, F_OK), -1);
  free (p);
  fs_remove_all (base, NULL);
}

static void
test_overlay_no_layers (void **state)
{
  (void) state;
  if (!can_mount ())
    skip ();
  char base[] = "/tmp/arca-test-snap-XXXXXX";
  assert_non_null (mkdtemp (base));
  arca_error_t err = { 0 };
  _cleanup_free_ char *rootfs = NULL;
  if (snapshot_mount (base, NULL, &rootfs, &err) < 0)
    fail_msg ("mount: %s", err.msg);
  _cleanup_free_ char *p = xasprintf ("%s/hello", rootfs);
  put (p, "x");
  assert_int_equal (snapshot_remove (base, &err), 0);
  _cleanup_free_ char *e = xasprintf ("%s/empty-lower", base);
  assert_int_equal (access (e, F_OK), -1);
  fs_remove_all (base, NULL);
}

/* 40 layers with long paths exceed a page of mount options; the mount
 * must still work through relative paths. */
static void
test_overlay_many_layers (void **state)
{
  (void) state;
  if (!can_mount ())
    skip ();
  char base[] = "/tmp/arca-test-snap-XXXXXX";
  assert_non_null (mkdtemp (base));
  enum { N = 40 };
  char *lower[N + 1] = { 0 };
  size_t total = 0;
  for (int i = 0; i < N; i++)
    {
      lower[i] = xasprintf ("%s/image/overlay/layers/sha256/%064d/diff", base, N - 1 - i);
      total += strlen (lower[i]) + 1;
      assert_int_equal (fs_mkdir_p (lower[i], 0755, NULL), 0);
      _cleanup_free_ char *f = xasprintf ("%s/f%d", lower[i], N - 1 - i);
      put (f, "x");
    }
  assert_true (total > 4096);
  _cleanup_free_ char *cdir = xasprintf ("%s/c", base);
  arca_error_t err = { 0 };
  _cleanup_free_ char *rootfs = NULL;
  if (snapshot_mount (cdir, lower, &rootfs, &err) < 0)
    fail_msg ("mount: %s", err.msg);
  for (int i = 0; i < N; i++)
    {
      _cleanup_free_ char *f = xasprintf ("%s/f%d", rootfs, i);
      assert_int_equal (access (f, F_OK), 0);
    }
  assert_int_equal (snapshot_remove (cdir, &err), 0);
  for (int i = 0; i < N; i++)
    free (lower[i]);
  fs_remove_all (base, NULL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_overlay_two_layers),
    cmocka_unit_test (test_overlay_no_layers),
    cmocka_unit_test (test_overlay_many_layers),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
