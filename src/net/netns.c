/* Named network namespaces: <exec-root>/netns/<container id> is a bind
 * mount of a fresh netns's nsfs file, like `ip netns add` does, so the
 * namespace outlives its creator and can be handed to runc as a path. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/net_internal.h"
#include "util/log.h"

int
netns_create (const char *path, arca_error_t *err)
{
  int fd = open (path, O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
  if (fd < 0)
    return arca_error_errno (err, errno, "create %s", path);
  close (fd);
  /* A forked child unshares and bind-mounts its own nsfs file: only
   * async-signal-safe calls between fork and _exit. */
  pid_t pid = fork ();
  if (pid < 0)
    return arca_error_errno (err, errno, "fork");
  if (pid == 0)
    {
      if (unshare (CLONE_NEWNET) < 0)
        _exit (1);
      if (mount ("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0)
        _exit (2);
      _exit (0);
    }
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      unlink (path);
      return arca_error_set (err, ARCA_ERR_INTERNAL, "failed to create network namespace %s (step %d)", path,
                             WIFEXITED (status) ? WEXITSTATUS (status) : -1);
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
