/* VM isolation in the daemon (see vm.h). */
#include "runtime/vm.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timeutil.h"
#include "util/vmproto.h"

#define MIB (1024LL * 1024LL)
#define PROBE_TIMEOUT_MS 6000 /* a KVM guest says hello in well under a second */

struct arca_vm
{
  arca_vm_options_t o;
  char *dir;             /* <data-root>/vm */
  char *qemu_path;       /* resolved, or NULL */
  pthread_mutex_t lock;  /* guards everything below */
  char *accel;           /* "kvm"/"tcg" once known */
  char *initrd_built;    /* the assembled initramfs, once written */
  struct timespec agent_mtime; /* of the agent it holds: a new build is picked up */
  char *release;         /* the guest kernel's release, from the image */
};

/* ---- options ---- */

void
vm_options_defaults (arca_vm_options_t *o)
{
  memset (o, 0, sizeof *o);
  o->kernel = xstrdup (ARCA_VM_DEFAULT_DIR "/vmlinux");
  o->modules = xstrdup (ARCA_VM_DEFAULT_DIR "/modules");
  o->qemu = xstrdup ("qemu-system-x86_64");
  o->accelerator = xstrdup ("auto");
  o->memory = 512 * MIB;
  o->overhead = 64 * MIB;
  o->cpus = 1;
  o->boot_timeout_s = 120;
}

void
vm_options_free (arca_vm_options_t *o)
{
  free (o->kernel);
  free (o->modules);
  free (o->initrd);
  free (o->qemu);
  free (o->accelerator);
  free (o->kernel_args);
  free (o->agent);
  memset (o, 0, sizeof *o);
}

/* "512m", "1g", "268435456" (moby units.RAMInBytes suffixes b/k/m/g/t). */
static int
parse_size (const char *s, int64_t *out)
{
  char *end;
  errno = 0;
  double v = strtod (s, &end);
  if (errno || end == s || v < 0)
    return -1;
  while (isspace ((unsigned char) *end))
    end++;
  int64_t mult = 1;
  switch (tolower ((unsigned char) *end))
    {
    case '\0': case 'b': break;
    case 'k': mult = 1024; break;
    case 'm': mult = MIB; break;
    case 'g': mult = 1024 * MIB; break;
    case 't': mult = 1024 * 1024 * MIB; break;
    default: return -1;
    }
  if (*end && end[1] && !(tolower ((unsigned char) end[1]) == 'b' && end[2] == '\0'))
    return -1;
  if (v * (double) mult > (double) INT64_MAX / 2)
    return -1;
  *out = (int64_t) (v * (double) mult);
  return 0;
}

static int
opt_str (json_t *v, const char *key, const char *src, bool abs, char **dst, arca_error_t *err)
{
  const char *s = json_string_value (v);
  if (!json_is_string (v) || (abs && s[0] != '/' && s[0] != '\0'))
    return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"vm\": \"%s\" must be %s", src, key,
                           abs ? "an absolute path" : "a string");
  free (*dst);
  *dst = xstrdup (s);
  return 0;
}

static int
opt_size (json_t *v, const char *key, const char *src, int64_t min, int64_t *dst, arca_error_t *err)
{
  int64_t n = -1;
  if (json_is_integer (v))
    n = json_integer_value (v);
  else if (!json_is_string (v) || parse_size (json_string_value (v), &n) < 0)
    n = -1;
  if (n < min)
    return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"vm\": \"%s\" must be a size of at least %" PRId64 " MiB",
                           src, key, (int64_t) (min / MIB));
  *dst = n;
  return 0;
}

static int
opt_int (json_t *v, const char *key, const char *src, int min, int max, int *dst, arca_error_t *err)
{
  if (!json_is_integer (v) || json_integer_value (v) < min || json_integer_value (v) > max)
    return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"vm\": \"%s\" must be an integer from %d to %d", src, key,
                           min, max);
  *dst = (int) json_integer_value (v);
  return 0;
}

