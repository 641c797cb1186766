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

/* Seccomp (seccomp.c). */

/* The embedded default profile converted for this host and a container whose
 * bounding set is caps.  *out is an OCI linux.seccomp object. */
int spec_seccomp_default (char **caps, json_t **out, arca_error_t *err);
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
int spec_resolve_group_add (const char *rootfs, char **group_add, gid_t **gids, size_t *n, arca_error_t *err);

#endif
