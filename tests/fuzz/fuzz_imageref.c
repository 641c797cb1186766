/* Image references (image/ref.c: docker/distribution reference grammar),
 * platforms, X-Registry-Auth headers and WWW-Authenticate challenges
 * (image/registry_util.c): strings a client or a registry controls.
 * Input: a string; parts split at NUL bytes feed the other parsers. */
#include "fuzz.h"

#include "image/ref.h"
#include "image/registry.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *p[4];
  fuzz_split (data, size, p, 4);
  arca_error_t err;
  image_ref_t r = { 0 };
  if (image_ref_parse (p[0], &r, &err) == 0)
    {
      free (image_ref_string (&r));
      free (image_ref_familiar_string (&r));
      free (image_ref_familiar_name (&r));
      free (image_ref_store_key (&r));
      image_ref_default_tag (&r);
      char *canon = image_ref_string (&r);
      image_ref_t r2 = { 0 };
      /* what the store keeps must parse back */
      if (image_ref_parse_canonical (canon, &r2, &err) != 0)
        abort ();
      image_ref_clear (&r2);
      free (canon);
    }
  image_ref_clear (&r);
  image_ref_t rc = { 0 };
  image_ref_parse_canonical (p[0], &rc, &err);
  image_ref_clear (&rc);
  image_ref_valid_tag (p[0]);
  image_ref_is_full_id_hex (p[0]);

  registry_platform_t pl;
  registry_platform_parse (p[1], &pl, &err);

  registry_auth_t a = { 0 };
  if (registry_auth_decode (p[2], &a, &err) == 0)
    registry_auth_clear (&a);

  registry_challenge_t c = { 0 };
  if (registry_challenge_parse (p[3], &c) == 0)
    registry_challenge_clear (&c);
  fuzz_parts_free (p, 4);
  return 0;
}
