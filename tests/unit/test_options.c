/* Container options: Go-style decoding of create/update bodies
 * (util/godecode, runtime/options_schema.c), typed parsing and dockerd's
 * validation (runtime/options.c, options_verify.c), the resources and exec
 * parts of the spec (runtime/spec_resources.c, spec_exec.c), sysinfo
 * probing on cgroup v1 and v2 layouts. */
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

#include "runtime/oci.h"
#include "runtime/options.h"
#include "runtime/spec.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/cgroupfs.h"
#include "util/godecode.h"
#include "util/locallog.h"
#include "util/logfile.h"
#include <zlib.h>
#include "util/json.h"
#include "util/strutil.h"

void options_sysinfo_probe (arca_sysinfo_t *si, const char *cgroup_root, bool v2);

static json_t *
J (const char *text)
{
  json_error_t jerr;
  json_t *j = json_loads (text, JSON_DECODE_ANY, &jerr);
  if (j == NULL)
    fail_msg ("bad JSON in test: %s: %s", text, jerr.text);
  return j;
}

/* The create error for body, or NULL when it decodes. */
static char *
create_error (const char *body)
{
  _cleanup_json_ json_t *in = J (body);
  json_t *out = NULL;
  arca_error_t err = { 0 };
  if (options_decode_create (in, &out, &err) == 0)
    {
      json_decref (out);
      return NULL;
    }
  assert_int_equal (err.kind, ARCA_ERR_INVALID);
  return xstrdup (err.msg);
}

static void
expect_create_error (const char *body, const char *msg)
{
  _cleanup_free_ char *m = create_error (body);
  if (m == NULL)
    fail_msg ("%s: decoded, expected %s", body, msg);
  assert_string_equal (m, msg);
}

static void
test_decode_type_errors (void **state)
{
  (void) state;
  /* Go 1.24: "<innermost struct>.<path from the root, embedded structs named>" */
  expect_create_error ("{\"Image\":\"x\",\"HostConfig\":{\"Memory\":\"lots\"}}",
                       "invalid JSON: json: cannot unmarshal string into Go struct field "
                       "HostConfig.HostConfig.Resources.Memory of type int64");
  expect_create_error ("{\"Tty\":\"yes\"}",
                       "invalid JSON: json: cannot unmarshal string into Go struct field CreateRequest.Config.Tty of "
                       "type bool");
  expect_create_error ("{\"HostConfig\":{\"Privileged\":1}}",
                       "invalid JSON: json: cannot unmarshal number into Go struct field "
                       "HostConfig.HostConfig.Privileged of type bool");
  expect_create_error ("{\"HostConfig\":{\"RestartPolicy\":{\"Name\":5}}}",
                       "invalid JSON: json: cannot unmarshal number into Go struct field "
                       "RestartPolicy.HostConfig.RestartPolicy.Name of type container.RestartPolicyMode");
  expect_create_error ("{\"HostConfig\":{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":\"x\"}]}}",
                       "invalid JSON: json: cannot unmarshal string into Go struct field "
                       "Ulimit.HostConfig.Resources.Ulimits.Soft of type int64");
  expect_create_error ("{\"HostConfig\":\"x\"}",
                       "invalid JSON: json: cannot unmarshal string into Go struct field CreateRequest.HostConfig of "
                       "type container.HostConfig");
  expect_create_error ("{\"Env\":[1]}",
                       "invalid JSON: json: cannot unmarshal number into Go struct field CreateRequest.Config.Env of "
                       "type string");
  expect_create_error ("{\"Labels\":{\"a\":true}}",
                       "invalid JSON: json: cannot unmarshal bool into Go struct field CreateRequest.Config.Labels of "
                       "type string");
  /* numbers that do not fit */
  expect_create_error ("{\"HostConfig\":{\"BlkioWeight\":70000}}",
                       "invalid JSON: json: cannot unmarshal number 70000 into Go struct field "
                       "HostConfig.HostConfig.Resources.BlkioWeight of type uint16");
  expect_create_error ("{\"HostConfig\":{\"Memory\":1.5}}",
                       "invalid JSON: json: cannot unmarshal number 1.5 into Go struct field "
                       "HostConfig.HostConfig.Resources.Memory of type int64");
  expect_create_error ("{\"HostConfig\":{\"ConsoleSize\":[-1,2]}}",
                       "invalid JSON: json: cannot unmarshal number -1 into Go struct field "
                       "HostConfig.HostConfig.ConsoleSize of type uint");
  /* StrSlice's own UnmarshalJSON: its error wins over an earlier one */
  expect_create_error ("{\"Tty\":1,\"Cmd\":{}}",
                       "invalid JSON: json: cannot unmarshal object into Go struct field CreateRequest.Config.Cmd of "
                       "type string");
  /* the first type error in document order is reported */
  expect_create_error ("{\"HostConfig\":{\"CpuShares\":\"a\",\"Memory\":\"b\"}}",
                       "invalid JSON: json: cannot unmarshal string into Go struct field "
                       "HostConfig.HostConfig.Resources.CpuShares of type int64");
  /* update bodies: container.UpdateConfig */
  _cleanup_json_ json_t *u = J ("{\"Memory\":\"x\"}");
  json_t *out = NULL;
  arca_error_t err;
  assert_int_equal (options_decode_update (u, &out, &err), -1);
  assert_string_equal (err.msg, "invalid JSON: json: cannot unmarshal string into Go struct field "
                                "UpdateConfig.Resources.Memory of type int64");
}

