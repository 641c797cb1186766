/* Isolation modes (HostConfig.Isolation): "process" is a runc container
 * (namespaces and cgroups), "vm" runs the container in a VM of its own
 * (runtime/vm.h); "" and "default" take the daemon's default
 * (exec-opts "isolation=process|vm" in the config file, as dockerd's
 * exec-opt on Windows).  The engine's verbs stay the same; these hooks do
 * the few things that differ for a VM. */
#ifndef ARCA_ENGINE_ISOLATION_H
#define ARCA_ENGINE_ISOLATION_H

#include <jansson.h>
#include <stdbool.h>

#include "engine/engine.h"
#include "util/error.h"

struct arca_container;

/* Open e->vm from the engine options (never fails for a host without QEMU:
 * VM containers are then refused at create with the reason). */
int isolation_open (arca_engine_t *e, arca_error_t *err);
void isolation_close (arca_engine_t *e);

/* At create, after options_check_isolation and before anything is made:
 * resolve "" / "default" to the daemon's default (stored as "vm" in hc when
 * that is the default, as is "vm" in any case); refuse joining a VM's
 * namespaces (isolation_check_start); for a VM, refuse options it cannot
 * honour (host or container: network/pid/ipc/uts namespaces, shareable
 * IPC, the host's cgroup namespace, devices, seccomp and AppArmor profiles
 * other than unconfined, shared mount propagation) and a host where VM
 * isolation is not available. */
int isolation_validate_create (arca_engine_t *e, json_t *host_config, arca_error_t *err);

/* At create and at start: no container joins the network, PID or IPC
 * namespace of a VM container (its host process is QEMU); 400 "cannot
 * join the <kind> namespace of container <x>: it runs in a VM ...". */
int isolation_check_start (arca_engine_t *e, struct arca_container *c, arca_error_t *err);

/* True if the container runs in a VM.  Caller holds e->lock or owns c. */
bool container_is_vm (struct arca_container *c);

/* At start, after config.json and the network are ready: the taps for the
 * guest's NICs and the shim's vm.json in sdir (*vm_config, malloc'd). */
int isolation_vm_prepare (arca_engine_t *e, struct arca_container *c, const char *sdir, const char *netns,
                          char **vm_config, arca_error_t *err);

/* docker top of a VM container: the guest's process list (ps -ef columns);
 * other ps options are refused (500, the guest has no ps of its own). */
int isolation_vm_top (arca_engine_t *e, struct arca_container *c, const char *ps_args, json_t **out,
                      arca_error_t *err);
/* pause/unpause: the VM's vCPUs stop (QMP stop/cont). */
int isolation_vm_pause (arca_engine_t *e, struct arca_container *c, bool pause, arca_error_t *err);

/* network connect/disconnect of a running VM container: refused (409),
 * the guest's NICs are fixed at boot (no hot-plug on microvm). */
int isolation_vm_network_change (const char *id, arca_error_t *err);

/* docker info: "Isolation" (the default mode) and a SecurityOptions entry
 * "name=vm,accelerator=..,kernel=.." when VM isolation is available. */
const char *isolation_default (arca_engine_t *e);
char *isolation_security_option (arca_engine_t *e);

#endif
