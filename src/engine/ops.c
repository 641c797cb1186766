/* Container operations besides the lifecycle: top, stats, pause/unpause,
 * rename, update and prune (moby daemon/top_unix.go, stats.go, pause.go,
 * unpause.go, rename.go, update.go, prune.go). */
#include "engine/events.h"
#include "engine/health.h"
#include "engine/internal.h"
#include "engine/isolation.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/cgroup.h"
#include "runtime/oci.h"
#include "runtime/spec.h"
#include "util/cleanup.h"
#include "util/netdev.h"
#include "util/filters.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/strutil.h"
#include "util/timeutil.h"


/* ---- top ---- */

/* moby validatePSArgs: "k=PID..." renames of the PID column are refused
 * unless k is "pid". */
static int
validate_ps_args (const char *ps_args, arca_error_t *err)
{
  regex_t re;
  if (regcomp (&re, "[[:space:]]+([^[:space:]]*)=[[:space:]]*(PID[^[:space:]]*)", REG_EXTENDED) != 0)
    return 0;
  const char *p = ps_args;
  regmatch_t m[3];
  int ret = 0;
  while (regexec (&re, p, 3, m, 0) == 0)
    {
      int klen = (int) (m[1].rm_eo - m[1].rm_so);
      if (klen != 3 || strncmp (p + m[1].rm_so, "pid", 3) != 0)
        {
          ret = arca_error_set (err, ARCA_ERR_INTERNAL, "specifying \"%.*s=%.*s\" is not allowed", klen,
                                p + m[1].rm_so, (int) (m[2].rm_eo - m[2].rm_so), p + m[2].rm_so);
          break;
        }
      p += m[0].rm_eo;
    }
  regfree (&re);
  return ret;
}

/* Go's strings.FieldsFunc on ASCII white space. */
static char **
fields_ascii (const char *line)
{
  arca_strv_builder_t v = { 0 };
  const char *ws = " \t\n\v\f\r";
  const char *p = line;
  while (*p)
    {
      p += strspn (p, ws);
      if (*p == '\0')
        break;
      size_t n = strcspn (p, ws);
      strv_builder_take (&v, strndup (p, n));
      p += n;
    }
  return strv_builder_finish (&v);
}

static void
append_process (json_t *procs, char **fields, size_t ntitles)
{
  size_t nf = strv_len (fields);
  json_t *row = json_array ();
  for (size_t i = 0; i + 1 < ntitles && i < nf; i++)
    json_array_append_new (row, json_string (fields[i]));
  /* The last column (CMD) keeps its spaces. */
  arca_buf_t last = { 0 };
  for (size_t i = ntitles - 1; i < nf; i++)
    {
      if (i > ntitles - 1)
        buf_append (&last, " ", 1);
      buf_append (&last, fields[i], strlen (fields[i]));
    }
  buf_append (&last, "", 1);
  json_array_append_new (row, json_string (last.data));
  buf_free (&last);
  json_array_append_new (procs, row);
}

static bool
has_pid (const pid_t *pids, size_t n, long pid)
{
  for (size_t i = 0; i < n; i++)
    if (pids[i] == pid)
      return true;
  return false;
}

/* moby parsePSOutput. */
static int
parse_ps_output (const char *output, const pid_t *pids, size_t npids, json_t **out, arca_error_t *err)
{
  _cleanup_free_ char *copy = xstrdup (output);
  char *nl = strchr (copy, '\n');
  if (nl)
    *nl = '\0';
  _cleanup_strv_ char **titles = fields_ascii (copy);
  size_t ntitles = strv_len (titles);
  long pid_index = -1;
  for (size_t i = 0; i < ntitles; i++)
    if (strcmp (titles[i], "PID") == 0)
      {
        pid_index = (long) i;
        break;
      }
  if (pid_index < 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "Couldn't find PID field in ps output");
  json_t *procs = json_array ();
  bool prev_contained = false;
  for (char *line = nl ? nl + 1 : NULL; line && *line;)
    {
      char *next = strchr (line, '\n');
      if (next)
        *next++ = '\0';
      if (*line == '\0')
        {
          line = next;
          continue;
        }
      _cleanup_strv_ char **fields = fields_ascii (line);
      line = next;
      if ((long) strv_len (fields) <= pid_index)
        continue;
      const char *pf = fields[pid_index];
      /* Thread lines (ps -m / H) show "-" and belong to the process above. */
      if (strcmp (pf, "-") == 0)
        {
          if (prev_contained)
            append_process (procs, fields, ntitles);
          continue;
        }
      char *end;
      long p = strtol (pf, &end, 10);
      if (*end != '\0' || end == pf)
        {
          json_decref (procs);
          return arca_error_set (err, ARCA_ERR_INTERNAL, "Unexpected pid '%s': strconv.Atoi: parsing \"%s\": invalid syntax",
                                 pf, pf);
        }
      prev_contained = has_pid (pids, npids, p);
      if (prev_contained)
        append_process (procs, fields, ntitles);
    }
  *out = json_pack ("{s:o,s:o}", "Titles", json_from_strv (titles), "Processes", procs);
  return 0;
}

