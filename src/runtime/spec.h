/* OCI runtime spec (config.json) generation with dockerd's defaults
 * (shared/spec/runtime-defaults.md: capabilities, namespaces, default mounts,
 * masked and read-only paths, devices, rlimits, seccomp profile
 * shared/spec/seccomp-default.json embedded at build time or read from the
 * install dir), and the container's /etc files. */
#ifndef ARCA_RUNTIME_SPEC_H
#define ARCA_RUNTIME_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util/error.h"

typedef struct
{
  const char *id;            /* container ID (cgroup path /arca/<id>) */
  const char *rootfs;        /* absolute path of the mounted rootfs */
  char **args;               /* process args: Entrypoint + Cmd, resolved */
  char **env;                /* final environment (PATH, HOSTNAME, TERM added by caller or here? -> here:
                                spec_build adds PATH if missing, HOSTNAME, TERM=xterm when tty) */
  const char *cwd;           /* WorkingDir or "/" */
  const char *user;          /* Config.User as given ("", "name", "uid", "uid:gid", "name:group") */
  const char *hostname;
  const char *domainname;    /* may be NULL */
  bool tty;
  bool read_only;            /* HostConfig.ReadonlyRootfs */
  bool privileged;
  char **cap_add;            /* HostConfig.CapAdd (may be NULL) */
  char **cap_drop;
  char **group_add;          /* HostConfig.GroupAdd */
  const char *hosts_path;    /* files bind-mounted at /etc/hosts, /etc/hostname, /etc/resolv.conf */
  const char *hostname_path;
  const char *resolv_conf_path;
  const char *netns_path;    /* NULL: new network namespace */
  unsigned console_height, console_width;
} arca_spec_options_t;

/* Resolve user/group as dockerd does (moby/sys/user GetExecUserPath) from
 * the rootfs's /etc/passwd and /etc/group: numeric IDs need no entry; names
 * must exist ("unable to find user NAME: no matching entries in passwd
 * file" as ARCA_ERR_INVALID... dockerd reports it at start).  Also returns
 * HOME (from passwd, "/" if none) and supplementary groups from /etc/group. */
int spec_resolve_user (const char *rootfs, const char *user, uid_t *uid, gid_t *gid, gid_t **additional,
                       size_t *n_additional, char **home, arca_error_t *err);

/* Build config.json; *out is the spec object. */
int spec_build (const arca_spec_options_t *opts, json_t **out, arca_error_t *err);

/* Write the container's /etc files into dir as dockerd does for a container
 * with its own network namespace and no networks (until networking lands):
 * hostname ("<hostname>\n"), hosts (localhost lines + "<ip?> hostname" if
 * any; IPv6 lines as dockerd), resolv.conf (the host's /etc/resolv.conf with
 * localhost nameservers dropped; default Google DNS if none left, as moby's
 * libnetwork/resolvconf does).  Paths written: dir/hostname, dir/hosts,
 * dir/resolv.conf. */
int spec_write_etc_files (const char *dir, const char *hostname, const char *domainname, arca_error_t *err);

#endif
