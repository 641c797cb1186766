/* Container mounts: parsing (moby volume/mounts linux_parser.go), resolution
 * at create (daemon/volumes.go registerMountPoints), OCI mounts and copy-up
 * at start (daemon/oci_linux.go WithMounts, container CopyImagePathContent). */
#include "engine/mounts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "engine/archive.h"
#include "engine/internal.h"
#include "engine/volumes.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"

/* ---- small helpers ---- */

static bool
in_list (const char *s, const char *const *list)
{
  for (; *list; list++)
    if (strcmp (s, *list) == 0)
      return true;
  return false;
}

static const char *const rw_modes[] = { "rw", "ro", "ro-non-recursive", "ro-force-recursive", "rro", NULL };
static const char *const label_modes[] = { "z", "Z", NULL };
static const char *const propagation_modes[] = { "private", "rprivate", "slave", "rslave", "shared", "rshared", NULL };
static const char *const copy_modes[] = { "nocopy", NULL };
static const char *const consistency_modes[] = { "consistent", "cached", "delegated", NULL };

/* linuxValidMountMode: each option known, at most one of each kind. */
static bool
valid_mode (const char *mode)
{
  if (mode == NULL || *mode == '\0')
    return true;
  int counts[5] = { 0 };
  _cleanup_free_ char *copy = xstrdup (mode);
  char *p = copy;
  for (;;)
    {
      char *comma = strchr (p, ',');
      if (comma)
        *comma = '\0';
      if (in_list (p, rw_modes))
        counts[0]++;
      else if (in_list (p, label_modes))
        counts[1]++;
      else if (in_list (p, propagation_modes))
        counts[2]++;
      else if (in_list (p, copy_modes))
        counts[3]++;
      else if (in_list (p, consistency_modes))
        counts[4]++;
      else
        return false;
      if (comma == NULL)
        break;
      p = comma + 1;
    }
  for (int i = 0; i < 5; i++)
    if (counts[i] > 1)
      return false;
  return true;
}

/* The first option of mode in list, or NULL. */
static char *
mode_find (const char *mode, const char *const *list)
{
  _cleanup_free_ char *copy = xstrdup (mode ? mode : "");
  char *save = NULL;
  for (char *t = strtok_r (copy, ",", &save); t; t = strtok_r (NULL, ",", &save))
    if (in_list (t, list))
      return xstrdup (t);
  return NULL;
}


static bool
is_root_path (const char *p)
{
  _cleanup_free_ char *c = path_clean (p);
  return strcmp (c, "/") == 0;
}

/* The common checks of validateMountConfigImpl on Target. */
static int
check_target (const char *target, char **why)
{
  if (target == NULL || *target == '\0')
    *why = xstrdup ("field Target must not be empty");
  else if (is_root_path (target))
    *why = xstrdup ("invalid specification: destination can't be '/'");
  else if (target[0] != '/')
    *why = xasprintf ("invalid mount path: '%s' mount path must be absolute", target);
  else
    return 0;
  return -1;
}

static json_t *
mount_point (const char *type, const char *name, const char *source, const char *dest, const char *mode, bool rw,
             const char *propagation)
{
  _cleanup_free_ char *d = path_clean (dest);
  json_t *mp = json_pack ("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", type, "Source", source ? source : "", "Destination", d,
                          "Mode", mode ? mode : "", "RW", rw, "Propagation", propagation ? propagation : "");
  if (name && *name)
    json_object_set_new (mp, "Name", json_string (name));
  return mp;
}

/* ---- -v ---- */

