/* Local parent links between images (moby image store SetParent,
 * Children, Heads): a commit or a build step records the image it was made
 * on in its row ("Parent"), so that history shows the local ancestors,
 * `docker images` hides intermediate images, a parent with children
 * cannot be deleted, and removing an image prunes its untagged parents. */
#include "image/store_internal.h"

int
store_children_counts (arca_image_store_t *s, json_t **out, arca_error_t *err)
{
  return arca_store_image_children_counts (s->db, out, err);
}

int
store_children (arca_image_store_t *s, const char *id, char ***out, arca_error_t *err)
{
  return arca_store_image_children (s->db, id, out, err);
}

int
store_image_data_patch (arca_image_store_t *s, const char *id, json_t *patch, arca_error_t *err)
{
  return arca_store_image_patch (s->db, id, patch, err);
}
