/* Docker's default seccomp profile, embedded and compiled to OCI form.
 *
 * The profile (src/runtime/seccomp-default.json, Apache-2.0, from
 * moby/profiles; see seccomp-default.README) is pulled into .rodata with the
 * assembler's .incbin, so the binary needs no data file at run time.  The
 * conversion follows moby's profiles/seccomp setupSeccomp: keep the default
 * action and errno, emit the host's architecture with its sub-architectures,
 * and keep each rule group only if its includes/excludes (arches, caps in the
 * bounding set, minimum kernel) hold for this host and container. */
#include "runtime/spec_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "util/cleanup.h"
#include "util/strutil.h"

/* meson passes -I<srcdir>/src to the compiler, and gcc hands -I on to the
 * assembler, so the path is relative to src/. */
__asm__ (".pushsection .rodata\n"
         ".balign 16\n"
         "arca_seccomp_default_start:\n"
         ".incbin \"runtime/seccomp-default.json\"\n"
         ".byte 0\n"
         ".popsection\n");
extern const char arca_seccomp_default_start[] __asm__ ("arca_seccomp_default_start");

/* Go's GOARCH (what includes/excludes.arches name) and libseccomp's name for
 * the native architecture. */
#if defined(__x86_64__) && defined(__ILP32__)
#define HOST_GOARCH "x32"
#define HOST_SCMP_ARCH "SCMP_ARCH_X32"
#elif defined(__x86_64__)
#define HOST_GOARCH "amd64"
#define HOST_SCMP_ARCH "SCMP_ARCH_X86_64"
#elif defined(__i386__)
#define HOST_GOARCH "386"
#define HOST_SCMP_ARCH "SCMP_ARCH_X86"
#elif defined(__aarch64__)
#define HOST_GOARCH "arm64"
#define HOST_SCMP_ARCH "SCMP_ARCH_AARCH64"
#elif defined(__arm__)
#define HOST_GOARCH "arm"
#define HOST_SCMP_ARCH "SCMP_ARCH_ARM"
#elif defined(__s390x__)
#define HOST_GOARCH "s390x"
#define HOST_SCMP_ARCH "SCMP_ARCH_S390X"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_GOARCH "ppc64le"
#define HOST_SCMP_ARCH "SCMP_ARCH_PPC64LE"
#elif defined(__riscv) && __riscv_xlen == 64
#define HOST_GOARCH "riscv64"
#define HOST_SCMP_ARCH "SCMP_ARCH_RISCV64"
#else
#define HOST_GOARCH "unknown"
#define HOST_SCMP_ARCH "unknown"
#endif

const char *
spec_seccomp_default_json (void)
{
  return arca_seccomp_default_start;
}

static json_t *profile;
static pthread_once_t profile_once = PTHREAD_ONCE_INIT;

static void
load_profile (void)
{
  json_error_t jerr;
  profile = json_loads (arca_seccomp_default_start, 0, &jerr);
}

/* Kernel version as major*1000+minor (uname release "6.1.0-13-amd64"). */
static int
kernel_version (void)
{
  struct utsname u;
  int maj = 0, min = 0;
  if (uname (&u) == 0)
    sscanf (u.release, "%d.%d", &maj, &min);
  return maj * 1000 + min;
}

static int
parse_version (const char *s)
{
  int maj = 0, min = 0;
  sscanf (s, "%d.%d", &maj, &min);
  return maj * 1000 + min;
}

static bool
json_strarray_has (json_t *arr, const char *s)
{
  size_t i;
  json_t *v;
  json_array_foreach (arr, i, v)
    if (json_is_string (v) && strcmp (json_string_value (v), s) == 0)
      return true;
  return false;
}

static bool
caps_has (char **caps, const char *s)
{
  for (; caps && *caps; caps++)
    if (strcmp (*caps, s) == 0)
      return true;
  return false;
}

/* moby's setupSeccomp filter: excludes first (any match skips), then
 * includes (all must match). */
static bool
rule_applies (json_t *rule, char **caps, int kernel)
{
  json_t *ex = json_object_get (rule, "excludes");
  if (json_is_object (ex))
    {
      json_t *arches = json_object_get (ex, "arches");
      if (json_array_size (arches) > 0 && json_strarray_has (arches, HOST_GOARCH))
        return false;
      size_t i;
      json_t *c;
      json_array_foreach (json_object_get (ex, "caps"), i, c)
        if (json_is_string (c) && caps_has (caps, json_string_value (c)))
          return false;
      json_t *mk = json_object_get (ex, "minKernel");
      if (json_is_string (mk) && kernel >= parse_version (json_string_value (mk)))
        return false;
    }
  json_t *in = json_object_get (rule, "includes");
  if (json_is_object (in))
    {
      json_t *arches = json_object_get (in, "arches");
      if (json_array_size (arches) > 0 && !json_strarray_has (arches, HOST_GOARCH))
        return false;
      size_t i;
      json_t *c;
      json_array_foreach (json_object_get (in, "caps"), i, c)
        if (json_is_string (c) && !caps_has (caps, json_string_value (c)))
          return false;
      json_t *mk = json_object_get (in, "minKernel");
      if (json_is_string (mk) && kernel < parse_version (json_string_value (mk)))
        return false;
    }
  return true;
}

