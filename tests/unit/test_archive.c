/* docker cp helpers (engine/archive_fs.c): path rules, tar entry
 * validation, lookups confined to a root, and the tar producer/extractor
 * against a temporary "container root" with symlinks that point outside
 * it.  Nothing outside the root may be touched. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/archive.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strutil.h"

static void
check_clean (const char *in, const char *want)
{
  _cleanup_free_ char *got = path_clean (in);
  if (strcmp (got, want) != 0)
    fail_msg ("clean(%s) = %s, want %s", in, got, want);
}

static void
test_clean (void **state)
{
  check_clean ("", ".");
  check_clean ("/", "/");
  check_clean ("a/b/", "a/b");
  check_clean ("a//b/./c", "a/b/c");
  check_clean ("a/../../x", "../x");
  check_clean ("../../x", "../../x");
  check_clean ("/../x", "/x");
  check_clean ("/a/b/../..", "/");
  check_clean ("./", ".");
  check_clean ("a/..", ".");
}

static void
check_abs (const char *in, const char *want)
{
  _cleanup_free_ char *got = archive_abs_path (in);
  if (strcmp (got, want) != 0)
    fail_msg ("abs(%s) = %s, want %s", in, got, want);
}

static void
check_base (const char *in, const char *want)
{
  _cleanup_free_ char *got = archive_path_base (in);
  if (strcmp (got, want) != 0)
    fail_msg ("base(%s) = %s, want %s", in, got, want);
}

static void
test_abs_and_base (void **state)
{
  check_abs ("foo", "/foo");
  check_abs ("/foo/", "/foo/");
  check_abs ("/foo/.", "/foo/.");
  check_abs ("/foo/./", "/foo/./");
  check_abs (".", "/.");
  check_abs ("/", "/");
  check_abs ("a/../..", "/");
  check_abs ("/d/sub/../sub", "/d/sub");
  check_base ("/", "/");
  check_base ("/a/", "a");
  check_base ("/a/.", ".");
  check_base ("/a/b", "b");
  check_base ("", ".");
}

static void
check_entry (const char *name, const char *want_rel)
{
  arca_error_t err = { 0 };
  char *rel = NULL;
  int r = archive_entry_path_check (name, "/dest", &rel, &err);
  if (want_rel == NULL)
    {
      if (r == 0)
        fail_msg ("entry %s accepted as %s, want refusal", name, rel);
      assert_non_null (strstr (err.msg, "is outside of \"/dest\""));
      return;
    }
  if (r < 0)
    fail_msg ("entry %s refused: %s", name, err.msg);
  if (strcmp (rel, want_rel) != 0)
    fail_msg ("entry %s -> %s, want %s", name, rel, want_rel);
  free (rel);
}

static void
test_entry_names (void **state)
{
  check_entry ("a/b", "a/b");
  check_entry ("./a/", "a");
  check_entry ("/etc/x", "etc/x");
  check_entry ("/", ".");
  check_entry ("./", ".");
  check_entry ("/../x", "x");
  check_entry ("a/../b", "b");
  check_entry ("..", NULL);
  check_entry ("../x", NULL);
  check_entry ("a/../../x", NULL);
  check_entry ("./../../etc/passwd", NULL);
}

/* ---- a temporary root with escaping symlinks ---- */

typedef struct
{
  char *base;     /* temp dir */
  char *root;     /* base/root: the "container" */
  char *outside;  /* base/outside: a host dir that must stay untouched */
  int rootfd;
} fixture_t;

static void
put (const char *path, const char *content)
{
  FILE *f = fopen (path, "w");
  assert_non_null (f);
  fputs (content, f);
  fclose (f);
}

