/* Helpers shared by the files that make up spec generation (spec.c,
 * spec_caps.c, spec_user.c, spec_etc.c, seccomp.c).  Not a module API. */
#ifndef ARCA_RUNTIME_SPEC_INTERNAL_H
#define ARCA_RUNTIME_SPEC_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "runtime/spec.h"

/* Capabilities (spec_caps.c). */

/* "CAP_CHOWN" ... for cap numbers 0..SPEC_CAP_MAX; NULL past the end. */
const char *spec_cap_name (int cap);
/* Highest capability number the kernel knows (/proc/sys/kernel/cap_last_cap). */
int spec_cap_last (void);
/* Final capability list (bounding = effective = permitted) for the options,
 * as moby's TweakCapabilities; a malloc'd strv. */
int spec_caps_compute (const arca_container_options_t *opts, char ***caps, arca_error_t *err);
/* Every capability the kernel knows and this process still holds in its
 * bounding set (dockerd GetAllCapabilities, for privileged processes). */
char **spec_caps_all (void);

/* Devices (spec_devices.c): linux.devices (device nodes) and the device
 * cgroup rules for linux.resources.devices: the defaults, --device
 * mappings, --device-cgroup-rule, all host devices when privileged;
 * DeviceRequests are refused (no device driver).  Errors are dockerd's
 * start-time texts (ARCA_ERR_INTERNAL). */
int spec_devices (const arca_container_options_t *o, json_t **devices, json_t **rules, arca_error_t *err);

/* Seccomp (seccomp.c). */

/* The embedded default profile converted for this host and a container whose
 * bounding set is caps.  *out is an OCI linux.seccomp object. */
int spec_seccomp_default (char **caps, json_t **out, arca_error_t *err);
/* A profile in Docker's format (moby/profiles/seccomp Seccomp: archMap or
 * architectures, syscalls with name/names, includes/excludes) compiled
 * for this host and bounding set as setupSeccomp does.  *out is an OCI
 * linux.seccomp object. */
int spec_seccomp_compile (json_t *profile, char **caps, json_t **out, arca_error_t *err);
/* Raw embedded profile text (NUL-terminated). */
const char *spec_seccomp_default_json (void);

/* Files inside a rootfs (spec_user.c). */

/* Open path inside rootfs as if rootfs were "/" (symlinks, "..", absolute
 * links all stay inside): openat2 RESOLVE_IN_ROOT, or a manual walk on
 * kernels without it.  Returns an fd or -1 with errno set. */
int spec_open_in_root (const char *rootfs, const char *path, int flags);
/* mkdir -p of path inside rootfs, resolving like spec_open_in_root; new
 * directories get mode 0755, owner root (moby SetupWorkingDirectory). */
int spec_mkdir_in_root (const char *rootfs, const char *path, arca_error_t *err);
/* HostConfig.GroupAdd: names looked up in <rootfs>/etc/group, numbers taken
 * as is (moby/sys/user GetAdditionalGroupsPath), duplicates dropped. */
/* linux.seccomp compiled to BPF as crun 1.8 compiles it, base64 for its
 * "run.oci.seccomp_bpf_data" annotation (runtime/seccomp_bpf.c; cached by
 * the object's SHA-256).  NULL when it is left to crun: a listener, or a
 * profile libseccomp refuses (crun words the error). */
char *spec_seccomp_bpf (json_t *seccomp);

/* Appends gid to the JSON array of additionalGids unless it is there: a
 * group the user belongs to and also given with --group-add is one group,
 * as under dockerd with runc (crun would set it twice). */
void spec_gids_add (json_t *gids, json_int_t gid);
/* The path `path` names inside rootfs, its symlinks followed as if rootfs
 * were / and ".." stopping there: runc's securejoin.SecureJoin, which runc
 * applies to every mount destination.  crun (1.8) resolves a destination
 * with openat2 RESOLVE_IN_ROOT but does not create a missing target behind
 * a symlink, so the spec gives it the resolved path.  The part from the
 * first missing component on is kept as it is.  malloc'd. */
char *spec_resolve_in_root (const char *rootfs, const char *path);
int spec_resolve_group_add (const char *rootfs, char **group_add, gid_t **gids, size_t *n, arca_error_t *err);

#endif
