/* The volume store and the local volume driver (moby volume/service,
 * volume/local): records in SQLite, content under <data-root>/volumes. */
#include "engine/volumes.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/events.h"
#include "engine/internal.h"
#include "store/volumes.h"
#include "util/cleanup.h"
#include "util/crashpoint.h"
#include "util/filters.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timeutil.h"

static pthread_mutex_t store_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

void volume_store_lock (void) { pthread_mutex_lock (&store_lock); }
void volume_store_unlock (void) { pthread_mutex_unlock (&store_lock); }

static char *
volume_dir (arca_engine_t *e, const char *name)
{
  return xasprintf ("%s/volumes/%s", e->data_root, name);
}

char *
volume_data_path (arca_engine_t *e, const char *name)
{
  return xasprintf ("%s/volumes/%s/_data", e->data_root, name);
}

/* ---- records ---- */

static json_t *
record_load (arca_engine_t *e, const char *name)
{
  json_t *rec = NULL;
  arca_error_t err;
  if (arca_store_volume_get (e->db, name, &rec, &err) < 0)
    {
      log_error ("volume %s: %s", name, err.msg);
      return NULL;
    }
  return rec;
}

static json_t *
records_all (arca_engine_t *e, arca_error_t *err)
{
  json_t *out = NULL;
  if (arca_store_volumes_list (e->db, &out, err) < 0)
    return NULL;
  return out;
}

bool
volume_exists (arca_engine_t *e, const char *name)
{
  _cleanup_json_ json_t *rec = record_load (e, name);
  return rec != NULL;
}

/* dockerd formats CreatedAt with time.RFC3339 in the daemon's zone. */
static void
format_created (int64_t ns, char *buf, size_t len)
{
  time_t t = (time_t) (ns / ARCA_NSEC_PER_SEC);
  struct tm tm;
  localtime_r (&t, &tm);
  size_t n = strftime (buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
  if (tm.tm_gmtoff == 0)
    snprintf (buf + n, len - n, "Z");
  else
    {
      long off = tm.tm_gmtoff;
      char sign = off < 0 ? '-' : '+';
      if (off < 0)
        off = -off;
      snprintf (buf + n, len - n, "%c%02ld:%02ld", sign, off / 3600, (off % 3600) / 60);
    }
}

/* Labels and Options as given at create: {} stays {}, absent is null
 * (dockerd keeps the request's maps). */
static json_t *
null_if_empty (json_t *o)
{
  return json_is_object (o) ? json_deep_copy (o) : json_null ();
}

static json_t *
record_view (arca_engine_t *e, json_t *rec)
{
  const char *name = json_get_str (rec, "Name");
  char created[64];
  format_created (json_get_int (rec, "CreatedAt", 0), created, sizeof created);
  _cleanup_free_ char *mp = volume_data_path (e, name);
  return json_pack ("{s:s,s:s,s:o,s:s,s:s,s:o,s:s}", "CreatedAt", created, "Driver", "local", "Labels",
                    null_if_empty (json_object_get (rec, "Labels")), "Mountpoint", mp, "Name", name, "Options",
                    null_if_empty (json_object_get (rec, "Options")), "Scope", "local");
}

/* ---- validation (volume/local validateName, validateOpts) ---- */

static int
validate_name (const char *name, arca_error_t *err)
{
  if (strlen (name) == 1)
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "create %s: volume name is too short, names should be at least two alphanumeric characters",
                           name);
  bool ok = isalnum ((unsigned char) name[0]);
  for (const char *c = name + 1; ok && *c; c++)
    ok = isalnum ((unsigned char) *c) || *c == '_' || *c == '.' || *c == '-';
  if (!ok)
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "create %s: \"%s\" includes invalid characters for a local volume name, only "
                           "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, "
                           "use absolute path",
                           name, name);
  return 0;
}

