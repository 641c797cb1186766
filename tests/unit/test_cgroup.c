/* cgroup readers (engine/cgroup.c): parsers and whole v1/v2 trees built in
 * a temp dir from sample file contents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/cgroup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strutil.h"

static void
put (const char *root, const char *rel, const char *text)
{
  char *path = xasprintf ("%s/%s", root, rel);
  char *dir = xstrdup (path);
  *strrchr (dir, '/') = '\0';
  arca_error_t err;
  assert_int_equal (fs_mkdir_p (dir, 0755, &err), 0);
  assert_int_equal (fs_write_atomic (path, text, strlen (text), 0644, &err), 0);
  free (dir);
  free (path);
}

static char *
make_root (void)
{
  char tmpl[] = "/tmp/test-cgroup.XXXXXX";
  assert_non_null (mkdtemp (tmpl));
  return xstrdup (tmpl);
}

static void
drop_root (char *root)
{
  arca_error_t err;
  fs_remove_all (root, &err);
  free (root);
}

static void
test_parse_u64 (void **state)
{
  (void) state;
  uint64_t v = 1;
  assert_true (cgroup_parse_u64 ("123\n", &v));
  assert_true (v == 123);
  assert_true (cgroup_parse_u64 ("max\n", &v));
  assert_true (v == UINT64_MAX);
  assert_true (cgroup_parse_u64 ("-1", &v));
  assert_true (v == UINT64_MAX);
  assert_false (cgroup_parse_u64 ("", &v));
  assert_false (cgroup_parse_u64 (NULL, &v));
}

static void
test_kv (void **state)
{
  (void) state;
  const char *t = "cache 4096\nrss 8192\ntotal_rss 16384\ninactive_file 12\n";
  uint64_t v = 0;
  assert_true (cgroup_kv_get (t, "rss", &v));
  assert_true (v == 8192);
  assert_true (cgroup_kv_get (t, "total_rss", &v));
  assert_true (v == 16384);
  assert_true (cgroup_kv_get (t, "inactive_file", &v));
  assert_true (v == 12);
  assert_false (cgroup_kv_get (t, "rs", &v));
  assert_false (cgroup_kv_get (t, "swap", &v));
}

static void
test_blkio_v1 (void **state)
{
  (void) state;
  arca_blkio_entry_t *e = NULL;
  size_t n = cgroup_parse_blkio_v1 ("8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n"
                                    "8:0 Discard 0\n8:0 Total 12288\nTotal 12288\n",
                                    &e);
  assert_int_equal (n, 6);
  assert_true (e[0].major == 8 && e[0].minor == 0);
  assert_string_equal (e[0].op, "Read");
  assert_true (e[0].value == 4096);
  assert_string_equal (e[1].op, "Write");
  assert_true (e[1].value == 8192);
  free (e);
  assert_int_equal (cgroup_parse_blkio_v1 ("Total 0\n", &e), 0);
  free (e);
}

static void
test_io_stat (void **state)
{
  (void) state;
  arca_blkio_entry_t *e = NULL;
  const char *t = "259:0 rbytes=1048576 wbytes=2097152 rios=10 wios=20 dbytes=0 dios=0\n"
                  "8:16 rbytes=5 wbytes=6 rios=1 wios=2 dbytes=0 dios=0\n";
  size_t n = cgroup_parse_io_stat (t, false, &e);
  assert_int_equal (n, 4);
  assert_true (e[0].major == 259 && e[0].minor == 0);
  assert_string_equal (e[0].op, "read");
  assert_true (e[0].value == 1048576);
  assert_string_equal (e[1].op, "write");
  assert_true (e[1].value == 2097152);
  assert_true (e[3].major == 8 && e[3].minor == 16 && e[3].value == 6);
  free (e);
  n = cgroup_parse_io_stat (t, true, &e);
  assert_int_equal (n, 4);
  assert_true (e[0].value == 10 && e[1].value == 20);
  free (e);
}

static void
test_proc_stat (void **state)
{
  (void) state;
  const char *t = "cpu  100 20 30 400 5 6 7 8 0 0\n"
                  "cpu0 50 10 15 200 2 3 3 4 0 0\n"
                  "cpu1 50 10 15 200 3 3 4 4 0 0\n"
                  "intr 12345\nctxt 999\n";
  uint64_t ns = 0;
  unsigned cpus = 0;
  assert_int_equal (cgroup_parse_proc_stat (t, 100, &ns, &cpus), 0);
  /* (100+20+30+400+5+6+7) ticks = 568 ticks at 100 Hz = 5.68 s; steal not counted */
  assert_true (ns == 5680000000ull);
  assert_int_equal (cpus, 2);
  assert_int_equal (cgroup_parse_proc_stat ("intr 1\n", 100, &ns, &cpus), -1);
}

static void
test_meminfo (void **state)
{
  (void) state;
  assert_true (cgroup_parse_meminfo_total ("MemTotal:       24683620 kB\nMemFree: 1 kB\n") == 24683620ull * 1024);
  assert_true (cgroup_parse_meminfo_total ("Nope: 1\n") == 0);
}

