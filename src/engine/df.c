/* docker system df (moby daemon/disk_usage.go SystemDiskUsage). */
#include "engine/internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/container.h"
#include "engine/volumes.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"

/* Bytes of regular files under the directory fd (consumed), not crossing
 * into other filesystems (a mounted rootfs inside stays out). */
static int64_t
dir_size (int fd, dev_t dev)
{
  DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return 0;
    }
  int64_t total = 0;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      struct stat st;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
        continue;
      if (S_ISREG (st.st_mode))
        total += st.st_size;
      else if (S_ISDIR (st.st_mode))
        {
          int sub = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub >= 0)
            total += dir_size (sub, dev);
        }
    }
  closedir (d);
  return total;
}

int64_t
container_rw_size (arca_engine_t *e, const char *id)
{
  _cleanup_free_ char *dir = container_dir (e, id);
  _cleanup_free_ char *upper = xasprintf ("%s/upper", dir);
  int fd = open (upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (fd < 0)
    return 0;
  if (fstat (fd, &st) < 0)
    {
      close (fd);
      return 0;
    }
  return dir_size (fd, st.st_dev);
}

void
container_sizes (arca_engine_t *e, const char *id, const char *image_id, json_t *image_sizes, int64_t *rw,
                 int64_t *rootfs)
{
  *rw = container_rw_size (e, id);
  json_t *known = image_id ? json_object_get (image_sizes, image_id) : NULL;
  int64_t base = 0;
  if (known)
    base = json_integer_value (known);
  else if (image_id)
    {
      arca_image_t *img = NULL;
      if (image_resolve (e->images, image_id, &img, NULL) == 0)
        {
          base = img->size;
          image_free (img);
        }
      if (image_sizes)
        json_object_set_new (image_sizes, image_id, json_integer (base));
    }
  *rootfs = *rw + base;
}

static bool
wanted (char **types, const char *t)
{
  if (types == NULL || types[0] == NULL)
    return true;
  for (size_t i = 0; types[i]; i++)
    if (strcmp (types[i], t) == 0)
      return true;
  return false;
}

int
system_df_json (arca_engine_t *e, char **types, json_t **out, arca_error_t *err)
{
  static const char *const known[] = { "container", "image", "volume", "build-cache", NULL };
  for (size_t i = 0; types && types[i]; i++)
    {
      bool ok = false;
      for (size_t k = 0; known[k]; k++)
        ok |= strcmp (types[i], known[k]) == 0;
      if (!ok)
        return arca_error_set (err, ARCA_ERR_INVALID, "unknown object type: %s", types[i]);
    }
  json_t *res = json_object ();
  _cleanup_json_ json_t *containers = NULL;
  if (wanted (types, "container") || wanted (types, "image"))
    {
      if (container_list_json (e, true, -1, NULL, &containers, err) < 0)
        {
          json_decref (res);
          return -1;
        }
    }
  if (wanted (types, "image"))
    {
      json_t *images;
      int64_t layers_size = 0;
      if (image_disk_usage_json (e->images, &images, &layers_size, err) < 0)
        {
          json_decref (res);
          return -1;
        }
      size_t i, j;
      json_t *img, *c;
      json_array_foreach (images, i, img)
        {
          int n = 0;
          json_array_foreach (containers, j, c)
            n += json_get_str (c, "ImageID") && strcmp (json_get_str (c, "ImageID"), json_get_str (img, "Id")) == 0;
          json_object_set_new (img, "Containers", json_integer (n));
        }
      json_object_set_new (res, "LayersSize", json_integer (layers_size));
      json_object_set_new (res, "Images", images);
    }
  if (wanted (types, "container"))
    {
      size_t i;
      json_t *c;
      json_array_foreach (containers, i, c)
        {
          int64_t rw, rootfs;
          container_sizes (e, json_get_str (c, "Id"), json_get_str (c, "ImageID"), NULL, &rw, &rootfs);
          json_object_set_new (c, "SizeRw", json_integer (rw));
          json_object_set_new (c, "SizeRootFs", json_integer (rootfs));
        }
      json_object_set (res, "Containers", containers);
    }
  if (wanted (types, "volume"))
    {
      json_t *volumes = NULL;
      if (volumes_df (e, &volumes, err) < 0)
        {
          json_decref (res);
          return -1;
        }
      json_object_set_new (res, "Volumes", volumes);
    }
  if (wanted (types, "build-cache"))
    {
      /* the classic builder's cache records (image/buildcache.c) */
      json_t *cache = NULL;
      int64_t size = 0;
      if (image_build_cache_json (e->images, &cache, &size, err) < 0)
        {
          json_decref (res);
          return -1;
        }
      json_object_set_new (res, "BuildCache", cache);
      json_object_set_new (res, "BuilderSize", json_integer (size));
    }
  *out = res;
  return 0;
}
