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

#include "util/env.h"
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

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_builder),
    cmocka_unit_test (test_replace_or_append),
    cmocka_unit_test (test_json_append_missing),
    cmocka_unit_test (test_million_entries_linear),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
