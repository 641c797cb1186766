/* A container's seccomp filter compiled to BPF once, for crun.
 *
 * crun compiles linux.seccomp with libseccomp at every `run`: ~30 ms for
 * Docker's default profile on the development machines, more than half of
 * its run.  Its own cache of compiled filters needs libgcrypt at build time,
 * which Debian's crun 1.8 lacks.  crun also takes the filter ready-made, in
 * the "run.oci.seccomp_bpf_data" annotation (base64 BPF; crun
 * docs/crun.1.md), which replaces compiling linux.seccomp (its flags and
 * listener still apply), as podman's seccomp cache uses it.
 *
 * The filter is made here exactly as crun 1.8 makes it (libcrun seccomp.c
 * libcrun_generate_seccomp: the same libseccomp calls in the same order,
 * so the same library gives the same bytes; B7_runtimes compares them with
 * crun's own), and kept in a small cache keyed by the SHA-256 of the
 * linux.seccomp object's compact JSON: containers with the default profile
 * and the same capabilities share one filter. */
#include "runtime/spec_internal.h"

#include <errno.h>
#include <nettle/base64.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/strutil.h"

/* get_seccomp_action: SCMP_ACT_<name>, errno_ret for ERRNO and TRACE */
static int
bpf_action (const char *name, int errno_ret, uint32_t *out)
{
  if (name == NULL || strncmp (name, "SCMP_ACT_", 9) != 0)
    return -1;
  const char *a = name + 9;
  if (strcmp (a, "ALLOW") == 0)
    *out = SCMP_ACT_ALLOW;
  else if (strcmp (a, "ERRNO") == 0)
    *out = SCMP_ACT_ERRNO ((uint32_t) errno_ret);
  else if (strcmp (a, "KILL") == 0)
    *out = SCMP_ACT_KILL;
  else if (strcmp (a, "LOG") == 0)
    *out = SCMP_ACT_LOG;
  else if (strcmp (a, "TRAP") == 0)
    *out = SCMP_ACT_TRAP;
  else if (strcmp (a, "TRACE") == 0)
    *out = SCMP_ACT_TRACE ((uint32_t) errno_ret);
  else if (strcmp (a, "KILL_PROCESS") == 0)
    *out = SCMP_ACT_KILL_PROCESS;
  else if (strcmp (a, "KILL_THREAD") == 0)
    *out = SCMP_ACT_KILL_THREAD;
  else
    return -1;
  return 0;
}

static bool
action_takes_errno (const char *name)
{
  return name && (strcmp (name, "SCMP_ACT_ERRNO") == 0 || strcmp (name, "SCMP_ACT_TRACE") == 0);
}

