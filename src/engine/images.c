/* Image verbs of the engine (engine/images.h): the API's way to the image
 * store and the registry client.  Most are the image/ function with the
 * engine's store; import also runs the --change instructions through the
 * builder's dispatchers (build/), which the image module cannot call. */
#include "engine/images.h"

#include <stdlib.h>

#include "build/build.h"
#include "engine/internal.h"
#include "image/image.h"
#include "image/registry.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"

int
engine_image_list (arca_engine_t *e, json_t *filters, bool all, json_t **out, arca_error_t *err)
{
  return image_list_json (e->images, filters, all, out, err);
}

int
engine_image_inspect (arca_engine_t *e, const char *ref, json_t **out, arca_error_t *err)
{
  return image_inspect_json (e->images, ref, out, err);
}

int
engine_image_tag (arca_engine_t *e, const char *src, const char *repo, const char *tag, arca_error_t *err)
{
  return image_tag (e->images, src, repo, tag, err);
}

int
engine_image_remove (arca_engine_t *e, const char *ref, bool force, bool noprune, json_t **out, arca_error_t *err)
{
  return image_remove (e->images, ref, force, noprune, out, err);
}

int
engine_image_count (arca_engine_t *e)
{
  int n = e->images ? image_count (e->images) : 0;
  return n < 0 ? 0 : n;
}

int
engine_image_load (arca_engine_t *e, const char *tar_path, engine_image_line_fn line, void *ctx, arca_error_t *err)
{
  return image_load (e->images, tar_path, line, ctx, err);
}

int
engine_image_import (arca_engine_t *e, const char *tar_path, const char *repo, const char *tag, char **changes,
                     const char *message, char **image_id, arca_error_t *err)
{
  /* moby daemon/images ImportImage: BuildFromConfig on an empty Config */
  _cleanup_json_ json_t *config = json_object ();
  if (build_apply_changes (config, changes, err) < 0)
    return -1;
  return image_import (e->images, tar_path, repo, tag, config, message, image_id, err);
}

/* ---- save ---- */

int
engine_image_save_prepare (arca_engine_t *e, char **names, engine_image_save_t **out, arca_error_t *err)
{
  return image_save_prepare (e->images, names, out, err);
}

int
engine_image_save_write (engine_image_save_t *sv, engine_image_sink_fn sink, void *ctx, arca_error_t *err)
{
  return image_save_write (sv, sink, ctx, err);
}

void
engine_image_save_free (engine_image_save_t *sv)
{
  image_save_free (sv);
}

int
engine_image_history (arca_engine_t *e, const char *ref, json_t **out, arca_error_t *err)
{
  return image_history_json (e->images, ref, out, err);
}

int
engine_image_prune (arca_engine_t *e, json_t *filters, json_t **out, arca_error_t *err)
{
  return image_prune (e->images, filters, out, err);
}

/* ---- registry: pull, push, login ---- */

int
engine_image_pull_prepare (arca_engine_t *e, const char *ref, const char *platform, const char *x_registry_auth,
                           engine_image_pull_t **out, arca_error_t *err)
{
  registry_auth_t auth;
  if (registry_auth_decode (x_registry_auth, &auth, err) < 0)
    return -1;
  int ret = image_pull_prepare (e->images, ref, platform, &auth, out, err);
  registry_auth_clear (&auth);
  return ret;
}

int
engine_image_pull_run (engine_image_pull_t *p, engine_image_progress_fn emit, void *ctx, arca_error_t *err)
{
  return image_pull_run (p, emit, ctx, err);
}

void
engine_image_pull_free (engine_image_pull_t *p)
{
  image_pull_free (p);
}

struct engine_image_push
{
  arca_engine_t *e;
  char *name, *tag;
  registry_auth_t auth;
};

void
engine_image_push_free (engine_image_push_t *p)
{
  if (p == NULL)
    return;
  free (p->name);
  free (p->tag);
  registry_auth_clear (&p->auth);
  free (p);
}

int
engine_image_push_prepare (arca_engine_t *e, const char *name, const char *tag, const char *x_registry_auth,
                           engine_image_push_t **out, arca_error_t *err)
{
  engine_image_push_t *p = xmalloc0 (sizeof *p);
  p->e = e;
  p->name = xstrdup (name);
  p->tag = xstrdup (tag);
  if (registry_auth_decode (x_registry_auth, &p->auth, err) < 0)
    {
      engine_image_push_free (p);
      return -1;
    }
  *out = p;
  return 0;
}

int
engine_image_push_run (engine_image_push_t *p, engine_image_progress_fn emit, void *ctx, arca_error_t *err)
{
  return image_push (p->e->images, p->name, p->tag, &p->auth, emit, ctx, err);
}

int
engine_registry_login (arca_engine_t *e, json_t *auth_config, arca_error_t *err)
{
  (void) e;
  registry_auth_t auth = { 0 };
  if (auth_config)
    registry_auth_from_json (auth_config, &auth);
  int ret = registry_login (&auth, err);
  registry_auth_clear (&auth);
  return ret;
}
