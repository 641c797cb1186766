/* OCI runtime spec (config.json) generation with dockerd's defaults (moby
 * oci/defaults.go, daemon/oci_linux.go: capabilities, namespaces, default
 * mounts, masked and read-only paths, devices, sysctls, seccomp), and the container's
 * /etc files.  Docker's default seccomp profile (src/runtime/seccomp-default.json,
 * from moby/profiles, Apache-2.0) is embedded at build time. */
#ifndef ARCA_RUNTIME_SPEC_H
#define ARCA_RUNTIME_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "runtime/options.h"
#include "util/error.h"

/* A namespace for the spec: a new one, the host's (no entry), or one to
 * join by path (/proc/<pid>/ns/<type>, or a bind-mounted netns). */
typedef struct
{
  arca_ns_mode_t mode; /* NS_MODE_PRIVATE / SHAREABLE / NONE: new; HOST: none; CONTAINER: join path */
  const char *path;
} arca_spec_ns_t;

/* Everything config.json is built from: the container's typed options and
 * what the engine prepared for this start (paths, namespaces to join). */
typedef struct
{
  const arca_container_options_t *opts; /* Config + HostConfig, typed (runtime/options.h) */
  const char *id;            /* container ID (cgroupsPath "<cgroup parent>/<id>") */
  const char *rootfs;        /* absolute path of the mounted rootfs */
  char **args;               /* process args: Path + Args (Entrypoint + Cmd, resolved at create) */
  /* Config.Env is opts->env (already merged with the image's).  spec_build
   * starts from PATH=<default>, HOSTNAME=<hostname>, TERM=xterm (tty) and
   * applies it on top by key; "KEY" without '=' removes KEY
   * (CreateDaemonEnvironment). */
  const char *hosts_path;    /* files bind-mounted at /etc/hosts, /etc/hostname, /etc/resolv.conf */
  const char *hostname_path; /* (each may be NULL: no mount) */
  const char *resolv_conf_path;
  arca_spec_ns_t netns;      /* network: PRIVATE = new (loopback only), HOST, CONTAINER = join path */
  arca_spec_ns_t ipcns, pidns, utsns;
  /* --init (HostConfig.Init): host path of a static init (tini-static),
   * bind-mounted read-only at /sbin/docker-init and run as
   * "/sbin/docker-init -- <args>", as dockerd does with docker-init.
   * NULL: no init. */
  const char *init_path;
  /* Volumes and mounts (engine/mounts.c): OCI mount objects (binds,
   * volumes, tmpfs) added after the default mounts as dockerd's WithMounts
   * does: a default or /etc file mount at the same destination is dropped
   * (a user mount on /dev drops the default /dev/... mounts too), and the
   * user and /etc file mounts are ordered by destination depth.  NULL: none. */
  json_t *extra_mounts;
  int64_t default_shm_size;  /* the daemon's default for ShmSize 0 (bytes; 0 = 64 MiB) */
  /* The daemon's seccomp-profile: a profile's JSON text, "builtin" or
   * "unconfined"; NULL = the built-in default. */
  const char *default_seccomp_profile;
  const char *cgroup_parent; /* cgroup parent without CgroupParent ("/arca" if NULL) */
  /* the runtime takes the seccomp filter compiled (crun's
   * run.oci.seccomp_bpf_data annotation, runtime/seccomp_bpf.c) */
  bool seccomp_bpf;
  char **link_env;           /* legacy links' variables, after HOSTNAME/TERM and before Config.Env
                                (moby CreateDaemonEnvironment linkedEnv); NULL: none */
} arca_spec_options_t;

/* Resolve Config.User as dockerd does (moby/sys/user GetExecUserPath) from
 * the rootfs's /etc/passwd and /etc/group (opened without leaving the
 * rootfs: openat2 RESOLVE_IN_ROOT).  "" is uid 0; numeric IDs need no
 * entry (gid 0 then); "user:group" sets the primary group explicitly and then
 * no supplementary groups are looked up.  Errors (ARCA_ERR_INTERNAL: dockerd
 * reports them when the container starts, as 500):
 *   "unable to find user NAME: no matching entries in passwd file"
 *   "unable to find group NAME: no matching entries in group file"
 *   "uids and gids must be in range 0-2147483647"
 * *additional (optional, malloc'd) = primary gid followed by the groups in
 * /etc/group that list the user (the OCI additionalGids before GroupAdd);
 * *home (optional) = passwd home, "/" if none. */
int spec_resolve_user (const char *rootfs, const char *user, uid_t *uid, gid_t *gid, gid_t **additional,
                       size_t *n_additional, char **home, arca_error_t *err);

/* Check HostConfig.CapAdd/CapDrop names as dockerd does at create
 * (NormalizeLegacyCapabilities): case-insensitive, "CAP_" optional, "ALL";
 * ARCA_ERR_INVALID `unknown capability: "CAP_X"`. */
int spec_validate_capabilities (char **cap_add, char **cap_drop, arca_error_t *err);

/* The init binary for --init: /usr/bin/tini-static (Debian's static tini:
 * the container need not have a libc), else /usr/bin/docker-init. */
const char *spec_init_path (void);

