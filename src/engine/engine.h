/* The engine: containers, images and their state, independent of HTTP.
 *
 * Concurrency discipline: engine state (the container table and each
 * container's record) is guarded by one mutex, never held across I/O to a
 * shim, a runtime call or a client socket.  SQLite has its own lock
 * (store/db.h). */
#ifndef ARCA_ENGINE_ENGINE_H
#define ARCA_ENGINE_ENGINE_H

#include <jansson.h>
#include <stdbool.h>

#include "util/error.h"

typedef struct arca_engine arca_engine_t;

typedef struct
{
  const char *data_root;     /* /var/lib/arca */
  const char *exec_root;     /* /run/arca */
  const char *runtime_name;  /* "runc" */
  const char *runtime_path;  /* resolved executable of runtime_name */
  json_t *runtimes;          /* {"runc":{"path":"runc"},"crun":{"path":"crun"}} (borrowed) */
  const char *shim_path;     /* arca-shim executable */
  /* registry client settings (image/registry.h registry_configure);
   * NULL-terminated, borrowed, NULL when not set. */
  char **insecure_registries;
  char **registry_mirrors;
  /* networking (src/net/net.h): default bridge name ("arca0" if NULL),
   * nftables table ("arca" if NULL), defaultAddressPools (borrowed) */
  const char *bridge_name;
  const char *nft_table;
  json_t *default_address_pools;
  /* VM isolation (runtime/vm.h, engine/isolation.h): the config file's
   * "vm" settings (borrowed; NULL = defaults) and the default isolation
   * ("process" or "vm"; NULL = "process"). */
  const struct arca_vm_options *vm;
  const char *default_isolation;
  bool ip_forward_no_drop;    /* config ipForwardNoDrop */
  bool ipv6;                  /* config ipv6: IPv6 on the default bridge */
  const char *fixed_cidr_v6;  /* config fixed-cidr-v6 (NULL = none) */
  int proxy_max_connections;  /* config proxyMaxConnections (0 = default) */
  /* container defaults (daemon.json's log-driver, log-opts,
   * seccomp-profile, default-cgroupns-mode); NULL = dockerd's defaults
   * (json-file, none, the built-in profile, host on cgroup v1 / private
   * on v2).  seccomp_profile is the profile's text, "builtin" or
   * "unconfined".  Borrowed. */
  const char *log_driver;
  json_t *log_opts;
  const char *seccomp_profile;
  const char *default_cgroupns_mode;
} arca_engine_options_t;

/* Create the data and exec roots and their top directories with dockerd's
 * modes, or tighten them when they exist (start-up on a data root an older
 * Arca made): local users other than root get nothing from either root
 * (docs/security.md lists every mode).  Called by arca_engine_open, and by
 * the daemon before it takes its pid file in the exec root. */
int arca_engine_prepare_roots (const char *data_root, const char *exec_root, arca_error_t *err);

/* Open the state under data_root (creating it), reload containers, re-adopt
 * running ones through their shims, mark those whose shim is gone as exited
 * (recorded status, or 137). */
int arca_engine_open (const arca_engine_options_t *opts, arca_engine_t **out, arca_error_t *err);
/* The daemon's default log config is checked as dockerd checks it at start
 * (400-style text: "failed to set log opts: ..."). */
/* Stop serving; running containers are left to their shims. */
void arca_engine_close (arca_engine_t *e);
/* Called by the daemon's main thread about once a second: memory that only
 * a rare kind of request needs is given back once it has not been used for
 * a while: the nftables context (networks_release_idle) and SQLite's page
 * cache (arca_db_release_idle). */
void arca_engine_release_idle (arca_engine_t *e);

const arca_engine_options_t *arca_engine_options (arca_engine_t *e);
/* Persistent daemon ID (a UUID created on first start, kept in meta). */
const char *arca_engine_id (arca_engine_t *e);

/* VM isolation (engine/isolation.c), for docker info: the default mode
 * ("process" or "vm"), and the SecurityOptions entry
 * "name=vm,accelerator=<kvm|tcg|auto>,kernel=<guest release>" (malloc'd;
 * NULL when VM isolation is not available here). */
const char *arca_engine_default_isolation (arca_engine_t *e);
char *arca_engine_vm_security_option (arca_engine_t *e);

typedef struct
{
  int total, running, paused, stopped;
} arca_container_counts_t;
void arca_engine_container_counts (arca_engine_t *e, arca_container_counts_t *out);

#endif
