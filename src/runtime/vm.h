/* VM isolation, host side in the daemon: the VM settings of the config
 * file, whether VM isolation can run here, the accelerator (KVM where a
 * guest really boots under it, TCG otherwise), the guest's initramfs, and
 * per container the vm.json that arca-shim's VM backend runs QEMU from
 * (src/shim/vm.h describes it).
 *
 * A VM container is a container like any other for the daemon: the same
 * OCI config.json (the guest agent applies it), the same shim protocol
 * (the shim owns QEMU as it owns runc's container, so VMs outlive daemon
 * restarts), the same netns with its endpoints (the guest's NIC is spliced
 * onto them, net/vmtap.c). */
#ifndef ARCA_RUNTIME_VM_H
#define ARCA_RUNTIME_VM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/error.h"

#define ARCA_VM_DEFAULT_DIR "/var/cache/arca/vm" /* scripts/setup-vm-kernel.sh */

/* The "vm" object of the daemon's config file. */
typedef struct arca_vm_options
{
  char *kernel;        /* kernelPath: the guest kernel (bzImage) */
  char *modules;       /* modulesPath: dir with modules.list and the .ko files ("" = none) */
  char *initrd;        /* initrdPath: a complete initramfs instead of the assembled one */
  char *qemu;          /* qemuPath: name or path of qemu-system-x86_64 */
  char *accelerator;   /* "auto" | "kvm" | "tcg" */
  char *kernel_args;   /* kernelArgs: appended to the guest's command line */
  int64_t memory;      /* memory: bytes for a container without -m */
  int64_t overhead;    /* memoryOverhead: bytes added for the guest kernel and agent */
  int cpus;            /* cpus: vCPUs for a container without --cpus */
  int boot_timeout_s;  /* bootTimeout: seconds for the guest to start the container */
  char *agent;         /* not in the file: arca-guest next to the daemon */
} arca_vm_options_t;

void vm_options_defaults (arca_vm_options_t *o);
/* Apply a "vm" object (keys above; unknown keys, bad types and values are
 * errors naming src).  memory accepts bytes or "512m"-style sizes. */
int vm_options_load (arca_vm_options_t *o, json_t *obj, const char *src, arca_error_t *err);
void vm_options_free (arca_vm_options_t *o);

/* Sizing, from HostConfig: the VM's memory in MiB (Memory, or the default,
 * plus the overhead) and vCPUs (NanoCpus or CpuQuota/CpuPeriod rounded up,
 * or the default). */
int64_t vm_memory_mib (const arca_vm_options_t *o, int64_t memory);
int vm_vcpus (const arca_vm_options_t *o, int64_t nano_cpus, int64_t cpu_quota, int64_t cpu_period);

typedef struct arca_vm arca_vm_t;

/* Never fails for what is missing on the host: vm_check says why. */
int vm_open (const arca_vm_options_t *o, const char *data_root, arca_vm_t **out, arca_error_t *err);
void vm_close (arca_vm_t *vm);

/* 0 if VM containers can run here; else ARCA_ERR_INVALID with the reason
 * ("VM isolation is not available: qemu-system-x86_64 not found"). */
int vm_check (arca_vm_t *vm, arca_error_t *err);

/* "kvm" or "tcg".  With accelerator auto the first call boots the guest
 * under KVM (when /dev/kvm opens) and takes KVM only if the agent says
 * hello within a few seconds; the answer is kept in memory and in
 * <data-root>/vm/accel.json for as long as QEMU, the kernel and the host
 * kernel stay the same.  Blocks during that probe. */
const char *vm_accelerator (arca_vm_t *vm, arca_error_t *err);
/* The accelerator if known without probing, else NULL. */
const char *vm_accelerator_known (arca_vm_t *vm);

/* docker info: {"available":b,"reason":..,"accelerator":..,"kernel":..} */
json_t *vm_info (arca_vm_t *vm);

typedef struct
{
  const char *id;
  const char *state_dir;   /* the shim's; vm.json goes there */
  const char *netns;       /* NULL: no network namespace */
  json_t *interfaces;      /* net_vm_attach's (borrowed; NULL = none) */
  bool dns_relay;          /* resolv.conf points at the embedded DNS */
  int64_t memory;          /* HostConfig.Memory, 0 = default */
  int64_t nano_cpus, cpu_quota, cpu_period;
} arca_vm_container_t;

/* Write <state_dir>/vm.json for the shim; *path (malloc'd) is its path.
 * Probes the accelerator and assembles the initramfs when needed. */
int vm_container_write (arca_vm_t *vm, const arca_vm_container_t *c, char **path, arca_error_t *err);

/* ---- initramfs (vm_initrd.c) ---- */

/* A cpio "newc" archive writer (the format the kernel unpacks). */
typedef struct
{
  FILE *f;
  uint32_t ino;
  int error;
} arca_cpio_t;
void cpio_begin (arca_cpio_t *c, FILE *f);
void cpio_dir (arca_cpio_t *c, const char *name, unsigned mode);
void cpio_file (arca_cpio_t *c, const char *name, unsigned mode, const void *data, size_t len);
void cpio_chardev (arca_cpio_t *c, const char *name, unsigned mode, unsigned major, unsigned minor);
/* The trailer; returns 0 or -1 if any write failed. */
int cpio_end (arca_cpio_t *c);

/* Write the guest's initramfs to path: /init = the agent, its modules in
 * /lib/modules/arca with modules.list, /dev/console. */
int vm_initrd_build (const char *path, const char *agent, const char *modules_dir, arca_error_t *err);

#endif
