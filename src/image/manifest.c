/* Manifests and indexes as a pull receives them (moby
 * distribution/pull_v2.go): pure checks, apart from the fetching, so that
 * the fuzz harness (tests/fuzz/fuzz_manifest.c) runs exactly what a pull
 * runs. */
#include "image/registry.h"

#include <string.h>

#include "image/store_internal.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"

static const char *
manifest_type_const (const char *mt)
{
  if (mt == NULL)
    return NULL;
  if (strcmp (mt, MT_DOCKER_MANIFEST) == 0)
    return MT_DOCKER_MANIFEST;
  if (strcmp (mt, MT_OCI_MANIFEST) == 0)
    return MT_OCI_MANIFEST;
  return NULL;
}

int
registry_manifest_parse (json_t *m, const char *mt, const char *name, const registry_platform_t *want,
                         registry_manifest_t *out, arca_error_t *err)
{
  memset (out, 0, sizeof *out);
  out->config_size = -1;
  if (m == NULL || !json_is_object (m))
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid manifest: not JSON");
  json_t *list = json_object_get (m, "manifests");
  if (list)
    {
      out->is_index = true;
      json_t *d = registry_platform_select (list, want);
      if (d == NULL)
        return arca_error_set (err, ARCA_ERR_NOT_FOUND,
                               "no matching manifest for %s/%s%s%s in the manifest list entries", want->os,
                               want->arch, want->variant[0] ? "/" : "", want->variant);
      const char *dg = json_get_str (d, "digest");
      /* fetched by digest: verified whatever its algorithm */
      if (dg == NULL || !digest_supported (dg) || strlen (dg) >= sizeof out->child)
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid manifest list entry digest");
      snprintf (out->child, sizeof out->child, "%s", dg);
      return 0;
    }
  out->media_type = manifest_type_const (mt);
  if (out->media_type == NULL)
    {
      if (json_integer_value (json_object_get (m, "schemaVersion")) == 1)
        return arca_error_set (err, ARCA_ERR_INVALID,
                               "[DEPRECATION NOTICE] Docker Image Format v1 and Docker Image manifest version 2, "
                               "schema 1 support has been removed. Suggest the author of %s to upgrade the image to "
                               "the OCI Format or Docker Image manifest v2, schema 2.",
                               name);
      return arca_error_set (err, ARCA_ERR_INVALID, "unsupported manifest media type %s", mt ? mt : "(none)");
    }
  json_t *cdesc = json_object_get (m, "config");
  const char *cd = json_get_str (cdesc, "digest");
  if (cd == NULL || !digest_valid (cd) || strlen (cd) >= sizeof out->config_digest)
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid manifest: bad config digest");
  snprintf (out->config_digest, sizeof out->config_digest, "%s", cd);
  out->config_size = json_get_int (cdesc, "size", -1);
  return 0;
}

int
registry_manifest_layers (json_t *manifest, json_t *config, size_t *n, arca_error_t *err)
{
  json_t *layers = json_object_get (manifest, "layers");
  _cleanup_strv_ char **diff_ids = json_get_strv (json_object_get (config, "rootfs"), "diff_ids");
  if (strv_len (diff_ids) != json_array_size (layers))
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid manifest: %zu layers for %zu diff IDs",
                           json_array_size (layers), strv_len (diff_ids));
  for (size_t i = 0; i < json_array_size (layers); i++)
    {
      const char *dg = json_get_str (json_array_get (layers, i), "digest");
      if (dg == NULL || !digest_valid (dg) || !digest_valid (diff_ids[i]))
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid manifest: bad layer digest");
    }
  *n = json_array_size (layers);
  return 0;
}
