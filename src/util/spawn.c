/* Running a helper program and collecting its output (util/spawn.h). */
#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int
start_spawned (const char *file, char **argv, int out_fd, int err_fd, pid_t *pid)
{
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2 (&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2 (&fa, err_fd, 2);
  int r = posix_spawnp (pid, file, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  return r;
}

/* The child of a threaded parent may only make system calls: no stdio,
 * no strerror (either may take a lock another thread held at the fork). */
static void
child_report (const char *what, int errnum)
{
  char num[16];
  size_t n = sizeof num;
  num[--n] = '\n';
  do
    num[--n] = (char) ('0' + errnum % 10);
  while ((errnum /= 10) && n > 0);
  if (write (2, what, strlen (what)) < 0 || write (2, num + n, sizeof num - n) < 0)
    return;
}

/* fork, because posix_spawn runs nothing of ours in the child.  The
 * setup's failure reaches stderr as "child setup failed: errno N" and
 * exit status 127. */
static int
start_forked (const char *file, char **argv, int (*child_setup) (void), int out_fd, int err_fd, pid_t *pid)
{
  *pid = fork ();
  if (*pid < 0)
    return errno;
  if (*pid > 0)
    return 0;
  int null = open ("/dev/null", O_RDONLY);
  if (null < 0 || dup2 (null, 0) < 0 || dup2 (out_fd, 1) < 0 || dup2 (err_fd, 2) < 0)
    _exit (127);
  if (child_setup () < 0)
    {
      child_report ("child setup failed: errno ", errno);
      _exit (127);
    }
  execvp (file, argv);
  _exit (127);
}

int
spawn_capture (char **argv, arca_buf_t *out, arca_buf_t *errout, int *status, arca_error_t *err)
{
  return spawn_capture_with (argv, NULL, out, errout, status, err);
}

int
spawn_capture_with (char **argv, int (*child_setup) (void), arca_buf_t *out, arca_buf_t *errout, int *status,
                    arca_error_t *err)
{
  return spawn_capture_file (argv[0], argv, child_setup, out, errout, status, err);
}

int
spawn_capture_file (const char *file, char **argv, int (*child_setup) (void), arca_buf_t *out, arca_buf_t *errout,
                    int *status, arca_error_t *err)
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
  pid_t pid;
  int r = child_setup ? start_forked (file, argv, child_setup, po[1], pe[1], &pid)
                      : start_spawned (file, argv, po[1], pe[1], &pid);
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