static int
setup (void **state)
{
  fixture_t *f = xmalloc0 (sizeof *f);
  char tmpl[] = "/tmp/arca-test-archive.XXXXXX";
  assert_non_null (mkdtemp (tmpl));
  f->base = xstrdup (tmpl);
  f->root = xasprintf ("%s/root", f->base);
  f->outside = xasprintf ("%s/outside", f->base);
  assert_int_equal (mkdir (f->root, 0755), 0);
  assert_int_equal (mkdir (f->outside, 0755), 0);
  _cleanup_free_ char *secret = xasprintf ("%s/secret", f->outside);
  put (secret, "host\n");
  const char *dirs[] = { "etc", "d", "d/sub" };
  for (size_t i = 0; i < 3; i++)
    {
      _cleanup_free_ char *p = xasprintf ("%s/%s", f->root, dirs[i]);
      assert_int_equal (mkdir (p, 0755), 0);
    }
  _cleanup_free_ char *passwd = xasprintf ("%s/etc/passwd", f->root);
  put (passwd, "root:x:0:0::/root:/bin/sh\n");
  _cleanup_free_ char *a = xasprintf ("%s/d/sub/a", f->root);
  put (a, "a\n");
  chmod (a, 0640);
  struct
  {
    const char *target, *name;
  } links[] = {
    { "/etc", "lnk" },
    { "sub", "d/rel" },
    { "../../../../../../..", "d/up" },     /* climbs "above" the root */
    { f->outside, "escape" },               /* absolute host path */
    { "/nonexistent", "dangling" },
  };
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
    {
      _cleanup_free_ char *p = xasprintf ("%s/%s", f->root, links[i].name);
      assert_int_equal (symlink (links[i].target, p), 0);
    }
  f->rootfd = open (f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_true (f->rootfd >= 0);
  *state = f;
  return 0;
}

/* The host dir still holds exactly its one file with its content. */
static void
assert_outside_untouched (fixture_t *f)
{
  _cleanup_free_ char *secret = xasprintf ("%s/secret", f->outside);
  char *data = NULL;
  assert_int_equal (fs_read_file (secret, &data, NULL, NULL), 0);
  assert_string_equal (data, "host\n");
  free (data);
  DIR *d = opendir (f->outside);
  assert_non_null (d);
  int n = 0;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
      n++;
  closedir (d);
  assert_int_equal (n, 1);
  /* Nothing appeared next to the root either (but our input tars). */
  d = opendir (f->base);
  n = 0;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, "..") && strncmp (de->d_name, "in", 2))
      n++;
  closedir (d);
  assert_int_equal (n, 2);
}

static int
teardown (void **state)
{
  fixture_t *f = *state;
  close (f->rootfd);
  if (!getenv ("KEEP"))
    fs_remove_all (f->base, NULL);
  free (f->base);
  free (f->root);
  free (f->outside);
  free (f);
  return 0;
}