static int
validate_opts (const char *name, json_t *opts, arca_error_t *err)
{
  const char *k;
  json_t *v;
  json_object_foreach (opts, k, v)
    {
      if (strcmp (k, "type") != 0 && strcmp (k, "o") != 0 && strcmp (k, "device") != 0 && strcmp (k, "size") != 0)
        return arca_error_set (err, ARCA_ERR_INVALID, "create %s: invalid option: \"%s\"", name, k);
      if (!json_is_string (v))
        return arca_error_set (err, ARCA_ERR_INVALID, "create %s: invalid option: \"%s\"", name, k);
    }
  if (json_object_get (opts, "size"))
    return arca_error_set (err, ARCA_ERR_INVALID, "create %s: quota size requested but no quota support", name);
  /* mandatoryOpts: device needs type, type needs device, o needs both. */
  static const char *const req[][3] = { { "device", "type", NULL }, { "type", "device", NULL }, { "o", "device", "type" } };
  for (size_t i = 0; i < 3; i++)
    if (json_object_get (opts, req[i][0]))
      for (size_t j = 1; j < 3 && req[i][j]; j++)
        if (json_object_get (opts, req[i][j]) == NULL)
          return arca_error_set (err, ARCA_ERR_INVALID, "create %s: missing required option: \"%s\"", name,
                                 req[i][j]);
  return 0;
}

/* ---- create ---- */

int
volume_create_locked (arca_engine_t *e, const char *name, const char *driver, json_t *driver_opts, json_t *labels,
                      json_t **out, char **name_out, arca_error_t *err)
{
  char gen[65];
  if (name == NULL || *name == '\0')
    {
      container_id_generate (gen);
      name = gen;
    }
  else if (validate_name (name, err) < 0)
    return -1;
  if (driver && *driver && strcmp (driver, "local") != 0)
    return arca_error_set (err, ARCA_ERR_NOT_FOUND,
                           "create %s: error looking up volume plugin %s: plugin \"%s\" not found", name, driver,
                           driver);

  _cleanup_json_ json_t *existing = record_load (e, name);
  if (existing)
    {
      if (out)
        *out = record_view (e, existing);
      if (name_out)
        *name_out = xstrdup (name);
      return 0;
    }
  json_t *opts = json_is_object (driver_opts) ? driver_opts : NULL;
  if (opts && validate_opts (name, opts, err) < 0)
    return -1;
  json_t *lbl = json_is_object (labels) ? labels : NULL;
  {
    const char *k;
    json_t *v;
    json_object_foreach (lbl, k, v)
      if (!json_is_string (v))
        return arca_error_set (err, ARCA_ERR_INVALID, "create %s: invalid label \"%s\"", name, k);
  }

  _cleanup_free_ char *data = volume_data_path (e, name);
  if (fs_mkdir_p (data, 0755, err) < 0)
    return -1;
  /* The volume directory itself is private to root, _data keeps 0755
   * (volume/local Create: rootPath 0701, path 0755). */
  _cleanup_free_ char *dir = volume_dir (e, name);
  chmod (dir, 0701);

  _cleanup_json_ json_t *rec = json_pack ("{s:s,s:s,s:O,s:O,s:I}", "Name", name, "Driver", "local", "Labels",
                                          lbl ? lbl : json_null (), "Options", opts ? opts : json_null (),
                                          "CreatedAt", (json_int_t) time_now_ns ());
  crashpoint ("volume-create-dir"); /* the directory, no row yet: swept */
  /* The commit point (docs/design.md "Crash consistency"). */
  if (arca_store_volume_insert (e->db, name, rec, err) < 0)
    {
      arca_error_t ignored;
      fs_remove_all (dir, &ignored);
      return -1;
    }
  log_debug ("volume %s created", name);
  events_volume (e, "create", name, "driver", "local", NULL); /* events */
  if (out)
    *out = record_view (e, rec);
  if (name_out)
    *name_out = xstrdup (name);
  return 0;
}

int
volume_create (arca_engine_t *e, const char *name, const char *driver, json_t *driver_opts, json_t *labels,
               json_t **out, arca_error_t *err)
{
  /* A volume created without a name is anonymous (moby volume service
   * Create adds AnonymousLabel), so a plain `volume prune` removes it. */
  _cleanup_json_ json_t *anon_labels = NULL;
  if (name == NULL || *name == '\0')
    {
      anon_labels = json_is_object (labels) ? json_deep_copy (labels) : json_object ();
      json_object_set_new (anon_labels, ARCA_VOLUME_ANON_LABEL, json_string (""));
      labels = anon_labels;
    }
  volume_store_lock ();
  int r = volume_create_locked (e, name, driver, driver_opts, labels, out, NULL, err);
  volume_store_unlock ();
  return r;
}