static void
test_decode_canonical (void **state)
{
  (void) state;
  _cleanup_json_ json_t *in = J ("{\"image\":\"busybox\",\"cmd\":\"echo hi\",\"Unknown\":1,\"hostconfig\":"
                                 "{\"memory\":1000000000,\"MEMORY\":2000000000,\"PidsLimit\":null,\"Privileged\":null,"
                                 "\"portbindings\":{\"80/tcp\":[{\"hostport\":\"8080\"}]}}}");
  _cleanup_json_ json_t *out = NULL;
  arca_error_t err;
  assert_int_equal (options_decode_create (in, &out, &err), 0);
  assert_string_equal (json_get_str (out, "Image"), "busybox");
  assert_null (json_object_get (out, "image"));
  assert_null (json_object_get (out, "Unknown"));
  /* StrSlice: one string is a one-element list */
  json_t *cmd = json_object_get (out, "Cmd");
  assert_int_equal (json_array_size (cmd), 1);
  assert_string_equal (json_string_value (json_array_get (cmd, 0)), "echo hi");
  json_t *hc = json_object_get (out, "HostConfig");
  /* the later key for the same field wins */
  assert_int_equal (json_get_int (hc, "Memory", 0), 2000000000);
  /* null keeps pointers null, leaves values unset */
  assert_true (json_is_null (json_object_get (hc, "PidsLimit")));
  assert_null (json_object_get (hc, "Privileged"));
  json_t *pb = json_array_get (json_object_get (json_object_get (hc, "PortBindings"), "80/tcp"), 0);
  assert_string_equal (json_get_str (pb, "HostPort"), "8080");
}

static arca_container_options_t *
parse (const char *config, const char *hc, arca_error_t *err)
{
  json_t *c = J (config), *h = J (hc);
  arca_container_options_t *o = NULL;
  int r = options_parse (c, h, &o, err);
  json_decref (c);
  json_decref (h); /* the options hold their JSON members */
  return r < 0 ? NULL : o;
}

/* The record keeps HostConfig as text and parses it for each use: the
 * typed options must hold the JSON members they keep, not borrow them from
 * a tree that is freed at once. */
