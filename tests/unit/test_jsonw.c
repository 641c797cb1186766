/* util/jsonw.h writes what jansson's json_dumps (JSON_COMPACT |
 * JSON_ENCODE_ANY) writes for the same values, byte for byte: the
 * container list is written with it and must stay what it was when it
 * was dumped from a tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/jsonw.h"

static void
assert_same_as_jansson (json_t *v, const arca_buf_t *b)
{
  char *want = json_dumps (v, JSON_COMPACT | JSON_ENCODE_ANY);
  assert_non_null (want);
  assert_non_null (b->data);
  assert_string_equal (b->data, want);
  assert_int_equal (b->len, strlen (want));
  free (want);
}

static void
check_str (const char *s)
{
  arca_buf_t b = { 0 };
  jw_str (&b, s);
  json_t *v = json_string (s);
  assert_non_null (v);
  assert_same_as_jansson (v, &b);
  json_decref (v);
  buf_free (&b);
}

static void
test_strings (void **state)
{
  (void) state;
  check_str ("");
  check_str ("plain");
  check_str ("a\"b\\c/d");
  check_str ("\b\f\n\r\t");
  check_str ("é☃ 𝄞 \xe2\x80\xa8"); /* non-ASCII, U+2028 as they are */
  check_str ("\x7f del");
  check_str ("quote at the end\"");
  check_str ("\"");
  /* every ASCII byte, alone and inside text */
  for (int c = 1; c < 0x80; c++)
    {
      char s[8] = { (char) c, 0 };
      check_str (s);
      snprintf (s, sizeof s, "a%cb", c);
      check_str (s);
    }
  /* NULL is the empty string (unset Image, ImageID) */
  arca_buf_t b = { 0 };
  jw_str (&b, NULL);
  assert_string_equal (b.data, "\"\"");
  buf_free (&b);
}

static void
test_ints (void **state)
{
  (void) state;
  const int64_t vals[] = { 0, 1, -1, 9, 10, 1796656740, INT64_MAX, INT64_MIN, -1234567890123LL };
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
    {
      arca_buf_t b = { 0 };
      jw_int (&b, vals[i]);
      json_t *v = json_integer (vals[i]);
      assert_same_as_jansson (v, &b);
      json_decref (v);
      buf_free (&b);
    }
}

static void
test_strv_and_values (void **state)
{
  (void) state;
  char *v[] = { "a", "b c", "d\"e", NULL };
  arca_buf_t b = { 0 };
  jw_strv (&b, v);
  json_t *want = json_pack ("[s,s,s]", "a", "b c", "d\"e");
  assert_same_as_jansson (want, &b);
  json_decref (want);
  buf_free (&b);

  char *empty[] = { NULL };
  jw_strv (&b, empty);
  assert_string_equal (b.data, "[]");
  buf_free (&b);
  jw_strv (&b, NULL);
  assert_string_equal (b.data, "null");
  buf_free (&b);

  json_t *obj = json_loads ("{\"z\":1,\"a\":[true,null,\"x\\u0001\"],\"m\":{\"k\":\"v\"}}", 0, NULL);
  assert_non_null (obj);
  jw_json (&b, obj);
  assert_same_as_jansson (obj, &b);
  json_decref (obj);
  buf_free (&b);
  jw_json (&b, NULL);
  assert_string_equal (b.data, "null");
  buf_free (&b);
}

/* A record written piece by piece, with literals, reservation and growth
 * past it, equals the dumped tree of the same record. */
static void
test_record (void **state)
{
  (void) state;
  arca_buf_t b = { 0 };
  jw_reserve (&b, 16);
  jw_lit (&b, "[");
  json_t *arr = json_array ();
  for (int i = 0; i < 200; i++)
    {
      char name[32];
      snprintf (name, sizeof name, "/c\t%d", i);
      if (i)
        jw_lit (&b, ",");
      jw_lit (&b, "{\"Names\":[");
      jw_str (&b, name);
      jw_lit (&b, "],\"Created\":");
      jw_int (&b, 1796656740 + i);
      jw_lit (&b, ",\"Ports\":[],\"Labels\":{}}");
      json_array_append_new (arr, json_pack ("{s:[s],s:I,s:[],s:{}}", "Names", name, "Created",
                                             (json_int_t) (1796656740 + i), "Ports", "Labels"));
    }
  jw_lit (&b, "]");
  assert_same_as_jansson (arr, &b);
  json_decref (arr);
  buf_free (&b);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_strings),
    cmocka_unit_test (test_ints),
    cmocka_unit_test (test_strv_and_values),
    cmocka_unit_test (test_record),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
