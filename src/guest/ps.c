/* `docker top` for a VM container: the container's processes as `ps -ef`
 * lists them (dockerd runs ps on the host; the guest's processes are only
 * visible from inside).  PIDs are the guest's (the agent is 1). */
#include "guest/guest.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"

typedef struct
{
  int pid, ppid;
  unsigned long long utime, stime, start;
  int tty;
  char comm[64];
} stat_t;

static int
read_stat (int pid, stat_t *st)
{
  char path[64], buf[1024];
  snprintf (path, sizeof path, "/proc/%d/stat", pid);
  _cleanup_fclose_ FILE *f = fopen (path, "re");
  if (f == NULL || fgets (buf, sizeof buf, f) == NULL)
    return -1;
  char *l = strchr (buf, '('), *r = strrchr (buf, ')');
  if (l == NULL || r == NULL || r < l)
    return -1;
  size_t cl = (size_t) (r - l - 1);
  if (cl >= sizeof st->comm)
    cl = sizeof st->comm - 1;
  memcpy (st->comm, l + 1, cl);
  st->comm[cl] = '\0';
  char state;
  int pgrp, session;
  unsigned long flags, minflt, cminflt, majflt, cmajflt;
  long cutime, cstime, prio, nice, nthreads, itreal;
  st->pid = pid;
  if (sscanf (r + 2, "%c %d %d %d %d %*d %lu %lu %lu %lu %lu %llu %llu %ld %ld %ld %ld %ld %ld %llu", &state, &st->ppid,
              &pgrp, &session, &st->tty, &flags, &minflt, &cminflt, &majflt, &cmajflt, &st->utime, &st->stime,
              &cutime, &cstime, &prio, &nice, &nthreads, &itreal, &st->start)
      != 19)
    return -1;
  if (flags & 0x00200000) /* PF_KTHREAD */
    return -1;
  return 0;
}

static char *
read_cmdline (int pid, const char *comm)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/cmdline", pid);
  _cleanup_fclose_ FILE *f = fopen (path, "re");
  char buf[4096];
  size_t n = f ? fread (buf, 1, sizeof buf - 1, f) : 0;
  if (n == 0)
    return xasprintf ("[%s]", comm);
  while (n > 0 && buf[n - 1] == '\0')
    n--;
  for (size_t i = 0; i < n; i++)
    if (buf[i] == '\0')
      buf[i] = ' ';
  buf[n] = '\0';
  return xstrdup (buf);
}

static unsigned
read_uid (int pid)
{
  char path[64], line[256];
  snprintf (path, sizeof path, "/proc/%d/status", pid);
  _cleanup_fclose_ FILE *f = fopen (path, "re");
  unsigned uid = 0;
  while (f && fgets (line, sizeof line, f))
    if (sscanf (line, "Uid: %u", &uid) == 1)
      break;
  return uid;
}

/* The user's name in the container's /etc/passwd, as ps would print it
 * inside the container; the number otherwise. */
static char *
user_name (unsigned uid)
{
  _cleanup_fclose_ FILE *f = fopen (GUEST_ROOT "/etc/passwd", "re");
  char line[512];
  while (f && fgets (line, sizeof line, f))
    {
      char *name = strtok (line, ":");
      strtok (NULL, ":");
      char *u = strtok (NULL, ":");
      if (name && u && (unsigned) strtoul (u, NULL, 10) == uid && strlen (name) <= 8)
        return xstrdup (name);
    }
  return xasprintf ("%u", uid);
}

static char *
fmt_time (unsigned long long ticks, long hz)
{
  unsigned long long s = ticks / (unsigned long long) hz;
  return xasprintf ("%02llu:%02llu:%02llu", s / 3600, (s / 60) % 60, s % 60);
}

json_t *
ps_list (guest_t *g)
{
  long hz = sysconf (_SC_CLK_TCK);
  struct timespec boot;
  clock_gettime (CLOCK_BOOTTIME, &boot);
  time_t now = time (NULL);
  json_t *procs = json_array ();
  _cleanup_closedir_ DIR *d = opendir ("/proc");
  struct dirent *de;
  while (d && (de = readdir (d)))
    {
      if (!isdigit ((unsigned char) de->d_name[0]))
        continue;
      int pid = atoi (de->d_name);
      stat_t st;
      if (pid <= 1 || read_stat (pid, &st) < 0)
        continue;
      _cleanup_free_ char *user = user_name (read_uid (pid));
      _cleanup_free_ char *cmd = read_cmdline (pid, st.comm);
      _cleanup_free_ char *cpu = fmt_time (st.utime + st.stime, hz);
      double up = (double) boot.tv_sec - (double) st.start / (double) hz;
      int c = up > 0 ? (int) ((double) (st.utime + st.stime) / (double) hz * 100.0 / up) : 0;
      time_t started = now - (time_t) up;
      struct tm tm;
      localtime_r (&started, &tm);
      char stime[16];
      strftime (stime, sizeof stime, "%H:%M", &tm);
      char tty[16] = "?";
      if (major ((dev_t) st.tty) == 136)
        snprintf (tty, sizeof tty, "pts/%u", minor ((dev_t) st.tty));
      char spid[16], sppid[16], sc[16];
      snprintf (spid, sizeof spid, "%d", pid);
      snprintf (sppid, sizeof sppid, "%d", st.ppid);
      snprintf (sc, sizeof sc, "%d", c);
      json_array_append_new (procs, json_pack ("[s,s,s,s,s,s,s,s]", user, spid, sppid, sc, stime, tty, cpu, cmd));
    }
  (void) g;
  return json_pack ("{s:[s,s,s,s,s,s,s,s],s:o}", "Titles", "UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD",
                    "Processes", procs);
}
