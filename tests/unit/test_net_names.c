/* Names that reach the kernel and Arca's nftables ruleset (net/names.c):
 * bridge names as Linux takes them (and dockerd's texts when it does not),
 * minus what an nft quoted string cannot hold; table names as nft
 * identifiers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/net.h"

static void
bad_bridge (const char *name, arca_error_kind_t kind, const char *msg)
{
  arca_error_t err = { 0 };
  if (net_bridge_name_check (name, &err) == 0)
    fail_msg ("bridge name \"%s\" accepted", name);
  assert_int_equal (err.kind, kind);
  if (strstr (err.msg, msg) == NULL)
    fail_msg ("bridge name \"%s\": \"%s\", want \"%s\"", name, err.msg, msg);
}

static void
test_bridge_names (void **state)
{
  (void) state;
  const char *good[] = { "arca0", "br-0123456789ab", "docker1", "b1;a#b", "x$y{}", "a@b.c-d_e",
                         "123456789012345", "-", "%%" };
  for (size_t i = 0; i < sizeof good / sizeof *good; i++)
    {
      arca_error_t err = { 0 };
      if (net_bridge_name_check (good[i], &err) < 0)
        fail_msg ("bridge name \"%s\" refused: %s", good[i], err.msg);
    }
  /* the kernel's refusals, with dockerd's texts */
  bad_bridge ("1234567890123456", ARCA_ERR_INTERNAL, "numerical result out of range");
  bad_bridge ("", ARCA_ERR_INTERNAL, "invalid argument");
  bad_bridge (".", ARCA_ERR_INTERNAL, "invalid argument");
  bad_bridge ("..", ARCA_ERR_INTERNAL, "invalid argument");
  bad_bridge ("a/b", ARCA_ERR_INTERNAL, "invalid argument");
  bad_bridge ("a:b", ARCA_ERR_INTERNAL, "invalid argument");
  bad_bridge ("a b", ARCA_ERR_INTERNAL, "invalid argument");
  bad_bridge ("a\tb", ARCA_ERR_INTERNAL, "invalid argument");
  bad_bridge ("a\nb", ARCA_ERR_INTERNAL, "invalid argument");
  /* Linux takes them, nft could not hold them literally */
  bad_bridge ("a\"b", ARCA_ERR_INVALID, "invalid bridge name");
  bad_bridge ("e*", ARCA_ERR_INVALID, "invalid bridge name");
  bad_bridge ("a\\b", ARCA_ERR_INVALID, "invalid bridge name");
  bad_bridge ("a\001b", ARCA_ERR_INVALID, "invalid bridge name");
  bad_bridge ("a\177b", ARCA_ERR_INVALID, "invalid bridge name");
  bad_bridge ("caf\303\251", ARCA_ERR_INVALID, "invalid bridge name");
}

static void
test_table_names (void **state)
{
  (void) state;
  assert_true (net_nft_table_name_valid ("arca"));
  assert_true (net_nft_table_name_valid ("arca_1a2b3c"));
  assert_true (net_nft_table_name_valid ("_x9"));
  assert_true (net_nft_table_name_valid ("abcdefghijklmno"));
  assert_false (net_nft_table_name_valid (""));
  assert_false (net_nft_table_name_valid ("abcdefghijklmnop"));
  assert_false (net_nft_table_name_valid ("1arca"));
  assert_false (net_nft_table_name_valid ("arca;x"));
  assert_false (net_nft_table_name_valid ("arca x"));
  assert_false (net_nft_table_name_valid ("ar-ca"));
  assert_false (net_nft_table_name_valid ("arca\""));
  assert_false (net_nft_table_name_valid ("{arca}"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_bridge_names),
    cmocka_unit_test (test_table_names),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