int
container_top (arca_engine_t *e, arca_container_t *c, const char *ps_args, json_t **out, arca_error_t *err)
{
  if (ps_args == NULL || *ps_args == '\0')
    ps_args = "-ef";
  if (validate_ps_args (ps_args, err) < 0)
    return -1;
  pthread_mutex_lock (&e->lock);
  bool running = c->running, restarting = c->restarting;
  pthread_mutex_unlock (&e->lock);
  if (!running)
    return arca_error_set (err, ARCA_ERR_CONFLICT, "container %s is not running", c->id);
  if (restarting)
    return arca_error_set (err, ARCA_ERR_CONFLICT, "container %s is restarting, wait until the container is running",
                           c->id);
  if (container_is_vm (c)) /* VM isolation: the processes are the guest's */
    return isolation_vm_top (e, c, ps_args, out, err);

  _cleanup_free_ pid_t *pids = NULL;
  size_t npids = 0;
  _cleanup_free_ char *cg = container_cgroup_path (e, c);
  if (cgroup_procs (ARCA_CGROUP_ROOT, cgroup_is_v2 (ARCA_CGROUP_ROOT), cg, &pids, &npids, err) < 0)
    return arca_error_set (err, ARCA_ERR_CONFLICT, "container %s is not running", c->id);

  /* ps ARGS -q PID,PID...; some options (f) refuse -q: then plain ps ARGS,
   * filtered below. ARGS are split on single spaces, as dockerd does. */
  arca_strv_builder_t words = { 0 };
  strv_builder_add (&words, "ps");
  _cleanup_free_ char *copy = xstrdup (ps_args);
  for (char *s = copy, *sp;; s = sp + 1)
    {
      sp = strchr (s, ' ');
      if (sp)
        *sp = '\0';
      strv_builder_add (&words, s);
      if (sp == NULL)
        break;
    }
  char **argv = strv_builder_finish (&words);
  size_t nargs = strv_len (argv);
  arca_buf_t list = { 0 };
  for (size_t i = 0; i < npids; i++)
    buf_printf (&list, "%s%d", i ? "," : "", (int) pids[i]);
  buf_append (&list, "", 1);
  argv = strv_append (argv, "-q");
  argv = strv_append (argv, list.data);
  buf_free (&list);

  arca_buf_t o = { 0 }, eo = { 0 };
  int status = 0;
  int r = spawn_capture (argv, &o, &eo, &status, err);
  bool ok = r == 0 && WIFEXITED (status) && WEXITSTATUS (status) == 0;
  if (r == 0 && !ok)
    {
      free (argv[nargs]);
      free (argv[nargs + 1]);
      argv[nargs] = NULL;
      argv[nargs + 1] = NULL;
      buf_free (&o);
      buf_free (&eo);
      o = (arca_buf_t){ 0 };
      eo = (arca_buf_t){ 0 };
      r = spawn_capture (argv, &o, &eo, &status, err);
      ok = r == 0 && WIFEXITED (status) && WEXITSTATUS (status) == 0;
      if (r == 0 && !ok)
        {
          const char *text = eo.data ? eo.data : "";
          size_t n = strcspn (text, "\n");
          if (n > 0)
            r = arca_error_set (err, ARCA_ERR_INTERNAL, "ps: %.*s", (int) n, text);
          else
            r = arca_error_set (err, ARCA_ERR_INTERNAL, "ps: exit status %d",
                                WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status));
        }
    }
  strv_free (argv);
  if (r == 0)
    r = parse_ps_output (o.data ? o.data : "", pids, npids, out, err);
  buf_free (&o);
  buf_free (&eo);
  if (r == 0)
    events_container (e, c, "top", NULL); /* events */
  return r;
}

/* ---- stats ---- */

static json_t *
ju64 (uint64_t v)
{
  return json_integer (v > INT64_MAX ? INT64_MAX : (json_int_t) v);
}

static json_t *
zero_cpu_stats (void)
{
  return json_pack ("{s:{s:i,s:i,s:i},s:{s:i,s:i,s:i}}", "cpu_usage", "total_usage", 0, "usage_in_kernelmode", 0,
                    "usage_in_usermode", 0, "throttling_data", "periods", 0, "throttled_periods", 0,
                    "throttled_time", 0);
}