int
mounts_parse_bind (const char *raw, json_t **out, arca_error_t *err)
{
  _cleanup_free_ char *copy = xstrdup (raw);
  char *arr[4] = { 0 };
  size_t n = 0;
  char *p = copy;
  while (n < 3)
    {
      char *colon = strchr (p, ':');
      arr[n++] = p;
      if (colon == NULL)
        break;
      *colon = '\0';
      p = colon + 1;
      if (n == 3)
        arr[n++] = p;
    }
  if (arr[0][0] == '\0')
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid volume specification: '%s'", raw);
  const char *source = "", *target = NULL, *mode = "";
  switch (n)
    {
    case 1:
      target = arr[0];
      break;
    case 2:
      if (valid_mode (arr[1]))
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid volume specification: '%s'", raw);
      source = arr[0];
      target = arr[1];
      break;
    case 3:
      source = arr[0];
      target = arr[1];
      mode = arr[2];
      break;
    default:
      return arca_error_set (err, ARCA_ERR_INVALID, "invalid volume specification: '%s'", raw);
    }
  if (!valid_mode (mode))
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid mode: %s", mode);
  bool bind = source[0] == '/';
  _cleanup_free_ char *ro = mode_find (mode, rw_modes);
  bool rw = ro == NULL || strcmp (ro, "rw") == 0;
  _cleanup_free_ char *nocopy = mode_find (mode, copy_modes);
  _cleanup_free_ char *prop = mode_find (mode, propagation_modes);

  _cleanup_free_ char *why = NULL;
  if (check_target (target, &why) < 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid volume specification: '%s': invalid mount config for type \"%s\": %s",
                           raw, bind ? "bind" : "volume", why);
  if (!bind && !rw && *source == '\0')
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "invalid volume specification: '%s': invalid mount config for type \"volume\": must not set "
                           "ReadOnly mode when using anonymous volumes",
                           raw);
  json_t *mp;
  if (bind)
    {
      _cleanup_free_ char *src = path_clean (source);
      mp = mount_point ("bind", NULL, src, target, mode, rw, prop ? prop : "rprivate");
      json_object_set_new (mp, "_CreateSource", json_true ());
    }
  else
    {
      mp = mount_point ("volume", source, "", target, mode, rw, "");
      json_object_set_new (mp, "Driver", json_string ("local"));
      json_object_set_new (mp, "_CopyData", json_boolean (nocopy == NULL));
    }
  *out = mp;
  return 0;
}

/* ---- --mount ---- */

static json_t *
obj_or_null (json_t *o, const char *key)
{
  json_t *v = json_object_get (o, key);
  return json_is_object (v) ? v : NULL;
}

static int
mount_config_error (arca_error_t *err, const char *type, const char *why)
{
  return arca_error_set (err, ARCA_ERR_INVALID, "invalid mount config for type \"%s\": %s", type ? type : "", why);
}

char *
mounts_tmpfs_data (json_t *o, bool read_only)
{
  arca_buf_t b = { 0 };
  if (read_only)
    buf_printf (&b, "ro");
  json_int_t mode = json_integer_value (json_object_get (o, "Mode"));
  if (mode)
    buf_printf (&b, "%smode=%llo", b.len ? "," : "", (unsigned long long) mode);
  json_int_t size = json_integer_value (json_object_get (o, "SizeBytes"));
  if (size)
    {
      const char *suffix = "";
      static const struct
      {
        const char *s;
        json_int_t d;
      } units[] = { { "g", 1LL << 30 }, { "m", 1LL << 20 }, { "k", 1LL << 10 } };
      for (size_t i = 0; i < 3; i++)
        if (size % units[i].d == 0)
          {
            size /= units[i].d;
            suffix = units[i].s;
            break;
          }
      buf_printf (&b, "%ssize=%lld%s", b.len ? "," : "", (long long) size, suffix);
    }
  json_t *opts = json_object_get (o, "Options");
  size_t i;
  json_t *opt;
  json_array_foreach (opts, i, opt)
    {
      const char *k = json_string_value (json_array_get (opt, 0));
      const char *v = json_string_value (json_array_get (opt, 1));
      if (k && (strcmp (k, "exec") == 0 || strcmp (k, "noexec") == 0))
        buf_printf (&b, "%s%s%s%s", b.len ? "," : "", k, v ? "=" : "", v ? v : "");
    }
  buf_append (&b, "", 1);
  return b.data;
}

