/* A container's mounts: HostConfig.Binds (-v), HostConfig.Mounts (--mount),
 * HostConfig.VolumesFrom, HostConfig.Tmpfs (--tmpfs) and Config.Volumes
 * (anonymous -v /path and the image's VOLUMEs), resolved at create into a
 * mount list as moby daemon/volumes.go registerMountPoints and
 * create_unix.go createContainerOSSpecificSettings do, and turned into OCI
 * mounts at start (daemon/oci_linux.go WithMounts).
 *
 * A mount point is a JSON object in container inspect's shape
 *   {"Type":"volume"|"bind"|"tmpfs","Name":..,"Source":..,"Destination":..,
 *    "Driver":"local","Mode":..,"RW":bool,"Propagation":..}
 * plus private fields (prefix "_", never shown): "_CopyData" (fill a new
 * empty volume from the image at first start), "_Anonymous", "_Tmpfs"
 * (tmpfs data options), "_CreateSource" (create a missing bind source).
 * Mode follows dockerd: "z" for local volumes given without a mode, ""
 * for the image's/anonymous Config.Volumes, the raw mode for -v; bind
 * Propagation defaults to "rprivate". */
#ifndef ARCA_ENGINE_MOUNTS_H
#define ARCA_ENGINE_MOUNTS_H

#include <jansson.h>
#include <stdbool.h>

#include "engine/container.h"
#include "util/error.h"

/* ---- pure parsing (no engine state; unit-tested) ---- */

/* One -v spec (linux_parser.go ParseMountRaw): "name:/dst[:mode]",
 * "/src:/dst[:mode]", "/dst".  Mode: rw|ro, z|Z, [r]private|[r]shared|
 * [r]slave, nocopy, consistency; 400 "invalid volume specification:
 * '<raw>'", "invalid mode: <mode>", "invalid volume specification: '<raw>':
 * invalid mount config for type \"volume\": invalid mount path: '<p>' mount
 * path must be absolute", "...: invalid specification: destination can't be
 * '/'".  A volume without a name has no "Name". */
int mounts_parse_bind (const char *raw, json_t **out, arca_error_t *err);

/* One HostConfig.Mounts entry (ParseMountSpec, validating that a bind
 * source exists): 400 "invalid mount config for type \"bind\": bind mount
 * source path does not exist: <src>", "... field Target must not be empty",
 * "... field Source must not be empty", "... mount type unknown" (type ""
 * -> `invalid mount config for type "": mount type unknown`), "must not set
 * ReadOnly mode when using anonymous volumes".  Volume mounts keep the
 * create options in "_VolumeOptions" ({Labels, DriverConfig:{Name,Options}}). */
int mounts_parse_mount (json_t *spec, json_t **out, arca_error_t *err);

/* TmpfsOptions {SizeBytes, Mode} to "ro,mode=<octal>,size=<n>[kmg]"
 * (ConvertTmpfsOptions: the largest of g/m/k dividing the size). */
char *mounts_tmpfs_data (json_t *tmpfs_options, bool read_only);

/* dockerd's MergeTmpfsOptions: later options win over earlier ones of the
 * same kind ("exec" over "noexec", "size=2m" over "size=1m").  Returns a
 * new array of strings. */
json_t *mounts_merge_tmpfs_options (json_t *options);

/* The OCI mount object for one mount point (bind/volume: type "bind",
 * options rbind, ro when !RW, the propagation; tmpfs: noexec, nosuid,
 * nodev, rprivate + data). */
json_t *mounts_oci_entry (json_t *mp);

/* Inspect/list view of a mount list: the public fields only. */
json_t *mounts_view (json_t *mounts);

/* ---- engine ---- */

/* At create (after the container has its ID): parse everything, create the
 * named volumes that do not exist yet and a new anonymous volume for each
 * Config.Volumes destination not otherwise mounted, and store the list in
 * c->mounts (under the engine lock).  On error the anonymous volumes it
 * created are removed again.  "Duplicate mount point: <dst>" (400). */
int mounts_resolve (arca_engine_t *e, arca_container_t *c, arca_error_t *err);

/* At start, rootfs mounted: mount option volumes, create missing -v bind
 * sources (0755), copy the image's content into new empty volumes
 * (keeping owners and modes; once), and return the OCI mounts (bind,
 * volume, tmpfs of --mount and of HostConfig.Tmpfs) in *oci (a new array). */
int mounts_prepare (arca_engine_t *e, arca_container_t *c, const char *rootfs, json_t **oci, arca_error_t *err);

/* After the container's process ended: unmount option volumes no other
 * running container uses. */
void mounts_release (arca_engine_t *e, arca_container_t *c);

/* After the container was removed with volumes (rm -v, AutoRemove): remove
 * its anonymous volumes (those still used elsewhere stay). */
void mounts_remove_anonymous (arca_engine_t *e, arca_container_t *c);

#endif