static const char *const blkio_keys[] = {
  "io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive", "io_service_time_recursive",
  "io_wait_time_recursive",     "io_merged_recursive",   "io_time_recursive",  "sectors_recursive", NULL,
};

/* StatsResponse of a container that is not running: zeros, name and ID
 * (moby daemon/stats.go). */
static json_t *
zero_stats (void)
{
  json_t *blkio = json_object ();
  for (int i = 0; blkio_keys[i]; i++)
    json_object_set_new (blkio, blkio_keys[i], json_null ());
  return json_pack ("{s:s,s:s,s:{},s:o,s:i,s:{},s:o,s:o,s:{}}", "read", "0001-01-01T00:00:00Z", "preread",
                    "0001-01-01T00:00:00Z", "pids_stats", "blkio_stats", blkio, "num_procs", 0, "storage_stats",
                    "cpu_stats", zero_cpu_stats (), "precpu_stats", zero_cpu_stats (), "memory_stats");
}

static json_t *
blkio_array (const arca_blkio_entry_t *v, size_t n)
{
  json_t *a = json_array ();
  for (size_t i = 0; i < n; i++)
    json_array_append_new (a, json_pack ("{s:o,s:o,s:s,s:o}", "major", ju64 (v[i].major), "minor", ju64 (v[i].minor),
                                         "op", v[i].op, "value", ju64 (v[i].value)));
  return a;
}

static uint64_t
host_memory (void)
{
  static uint64_t cached; /* read once; atomics keep concurrent stats readers race-free */
  uint64_t v = __atomic_load_n (&cached, __ATOMIC_RELAXED);
  if (v == 0)
    {
      _cleanup_free_ char *text = NULL;
      arca_error_t ignored;
      if (fs_read_file ("/proc/meminfo", &text, NULL, &ignored) == 0)
        v = cgroup_parse_meminfo_total (text);
      __atomic_store_n (&cached, v, __ATOMIC_RELAXED);
    }
  return v;
}

/* "networks": the counters of the container's interfaces (not lo), read
 * from its network namespace through /proc/<pid>/net/dev; only for
 * containers with endpoints of their own (bridge networks), as dockerd
 * (daemon/stats_collector getNetworkStats: omitted when empty). */
static void
stats_add_networks (arca_engine_t *e, arca_container_t *c, json_t *out)
{
  pthread_mutex_lock (&e->lock);
  pid_t pid = c->pid;
  const char *m = container_network_mode (c);
  bool own = !((strcmp (m, "host") == 0 || strcmp (m, "none") == 0 || strncmp (m, "container:", 10) == 0));
  bool vm = container_is_vm (c);
  pthread_mutex_unlock (&e->lock);
  /* VM isolation: the pid is the VM's, its interfaces are the guest's (not
   * reported, docs/limitations.md) */
  if (!own || vm || pid <= 0)
    return;
  _cleanup_free_ char *path = xasprintf ("/proc/%d/net/dev", (int) pid);
  _cleanup_free_ char *text = NULL;
  arca_error_t ignored;
  if (fs_read_file (path, &text, NULL, &ignored) < 0)
    return;
  json_t *nets = netdev_parse_stats (text);
  if (json_object_size (nets) > 0)
    json_object_set_new (out, "networks", nets);
  else
    json_decref (nets);
}

/* One sample of a running container (moby statsV1/statsV2 plus the
 * collector's system_cpu_usage and online_cpus).  NULL if its cgroup is
 * gone. */
