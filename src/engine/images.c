/* Image operations that take more than the image store: the --change
 * instructions go through the builder's dispatchers (build/), which the
 * image module cannot call. */
#include "engine/internal.h"

#include "build/build.h"
#include "image/image.h"
#include "util/cleanup.h"
#include "util/json.h"

int
arca_engine_image_import (arca_engine_t *e, const char *tar_path, const char *repo, const char *tag, char **changes,
                          const char *message, char **image_id, arca_error_t *err)
{
  /* moby daemon/images ImportImage: BuildFromConfig on an empty Config */
  _cleanup_json_ json_t *config = json_object ();
  if (build_apply_changes (config, changes, err) < 0)
    return -1;
  return image_import (e->images, tar_path, repo, tag, config, message, image_id, err);
}
