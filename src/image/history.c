/* docker history (moby daemon/images/image_history.go). */
#include "image/store_internal.h"

#include <string.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"
#include "util/timeutil.h"

/* Go's zero time.Time in Unix seconds: what Created.Unix() gives for a
 * history entry without "created". */
#define GO_ZERO_TIME_UNIX (-62135596800LL)

static int64_t
layer_size (arca_image_store_t *s, const char *chain_id)
{
  int64_t size;
  bool found;
  if (arca_store_layer_size (s->db, chain_id, &size, &found, NULL) < 0)
    return 0;
  return size;
}

int
image_history_json (arca_image_store_t *s, const char *ref, json_t **out, arca_error_t *err)
{
  arca_image_t *img;
  if (image_resolve (s, ref, &img, err) < 0)
    return -1;
  json_t *oldest_first = json_array ();
  size_t layer = 0, n_layers = strv_len (img->chain_ids);
  size_t i;
  json_t *h;
  json_array_foreach (json_object_get (img->config, "history"), i, h)
    {
      int64_t size = 0;
      if (!json_is_true (json_object_get (h, "empty_layer")))
        {
          if (layer >= n_layers)
            {
              json_decref (oldest_first);
              image_free (img);
              return arca_error_set (err, ARCA_ERR_INTERNAL, "too many non-empty layers in History section");
            }
          size = layer_size (s, img->chain_ids[layer++]);
        }
      int64_t created = GO_ZERO_TIME_UNIX;
      int64_t ns;
      const char *c = json_get_str (h, "created");
      if (c && time_parse_rfc3339 (c, &ns) == 0)
        created = ns >= 0 ? ns / ARCA_NSEC_PER_SEC : -((-ns + ARCA_NSEC_PER_SEC - 1) / ARCA_NSEC_PER_SEC);
      const char *by = json_get_str (h, "created_by");
      const char *comment = json_get_str (h, "comment");
      json_t *item = json_pack ("{s:s, s:I, s:s, s:n, s:I, s:s}", "Id", "<missing>", "Created", (json_int_t) created,
                                "CreatedBy", by ? by : "", "Tags", "Size", (json_int_t) size, "Comment",
                                comment ? comment : "");
      json_array_append_new (oldest_first, item);
    }
  /* Newest first; reversed once (inserting each at the front would cost
   * O(n) per entry of a config that an archive or registry wrote). */
  json_t *result = json_array ();
  for (size_t k = json_array_size (oldest_first); k-- > 0;)
    json_array_append (result, json_array_get (oldest_first, k));
  json_decref (oldest_first);
  /* IDs and tags walking the local parent chain from the image itself,
   * one image per entry, newest first; entries older than the first
   * image without a local parent stay "<missing>" (moby ImageHistory). */
  arca_image_t *cur = img;
  for (size_t k = 0; k < json_array_size (result) && cur; k++)
    {
      json_t *item = json_array_get (result, k);
      json_object_set_new (item, "Id", json_string (cur->id));
      if (cur->repo_tags[0])
        json_object_set_new (item, "Tags", json_from_strv (cur->repo_tags));
      arca_image_t *next = NULL;
      if (cur->parent == NULL || store_image_load (s, cur->parent, &next, NULL) < 0)
        next = NULL;
      if (cur != img)
        image_free (cur);
      cur = next;
    }
  if (cur && cur != img)
    image_free (cur);
  image_free (img);
  *out = result;
  return 0;
}
