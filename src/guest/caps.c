/* Capability names of the OCI spec ("CAP_CHOWN") to numbers, for the guest
 * kernel (Linux 6.1 knows 0..40). */
#include "guest/guest.h"

#include <string.h>
#include <strings.h>

static const char *const cap_names[] = {
  "CHOWN",           "DAC_OVERRIDE",    "DAC_READ_SEARCH", "FOWNER",          "FSETID",
  "KILL",            "SETGID",          "SETUID",          "SETPCAP",         "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE", "NET_BROADCAST",  "NET_ADMIN",       "NET_RAW",         "IPC_LOCK",
  "IPC_OWNER",       "SYS_MODULE",      "SYS_RAWIO",       "SYS_CHROOT",      "SYS_PTRACE",
  "SYS_PACCT",       "SYS_ADMIN",       "SYS_BOOT",        "SYS_NICE",        "SYS_RESOURCE",
  "SYS_TIME",        "SYS_TTY_CONFIG",  "MKNOD",           "LEASE",           "AUDIT_WRITE",
  "AUDIT_CONTROL",   "SETFCAP",         "MAC_OVERRIDE",    "MAC_ADMIN",       "SYSLOG",
  "WAKE_ALARM",      "BLOCK_SUSPEND",   "AUDIT_READ",      "PERFMON",         "BPF",
  "CHECKPOINT_RESTORE",
};

int
caps_from_name (const char *name)
{
  if (name == NULL)
    return -1;
  if (strncasecmp (name, "CAP_", 4) == 0)
    name += 4;
  for (size_t i = 0; i < sizeof cap_names / sizeof cap_names[0]; i++)
    if (strcasecmp (name, cap_names[i]) == 0)
      return (int) i;
  return -1;
}
