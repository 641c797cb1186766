/* Devices of a container (moby daemon/oci_linux.go WithDevices,
 * oci/devices_linux.go DevicesFromPath, oci/oci.go
 * AppendDevicePermissionsFromCgroupRules, daemon/devices.go). */
#include "runtime/spec_internal.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"

static json_t *
device_rule (bool allow, const char *type, long major, long minor)
{
  json_t *r = json_pack ("{s:b}", "allow", allow);
  if (type)
    json_object_set_new (r, "type", json_string (type));
  if (major >= 0)
    json_object_set_new (r, "major", json_integer (major));
  if (minor >= 0)
    json_object_set_new (r, "minor", json_integer (minor));
  json_object_set_new (r, "access", json_string ("rwm"));
  return r;
}

/* oci/defaults.go: deny all, allow the few devices every container gets,
 * explicitly deny fuse. */
static json_t *
default_device_rules (void)
{
  json_t *d = json_array ();
  json_array_append_new (d, device_rule (false, NULL, -1, -1));
  static const int allowed[][2] = { { 1, 5 }, { 1, 3 }, { 1, 9 }, { 1, 8 }, { 5, 0 }, { 5, 1 } };
  for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
    json_array_append_new (d, device_rule (true, "c", allowed[i][0], allowed[i][1]));
  json_array_append_new (d, device_rule (false, "c", 10, 229));
  return d;
}