int
mounts_parse_mount (json_t *spec, json_t **out, arca_error_t *err)
{
  const char *type = json_get_str (spec, "Type");
  const char *source = json_get_str (spec, "Source");
  const char *target = json_get_str (spec, "Target");
  bool ro = json_get_bool (spec, "ReadOnly", false);
  json_t *bopts = obj_or_null (spec, "BindOptions");
  json_t *vopts = obj_or_null (spec, "VolumeOptions");
  json_t *topts = obj_or_null (spec, "TmpfsOptions");
  if (source == NULL)
    source = "";
  _cleanup_free_ char *why = NULL;
  if (check_target (target, &why) < 0)
    return mount_config_error (err, type, why);

  if (type && strcmp (type, "bind") == 0)
    {
      if (*source == '\0')
        return mount_config_error (err, type, "field Source must not be empty");
      const char *prop = json_get_str (bopts, "Propagation");
      if (prop && *prop && !in_list (prop, propagation_modes))
        {
          _cleanup_free_ char *m = xasprintf ("invalid propagation mode: %s", prop);
          return mount_config_error (err, type, m);
        }
      if (vopts)
        return mount_config_error (err, type, "field VolumeOptions must not be specified");
      if (source[0] != '/')
        {
          _cleanup_free_ char *m = xasprintf ("invalid mount path: '%s' mount path must be absolute", source);
          return mount_config_error (err, type, m);
        }
      bool create = json_get_bool (bopts, "CreateMountpoint", false);
      struct stat st;
      if (!create && stat (source, &st) < 0)
        {
          _cleanup_free_ char *m = xasprintf ("bind mount source path does not exist: %s", source);
          return mount_config_error (err, type, m);
        }
      _cleanup_free_ char *src = path_clean (source);
      json_t *mp = mount_point ("bind", NULL, src, target, "", !ro, prop && *prop ? prop : "rprivate");
      if (create)
        json_object_set_new (mp, "_CreateSource", json_true ());
      *out = mp;
      return 0;
    }
  if (type && strcmp (type, "volume") == 0)
    {
      if (bopts)
        return mount_config_error (err, type, "field BindOptions must not be specified");
      if (ro && *source == '\0')
        return mount_config_error (err, type, "must not set ReadOnly mode when using anonymous volumes");
      const char *subpath = json_get_str (vopts, "Subpath");
      if (subpath && *subpath)
        return arca_error_set (err, ARCA_ERR_NOT_IMPLEMENTED, "volume subpath is not supported");
      json_t *mp = mount_point ("volume", source, "", target, "", !ro, "");
      json_object_set_new (mp, "Driver", json_string ("local"));
      json_object_set_new (mp, "_CopyData", json_boolean (!json_get_bool (vopts, "NoCopy", false)));
      if (vopts)
        json_object_set (mp, "_VolumeOptions", vopts);
      *out = mp;
      return 0;
    }
  if (type && strcmp (type, "tmpfs") == 0)
    {
      if (bopts)
        return mount_config_error (err, type, "field BindOptions must not be specified");
      if (*source)
        return mount_config_error (err, type, "field Source must not be specified");
      json_t *opts = json_object_get (topts, "Options");
      size_t i;
      json_t *opt;
      json_array_foreach (opts, i, opt)
        {
          const char *k = json_string_value (json_array_get (opt, 0));
          if (json_array_size (opt) < 1 || json_array_size (opt) > 2)
            return mount_config_error (err, type, "invalid option array length");
          if (k == NULL || (strcmp (k, "exec") != 0 && strcmp (k, "noexec") != 0))
            {
              _cleanup_free_ char *m = xasprintf ("invalid option: %s", k ? k : "");
              return mount_config_error (err, type, m);
            }
        }
      json_t *mp = mount_point ("tmpfs", NULL, "", target, "", !ro, "");
      char *data = mounts_tmpfs_data (topts, ro);
      json_object_set_new (mp, "_Tmpfs", json_string (data));
      free (data);
      *out = mp;
      return 0;
    }
  return mount_config_error (err, type, "mount type unknown");
}

/* ---- OCI ---- */

/* The kind an option belongs to, for MergeTmpfsOptions: "k" of "k=v", or a
 * flag's class name (exec/noexec are one class). */
static char *
tmpfs_option_key (const char *o)
{
  const char *eq = strchr (o, '=');
  if (eq)
    return strndup (o, (size_t) (eq - o));
  static const char *const pairs[][2] = { { "exec", "noexec" }, { "suid", "nosuid" }, { "dev", "nodev" },
                                          { "rw", "ro" },       { "atime", "noatime" }, { "diratime", "nodiratime" },
                                          { "sync", "async" } };
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
    if (strcmp (o, pairs[i][0]) == 0 || strcmp (o, pairs[i][1]) == 0)
      return xasprintf ("flag:%s", pairs[i][0]);
  if (in_list (o, propagation_modes))
    return xstrdup ("propagation");
  return xstrdup (o);
}

json_t *
mounts_merge_tmpfs_options (json_t *options)
{
  size_t n = json_array_size (options);
  json_t *seen = json_object ();
  json_t *rev = json_array ();
  for (size_t i = n; i-- > 0;)
    {
      const char *o = json_string_value (json_array_get (options, i));
      if (o == NULL || *o == '\0')
        continue;
      _cleanup_free_ char *k = tmpfs_option_key (o);
      if (json_object_get (seen, k))
        continue;
      json_object_set_new (seen, k, json_true ());
      json_array_append_new (rev, json_string (o));
    }
  json_t *out = json_array ();
  for (size_t i = json_array_size (rev); i-- > 0;)
    json_array_append (out, json_array_get (rev, i));
  json_decref (rev);
  json_decref (seen);
  return out;
}

