/* Small reads of a container's cgroup that both the shim and the daemon
 * need, on cgroup v1 (and hybrid) and v2. */
#ifndef ARCA_UTIL_CGROUPFS_H
#define ARCA_UTIL_CGROUPFS_H

/* How many times the OOM killer killed a process of the cgroup at
 * cgroups_path ("/arca/<id>") under the cgroup mount root
 * ("/sys/fs/cgroup"): the "oom_kill" counter of memory.oom_control (v1:
 * <root>/memory/<path>) or memory.events (v2: <root>/<path>, when
 * <root>/cgroup.controllers exists).  -1 if it cannot be read. */
long cgroupfs_oom_kills (const char *root, const char *cgroups_path);

#endif
