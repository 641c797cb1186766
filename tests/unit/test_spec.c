/* OCI spec generation: capabilities, mounts, masked paths, env, user
 * resolution, seccomp conversion, /etc files. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "runtime/spec.h"
#include "runtime/options.h"
#include "runtime/spec_internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strutil.h"

int spec_open_in_root_walk (const char *rootfs, const char *path, int flags);

static char rootfs[] = "/tmp/arca-test-spec-XXXXXX";

static void
write_file (const char *rel, const char *content)
{
  _cleanup_free_ char *p = xasprintf ("%s/%s", rootfs, rel);
  FILE *f = fopen (p, "w");
  assert_non_null (f);
  fputs (content, f);
  fclose (f);
}

static int
setup (void **state)
{
  (void) state;
  assert_non_null (mkdtemp (rootfs));
  _cleanup_free_ char *etc = xasprintf ("%s/etc", rootfs);
  mkdir (etc, 0755);
  write_file ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                            "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                            "  \n"
                            "app:x:1000:1000:App:/home/app:/bin/sh\n"
                            "nohome:x:1001:1001::/:/bin/sh\n");
  write_file ("etc/group", "root:x:0:\n"
                           "wheel:x:10:root,app\n"
                           "app:x:1000:\n"
                           "audio:x:29:app\n"
                           "video:x:44:\n");
  return 0;
}

static int
teardown (void **state)
{
  (void) state;
  fs_remove_all (rootfs, NULL);
  return 0;
}

static bool
json_strarray_contains (json_t *a, const char *s)
{
  size_t i;
  json_t *v;
  json_array_foreach (a, i, v)
    if (strcmp (json_string_value (v), s) == 0)
      return true;
  return false;
}

/* Typed options from Config and HostConfig JSON, as the engine derives them. */
static const arca_container_options_t *
opts (const char *config, const char *host_config)
{
  json_error_t jerr;
  json_t *c = json_loads (config, 0, &jerr);
  json_t *h = json_loads (host_config, 0, &jerr);
  if (c == NULL || h == NULL)
    fail_msg ("bad test JSON: %s", jerr.text);
  arca_container_options_t *o = NULL;
  arca_error_t err = { 0 };
  if (options_parse (c, h, &o, &err) < 0)
    fail_msg ("options_parse: %s", err.msg);
  /* The record keeps HostConfig as text: the options outlive the trees
   * they were parsed from (o lives until the test process ends). */
  json_decref (c);
  json_decref (h);
  return o;
}

static json_t *
build (arca_spec_options_t *o)
{
  o->id = o->id ? o->id : "0123456789abcdef";
  o->rootfs = rootfs;
  if (o->opts == NULL)
    o->opts = opts ("{}", "{}");
  arca_error_t err = { 0 };
  json_t *spec = NULL;
  int r = spec_build (o, &spec, &err);
  if (r < 0)
    fail_msg ("spec_build: %s", err.msg);
  return spec;
}

static json_t *
caps_of (json_t *spec, const char *set)
{
  return json_object_get (json_object_get (json_object_get (spec, "process"), "capabilities"), set);
}