static enum scmp_compare
bpf_operator (const char *op)
{
  static const struct
  {
    const char *name;
    enum scmp_compare op;
  } ops[] = {
    { "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
    { "SCMP_CMP_EQ", SCMP_CMP_EQ }, { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
    { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
  };
  for (size_t i = 0; op && i < sizeof ops / sizeof ops[0]; i++)
    if (strcmp (op, ops[i].name) == 0)
      return ops[i].op;
  return _SCMP_CMP_MIN;
}

static int
add_architectures (scmp_filter_ctx ctx, json_t *arches, arca_error_t *err)
{
  size_t i;
  json_t *v;
  json_array_foreach (arches, i, v)
    {
      const char *arch = json_string_value (v);
      if (arch == NULL)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "seccomp: architecture is not a string");
      if (str_has_prefix (arch, "SCMP_ARCH_"))
        arch += 10;
      char lower[32];
      size_t n = 0;
      for (; arch[n] && n < sizeof lower - 1; n++)
        lower[n] = (char) (arch[n] >= 'A' && arch[n] <= 'Z' ? arch[n] + 32 : arch[n]);
      lower[n] = '\0';
      uint32_t token = seccomp_arch_resolve_name (lower);
      if (token == 0)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "seccomp unknown architecture %s", arch);
      int r = seccomp_arch_add (ctx, token);
      if (r < 0 && r != -EEXIST)
        return arca_error_errno (err, -r, "seccomp adding architecture");
    }
  return 0;
}

/* One syscall with argument conditions: one rule holding them all, or, when
 * an argument index repeats (libseccomp takes one condition per argument in
 * a rule), one rule per condition, as crun does. */
static int
add_rule_with_args (scmp_filter_ctx ctx, uint32_t action, int nr, json_t *args, arca_error_t *err)
{
  struct scmp_arg_cmp cmp[6];
  unsigned count[6] = { 0 };
  bool repeated = false;
  size_t n = 0;
  for (; n < json_array_size (args) && n < 6; n++)
    {
      json_t *a = json_array_get (args, n);
      json_int_t index = json_integer_value (json_object_get (a, "index"));
      if (index < 0 || index >= 6)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "invalid seccomp index %lld", (long long) index);
      if (++count[index] > 1)
        repeated = true;
      cmp[n].arg = (unsigned) index;
      cmp[n].op = bpf_operator (json_string_value (json_object_get (a, "op")));
      if (cmp[n].op == _SCMP_CMP_MIN)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "seccomp: invalid operator");
      cmp[n].datum_a = (scmp_datum_t) json_integer_value (json_object_get (a, "value"));
      cmp[n].datum_b = (scmp_datum_t) json_integer_value (json_object_get (a, "valueTwo"));
    }
  if (!repeated)
    {
      int r = seccomp_rule_add_array (ctx, action, nr, (unsigned) n, cmp);
      return r < 0 ? arca_error_errno (err, -r, "seccomp_rule_add_array") : 0;
    }
  for (size_t i = 0; i < n; i++)
    {
      int r = seccomp_rule_add_array (ctx, action, nr, 1, &cmp[i]);
      if (r < 0)
        return arca_error_errno (err, -r, "seccomp_rule_add_array");
    }
  return 0;
}

static int
add_syscalls (scmp_filter_ctx ctx, uint32_t default_action, json_t *syscalls, arca_error_t *err)
{
  size_t i;
  json_t *s;
  json_array_foreach (syscalls, i, s)
    {
      const char *act = json_string_value (json_object_get (s, "action"));
      json_t *eret = json_object_get (s, "errnoRet");
      if (eret && !action_takes_errno (act))
        return arca_error_set (err, ARCA_ERR_INTERNAL, "errno value specified for action `%s`", act ? act : "");
      uint32_t action;
      if (bpf_action (act, eret ? (int) json_integer_value (eret) : EPERM, &action) < 0)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "invalid seccomp action `%s`", act ? act : "");
      if (action == default_action)
        continue;
      json_t *args = json_object_get (s, "args");
      size_t j;
      json_t *name;
      json_array_foreach (json_object_get (s, "names"), j, name)
        {
          int nr = seccomp_syscall_resolve_name (json_string_value (name));
          if (nr == __NR_SCMP_ERROR)
            continue; /* crun: "unknown seccomp syscall ignored" */
          int r = args ? add_rule_with_args (ctx, action, nr, args, err) : seccomp_rule_add (ctx, action, nr, 0);
          if (r < 0)
            return args ? -1 : arca_error_errno (err, -r, "seccomp_rule_add `%s`", json_string_value (name));
        }
    }
  return 0;
}

/* A filter holds at most BPF_MAXINSNS (4096) instructions of 8 bytes. */
#define BPF_MAX_BYTES (4096 * 8)

/* The filter's BPF, through a memfd (seccomp_export_bpf writes to an fd). */
static int
export_bpf (scmp_filter_ctx ctx, char **bpf, size_t *len, arca_error_t *err)
{
  _cleanup_close_ int fd = memfd_create ("arca-seccomp", MFD_CLOEXEC);
  if (fd < 0)
    return arca_error_errno (err, errno, "memfd_create");
  int r = seccomp_export_bpf (ctx, fd);
  if (r < 0)
    return arca_error_errno (err, -r, "seccomp_export_bpf");
  if (lseek (fd, 0, SEEK_SET) < 0)
    return arca_error_errno (err, errno, "lseek");
  bool too_big = false;
  if (fs_read_fd_max (fd, BPF_MAX_BYTES, bpf, len, &too_big, err) < 0)
    return -1;
  if (*len == 0 || too_big)
    {
      free (*bpf);
      *bpf = NULL;
      return arca_error_set (err, ARCA_ERR_INTERNAL, "seccomp_export_bpf: %s filter", too_big ? "oversized" : "empty");
    }
  return 0;
}

