/* Namespaces a container shares at start (moby daemon/oci_linux.go
 * WithNamespaces, daemon/container_operations_unix.go setupIPCDirs,
 * getIPCContainer, getPIDContainer): the PID and IPC namespaces of another
 * container (resolved at every start, by the ID stored at create, so a
 * restart of either container joins the other's current ones), the host's,
 * and /dev/shm for shareable, host and joined IPC. */
#include "engine/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"

static char *
shm_dir (arca_engine_t *e, const char *id)
{
  _cleanup_free_ char *dir = container_dir (e, id);
  return xasprintf ("%s/mounts/shm", dir);
}

/* The container a mode names, running and not restarting (errNotRunning,
 * errContainerIsRestarting). */
static int
running_container (arca_engine_t *e, const char *ref, arca_container_t **out, pid_t *pid, arca_error_t *err)
{
  arca_container_t *o = NULL;
  if (container_lookup (e, ref, &o, err) < 0)
    {
      err->kind = ARCA_ERR_INVALID;
      return -1;
    }
  pthread_mutex_lock (&e->lock);
  bool running = o->running && o->pid > 0, restarting = o->restarting;
  *pid = o->pid;
  pthread_mutex_unlock (&e->lock);
  if (restarting)
    {
      container_unref (o);
      return arca_error_set (err, ARCA_ERR_CONFLICT, "Container %s is restarting, wait until the container is running",
                             ref);
    }
  if (!running)
    {
      container_unref (o);
      return arca_error_set (err, ARCA_ERR_CONFLICT, "container %s is not running", ref);
    }
  *out = o;
  return 0;
}

/* Where a container's /dev/shm comes from, for those that join its IPC
 * namespace: its own shareable tmpfs, the host's, or what it joined. */
static int
shm_source (arca_engine_t *e, arca_container_t *o, const char *ref, char **out, int depth, arca_error_t *err)
{
  pthread_mutex_lock (&e->lock);
  arca_ns_mode_t mode = o->opts->ipc.mode;
  _cleanup_free_ char *next = xstrdup (o->opts->ipc.container);
  pthread_mutex_unlock (&e->lock);
  if (mode == NS_MODE_SHAREABLE)
    {
      _cleanup_free_ char *p = shm_dir (e, o->id);
      struct stat st;
      if (stat (p, &st) == 0 && S_ISDIR (st.st_mode))
        {
          *out = arca_steal (p);
          return 0;
        }
    }
  else if (mode == NS_MODE_HOST)
    {
      *out = xstrdup ("/dev/shm");
      return 0;
    }
  else if (mode == NS_MODE_CONTAINER && depth < 8)
    {
      arca_container_t *n = NULL;
      if (container_lookup (e, next, &n, err) == 0)
        {
          int r = shm_source (e, n, next, out, depth + 1, err);
          container_unref (n);
          return r;
        }
    }
  return arca_error_set (err, ARCA_ERR_INVALID,
                         "container %s: non-shareable IPC (hint: use IpcMode:shareable for the donor container)", ref);
}

static json_t *
shm_bind (const char *source)
{
  return json_pack ("{s:s, s:s, s:s, s:[s,s]}", "destination", "/dev/shm", "type", "bind", "source", source, "options",
                    "rbind", "rprivate");
}

static bool
has_mount_for (json_t *mounts, const char *dest)
{
  size_t i;
  json_t *m;
  json_array_foreach (mounts, i, m)
    if (strcmp (json_get_str (m, "destination") ?: "", dest) == 0)
      return true;
  return false;
}

/* setupIPCDirs for a shareable container: a tmpfs of ShmSize at
 * <container dir>/mounts/shm, bind-mounted at /dev/shm. */
static int
mount_shareable_shm (arca_engine_t *e, arca_container_t *c, const arca_container_options_t *o, char **path,
                     arca_error_t *err)
{
  _cleanup_free_ char *p = shm_dir (e, c->id);
  if (fs_mkdir_p (p, 0700, err) < 0)
    return -1;
  umount2 (p, MNT_DETACH);
  int64_t size = o->shm_size > 0 ? o->shm_size : 67108864;
  _cleanup_free_ char *data = xasprintf ("mode=1777,size=%lld", (long long) size);
  if (mount ("shm", p, "tmpfs", MS_NOEXEC | MS_NOSUID | MS_NODEV, data) < 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "mounting shm tmpfs: %s", strerror (errno));
  *path = arca_steal (p);
  return 0;
}

