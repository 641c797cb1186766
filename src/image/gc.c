/* Garbage collection of the content store and the unpacked layers: what no
 * image row accounts for any more goes (blobs, layer rows and their
 * directories).  image_remove frees an image's own parts at once; this is
 * the sweep behind it (prune, leftovers of forced removals). */
#include "image/store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"

/* Chain IDs and blob hexes every image row names: {"<hex>": true}. */
static int
referenced (arca_image_store_t *s, json_t **chains, json_t **blobs, arca_error_t *err)
{
  _cleanup_json_ json_t *rows = NULL;
  if (arca_store_images_data (s->db, NULL, &rows, err) < 0)
    return -1;
  *chains = json_object ();
  *blobs = json_object ();
  size_t i, j;
  json_t *d, *v;
  json_array_foreach (rows, i, d)
    {
      json_array_foreach (json_object_get (d, "ChainIDs"), j, v)
        if (digest_valid (json_string_value (v)))
          json_object_set_new (*chains, digest_hex (json_string_value (v)), json_true ());
      json_array_foreach (json_object_get (d, "Blobs"), j, v)
        if (digest_valid (json_string_value (v)))
          json_object_set_new (*blobs, digest_hex (json_string_value (v)), json_true ());
    }
  return 0;
}

/* Layer directories some overlay mount (a running container's rootfs)
 * still names in its options: never swept, whatever the rows say. */
static bool
layer_mounted (const char *dir)
{
  _cleanup_fclose_ FILE *f = fopen ("/proc/self/mountinfo", "re");
  _cleanup_free_ char *line = NULL;
  size_t cap = 0;
  while (f && getline (&line, &cap, f) > 0)
    if (strstr (line, dir) != NULL)
      return true;
  return false;
}

static int64_t
remove_layer_dir (arca_image_store_t *s, const char *hex)
{
  _cleanup_free_ char *dir = xasprintf ("%s/%s", s->layers_dir, hex);
  _cleanup_free_ char *trash = xasprintf ("%s/.tmp-rm-%s", s->layers_dir, hex);
  const char *victim = rename (dir, trash) == 0 ? trash : dir;
  arca_error_t rerr = { 0 };
  if (fs_remove_all (victim, &rerr) < 0)
    {
      log_warn ("image gc: remove layer %s: %s", hex, rerr.msg);
      return -1;
    }
  return 0;
}

static int
gc_locked (arca_image_store_t *s, bool sweep_layers, int64_t *reclaimed, arca_error_t *err)
{
  _cleanup_json_ json_t *chains = NULL, *blobs = NULL;
  _cleanup_store_layer_rows_ arca_store_layer_rows_t layers = { 0 };
  int64_t freed = 0;
  if (referenced (s, &chains, &blobs, err) < 0)
    return -1;
  if (sweep_layers && arca_store_layers_list (s->db, &layers, err) < 0)
    return -1;

  /* Layer rows no image names. */
  _cleanup_strv_ char **gone = xmalloc0 (sizeof (char *));
  _cleanup_json_ json_t *rows_known = json_object ();
  for (size_t i = 0; i < layers.n; i++)
    {
      const char *chain = layers.v[i].chain_id;
      if (!digest_valid (chain))
        continue;
      json_object_set_new (rows_known, digest_hex (chain), json_true ());
      if (json_object_get (chains, digest_hex (chain)))
        continue;
      _cleanup_free_ char *dir = xasprintf ("%s/%s", s->layers_dir, digest_hex (chain));
      if (layer_mounted (dir))
        continue;
      gone = strv_append (gone, chain);
      if (remove_layer_dir (s, digest_hex (chain)) == 0)
        freed += layers.v[i].size;
    }
  if (gone[0] && store_delete (s, NULL, NULL, gone, err) < 0)
    return -1;

  /* Directories and blobs no row names (crash leftovers, interrupted
   * removals). */
  struct
  {
    const char *dir;
    json_t *keep;
  } sweeps[] = { { s->layers_dir, chains }, { s->blobs_dir, blobs } };
  for (size_t k = sweep_layers ? 0 : 1; k < 2; k++)
    {
      _cleanup_closedir_ DIR *d = opendir (sweeps[k].dir);
      struct dirent *de;
      while (d && (de = readdir (d)) != NULL)
        {
          const char *n = de->d_name;
          bool trash = str_has_prefix (n, ".tmp-rm-");
          bool orphan = strlen (n) == 64 && str_is_hex (n, 64) && json_object_get (sweeps[k].keep, n) == NULL;
          if (!trash && !orphan)
            continue;
          _cleanup_free_ char *p = xasprintf ("%s/%s", sweeps[k].dir, n);
          if (k == 0)
            {
              if (orphan && json_object_get (rows_known, n))
                continue; /* a mounted layer kept above */
              if (orphan && layer_mounted (p))
                continue;
              fs_remove_all (p, NULL);
              continue;
            }
          struct stat st;
          if (lstat (p, &st) == 0 && S_ISREG (st.st_mode) && unlink (p) == 0)
            freed += st.st_size;
        }
    }
  if (reclaimed)
    *reclaimed = freed;
  return 0;
}

int
image_gc_blobs_locked (arca_image_store_t *s, arca_error_t *err)
{
  return gc_locked (s, false, NULL, err);
}

int
image_gc (arca_image_store_t *s, int64_t *reclaimed, arca_error_t *err)
{
  pthread_mutex_lock (&s->lock);
  int ret = gc_locked (s, true, reclaimed, err);
  pthread_mutex_unlock (&s->lock);
  return ret;
}