static json_t *
tmpfs_entry (const char *dest, const char *data)
{
  json_t *opts = json_pack ("[s,s,s,s]", "noexec", "nosuid", "nodev", "rprivate");
  _cleanup_free_ char *copy = xstrdup (data ? data : "");
  char *save = NULL;
  for (char *t = strtok_r (copy, ",", &save); t; t = strtok_r (NULL, ",", &save))
    json_array_append_new (opts, json_string (t));
  json_t *merged = mounts_merge_tmpfs_options (opts);
  json_decref (opts);
  return json_pack ("{s:s,s:s,s:s,s:o}", "destination", dest, "type", "tmpfs", "source", "tmpfs", "options", merged);
}

json_t *
mounts_oci_entry (json_t *mp)
{
  const char *type = json_get_str (mp, "Type");
  const char *dest = json_get_str (mp, "Destination");
  if (type && strcmp (type, "tmpfs") == 0)
    return tmpfs_entry (dest, json_get_str (mp, "_Tmpfs"));
  json_t *opts = json_pack ("[s]", "rbind");
  if (!json_get_bool (mp, "RW", true))
    json_array_append_new (opts, json_string ("ro"));
  const char *prop = json_get_str (mp, "Propagation");
  json_array_append_new (opts, json_string (prop && *prop ? prop : "rprivate"));
  return json_pack ("{s:s,s:s,s:s,s:o}", "destination", dest, "type", "bind", "source", json_get_str (mp, "Source"),
                    "options", opts);
}

json_t *
mounts_view (json_t *mounts)
{
  json_t *out = json_array ();
  size_t i;
  json_t *mp;
  json_array_foreach (mounts, i, mp)
    {
      json_t *v = json_object ();
      static const char *const keys[]
          = { "Type", "Name", "Source", "Destination", "Driver", "Mode", "RW", "Propagation", NULL };
      for (size_t k = 0; keys[k]; k++)
        {
          json_t *x = json_object_get (mp, keys[k]);
          if (x)
            json_object_set (v, keys[k], x);
        }
      json_array_append_new (out, v);
    }
  return out;
}

/* ---- resolution at create ---- */

static json_t *
find_dest (json_t *list, const char *dest, size_t *index)
{
  size_t i;
  json_t *mp;
  json_array_foreach (list, i, mp)
    if (strcmp (json_get_str (mp, "Destination"), dest) == 0)
      {
        if (index)
          *index = i;
        return mp;
      }
  return NULL;
}

static void
set_mount (json_t *list, json_t *mp)
{
  size_t i;
  if (find_dest (list, json_get_str (mp, "Destination"), &i))
    json_array_set_new (list, i, mp);
  else
    json_array_append_new (list, mp);
}

/* Give a volume mount point its volume: create (or find) it, set Name,
 * Source and Mode as registerMountPoints does. */
/* HostConfig.VolumeDriver: the driver of the volumes named in Binds and of
 * the anonymous ones (moby registerMountPoints; Mounts carry their own
 * DriverConfig). */
static void
with_volume_driver (json_t *mp, json_t *hc)
{
  const char *driver = json_get_str (hc, "VolumeDriver");
  const char *type = json_get_str (mp, "Type");
  if (driver == NULL || *driver == '\0' || type == NULL || strcmp (type, "volume") != 0)
    return;
  json_t *vopts = json_object_get (mp, "_VolumeOptions");
  if (!json_is_object (vopts))
    json_object_set_new (mp, "_VolumeOptions", vopts = json_object ());
  json_t *dcfg = json_object_get (vopts, "DriverConfig");
  if (!json_is_object (dcfg))
    json_object_set_new (vopts, "DriverConfig", dcfg = json_object ());
  if (json_get_str (dcfg, "Name") == NULL)
    json_object_set_new (dcfg, "Name", json_string (driver));
}

