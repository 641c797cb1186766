/* Local parent links between images (moby image store SetParent,
 * Children, Heads): a commit or a build step records the image it was made
 * on in its row ("Parent"), so that history shows the local ancestors,
 * `docker images` hides intermediate images, a parent with children
 * cannot be deleted, and removing an image prunes its untagged parents. */
#include "image/store_internal.h"

#include <string.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"

int
store_children_counts (arca_image_store_t *s, json_t **out, arca_error_t *err)
{
  _cleanup_json_ json_t *rows = NULL;
  if (store_sql (s,
                 "SELECT json_extract (data, '$.Parent') AS p, count (*) FROM images "
                 "WHERE p IS NOT NULL AND p != '' GROUP BY p",
                 NULL, 0, &rows, err)
      < 0)
    return -1;
  json_t *m = json_object ();
  size_t i;
  json_t *row;
  json_array_foreach (rows, i, row)
    {
      const char *p = json_string_value (json_array_get (row, 0));
      if (p)
        json_object_set (m, p, json_array_get (row, 1));
    }
  *out = m;
  return 0;
}

int
store_children (arca_image_store_t *s, const char *id, char ***out, arca_error_t *err)
{
  _cleanup_json_ json_t *rows = NULL;
  const char *p[] = { id ? id : "" };
  if (store_sql (s,
                 "SELECT id FROM images WHERE coalesce (json_extract (data, '$.Parent'), '') = ?1 ORDER BY id",
                 p, 1, &rows, err)
      < 0)
    return -1;
  char **v = xmalloc0 (sizeof (char *));
  size_t i;
  json_t *row;
  json_array_foreach (rows, i, row)
    if (json_is_string (json_array_get (row, 0)))
      v = strv_append (v, json_string_value (json_array_get (row, 0)));
  *out = v;
  return 0;
}

int
store_image_data_patch (arca_image_store_t *s, const char *id, json_t *patch, arca_error_t *err)
{
  /* json_patch (RFC 7396 merge patch): null removes a key */
  _cleanup_free_ char *text = json_dump_compact (patch);
  const char *p[] = { id, text };
  return store_sql (s, "UPDATE images SET data = json_patch (data, ?2) WHERE id = ?1", p, 2, NULL, err);
}