static json_t *
stats_sample (arca_engine_t *e, arca_container_t *c)
{
  bool v2 = cgroup_is_v2 (ARCA_CGROUP_ROOT);
  _cleanup_free_ char *cg = container_cgroup_path (e, c);
  arca_cgroup_stats_t s;
  arca_error_t err;
  int64_t now = time_now_ns ();
  if (cgroup_stats_read (ARCA_CGROUP_ROOT, v2, cg, &s, &err) < 0)
    return NULL;
  char read[64];
  time_format_rfc3339nano (now, read, sizeof read);

  json_t *pids = json_object ();
  if (s.pids_current)
    json_object_set_new (pids, "current", ju64 (s.pids_current));
  if (s.pids_limit)
    json_object_set_new (pids, "limit", ju64 (s.pids_limit));

  json_t *blkio = json_object ();
  for (int i = 0; blkio_keys[i]; i++)
    {
      json_t *v;
      if (i == 0)
        v = blkio_array (s.io_bytes, s.n_io_bytes);
      else if (i == 1 && !v2)
        v = blkio_array (s.io_ops, s.n_io_ops);
      else
        v = v2 ? json_null () : json_array ();
      json_object_set_new (blkio, blkio_keys[i], v);
    }

  json_t *usage = json_pack ("{s:o}", "total_usage", ju64 (s.cpu_total));
  if (s.n_percpu)
    {
      json_t *pc = json_array ();
      for (size_t i = 0; i < s.n_percpu; i++)
        json_array_append_new (pc, ju64 (s.percpu[i]));
      json_object_set_new (usage, "percpu_usage", pc);
    }
  json_object_set_new (usage, "usage_in_kernelmode", ju64 (s.cpu_kernel));
  json_object_set_new (usage, "usage_in_usermode", ju64 (s.cpu_user));
  json_t *cpu = json_pack ("{s:o}", "cpu_usage", usage);
  _cleanup_free_ char *proc_stat = NULL;
  uint64_t system_ns = 0;
  unsigned online = 0;
  if (fs_read_file ("/proc/stat", &proc_stat, NULL, &err) == 0
      && cgroup_parse_proc_stat (proc_stat, sysconf (_SC_CLK_TCK), &system_ns, &online) == 0)
    {
      json_object_set_new (cpu, "system_cpu_usage", ju64 (system_ns));
      if (online)
        json_object_set_new (cpu, "online_cpus", json_integer (online));
    }
  json_object_set_new (cpu, "throttling_data",
                       json_pack ("{s:o,s:o,s:o}", "periods", ju64 (s.throttle_periods), "throttled_periods",
                                  ju64 (s.throttle_throttled), "throttled_time", ju64 (s.throttle_time)));

  json_t *mem = json_object ();
  if (s.has_memory)
    {
      if (s.mem_usage)
        json_object_set_new (mem, "usage", ju64 (s.mem_usage));
      if (s.mem_max_usage)
        json_object_set_new (mem, "max_usage", ju64 (s.mem_max_usage));
      if (s.mem_stats)
        json_object_set (mem, "stats", s.mem_stats);
      if (s.mem_failcnt)
        json_object_set_new (mem, "failcnt", ju64 (s.mem_failcnt));
      /* No limit set: the host's memory, as dockerd reports. */
      uint64_t limit = s.mem_limit, total = host_memory ();
      if (total > 0 && limit > total)
        limit = total;
      if (limit)
        json_object_set_new (mem, "limit", ju64 (limit));
    }
  cgroup_stats_free (&s);
  json_t *out = json_pack ("{s:s,s:s,s:o,s:o,s:i,s:{},s:o,s:o,s:o}", "read", read, "preread", "0001-01-01T00:00:00Z",
                           "pids_stats", pids, "blkio_stats", blkio, "num_procs", 0, "storage_stats", "cpu_stats",
                           cpu, "precpu_stats", zero_cpu_stats (), "memory_stats", mem);
  stats_add_networks (e, c, out);
  return out;
}

static int
stats_emit (json_t *j, arca_container_t *c, int (*write_fn) (void *, const void *, size_t), void *ctx)
{
  _cleanup_free_ char *name = xasprintf ("/%s", c->name);
  json_object_set_new (j, "name", json_string (name));
  json_object_set_new (j, "id", json_string (c->id));
  _cleanup_free_ char *text = json_dump_compact (j);
  if (write_fn (ctx, text, strlen (text)) < 0 || write_fn (ctx, "\n", 1) < 0)
    return -1;
  return 0;
}

/* Sleep ms, or less if the client leaves (returns true then). */
static bool
wait_or_cancel (int cancel_fd, int ms)
{
  if (cancel_fd < 0)
    {
      usleep ((useconds_t) ms * 1000);
      return false;
    }
  struct pollfd p = { .fd = cancel_fd, .events = POLLIN };
  int r;
  while ((r = poll (&p, 1, ms)) < 0 && errno == EINTR)
    ;
  return r > 0;
}

