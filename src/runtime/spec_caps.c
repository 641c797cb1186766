/* Capability sets as dockerd computes them (moby oci/caps: DefaultCapabilities,
 * NormalizeLegacyCapabilities, TweakCapabilities). */
#include "runtime/spec_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "util/cleanup.h"
#include "util/strutil.h"

static const char *const cap_names[] = {
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
  "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};
#define N_CAPS ((int) (sizeof cap_names / sizeof cap_names[0]))

/* moby oci/caps/defaults.go DefaultCapabilities, in its order. */
static const char *const default_caps[] = {
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE", NULL,
};

const char *
spec_cap_name (int cap)
{
  return cap >= 0 && cap < N_CAPS ? cap_names[cap] : NULL;
}

int
spec_cap_last (void)
{
  int last = N_CAPS - 1;
  FILE *f = fopen ("/proc/sys/kernel/cap_last_cap", "re");
  if (f)
    {
      int v;
      if (fscanf (f, "%d", &v) == 1 && v >= 0 && v < N_CAPS)
        last = v;
      fclose (f);
    }
  return last;
}

static bool
strv_has (char **v, const char *s)
{
  for (; v && *v; v++)
    if (strcmp (*v, s) == 0)
      return true;
  return false;
}

/* Upper-case, add the CAP_ prefix, check against the capabilities the kernel
 * knows; "ALL" stays "ALL".  Duplicates are dropped. */
static int
normalize_caps (char **in, char ***out, arca_error_t *err)
{
  _cleanup_strv_ char **res = xmalloc0 (sizeof (char *));
  int last = spec_cap_last ();
  for (; in && *in; in++)
    {
      _cleanup_free_ char *up = xstrdup (*in);
      for (char *p = up; *p; p++)
        *p = toupper ((unsigned char) *p);
      if (strcmp (up, "ALL") != 0 && !str_has_prefix (up, "CAP_"))
        {
          char *t = xasprintf ("CAP_%s", up);
          free (up);
          up = t;
        }
      if (strcmp (up, "ALL") != 0)
        {
          bool known = false;
          for (int i = 0; i <= last && !known; i++)
            known = strcmp (cap_names[i], up) == 0;
          if (!known)
            return arca_error_set (err, ARCA_ERR_INVALID, "unknown capability: \"%s\"", up);
        }
      if (!strv_has (res, up))
        res = strv_append (res, up);
    }
  *out = arca_steal (res);
  return 0;
}

int
spec_validate_capabilities (char **cap_add, char **cap_drop, arca_error_t *err)
{
  _cleanup_strv_ char **a = NULL;
  _cleanup_strv_ char **d = NULL;
  if (normalize_caps (cap_add, &a, err) < 0 || normalize_caps (cap_drop, &d, err) < 0)
    return -1;
  return 0;
}

/* Every capability the kernel knows, as dockerd's GetAllCapabilities, but
 * only those still in our own bounding set: root here may lack some (e.g.
 * CAP_SYS_RESOURCE) and the runtime cannot grant what it does not hold. */
char **
spec_caps_all (void)
{
  char **res = xmalloc0 (sizeof (char *));
  int last = spec_cap_last ();
  for (int i = 0; i <= last; i++)
    if (prctl (PR_CAPBSET_READ, i, 0, 0, 0) != 0)
      res = strv_append (res, cap_names[i]);
  return res;
}

int
spec_caps_compute (const arca_container_options_t *opts, char ***caps, arca_error_t *err)
{
  if (opts->privileged)
    {
      *caps = spec_caps_all ();
      return 0;
    }
  _cleanup_strv_ char **add = NULL;
  _cleanup_strv_ char **drop = NULL;
  if (normalize_caps (opts->cap_add, &add, err) < 0 || normalize_caps (opts->cap_drop, &drop, err) < 0)
    return -1;

  _cleanup_strv_ char **res = xmalloc0 (sizeof (char *));
  if (strv_has (add, "ALL"))
    {
      _cleanup_strv_ char **all = spec_caps_all ();
      for (char **c = all; *c; c++)
        if (!strv_has (drop, *c))
          res = strv_append (res, *c);
    }
  else if (strv_has (drop, "ALL"))
    {
      for (char **c = add; *c; c++)
        res = strv_append (res, *c);
    }
  else
    {
      for (const char *const *c = default_caps; *c; c++)
        if (!strv_has (drop, *c))
          res = strv_append (res, *c);
      for (char **c = add; *c; c++)
        if (!strv_has (res, *c))
          res = strv_append (res, *c);
    }
  *caps = arca_steal (res);
  return 0;
}