int
vm_options_load (arca_vm_options_t *o, json_t *obj, const char *src, arca_error_t *err)
{
  if (!json_is_object (obj))
    return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"vm\" must be an object", src);
  const char *key;
  json_t *v;
  json_object_foreach (obj, key, v)
  {
    int r;
    if (strcmp (key, "kernelPath") == 0)
      r = opt_str (v, key, src, true, &o->kernel, err);
    else if (strcmp (key, "modulesPath") == 0)
      r = opt_str (v, key, src, true, &o->modules, err);
    else if (strcmp (key, "initrdPath") == 0)
      r = opt_str (v, key, src, true, &o->initrd, err);
    else if (strcmp (key, "qemuPath") == 0)
      r = opt_str (v, key, src, false, &o->qemu, err);
    else if (strcmp (key, "kernelArgs") == 0)
      r = opt_str (v, key, src, false, &o->kernel_args, err);
    else if (strcmp (key, "accelerator") == 0)
      {
        const char *s = json_string_value (v);
        if (s == NULL || (strcmp (s, "auto") != 0 && strcmp (s, "kvm") != 0 && strcmp (s, "tcg") != 0))
          return arca_error_set (err, ARCA_ERR_INVALID, "%s: \"vm\": \"accelerator\" must be auto, kvm or tcg", src);
        r = opt_str (v, key, src, false, &o->accelerator, err);
      }
    else if (strcmp (key, "memory") == 0)
      r = opt_size (v, key, src, 64 * MIB, &o->memory, err);
    else if (strcmp (key, "memoryOverhead") == 0)
      r = opt_size (v, key, src, 0, &o->overhead, err);
    else if (strcmp (key, "cpus") == 0)
      r = opt_int (v, key, src, 1, 255, &o->cpus, err);
    else if (strcmp (key, "bootTimeout") == 0)
      r = opt_int (v, key, src, 1, 3600, &o->boot_timeout_s, err);
    else
      return arca_error_set (err, ARCA_ERR_INVALID,
                             "%s: \"vm\": unknown key \"%s\" (known: kernelPath, modulesPath, initrdPath, qemuPath, "
                             "kernelArgs, accelerator, memory, memoryOverhead, cpus, bootTimeout)",
                             src, key);
    if (r < 0)
      return -1;
  }
  return 0;
}

int64_t
vm_memory_mib (const arca_vm_options_t *o, int64_t memory)
{
  int64_t m = memory > 0 ? memory : o->memory;
  return (m + o->overhead + MIB - 1) / MIB;
}

int
vm_vcpus (const arca_vm_options_t *o, int64_t nano_cpus, int64_t cpu_quota, int64_t cpu_period)
{
  int64_t n = 0;
  if (nano_cpus > 0)
    n = (nano_cpus + 999999999) / 1000000000;
  else if (cpu_quota > 0)
    {
      int64_t period = cpu_period > 0 ? cpu_period : 100000;
      n = (cpu_quota + period - 1) / period;
    }
  if (n <= 0)
    return o->cpus;
  return n > 255 ? 255 : (int) n;
}

/* ---- open, check ---- */

static char *
find_executable (const char *name)
{
  if (name == NULL || *name == '\0')
    return NULL;
  if (strchr (name, '/'))
    return access (name, X_OK) == 0 ? xstrdup (name) : NULL;
  const char *path = getenv ("PATH");
  _cleanup_free_ char *copy = xstrdup (path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
  char *save = NULL;
  for (char *dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      char *cand = xasprintf ("%s/%s", dir, name);
      if (access (cand, X_OK) == 0)
        return cand;
      free (cand);
    }
  return NULL;
}

/* The release a kernel image carries: a bzImage's setup header points at
 * it (boot protocol: kernel_version, an offset from 0x200 at 0x20e); an
 * uncompressed vmlinux has its banner "Linux version <release> ..." in
 * .rodata. */
static char *
kernel_release (const char *path)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  uint8_t hdr[0x210];
  if (fd < 0 || pread (fd, hdr, sizeof hdr, 0) != (ssize_t) sizeof hdr)
    return NULL;
  char buf[128] = "";
  if (memcmp (hdr + 0x202, "HdrS", 4) == 0)
    {
      unsigned off = (unsigned) hdr[0x20e] | (unsigned) hdr[0x20f] << 8;
      if (off == 0 || pread (fd, buf, sizeof buf - 1, 0x200 + off) <= 0)
        return NULL;
    }
  else
    {
      struct stat st;
      if (fstat (fd, &st) < 0 || st.st_size < 64)
        return NULL;
      void *m = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (m == MAP_FAILED)
        return NULL;
      static const char banner[] = "Linux version ";
      const char *p = memmem (m, (size_t) st.st_size, banner, sizeof banner - 1);
      if (p)
        {
          p += sizeof banner - 1;
          size_t left = (size_t) ((const char *) m + st.st_size - p);
          size_t n = left < sizeof buf - 1 ? left : sizeof buf - 1;
          memcpy (buf, p, n);
          buf[n] = '\0';
        }
      munmap (m, (size_t) st.st_size);
    }
  buf[strcspn (buf, " \n")] = '\0';
  return buf[0] ? xstrdup (buf) : NULL;
}