static int
attach_volume (arca_engine_t *e, json_t *mp, bool set_default_mode, json_t *created, arca_error_t *err)
{
  const char *name = json_get_str (mp, "Name");
  bool anonymous = name == NULL || *name == '\0';
  json_t *vopts = json_object_get (mp, "_VolumeOptions");
  json_t *dcfg = obj_or_null (vopts, "DriverConfig");
  _cleanup_json_ json_t *labels = json_is_object (json_object_get (vopts, "Labels"))
                                      ? json_deep_copy (json_object_get (vopts, "Labels"))
                                      : NULL;
  if (anonymous)
    {
      if (labels == NULL)
        labels = json_object ();
      json_object_set_new (labels, ARCA_VOLUME_ANON_LABEL, json_string (""));
    }
  bool existed = !anonymous && volume_exists (e, name);
  _cleanup_free_ char *vname = NULL;
  if (volume_create_locked (e, anonymous ? NULL : name, json_get_str (dcfg, "Name"),
                            json_object_get (dcfg, "Options"), labels, NULL, &vname, err)
      < 0)
    return -1;
  if (!existed)
    json_array_append_new (created, json_string (vname));
  _cleanup_free_ char *src = volume_data_path (e, vname);
  json_object_set_new (mp, "Name", json_string (vname));
  json_object_set_new (mp, "Source", json_string (src));
  json_object_set_new (mp, "Driver", json_string ("local"));
  if (anonymous)
    json_object_set_new (mp, "_Anonymous", json_true ());
  json_object_del (mp, "_VolumeOptions");
  const char *mode = json_get_str (mp, "Mode");
  if (set_default_mode && (mode == NULL || *mode == '\0'))
    json_object_set_new (mp, "Mode", json_string ("z"));
  return 0;
}

static int
add_volumes_from (arca_engine_t *e, arca_container_t *c, json_t *hc, json_t *list, arca_error_t *err)
{
  json_t *vf = json_object_get (hc, "VolumesFrom");
  size_t i;
  json_t *v;
  json_array_foreach (vf, i, v)
    {
      const char *spec = json_string_value (v);
      if (spec == NULL || *spec == '\0')
        return arca_error_set (err, ARCA_ERR_INVALID, "volumes-from specification cannot be an empty string");
      _cleanup_free_ char *id = xstrdup (spec);
      char *colon = strchr (id, ':');
      const char *mode = "rw";
      if (colon)
        {
          *colon = '\0';
          mode = colon + 1;
          if (*mode == '\0')
            mode = "rw";
          _cleanup_free_ char *prop = mode_find (mode, propagation_modes);
          _cleanup_free_ char *cp = mode_find (mode, copy_modes);
          if (!valid_mode (mode) || prop || cp)
            return arca_error_set (err, ARCA_ERR_INVALID, "invalid mode: %s", mode);
        }
      _cleanup_free_ char *ro = mode_find (mode, rw_modes);
      bool rw = ro == NULL || strcmp (ro, "rw") == 0;
      arca_container_t *src;
      if (container_lookup (e, id, &src, err) < 0)
        {
          /* 400, not 404, as dockerd 20.10 answers create (measured): a
           * 404 would make the CLI pull the image. */
          if (err->kind == ARCA_ERR_NOT_FOUND)
            err->kind = ARCA_ERR_INVALID;
          return -1;
        }
      pthread_mutex_lock (&e->lock);
      json_t *copy = json_deep_copy (src->mounts);
      pthread_mutex_unlock (&e->lock);
      container_unref (src);
      size_t j;
      json_t *mp;
      json_array_foreach (copy, j, mp)
        {
          json_t *n = json_deep_copy (mp);
          json_object_set_new (n, "RW", json_boolean (json_get_bool (mp, "RW", true) && rw));
          json_object_set_new (n, "_CopyData", json_false ());
          json_object_del (n, "_CreateSource");
          set_mount (list, n);
        }
      json_decref (copy);
    }
  return 0;
}

/* One -v or --mount entry: refuse a second mount at the same destination,
 * attach its volume, add it to list.  Takes ownership of mp. */
static int
add_user_mount (arca_engine_t *e, json_t *list, json_t *seen, json_t *mp, json_t *created, arca_error_t *err)
{
  const char *dest = json_get_str (mp, "Destination");
  if (json_object_get (seen, dest))
    {
      arca_error_set (err, ARCA_ERR_INVALID, "Duplicate mount point: %s", dest);
      json_decref (mp);
      return -1;
    }
  json_object_set_new (seen, dest, json_true ());
  if (strcmp (json_get_str (mp, "Type"), "volume") == 0 && attach_volume (e, mp, true, created, err) < 0)
    {
      json_decref (mp);
      return -1;
    }
  set_mount (list, mp);
  return 0;
}

