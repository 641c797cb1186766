/* Engine lifecycle: open the data root, the database and the image store,
 * reload containers; accessors used by the API layer. */
#include "engine/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "engine/events.h"
#include "engine/isolation.h"
#include "build/build.h"
#include "engine/networks.h"
#include "net/net.h"
#include "image/registry.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strutil.h"

static char *
uuid_generate (void)
{
  unsigned char b[16];
  if (getrandom (b, sizeof b, 0) != sizeof b)
    memset (b, 0x5a, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return xasprintf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                    b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static int
load_daemon_id (arca_engine_t *e, arca_error_t *err)
{
  char *id = NULL;
  if (arca_db_meta_get (e->db, "daemon_id", &id, err) < 0)
    return -1;
  if (id == NULL)
    {
      id = uuid_generate ();
      if (arca_db_meta_set (e->db, "daemon_id", id, err) < 0)
        {
          free (id);
          return -1;
        }
    }
  e->id = id;
  return 0;
}

/* dockerd's modes: data root 0710 (daemon/daemon_unix.go setupDaemonRoot:
 * root's group may traverse, nobody else), containers/ 0710
 * (daemon/daemon.go), tmp/ 0700 (prepareTempDir), volumes/ 0701
 * (volume/local New: a volume's path stays reachable for root's group
 * through the data root only); exec root 0700 (daemon/command/daemon.go)
 * and everything in it.  image/ is the image store's (image/store.c). */
static const struct
{
  bool exec_root;
  const char *dir; /* "" = the root itself */
  mode_t mode;
} root_layout[] = {
  { false, "", 0710 }, { false, "containers", 0710 }, { false, "tmp", 0700 }, { false, "volumes", 0701 },
  { true, "", 0700 },  { true, "containers", 0700 },
};

int
arca_engine_prepare_roots (const char *data_root, const char *exec_root, arca_error_t *err)
{
  for (size_t i = 0; i < sizeof root_layout / sizeof *root_layout; i++)
    {
      const char *root = root_layout[i].exec_root ? exec_root : data_root;
      _cleanup_free_ char *path
          = root_layout[i].dir[0] ? xasprintf ("%s/%s", root, root_layout[i].dir) : xstrdup (root);
      if (fs_mkdir_mode (path, root_layout[i].mode, err) < 0)
        return -1;
    }
  return 0;
}

int
arca_engine_open (const arca_engine_options_t *opts, arca_engine_t **out, arca_error_t *err)
{
  arca_engine_t *e = xmalloc0 (sizeof *e);
  pthread_mutex_init (&e->lock, NULL);
  pthread_cond_init (&e->changed, NULL);
  e->data_root = xstrdup (opts->data_root);
  e->exec_root = xstrdup (opts->exec_root);
  e->runtime_name = xstrdup (opts->runtime_name ? opts->runtime_name : "runc");
  e->runtime_path = xstrdup (opts->runtime_path ? opts->runtime_path : "runc");
  e->shim_path = xstrdup (opts->shim_path ? opts->shim_path : "arca-shim");
  e->runtime_root = xasprintf ("%s/%s", e->exec_root, e->runtime_name);
  e->runtimes = oci_runtimes_new (opts->runtimes, e->runtime_name, e->runtime_path, e->exec_root);
  e->log_driver = xstrdup (opts->log_driver && *opts->log_driver ? opts->log_driver : "json-file");
  e->log_opts = opts->log_opts ? json_deep_copy (opts->log_opts) : json_object ();
  e->seccomp_profile = xstrdup (opts->seccomp_profile);
  e->default_cgroupns_mode = xstrdup (opts->default_cgroupns_mode);
  e->opts = *opts;
  e->opts.data_root = e->data_root;
  e->opts.exec_root = e->exec_root;
  e->opts.runtime_name = e->runtime_name;
  e->opts.runtime_path = e->runtime_path;
  e->opts.shim_path = e->shim_path;
  /* Registry settings are process-wide in the registry client (copied). */
  registry_configure (opts->insecure_registries, opts->registry_mirrors);

  _cleanup_free_ char *dbpath = xasprintf ("%s/arca.db", e->data_root);
  if (json_object_size (e->log_opts) > 0 && container_options_check_log (e->log_driver, e->log_opts, err) < 0)
    {
      arca_error_wrap (err, "failed to set log opts");
      goto fail;
    }
  if (arca_engine_prepare_roots (e->data_root, e->exec_root, err) < 0
      || fs_mkdir_mode (e->runtime_root, 0700, err) < 0)
    goto fail;
  if (arca_db_open (dbpath, &e->db, err) < 0)
    goto fail;
  if (load_daemon_id (e, err) < 0)
    goto fail;
  if (events_open (e, err) < 0) /* events: the history, before anything is published */
    goto fail;
  if (image_store_open (e->data_root, e->db, &e->images, err) < 0)
    goto fail;
  image_store_set_in_use_cb (e->images, containers_image_in_use, e);
  image_store_set_event_cb (e->images, events_image, e); /* events */
  {
    /* builds a dead daemon left behind (src/build) */
    _cleanup_free_ char *tmp = xasprintf ("%s/tmp", e->data_root);
    build_sweep (tmp);
  }
  if (networks_open (e, err) < 0) /* networking: before containers re-adopt their endpoints */
    goto fail;
  dns_set_servers_fn (e->net, container_dns_servers, e); /* embedded DNS: --dns upstreams (n3) */
  if (isolation_open (e, err) < 0) /* VM isolation */
    goto fail;
  if (containers_restore (e, err) < 0)
    goto fail;
  containers_reconcile (e);
  *out = e;
  return 0;

fail:
  arca_engine_close (e);
  return -1;
}

void
arca_engine_close (arca_engine_t *e)
{
  if (e == NULL)
    return;
  pthread_mutex_lock (&e->lock);
  e->closing = true;
  pthread_cond_broadcast (&e->changed);
  pthread_mutex_unlock (&e->lock);
  /* Containers stay with their shims; monitor threads are detached and die
   * with the process.  Records are not freed: monitor threads may still hold
   * them until exit. */
  events_close (e); /* events: flush the history, end the streams */
  if (e->images)
    image_store_close (e->images);
  e->images = NULL;
}

/* How long the store must have been quiet before SQLite's page cache goes
 * (arca_db_release_idle): as the daemon's idle malloc trim, a second. */
#define STORE_QUIET_NS 1000000000LL

void
arca_engine_release_idle (arca_engine_t *e)
{
  networks_release_idle (e);
  arca_db_release_idle (e->db, STORE_QUIET_NS);
}

const arca_engine_options_t *arca_engine_options (arca_engine_t *e) { return &e->opts; }
arca_image_store_t *arca_engine_images (arca_engine_t *e) { return e->images; }
arca_db_t *arca_engine_db (arca_engine_t *e) { return e->db; }
const char *arca_engine_id (arca_engine_t *e) { return e->id; }

void
arca_engine_container_counts (arca_engine_t *e, arca_container_counts_t *out)
{
  memset (out, 0, sizeof *out);
  pthread_mutex_lock (&e->lock);
  for (arca_container_t *c = e->containers; c; c = c->next)
    {
      if (c->removed)
        continue;
      out->total++;
      if (c->running && c->paused)
        out->paused++;
      else if (c->running)
        out->running++;
      else
        out->stopped++;
    }
  pthread_mutex_unlock (&e->lock);
}

char *container_dir (arca_engine_t *e, const char *id) { return xasprintf ("%s/containers/%s", e->data_root, id); }
char *container_state_dir (arca_engine_t *e, const char *id) { return xasprintf ("%s/containers/%s", e->exec_root, id); }
char *container_log_path (arca_engine_t *e, const char *id)
{
  return xasprintf ("%s/containers/%s/%s-json.log", e->data_root, id, id);
}
char *container_exit_file (arca_engine_t *e, const char *id)
{
  return xasprintf ("%s/containers/%s/exit.json", e->data_root, id);
}