int
vm_open (const arca_vm_options_t *o, const char *data_root, arca_vm_t **out, arca_error_t *err)
{
  arca_vm_t *vm = xmalloc0 (sizeof *vm);
  vm->o.kernel = xstrdup (o->kernel);
  vm->o.modules = xstrdup (o->modules);
  vm->o.initrd = xstrdup (o->initrd);
  vm->o.qemu = xstrdup (o->qemu);
  vm->o.accelerator = xstrdup (o->accelerator ? o->accelerator : "auto");
  vm->o.kernel_args = xstrdup (o->kernel_args);
  vm->o.agent = xstrdup (o->agent);
  vm->o.memory = o->memory;
  vm->o.overhead = o->overhead;
  vm->o.cpus = o->cpus > 0 ? o->cpus : 1;
  vm->o.boot_timeout_s = o->boot_timeout_s > 0 ? o->boot_timeout_s : 120;
  vm->dir = xasprintf ("%s/vm", data_root);
  vm->qemu_path = find_executable (o->qemu);
  pthread_mutex_init (&vm->lock, NULL);
  if (strcmp (vm->o.accelerator, "auto") != 0)
    vm->accel = xstrdup (vm->o.accelerator);
  *out = vm;
  return 0;
}

void
vm_close (arca_vm_t *vm)
{
  if (vm == NULL)
    return;
  vm_options_free (&vm->o);
  free (vm->dir);
  free (vm->qemu_path);
  free (vm->accel);
  free (vm->initrd_built);
  free (vm->release);
  pthread_mutex_destroy (&vm->lock);
  free (vm);
}

int
vm_check (arca_vm_t *vm, arca_error_t *err)
{
  const char *why = NULL;
  _cleanup_free_ char *msg = NULL;
  if (vm->qemu_path == NULL)
    why = msg = xasprintf ("%s not found (install qemu-system-x86)", vm->o.qemu);
  else if (vm->o.kernel == NULL || access (vm->o.kernel, R_OK) < 0)
    why = msg = xasprintf ("no guest kernel at %s (run scripts/setup.sh)", vm->o.kernel ? vm->o.kernel : "");
  else if (vm->o.initrd && *vm->o.initrd)
    {
      if (access (vm->o.initrd, R_OK) < 0)
        why = msg = xasprintf ("no initramfs at %s", vm->o.initrd);
    }
  else if (vm->o.agent == NULL || access (vm->o.agent, R_OK) < 0)
    why = msg = xasprintf ("the guest agent arca-guest was not found next to arca");
  if (why)
    return arca_error_set (err, ARCA_ERR_INVALID, "VM isolation is not available: %s", why);
  return 0;
}

/* ---- initramfs ---- */

static const char *
initrd_locked (arca_vm_t *vm, arca_error_t *err)
{
  if (vm->o.initrd && *vm->o.initrd)
    return vm->o.initrd;
  struct stat st;
  if (stat (vm->o.agent, &st) < 0)
    {
      arca_error_errno (err, errno, "guest agent %s", vm->o.agent);
      return NULL;
    }
  if (vm->initrd_built && st.st_mtim.tv_sec == vm->agent_mtime.tv_sec && st.st_mtim.tv_nsec == vm->agent_mtime.tv_nsec)
    return vm->initrd_built;
  if (fs_mkdir_p (vm->dir, 0700, err) < 0)
    return NULL;
  _cleanup_free_ char *path = xasprintf ("%s/initrd.img", vm->dir);
  if (vm_initrd_build (path, vm->o.agent, vm->o.modules, err) < 0)
    return NULL;
  free (vm->initrd_built);
  vm->initrd_built = arca_steal (path);
  vm->agent_mtime = st.st_mtim;
  return vm->initrd_built;
}

/* ---- the guest's command line ---- */

/* The host's TSC rate in kHz ("cpu MHz" of a constant-TSC CPU).  Under TCG
 * the guest's TSC runs at the host's; telling the guest spares it a
 * calibration that hangs now and then (issue 16's measurements). */
static long
host_tsc_khz (void)
{
  _cleanup_fclose_ FILE *f = fopen ("/proc/cpuinfo", "re");
  char line[256];
  while (f && fgets (line, sizeof line, f))
    {
      double mhz;
      if (sscanf (line, "cpu MHz : %lf", &mhz) == 1 || sscanf (line, "cpu MHz\t: %lf", &mhz) == 1)
        return (long) (mhz * 1000.0 + 0.5);
    }
  return 0;
}