static void
filter_release (scmp_filter_ctx *ctx)
{
  if (*ctx)
    seccomp_release (*ctx);
}

/* libcrun_generate_seccomp, step for step */
static int
compile_bpf (json_t *seccomp, char **bpf, size_t *len, arca_error_t *err)
{
  const char *def = json_string_value (json_object_get (seccomp, "defaultAction"));
  if (def == NULL)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "seccomp misses the default action");
  json_t *eret = json_object_get (seccomp, "defaultErrnoRet");
  if (eret && !action_takes_errno (def))
    return arca_error_set (err, ARCA_ERR_INTERNAL, "errno value specified for action `%s`", def);
  uint32_t default_action;
  if (bpf_action (def, eret ? (int) json_integer_value (eret) : EPERM, &default_action) < 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "invalid seccomp action `%s`", def);
  __attribute__ ((cleanup (filter_release))) scmp_filter_ctx ctx = seccomp_init (default_action);
  if (ctx == NULL)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "error seccomp_init");
  if (add_architectures (ctx, json_object_get (seccomp, "architectures"), err) < 0
      || add_syscalls (ctx, default_action, json_object_get (seccomp, "syscalls"), err) < 0)
    return -1;
  return export_bpf (ctx, bpf, len, err);
}

/* ---- the cache: module state, its own leaf lock ---- */

#define BPF_CACHE_SLOTS 8

typedef struct
{
  uint8_t key[SHA256_DIGEST_SIZE];
  char *b64;
} bpf_slot_t;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static bpf_slot_t cache[BPF_CACHE_SLOTS];
static size_t cache_next; /* round-robin victim */

static char *
cache_get (const uint8_t *key)
{
  char *hit = NULL;
  pthread_mutex_lock (&cache_lock);
  for (size_t i = 0; i < BPF_CACHE_SLOTS && hit == NULL; i++)
    if (cache[i].b64 && memcmp (cache[i].key, key, SHA256_DIGEST_SIZE) == 0)
      hit = xstrdup (cache[i].b64);
  pthread_mutex_unlock (&cache_lock);
  return hit;
}

static void
cache_put (const uint8_t *key, const char *b64)
{
  pthread_mutex_lock (&cache_lock);
  bpf_slot_t *s = &cache[cache_next];
  cache_next = (cache_next + 1) % BPF_CACHE_SLOTS;
  free (s->b64);
  memcpy (s->key, key, SHA256_DIGEST_SIZE);
  s->b64 = xstrdup (b64);
  pthread_mutex_unlock (&cache_lock);
}

static char *
base64 (const char *data, size_t len)
{
  char *text = xmalloc0 (BASE64_ENCODE_RAW_LENGTH (len) + 1);
  base64_encode_raw (text, len, (const uint8_t *) data);
  return text;
}

char *
spec_seccomp_bpf (json_t *seccomp)
{
  /* a listener (SCMP_ACT_NOTIFY) is crun's to set up */
  if (json_object_get (seccomp, "listenerPath"))
    return NULL;
  _cleanup_free_ char *text = json_dump_compact (seccomp);
  if (strstr (text, "\"SCMP_ACT_NOTIFY\""))
    return NULL;
  uint8_t key[SHA256_DIGEST_SIZE];
  struct sha256_ctx h;
  sha256_init (&h);
  sha256_update (&h, strlen (text), (const uint8_t *) text);
  sha256_digest (&h, sizeof key, key);
  char *b64 = cache_get (key);
  if (b64)
    return b64;
  _cleanup_free_ char *bpf = NULL;
  size_t len = 0;
  arca_error_t err;
  /* a profile libseccomp refuses: crun compiles it and words the error */
  if (compile_bpf (seccomp, &bpf, &len, &err) == 0)
    {
      b64 = base64 (bpf, len);
      cache_put (key, b64);
    }
  return b64;
}