static void
test_default_caps (void **state)
{
  (void) state;
  arca_spec_options_t o = { .opts = opts ("{\"Hostname\":\"h\"}", "{}") };
  _cleanup_json_ json_t *spec = build (&o);
  static const char *const want[] = { "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                                      "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                                      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE" };
  for (const char *set[] = { "bounding", "effective", "permitted", NULL }, **s = set; *s; s++)
    {
      json_t *a = caps_of (spec, *s);
      assert_int_equal (json_array_size (a), 14);
      for (size_t i = 0; i < 14; i++)
        assert_string_equal (json_string_value (json_array_get (a, i)), want[i]);
    }
  assert_null (caps_of (spec, "inheritable"));
  assert_null (caps_of (spec, "ambient"));
}

static void
test_cap_add_drop (void **state)
{
  (void) state;
  arca_spec_options_t o
      = { .opts = opts ("{}", "{\"CapAdd\":[\"net_admin\",\"CAP_SYS_PTRACE\"],\"CapDrop\":[\"chown\",\"Cap_Kill\"]}") };
  _cleanup_json_ json_t *spec = build (&o);
  json_t *b = caps_of (spec, "bounding");
  assert_int_equal (json_array_size (b), 14);
  assert_true (json_strarray_contains (b, "CAP_NET_ADMIN"));
  assert_true (json_strarray_contains (b, "CAP_SYS_PTRACE"));
  assert_false (json_strarray_contains (b, "CAP_CHOWN"));
  assert_false (json_strarray_contains (b, "CAP_KILL"));

  /* ptrace group of the seccomp profile is in because CAP_SYS_PTRACE is. */
  json_t *sc = json_object_get (json_object_get (spec, "linux"), "seccomp");
  bool has_kcmp = false;
  size_t i;
  json_t *r;
  json_array_foreach (json_object_get (sc, "syscalls"), i, r)
    has_kcmp = has_kcmp || json_strarray_contains (json_object_get (r, "names"), "kcmp");
  assert_true (has_kcmp);
}

static void
test_cap_all (void **state)
{
  (void) state;
  arca_spec_options_t o = { .opts = opts ("{}", "{\"CapAdd\":[\"NET_BIND_SERVICE\"],\"CapDrop\":[\"all\"]}") };
  _cleanup_json_ json_t *spec = build (&o);
  json_t *b = caps_of (spec, "bounding");
  assert_int_equal (json_array_size (b), 1);
  assert_string_equal (json_string_value (json_array_get (b, 0)), "CAP_NET_BIND_SERVICE");

  char *add_all[] = { "ALL", NULL };
  char *drop_one[] = { "SYS_ADMIN", NULL };
  arca_spec_options_t o2 = { .opts = opts ("{}", "{\"CapAdd\":[\"ALL\"],\"CapDrop\":[\"SYS_ADMIN\"]}") };
  _cleanup_json_ json_t *spec2 = build (&o2);
  json_t *b2 = caps_of (spec2, "bounding");
  assert_true (json_array_size (b2) > 20);
  assert_false (json_strarray_contains (b2, "CAP_SYS_ADMIN"));
  assert_true (json_strarray_contains (b2, "CAP_NET_ADMIN"));

  char *bad[] = { "FOO", NULL };
  arca_spec_options_t o3 = { .id = "x", .rootfs = rootfs, .opts = opts ("{}", "{\"CapAdd\":[\"FOO\"]}") };
  arca_error_t err = { 0 };
  json_t *spec3 = NULL;
  assert_int_equal (spec_build (&o3, &spec3, &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_INVALID);
  assert_string_equal (err.msg, "unknown capability: \"CAP_FOO\"");
  assert_int_equal (spec_validate_capabilities (NULL, bad, &err), -1);
  assert_int_equal (spec_validate_capabilities (add_all, drop_one, &err), 0);
}

static void
test_privileged (void **state)
{
  (void) state;
  arca_spec_options_t o = { .opts = opts ("{}", "{\"Privileged\":true}") };
  _cleanup_json_ json_t *spec = build (&o);
  json_t *lnx = json_object_get (spec, "linux");
  assert_null (json_object_get (lnx, "seccomp"));
  assert_null (json_object_get (lnx, "maskedPaths"));
  assert_null (json_object_get (lnx, "readonlyPaths"));
  assert_true (json_array_size (json_object_get (lnx, "devices")) > 0);
  json_t *rules = json_object_get (json_object_get (lnx, "resources"), "devices");
  assert_int_equal (json_array_size (rules), 1);
  assert_true (json_is_true (json_object_get (json_array_get (rules, 0), "allow")));
  assert_true (json_strarray_contains (caps_of (spec, "bounding"), "CAP_SYS_ADMIN"));
  size_t i;
  json_t *m;
  json_array_foreach (json_object_get (spec, "mounts"), i, m)
    if (strcmp (json_string_value (json_object_get (m, "destination")), "/sys") == 0)
      assert_false (json_strarray_contains (json_object_get (m, "options"), "ro"));
}

static json_t *
find_mount (json_t *spec, const char *dest)
{
  size_t i;
  json_t *m;
  json_array_foreach (json_object_get (spec, "mounts"), i, m)
    if (strcmp (json_string_value (json_object_get (m, "destination")), dest) == 0)
      return m;
  return NULL;
}

static void
test_mounts_and_paths (void **state)
{
  (void) state;
  arca_spec_options_t o = { .opts = opts ("{\"Hostname\":\"abc\"}", "{}"), .hosts_path = "/x/hosts",
                            .hostname_path = "/x/hostname", .resolv_conf_path = "/x/resolv.conf" };
  _cleanup_json_ json_t *spec = build (&o);
  static const char *const dests[] = { "/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue",
                                       "/dev/shm", "/etc/resolv.conf", "/etc/hostname", "/etc/hosts" };
  json_t *mounts = json_object_get (spec, "mounts");
  assert_int_equal (json_array_size (mounts), 10);
  for (size_t i = 0; i < 10; i++)
    assert_string_equal (json_string_value (json_object_get (json_array_get (mounts, i), "destination")), dests[i]);
  json_t *shm = find_mount (spec, "/dev/shm");
  assert_true (json_strarray_contains (json_object_get (shm, "options"), "size=67108864"));
  assert_true (json_strarray_contains (json_object_get (find_mount (spec, "/sys"), "options"), "ro"));
  json_t *hosts = find_mount (spec, "/etc/hosts");
  assert_string_equal (json_string_value (json_object_get (hosts, "type")), "bind");
  assert_string_equal (json_string_value (json_object_get (hosts, "source")), "/x/hosts");
  assert_true (json_strarray_contains (json_object_get (hosts, "options"), "rbind"));
  assert_true (json_strarray_contains (json_object_get (hosts, "options"), "rprivate"));
  assert_false (json_strarray_contains (json_object_get (hosts, "options"), "ro"));

  json_t *lnx = json_object_get (spec, "linux");
  json_t *masked = json_object_get (lnx, "maskedPaths");
  for (const char *p[] = { "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
                           "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                           "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap", NULL },
                  **s = p;
       *s; s++)
    assert_true (json_strarray_contains (masked, *s));
  json_t *ro = json_object_get (lnx, "readonlyPaths");
  assert_int_equal (json_array_size (ro), 5);
  assert_true (json_strarray_contains (ro, "/proc/sysrq-trigger"));
  assert_string_equal (json_string_value (json_object_get (lnx, "cgroupsPath")), "/arca/0123456789abcdef");
  json_t *ns = json_object_get (lnx, "namespaces");
  assert_true (json_array_size (ns) >= 5);
  assert_string_equal (json_string_value (json_object_get (json_array_get (ns, 1), "type")), "network");
  assert_null (json_object_get (json_array_get (ns, 1), "path"));
  json_t *rules = json_object_get (json_object_get (lnx, "resources"), "devices");
  assert_int_equal (json_array_size (rules), 8);
  assert_false (json_is_true (json_object_get (json_array_get (rules, 7), "allow")));
  assert_int_equal (json_integer_value (json_object_get (json_array_get (rules, 7), "minor")), 229);
  assert_string_equal (json_string_value (json_object_get (spec, "hostname")), "abc");
  /* OCI's key is "sysctl" (runc silently ignores anything else). */
  assert_null (json_object_get (lnx, "sysctls"));
  assert_true (json_is_object (json_object_get (lnx, "sysctl")));

  /* Read-only rootfs: root, /sys/fs/cgroup and the /etc binds are ro, /dev stays rw. */
  arca_spec_options_t o2 = { .opts = opts ("{\"Domainname\":\"example.org\"}", "{\"ReadonlyRootfs\":true}"),
                             .hosts_path = "/x/hosts", .netns = { .path = "/run/netns/x" } };
  _cleanup_json_ json_t *spec2 = build (&o2);
  assert_true (json_is_true (json_object_get (json_object_get (spec2, "root"), "readonly")));
  assert_true (json_strarray_contains (json_object_get (find_mount (spec2, "/etc/hosts"), "options"), "ro"));
  assert_false (json_strarray_contains (json_object_get (find_mount (spec2, "/dev/shm"), "options"), "ro"));
  assert_false (json_strarray_contains (json_object_get (find_mount (spec2, "/proc"), "options"), "ro"));
  assert_string_equal (json_string_value (json_object_get (
                           json_object_get (json_object_get (spec2, "linux"), "sysctl"), "kernel.domainname")),
                       "example.org");
  json_t *ns2 = json_array_get (json_object_get (json_object_get (spec2, "linux"), "namespaces"), 1);
  assert_string_equal (json_string_value (json_object_get (ns2, "path")), "/run/netns/x");
}

static void
test_env (void **state)
{
  (void) state;
  char *args[] = { "/bin/sh", NULL };
  arca_spec_options_t o = { .opts = opts ("{\"Hostname\":\"myhost\",\"Tty\":true,"
                                          "\"Env\":[\"FOO=bar\",\"HOSTNAME\",\"A=1\",\"FOO=baz\"]}",
                                          "{\"ConsoleSize\":[24,80]}"),
                            .args = args };
  _cleanup_json_ json_t *spec = build (&o);
  json_t *proc = json_object_get (spec, "process");
  json_t *e = json_object_get (proc, "env");
  /* moby ReplaceOrAppendEnvValues: a key new to the defaults is appended
   * each time it comes (the runtime's setenv keeps the last value). */
  assert_int_equal (json_array_size (e), 5);
  assert_string_equal (json_string_value (json_array_get (e, 0)),
                       "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  assert_string_equal (json_string_value (json_array_get (e, 1)), "TERM=xterm");
  assert_string_equal (json_string_value (json_array_get (e, 2)), "FOO=bar");
  assert_string_equal (json_string_value (json_array_get (e, 3)), "A=1");
  assert_string_equal (json_string_value (json_array_get (e, 4)), "FOO=baz");
  assert_true (json_is_true (json_object_get (proc, "terminal")));
  assert_int_equal (json_integer_value (json_object_get (json_object_get (proc, "consoleSize"), "width")), 80);
  assert_string_equal (json_string_value (json_object_get (proc, "cwd")), "/");

  arca_spec_options_t o2
      = { .opts = opts ("{\"Hostname\":\"h2\",\"Env\":[\"PATH=/custom\"],\"WorkingDir\":\"/work/dir\"}", "{}") };
  _cleanup_json_ json_t *spec2 = build (&o2);
  json_t *e2 = json_object_get (json_object_get (spec2, "process"), "env");
  assert_int_equal (json_array_size (e2), 2);
  assert_string_equal (json_string_value (json_array_get (e2, 0)), "PATH=/custom");
  assert_string_equal (json_string_value (json_array_get (e2, 1)), "HOSTNAME=h2");
  assert_null (json_object_get (json_object_get (spec2, "process"), "consoleSize"));
  /* The working directory was created in the rootfs. */
  _cleanup_free_ char *wd = xasprintf ("%s/work/dir", rootfs);
  struct stat st;
  assert_int_equal (stat (wd, &st), 0);
  assert_true (S_ISDIR (st.st_mode));
}

static void
resolve_ok (const char *user, uid_t want_uid, gid_t want_gid, const gid_t *want_add, size_t want_n, const char *want_home)
{
  uid_t uid;
  gid_t gid;
  _cleanup_free_ gid_t *add = NULL;
  size_t n = 0;
  _cleanup_free_ char *home = NULL;
  arca_error_t err = { 0 };
  if (spec_resolve_user (rootfs, user, &uid, &gid, &add, &n, &home, &err) < 0)
    fail_msg ("resolve %s: %s", user, err.msg);
  assert_int_equal (uid, want_uid);
  assert_int_equal (gid, want_gid);
  assert_int_equal (n, want_n);
  for (size_t i = 0; i < n; i++)
    assert_int_equal (add[i], want_add[i]);
  assert_string_equal (home, want_home);
}

static void
test_user (void **state)
{
  (void) state;
  resolve_ok ("", 0, 0, (gid_t[]) { 0, 10 }, 2, "/root");
  resolve_ok (NULL, 0, 0, (gid_t[]) { 0, 10 }, 2, "/root");
  resolve_ok ("root", 0, 0, (gid_t[]) { 0, 10 }, 2, "/root");
  resolve_ok ("app", 1000, 1000, (gid_t[]) { 1000, 10, 29 }, 3, "/home/app");
  resolve_ok ("1000", 1000, 1000, (gid_t[]) { 1000, 10, 29 }, 3, "/home/app");
  resolve_ok ("app:video", 1000, 44, (gid_t[]) { 44 }, 1, "/home/app");
  resolve_ok ("app:44", 1000, 44, (gid_t[]) { 44 }, 1, "/home/app");
  resolve_ok ("1000:5000", 1000, 5000, (gid_t[]) { 5000 }, 1, "/home/app");
  resolve_ok ("4242", 4242, 0, (gid_t[]) { 0 }, 1, "/");
  resolve_ok ("4242:4343", 4242, 4343, (gid_t[]) { 4343 }, 1, "/");
  resolve_ok ("daemon", 1, 1, (gid_t[]) { 1 }, 1, "/usr/sbin");

  uid_t uid;
  gid_t gid;
  arca_error_t err = { 0 };
  assert_int_equal (spec_resolve_user (rootfs, "nobody", &uid, &gid, NULL, NULL, NULL, &err), -1);
  assert_string_equal (err.msg, "unable to find user nobody: no matching entries in passwd file");
  assert_int_equal (spec_resolve_user (rootfs, "app:nogroup", &uid, &gid, NULL, NULL, NULL, &err), -1);
  assert_string_equal (err.msg, "unable to find group nogroup: no matching entries in group file");
  assert_int_equal (spec_resolve_user (rootfs, "-5", &uid, &gid, NULL, NULL, NULL, &err), -1);
  assert_string_equal (err.msg, "uids and gids must be in range 0-2147483647");

  /* A rootfs without /etc/passwd: numbers work, names do not. */
  char empty[] = "/tmp/arca-test-spec-empty-XXXXXX";
  assert_non_null (mkdtemp (empty));
  assert_int_equal (spec_resolve_user (empty, "123:456", &uid, &gid, NULL, NULL, NULL, &err), 0);
  assert_int_equal (uid, 123);
  assert_int_equal (gid, 456);
  assert_int_equal (spec_resolve_user (empty, "www", &uid, &gid, NULL, NULL, NULL, &err), -1);
  assert_string_equal (err.msg, "unable to find user www: no matching entries in passwd file");
  rmdir (empty);
}

static void
test_user_in_spec (void **state)
{
  (void) state;
  arca_spec_options_t o
      = { .opts = opts ("{\"User\":\"app\"}", "{\"GroupAdd\":[\"video\",\"7777\",\"10\",\"video\"]}") };
  _cleanup_json_ json_t *spec = build (&o);
  json_t *u = json_object_get (json_object_get (spec, "process"), "user");
  assert_int_equal (json_integer_value (json_object_get (u, "uid")), 1000);
  assert_int_equal (json_integer_value (json_object_get (u, "gid")), 1000);
  json_t *g = json_object_get (u, "additionalGids");
  /* each group once: runc sets a repeated one once, crun would not */
  static const int want[] = { 1000, 10, 29, 44, 7777 };
  assert_int_equal (json_array_size (g), 5);
  for (size_t i = 0; i < 5; i++)
    assert_int_equal (json_integer_value (json_array_get (g, i)), want[i]);

  arca_spec_options_t o2
      = { .id = "x", .rootfs = rootfs, .opts = opts ("{}", "{\"GroupAdd\":[\"nosuchgroup\"]}") };
  arca_error_t err = { 0 };
  json_t *spec2 = NULL;
  assert_int_equal (spec_build (&o2, &spec2, &err), -1);
  assert_string_equal (err.msg, "Unable to find group nosuchgroup: no matching entries in group file");
}

/* /etc/passwd as a symlink to an absolute host path must resolve inside
 * the rootfs, never to the host's file. */
static void
test_symlink_escape (void **state)
{
  (void) state;
  char root[] = "/tmp/arca-test-spec-link-XXXXXX";
  assert_non_null (mkdtemp (root));
  _cleanup_free_ char *etc = xasprintf ("%s/etc", root);
  _cleanup_free_ char *data = xasprintf ("%s/data", root);
  mkdir (etc, 0755);
  mkdir (data, 0755);
  _cleanup_free_ char *pw = xasprintf ("%s/data/passwd", root);
  FILE *f = fopen (pw, "w");
  fputs ("inside:x:77:77::/in:/bin/sh\n", f);
  fclose (f);
  /* /etc/passwd -> ../../../../data/passwd: ".." stops at the root. */
  _cleanup_free_ char *link = xasprintf ("%s/etc/passwd", root);
  assert_int_equal (symlink ("../../../../../data/passwd", link), 0);
  /* /etc/group -> /etc/../../etc/group: absolute, must stay inside (missing). */
  _cleanup_free_ char *glink = xasprintf ("%s/etc/group", root);
  assert_int_equal (symlink ("/../../etc/group", glink), 0);

  uid_t uid;
  gid_t gid;
  arca_error_t err = { 0 };
  assert_int_equal (spec_resolve_user (root, "inside", &uid, &gid, NULL, NULL, NULL, &err), 0);
  assert_int_equal (uid, 77);
  assert_int_equal (spec_resolve_user (root, "root", &uid, &gid, NULL, NULL, NULL, &err), -1);

  /* The manual walk used on kernels without openat2 resolves the same way. */
  int fd = spec_open_in_root_walk (root, "/etc/passwd", O_RDONLY);
  assert_true (fd >= 0);
  char buf[64] = { 0 };
  assert_true (read (fd, buf, sizeof buf - 1) > 0);
  close (fd);
  assert_true (str_has_prefix (buf, "inside:"));
  assert_int_equal (spec_open_in_root_walk (root, "/etc/group", O_RDONLY), -1);
  fd = spec_open_in_root_walk (root, "data/../etc/./passwd", O_RDONLY);
  assert_true (fd >= 0);
  close (fd);

  /* Mount destinations resolve the same way (runc's SecureJoin): links
   * followed inside the root, ".." stopping there, the missing rest kept. */
  _cleanup_free_ char *hostlink = xasprintf ("%s/hostlink", root);
  assert_int_equal (symlink ("/tmp/elsewhere/dir", hostlink), 0);
  _cleanup_free_ char *rel = xasprintf ("%s/data/up", root);
  assert_int_equal (symlink ("../../../etc", rel), 0);
  _cleanup_free_ char *loop = xasprintf ("%s/loop", root);
  assert_int_equal (symlink ("/loop", loop), 0);
  struct
  {
    const char *in, *out;
  } cases[] = {
    { "/hostlink", "/tmp/elsewhere/dir" },
    { "/hostlink/sub/../x", "/tmp/elsewhere/dir/x" },
    { "/data/up/passwd", "/data/passwd" }, /* etc/passwd -> ../../../../../data/passwd */
    { "/data/up", "/etc" },
    { "/../../data", "/data" },
    { "/new/dir", "/new/dir" },
    { "/", "/" },
    { "/loop/x", "/loop/x" }, /* a loop stops following after 40 links */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_free_ char *got = spec_resolve_in_root (root, cases[i].in);
      assert_string_equal (got, cases[i].out);
    }
  fs_remove_all (root, NULL);
}

static void
test_seccomp (void **state)
{
  (void) state;
  char *caps[] = { "CAP_CHOWN", NULL };
  _cleanup_json_ json_t *sc = NULL;
  arca_error_t err = { 0 };
  assert_int_equal (spec_seccomp_default (caps, &sc, &err), 0);
  assert_string_equal (json_string_value (json_object_get (sc, "defaultAction")), "SCMP_ACT_ERRNO");
  assert_int_equal (json_integer_value (json_object_get (sc, "defaultErrnoRet")), 1);
#if defined(__x86_64__)
  json_t *arches = json_object_get (sc, "architectures");
  assert_int_equal (json_array_size (arches), 3);
  assert_string_equal (json_string_value (json_array_get (arches, 0)), "SCMP_ARCH_X86_64");
#endif
  bool clone3_enosys = false, mount_allowed = false, main_list = false;
  size_t i;
  json_t *r;
  json_array_foreach (json_object_get (sc, "syscalls"), i, r)
    {
      json_t *names = json_object_get (r, "names");
      assert_null (json_object_get (r, "includes"));
      assert_null (json_object_get (r, "comment"));
      if (json_strarray_contains (names, "clone3"))
        clone3_enosys = json_integer_value (json_object_get (r, "errnoRet")) == 38;
      if (json_strarray_contains (names, "mount"))
        mount_allowed = true;
      if (json_array_size (names) > 300)
        main_list = true;
    }
  assert_true (clone3_enosys);
  assert_false (mount_allowed);
  assert_true (main_list);

  char *admin[] = { "CAP_SYS_ADMIN", NULL };
  _cleanup_json_ json_t *sc2 = NULL;
  assert_int_equal (spec_seccomp_default (admin, &sc2, &err), 0);
  bool clone3_rule = false;
  mount_allowed = false;
  json_array_foreach (json_object_get (sc2, "syscalls"), i, r)
    {
      json_t *names = json_object_get (r, "names");
      clone3_rule = clone3_rule
                    || (json_strarray_contains (names, "clone3") && json_object_get (r, "errnoRet") != NULL);
      mount_allowed = mount_allowed || json_strarray_contains (names, "mount");
    }
  assert_false (clone3_rule);
  assert_true (mount_allowed);
}

static void
test_etc_files (void **state)
{
  (void) state;
  char dir[] = "/tmp/arca-test-etc-XXXXXX";
  assert_non_null (mkdtemp (dir));
  arca_error_t err = { 0 };
  assert_int_equal (spec_write_etc_files (dir, "abc123", NULL, &err), 0);
  _cleanup_free_ char *p = xasprintf ("%s/hostname", dir);
  _cleanup_free_ char *text = NULL;
  assert_int_equal (fs_read_file (p, &text, NULL, &err), 0);
  assert_string_equal (text, "abc123\n");
  struct stat st;
  assert_int_equal (stat (p, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0644);

  _cleanup_free_ char *hp = xasprintf ("%s/hosts", dir);
  _cleanup_free_ char *hosts = NULL;
  assert_int_equal (fs_read_file (hp, &hosts, NULL, &err), 0);
  assert_string_equal (hosts, "127.0.0.1\tlocalhost\n"
                              "::1\tlocalhost ip6-localhost ip6-loopback\n"
                              "fe00::\tip6-localnet\n"
                              "ff00::\tip6-mcastprefix\n"
                              "ff02::1\tip6-allnodes\n"
                              "ff02::2\tip6-allrouters\n");

  _cleanup_free_ char *rp = xasprintf ("%s/resolv.conf", dir);
  _cleanup_free_ char *resolv = NULL;
  assert_int_equal (fs_read_file (rp, &resolv, NULL, &err), 0);
  assert_true (str_has_prefix (resolv, "# Generated by Docker Engine.\n"));
  assert_non_null (strstr (resolv, "nameserver "));
  assert_null (strstr (resolv, "nameserver 127."));
  assert_non_null (strstr (resolv, "(legacy)\n# "));

  /* Hosts with extra hosts and an address, dotted hostname. */
  char *extra[] = { "db:10.0.0.5", "v6host=::1", NULL };
  char *ips[] = { "172.17.0.2", NULL };
  assert_int_equal (spec_write_hosts_file (hp, "web", "example.com", extra, ips, &err), 0);
  free (hosts);
  hosts = NULL;
  assert_int_equal (fs_read_file (hp, &hosts, NULL, &err), 0);
  assert_non_null (strstr (hosts, "ff02::2\tip6-allrouters\n10.0.0.5\tdb\n::1\tv6host\n"
                                  "172.17.0.2\tweb.example.com web\n"));

  /* Overrides and the internal resolver. */
  char *dns[] = { "1.1.1.1", NULL };
  char *search[] = { "corp.example", ".", NULL };
  arca_resolv_options_t ro = { .dns = dns, .dns_search = search, .internal_ns = "127.0.0.11" };
  _cleanup_free_ char *hash = xasprintf ("%s/resolv.conf.hash", dir);
  unlink (hash);
  assert_int_equal (spec_write_resolv_conf (dir, &ro, &err), 0);
  free (resolv);
  resolv = NULL;
  assert_int_equal (fs_read_file (rp, &resolv, NULL, &err), 0);
  const char *want_tail = "nameserver 127.0.0.11\n"
                          "search corp.example\n"
                          "options ndots:0\n";
  assert_non_null (strstr (resolv, want_tail));
  assert_non_null (strstr (resolv, "(internal resolver)\n# ExtServers: [1.1.1.1]\n"
                                   "# Overrides: [nameservers search]\n# Option ndots from: internal\n"));

  /* A user-edited resolv.conf is left alone. */
  assert_int_equal (fs_write_atomic (rp, "nameserver 9.9.9.9\n", 19, 0644, &err), 0);
  assert_int_equal (spec_write_etc_files (dir, "abc123", NULL, &err), 0);
  free (resolv);
  resolv = NULL;
  assert_int_equal (fs_read_file (rp, &resolv, NULL, &err), 0);
  assert_string_equal (resolv, "nameserver 9.9.9.9\n");

  /* What a power loss can leave of files written without fsync: an empty
   * resolv.conf, or an empty hash, is generated again, not kept. */
  assert_int_equal (truncate (rp, 0), 0);
  assert_int_equal (spec_write_etc_files (dir, "abc123", NULL, &err), 0);
  free (resolv);
  resolv = NULL;
  assert_int_equal (fs_read_file (rp, &resolv, NULL, &err), 0);
  assert_true (str_has_prefix (resolv, "# Generated by Docker Engine.\n"));
  assert_int_equal (fs_write_atomic (rp, "nameserver 9.9.9.9\n", 19, 0644, &err), 0);
  assert_int_equal (truncate (hash, 0), 0);
  assert_int_equal (spec_write_etc_files (dir, "abc123", NULL, &err), 0);
  free (resolv);
  resolv = NULL;
  assert_int_equal (fs_read_file (rp, &resolv, NULL, &err), 0);
  assert_true (str_has_prefix (resolv, "# Generated by Docker Engine.\n"));
  fs_remove_all (dir, NULL);
}

/* The one cgroupsPath rule, shared by the spec and the shim's OOM check. */
static void
test_cgroups_path (void **state)
{
  const char *cases[][2] = {
    { NULL, "/arca/abc" }, { "", "/arca/abc" }, { "/p", "/p/abc" }, { "my/parent", "/my/parent/abc" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      char *p = spec_cgroups_path (cases[i][0], "abc");
      assert_string_equal (p, cases[i][1]);
      free (p);
    }
}

static const char *
bpf_of (json_t *spec)
{
  return json_string_value (json_object_get (json_object_get (spec, "annotations"), "run.oci.seccomp_bpf_data"));
}

/* crun's seccomp (spec.c's cache, keyed by profile text and bounding set):
 * the same filter for the same options, warm or cold; without the rules;
 * another for another bounding set or profile; none when unconfined, even
 * with the cache warm; the rules and no filter when crun must compile. */
static void
test_crun_seccomp (void **state)
{
  (void) state;
  arca_spec_options_t a = { .seccomp_bpf = true };
  _cleanup_json_ json_t *s1 = build (&a);
  arca_spec_options_t b = { .seccomp_bpf = true };
  _cleanup_json_ json_t *s2 = build (&b);
  assert_non_null (bpf_of (s1));
  assert_string_equal (bpf_of (s1), bpf_of (s2));
  json_t *sc = json_object_get (json_object_get (s2, "linux"), "seccomp");
  assert_null (json_object_get (sc, "syscalls"));
  assert_string_equal (json_string_value (json_object_get (sc, "defaultAction")), "SCMP_ACT_ERRNO");
  assert_true (json_equal (sc, json_object_get (json_object_get (s1, "linux"), "seccomp")));

  arca_spec_options_t ptrace = { .seccomp_bpf = true, .opts = opts ("{}", "{\"CapAdd\":[\"SYS_PTRACE\"]}") };
  _cleanup_json_ json_t *s3 = build (&ptrace);
  assert_non_null (bpf_of (s3));
  assert_string_not_equal (bpf_of (s3), bpf_of (s1));

  arca_spec_options_t custom
      = { .seccomp_bpf = true,
          .opts = opts ("{}", "{\"SecurityOpt\":[\"seccomp={\\\"defaultAction\\\":\\\"SCMP_ACT_ALLOW\\\"}\"]}") };
  _cleanup_json_ json_t *s4 = build (&custom);
  assert_non_null (bpf_of (s4));
  assert_string_not_equal (bpf_of (s4), bpf_of (s1));

  arca_spec_options_t unconfined = { .seccomp_bpf = true, .opts = opts ("{}", "{\"SecurityOpt\":[\"seccomp=unconfined\"]}") };
  _cleanup_json_ json_t *s5 = build (&unconfined);
  assert_null (bpf_of (s5));
  assert_null (json_object_get (json_object_get (s5, "linux"), "seccomp"));

  arca_spec_options_t strict
      = { .seccomp_bpf = true,
          .opts = opts ("{}", "{\"Annotations\":{\"run.oci.seccomp_fail_unknown_syscall\":\"1\"}}") };
  _cleanup_json_ json_t *s6 = build (&strict);
  assert_null (bpf_of (s6));
  assert_non_null (json_object_get (json_object_get (json_object_get (s6, "linux"), "seccomp"), "syscalls"));

  arca_spec_options_t runc = { 0 };
  _cleanup_json_ json_t *s7 = build (&runc);
  assert_null (bpf_of (s7));
  assert_non_null (json_object_get (json_object_get (json_object_get (s7, "linux"), "seccomp"), "syscalls"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_default_caps),  cmocka_unit_test (test_cap_add_drop),
    cmocka_unit_test (test_cap_all),       cmocka_unit_test (test_privileged),
    cmocka_unit_test (test_mounts_and_paths), cmocka_unit_test (test_env),
    cmocka_unit_test (test_user),          cmocka_unit_test (test_user_in_spec),
    cmocka_unit_test (test_symlink_escape), cmocka_unit_test (test_seccomp),
    cmocka_unit_test (test_etc_files),      cmocka_unit_test (test_cgroups_path),
    cmocka_unit_test (test_crun_seccomp),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