static char *
cmdline (arca_vm_t *vm, const char *accel)
{
  arca_buf_t b = { 0 };
  /* reboot=t with QEMU's -no-reboot: the agent's reboot() ends QEMU. */
  buf_printf (&b, "console=ttyS0 reboot=t panic=-1 quiet rdinit=/init");
  long khz = strcmp (accel, "tcg") == 0 ? host_tsc_khz () : 0;
  if (khz > 0)
    buf_printf (&b, " tsc_early_khz=%ld", khz);
  if (vm->o.kernel_args && *vm->o.kernel_args)
    buf_printf (&b, " %s", vm->o.kernel_args);
  return b.data;
}

/* ---- accelerator ---- */

static char *
probe_key (arca_vm_t *vm)
{
  struct stat q, k;
  struct utsname u;
  if (stat (vm->qemu_path, &q) < 0 || stat (vm->o.kernel, &k) < 0 || uname (&u) < 0)
    return NULL;
  return xasprintf ("%s:%lld:%lld|%s:%lld:%lld|%s", vm->qemu_path, (long long) q.st_size, (long long) q.st_mtime,
                    vm->o.kernel, (long long) k.st_size, (long long) k.st_mtime, u.release);
}

static char *
probe_cached (arca_vm_t *vm, const char *key)
{
  _cleanup_free_ char *path = xasprintf ("%s/accel.json", vm->dir);
  json_t *j = json_load_file (path, 0, NULL);
  const char *k = json_get_str (j, "key"), *a = json_get_str (j, "accelerator");
  char *r = k && a && strcmp (k, key) == 0 && (strcmp (a, "kvm") == 0 || strcmp (a, "tcg") == 0) ? xstrdup (a) : NULL;
  json_decref (j);
  return r;
}

static void
probe_save (arca_vm_t *vm, const char *key, const char *accel)
{
  _cleanup_free_ char *path = xasprintf ("%s/accel.json", vm->dir);
  json_t *j = json_pack ("{s:s,s:s,s:I}", "key", key, "accelerator", accel, "probed_at", (json_int_t) time_now_ns ());
  _cleanup_free_ char *text = json_dumps (j, JSON_COMPACT);
  json_decref (j);
  arca_error_t err;
  if (text && fs_write_atomic (path, text, strlen (text), 0600, &err) < 0)
    log_warn ("vm: %s", err.msg);
}

/* Boot the guest under KVM with nothing but the channel, and wait for the
 * agent's HELLO.  A paravirtual /dev/kvm that guests cannot run on leaves
 * QEMU stuck (no error): hence a real boot with a timeout. */
