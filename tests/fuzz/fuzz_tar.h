/* Tarball harness helpers: a private work dir per process, the input
 * written to a file there, a fresh destination per run, and a check that
 * nothing was created next to the destination (a path that escaped it). */
#ifndef ARCA_TESTS_FUZZ_TAR_H
#define ARCA_TESTS_FUZZ_TAR_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"

static char fuzz_work[256];

/* mkdtemp'd once: <tmp>/arca-fuzz-XXXXXX */
static inline const char *
fuzz_workdir (void)
{
  if (fuzz_work[0] == '\0')
    {
      const char *t = getenv ("TMPDIR");
      snprintf (fuzz_work, sizeof fuzz_work, "%s/arca-fuzz-XXXXXX", t && *t ? t : "/tmp");
      if (mkdtemp (fuzz_work) == NULL)
        abort ();
    }
  return fuzz_work;
}

static inline void
fuzz_write_file (const char *path, const uint8_t *data, size_t size)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    abort ();
  while (size > 0)
    {
      ssize_t n = write (fd, data, size);
      if (n <= 0)
        abort ();
      data += n;
      size -= (size_t) n;
    }
  close (fd);
}

/* Everything in dir must be one of the names in keep (NULL-terminated):
 * anything else was written by an entry that escaped its destination. */
static inline void
fuzz_check_nothing_escaped (const char *dir, const char *const *keep)
{
  DIR *d = opendir (dir);
  if (d == NULL)
    abort ();
  struct dirent *e;
  while ((e = readdir (d)) != NULL)
    {
      if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
        continue;
      bool ok = false;
      for (const char *const *k = keep; *k; k++)
        ok = ok || strcmp (*k, e->d_name) == 0;
      if (!ok)
        {
          fprintf (stderr, "fuzz: %s/%s was created outside the destination\n", dir, e->d_name);
          abort ();
        }
    }
  closedir (d);
}

#endif