static void
test_v1_tree (void **state)
{
  (void) state;
  char *root = make_root ();
  const char *id = "/arca/abc";
  put (root, "cpuacct/arca/abc/cpuacct.usage", "234634390\n");
  put (root, "cpuacct/arca/abc/cpuacct.usage_percpu", "152831231 81803159 \n");
  put (root, "cpuacct/arca/abc/cpuacct.stat", "user 10\nsystem 13\n");
  put (root, "cpu/arca/abc/cpu.stat", "nr_periods 7\nnr_throttled 2\nthrottled_time 5000\n");
  put (root, "memory/arca/abc/memory.usage_in_bytes", "720896\n");
  put (root, "memory/arca/abc/memory.max_usage_in_bytes", "4026368\n");
  put (root, "memory/arca/abc/memory.failcnt", "0\n");
  put (root, "memory/arca/abc/memory.limit_in_bytes", "9223372036854771712\n");
  put (root, "memory/arca/abc/memory.stat",
       "cache 0\nrss 118784\nshmem 0\ninactive_file 4096\ntotal_inactive_file 8192\ntotal_rss 118784\n");
  put (root, "pids/arca/abc/pids.current", "2\n");
  put (root, "pids/arca/abc/pids.max", "max\n");
  put (root, "pids/arca/abc/cgroup.procs", "101\n102\n");
  put (root, "blkio/arca/abc/blkio.throttle.io_service_bytes", "8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
  put (root, "blkio/arca/abc/blkio.throttle.io_serviced", "8:0 Read 1\n8:0 Write 0\nTotal 1\n");

  arca_cgroup_stats_t s;
  arca_error_t err;
  assert_int_equal (cgroup_stats_read (root, false, id, &s, &err), 0);
  assert_true (s.cpu_total == 234634390ull);
  assert_int_equal (s.n_percpu, 2);
  assert_true (s.percpu[1] == 81803159ull);
  long tck = sysconf (_SC_CLK_TCK);
  assert_true (s.cpu_user == 10ull * 1000000000ull / (uint64_t) tck);
  assert_true (s.cpu_kernel == 13ull * 1000000000ull / (uint64_t) tck);
  assert_true (s.throttle_periods == 7 && s.throttle_throttled == 2 && s.throttle_time == 5000);
  assert_true (s.has_memory);
  assert_true (s.mem_usage == 720896 && s.mem_max_usage == 4026368);
  assert_true (s.mem_limit == 9223372036854771712ull);
  /* dockerd's fixed key set: total_inactive_file present, shmem not. */
  assert_int_equal (json_integer_value (json_object_get (s.mem_stats, "total_inactive_file")), 8192);
  assert_int_equal (json_integer_value (json_object_get (s.mem_stats, "rss")), 118784);
  assert_null (json_object_get (s.mem_stats, "shmem"));
  assert_non_null (json_object_get (s.mem_stats, "hierarchical_memsw_limit"));
  assert_true (s.pids_current == 2 && s.pids_limit == 0);
  assert_int_equal (s.n_io_bytes, 2);
  assert_true (s.io_bytes[0].value == 4096);
  assert_int_equal (s.n_io_ops, 2);
  cgroup_stats_free (&s);

  pid_t *pids = NULL;
  size_t n = 0;
  assert_int_equal (cgroup_procs (root, false, id, &pids, &n, &err), 0);
  assert_int_equal (n, 2);
  assert_int_equal (pids[0], 101);
  assert_int_equal (pids[1], 102);
  free (pids);

  assert_int_equal (cgroup_stats_read (root, false, "/arca/missing", &s, &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_NOT_FOUND);
  assert_int_equal (cgroup_procs (root, false, "/arca/missing", &pids, &n, &err), -1);
  drop_root (root);
}

static void
test_v2_tree (void **state)
{
  (void) state;
  char *root = make_root ();
  const char *id = "/arca/abc";
  put (root, "arca/abc/cpu.stat",
       "usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 3\nnr_throttled 1\nthrottled_usec 40\n");
  put (root, "arca/abc/memory.current", "1048576\n");
  put (root, "arca/abc/memory.max", "max\n");
  put (root, "arca/abc/memory.stat", "anon 4096\nfile 8192\ninactive_file 2048\nshmem 0\nzswap 1\n");
  put (root, "arca/abc/memory.events", "low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\n");
  put (root, "arca/abc/pids.current", "3\n");
  put (root, "arca/abc/pids.max", "100\n");
  put (root, "arca/abc/io.stat", "8:0 rbytes=512 wbytes=1024 rios=1 wios=2 dbytes=0 dios=0\n");
  put (root, "arca/abc/cgroup.procs", "7\n");

  arca_cgroup_stats_t s;
  arca_error_t err;
  assert_int_equal (cgroup_stats_read (root, true, id, &s, &err), 0);
  assert_true (s.cpu_total == 2000000 && s.cpu_user == 1500000 && s.cpu_kernel == 500000);
  assert_true (s.throttle_periods == 3 && s.throttle_throttled == 1 && s.throttle_time == 40000);
  assert_int_equal (s.n_percpu, 0);
  assert_true (s.has_memory && s.mem_usage == 1048576 && s.mem_limit == UINT64_MAX);
  assert_true (s.mem_failcnt == 2);
  assert_int_equal (json_integer_value (json_object_get (s.mem_stats, "inactive_file")), 2048);
  assert_int_equal (json_integer_value (json_object_get (s.mem_stats, "anon")), 4096);
  assert_null (json_object_get (s.mem_stats, "zswap"));
  assert_true (s.pids_current == 3 && s.pids_limit == 100);
  assert_int_equal (s.n_io_bytes, 2);
  assert_string_equal (s.io_bytes[1].op, "write");
  assert_true (s.io_bytes[1].value == 1024);
  cgroup_stats_free (&s);

  pid_t *pids = NULL;
  size_t n = 0;
  assert_int_equal (cgroup_procs (root, true, id, &pids, &n, &err), 0);
  assert_int_equal (n, 1);
  assert_int_equal (pids[0], 7);
  free (pids);
  drop_root (root);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_parse_u64), cmocka_unit_test (test_kv),         cmocka_unit_test (test_blkio_v1),
    cmocka_unit_test (test_io_stat),   cmocka_unit_test (test_proc_stat),  cmocka_unit_test (test_meminfo),
    cmocka_unit_test (test_v1_tree),   cmocka_unit_test (test_v2_tree),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