int
volume_inspect (arca_engine_t *e, const char *name, json_t **out, arca_error_t *err)
{
  _cleanup_json_ json_t *rec = record_load (e, name);
  if (rec == NULL)
    return arca_error_set (err, ARCA_ERR_NOT_FOUND, "get %s: no such volume", name);
  *out = record_view (e, rec);
  return 0;
}

/* ---- users ---- */

char **
volume_users (arca_engine_t *e, const char *name, bool running_only, const char *except_id)
{
  char **ids = NULL;
  pthread_mutex_lock (&e->lock);
  for (arca_container_t *c = e->containers; c; c = c->next)
    {
      if (c->removed || (except_id && strcmp (c->id, except_id) == 0))
        continue;
      if (running_only && !c->running && !c->starting)
        continue;
      size_t i;
      json_t *m;
      json_array_foreach (c->mounts, i, m)
        {
          const char *t = json_get_str (m, "Type");
          const char *n = json_get_str (m, "Name");
          if (t && n && strcmp (t, "volume") == 0 && strcmp (n, name) == 0)
            {
              ids = strv_append (ids, c->id);
              break;
            }
        }
    }
  pthread_mutex_unlock (&e->lock);
  return ids;
}

/* ---- mount / unmount of option volumes ---- */

static bool
needs_mount (json_t *rec)
{
  json_t *o = json_object_get (rec, "Options");
  return json_get_str (o, "type") || json_get_str (o, "device");
}

static bool
is_mounted (const char *path)
{
  _cleanup_fclose_ FILE *f = fopen ("/proc/self/mountinfo", "re");
  if (f == NULL)
    return false;
  char *line = NULL;
  size_t cap = 0;
  bool found = false;
  while (!found && getline (&line, &cap, f) > 0)
    {
      /* field 5 is the mount point (octal escapes for spaces; our paths have none). */
      char *save = NULL, *tok = strtok_r (line, " ", &save);
      for (int i = 1; tok && i < 5; i++)
        tok = strtok_r (NULL, " ", &save);
      if (tok && strcmp (tok, path) == 0)
        found = true;
    }
  free (line);
  return found;
}

/* moby/sys/mount parseOptions: flag words become MS_* flags, the rest the
 * data string. */
static unsigned long
parse_mount_options (const char *o, char **data)
{
  static const struct
  {
    const char *name;
    bool clear;
    unsigned long flag;
  } flags[] = {
    { "defaults", false, 0 },     { "ro", false, MS_RDONLY },       { "rw", true, MS_RDONLY },
    { "suid", true, MS_NOSUID },  { "nosuid", false, MS_NOSUID },   { "dev", true, MS_NODEV },
    { "nodev", false, MS_NODEV }, { "exec", true, MS_NOEXEC },      { "noexec", false, MS_NOEXEC },
    { "sync", false, MS_SYNCHRONOUS }, { "async", true, MS_SYNCHRONOUS }, { "dirsync", false, MS_DIRSYNC },
    { "remount", false, MS_REMOUNT }, { "mand", false, MS_MANDLOCK }, { "nomand", true, MS_MANDLOCK },
    { "atime", true, MS_NOATIME }, { "noatime", false, MS_NOATIME }, { "diratime", true, MS_NODIRATIME },
    { "nodiratime", false, MS_NODIRATIME }, { "bind", false, MS_BIND }, { "rbind", false, MS_BIND | MS_REC },
    { "relatime", false, MS_RELATIME }, { "norelatime", true, MS_RELATIME },
    { "strictatime", false, MS_STRICTATIME }, { "nostrictatime", true, MS_STRICTATIME },
  };
  unsigned long f = 0;
  arca_buf_t d = { 0 };
  _cleanup_free_ char *copy = xstrdup (o ? o : "");
  char *save = NULL;
  for (char *t = strtok_r (copy, ",", &save); t; t = strtok_r (NULL, ",", &save))
    {
      bool known = false;
      for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (strcmp (t, flags[i].name) == 0)
          {
            known = true;
            if (flags[i].clear)
              f &= ~flags[i].flag;
            else
              f |= flags[i].flag;
          }
      if (!known)
        {
          if (d.len)
            buf_append (&d, ",", 1);
          buf_append (&d, t, strlen (t));
        }
    }
  if (d.len)
    buf_append (&d, "", 1);
  *data = d.data; /* NULL when there is no data */
  return f;
}

