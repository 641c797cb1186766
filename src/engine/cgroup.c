/* Container cgroup readers for top and stats (see cgroup.h). */
#include "engine/cgroup.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strutil.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

bool
cgroup_is_v2 (const char *root)
{
  struct statfs s;
  return statfs (root, &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC;
}

/* ---- parsers ---- */

bool
cgroup_parse_u64 (const char *text, uint64_t *value)
{
  if (text == NULL)
    return false;
  while (*text == ' ' || *text == '\t')
    text++;
  if (strncmp (text, "max", 3) == 0)
    {
      *value = UINT64_MAX;
      return true;
    }
  char *end;
  errno = 0;
  /* v1 limits may be negative (-1 = unlimited on some files). */
  if (*text == '-')
    {
      long long v = strtoll (text, &end, 10);
      if (end == text || errno)
        return false;
      *value = v < 0 ? UINT64_MAX : (uint64_t) v;
      return true;
    }
  unsigned long long v = strtoull (text, &end, 10);
  if (end == text || errno)
    return false;
  *value = v;
  return true;
}

bool
cgroup_kv_get (const char *text, const char *key, uint64_t *value)
{
  if (text == NULL)
    return false;
  size_t klen = strlen (key);
  for (const char *line = text; line && *line;)
    {
      if (strncmp (line, key, klen) == 0 && (line[klen] == ' ' || line[klen] == '\t'))
        return cgroup_parse_u64 (line + klen + 1, value);
      line = strchr (line, '\n');
      if (line)
        line++;
    }
  return false;
}

static void
entries_add (arca_blkio_entry_t **v, size_t *n, uint64_t major, uint64_t minor, const char *op, uint64_t value)
{
  *v = xrealloc (*v, (*n + 1) * sizeof **v);
  arca_blkio_entry_t *e = &(*v)[(*n)++];
  memset (e, 0, sizeof *e);
  e->major = major;
  e->minor = minor;
  snprintf (e->op, sizeof e->op, "%s", op);
  e->value = value;
}

size_t
cgroup_parse_blkio_v1 (const char *text, arca_blkio_entry_t **out)
{
  size_t n = 0;
  *out = NULL;
  if (text == NULL)
    return 0;
  _cleanup_free_ char *copy = xstrdup (text);
  char *save = NULL;
  for (char *line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      unsigned long long maj, min, val;
      char op[16];
      /* "Total N" has two fields and is skipped, as containerd does. */
      if (sscanf (line, "%llu:%llu %15s %llu", &maj, &min, op, &val) == 4)
        entries_add (out, &n, maj, min, op, val);
    }
  return n;
}

size_t
cgroup_parse_io_stat (const char *text, bool ops, arca_blkio_entry_t **out)
{
  size_t n = 0;
  *out = NULL;
  if (text == NULL)
    return 0;
  _cleanup_free_ char *copy = xstrdup (text);
  char *save = NULL;
  for (char *line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      unsigned long long maj, min;
      int off = 0;
      if (sscanf (line, "%llu:%llu%n", &maj, &min, &off) != 2)
        continue;
      uint64_t rd = 0, wr = 0;
      char *save2 = NULL;
      for (char *kv = strtok_r (line + off, " ", &save2); kv; kv = strtok_r (NULL, " ", &save2))
        {
          char *eq = strchr (kv, '=');
          if (eq == NULL)
            continue;
          *eq = '\0';
          uint64_t v = 0;
          if (!cgroup_parse_u64 (eq + 1, &v))
            continue;
          if (strcmp (kv, ops ? "rios" : "rbytes") == 0)
            rd = v;
          else if (strcmp (kv, ops ? "wios" : "wbytes") == 0)
            wr = v;
        }
      entries_add (out, &n, maj, min, "read", rd);
      entries_add (out, &n, maj, min, "write", wr);
    }
  return n;
}

int
cgroup_parse_proc_stat (const char *text, long clk_tck, uint64_t *system_ns, unsigned *online_cpus)
{
  bool found = false;
  unsigned cpus = 0;
  uint64_t ticks = 0;
  if (clk_tck <= 0)
    clk_tck = 100;
  for (const char *line = text; line && *line;)
    {
      if (strncmp (line, "cpu ", 4) == 0)
        {
          unsigned long long f[7] = { 0 };
          if (sscanf (line + 4, "%llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1], &f[2], &f[3], &f[4], &f[5],
                      &f[6])
              == 7)
            {
              for (int i = 0; i < 7; i++)
                ticks += f[i];
              found = true;
            }
        }
      else if (strncmp (line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9')
        cpus++;
      line = strchr (line, '\n');
      if (line)
        line++;
    }
  if (!found)
    return -1;
  /* Multiply before dividing, as moby does, but in 128 bits. */
  *system_ns = (uint64_t) (((unsigned __int128) ticks * 1000000000u) / (unsigned long) clk_tck);
  *online_cpus = cpus;
  return 0;
}

uint64_t
cgroup_parse_meminfo_total (const char *text)
{
  uint64_t kb = 0;
  const char *p = text ? strstr (text, "MemTotal:") : NULL;
  if (p == NULL || !cgroup_parse_u64 (p + strlen ("MemTotal:"), &kb))
    return 0;
  return kb * 1024;
}

/* ---- file access ---- */

static char *
cg_dir (const char *root, bool v2, const char *controller, const char *path)
{
  if (v2)
    return xasprintf ("%s%s", root, path);
  return xasprintf ("%s/%s%s", root, controller, path);
}

static char *
read_text (const char *dir, const char *file)
{
  _cleanup_free_ char *p = xasprintf ("%s/%s", dir, file);
  char *data = NULL;
  arca_error_t ignored;
  if (fs_read_file (p, &data, NULL, &ignored) < 0)
    return NULL;
  return data;
}

static bool
read_u64 (const char *dir, const char *file, uint64_t *v)
{
  _cleanup_free_ char *t = read_text (dir, file);
  return cgroup_parse_u64 (t, v);
}

static bool
dir_exists (const char *p)
{
  struct stat st;
  return stat (p, &st) == 0 && S_ISDIR (st.st_mode);
}

int
cgroup_procs (const char *root, bool v2, const char *path, pid_t **pids, size_t *n, arca_error_t *err)
{
  static const char *const ctrls[] = { "pids", "memory", "cpu", "freezer", "devices", NULL };
  *pids = NULL;
  *n = 0;
  _cleanup_free_ char *text = NULL;
  for (int i = 0; v2 ? i == 0 : ctrls[i] != NULL; i++)
    {
      _cleanup_free_ char *dir = cg_dir (root, v2, ctrls[i], path);
      if (!dir_exists (dir))
        continue;
      text = read_text (dir, "cgroup.procs");
      if (text)
        break;
    }
  if (text == NULL)
    return arca_error_set (err, ARCA_ERR_NOT_FOUND, "cgroup %s not found", path);
  for (char *p = text; *p;)
    {
      char *end;
      long v = strtol (p, &end, 10);
      if (end == p)
        {
          p++;
          continue;
        }
      *pids = xrealloc (*pids, (*n + 1) * sizeof **pids);
      (*pids)[(*n)++] = (pid_t) v;
      p = end;
    }
  return 0;
}

/* Counters dockerd reports from a v1 memory.stat (a missing one is 0). */
static const char *const mem_keys_v1[] = {
  "active_anon", "active_file", "cache", "dirty", "hierarchical_memory_limit", "hierarchical_memsw_limit",
  "inactive_anon", "inactive_file", "mapped_file", "pgfault", "pgmajfault", "pgpgin", "pgpgout", "rss",
  "rss_huge", "total_active_anon", "total_active_file", "total_cache", "total_dirty", "total_inactive_anon",
  "total_inactive_file", "total_mapped_file", "total_pgfault", "total_pgmajfault", "total_pgpgin",
  "total_pgpgout", "total_rss", "total_rss_huge", "total_unevictable", "total_writeback", "unevictable",
  "writeback", NULL,
};

/* ... and from a v2 memory.stat. */
static const char *const mem_keys_v2[] = {
  "anon", "file", "kernel_stack", "slab", "sock", "shmem", "file_mapped", "file_dirty", "file_writeback",
  "anon_thp", "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable",
  "slab_reclaimable", "slab_unreclaimable", "pgfault", "pgmajfault", "workingset_refault",
  "workingset_activate", "workingset_nodereclaim", "pgrefill", "pgscan", "pgsteal", "pgactivate",
  "pgdeactivate", "pglazyfree", "pglazyfreed", "thp_fault_alloc", "thp_collapse_alloc", NULL,
};

static json_t *
mem_stats_object (const char *text, const char *const *keys)
{
  json_t *o = json_object ();
  for (int i = 0; keys[i]; i++)
    {
      uint64_t v = 0;
      cgroup_kv_get (text, keys[i], &v);
      json_object_set_new (o, keys[i], json_integer (v > INT64_MAX ? INT64_MAX : (json_int_t) v));
    }
  return o;
}

static void
read_v1 (const char *root, const char *path, arca_cgroup_stats_t *s)
{
  long tck = sysconf (_SC_CLK_TCK);
  if (tck <= 0)
    tck = 100;

  _cleanup_free_ char *acct = cg_dir (root, false, "cpuacct", path);
  read_u64 (acct, "cpuacct.usage", &s->cpu_total);
  _cleanup_free_ char *percpu = read_text (acct, "cpuacct.usage_percpu");
  if (percpu)
    for (char *p = percpu;;)
      {
        char *end;
        unsigned long long v = strtoull (p, &end, 10);
        if (end == p)
          break;
        s->percpu = xrealloc (s->percpu, (s->n_percpu + 1) * sizeof *s->percpu);
        s->percpu[s->n_percpu++] = v;
        p = end;
      }
  _cleanup_free_ char *st = read_text (acct, "cpuacct.stat");
  uint64_t user = 0, sys = 0;
  cgroup_kv_get (st, "user", &user);
  cgroup_kv_get (st, "system", &sys);
  s->cpu_user = user * 1000000000ull / (uint64_t) tck;
  s->cpu_kernel = sys * 1000000000ull / (uint64_t) tck;

  _cleanup_free_ char *cpu = cg_dir (root, false, "cpu", path);
  _cleanup_free_ char *cst = read_text (cpu, "cpu.stat");
  cgroup_kv_get (cst, "nr_periods", &s->throttle_periods);
  cgroup_kv_get (cst, "nr_throttled", &s->throttle_throttled);
  cgroup_kv_get (cst, "throttled_time", &s->throttle_time);

  _cleanup_free_ char *mem = cg_dir (root, false, "memory", path);
  if (read_u64 (mem, "memory.usage_in_bytes", &s->mem_usage))
    {
      s->has_memory = true;
      read_u64 (mem, "memory.max_usage_in_bytes", &s->mem_max_usage);
      read_u64 (mem, "memory.failcnt", &s->mem_failcnt);
      if (!read_u64 (mem, "memory.limit_in_bytes", &s->mem_limit))
        s->mem_limit = UINT64_MAX;
      _cleanup_free_ char *ms = read_text (mem, "memory.stat");
      s->mem_stats = mem_stats_object (ms, mem_keys_v1);
    }

  _cleanup_free_ char *pids = cg_dir (root, false, "pids", path);
  read_u64 (pids, "pids.current", &s->pids_current);
  if (!read_u64 (pids, "pids.max", &s->pids_limit) || s->pids_limit == UINT64_MAX)
    s->pids_limit = 0;

  /* containerd: the BFQ or CFQ recursive files when the kernel has them,
   * the throttle files otherwise. */
  _cleanup_free_ char *blk = cg_dir (root, false, "blkio", path);
  const char *bytes_f = "blkio.throttle.io_service_bytes", *ops_f = "blkio.throttle.io_serviced";
  _cleanup_free_ char *bfq = xasprintf ("%s/blkio.bfq.io_serviced_recursive", blk);
  _cleanup_free_ char *cfq = xasprintf ("%s/blkio.io_serviced_recursive", blk);
  if (access (bfq, F_OK) == 0)
    {
      bytes_f = "blkio.bfq.io_service_bytes_recursive";
      ops_f = "blkio.bfq.io_serviced_recursive";
    }
  else if (access (cfq, F_OK) == 0)
    {
      bytes_f = "blkio.io_service_bytes_recursive";
      ops_f = "blkio.io_serviced_recursive";
    }
  _cleanup_free_ char *bt = read_text (blk, bytes_f);
  _cleanup_free_ char *ot = read_text (blk, ops_f);
  s->n_io_bytes = cgroup_parse_blkio_v1 (bt, &s->io_bytes);
  s->n_io_ops = cgroup_parse_blkio_v1 (ot, &s->io_ops);
}

static void
read_v2 (const char *root, const char *path, arca_cgroup_stats_t *s)
{
  _cleanup_free_ char *dir = cg_dir (root, true, NULL, path);
  _cleanup_free_ char *cst = read_text (dir, "cpu.stat");
  uint64_t v = 0;
  if (cgroup_kv_get (cst, "usage_usec", &v))
    s->cpu_total = v * 1000;
  if (cgroup_kv_get (cst, "user_usec", &v))
    s->cpu_user = v * 1000;
  if (cgroup_kv_get (cst, "system_usec", &v))
    s->cpu_kernel = v * 1000;
  cgroup_kv_get (cst, "nr_periods", &s->throttle_periods);
  cgroup_kv_get (cst, "nr_throttled", &s->throttle_throttled);
  if (cgroup_kv_get (cst, "throttled_usec", &v))
    s->throttle_time = v * 1000;

  if (read_u64 (dir, "memory.current", &s->mem_usage))
    {
      s->has_memory = true;
      if (!read_u64 (dir, "memory.max", &s->mem_limit))
        s->mem_limit = UINT64_MAX;
      _cleanup_free_ char *ms = read_text (dir, "memory.stat");
      s->mem_stats = mem_stats_object (ms, mem_keys_v2);
      _cleanup_free_ char *ev = read_text (dir, "memory.events");
      cgroup_kv_get (ev, "oom", &s->mem_failcnt);
    }

  read_u64 (dir, "pids.current", &s->pids_current);
  if (!read_u64 (dir, "pids.max", &s->pids_limit) || s->pids_limit == UINT64_MAX)
    s->pids_limit = 0;

  _cleanup_free_ char *io = read_text (dir, "io.stat");
  s->n_io_bytes = cgroup_parse_io_stat (io, false, &s->io_bytes);
  s->n_io_ops = 0; /* dockerd reports only bytes on v2 */
}

int
cgroup_stats_read (const char *root, bool v2, const char *path, arca_cgroup_stats_t *out, arca_error_t *err)
{
  memset (out, 0, sizeof *out);
  out->v2 = v2;
  bool exists = false;
  if (v2)
    {
      _cleanup_free_ char *d = cg_dir (root, true, NULL, path);
      exists = dir_exists (d);
    }
  else
    {
      static const char *const ctrls[] = { "memory", "cpuacct", "pids", "cpu", NULL };
      for (int i = 0; ctrls[i] && !exists; i++)
        {
          _cleanup_free_ char *d = cg_dir (root, false, ctrls[i], path);
          exists = dir_exists (d);
        }
    }
  if (!exists)
    return arca_error_set (err, ARCA_ERR_NOT_FOUND, "cgroup %s not found", path);
  if (v2)
    read_v2 (root, path, out);
  else
    read_v1 (root, path, out);
  return 0;
}

void
cgroup_stats_free (arca_cgroup_stats_t *s)
{
  if (s == NULL)
    return;
  free (s->percpu);
  json_decref (s->mem_stats);
  free (s->io_bytes);
  free (s->io_ops);
  memset (s, 0, sizeof *s);
}