static void
test_parse_members_outlive_tree (void **state)
{
  (void) state;
  json_t *h = J ("{\"Sysctls\":{\"net.ipv4.ip_forward\":\"1\"},\"StorageOpt\":{\"size\":\"1G\"},"
                 "\"Annotations\":{\"a\":\"b\"},\"LogConfig\":{\"Type\":\"json-file\",\"Config\":"
                 "{\"max-size\":\"1m\"}},\"DeviceRequests\":[{\"Driver\":\"x\",\"Count\":1}]}");
  json_t *c = J ("{}");
  arca_container_options_t *o = NULL;
  arca_error_t err;
  assert_int_equal (options_parse (c, h, &o, &err), 0);
  json_t *members[] = { o->sysctls, o->storage_opt, o->annotations, o->log_config, o->resources.device_requests };
  for (size_t i = 0; i < sizeof members / sizeof *members; i++)
    assert_int_equal (members[i]->refcount, 2);
  json_decref (h);
  json_decref (c);
  for (size_t i = 0; i < sizeof members / sizeof *members; i++)
    assert_int_equal (members[i]->refcount, 1);
  assert_string_equal (json_string_value (json_object_get (o->sysctls, "net.ipv4.ip_forward")), "1");
  assert_string_equal (json_string_value (json_object_get (o->log_config, "max-size")), "1m");
  assert_int_equal (o->resources.n_device_requests, 1);
  options_free (o);
}

static void
test_parse_modes_and_security (void **state)
{
  (void) state;
  arca_error_t err;
  arca_container_options_t *o
      = parse ("{}", "{\"IpcMode\":\"shareable\",\"PidMode\":\"container:abc\",\"UTSMode\":\"host\",\"SecurityOpt\":"
                     "[\"no-new-privileges\",\"seccomp=unconfined\",\"label=disable\",\"apparmor=foo\"]}",
               &err);
  assert_non_null (o);
  assert_int_equal (o->ipc.mode, NS_MODE_SHAREABLE);
  assert_int_equal (o->pid.mode, NS_MODE_CONTAINER);
  assert_string_equal (o->pid.container, "abc");
  assert_int_equal (o->uts.mode, NS_MODE_HOST);
  assert_true (o->security.no_new_privileges);
  assert_true (o->security.seccomp_unconfined);
  assert_true (o->security.label_disable);
  assert_string_equal (o->security.apparmor_profile, "foo");
  options_free (o);

  assert_null (parse ("{}", "{\"IpcMode\":\"bogus\"}", &err));
  assert_string_equal (err.msg, "invalid IPC mode: bogus");
  assert_null (parse ("{}", "{\"PidMode\":\"container:\"}", &err));
  assert_string_equal (err.msg, "invalid PID mode: container:");
  assert_null (parse ("{}", "{\"UTSMode\":\"container:x\"}", &err));
  assert_string_equal (err.msg, "invalid UTS mode: container:x");
  assert_null (parse ("{}", "{\"SecurityOpt\":[\"bogus\"]}", &err));
  assert_string_equal (err.msg, "invalid --security-opt 1: \"bogus\"");
  assert_null (parse ("{}", "{\"SecurityOpt\":[\"no-new-privileges=maybe\"]}", &err));
  assert_string_equal (err.msg, "invalid --security-opt 2: \"no-new-privileges=maybe\"");
  assert_null (parse ("{}", "{\"SecurityOpt\":[\"foo=bar\"]}", &err));
  assert_string_equal (err.msg, "invalid --security-opt 2: \"foo=bar\"");
  o = parse ("{}", "{\"SecurityOpt\":[\"no-new-privileges:false\"]}", &err);
  assert_false (o->security.no_new_privileges);
  options_free (o);
}

static arca_sysinfo_t
full_sysinfo (void)
{
  arca_sysinfo_t si = { .memory_limit = true, .swap_limit = true, .memory_reservation = true,
                        .memory_swappiness = true, .oom_kill_disable = true, .pids_limit = true, .cpu_shares = true,
                        .cpu_cfs = true, .cpu_realtime = true, .cpuset = true, .blkio_weight = true,
                        .cgroup_namespaces = true, .ncpu = 2 };
  snprintf (si.cpus, sizeof si.cpus, "0-1");
  snprintf (si.mems, sizeof si.mems, "0");
  return si;
}

static char *
verify_error (const char *hc, const arca_sysinfo_t *si, json_t *warnings)
{
  arca_error_t err;
  arca_container_options_t *o = parse ("{}", hc, &err);
  assert_non_null (o);
  int r = options_verify (o, si, false, warnings, &err);
  options_free (o);
  return r < 0 ? xstrdup (err.msg) : NULL;
}