int
container_stats (arca_engine_t *e, arca_container_t *c, const arca_stats_opts_t *opts,
                 int (*write_fn) (void *ctx, const void *data, size_t len), void *ctx, int cancel_fd,
                 arca_error_t *err)
{
  (void) err;
  pthread_mutex_lock (&e->lock);
  bool running = c->running && !c->restarting;
  pthread_mutex_unlock (&e->lock);
  if (!running && !opts->stream)
    {
      _cleanup_json_ json_t *z = zero_stats ();
      return stats_emit (z, c, write_fn, ctx);
    }

  _cleanup_json_ json_t *pre_cpu = zero_cpu_stats ();
  _cleanup_free_ char *pre_read = xstrdup ("0001-01-01T00:00:00Z");
  bool prime = !opts->stream && !opts->one_shot;
  bool seen_running = false;
  for (;;)
    {
      pthread_mutex_lock (&e->lock);
      running = c->running && !c->restarting;
      bool removed = c->removed || e->closing;
      pthread_mutex_unlock (&e->lock);
      if (removed)
        return 0;
      json_t *j = running ? stats_sample (e, c) : NULL;
      if (j == NULL && (seen_running || !opts->stream))
        j = zero_stats ();
      if (j)
        {
          seen_running = true;
          /* Chain: this sample's precpu is the previous one's cpu. */
          json_object_set (j, "precpu_stats", pre_cpu);
          json_object_set_new (j, "preread", json_string (pre_read));
          json_decref (pre_cpu);
          pre_cpu = json_incref (json_object_get (j, "cpu_stats"));
          free (pre_read);
          pre_read = xstrdup (json_get_str (j, "read"));
          if (prime)
            prime = false; /* dockerd primes precpu with a first sample */
          else
            {
              int r = stats_emit (j, c, write_fn, ctx);
              json_decref (j);
              if (r < 0 || !opts->stream)
                return 0;
              j = NULL;
            }
          json_decref (j);
        }
      if (wait_or_cancel (cancel_fd, 1000))
        return 0;
    }
}

/* ---- pause / unpause ---- */

/* `<runtime> pause|resume`, or for a VM its vCPUs (engine/isolation.c). */
static int
freeze (arca_engine_t *e, arca_container_t *c, bool pause, arca_error_t *err)
{
  if (container_is_vm (c))
    return isolation_vm_pause (e, c, pause, err);
  const arca_oci_runtime_t *rt;
  if (container_runtime (e, c, &rt, err) < 0)
    return -1;
  return pause ? oci_pause (rt, c->id, err) : oci_resume (rt, c->id, err);
}

static int
set_paused (arca_engine_t *e, arca_container_t *c, bool paused)
{
  arca_error_t err;
  pthread_mutex_lock (&e->lock);
  c->paused = paused;
  int r = c->removed ? 0 : container_save (e, c, &err);
  health_update_locked (e, c); /* healthchecks: not while frozen (moby updateHealthMonitor) */
  events_container_locked (e, c, paused ? "pause" : "unpause", NULL); /* events */
  pthread_cond_broadcast (&e->changed);
  pthread_mutex_unlock (&e->lock);
  if (r < 0)
    log_error ("container %.12s: save state: %s", c->id, err.msg);
  return r;
}

int
container_pause (arca_engine_t *e, arca_container_t *c, arca_error_t *err)
{
  pthread_mutex_lock (&e->lock);
  bool running = c->running, paused = c->paused, restarting = c->restarting;
  pthread_mutex_unlock (&e->lock);
  if (!running)
    return arca_error_set (err, ARCA_ERR_CONFLICT, "container %s is not running", c->id);
  if (paused)
    return arca_error_set (err, ARCA_ERR_CONFLICT, "container %s is already paused", c->id);
  if (restarting)
    return arca_error_set (err, ARCA_ERR_CONFLICT, "container %s is restarting, wait until the container is running",
                           c->id);
  if (freeze (e, c, true, err) < 0)
    return arca_error_wrap (err, "Cannot pause container %s", c->id);
  set_paused (e, c, true);
  return 0;
}

int
container_unpause (arca_engine_t *e, arca_container_t *c, arca_error_t *err)
{
  pthread_mutex_lock (&e->lock);
  bool paused = c->paused && c->running;
  pthread_mutex_unlock (&e->lock);
  if (!paused)
    return arca_error_set (err, ARCA_ERR_CONFLICT, "container %s is not paused", c->id);
  if (freeze (e, c, false, err) < 0)
    return arca_error_wrap (err, "Cannot unpause container %s", c->id);
  set_paused (e, c, false);
  return 0;
}

void
container_thaw_after_signal (arca_engine_t *e, arca_container_t *c, int sig)
{
  pthread_mutex_lock (&e->lock);
  bool paused = c->paused && c->running;
  _cleanup_free_ char *stop_signal = xstrdup (c->opts->stop_signal);
  pthread_mutex_unlock (&e->lock);
  if (!paused)
    return;
  /* moby daemon/kill.go: a paused container is resumed after SIGKILL or
   * its stop signal (any signal when it has none), so the signal lands. */
  if (sig != SIGKILL && stop_signal && *stop_signal && signal_parse (stop_signal) != sig)
    return;
  arca_error_t err;
  if (freeze (e, c, false, &err) < 0)
    {
      log_warn ("container %.12s: cannot unpause: %s", c->id, err.msg);
      return;
    }
  set_paused (e, c, false);
}

/* ---- rename ---- */