static void
test_resolve (void **state)
{
  fixture_t *f = *state;
  struct
  {
    const char *in, *want;
  } cases[] = {
    { "/lnk", "/etc" },
    { "/lnk/passwd", "/etc/passwd" },
    { "/d/rel/a", "/d/sub/a" },
    { "/d/up", "/" },
    { "/d/up/etc", "/etc" },
    { "/dangling", "/nonexistent" },
    { "/nope/x", "/nope/x" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_free_ char *got = archive_resolve_in_root (f->rootfd, cases[i].in);
      assert_non_null (got);
      if (strcmp (got, cases[i].want) != 0)
        fail_msg ("resolve(%s) = %s, want %s", cases[i].in, got, cases[i].want);
    }
  /* The absolute host path is taken inside the root. */
  _cleanup_free_ char *esc = archive_resolve_in_root (f->rootfd, "/escape/secret");
  _cleanup_free_ char *want = xasprintf ("%s/secret", f->outside);
  assert_string_equal (esc, want);

  /* ... and opening through it finds nothing (the host file is not seen). */
  errno = 0;
  assert_int_equal (archive_open_in_root (f->rootfd, "/escape/secret", O_RDONLY, 0), -1);
  assert_int_equal (errno, ENOENT);
  int fd = archive_open_in_root (f->rootfd, "/d/up/etc/passwd", O_RDONLY, 0);
  assert_true (fd >= 0);
  close (fd);
}

static void
test_stat (void **state)
{
  fixture_t *f = *state;
  arca_path_stat_t st;
  assert_int_equal (archive_stat_in_root (f->rootfd, "/lnk", NULL, &st), 0);
  assert_string_equal (st.name, "lnk");
  assert_int_equal (st.mode, (1u << 27) | 0777);
  assert_string_equal (st.link_target, "/etc");
  arca_path_stat_clear (&st);

  assert_int_equal (archive_stat_in_root (f->rootfd, "/lnk/", NULL, &st), 0);
  assert_string_equal (st.name, "lnk");
  assert_int_equal (st.mode, (1u << 31) | 0755);
  assert_string_equal (st.link_target, "");
  arca_path_stat_clear (&st);

  assert_int_equal (archive_stat_in_root (f->rootfd, "/d/.", NULL, &st), 0);
  assert_string_equal (st.name, ".");
  arca_path_stat_clear (&st);

  assert_int_equal (archive_stat_in_root (f->rootfd, "/", NULL, &st), 0);
  assert_string_equal (st.name, "/");
  arca_path_stat_clear (&st);

  assert_int_equal (archive_stat_in_root (f->rootfd, "/d/rel/a", NULL, &st), 0);
  assert_int_equal (st.mode, 0640);
  assert_int_equal (st.size, 2);
  arca_path_stat_clear (&st);

  assert_int_equal (archive_stat_in_root (f->rootfd, "/escape/", NULL, &st), -1);
  assert_int_equal (archive_stat_in_root (f->rootfd, "/escape/secret", NULL, &st), -1);
  assert_int_equal (archive_stat_in_root (f->rootfd, "/etc/passwd/x", NULL, &st), -1);
  assert_int_equal (archive_go_filemode (S_IFCHR | 0666), (1u << 26) | (1u << 21) | 0666);
  assert_int_equal (archive_go_filemode (S_IFREG | S_ISUID | 0755), (1u << 23) | 0755);
}

/* ---- tar producer ---- */

static int
buf_write (void *ctx, const void *data, size_t len)
{
  buf_append (ctx, data, len);
  return 0;
}

/* "name type [target|content]" lines of a tar in memory. */
static char *
list_tar (arca_buf_t *b)
{
  struct archive *a = archive_read_new ();
  archive_read_support_format_tar (a);
  assert_int_equal (archive_read_open_memory (a, b->data, b->len), ARCHIVE_OK);
  arca_buf_t out = { 0 };
  buf_printf (&out, "%s", "");
  struct archive_entry *en;
  while (archive_read_next_header (a, &en) == ARCHIVE_OK)
    {
      buf_printf (&out, "%s %o", archive_entry_pathname (en), archive_entry_mode (en));
      if (archive_entry_symlink (en))
        buf_printf (&out, " -> %s", archive_entry_symlink (en));
      if (archive_entry_filetype (en) == AE_IFREG)
        {
          char data[64] = { 0 };
          archive_read_data (a, data, sizeof data - 1);
          buf_printf (&out, " %s", data);
        }
      buf_printf (&out, "\n");
    }
  archive_read_free (a);
  return out.data;
}

static void
check_tar (fixture_t *f, const char *abs, const char *want)
{
  arca_buf_t b = { 0 };
  arca_error_t err = { 0 };
  if (archive_tar_write (f->rootfd, abs, NULL, buf_write, &b, &err) < 0)
    fail_msg ("tar %s: %s", abs, err.msg);
  _cleanup_free_ char *got = list_tar (&b);
  buf_free (&b);
  if (strcmp (got, want) != 0)
    fail_msg ("tar %s:\n%s\nwant:\n%s", abs, got, want);
}

static void
test_tar_write (void **state)
{
  fixture_t *f = *state;
  check_tar (f, "/d", "d/ 40755\nd/rel 120777 -> sub\nd/sub/ 40755\nd/sub/a 100640 a\n\nd/up 120777 -> ../../../../../../..\n");
  check_tar (f, "/d/.", "./ 40755\n./rel 120777 -> sub\n./sub/ 40755\n./sub/a 100640 a\n\n./up 120777 -> ../../../../../../..\n");
  check_tar (f, "/d/rel/", "rel/ 40755\nrel/a 100640 a\n\n");
  check_tar (f, "/lnk", "lnk 120777 -> /etc\n");
  check_tar (f, "/d/up/etc/passwd", "passwd 100644 root:x:0:0::/root:/bin/sh\n\n");
  arca_buf_t b = { 0 };
  arca_error_t err = { 0 };
  assert_int_equal (archive_tar_write (f->rootfd, "/escape/secret", NULL, buf_write, &b, &err), -1);
  assert_int_equal (b.len, 0);
  buf_free (&b);
}

/* ---- extraction ---- */

typedef struct
{
  const char *name;
  mode_t type;
  const char *data;  /* content or link target */
} tar_item_t;

static char *
make_tar (fixture_t *f, const tar_item_t *items, size_t n)
{
  static int seq;
  char *path = xasprintf ("%s/in%d.tar", f->base, seq++);
  struct archive *a = archive_write_new ();
  archive_write_set_format_pax_restricted (a);
  assert_int_equal (archive_write_open_filename (a, path), ARCHIVE_OK);
  for (size_t i = 0; i < n; i++)
    {
      struct archive_entry *en = archive_entry_new ();
      archive_entry_set_pathname (en, items[i].name);
      archive_entry_set_filetype (en, items[i].type == 0 ? AE_IFREG : items[i].type);
      archive_entry_set_perm (en, items[i].type == AE_IFDIR ? 0750 : 0604);
      archive_entry_set_uid (en, 1234);
      archive_entry_set_gid (en, 4321);
      archive_entry_set_mtime (en, 1000000000, 0);
      if (items[i].type == AE_IFLNK)
        archive_entry_set_symlink (en, items[i].data);
      else if (items[i].type == 0)
        {
          archive_entry_set_hardlink (en, items[i].data);
          archive_entry_set_filetype (en, AE_IFREG);
        }
      else if (items[i].type == AE_IFREG)
        archive_entry_set_size (en, (la_int64_t) strlen (items[i].data));
      assert_true (archive_write_header (a, en) >= ARCHIVE_WARN);
      if (items[i].type == AE_IFREG)
        archive_write_data (a, items[i].data, strlen (items[i].data));
      archive_entry_free (en);
    }
  archive_write_close (a);
  archive_write_free (a);
  return path;
}

static char *
slurp_in (fixture_t *f, const char *rel)
{
  _cleanup_free_ char *p = xasprintf ("%s/%s", f->root, rel);
  char *data = NULL;
  if (fs_read_file (p, &data, NULL, NULL) < 0)
    return NULL;
  return data;
}

static void
test_extract (void **state)
{
  fixture_t *f = *state;
  const tar_item_t items[] = {
    { "t/", AE_IFDIR, NULL },
    { "t/f", AE_IFREG, "hello\n" },
    { "t/l", AE_IFLNK, "f" },
    { "t/h", 0, "t/f" },
    { "t/deep/er/g", AE_IFREG, "g\n" },
  };
  _cleanup_free_ char *tar = make_tar (f, items, sizeof items / sizeof items[0]);
  arca_extract_opts_t o = { .ref = "c" };
  arca_error_t err = { 0 };
  if (archive_tar_extract (f->rootfd, "/d", tar, &o, &err) < 0)
    fail_msg ("extract: %s", err.msg);
  _cleanup_free_ char *data = slurp_in (f, "d/t/f");
  assert_string_equal (data, "hello\n");
  struct stat st;
  _cleanup_free_ char *fp = xasprintf ("%s/d/t/f", f->root);
  assert_int_equal (lstat (fp, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0604);
  assert_int_equal (st.st_uid, 1234);
  assert_int_equal (st.st_gid, 4321);
  assert_int_equal (st.st_mtime, 1000000000);
  assert_int_equal (st.st_nlink, 2);
  _cleanup_free_ char *dp = xasprintf ("%s/d/t", f->root);
  assert_int_equal (lstat (dp, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0750);
  assert_int_equal (st.st_mtime, 1000000000);
  _cleanup_free_ char *lp = xasprintf ("%s/d/t/l", f->root);
  char target[16] = { 0 };
  assert_int_equal (readlink (lp, target, sizeof target), 1);
  _cleanup_free_ char *g = slurp_in (f, "d/t/deep/er/g");
  assert_string_equal (g, "g\n");

  /* Overwrite a file: replaced; chown to a fixed owner. */
  const tar_item_t again[] = { { "t/f", AE_IFREG, "bye\n" } };
  _cleanup_free_ char *tar2 = make_tar (f, again, 1);
  arca_extract_opts_t o2 = { .ref = "c", .chown = true, .uid = 7, .gid = 8 };
  assert_int_equal (archive_tar_extract (f->rootfd, "/d", tar2, &o2, &err), 0);
  _cleanup_free_ char *data2 = slurp_in (f, "d/t/f");
  assert_string_equal (data2, "bye\n");
  assert_int_equal (lstat (fp, &st), 0);
  assert_int_equal (st.st_uid, 7);

  /* noOverwriteDirNonDir: a file over a directory is refused. */
  const tar_item_t clash[] = { { "t", AE_IFREG, "x" } };
  _cleanup_free_ char *tar3 = make_tar (f, clash, 1);
  arca_extract_opts_t o3 = { .ref = "c", .no_overwrite_dir_non_dir = true };
  assert_int_equal (archive_tar_extract (f->rootfd, "/d", tar3, &o3, &err), -1);
  assert_non_null (strstr (err.msg, "cannot overwrite directory"));

  /* Destination errors. */
  assert_int_equal (archive_tar_extract (f->rootfd, "/nope", tar, &o, &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_NOT_FOUND);
  assert_string_equal (err.msg, "Could not find the file /nope in container c");
  assert_int_equal (archive_tar_extract (f->rootfd, "/etc/passwd", tar, &o, &err), -1);
  assert_string_equal (err.msg, "extraction point is not a directory");
  /* The escaping symlink as destination: its target does not exist in the root. */
  assert_int_equal (archive_tar_extract (f->rootfd, "/escape", tar, &o, &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_NOT_FOUND);
  assert_outside_untouched (f);
}

static void
test_extract_escapes (void **state)
{
  fixture_t *f = *state;
  arca_extract_opts_t o = { .ref = "c" };
  arca_error_t err = { 0 };

  /* "../" entries are refused before anything is written. */
  const tar_item_t up[] = { { "../../outside/evil", AE_IFREG, "x" } };
  _cleanup_free_ char *t1 = make_tar (f, up, 1);
  assert_int_equal (archive_tar_extract (f->rootfd, "/d", t1, &o, &err), -1);
  assert_non_null (strstr (err.msg, "is outside of"));
  const tar_item_t hl[] = { { "h", 0, "../../outside/secret" } };
  _cleanup_free_ char *t1b = make_tar (f, hl, 1);
  assert_int_equal (archive_tar_extract (f->rootfd, "/d", t1b, &o, &err), -1);
  assert_non_null (strstr (err.msg, "is outside of"));

  /* Through the container's own symlinks that climb "above" the root:
   * followed inside it. */
  const tar_item_t via[] = {
    { "d/up/evil2", AE_IFREG, "2" },
    { "rel", AE_IFLNK, "../../../../.." },
    { "rel/evil4", AE_IFREG, "4" },
  };
  _cleanup_free_ char *t2 = make_tar (f, via, sizeof via / sizeof via[0]);
  if (archive_tar_extract (f->rootfd, "/", t2, &o, &err) < 0)
    fail_msg ("extract: %s", err.msg);
  _cleanup_free_ char *d2 = slurp_in (f, "evil2");
  _cleanup_free_ char *d4 = slurp_in (f, "evil4");
  assert_string_equal (d2, "2");
  assert_string_equal (d4, "4");
  assert_outside_untouched (f);

  /* Through a symlink to an absolute host path (the container's own, or
   * one the tar plants): its target does not exist in the root, so the
   * entry fails, and nothing is written on the host. */
  const tar_item_t abs1[] = { { "/escape/evil1", AE_IFREG, "1" } };
  _cleanup_free_ char *t3 = make_tar (f, abs1, 1);
  assert_int_equal (archive_tar_extract (f->rootfd, "/", t3, &o, &err), -1);
  const tar_item_t plant[] = { { "plant", AE_IFLNK, f->outside }, { "plant/evil3", AE_IFREG, "3" } };
  _cleanup_free_ char *t4 = make_tar (f, plant, 2);
  assert_int_equal (archive_tar_extract (f->rootfd, "/", t4, &o, &err), -1);
  assert_outside_untouched (f);

  /* Once the target exists inside the root, the same copies land there:
   * as entries and as the destination ("/escape", "/escape/"). */
  _cleanup_free_ char *inside = xasprintf ("%s%s", f->root, f->outside);
  assert_int_equal (fs_mkdir_p (inside, 0755, NULL), 0);
  assert_int_equal (archive_tar_extract (f->rootfd, "/", t3, &o, &err), 0);
  assert_int_equal (archive_tar_extract (f->rootfd, "/", t4, &o, &err), 0);
  const tar_item_t one[] = { { "evil5", AE_IFREG, "5" } };
  _cleanup_free_ char *t5 = make_tar (f, one, 1);
  assert_int_equal (archive_tar_extract (f->rootfd, "/escape", t5, &o, &err), 0);
  assert_int_equal (archive_tar_extract (f->rootfd, "/escape/", t5, &o, &err), 0);
  const char *names[] = { "evil1", "evil3", "evil5" };
  for (size_t i = 0; i < 3; i++)
    {
      _cleanup_free_ char *rel = xasprintf ("%s/%s", f->outside + 1, names[i]);
      _cleanup_free_ char *d = slurp_in (f, rel);
      if (d == NULL)
        fail_msg ("%s not inside the root", rel);
    }
  assert_outside_untouched (f);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_clean),
    cmocka_unit_test (test_abs_and_base),
    cmocka_unit_test (test_entry_names),
    cmocka_unit_test_setup_teardown (test_resolve, setup, teardown),
    cmocka_unit_test_setup_teardown (test_stat, setup, teardown),
    cmocka_unit_test_setup_teardown (test_tar_write, setup, teardown),
    cmocka_unit_test_setup_teardown (test_extract, setup, teardown),
    cmocka_unit_test_setup_teardown (test_extract_escapes, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
