/* Container create and update bodies into the typed options
 * (runtime/options*.c), in the engine's order (engine/container.c create,
 * engine/options.c container_options_verify_create, engine/ops.c update).
 * Input: a JSON body; its first byte chooses create (even) or update. */
#include "fuzz.h"

#include <jansson.h>

#include "runtime/options.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  bool update = data[0] & 1;
  json_t *req = json_loadb ((const char *) data + 1, size - 1, JSON_DECODE_ANY, NULL);
  if (req == NULL)
    return 0;
  arca_error_t err;
  json_t *body = NULL;
  json_t *warnings = json_array ();
  if (!update)
    {
      if (json_is_object (req) && options_decode_create (req, &body, &err) == 0)
        {
          json_t *hc = json_object_get (body, "HostConfig");
          json_t *empty = json_object ();
          arca_container_options_t *o = NULL;
          if (options_parse (body, json_is_object (hc) ? hc : empty, &o, &err) == 0)
            {
              if (options_verify (o, options_sysinfo (), false, warnings, &err) == 0 && json_is_object (hc))
                options_resources_store (&o->resources, hc);
              options_free (o);
            }
          json_decref (empty);
        }
    }
  else if (options_decode_update (req, &body, &err) == 0)
    {
      arca_resources_t r = { 0 };
      options_parse_resources (body, &r, &err);
      options_verify_resources (&r, options_sysinfo (), true, warnings, &err);
      options_resources_clear (&r);
    }
  json_decref (body);
  json_decref (warnings);
  json_decref (req);
  return 0;
}