static int
ipc_namespace (arca_engine_t *e, arca_container_t *c, const arca_container_options_t *o, arca_spec_ns_t *ns,
               char **path_store, json_t *extra_mounts, arca_error_t *err)
{
  bool user_shm = has_mount_for (extra_mounts, "/dev/shm");
  _cleanup_free_ char *source = NULL;
  ns->mode = o->ipc.mode;
  switch (o->ipc.mode)
    {
    case NS_MODE_CONTAINER:
      {
        arca_container_t *other = NULL;
        pid_t pid;
        if (running_container (e, o->ipc.container, &other, &pid, err) < 0)
          return arca_error_wrap (err, "failed to join IPC namespace");
        int r = shm_source (e, other, o->ipc.container, &source, 0, err);
        container_unref (other);
        if (r < 0)
          return arca_error_wrap (err, "failed to join IPC namespace");
        *path_store = xasprintf ("/proc/%d/ns/ipc", (int) pid);
        ns->path = *path_store;
        break;
      }
    case NS_MODE_HOST:
      {
        struct stat st;
        if (stat ("/dev/shm", &st) < 0)
          return arca_error_set (err, ARCA_ERR_INTERNAL, "/dev/shm is not mounted, but must be for --ipc=host");
        source = xstrdup ("/dev/shm");
        break;
      }
    case NS_MODE_SHAREABLE:
      if (!user_shm && mount_shareable_shm (e, c, o, &source, err) < 0)
        return -1;
      break;
    default:
      break;
    }
  if (source && !user_shm)
    json_array_append_new (extra_mounts, shm_bind (source));
  return 0;
}

static int
pid_namespace (arca_engine_t *e, const arca_container_options_t *o, arca_spec_ns_t *ns, char **path_store,
               arca_error_t *err)
{
  ns->mode = o->pid.mode;
  if (o->pid.mode != NS_MODE_CONTAINER)
    return 0;
  arca_container_t *other = NULL;
  pid_t pid;
  if (running_container (e, o->pid.container, &other, &pid, err) < 0)
    {
      /* createSpec: any failure is a system error */
      err->kind = ARCA_ERR_INTERNAL;
      return arca_error_wrap (err, "failed to join PID namespace");
    }
  container_unref (other);
  *path_store = xasprintf ("/proc/%d/ns/pid", (int) pid);
  ns->path = *path_store;
  return 0;
}

int
namespaces_container_start (arca_engine_t *e, arca_container_t *c, const arca_container_options_t *o,
                            arca_start_ns_t *ns, json_t **extra_mounts, arca_error_t *err)
{
  if (*extra_mounts == NULL)
    *extra_mounts = json_array ();
  ns->uts.mode = o->uts.mode;
  if (ipc_namespace (e, c, o, &ns->ipc, &ns->ipc_path, *extra_mounts, err) < 0)
    return -1;
  if (pid_namespace (e, o, &ns->pid, &ns->pid_path, err) < 0)
    {
      namespaces_container_stop (e, c);
      return -1;
    }
  return 0;
}

void
namespaces_start_clear (arca_start_ns_t *ns)
{
  free (ns->ipc_path);
  free (ns->pid_path);
  memset (ns, 0, sizeof *ns);
}

void
namespaces_container_stop (arca_engine_t *e, arca_container_t *c)
{
  _cleanup_free_ char *p = shm_dir (e, c->id);
  if (umount2 (p, MNT_DETACH) == 0)
    rmdir (p);
}

int
namespaces_validate_create (arca_engine_t *e, json_t *hc, arca_error_t *err)
{
  static const char *const keys[] = { "PidMode", "IpcMode", NULL };
  for (size_t i = 0; keys[i]; i++)
    {
      const char *v = json_get_str (hc, keys[i]);
      if (v == NULL || !str_has_prefix (v, "container:") || v[strlen ("container:")] == '\0')
        continue;
      arca_container_t *o = NULL;
      if (container_lookup (e, v + strlen ("container:"), &o, err) < 0)
        {
          if (err->kind == ARCA_ERR_NOT_FOUND)
            err->kind = ARCA_ERR_INVALID;
          return -1;
        }
      container_unref (o);
    }
  return 0;
}

/* adaptSharedNamespaceContainer: container:<name> becomes container:<ID>
 * when that container exists at create, so renames do not break it. */
void
namespaces_adapt (arca_engine_t *e, json_t *hc)
{
  static const char *const keys[] = { "PidMode", "IpcMode", "NetworkMode", NULL };
  for (size_t i = 0; keys[i]; i++)
    {
      const char *v = json_get_str (hc, keys[i]);
      if (v == NULL || !str_has_prefix (v, "container:") || v[strlen ("container:")] == '\0')
        continue;
      arca_container_t *o = NULL;
      arca_error_t ignored;
      if (container_lookup (e, v + strlen ("container:"), &o, &ignored) < 0)
        continue;
      json_object_set_new (hc, keys[i], json_sprintf ("container:%s", o->id));
      container_unref (o);
    }
}