int
container_rename (arca_engine_t *e, arca_container_t *c, const char *new_name, arca_error_t *err)
{
  if (new_name == NULL || *new_name == '\0' || strcmp (new_name, "/") == 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "Neither old nor new names may be empty");
  const char *bare = new_name[0] == '/' ? new_name + 1 : new_name;
  _cleanup_free_ char *slashed = xasprintf ("/%s", bare);
  pthread_mutex_lock (&e->lock);
  if (strcmp (c->name, bare) == 0)
    {
      pthread_mutex_unlock (&e->lock);
      return arca_error_set (err, ARCA_ERR_INVALID, "Renaming a container with the same name as its current name");
    }
  pthread_mutex_unlock (&e->lock);
  if (container_name_validate (slashed, err) < 0)
    return arca_error_wrap (err, "Error when allocating new name");

  pthread_mutex_lock (&e->lock);
  if (c->removed)
    {
      pthread_mutex_unlock (&e->lock);
      return arca_error_set (err, ARCA_ERR_NOT_FOUND, "No such container: %s", c->id);
    }
  for (arca_container_t *o = e->containers; o; o = o->next)
    if (o != c && !o->removed && strcmp (o->name, bare) == 0)
      {
        pthread_mutex_unlock (&e->lock);
        return arca_error_set (err, ARCA_ERR_CONFLICT,
                               "Error when allocating new name: Conflict. The container name \"%s\" is already in use "
                               "by container \"%s\". You have to remove (or rename) that container to be able to "
                               "reuse that name.",
                               slashed, o->id);
      }
  char *old = c->name;
  c->name = xstrdup (bare);
  int r = container_save (e, c, err);
  if (r < 0)
    {
      free (c->name);
      c->name = old;
    }
  else
    {
      _cleanup_free_ char *old_name = xasprintf ("/%s", old);
      events_container_locked (e, c, "rename", "oldName", old_name, NULL); /* events */
      free (old);
    }
  pthread_cond_broadcast (&e->changed);
  pthread_mutex_unlock (&e->lock);
  return r;
}

/* ---- update ---- */

#define MIN_MEMORY (6 * 1024 * 1024) /* moby linuxMinMemory */

static int64_t
body_int (json_t *body, const char *key)
{
  json_t *v = json_object_get (body, key);
  if (json_is_integer (v))
    return json_integer_value (v);
  if (json_is_real (v))
    return (int64_t) json_real_value (v);
  return 0;
}

static int64_t
hc_int (json_t *hc, const char *key)
{
  return body_int (hc, key);
}

/* moby validateRestartPolicy (API >= 1.44 texts). */
static int
validate_restart_policy (json_t *rp, arca_error_t *err)
{
  const char *name = json_get_str (rp, "Name");
  int64_t max = body_int (rp, "MaximumRetryCount");
  if (name == NULL || *name == '\0')
    return 0;
  if (strcmp (name, "always") == 0 || strcmp (name, "unless-stopped") == 0 || strcmp (name, "no") == 0)
    {
      if (max != 0)
        return arca_error_set (err, ARCA_ERR_INVALID,
                               "invalid restart policy: maximum retry count can only be used with 'on-failure'%s",
                               max < 0 ? " and cannot be negative" : "");
      return 0;
    }
  if (strcmp (name, "on-failure") == 0)
    {
      if (max < 0)
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid restart policy: maximum retry count cannot be negative");
      return 0;
    }
  return arca_error_set (err, ARCA_ERR_INVALID,
                         "invalid restart policy: unknown policy '%s'; use one of 'no', 'always', 'on-failure', or "
                         "'unless-stopped'",
                         name);
}

/* moby container.UpdateContainer: merge the update into hc (a copy);
 * conflicts are 409 and prefixed by the caller. */
