/* The cgroup view an OCI runtime runs in, on hybrid hosts.
 *
 * A hybrid host has the cgroup v1 hierarchies under /sys/fs/cgroup and a
 * cgroup2 mount at /sys/fs/cgroup/unified.  runc uses both.  crun refuses
 * such a host as soon as that cgroup2 hierarchy has any controller
 * ("cgroups in hybrid mode not supported, drop all controllers from
 * cgroupv2", libcrun cgroup.c libcrun_cgroup_enter), whatever its
 * --cgroup-manager; a host booted without systemd usually leaves hugetlb
 * there, which no v1 hierarchy mounts.  Run in a mount namespace of its
 * own where /sys/fs/cgroup/unified is not mounted, crun sees a cgroup v1
 * host (libcrun_get_cgroup_mode: tmpfs at /sys/fs/cgroup, no cgroup2
 * below) and manages every v1 hierarchy as on one; the host's mounts are
 * not touched. */
#ifndef ARCA_UTIL_CGVIEW_H
#define ARCA_UTIL_CGVIEW_H

#include <stdbool.h>

/* True when the cgroup v1 hierarchies are mounted (a v1 or hybrid host:
 * tmpfs at /sys/fs/cgroup). */
bool cgview_v1_host (void);

/* True on a hybrid host whose cgroup2 hierarchy lists controllers (its
 * cgroup.controllers is not empty): where crun needs the v1 view. */
bool cgview_hybrid_with_v2_controllers (void);

/* In a child between fork and exec (system calls only): a mount namespace
 * of its own without the cgroup2 mount.  -1 with errno set on failure. */
int cgview_enter_v1 (void);

#endif