static int
resolve_locked (arca_engine_t *e, arca_container_t *c, json_t *list, json_t *created, arca_error_t *err)
{
  _cleanup_json_ json_t *hc = container_host_config (c);
  if (add_volumes_from (e, c, hc, list, err) < 0)
    return -1;

  json_t *seen = json_object (); /* destinations of Binds and Mounts */
  int ret = 0;
  size_t i;
  json_t *v;
  json_array_foreach (json_object_get (hc, "Binds"), i, v)
    {
      json_t *mp = NULL;
      if (!json_is_string (v) || mounts_parse_bind (json_string_value (v), &mp, err) < 0)
        {
          if (!json_is_string (v))
            arca_error_set (err, ARCA_ERR_INVALID, "invalid volume specification: ''");
          ret = -1;
          break;
        }
      with_volume_driver (mp, hc);
      if ((ret = add_user_mount (e, list, seen, mp, created, err)) < 0)
        break;
    }
  if (ret == 0)
    json_array_foreach (json_object_get (hc, "Mounts"), i, v)
      {
        json_t *mp = NULL;
        if (mounts_parse_mount (v, &mp, err) < 0)
          {
            ret = -1;
            break;
          }
        if ((ret = add_user_mount (e, list, seen, mp, created, err)) < 0)
          break;
      }
  json_decref (seen);
  if (ret < 0)
    return -1;

  const char *k;
  json_object_foreach (json_object_get (hc, "Tmpfs"), k, v)
    {
      _cleanup_free_ char *why = NULL;
      if (check_target (k, &why) < 0)
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid tmpfs destination: %s", why);
    }

  /* Config.Volumes: anonymous -v /path and the image's VOLUMEs, each a new
   * anonymous volume unless something is mounted there already. */
  _cleanup_json_ json_t *cfg = container_config (c);
  json_object_foreach (json_object_get (cfg, "Volumes"), k, v)
    {
      _cleanup_free_ char *dest = path_clean (k);
      if (dest[0] != '/' || strcmp (dest, "/") == 0)
        continue;
      if (find_dest (list, dest, NULL) || json_object_get (json_object_get (hc, "Tmpfs"), dest))
        continue;
      json_t *mp = mount_point ("volume", NULL, "", dest, "", true, "");
      json_object_set_new (mp, "_CopyData", json_true ());
      with_volume_driver (mp, hc);
      if (attach_volume (e, mp, false, created, err) < 0)
        {
          json_decref (mp);
          return -1;
        }
      json_array_append_new (list, mp);
    }
  return 0;
}

int
mounts_resolve (arca_engine_t *e, arca_container_t *c, arca_error_t *err)
{
  json_t *list = json_array ();
  json_t *created = json_array ();
  volume_store_lock ();
  int r = resolve_locked (e, c, list, created, err);
  if (r < 0)
    {
      size_t i;
      json_t *n;
      arca_error_t ignored;
      json_array_foreach (created, i, n)
        volume_remove_locked (e, json_string_value (n), true, &ignored);
      json_decref (list);
    }
  else
    {
      pthread_mutex_lock (&e->lock);
      json_decref (c->mounts);
      c->mounts = list;
      pthread_mutex_unlock (&e->lock);
    }
  volume_store_unlock ();
  json_decref (created);
  return r;
}

/* ---- copy-up ---- */

static int copy_tree (int sfd, int dfd, int depth, arca_error_t *err);

static void
copy_times_fd (int fd, const struct stat *st)
{
  struct timespec ts[2] = { st->st_atim, st->st_mtim };
  futimens (fd, ts);
}

/* Regular files and symlinks in their own frames with heap buffers: the
 * directory recursion stays cheap on small thread stacks. */
