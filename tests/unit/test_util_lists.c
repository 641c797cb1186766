/* Linear-time list helpers: the string-vector builder and the environment
 * merges with moby's rules (util/strutil.h, util/env.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/env.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strutil.h"

static char **
strv_of (const char *const *v)
{
  arca_strv_builder_t b = { 0 };
  for (; *v; v++)
    strv_builder_add (&b, *v);
  return strv_builder_finish (&b);
}

static void
assert_strv (char **got, const char *const *want)
{
  size_t i = 0;
  for (; want[i]; i++)
    {
      assert_non_null (got[i]);
      assert_string_equal (got[i], want[i]);
    }
  assert_null (got[i]);
}

static void
test_builder (void **state)
{
  arca_strv_builder_t b = { 0 };
  assert_null (b.v);
  char **empty = strv_builder_finish (&b);
  assert_non_null (empty);
  assert_null (empty[0]);
  strv_free (empty);

  for (int i = 0; i < 1000; i++)
    {
      char s[16];
      snprintf (s, sizeof s, "s%d", i);
      strv_builder_add (&b, s);
      assert_int_equal (b.len, (size_t) i + 1);
      assert_null (b.v[b.len]); /* terminated after every add */
    }
  strv_builder_take (&b, xstrdup ("last"));
  char **v = strv_builder_finish (&b);
  assert_null (b.v);
  assert_int_equal (strv_len (v), 1001);
  assert_string_equal (v[999], "s999");
  assert_string_equal (v[1000], "last");
  char **c = strv_copy (v);
  assert_int_equal (strv_len (c), 1001);
  assert_string_equal (c[500], "s500");
  strv_free (c);
  strv_free (v);

  strv_builder_add (&b, "dropped");
  strv_builder_clear (&b);
  assert_null (b.v);
}

static void
test_replace_or_append (void **state)
{
  /* moby daemon/container/env_test.go TestReplaceAndAppendEnvVars */
  static const char *const base[] = { "HOME=/", "FOO=foo_default", NULL };
  static const char *const over[] = { "HOME=/root", "TERM=xterm", "FOO", NULL };
  char **r = env_replace_or_append (strv_of (base), (char *const *) over);
  static const char *const want[] = { "HOME=/root", "TERM=xterm", NULL };
  assert_strv (r, want);
  strv_free (r);

  /* Two overrides with one new key are both appended (moby caches only the
   * defaults' keys); one replacing a default wins by order. */
  static const char *const base2[] = { "PATH=/bin", "HOSTNAME=x", NULL };
  static const char *const over2[] = { "A=1", "A=2", "PATH=/a", "PATH=/b", "HOSTNAME", "HOSTNAME=y", NULL };
  r = env_replace_or_append (strv_of (base2), (char *const *) over2);
  static const char *const want2[] = { "PATH=/b", "HOSTNAME=y", "A=1", "A=2", NULL };
  assert_strv (r, want2);
  strv_free (r);

  /* NULL in, NULL overrides. */
  r = env_replace_or_append (NULL, NULL);
  assert_non_null (r);
  assert_null (r[0]);
  strv_free (r);
}

static void
test_json_append_missing (void **state)
{
  json_t *user = json_pack ("[s, s]", "A=user", "B");
  json_t *image = json_pack ("[s, s, s, s]", "A=image", "B=image", "C=1", "C=2");
  env_json_append_missing (user, image);
  assert_int_equal (json_array_size (user), 3);
  assert_string_equal (json_string_value (json_array_get (user, 2)), "C=1");
  json_decref (user);
  json_decref (image);
}

/* A million entries: linear, so well under a second; a quadratic merge
 * takes hours and meson's test timeout (30 s) fails it. */
static void
test_million_entries_linear (void **state)
{
  enum { N = 1000000 };
  arca_strv_builder_t b = { 0 };
  for (int i = 0; i < N; i++)
    {
      char s[32];
      snprintf (s, sizeof s, "E%d=v%d", i, i);
      strv_builder_add (&b, s);
    }
  char **over = strv_builder_finish (&b);
  static const char *const base[] = { "PATH=/bin", "E5=x", NULL };
  char **r = env_replace_or_append (strv_of (base), over);
  assert_int_equal (strv_len (r), N + 1);
  assert_string_equal (r[1], "E5=v5");
  strv_free (r);
  strv_free (over);
}


/* fs_write_atomic and its variant without fsync (per-start files): the
 * target is replaced whole, with the mode asked for, and no temporary file
 * is left beside it. */
static void
test_atomic_writes (void **state)
{
  (void) state;
  char dir[] = "/tmp/arca-unit-fs.XXXXXX";
  assert_non_null (mkdtemp (dir));
  char path[256];
  snprintf (path, sizeof path, "%s/config.json", dir);
  arca_error_t err;
  assert_int_equal (fs_write_atomic (path, "{\"a\":1}", 7, 0644, &err), 0);
  assert_int_equal (fs_write_atomic_nosync (path, "{}", 2, 0600, &err), 0);
  char *data = NULL;
  size_t len = 0;
  assert_int_equal (fs_read_file (path, &data, &len, &err), 0);
  assert_int_equal (len, 2);
  assert_memory_equal (data, "{}", 2);
  free (data);
  struct stat st;
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);
  DIR *d = opendir (dir);
  assert_non_null (d);
  int n = 0;
  for (struct dirent *de; (de = readdir (d));)
    if (de->d_name[0] != '.')
      n++;
  closedir (d);
  assert_int_equal (n, 1);
  /* a directory in the way: refused, nothing written */
  char sub[300];
  snprintf (sub, sizeof sub, "%s/sub", dir);
  assert_int_equal (mkdir (sub, 0700), 0);
  assert_true (fs_write_atomic_nosync (sub, "x", 1, 0600, &err) < 0);
  assert_int_equal (rmdir (sub), 0);
  assert_int_equal (unlink (path), 0);
  assert_int_equal (rmdir (dir), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_builder),
    cmocka_unit_test (test_replace_or_append),
    cmocka_unit_test (test_json_append_missing),
    cmocka_unit_test (test_million_entries_linear),
    cmocka_unit_test (test_atomic_writes),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