/* Build config.json; *out is the spec object (caller owns the reference).
 * Resolves the user and GroupAdd inside opts->rootfs (errors as
 * spec_resolve_user; "Unable to find group X: no matching entries in group
 * file"), creates the working directory, rejects unknown capabilities
 * (ARCA_ERR_INVALID). */
int spec_build (const arca_spec_options_t *opts, json_t **out, arca_error_t *err);

/* linux.cgroupsPath of container id (moby withCgroups, cgroupfs driver):
 * <parent>/<id>, parent "/arca" when NULL or empty (malloc'd). */
char *spec_cgroups_path (const char *parent, const char *id);

/* The OCI linux.resources object (memory, cpu, pids, blockIO) for r, as
 * moby daemon/daemon_unix.go getMemoryResources, getCPUResources,
 * getPidsLimit, getBlkioWeightDevices and getBlkioThrottleDevices:
 * unset fields are left out.  update: for `<runtime> update -r`, where a
 * limit that is lifted must be written as -1 (runc keeps what is not in the
 * file).  Devices named in blkio settings are stat'ed: a missing one is
 * ARCA_ERR_INVALID "stat <path>: no such file or directory". */
int spec_resources (const arca_resources_t *r, bool update, json_t **out, arca_error_t *err);

/* The OCI process for an exec (moby daemon/exec.go ContainerExecStart,
 * execSetPlatformOpt): the container's spec process (from its config.json)
 * with the exec's args, env, working dir, terminal and console size; the
 * user resolved in rootfs when given (with the container's GroupAdd); all
 * capabilities the host allows when privileged. */
typedef struct
{
  char **args;
  char **env;
  const char *working_dir;   /* "" = "/" */
  bool tty;
  unsigned console_height, console_width;
  const char *user;          /* NULL: the container's process user */
  const char *rootfs;        /* to resolve user and group names */
  char **group_add;          /* HostConfig.GroupAdd */
  bool privileged;
} arca_exec_process_options_t;
int spec_exec_process (json_t *container_process, const arca_exec_process_options_t *x, json_t **out,
                       arca_error_t *err);

/* Write the container's /etc files into dir as dockerd does for a container
 * with its own network namespace and no network addresses yet:
 *   dir/hostname     "<hostname>\n" (without the domain name, as dockerd)
 *   dir/hosts        localhost + IPv6 lines (spec_write_hosts_file)
 *   dir/resolv.conf  spec_write_resolv_conf with no overrides (legacy
 *                    transform, IPv6 off), plus dir/resolv.conf.hash
 * All mode 0644, written atomically (rename) but not fsynced: they are
 * derived from the container's record and written again at every start
 * (hostname, hosts and resolv.conf by engine/networks.c), as moby builds
 * them in initializeNetworking, so a power loss costs nothing a start does
 * not rebuild; an fsync and a directory fsync each cost ~1 ms on the
 * critical path of create and start. */
int spec_write_etc_files (const char *dir, const char *hostname, const char *domainname, arca_error_t *err);

/* dir/hostname: "<hostname>\n" (moby BuildHostnameFile), not fsynced. */
int spec_write_hostname_file (const char *dir, const char *hostname, arca_error_t *err);

/* /etc/hosts (moby libnetwork/etchosts): "127.0.0.1\tlocalhost", the IPv6
 * lines ("::1\tlocalhost ip6-localhost ip6-loopback", "fe00::\tip6-localnet",
 * "ff00::\tip6-mcastprefix", "ff02::1\tip6-allnodes", "ff02::2\tip6-allrouters"),
 * then extra_hosts ("name:ip" or "name=ip", written "ip\tname"), then one line
 * per address in ips: "ip\t<hostname>[.<domainname>] [<short name if dotted>]".
 * extra_hosts and ips may be NULL. */
int spec_write_hosts_file (const char *path, const char *hostname, const char *domainname, char **extra_hosts,
                           char **ips, arca_error_t *err);

typedef struct
{
  char **dns;                /* HostConfig.Dns: replaces the host's nameservers */
  char **dns_search;         /* HostConfig.DnsSearch ("." entries dropped) */
  char **dns_options;        /* HostConfig.DnsOptions */
  const char *internal_ns;   /* embedded DNS server address (e.g. "127.0.0.11") for user-defined
                                networks; NULL for the default bridge / no network ("legacy") */
  bool ipv6;                 /* container has IPv6: keep IPv6 nameservers, IPv6 defaults */
} arca_resolv_options_t;

/* dir/resolv.conf from the host's /etc/resolv.conf (or systemd-resolved's
 * real file when the host only lists 127.0.0.53), as moby's
 * libnetwork/internal/resolvconf generates it, with its header and trailing
 * comments.  Legacy: loopback (and, without IPv6, IPv6) nameservers dropped;
 * 8.8.8.8, 8.8.4.4 when none are left.  Internal: nameserver internal_ns,
 * "# ExtServers: [host(a) ...]", options gain ndots:0 unless set.  The
 * digest is kept in dir/resolv.conf.hash; if the file no longer matches it
 * (the user edited it), it is left alone, as dockerd does.  o may be NULL. */
int spec_write_resolv_conf (const char *dir, const arca_resolv_options_t *o, arca_error_t *err);

#endif