static __attribute__ ((noinline)) int
copy_regular (int sfd, int dfd, const char *name, const struct stat *st, arca_error_t *err)
{
  _cleanup_close_ int s = openat (sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (s < 0)
    return arca_error_errno (err, errno, "copy-up: open %s", name);
  _cleanup_close_ int d = openat (dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (d < 0)
    return arca_error_errno (err, errno, "copy-up: create %s", name);
  const size_t bufsz = 65536;
  _cleanup_free_ char *buf = xmalloc0 (bufsz);
  ssize_t n;
  while ((n = read (s, buf, bufsz)) > 0)
    for (ssize_t off = 0; off < n;)
      {
        ssize_t w = write (d, buf + off, (size_t) (n - off));
        if (w < 0)
          return arca_error_errno (err, errno, "copy-up: write %s", name);
        off += w;
      }
  if (n < 0)
    return arca_error_errno (err, errno, "copy-up: read %s", name);
  if (fchown (d, st->st_uid, st->st_gid) < 0)
    log_debug ("copy-up: chown %s: %s", name, strerror (errno));
  /* chmod after chown: chown drops set-id bits. */
  fchmod (d, st->st_mode & 07777);
  copy_times_fd (d, st);
  return 0;
}

static __attribute__ ((noinline)) int
copy_symlink (int sfd, int dfd, const char *name, const struct stat *st, arca_error_t *err)
{
  _cleanup_free_ char *target = xmalloc0 (PATH_MAX);
  ssize_t n = readlinkat (sfd, name, target, PATH_MAX - 1);
  if (n < 0)
    return arca_error_errno (err, errno, "copy-up: readlink %s", name);
  target[n] = '\0';
  if (symlinkat (target, dfd, name) < 0)
    return arca_error_errno (err, errno, "copy-up: symlink %s", name);
  if (fchownat (dfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
    log_debug ("copy-up: chown %s: %s", name, strerror (errno));
  struct timespec ts[2] = { st->st_atim, st->st_mtim };
  utimensat (dfd, name, ts, AT_SYMLINK_NOFOLLOW);
  return 0;
}

static int
copy_entry (int sfd, int dfd, const char *name, const struct stat *st, int depth, arca_error_t *err)
{
  if (S_ISDIR (st->st_mode))
    {
      if (mkdirat (dfd, name, 0700) < 0 && errno != EEXIST)
        return arca_error_errno (err, errno, "copy-up: mkdir %s", name);
      int s = openat (sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int d = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int r = 0;
      if (s < 0 || d < 0)
        r = arca_error_errno (err, errno, "copy-up: open %s", name);
      else
        r = copy_tree (s, d, depth + 1, err);
      if (r == 0)
        {
          if (fchown (d, st->st_uid, st->st_gid) < 0)
            log_debug ("copy-up: chown %s: %s", name, strerror (errno));
          fchmod (d, st->st_mode & 07777);
          copy_times_fd (d, st);
        }
      if (s >= 0)
        close (s);
      if (d >= 0)
        close (d);
      return r;
    }
  if (S_ISREG (st->st_mode))
    return copy_regular (sfd, dfd, name, st, err);
  if (S_ISLNK (st->st_mode))
    return copy_symlink (sfd, dfd, name, st, err);
  /* fifos, sockets, device nodes */
  if (mknodat (dfd, name, st->st_mode, st->st_rdev) < 0)
    {
      log_warn ("copy-up: mknod %s: %s", name, strerror (errno));
      return 0;
    }
  if (fchownat (dfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
    log_debug ("copy-up: chown %s: %s", name, strerror (errno));
  fchmodat (dfd, name, st->st_mode & 07777, 0);
  return 0;
}

static int
copy_tree (int sfd, int dfd, int depth, arca_error_t *err)
{
  if (depth > 256)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "copy-up: directory tree too deep");
  int dup_fd = dup (sfd);
  if (dup_fd < 0)
    return arca_error_errno (err, errno, "copy-up: dup");
  _cleanup_closedir_ DIR *d = fdopendir (dup_fd);
  if (d == NULL)
    {
      close (dup_fd);
      return arca_error_errno (err, errno, "copy-up: opendir");
    }
  struct dirent *de;
  while ((de = readdir (d)))
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      struct stat st;
      if (fstatat (sfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (copy_entry (sfd, dfd, de->d_name, &st, depth, err) < 0)
        return -1;
    }
  return 0;
}

static bool
dir_empty (int fd)
{
  int dup_fd = dup (fd);
  if (dup_fd < 0)
    return false;
  _cleanup_closedir_ DIR *d = fdopendir (dup_fd);
  if (d == NULL)
    {
      close (dup_fd);
      return false;
    }
  struct dirent *de;
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      return false;
  return true;
}

/* copyExistingContents: only into an empty volume; then the volume's root
 * takes the owner and mode of the image's directory (copyOwnership). */
static int
copy_up (const char *rootfs, const char *dest, const char *volume_path, arca_error_t *err)
{
  _cleanup_close_ int rootfd = open (rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return arca_error_errno (err, errno, "open %s", rootfs);
  _cleanup_close_ int sfd = archive_open_in_root (rootfd, dest, O_RDONLY | O_DIRECTORY, 0);
  if (sfd < 0)
    return 0; /* nothing (or no directory) at the path in the image */
  _cleanup_close_ int dfd = open (volume_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return arca_error_errno (err, errno, "open %s", volume_path);
  if (!dir_empty (dfd))
    return 0;
  if (copy_tree (sfd, dfd, 0, err) < 0)
    return -1;
  struct stat st;
  if (fstat (sfd, &st) == 0)
    {
      if (fchown (dfd, st.st_uid, st.st_gid) < 0)
        log_debug ("copy-up: chown %s: %s", volume_path, strerror (errno));
      fchmod (dfd, st.st_mode & 07777);
    }
  return 0;
}

/* ---- start / exit / remove ---- */

int
mounts_prepare (arca_engine_t *e, arca_container_t *c, const char *rootfs, json_t **oci, arca_error_t *err)
{
  pthread_mutex_lock (&e->lock);
  _cleanup_json_ json_t *mounts = c->mounts ? json_deep_copy (c->mounts) : json_array ();
  _cleanup_json_ json_t *hc = container_host_config (c);
  _cleanup_json_ json_t *tmpfs = json_incref (json_object_get (hc, "Tmpfs"));
  pthread_mutex_unlock (&e->lock);

  bool changed = false;
  _cleanup_json_ json_t *out = json_array ();
  size_t i;
  json_t *mp;
  json_array_foreach (mounts, i, mp)
    {
      const char *type = json_get_str (mp, "Type");
      if (strcmp (type, "volume") == 0)
        {
          const char *name = json_get_str (mp, "Name");
          if (volume_mount (e, name, err) < 0)
            return -1;
          if (json_get_bool (mp, "_CopyData", false))
            {
              if (copy_up (rootfs, json_get_str (mp, "Destination"), json_get_str (mp, "Source"), err) < 0)
                return -1;
              /* dockerd fills a volume only when first mounted. */
              json_object_set_new (mp, "_CopyData", json_false ());
              changed = true;
            }
        }
      else if (strcmp (type, "bind") == 0)
        {
          const char *src = json_get_str (mp, "Source");
          struct stat st;
          if (json_get_bool (mp, "_CreateSource", false) && stat (src, &st) < 0 && errno == ENOENT
              && fs_mkdir_p (src, 0755, err) < 0)
            return arca_error_wrap (err, "error while creating mount source path '%s'", src);
        }
      json_array_append_new (out, mounts_oci_entry (mp));
    }
  const char *k;
  json_t *v;
  json_object_foreach (tmpfs, k, v)
    {
      _cleanup_free_ char *dest = path_clean (k);
      json_array_append_new (out, tmpfs_entry (dest, json_string_value (v)));
    }
  if (changed)
    {
      arca_error_t serr;
      pthread_mutex_lock (&e->lock);
      json_decref (c->mounts);
      c->mounts = json_incref (mounts);
      if (!c->removed && container_save (e, c, &serr) < 0)
        log_warn ("container %.12s: save mounts: %s", c->id, serr.msg);
      pthread_mutex_unlock (&e->lock);
    }
  *oci = arca_steal (out);
  return 0;
}

static json_t *
mounts_copy (arca_engine_t *e, arca_container_t *c)
{
  pthread_mutex_lock (&e->lock);
  json_t *m = c->mounts ? json_deep_copy (c->mounts) : json_array ();
  pthread_mutex_unlock (&e->lock);
  return m;
}

void
mounts_release (arca_engine_t *e, arca_container_t *c)
{
  _cleanup_json_ json_t *mounts = mounts_copy (e, c);
  size_t i;
  json_t *mp;
  json_array_foreach (mounts, i, mp)
    if (strcmp (json_get_str (mp, "Type"), "volume") == 0)
      volume_release (e, json_get_str (mp, "Name"), c->id);
}

void
mounts_remove_anonymous (arca_engine_t *e, arca_container_t *c)
{
  _cleanup_json_ json_t *mounts = mounts_copy (e, c);
  size_t i;
  json_t *mp;
  json_array_foreach (mounts, i, mp)
    {
      if (strcmp (json_get_str (mp, "Type"), "volume") != 0 || !json_get_bool (mp, "_Anonymous", false))
        continue;
      arca_error_t err;
      /* In use elsewhere (--volumes-from) is not an error: it stays. */
      if (volume_remove (e, json_get_str (mp, "Name"), true, &err) < 0 && err.kind != ARCA_ERR_CONFLICT)
        log_warn ("container %.12s: remove volume %s: %s", c->id, json_get_str (mp, "Name"), err.msg);
    }
}
