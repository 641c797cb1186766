/* Running a helper program and collecting its output (util/spawn.h). */
#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Run argv (argv[0] looked up in PATH), collecting stdout and stderr.
 * *status gets the wait status.  -1 only if it could not be started. */
int
spawn_capture (char **argv, arca_buf_t *out, arca_buf_t *errout, int *status, arca_error_t *err)
{
  int po[2], pe[2];
  if (pipe2 (po, O_CLOEXEC) < 0)
    return arca_error_errno (err, errno, "pipe");
  if (pipe2 (pe, O_CLOEXEC) < 0)
    {
      close (po[0]);
      close (po[1]);
      return arca_error_errno (err, errno, "pipe");
    }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2 (&fa, po[1], 1);
  posix_spawn_file_actions_adddup2 (&fa, pe[1], 2);
  pid_t pid;
  int r = posix_spawnp (&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  close (po[1]);
  close (pe[1]);
  if (r != 0)
    {
      close (po[0]);
      close (pe[0]);
      return arca_error_errno (err, r, "exec %s", argv[0]);
    }
  struct pollfd p[2] = { { .fd = po[0], .events = POLLIN }, { .fd = pe[0], .events = POLLIN } };
  int open_fds = 2;
  while (open_fds > 0)
    {
      if (poll (p, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      for (int i = 0; i < 2; i++)
        {
          if (p[i].fd < 0 || p[i].revents == 0)
            continue;
          char buf[8192];
          ssize_t n = read (p[i].fd, buf, sizeof buf);
          if (n > 0)
            buf_append (i == 0 ? out : errout, buf, (size_t) n);
          else if (n == 0 || errno != EINTR)
            {
              close (p[i].fd);
              p[i].fd = -1;
              open_fds--;
            }
        }
    }
  for (int i = 0; i < 2; i++)
    if (p[i].fd >= 0)
      close (p[i].fd);
  while (waitpid (pid, status, 0) < 0 && errno == EINTR)
    ;
  buf_append (out, "", 1);
  out->len--;
  buf_append (errout, "", 1);
  errout->len--;
  return 0;
}

