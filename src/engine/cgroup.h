/* Reading a container's cgroup: its processes (for `docker top`) and its
 * resource counters (for `docker stats`), on cgroup v1 (and hybrid) and v2.
 *
 * The OCI runtime puts a container at cgroupsPath "/arca/<id>", which on
 * v1 is <root>/<controller>/arca/<id> for each controller and on v2
 * <root>/arca/<id>.  Numbers are read as containerd's cgroups package reads
 * them, since dockerd's StatsResponse is built from those (moby
 * daemon/stats_unix.go statsV1/statsV2). */
#ifndef ARCA_ENGINE_CGROUP_H
#define ARCA_ENGINE_CGROUP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

#define ARCA_CGROUP_ROOT "/sys/fs/cgroup"

/* True when root is a cgroup2 mount (pure v2 host). */
bool cgroup_is_v2 (const char *root);

/* PIDs (thread-group IDs) in the cgroup, from cgroup.procs (v1: the pids,
 * memory, cpu or freezer hierarchy, whichever has the group).  404-kind
 * error if the group does not exist.  *pids is malloc'd. */
int cgroup_procs (const char *root, bool v2, const char *path, pid_t **pids, size_t *n, arca_error_t *err);

typedef struct
{
  uint64_t major, minor;
  char op[16];   /* as the kernel names it: "Read"/"Write"/... (v1), "read"/"write" (v2) */
  uint64_t value;
} arca_blkio_entry_t;

typedef struct
{
  bool v2;
  /* cpu: nanoseconds */
  uint64_t cpu_total, cpu_kernel, cpu_user;
  uint64_t *percpu; size_t n_percpu;  /* v1 only */
  uint64_t throttle_periods, throttle_throttled, throttle_time;
  /* memory: bytes; limit is the cgroup's (UINT64_MAX when unlimited) */
  bool has_memory;
  uint64_t mem_usage, mem_max_usage, mem_failcnt, mem_limit;
  json_t *mem_stats;                  /* object: counter name -> integer */
  /* pids; limit 0 = unlimited */
  uint64_t pids_current, pids_limit;
  /* block I/O (bytes and operations, per device and op) */
  arca_blkio_entry_t *io_bytes; size_t n_io_bytes;
  arca_blkio_entry_t *io_ops; size_t n_io_ops;
} arca_cgroup_stats_t;

/* Read all counters.  Missing controller files leave their fields zero
 * (dockerd reports what it finds); an absent group is a 404-kind error.
 * Free with cgroup_stats_free. */
int cgroup_stats_read (const char *root, bool v2, const char *path, arca_cgroup_stats_t *out, arca_error_t *err);
void cgroup_stats_free (arca_cgroup_stats_t *s);

/* Host CPU time from a /proc/stat text: the "cpu" line's first seven fields
 * (user..softirq) in clock ticks * 1e9 / CLK_TCK, i.e. nanoseconds, and the
 * number of "cpuN" lines (moby getSystemCPUUsage).  -1 if no cpu line. */
int cgroup_parse_proc_stat (const char *text, long clk_tck, uint64_t *system_ns, unsigned *online_cpus);
/* MemTotal in bytes from a /proc/meminfo text (0 if absent). */
uint64_t cgroup_parse_meminfo_total (const char *text);

/* Parsers, exposed for the unit tests. */
/* "key value" lines (memory.stat, cpu.stat, cpuacct.stat): value of key. */
bool cgroup_kv_get (const char *text, const char *key, uint64_t *value);
/* A single number, or "max" (-> UINT64_MAX).  false if unparsable. */
bool cgroup_parse_u64 (const char *text, uint64_t *value);
/* v1 blkio "MAJ:MIN Op N" lines (the "Total N" line skipped). */
size_t cgroup_parse_blkio_v1 (const char *text, arca_blkio_entry_t **out);
/* v2 io.stat "MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.." lines: bytes
 * (rbytes/wbytes) or operations (rios/wios) as "read"/"write" entries. */
size_t cgroup_parse_io_stat (const char *text, bool ops, arca_blkio_entry_t **out);

#endif
