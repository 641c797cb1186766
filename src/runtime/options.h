/* A container's options, typed: Config and HostConfig decoded once (at
 * create, at update, and when a record is loaded) from the API JSON that
 * the container's record keeps.  runtime/spec.c builds config.json from
 * these and nothing else; the engine reads them instead of poking at JSON.
 *
 * Decoding follows Go's encoding/json (util/godecode.h) over the API types
 * of moby api/types/container (CreateRequest, HostConfig, Resources,
 * UpdateConfig), so a wrong JSON type is refused with dockerd's text and
 * keys match case-insensitively.  Field-level validation follows moby
 * daemon/daemon_unix.go (verifyPlatformContainerSettings,
 * verifyPlatformContainerResources), daemon/daemon_unix.go parseSecurityOpt
 * and runconfig/hostconfig_unix.go (validateIsolation, validateQoS,
 * validateResources); what needs engine state (other containers, images,
 * configured runtimes and log drivers) is checked by the engine. */
#ifndef ARCA_RUNTIME_OPTIONS_H
#define ARCA_RUNTIME_OPTIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* ---- decoding request bodies ---- */

/* POST /containers/create body (container.CreateRequest): *out is the
 * canonical copy (schema key names, unknown keys dropped, Cmd/Entrypoint/
 * Shell strings made arrays).  400 "invalid JSON: json: cannot unmarshal
 * <v> into Go struct field <S>.<path> of type <T>" as dockerd 28. */
int options_decode_create (json_t *body, json_t **out, arca_error_t *err);
/* POST /containers/{id}/update body (container.UpdateConfig), same rules. */
int options_decode_update (json_t *body, json_t **out, arca_error_t *err);

/* ---- typed options ---- */

typedef struct
{
  char *path;
  uint16_t weight;
} arca_weight_device_t;

typedef struct
{
  char *path;
  uint64_t rate;
} arca_throttle_device_t;

typedef struct
{
  char *name;  /* "nofile", ... */
  int64_t soft, hard;
} arca_ulimit_t;

typedef struct
{
  char *path_on_host, *path_in_container, *cgroup_permissions;
} arca_device_mapping_t;

/* HostConfig.Resources (moby container.Resources); units as the API's:
 * bytes, CPU shares, nanoCPUs, microseconds for CFS/RT periods and quotas. */
typedef struct
{
  int64_t cpu_shares, memory, nano_cpus;
  char *cgroup_parent;
  uint16_t blkio_weight;
  arca_weight_device_t *blkio_weight_device;
  size_t n_blkio_weight_device;
  arca_throttle_device_t *blkio_read_bps, *blkio_write_bps, *blkio_read_iops, *blkio_write_iops;
  size_t n_blkio_read_bps, n_blkio_write_bps, n_blkio_read_iops, n_blkio_write_iops;
  int64_t cpu_period, cpu_quota, cpu_rt_period, cpu_rt_runtime;
  char *cpuset_cpus, *cpuset_mems;
  arca_device_mapping_t *devices;
  size_t n_devices;
  char **device_cgroup_rules;
  size_t n_device_requests;
  json_t *device_requests;          /* DeviceRequests (a reference held) */
  int64_t kernel_memory, kernel_memory_tcp, memory_reservation, memory_swap;
  bool has_memory_swappiness, has_oom_kill_disable, has_pids_limit;
  int64_t memory_swappiness;
  bool oom_kill_disable;
  int64_t pids_limit;
  arca_ulimit_t *ulimits;
  size_t n_ulimits;
  int64_t cpu_count, cpu_percent;
  uint64_t io_maximum_iops, io_maximum_bandwidth;
} arca_resources_t;

/* Namespace modes (moby container.IpcMode, PidMode, UTSMode, CgroupnsMode,
 * UsernsMode, NetworkMode). */
typedef enum
{
  NS_MODE_PRIVATE,   /* a new namespace ("", "private") */
  NS_MODE_HOST,      /* the host's ("host") */
  NS_MODE_CONTAINER, /* another container's ("container:<ref>") */
  NS_MODE_SHAREABLE, /* ipc: private, joinable by others */
  NS_MODE_NONE,      /* ipc: private without /dev/shm; network: loopback only */
} arca_ns_mode_t;

typedef struct
{
  arca_ns_mode_t mode;
  char *container;   /* NS_MODE_CONTAINER: name or ID as given (the engine resolves it) */
} arca_ns_option_t;

/* --security-opt, parsed (moby parseSecurityOpt). */
typedef struct
{
  bool no_new_privileges;
  bool seccomp_unconfined;
  char *seccomp_profile;     /* the profile JSON text the CLI sent, NULL = the default */
  char *apparmor_profile;    /* NULL = default */
  bool label_disable;
  bool has_writable_cgroups, writable_cgroups;
} arca_security_options_t;

