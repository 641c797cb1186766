/* Named volumes: the "local" volume driver and the volume store (moby
 * volume/local, volume/service).
 *
 * A volume's record is a row of the SQLite table volumes(name, data) where
 * data is {"Name","Driver":"local","Labels":{..}|null,"Options":{..}|null,
 * "CreatedAt":<ns>}; its content lives in <data-root>/volumes/<name>/_data
 * (the Mountpoint).  Volumes created with driver options type/device/o are
 * mounted on _data when a container first uses them and unmounted when no
 * running container uses them any more (mount(2) of device with type and the
 * option string split into MS_* flags and data, as moby/sys/mount).
 * Anonymous volumes carry the label "com.docker.volume.anonymous" (as
 * dockerd >= 23), which `volume prune` without all=true looks at.
 *
 * Which containers use a volume is computed from the containers' resolved
 * mount lists (engine/mounts.h), never stored twice.
 *
 * Locking: volume_store_lock() serialises volume create/remove/prune against
 * the resolution of a container's mounts; it is taken before (never while
 * holding) the engine lock. */
#ifndef ARCA_ENGINE_VOLUMES_H
#define ARCA_ENGINE_VOLUMES_H

#include <jansson.h>
#include <stdbool.h>

#include "engine/engine.h"
#include "util/error.h"

#define ARCA_VOLUME_ANON_LABEL "com.docker.volume.anonymous"

void volume_store_lock (void);
void volume_store_unlock (void);

/* POST /volumes/create.  name NULL/"" -> a generated 64-hex name.  driver
 * NULL/"" or "local" (others: 404 `create <name>: plugin "<d>" not found`).
 * driver_opts and labels: JSON objects of strings or NULL.  Creating an
 * existing name returns the existing volume (dockerd), unless it was made by
 * another driver.  Errors (400, prefixed "create <name>: "): "volume name is
 * too short, names should be at least two alphanumeric characters",
 * "\"<n>\" includes invalid characters for a local volume name, only
 * \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host
 * directory, use absolute path", `invalid option: "<k>"`, `missing required
 * option: "<k>"`.  *out = the Volume object (inspect shape). */
int volume_create (arca_engine_t *e, const char *name, const char *driver, json_t *driver_opts, json_t *labels,
                   json_t **out, arca_error_t *err);
/* Same with the store lock already held; *name_out (optional, malloc'd)
 * receives the volume's name. */
int volume_create_locked (arca_engine_t *e, const char *name, const char *driver, json_t *driver_opts,
                          json_t *labels, json_t **out, char **name_out, arca_error_t *err);

/* GET /volumes/{name}: *out = {CreatedAt (RFC 3339, seconds, local zone),
 * Driver, Labels, Mountpoint, Name, Options, Scope:"local"}.  404 "get
 * <name>: no such volume". */
int volume_inspect (arca_engine_t *e, const char *name, json_t **out, arca_error_t *err);
bool volume_exists (arca_engine_t *e, const char *name);

/* GET /volumes: filters name (substring), label / label!, dangling
 * (true/false/1/0), driver.  *out = {"Volumes":[...],"Warnings":null}.
 * Other keys: 400 "invalid filter '<k>'". */
int volume_list (arca_engine_t *e, json_t *filters, json_t **out, arca_error_t *err);

/* DELETE /volumes/{name}: 404 "get <name>: no such volume" (unless force),
 * 409 "remove <name>: volume is in use - [<id>, <id>]" (even with force, as
 * dockerd).  Unmounts an option volume and removes its directory. */
int volume_remove (arca_engine_t *e, const char *name, bool force, arca_error_t *err);
/* Start-up recovery: remove volume directories no row owns (a create or a
 * removal cut short by a crash). */
void volumes_reconcile (arca_engine_t *e);
/* The same with the store lock held; in-use errors as above. */
int volume_remove_locked (arca_engine_t *e, const char *name, bool force, arca_error_t *err);

/* POST /volumes/prune: removes unused volumes; without filter all=true only
 * anonymous ones.  Filters: label, label!, all.  *out =
 * {"VolumesDeleted":[names]|null... as dockerd: [] when none, "SpaceReclaimed":bytes}. */
int volumes_prune (arca_engine_t *e, json_t *filters, json_t **out, arca_error_t *err);

/* For GET /system/df: every volume in inspect shape plus
 * "UsageData":{"Size":bytes,"RefCount":containers using it}. */
int volumes_df (arca_engine_t *e, json_t **out, arca_error_t *err);

/* <data-root>/volumes/<name>/_data (malloc'd). */
char *volume_data_path (arca_engine_t *e, const char *name);

/* Before a container starts with the volume: mount an option volume if it
 * is not mounted yet (errors 500 "failed to mount local volume: ..."). */
int volume_mount (arca_engine_t *e, const char *name, arca_error_t *err);
/* After a container stopped: unmount an option volume when no running
 * container (other than except_id, may be NULL) uses it. */
void volume_release (arca_engine_t *e, const char *name, const char *except_id);

/* IDs of the containers whose mounts reference the volume (malloc'd strv,
 * NULL if none).  Takes the engine lock. */
char **volume_users (arca_engine_t *e, const char *name, bool running_only, const char *except_id);

#endif