int
volume_mount (arca_engine_t *e, const char *name, arca_error_t *err)
{
  volume_store_lock ();
  _cleanup_json_ json_t *rec = record_load (e, name);
  int r = 0;
  if (rec == NULL)
    r = arca_error_set (err, ARCA_ERR_NOT_FOUND, "get %s: no such volume", name);
  else if (needs_mount (rec))
    {
      _cleanup_free_ char *path = volume_data_path (e, name);
      if (!is_mounted (path))
        {
          json_t *o = json_object_get (rec, "Options");
          const char *dev = json_get_str (o, "device");
          const char *type = json_get_str (o, "type");
          _cleanup_free_ char *data = NULL;
          unsigned long flags = parse_mount_options (json_get_str (o, "o"), &data);
          fs_mkdir_p (path, 0755, err);
          if (dev == NULL || *dev == '\0')
            r = arca_error_set (err, ARCA_ERR_INTERNAL, "missing device in volume options");
          else if (mount (dev, path, type && *type ? type : "none", flags, data) < 0)
            r = arca_error_errno (err, errno, "failed to mount local volume: mount %s:%s, flags: 0x%lx, data: %s",
                                  dev, path, flags, data ? data : "");
          /* A bind mount ignores MS_RDONLY at first: apply it by a remount. */
          else if ((flags & MS_BIND) && (flags & MS_RDONLY)
                   && mount (NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
            log_warn ("volume %s: remount read-only: %s", name, strerror (errno));
        }
    }
  volume_store_unlock ();
  return r;
}

static void
unmount_volume (arca_engine_t *e, json_t *rec)
{
  if (!needs_mount (rec))
    return;
  _cleanup_free_ char *path = volume_data_path (e, json_get_str (rec, "Name"));
  if (is_mounted (path) && umount2 (path, MNT_DETACH) < 0)
    log_warn ("volume %s: unmount: %s", json_get_str (rec, "Name"), strerror (errno));
}

void
volume_release (arca_engine_t *e, const char *name, const char *except_id)
{
  volume_store_lock ();
  _cleanup_json_ json_t *rec = record_load (e, name);
  if (rec && needs_mount (rec))
    {
      _cleanup_strv_ char **users = volume_users (e, name, true, except_id);
      if (users == NULL)
        unmount_volume (e, rec);
    }
  volume_store_unlock ();
}

/* ---- remove ---- */

int
volume_remove_locked (arca_engine_t *e, const char *name, bool force, arca_error_t *err)
{
  _cleanup_json_ json_t *rec = record_load (e, name);
  if (rec == NULL)
    {
      if (force)
        return 0;
      return arca_error_set (err, ARCA_ERR_NOT_FOUND, "get %s: no such volume", name);
    }
  _cleanup_strv_ char **users = volume_users (e, name, false, NULL);
  if (users)
    {
      arca_buf_t b = { 0 };
      for (size_t i = 0; users[i]; i++)
        {
          if (i)
            buf_append (&b, ", ", 2);
          buf_append (&b, users[i], strlen (users[i]));
        }
      buf_append (&b, "", 1);
      arca_error_set (err, ARCA_ERR_CONFLICT, "remove %s: volume is in use - [%s]", name, b.data);
      buf_free (&b);
      return -1;
    }
  unmount_volume (e, rec);
  if (arca_store_volume_delete (e->db, name, err) < 0)
    return -1;
  crashpoint ("volume-rm-row-deleted"); /* no row, the directory left: swept */
  _cleanup_free_ char *dir = volume_dir (e, name);
  arca_error_t ignored;
  if (fs_remove_all (dir, &ignored) < 0)
    log_warn ("volume %s: remove %s: %s", name, dir, ignored.msg);
  log_debug ("volume %s removed", name);
  events_volume (e, "destroy", name, "driver", "local", NULL); /* events */
  return 0;
}

int
volume_remove (arca_engine_t *e, const char *name, bool force, arca_error_t *err)
{
  volume_store_lock ();
  int r = volume_remove_locked (e, name, force, err);
  volume_store_unlock ();
  return r;
}

/* ---- list, prune, df ---- */

static bool
bool_value (const char *v, bool *out)
{
  if (strcasecmp (v, "true") == 0 || strcmp (v, "1") == 0)
    *out = true;
  else if (strcasecmp (v, "false") == 0 || strcmp (v, "0") == 0)
    *out = false;
  else
    return false;
  return true;
}

/* label! values: none may match (moby filters "label!"). */
static bool
match_not_labels (json_t *filters, json_t *labels)
{
  _cleanup_strv_ char **vals = filters_values (filters, "label!");
  for (size_t i = 0; vals && vals[i]; i++)
    {
      char *eq = strchr (vals[i], '=');
      _cleanup_free_ char *k = eq ? strndup (vals[i], (size_t) (eq - vals[i])) : xstrdup (vals[i]);
      const char *have = json_get_str (labels, k);
      if (have && (eq == NULL || strcmp (have, eq + 1) == 0))
        return false;
    }
  return true;
}

int
volume_list (arca_engine_t *e, json_t *filters, json_t **out, arca_error_t *err)
{
  static const char *const allowed[] = { "name", "label", "label!", "dangling", "driver", NULL };
  if (filters_validate (filters, allowed, err) < 0)
    return -1;
  _cleanup_strv_ char **dangling = filters_values (filters, "dangling");
  int want_dangling = -1;
  for (size_t i = 0; dangling && dangling[i]; i++)
    {
      bool b;
      if (!bool_value (dangling[i], &b))
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid filter 'dangling=%s'", dangling[i]);
      want_dangling = b;
    }
  _cleanup_strv_ char **names = filters_values (filters, "name");
  _cleanup_strv_ char **drivers = filters_values (filters, "driver");
  _cleanup_json_ json_t *recs = records_all (e, err);
  if (recs == NULL)
    return -1;
  json_t *list = json_array ();
  size_t i;
  json_t *rec;
  json_array_foreach (recs, i, rec)
    {
      const char *name = json_get_str (rec, "Name");
      json_t *labels = json_object_get (rec, "Labels");
      if (names)
        {
          bool any = false;
          for (size_t j = 0; names[j] && !any; j++)
            any = filters_regex_match (names[j], name); /* moby filters.Args.Match */
          if (!any)
            continue;
        }
      if (drivers)
        {
          bool any = false;
          for (size_t j = 0; drivers[j] && !any; j++)
            any = strcmp (drivers[j], "local") == 0;
          if (!any)
            continue;
        }
      if (!filters_match_labels (filters, labels) || !match_not_labels (filters, labels))
        continue;
      if (want_dangling >= 0)
        {
          _cleanup_strv_ char **users = volume_users (e, name, false, NULL);
          if ((users == NULL) != (bool) want_dangling)
            continue;
        }
      json_array_append_new (list, record_view (e, rec));
    }
  *out = json_pack ("{s:o,s:n}", "Volumes", list, "Warnings");
  return 0;
}

/* Bytes used under path (regular files' sizes, as dockerd's directory size:
 * hard links counted once). */
static int64_t
dir_size_at (int dfd, int depth)
{
  if (depth > 64)
    return 0;
  DIR *d = fdopendir (dfd);
  if (d == NULL)
    {
      close (dfd);
      return 0;
    }
  int64_t total = 0;
  struct dirent *de;
  while ((de = readdir (d)))
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      struct stat st;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (S_ISDIR (st.st_mode))
        {
          int sub = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub >= 0)
            total += dir_size_at (sub, depth + 1);
        }
      else if (st.st_nlink <= 1 || S_ISREG (st.st_mode))
        total += st.st_size;
    }
  closedir (d);
  return total;
}