typedef struct
{
  /* Config */
  char *hostname, *domainname, *user;
  bool tty, open_stdin, stdin_once;
  char **env;
  char *working_dir;
  char *stop_signal;
  bool has_stop_timeout;
  int stop_timeout;

  /* HostConfig */
  bool privileged, read_only, auto_remove, init, publish_all_ports;
  char **cap_add, **cap_drop, **group_add;
  char **security_opt;
  arca_security_options_t security;
  unsigned console_height, console_width;
  int64_t shm_size;                 /* 0 = unset: the daemon's default */
  int oom_score_adj;
  /* The JSON members below are references the options hold: the record
   * keeps its HostConfig as text (engine/internal.h), not as a tree. */
  json_t *sysctls;                  /* {"name":"value"} */
  json_t *storage_opt;              /* {"size":"1G"} */
  json_t *annotations;
  char *log_type;                   /* LogConfig.Type ("" = the daemon's default) */
  json_t *log_config;               /* LogConfig.Config */
  char *runtime;                    /* HostConfig.Runtime ("" = the daemon's default) */
  char *isolation;                  /* HostConfig.Isolation */
  char *network_mode;               /* "bridge", "host", "none", "container:<x>", a network name */
  arca_ns_option_t ipc, pid, uts, cgroupns, userns;
  bool has_masked_paths, has_readonly_paths; /* non-null in the request: replace the defaults */
  char **masked_paths, **readonly_paths;
  arca_resources_t resources;
} arca_container_options_t;

/* Typed options from a record's Config and HostConfig (canonical JSON).
 * Checks what a field alone decides (modes, security options, ranges):
 * ARCA_ERR_INVALID with dockerd's text.  The JSON members taken from
 * host_config are references *out holds: they outlive host_config. */
int options_parse (json_t *config, json_t *host_config, arca_container_options_t **out, arca_error_t *err);
void options_free (arca_container_options_t *o);
static inline void
options_freep (arca_container_options_t **p)
{
  options_free (*p);
}
#define _cleanup_options_ __attribute__ ((cleanup (options_freep)))

/* HostConfig.Resources alone (update bodies use this too). */
int options_parse_resources (json_t *obj, arca_resources_t *r, arca_error_t *err);
void options_resources_clear (arca_resources_t *r);

/* ---- checks dockerd makes at create and update ---- */

/* What the host supports (moby pkg/sysinfo): probed once from the cgroup
 * mounts (v1 controllers' files, or cgroup.controllers on v2). */
typedef struct
{
  bool cgroup_v2;
  bool memory_limit, swap_limit, memory_reservation, memory_swappiness, kernel_memory, oom_kill_disable;
  bool pids_limit;
  bool cpu_shares, cpu_cfs, cpu_realtime;
  bool cpuset;
  char cpus[256], mems[256];  /* cpuset.cpus / cpuset.mems of the root cgroup */
  bool blkio_weight, blkio_weight_device, blkio_read_bps, blkio_write_bps, blkio_read_iops, blkio_write_iops;
  bool cgroup_namespaces;
  bool seccomp;
  int ncpu;
} arca_sysinfo_t;

/* Probe the running host (cached after the first call; thread-safe). */
const arca_sysinfo_t *options_sysinfo (void);

/* moby verifyPlatformContainerResources: errors (ARCA_ERR_INVALID) and
 * warnings (appended to the JSON array warnings) as dockerd words them.
 * Settings the host cannot apply are discarded in r with a warning, as
 * dockerd does.  update: the checks for POST /containers/{id}/update. */
int options_verify_resources (arca_resources_t *r, const arca_sysinfo_t *si, bool update, json_t *warnings,
                              arca_error_t *err);

/* Write back into obj (a HostConfig, or an update body) what
 * options_verify_resources changed in r: dockerd stores the HostConfig as
 * its verification left it (settings discarded with a warning, MemorySwappiness
 * -1 as null). */
void options_resources_store (const arca_resources_t *r, json_t *obj);

/* HostConfig.Isolation on Linux (runconfig validateIsolation): "" and
 * "default" (any case) pass, and Arca's "process" and "vm"
 * (engine/isolation.h); anything else is 400 "invalid isolation (<v>):
 * linux supports 'default', 'process' and 'vm'" (dockerd: "... linux only
 * supports 'default'"). */
int options_check_isolation (const char *isolation, arca_error_t *err);

/* The checks of runconfig (validateNetMode, validateIsolation, validateQoS,
 * validateResources) and verifyPlatformContainerSettings that need no
 * engine state, in dockerd's order, with its warnings. */
int options_verify (arca_container_options_t *o, const arca_sysinfo_t *si, bool update, json_t *warnings,
                    arca_error_t *err);

#endif
