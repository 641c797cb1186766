/* Registry manifests and indexes as a pull checks them
 * (image/manifest.c registry_manifest_parse, registry_manifest_layers,
 * registry_platform_select).  Input: "media type\0manifest JSON\0image
 * config JSON". */
#include "fuzz.h"

#include <jansson.h>

#include "image/registry.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *p[3];
  fuzz_split (data, size, p, 3);
  arca_error_t err;
  registry_platform_t want;
  if (registry_platform_parse ("linux/amd64", &want, &err) != 0)
    abort ();
  json_t *m = json_loads (p[1], JSON_DECODE_ANY, NULL);
  registry_manifest_t info;
  if (registry_manifest_parse (m, p[0][0] ? p[0] : NULL, "fuzz/image", &want, &info, &err) == 0 && !info.is_index)
    {
      json_t *config = json_loads (p[2], JSON_DECODE_ANY, NULL);
      size_t n;
      registry_manifest_layers (m, config, &n, &err);
      json_decref (config);
    }
  json_decref (m);
  fuzz_parts_free (p, 3);
  return 0;
}