static int64_t
volume_size (arca_engine_t *e, const char *name)
{
  _cleanup_free_ char *path = volume_data_path (e, name);
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return fd < 0 ? 0 : dir_size_at (fd, 0);
}

int
volumes_prune (arca_engine_t *e, json_t *filters, json_t **out, arca_error_t *err)
{
  static const char *const allowed[] = { "label", "label!", "all", NULL };
  if (filters_validate (filters, allowed, err) < 0)
    return -1;
  bool all = false;
  _cleanup_strv_ char **allv = filters_values (filters, "all");
  for (size_t i = 0; allv && allv[i]; i++)
    if (!bool_value (allv[i], &all))
      return arca_error_set (err, ARCA_ERR_INVALID, "invalid filter 'all=%s': invalid value", allv[i]);

  volume_store_lock ();
  _cleanup_json_ json_t *recs = records_all (e, err);
  if (recs == NULL)
    {
      volume_store_unlock ();
      return -1;
    }
  json_t *deleted = json_array ();
  int64_t reclaimed = 0;
  size_t i;
  json_t *rec;
  json_array_foreach (recs, i, rec)
    {
      const char *name = json_get_str (rec, "Name");
      json_t *labels = json_object_get (rec, "Labels");
      if (!all && json_object_get (labels, ARCA_VOLUME_ANON_LABEL) == NULL)
        continue;
      if (!filters_match_labels (filters, labels) || !match_not_labels (filters, labels))
        continue;
      _cleanup_strv_ char **users = volume_users (e, name, false, NULL);
      if (users)
        continue;
      int64_t size = volume_size (e, name);
      arca_error_t rerr;
      if (volume_remove_locked (e, name, false, &rerr) < 0)
        {
          log_warn ("prune volume %s: %s", name, rerr.msg);
          continue;
        }
      reclaimed += size;
      json_array_append_new (deleted, json_string (name));
    }
  volume_store_unlock ();
  events_prune (e, "volume", reclaimed); /* events */
  *out = json_pack ("{s:o,s:I}", "VolumesDeleted", deleted, "SpaceReclaimed", (json_int_t) reclaimed);
  return 0;
}