/* Privileged: every host device node (runc devices.HostDevices skips these). */
static void
host_devices_walk (const char *dir, json_t *out, int depth)
{
  static const char *const skip[] = { "pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev", NULL };
  _cleanup_closedir_ DIR *d = opendir (dir);
  if (d == NULL || depth > 8)
    return;
  struct dirent *de;
  while ((de = readdir (d)))
    {
      if (de->d_name[0] == '.' && (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
        continue;
      _cleanup_free_ char *p = xasprintf ("%s/%s", dir, de->d_name);
      struct stat st;
      if (lstat (p, &st) < 0)
        continue;
      if (S_ISDIR (st.st_mode))
        {
          bool skipped = false;
          for (const char *const *s = skip; *s && !skipped; s++)
            skipped = strcmp (de->d_name, *s) == 0;
          if (!skipped)
            host_devices_walk (p, out, depth + 1);
          continue;
        }
      if (strcmp (p, "/dev/console") == 0)
        continue;
      if (!S_ISCHR (st.st_mode) && !S_ISBLK (st.st_mode))
        continue;
      json_array_append_new (out, json_pack ("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "path", p, "type",
                                             S_ISCHR (st.st_mode) ? "c" : "b", "major",
                                             (json_int_t) major (st.st_rdev), "minor", (json_int_t) minor (st.st_rdev),
                                             "fileMode", (json_int_t) (st.st_mode & 07777), "uid",
                                             (json_int_t) st.st_uid, "gid", (json_int_t) st.st_gid));
    }
}


/* containerd DeviceFromPath: a char or block device node at path (not
 * followed if a link), as an OCI device at dest.  -1 with errno (ENOTBLK
 * for "not a device node"). */
static json_t *
device_from_path (const char *path, const char *dest)
{
  struct stat st;
  if (lstat (path, &st) < 0)
    return NULL;
  if (!S_ISCHR (st.st_mode) && !S_ISBLK (st.st_mode))
    {
      errno = ENOTBLK;
      return NULL;
    }
  return json_pack ("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "path", dest, "type", S_ISCHR (st.st_mode) ? "c" : "b",
                    "major", (json_int_t) major (st.st_rdev), "minor", (json_int_t) minor (st.st_rdev), "fileMode",
                    (json_int_t) (st.st_mode & 07777), "uid", (json_int_t) st.st_uid, "gid", (json_int_t) st.st_gid);
}

static json_t *
device_permission (json_t *dev, const char *access)
{
  return json_pack ("{s:b, s:O, s:O, s:O, s:s}", "allow", true, "type", json_object_get (dev, "type"), "major",
                    json_object_get (dev, "major"), "minor", json_object_get (dev, "minor"), "access", access);
}

/* A directory: every device node below it, mapped under dest. */
static void
devices_in_dir (const char *dir, const char *dest, const char *access, json_t *devs, json_t *perms, int depth)
{
  _cleanup_closedir_ DIR *d = opendir (dir);
  if (d == NULL || depth > 16)
    return;
  struct dirent *de;
  while ((de = readdir (d)))
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      _cleanup_free_ char *p = xasprintf ("%s/%s", dir, de->d_name);
      _cleanup_free_ char *q = xasprintf ("%s/%s", dest, de->d_name);
      struct stat st;
      if (lstat (p, &st) < 0)
        continue;
      if (S_ISDIR (st.st_mode))
        {
          devices_in_dir (p, q, access, devs, perms, depth + 1);
          continue;
        }
      json_t *dev = device_from_path (p, q);
      if (dev == NULL)
        continue;
      if (perms)
        json_array_append_new (perms, device_permission (dev, access));
      json_array_append_new (devs, dev);
    }
}

/* DevicesFromPath */
static int
devices_from_path (const arca_device_mapping_t *m, const char *access, json_t *devs, json_t *perms, arca_error_t *err)
{
  _cleanup_free_ char *resolved = NULL;
  struct stat st;
  if (lstat (m->path_on_host, &st) == 0 && S_ISLNK (st.st_mode))
    resolved = realpath (m->path_on_host, NULL);
  const char *path = resolved ? resolved : m->path_on_host;
  json_t *dev = device_from_path (path, m->path_in_container);
  if (dev)
    {
      if (perms)
        json_array_append_new (perms, device_permission (dev, access));
      json_array_append_new (devs, dev);
      return 0;
    }
  int e = errno;
  size_t before = json_array_size (devs);
  if (e == ENOTBLK && stat (path, &st) == 0 && S_ISDIR (st.st_mode))
    devices_in_dir (path, m->path_in_container, access, devs, perms, 0);
  if (json_array_size (devs) > before)
    return 0;
  if (e == ENOTBLK)
    return arca_error_set (err, ARCA_ERR_INTERNAL,
                           "error gathering device information while adding custom device \"%s\": not a device node",
                           m->path_on_host);
  return arca_error_set (err, ARCA_ERR_INTERNAL,
                         "error gathering device information while adding custom device \"%s\": lstat %s: %s",
                         m->path_on_host, path, arca_go_strerror (e));
}

/* AppendDevicePermissionsFromCgroupRules */
static int
cgroup_rules (char **rules, json_t *perms, arca_error_t *err)
{
  regex_t re;
  if (regcomp (&re, "^([acb]) ([0-9]+|\\*):([0-9]+|\\*) ([rwm]{1,3})$", REG_EXTENDED) != 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "device cgroup rule pattern");
  int r = 0;
  for (size_t i = 0; rules && rules[i] && r == 0; i++)
    {
      regmatch_t m[5];
      if (regexec (&re, rules[i], 5, m, 0) != 0)
        {
          r = arca_error_set (err, ARCA_ERR_INTERNAL, "invalid device cgroup rule format: '%s'", rules[i]);
          break;
        }
      const char *s = rules[i];
      _cleanup_free_ char *type = xasprintf ("%.*s", (int) (m[1].rm_eo - m[1].rm_so), s + m[1].rm_so);
      _cleanup_free_ char *maj = xasprintf ("%.*s", (int) (m[2].rm_eo - m[2].rm_so), s + m[2].rm_so);
      _cleanup_free_ char *min = xasprintf ("%.*s", (int) (m[3].rm_eo - m[3].rm_so), s + m[3].rm_so);
      _cleanup_free_ char *acc = xasprintf ("%.*s", (int) (m[4].rm_eo - m[4].rm_so), s + m[4].rm_so);
      errno = 0;
      long long major_n = strcmp (maj, "*") == 0 ? -1 : strtoll (maj, NULL, 10);
      if (errno == ERANGE)
        r = arca_error_set (err, ARCA_ERR_INTERNAL, "invalid major value in device cgroup rule format: '%s'", s);
      long long minor_n = strcmp (min, "*") == 0 ? -1 : strtoll (min, NULL, 10);
      if (r == 0 && errno == ERANGE)
        r = arca_error_set (err, ARCA_ERR_INTERNAL, "invalid minor value in device cgroup rule format: '%s'", s);
      if (r == 0)
        json_array_append_new (perms, json_pack ("{s:b, s:s, s:I, s:I, s:s}", "allow", true, "type", type, "major",
                                                 (json_int_t) major_n, "minor", (json_int_t) minor_n, "access", acc));
    }
  regfree (&re);
  return r;
}

/* daemon/devices.go handleDevice: no device driver (nvidia) is registered
 * here, so any request is refused as dockerd refuses it without one:
 * "could not select device driver "<driver>" with capabilities: [[gpu]]". */
static int
device_requests (json_t *requests, arca_error_t *err)
{
  json_t *req = json_array_get (requests, 0);
  if (req == NULL)
    return 0;
  arca_buf_t caps = { 0 };
  buf_printf (&caps, "[");
  size_t i, j;
  json_t *and, *c;
  json_array_foreach (json_object_get (req, "Capabilities"), i, and)
    {
      buf_printf (&caps, "%s[", i ? " " : "");
      json_array_foreach (and, j, c)
        buf_printf (&caps, "%s%s", j ? " " : "", json_string_value (c) ? json_string_value (c) : "");
      buf_printf (&caps, "]");
    }
  buf_printf (&caps, "]");
  const char *driver = json_string_value (json_object_get (req, "Driver"));
  arca_error_set (err, ARCA_ERR_INTERNAL, "could not select device driver \"%s\" with capabilities: %s",
                  driver ? driver : "", caps.data);
  buf_free (&caps);
  return -1;
}

int
spec_devices (const arca_container_options_t *o, json_t **devices_out, json_t **rules_out, arca_error_t *err)
{
  _cleanup_json_ json_t *devs = json_array ();
  _cleanup_json_ json_t *perms = NULL;
  const arca_resources_t *r = &o->resources;
  if (o->privileged)
    {
      host_devices_walk ("/dev", devs, 0);
      /* Device mappings still add nodes at other paths (the cgroup rule is
       * allow-all anyway). */
      for (size_t i = 0; i < r->n_devices; i++)
        if (strcmp (r->devices[i].path_on_host, r->devices[i].path_in_container) != 0
            && devices_from_path (&r->devices[i], "rwm", devs, NULL, err) < 0)
          return -1;
      perms = json_array ();
      json_array_append_new (perms, device_rule (true, NULL, -1, -1));
    }
  else
    {
      perms = default_device_rules ();
      for (size_t i = 0; i < r->n_devices; i++)
        if (devices_from_path (&r->devices[i], r->devices[i].cgroup_permissions, devs, perms, err) < 0)
          return -1;
      if (cgroup_rules (r->device_cgroup_rules, perms, err) < 0)
        return -1;
    }
  if (device_requests (r->device_requests, err) < 0)
    return -1;
  *devices_out = arca_steal (devs);
  *rules_out = arca_steal (perms);
  return 0;
}