static int
merge_update (json_t *hc, json_t *r, bool *resources_changed, arca_error_t *err)
{
  int64_t nano = body_int (r, "NanoCpus"), period = body_int (r, "CpuPeriod"), quota = body_int (r, "CpuQuota");
  if (nano > 0 && hc_int (hc, "CpuPeriod") > 0)
    return arca_error_set (err, ARCA_ERR_CONFLICT,
                           "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set");
  if (nano > 0 && hc_int (hc, "CpuQuota") > 0)
    return arca_error_set (err, ARCA_ERR_CONFLICT,
                           "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set");
  if (period > 0 && hc_int (hc, "NanoCpus") > 0)
    return arca_error_set (err, ARCA_ERR_CONFLICT,
                           "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set");
  if (quota > 0 && hc_int (hc, "NanoCpus") > 0)
    return arca_error_set (err, ARCA_ERR_CONFLICT,
                           "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set");
  int64_t mem = body_int (r, "Memory"), swap = body_int (r, "MemorySwap");
  if (mem != 0 && mem > hc_int (hc, "MemorySwap") && swap == 0)
    return arca_error_set (err, ARCA_ERR_CONFLICT,
                           "Memory limit should be smaller than already set memoryswap limit, update the memoryswap "
                           "at the same time");

  static const char *const ints[] = { "BlkioWeight", "CpuShares", "NanoCpus", "CpuPeriod", "CpuQuota", "Memory",
                                      "MemorySwap", "MemoryReservation", "KernelMemory", "CpuRealtimePeriod",
                                      "CpuRealtimeRuntime", NULL };
  for (int i = 0; ints[i]; i++)
    {
      int64_t v = body_int (r, ints[i]);
      if (v != 0)
        {
          json_object_set_new (hc, ints[i], json_integer (v));
          *resources_changed = true;
        }
    }
  static const char *const strs[] = { "CpusetCpus", "CpusetMems", NULL };
  for (int i = 0; strs[i]; i++)
    {
      const char *v = json_get_str (r, strs[i]);
      if (v && *v)
        {
          json_object_set_new (hc, strs[i], json_string (v));
          *resources_changed = true;
        }
    }
  json_t *pl = json_object_get (r, "PidsLimit");
  if (json_is_integer (pl))
    {
      json_object_set (hc, "PidsLimit", pl);
      *resources_changed = true;
    }
  json_t *rp = json_object_get (r, "RestartPolicy");
  const char *rp_name = json_get_str (rp, "Name");
  if (rp_name && *rp_name)
    {
      if (strcmp (rp_name, "no") != 0 && json_get_bool (hc, "AutoRemove", false))
        return arca_error_set (err, ARCA_ERR_CONFLICT,
                               "Restart policy cannot be updated because AutoRemove is enabled for the container");
      json_object_set_new (hc, "RestartPolicy",
                           json_pack ("{s:s,s:I}", "Name", rp_name, "MaximumRetryCount",
                                      (json_int_t) body_int (rp, "MaximumRetryCount")));
    }
  return 0;
}

/* The update request, decoded as dockerd's ReadJSON decodes a
 * container.UpdateConfig, and checked as verifyContainerSettings does for
 * an update (resources and restart policy); warnings as dockerd's. */
static int
update_check (json_t *request, json_t **body, json_t *warnings, arca_error_t *err)
{
  _cleanup_json_ json_t *empty = json_object ();
  if (options_decode_update (request ? request : empty, body, err) < 0)
    return -1;
  arca_resources_t r;
  options_parse_resources (*body, &r, err);
  int ret = options_verify_resources (&r, options_sysinfo (), true, warnings, err);
  if (ret == 0)
    options_resources_store (&r, *body);
  /* postContainerUpdate: PidsLimit 0 or negative is stored as 0
   * (unlimited). */
  json_t *pl = json_object_get (*body, "PidsLimit");
  if (ret == 0 && json_is_integer (pl) && json_integer_value (pl) <= 0)
    json_object_set_new (*body, "PidsLimit", json_integer (0));
  options_resources_clear (&r);
  if (ret < 0 || validate_restart_policy (json_object_get (*body, "RestartPolicy"), err) < 0)
    {
      json_decref (*body);
      *body = NULL;
      return -1;
    }
  return 0;
}

/* The merged HostConfig in the record, its typed options re-derived;
 * *backup keeps the previous one for a rollback. */
static int
update_record_locked (arca_engine_t *e, arca_container_t *c, json_t *body, json_t **backup, bool *changed,
                      arca_error_t *err)
{
  if (c->removing || c->dead || c->removed)
    return arca_error_set (err, ARCA_ERR_CONFLICT,
                           "Cannot update container %s: container is marked for removal and cannot be \"update\"",
                           c->id);
  _cleanup_json_ json_t *hc = container_host_config (c);
  if (merge_update (hc, body, changed, err) < 0)
    return arca_error_wrap (err, "Cannot update container %s", c->id);
  _cleanup_json_ json_t *prev = container_host_config (c);
  if (container_set_host_config (c, hc, err) < 0)
    return arca_error_wrap (err, "Cannot update container %s", c->id);
  if (container_save (e, c, err) < 0)
    {
      arca_error_t ignored;
      container_set_host_config (c, prev, &ignored);
      return arca_error_wrap (err, "Cannot update container %s", c->id);
    }
  *backup = arca_steal (prev);
  return 0;
}

static void
update_rollback (arca_engine_t *e, arca_container_t *c, json_t *backup)
{
  pthread_mutex_lock (&e->lock);
  arca_error_t ignored;
  container_set_host_config (c, backup, &ignored);
  container_save (e, c, &ignored);
  pthread_mutex_unlock (&e->lock);
}