int
volumes_df (arca_engine_t *e, json_t **out, arca_error_t *err)
{
  _cleanup_json_ json_t *recs = records_all (e, err);
  if (recs == NULL)
    return -1;
  json_t *list = json_array ();
  size_t i;
  json_t *rec;
  json_array_foreach (recs, i, rec)
    {
      const char *name = json_get_str (rec, "Name");
      json_t *v = record_view (e, rec);
      _cleanup_strv_ char **users = volume_users (e, name, false, NULL);
      json_object_set_new (v, "UsageData", json_pack ("{s:I,s:I}", "Size", (json_int_t) volume_size (e, name),
                                                       "RefCount", (json_int_t) strv_len (users)));
      json_array_append_new (list, v);
    }
  *out = list;
  return 0;
}

/* Start-up recovery: a volume directory no row owns is a create cut short
 * before its row was written, or a removal after its row went (the row is
 * the commit point of both).  Remove it, unmounting an option volume's
 * mount first. */
void
volumes_reconcile (arca_engine_t *e)
{
  _cleanup_free_ char *root = xasprintf ("%s/volumes", e->data_root);
  _cleanup_closedir_ DIR *d = opendir (root);
  if (d == NULL)
    return;
  struct dirent *de;
  while ((de = readdir (d)))
    {
      if (de->d_name[0] == '.' || de->d_type != DT_DIR)
        continue;
      _cleanup_json_ json_t *rec = record_load (e, de->d_name);
      if (rec)
        continue;
      _cleanup_free_ char *data = volume_data_path (e, de->d_name);
      if (is_mounted (data))
        umount2 (data, MNT_DETACH);
      _cleanup_free_ char *dir = volume_dir (e, de->d_name);
      arca_error_t err;
      if (fs_remove_all (dir, &err) < 0)
        log_warn ("remove leftover volume directory %s: %s", dir, err.msg);
      else
        log_info ("removed leftover volume directory %s", dir);
    }
}