static void
expect_verify (const char *hc, const char *msg)
{
  arca_sysinfo_t si = full_sysinfo ();
  _cleanup_free_ char *m = verify_error (hc, &si, NULL);
  if (msg == NULL)
    {
      if (m)
        fail_msg ("%s: %s", hc, m);
      return;
    }
  if (m == NULL)
    fail_msg ("%s: accepted, expected %s", hc, msg);
  assert_string_equal (m, msg);
}

static void
test_verify_resources (void **state)
{
  (void) state;
  expect_verify ("{\"Memory\":1000}", "Minimum memory limit allowed is 6MB");
  expect_verify ("{\"Memory\":67108864,\"MemorySwap\":1000}",
                 "Minimum memoryswap limit should be larger than memory limit, see usage");
  expect_verify ("{\"MemorySwap\":67108864}",
                 "You should always set the Memory limit when using Memoryswap limit, see usage");
  expect_verify ("{\"MemorySwappiness\":101}", "Invalid value: 101, valid memory swappiness range is 0-100");
  expect_verify ("{\"MemorySwappiness\":-1}", NULL);
  expect_verify ("{\"MemoryReservation\":1000}", "Minimum memory reservation allowed is 6MB");
  expect_verify ("{\"NanoCpus\":3000000000}", "range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available");
  expect_verify ("{\"NanoCpus\":500000000,\"CpuPeriod\":100000}",
                 "Conflicting options: Nano CPUs and CPU Period cannot both be set");
  expect_verify ("{\"CpuPeriod\":10}",
                 "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
  expect_verify ("{\"CpuQuota\":10}", "CPU cfs quota can not be less than 1ms (i.e. 1000)");
  expect_verify ("{\"CpusetCpus\":\"0-3\"}", "Requested CPUs are not available - requested 0-3, available: 0-1");
  expect_verify ("{\"CpusetCpus\":\"a\"}", "Invalid value a for cpuset cpus: invalid format: a");
  expect_verify ("{\"CpusetMems\":\"1\"}", "Requested memory nodes are not available - requested 1, available: 0");
  expect_verify ("{\"CpusetCpus\":\"1\"}", NULL);
  expect_verify ("{\"BlkioWeight\":5}", "Range of blkio weight is from 10 to 1000");
  expect_verify ("{\"CpuShares\":-1}", "invalid CPU shares (-1): value must be a positive integer");
  expect_verify ("{\"CpuRealtimePeriod\":1000,\"CpuRealtimeRuntime\":2000}",
                 "cpu real-time runtime cannot be higher than cpu real-time period");
  expect_verify ("{\"IOMaximumBandwidth\":1}",
                 "invalid option: QoS maximum bandwidth configuration is not supported on linux");
  expect_verify ("{\"ShmSize\":-1}", "SHM size can not be less than 0");
  expect_verify ("{\"OomScoreAdj\":1001}", "Invalid value 1001, range for oom score adj is [-1000, 1000]");
  expect_verify ("{\"Isolation\":\"hyperv\"}", "invalid isolation (hyperv): linux supports 'default', 'process' and 'vm'");
  expect_verify ("{\"Isolation\":\"Default\"}", NULL);

  /* Without swap accounting: a warning and the swap limit dropped. */
  arca_sysinfo_t si = full_sysinfo ();
  si.swap_limit = false;
  si.blkio_weight = false;
  _cleanup_json_ json_t *w = json_array ();
  _cleanup_free_ char *m = verify_error ("{\"Memory\":67108864,\"BlkioWeight\":300,\"OomKillDisable\":true}", &si, w);
  assert_null (m);
  assert_int_equal (json_array_size (w), 2);
  assert_string_equal (json_string_value (json_array_get (w, 0)),
                       "Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory "
                       "limited without swap.");
  assert_string_equal (json_string_value (json_array_get (w, 1)),
                       "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.");
  json_array_clear (w);
  si = full_sysinfo ();
  m = verify_error ("{\"OomKillDisable\":true}", &si, w);
  assert_string_equal (json_string_value (json_array_get (w, 0)),
                       "OOM killer is disabled for the container, but no memory limit is set, this can result in the "
                       "system running out of resources.");
}

static void
test_spec_resources (void **state)
{
  (void) state;
  arca_error_t err;
  arca_container_options_t *o
      = parse ("{}", "{\"Memory\":67108864,\"MemorySwap\":134217728,\"NanoCpus\":500000000,\"CpusetCpus\":\"0\","
                     "\"PidsLimit\":10,\"CpuShares\":512,\"MemorySwappiness\":0,\"OomKillDisable\":false}",
               &err);
  _cleanup_json_ json_t *res = NULL;
  assert_int_equal (spec_resources (&o->resources, false, &res, &err), 0);
  json_t *mem = json_object_get (res, "memory"), *cpu = json_object_get (res, "cpu");
  assert_int_equal (json_get_int (mem, "limit", 0), 67108864);
  assert_int_equal (json_get_int (mem, "swap", 0), 134217728);
  assert_int_equal (json_get_int (mem, "swappiness", -1), 0);
  assert_true (json_is_false (json_object_get (mem, "disableOOMKiller")));
  assert_int_equal (json_get_int (cpu, "period", 0), 100000);
  assert_int_equal (json_get_int (cpu, "quota", 0), 50000);
  assert_int_equal (json_get_int (cpu, "shares", 0), 512);
  assert_string_equal (json_get_str (cpu, "cpus"), "0");
  assert_int_equal (json_get_int (json_object_get (res, "pids"), "limit", 0), 10);
  options_free (o);

  /* PidsLimit 0 or negative: unlimited, which a new cgroup is (no
   * section); an update sets it (-1); nothing set: no sections */
  o = parse ("{}", "{\"PidsLimit\":0}", &err);
  _cleanup_json_ json_t *res2 = NULL;
  assert_int_equal (spec_resources (&o->resources, false, &res2, &err), 0);
  assert_null (json_object_get (res2, "pids"));
  assert_null (json_object_get (res2, "memory"));
  assert_null (json_object_get (res2, "cpu"));
  _cleanup_json_ json_t *res_upd = NULL;
  assert_int_equal (spec_resources (&o->resources, true, &res_upd, &err), 0);
  assert_int_equal (json_get_int (json_object_get (res_upd, "pids"), "limit", 0), -1);
  options_free (o);

  /* a throttled device that does not exist */
  o = parse ("{}", "{\"BlkioDeviceReadBps\":[{\"Path\":\"/nonexistent\",\"Rate\":1}]}", &err);
  json_t *res3 = NULL;
  assert_int_equal (spec_resources (&o->resources, false, &res3, &err), -1);
  assert_string_equal (err.msg, "stat /nonexistent: no such file or directory");
  options_free (o);
}

static void
test_exec_process (void **state)
{
  (void) state;
  _cleanup_json_ json_t *proc = J ("{\"terminal\":false,\"user\":{\"uid\":5,\"gid\":5},\"args\":[\"sh\"],"
                                   "\"capabilities\":{\"bounding\":[\"CAP_CHOWN\"]},\"cwd\":\"/\"}");
  char *args[] = { "ls", "-l", NULL };
  char *env[] = { "A=1", NULL };
  arca_exec_process_options_t x
      = { .args = args, .env = env, .working_dir = "/tmp", .tty = true, .console_height = 5, .console_width = 7,
          .privileged = true };
  _cleanup_json_ json_t *out = NULL;
  arca_error_t err;
  assert_int_equal (spec_exec_process (proc, &x, &out, &err), 0);
  assert_string_equal (json_string_value (json_array_get (json_object_get (out, "args"), 1)), "-l");
  assert_string_equal (json_get_str (out, "cwd"), "/tmp");
  assert_true (json_is_true (json_object_get (out, "terminal")));
  assert_int_equal (json_get_int (json_object_get (out, "consoleSize"), "width", 0), 7);
  assert_int_equal (json_get_int (json_object_get (out, "user"), "uid", 0), 5);
  assert_true (json_array_size (json_object_get (json_object_get (out, "capabilities"), "bounding")) > 1);
}

static void
touch (const char *dir, const char *name)
{
  _cleanup_free_ char *p = xasprintf ("%s/%s", dir, name);
  arca_error_t err;
  fs_write_atomic (p, "0\n", 2, 0644, &err);
}

static void
test_sysinfo_probe (void **state)
{
  (void) state;
  char tmpl[] = "/tmp/arca-sysinfo-XXXXXX";
  char *root = mkdtemp (tmpl);
  assert_non_null (root);
  arca_error_t err;
  /* cgroup v1: files per controller */
  _cleanup_free_ char *mem = xasprintf ("%s/memory", root);
  _cleanup_free_ char *cpu = xasprintf ("%s/cpu", root);
  _cleanup_free_ char *cpuset = xasprintf ("%s/cpuset", root);
  fs_mkdir_p (mem, 0755, &err);
  fs_mkdir_p (cpu, 0755, &err);
  fs_mkdir_p (cpuset, 0755, &err);
  touch (mem, "memory.limit_in_bytes");
  touch (mem, "memory.soft_limit_in_bytes");
  touch (cpu, "cpu.shares");
  touch (cpu, "cpu.cfs_quota_us");
  _cleanup_free_ char *cpus = xasprintf ("%s/cpuset.cpus", cpuset);
  fs_write_atomic (cpus, "0-7\n", 4, 0644, &err);
  arca_sysinfo_t si;
  options_sysinfo_probe (&si, root, false);
  assert_true (si.memory_limit);
  assert_false (si.swap_limit);
  assert_true (si.memory_reservation);
  assert_true (si.cpu_shares && si.cpu_cfs);
  assert_false (si.cpu_realtime);
  assert_false (si.pids_limit);
  assert_string_equal (si.cpus, "0-7");

  /* cgroup v2: the root's cgroup.controllers */
  _cleanup_free_ char *ctl = xasprintf ("%s/cgroup.controllers", root);
  fs_write_atomic (ctl, "cpuset cpu io memory pids\n", 26, 0644, &err);
  _cleanup_free_ char *eff = xasprintf ("%s/cpuset.cpus.effective", root);
  fs_write_atomic (eff, "0-3\n", 4, 0644, &err);
  options_sysinfo_probe (&si, root, true);
  assert_true (si.cgroup_v2);
  assert_true (si.memory_limit && si.swap_limit && si.pids_limit && si.blkio_weight && si.cpu_cfs);
  assert_false (si.memory_swappiness);
  assert_false (si.oom_kill_disable);
  assert_string_equal (si.cpus, "0-3");
  fs_remove_all (root, &err);
}

static void
test_runtimes (void **state)
{
  (void) state;
  _cleanup_json_ json_t *rts = J ("{\"runc\":{\"path\":\"runc\"},\"crun\":{\"path\":\"/usr/bin/crun\"}}");
  arca_oci_runtimes_t *r = oci_runtimes_new (rts, "runc", "/usr/sbin/runc", "/run/x");
  const arca_oci_runtime_t *rt;
  arca_error_t err;
  assert_int_equal (oci_runtime_get (r, "", &rt, &err), 0);
  assert_string_equal (rt->name, "runc");
  assert_string_equal (rt->path, "/usr/sbin/runc");
  assert_string_equal (rt->root, "/run/x/runc");
  assert_int_equal (oci_runtime_get (r, "crun", &rt, &err), 0);
  assert_string_equal (rt->root, "/run/x/crun");
  assert_int_equal (oci_runtime_get (r, "nosuch", &rt, &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_INVALID);
  assert_string_equal (err.msg, "unknown or invalid runtime name: nosuch");
  oci_runtimes_free (r);

  arca_error_kind_t kind;
  _cleanup_free_ char *text = NULL;
  assert_int_equal (oci_start_failure ("exec: \"/x\": stat /x: no such file or directory", "/x", &kind, &text), 127);
  assert_int_equal (kind, ARCA_ERR_INVALID);
  assert_string_equal (text, "failed to create task for container: OCI runtime create failed: exec: \"/x\": stat /x: "
                             "no such file or directory: unknown");
}

/* crun's words for a command that cannot run read as runc's: the docker
 * CLI takes run's exit status from them. */
static void
test_crun_messages (void **state)
{
  (void) state;
  arca_error_kind_t kind;
  char *text = NULL;
  assert_int_equal (oci_start_failure ("executable file `nope` not found in $PATH: No such file or directory", "nope",
                                       &kind, &text),
                    127);
  assert_string_equal (text, "failed to create task for container: OCI runtime create failed: unable to start container "
                             "process: exec: \"nope\": executable file not found in $PATH: unknown");
  free (text);
  assert_int_equal (oci_start_failure ("executable file `/x` not found in $PATH: No such file or directory", "/x",
                                       &kind, &text),
                    127);
  assert_string_equal (text, "failed to create task for container: OCI runtime create failed: unable to start container "
                             "process: exec: \"/x\": stat /x: no such file or directory: unknown");
  free (text);
  assert_int_equal (oci_start_failure ("open executable: Permission denied", "/etc/passwd", &kind, &text), 126);
  assert_string_equal (text, "failed to create task for container: OCI runtime create failed: unable to start container "
                             "process: exec: \"/etc/passwd\": permission denied: unknown");
  free (text);
  assert_int_equal (oci_start_failure ("open executable: Operation not permitted", "/tmp", &kind, &text), 126);
  free (text);
  assert_int_equal (oci_exec_failure ("executable file `/nope` not found in $PATH: No such file or directory", "/nope",
                                      &text),
                    126);
  assert_string_equal (text, "OCI runtime exec failed: exec failed: unable to start container process: exec: "
                             "\"/nope\": stat /nope: no such file or directory: unknown");
  free (text);
  assert_int_equal (oci_start_failure ("the sysctl `net.ipv4.ip_forward` requires a new network namespace", "sh", &kind,
                                       &text),
                    128);
  assert_string_equal (text, "failed to create task for container: OCI runtime create failed: sysctl "
                             "\"net.ipv4.ip_forward\" not allowed in host network namespace: unknown");
  free (text);
  assert_int_equal (oci_start_failure ("the sysctl `kernel.msgmax` requires a new IPC namespace", "sh", &kind, &text),
                    128);
  assert_string_equal (text, "failed to create task for container: OCI runtime create failed: sysctl "
                             "\"kernel.msgmax\" is not allowed in the hosts ipc namespace: unknown");
  free (text);
  /* anything else passes as the runtime wrote it */
  assert_int_equal (oci_start_failure ("writing file `pids.max`: Invalid argument", "sh", &kind, &text), 128);
  assert_string_equal (text, "failed to create task for container: OCI runtime create failed: writing file `pids.max`: "
                             "Invalid argument: unknown");
  free (text);
}

static void
test_locallog (void **state)
{
  (void) state;
  arca_buf_t b = { 0 };
  locallog_encode (&b, "stderr", "hello", 5, false, 1234567890123LL);
  /* length word, message, length word */
  assert_true (b.len > 8);
  const unsigned char *p = (const unsigned char *) b.data;
  uint32_t len = ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
  assert_int_equal (len + 8, b.len);
  assert_memory_equal (p, p + 4 + len, 4);
  /* protobuf: 0a 06 "stderr" 10 <varint> 1a 05 "hello" */
  assert_int_equal (p[4], 0x0a);
  assert_int_equal (p[5], 6);
  const char *src, *line;
  size_t src_len, line_len;
  bool partial;
  int64_t t;
  assert_int_equal (locallog_decode (p + 4, len, &src, &src_len, &line, &line_len, &partial, &t), 0);
  assert_int_equal (src_len, 6);
  assert_memory_equal (src, "stderr", 6);
  assert_int_equal (line_len, 5);
  assert_memory_equal (line, "hello", 5);
  assert_false (partial);
  assert_int_equal (t, 1234567890123LL);
  b.len = 0;
  locallog_encode (&b, "stdout", "abc", 3, true, 1);
  p = (const unsigned char *) b.data;
  assert_int_equal (locallog_decode (p + 4, b.len - 8, &src, &src_len, &line, &line_len, &partial, &t), 0);
  assert_true (partial);
  /* truncated input is refused */
  assert_int_equal (locallog_decode (p + 4, 3, &src, &src_len, &line, &line_len, &partial, &t), -1);
  buf_free (&b);
}

static void
test_logfile_rotation (void **state)
{
  (void) state;
  char tmpl[] = "/tmp/arca-logfile-XXXXXX";
  char *dir = mkdtemp (tmpl);
  _cleanup_free_ char *path = xasprintf ("%s/c.log", dir);
  logfile_t lf;
  arca_error_t err;
  assert_int_equal (logfile_open (&lf, path, 100, 3, true, &err), 0);
  char line[41];
  memset (line, 'x', 39);
  line[39] = '\n';
  line[40] = '\0';
  for (int i = 0; i < 20; i++)
    assert_int_equal (logfile_write (&lf, line, 40, 1000 + i), 0);
  logfile_close (&lf);
  /* rotated before a write once at 100 bytes: files of 120 bytes */
  struct stat st;
  assert_int_equal (stat (path, &st), 0);
  assert_true (st.st_size <= 120);
  _cleanup_free_ char *g1 = xasprintf ("%s.1.gz", path);
  _cleanup_free_ char *g2 = xasprintf ("%s.2.gz", path);
  _cleanup_free_ char *g3 = xasprintf ("%s.3.gz", path);
  assert_int_equal (access (g1, F_OK), 0);
  assert_int_equal (access (g2, F_OK), 0);
  assert_int_equal (access (g3, F_OK), -1);
  /* the gzip holds the entries and the lastTime header */
  gzFile gz = gzopen (g1, "rb");
  char buf[256];
  int n = gzread (gz, buf, sizeof buf);
  gzclose (gz);
  assert_int_equal (n, 120);
  _cleanup_strv_ char **rot = logfile_rotated (path);
  assert_int_equal (strv_len (rot), 2);
  assert_string_equal (rot[0], g2);
  assert_string_equal (rot[1], g1);
  fs_remove_all (dir, &err);
}

static void
test_cgroupfs_oom (void **state)
{
  (void) state;
  char tmpl[] = "/tmp/arca-cgoom-XXXXXX";
  char *root = mkdtemp (tmpl);
  arca_error_t err;
  /* v1: <root>/memory/<path>/memory.oom_control */
  _cleanup_free_ char *v1 = xasprintf ("%s/memory/arca/x", root);
  fs_mkdir_p (v1, 0755, &err);
  _cleanup_free_ char *f1 = xasprintf ("%s/memory.oom_control", v1);
  const char *oc = "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n";
  fs_write_atomic (f1, oc, strlen (oc), 0644, &err);
  assert_int_equal (cgroupfs_oom_kills (root, "/arca/x"), 2);
  assert_int_equal (cgroupfs_oom_kills (root, "/arca/none"), -1);
  /* v2: cgroup.controllers at the root, memory.events in the group */
  _cleanup_free_ char *ctl = xasprintf ("%s/cgroup.controllers", root);
  fs_write_atomic (ctl, "memory pids\n", 12, 0644, &err);
  _cleanup_free_ char *v2 = xasprintf ("%s/arca/y", root);
  fs_mkdir_p (v2, 0755, &err);
  _cleanup_free_ char *f2 = xasprintf ("%s/memory.events", v2);
  const char *ev = "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n";
  fs_write_atomic (f2, ev, strlen (ev), 0644, &err);
  assert_int_equal (cgroupfs_oom_kills (root, "/arca/y"), 1);
  fs_remove_all (root, &err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_decode_type_errors), cmocka_unit_test (test_decode_canonical),
    cmocka_unit_test (test_parse_modes_and_security), cmocka_unit_test (test_parse_members_outlive_tree),
    cmocka_unit_test (test_verify_resources),
    cmocka_unit_test (test_spec_resources), cmocka_unit_test (test_exec_process),
    cmocka_unit_test (test_sysinfo_probe), cmocka_unit_test (test_runtimes), cmocka_unit_test (test_crun_messages),
    cmocka_unit_test (test_locallog),      cmocka_unit_test (test_logfile_rotation),
    cmocka_unit_test (test_cgroupfs_oom),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
