/* The arca command line: configuration and the daemon commands. */
#ifndef ARCA_CLI_CLI_H
#define ARCA_CLI_CLI_H

#include <jansson.h>
#include <stdbool.h>

#include "runtime/vm.h"
#include "util/error.h"

#define ARCA_DEFAULT_CONFIG "/etc/arca/config.json"
#define ARCA_DEFAULT_SOCKET "/var/run/arca.sock"
#define ARCA_DEFAULT_DATA_ROOT "/var/lib/arca"
#define ARCA_DEFAULT_EXEC_ROOT "/run/arca"

/* Daemon configuration: defaults, then the JSON config file, then flags. */
typedef struct
{
  char *socket_path;
  char *data_root;
  char *exec_root;
  char *log_level;        /* debug|info|warning|error */
  char *default_runtime;  /* a key of runtimes */
  json_t *runtimes;       /* {"runc":{"path":"runc"}, ...} */
  /* registry client (image/registry.h): "host[:port]" or CIDR entries, and
   * mirror URLs for docker.io; NULL-terminated, NULL when not set. */
  char **insecure_registries;
  char **registry_mirrors;
  /* networking (src/net): host-global names, configurable so several
   * daemons can share a host; defaultAddressPools JSON or NULL */
  char *bridge_name;
  char *nft_table;
  json_t *default_address_pools;
  /* VM isolation (runtime/vm.h): "vm" settings, and the default isolation
   * from "exec-opts": ["isolation=process|vm"] (dockerd's daemon.json key) */
  arca_vm_options_t vm;
  char *default_isolation;
  /* security (docs/security.md): keep the forward policy accept
   * (ipForwardNoDrop, dockerd's --ip-forward-no-drop); the port proxy's
   * connection cap (proxyMaxConnections, 0 = default) */
  bool ip_forward_no_drop;
  int proxy_max_connections;
  /* the default bridge's IPv6 (daemon.json "ipv6", "fixed-cidr-v6") */
  bool ipv6;
  char *fixed_cidr_v6;
  /* container defaults, as daemon.json's keys of the same names:
   * "log-driver", "log-opts" ({"max-size":"10m"}), "seccomp-profile" (a
   * file, "builtin" or "unconfined"; its text is loaded here),
   * "default-cgroupns-mode" ("host" or "private"); NULL when not set. */
  char *log_driver;
  json_t *log_opts;
  char *seccomp_profile;
  char *default_cgroupns_mode;
  /* API connections (http/http.h arca_http_limits_t): seconds a connection
   * may idle or spend on its request headers, and how many may be open;
   * 0 = the HTTP layer's defaults */
  unsigned api_idle_timeout;
  unsigned api_max_connections;
  /* API listeners (cli/listen.c, docs/security.md), dockerd's daemon.json
   * keys and flags: "hosts" (-H; NULL = unix://<socket_path>), "tls" and
   * "tlsverify" (-1 = not given, else 0/1), "tlscacert", "tlscert",
   * "tlskey" (NULL = $DOCKER_CERT_PATH or ~/.docker {ca,cert,key}.pem),
   * "group" of the unix sockets (NULL = "docker" if it exists). */
  char **hosts;
  int tls, tlsverify;
  char *tlscacert, *tlscert, *tlskey;
  char *group;
} arca_config_t;

/* Flags common to the daemon commands; NULL when not given. */
typedef struct
{
  const char *config;
  const char *socket_path;
  const char *data_root;
  const char *exec_root;
  const char *log_level;
  /* daemon start only: -H values (NULL-terminated, NULL if none), --tls and
   * --tlsverify (-1 = not given), the TLS files and --group */
  char **hosts;
  int tls, tlsverify;
  const char *tlscacert, *tlscert, *tlskey;
  const char *group;
} arca_cli_flags_t;

/* Fill c: defaults, the config file (flags->config, or the default path,
 * whose absence is fine), then the flags.  Errors (unreadable or bad
 * file, unknown key, bad value, missing explicit file) are set in err. */
int cli_config_load (arca_config_t *c, const arca_cli_flags_t *flags, arca_error_t *err);
void cli_config_free (arca_config_t *c);

/* Executable for a runtime path or name: a path containing '/' is used as
 * is; a bare name is searched in $PATH.  NULL if not found. */
char *cli_find_executable (const char *name);

/* ---- API listeners (cli/listen.c) ---- */
typedef struct
{
  char *host;     /* as given, normalized: "unix:///run/x.sock", "tcp://127.0.0.1:2376" */
  char *path;     /* unix: the socket's path; NULL for tcp */
  bool tls;       /* tcp with --tls or --tlsverify */
  int fd;         /* listening socket, -1 before bind */
  bool bound;     /* unix: this daemon created the socket file */
} arca_listener_t;

/* Check c's hosts and TLS settings and fill out (NULL-terminated array of
 * n entries, fds -1) as dockerd's loadListeners would bind them: errors
 * for a bad address, an unsupported scheme, or plain TCP on a non-loopback
 * address without an explicit --tls=false/--tlsverify=false; warnings
 * logged for plain TCP. */
int cli_listeners_plan (const arca_config_t *c, arca_listener_t **out, size_t *n, arca_error_t *err);
/* Bind and listen on one planned listener (unix: mode 0660, root:<group>). */
int cli_listener_open (arca_listener_t *l, const arca_config_t *c, arca_error_t *err);
void cli_listeners_free (arca_listener_t *l, size_t n);
/* Parse a dockerd -H value into a normalized one (pure; unit-tested):
 * "unix://PATH" (empty = default_socket), "tcp://[HOST]:PORT" (HOST empty
 * = 127.0.0.1, PORT empty = 2376 with TLS, else 2375), "fd://" refused. */
int cli_host_parse (const char *in, const char *default_socket, bool tls, char **out, arca_error_t *err);

int cli_daemon_main (int argc, char **argv);
int cli_daemon_start (const arca_cli_flags_t *flags);
int cli_daemon_stop (const arca_cli_flags_t *flags, int timeout_s);
int cli_daemon_status (const arca_cli_flags_t *flags);

#endif