static bool
probe_kvm (arca_vm_t *vm, const char *initrd)
{
  _cleanup_free_ char *cl = cmdline (vm, "kvm");
  _cleanup_free_ char *log = xasprintf ("%s/probe.log", vm->dir);
  const char *argv[] = { vm->qemu_path, "-machine", "microvm,x-option-roms=off,rtc=on,acpi=on", "-accel", "kvm",
                         "-cpu", "host", "-m", "128M", "-smp", "1", "-nodefaults", "-no-user-config", "-display",
                         "none", "-no-reboot", "-kernel", vm->o.kernel, "-initrd", initrd, "-append", cl,
                         "-device", "virtio-serial-device", "-chardev", "socket,id=chan,fd=3", "-device",
                         "virtserialport,chardev=chan,name=" VMPROTO_PORT_NAME, NULL };
  int sp[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
    return false;
  int logfd = open (log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t pid = fork ();
  if (pid == 0)
    {
      /* async-signal-safe only: the daemon has threads */
      if (null < 0 || logfd < 0 || dup2 (null, 0) < 0 || dup2 (logfd, 1) < 0 || dup2 (logfd, 2) < 0
          || (sp[1] == 3 ? fcntl (3, F_SETFD, 0) : dup2 (sp[1], 3)) < 0)
        _exit (127);
      execv (argv[0], (char *const *) argv);
      _exit (127);
    }
  close (sp[1]);
  if (logfd >= 0)
    close (logfd);
  if (null >= 0)
    close (null);
  bool ok = false;
  if (pid > 0)
    {
      vmproto_reader_t r = { 0 };
      int64_t deadline = time_mono_ns () + (int64_t) PROBE_TIMEOUT_MS * 1000000;
      while (!ok && time_mono_ns () < deadline)
        {
          struct pollfd p = { .fd = sp[0], .events = POLLIN };
          if (poll (&p, 1, 100) <= 0)
            continue;
          char buf[4096];
          ssize_t n = read (sp[0], buf, sizeof buf);
          if (n <= 0)
            break;
          vmproto_reader_feed (&r, buf, (size_t) n);
          vmproto_frame_t f;
          while (vmproto_reader_next (&r, &f) == 1)
            ok |= f.h.type == VM_HELLO;
        }
      vmproto_reader_free (&r);
      kill (pid, SIGKILL);
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  close (sp[0]);
  return ok;
}

const char *
vm_accelerator_known (arca_vm_t *vm)
{
  pthread_mutex_lock (&vm->lock);
  const char *a = vm->accel;
  if (a == NULL && access ("/dev/kvm", F_OK) < 0)
    a = vm->accel = xstrdup ("tcg"); /* nothing to probe */
  if (a == NULL && vm->qemu_path && vm->o.kernel)
    {
      _cleanup_free_ char *key = probe_key (vm);
      char *cached = key ? probe_cached (vm, key) : NULL;
      if (cached)
        a = vm->accel = cached;
    }
  pthread_mutex_unlock (&vm->lock);
  return a;
}

const char *
vm_accelerator (arca_vm_t *vm, arca_error_t *err)
{
  if (vm_check (vm, err) < 0)
    return NULL;
  pthread_mutex_lock (&vm->lock);
  if (vm->accel == NULL)
    {
      _cleanup_close_ int kvm = open ("/dev/kvm", O_RDWR | O_CLOEXEC);
      _cleanup_free_ char *key = probe_key (vm);
      char *cached = key ? probe_cached (vm, key) : NULL;
      if (kvm < 0)
        vm->accel = xstrdup ("tcg");
      else if (cached)
        vm->accel = arca_steal (cached);
      else
        {
          const char *initrd = initrd_locked (vm, err);
          if (initrd == NULL)
            {
              pthread_mutex_unlock (&vm->lock);
              return NULL;
            }
          int64_t t0 = time_mono_ns ();
          bool ok = probe_kvm (vm, initrd);
          vm->accel = xstrdup (ok ? "kvm" : "tcg");
          log_info ("vm: a guest %s under KVM (probe %.1f s): accelerator %s", ok ? "boots" : "does not boot",
                    (double) (time_mono_ns () - t0) / 1e9, vm->accel);
          if (key)
            probe_save (vm, key, vm->accel);
        }
      free (cached);
    }
  const char *a = vm->accel;
  pthread_mutex_unlock (&vm->lock);
  return a;
}

json_t *
vm_info (arca_vm_t *vm)
{
  arca_error_t err;
  bool ok = vm_check (vm, &err) == 0;
  const char *accel = ok ? vm_accelerator_known (vm) : NULL;
  pthread_mutex_lock (&vm->lock);
  if (ok && vm->release == NULL)
    vm->release = kernel_release (vm->o.kernel);
  json_t *j = json_pack ("{s:b,s:s?,s:s,s:s?}", "available", ok, "reason", ok ? NULL : err.msg, "accelerator",
                         accel ? accel : vm->o.accelerator, "kernel", vm->release);
  pthread_mutex_unlock (&vm->lock);
  return j;
}

/* ---- per container ---- */

int
vm_container_write (arca_vm_t *vm, const arca_vm_container_t *c, char **path, arca_error_t *err)
{
  const char *accel = vm_accelerator (vm, err);
  if (accel == NULL)
    return -1;
  pthread_mutex_lock (&vm->lock);
  const char *ir = initrd_locked (vm, err);
  _cleanup_free_ char *initrd = xstrdup (ir);
  pthread_mutex_unlock (&vm->lock);
  if (initrd == NULL)
    return -1;
  _cleanup_free_ char *cl = cmdline (vm, accel);
  _cleanup_free_ char *cgroup = xasprintf ("/arca/%s", c->id);
  json_t *j = json_pack ("{s:s,s:s,s:s,s:s,s:s,s:I,s:i,s:s?,s:O?,s:b,s:s,s:i}", "qemu", vm->qemu_path, "kernel",
                         vm->o.kernel, "initrd", initrd, "cmdline", cl, "accel", accel, "memory_mib",
                         (json_int_t) vm_memory_mib (&vm->o, c->memory), "cpus",
                         vm_vcpus (&vm->o, c->nano_cpus, c->cpu_quota, c->cpu_period), "netns", c->netns,
                         "interfaces", c->interfaces, "dns_relay", c->dns_relay, "cgroup", cgroup, "boot_timeout_s",
                         vm->o.boot_timeout_s);
  _cleanup_free_ char *text = json_dumps (j, JSON_INDENT (1));
  json_decref (j);
  _cleanup_free_ char *p = xasprintf ("%s/vm.json", c->state_dir);
  if (text == NULL || fs_write_atomic (p, text, strlen (text), 0600, err) < 0)
    return -1;
  *path = arca_steal (p);
  return 0;
}