/* The architectures of a profile: the archMap entry of the host with its
 * sub-architectures, or the legacy "architectures" list as given. */
static json_t *
profile_arches (json_t *profile)
{
  json_t *arches = json_array ();
  json_t *legacy = json_object_get (profile, "architectures");
  if (json_is_array (legacy))
    {
      json_array_extend (arches, legacy);
      return arches;
    }
  size_t i;
  json_t *a;
  json_array_foreach (json_object_get (profile, "archMap"), i, a)
    {
      const char *arch = json_string_value (json_object_get (a, "architecture"));
      if (arch == NULL || strcmp (arch, HOST_SCMP_ARCH) != 0)
        continue;
      json_array_append_new (arches, json_string (arch));
      size_t j;
      json_t *sub;
      json_array_foreach (json_object_get (a, "subArchitectures"), j, sub)
        json_array_append_new (arches, json_deep_copy (sub));
    }
  return arches;
}

/* One syscall rule in OCI form; "name" (one) or "names" (moby's Syscall). */
static int
compile_rule (json_t *rule, json_t **out, arca_error_t *err)
{
  json_t *names = json_object_get (rule, "names");
  json_t *name = json_object_get (rule, "name");
  if (json_is_string (name) && json_array_size (names) > 0)
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'");
  json_t *r = json_object ();
  if (json_is_string (name))
    json_object_set_new (r, "names", json_pack ("[O]", name));
  else
    json_object_set_new (r, "names", json_is_array (names) ? json_deep_copy (names) : json_array ());
  json_object_set_new (r, "action", json_deep_copy (json_object_get (rule, "action")));
  json_t *args = json_object_get (rule, "args");
  if (json_array_size (args) > 0)
    json_object_set_new (r, "args", json_deep_copy (args));
  json_t *errno_ret = json_object_get (rule, "errnoRet");
  if (json_is_integer (errno_ret))
    json_object_set_new (r, "errnoRet", json_deep_copy (errno_ret));
  *out = r;
  return 0;
}

int
spec_seccomp_compile (json_t *profile, char **caps, json_t **out, arca_error_t *err)
{
  if (!json_is_object (profile))
    return arca_error_set (err, ARCA_ERR_INVALID, "Decoding seccomp profile failed: not a JSON object");
  if (json_array_size (json_object_get (profile, "architectures")) > 0
      && json_array_size (json_object_get (profile, "archMap")) > 0)
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "both 'architectures' and 'archMap' are specified in the seccomp profile, use either "
                           "'architectures' or 'archMap'");
  _cleanup_json_ json_t *res = json_object ();
  json_t *action = json_object_get (profile, "defaultAction");
  json_object_set_new (res, "defaultAction", json_is_string (action) ? json_deep_copy (action) : json_string (""));
  json_t *der = json_object_get (profile, "defaultErrnoRet");
  if (json_is_integer (der))
    json_object_set_new (res, "defaultErrnoRet", json_deep_copy (der));
  json_object_set_new (res, "architectures", profile_arches (profile));
  json_t *flags = json_object_get (profile, "flags");
  if (json_array_size (flags) > 0)
    json_object_set_new (res, "flags", json_deep_copy (flags));
  const char *keys[] = { "listenerPath", "listenerMetadata", NULL };
  for (size_t k = 0; keys[k]; k++)
    if (json_is_string (json_object_get (profile, keys[k])))
      json_object_set_new (res, keys[k], json_deep_copy (json_object_get (profile, keys[k])));

  int kernel = kernel_version ();
  json_t *syscalls = json_array ();
  json_object_set_new (res, "syscalls", syscalls);
  size_t i;
  json_t *rule;
  json_array_foreach (json_object_get (profile, "syscalls"), i, rule)
    {
      if (!rule_applies (rule, caps, kernel))
        continue;
      json_t *r = NULL;
      if (compile_rule (rule, &r, err) < 0)
        return -1;
      json_array_append_new (syscalls, r);
    }
  *out = arca_steal (res);
  return 0;
}

int
spec_seccomp_default (char **caps, json_t **out, arca_error_t *err)
{
  pthread_once (&profile_once, load_profile);
  if (profile == NULL)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "embedded seccomp profile is not valid JSON");
  return spec_seccomp_compile (profile, caps, out, err);
}
