/* Named network namespaces: <exec-root>/netns/<container id> is a bind
 * mount of a fresh netns's nsfs file, like `ip netns add` does, so the
 * namespace outlives its creator and can be handed to runc as a path. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/net_internal.h"
#include "util/log.h"

typedef struct
{
  const char *path;
  int step; /* 0 done, 1 unshare, 2 mount */
  int err;
} netns_job_t;

/* A network namespace belongs to a thread, not to the process: this thread
 * moves into a new one and bind-mounts its own nsfs file, then ends.  (A
 * forked child did it before: a fork of the daemon copies its page tables
 * and makes every thread's next writes fault, ~1 ms per start and more
 * with many starts at once.) */
static void *
netns_thread (void *arg)
{
  netns_job_t *j = arg;
  if (unshare (CLONE_NEWNET) < 0)
    {
      j->step = 1;
      j->err = errno;
      return NULL;
    }
  char self[64];
  snprintf (self, sizeof self, "/proc/self/task/%d/ns/net", (int) gettid ());
  if (mount (self, j->path, NULL, MS_BIND, NULL) < 0)
    {
      j->step = 2;
      j->err = errno;
    }
  return NULL;
}

int
netns_create (const char *path, arca_error_t *err)
{
  int fd = open (path, O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
  if (fd < 0)
    return arca_error_errno (err, errno, "create %s", path);
  close (fd);
  netns_job_t j = { .path = path };
  pthread_t t;
  int e = pthread_create (&t, NULL, netns_thread, &j);
  if (e != 0)
    {
      unlink (path);
      return arca_error_errno (err, e, "failed to create network namespace %s: thread", path);
    }
  pthread_join (t, NULL);
  if (j.step != 0)
    {
      unlink (path);
      return arca_error_errno (err, j.err, "failed to create network namespace %s: %s", path,
                               j.step == 1 ? "unshare" : "mount");
    }
  return 0;
}

void
netns_remove (const char *path)
{
  if (umount2 (path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    log_debug ("umount %s: %m", path);
  unlink (path);
}