int
container_update (arca_engine_t *e, arca_container_t *c, json_t *request, json_t **warnings_out, arca_error_t *err)
{
  *warnings_out = NULL;
  _cleanup_json_ json_t *warnings = json_array ();
  _cleanup_json_ json_t *body = NULL;
  if (update_check (request, &body, warnings, err) < 0)
    return -1;

  json_t *backup = NULL;
  bool changed = false;
  pthread_mutex_lock (&e->lock);
  if (update_record_locked (e, c, body, &backup, &changed, err) < 0)
    {
      pthread_mutex_unlock (&e->lock);
      return -1;
    }
  bool live = c->running && !c->restarting && changed;
  bool vm = container_is_vm (c);
  _cleanup_json_ json_t *res = NULL;
  int r = live && !vm ? spec_resources (&c->opts->resources, true, &res, err) : 0;
  _cleanup_free_ char *runtime = xstrdup (c->opts->runtime);
  pthread_mutex_unlock (&e->lock);
  if (live && vm)
    {
      /* VM isolation: the limits sized the VM when it started. */
      update_rollback (e, c, backup);
      return arca_error_set (err, ARCA_ERR_CONFLICT,
                             "Cannot update container %s: the resources of a running VM container are fixed at its "
                             "start; stop it first",
                             c->id);
    }

  /* A running (or paused) container gets the new limits at once; a stopped
   * one at its next start. */
  if (live)
    {
      _cleanup_free_ char *sdir = container_state_dir (e, c->id);
      _cleanup_free_ char *cgpath = container_cgroup_path (e, c);
      const arca_oci_runtime_t *rt;
      if (r < 0 || oci_runtime_get (e->runtimes, runtime, &rt, err) < 0 || oci_update (rt, c->id, sdir, cgpath, res, err) < 0)
        {
          update_rollback (e, c, backup);
          return arca_error_wrap (err, "Cannot update container %s", c->id);
        }
    }
  json_decref (backup);
  events_container (e, c, "update", NULL); /* events */
  *warnings_out = arca_steal (warnings);
  return 0;
}

/* ---- prune ---- */


int
containers_prune (arca_engine_t *e, json_t *filters, json_t **out, arca_error_t *err)
{
  static const char *const allowed[] = { "label", "label!", "until", NULL };
  static int prune_running;
  if (filters_validate (filters, allowed, err) < 0)
    return -1;
  int64_t until = 0;
  if (filters_until (filters, &until, err) < 0)
    return -1;
  json_t *label_not = json_object_get (filters, "label!");
  _cleanup_json_ json_t *not_filter = label_not ? json_pack ("{s:O}", "label", label_not) : NULL;

  int expected = 0;
  if (!__atomic_compare_exchange_n (&prune_running, &expected, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return arca_error_set (err, ARCA_ERR_CONFLICT, "a prune operation is already running");

  /* Candidates, referenced so they outlive the lock. */
  size_t n = 0;
  arca_container_t **list = NULL;
  pthread_mutex_lock (&e->lock);
  for (arca_container_t *c = e->containers; c; c = c->next)
    {
      if (c->removed || c->removing || c->running || c->starting)
        continue;
      if (until && c->created_ns > until)
        continue;
      json_t *labels = c->labels;
      if (!filters_match_labels (filters, labels))
        continue;
      if (not_filter && filters_match_labels (not_filter, labels))
        continue;
      list = xrealloc (list, (n + 1) * sizeof *list);
      container_ref (c);
      list[n++] = c;
    }
  pthread_mutex_unlock (&e->lock);

  json_t *deleted = json_array ();
  int64_t reclaimed = 0;
  for (size_t i = 0; i < n; i++)
    {
      arca_container_t *c = list[i];
      int64_t size = container_rw_size (e, c->id); /* engine/df.c, as system df */
      arca_error_t rerr;
      if (container_remove (e, c, false, false, &rerr) < 0)
        log_warn ("prune: container %.12s: %s", c->id, rerr.msg);
      else
        {
          json_array_append_new (deleted, json_string (c->id));
          if (size > 0)
            reclaimed += size;
        }
      container_unref (c);
    }
  free (list);
  __atomic_store_n (&prune_running, 0, __ATOMIC_RELEASE);

  if (json_array_size (deleted) == 0)
    {
      json_decref (deleted);
      deleted = json_null ();
    }
  events_prune (e, "container", reclaimed); /* events */
  *out = json_pack ("{s:o,s:I}", "ContainersDeleted", deleted, "SpaceReclaimed", (json_int_t) reclaimed);
  return 0;
}
