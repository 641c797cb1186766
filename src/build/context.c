/* The build context (see context.h). */
#include "build/context.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/fsroot.h"
#include "build/ignore.h"
#include "util/cleanup.h"
#include "build/build.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strutil.h"

int
build_context_open (const char *tmp_dir, const char *tar_path, build_context_t **out, arca_error_t *err)
{
  if (fs_mkdir_p (tmp_dir, 0700, err) < 0)
    return -1;
  build_context_t *c = xmalloc0 (sizeof *c);
  c->rootfd = -1;
  c->sums = json_object ();
  c->dir = xasprintf ("%s/build-XXXXXX", tmp_dir);
  if (mkdtemp (c->dir) == NULL)
    {
      int e = errno;
      free (c->dir);
      c->dir = NULL;
      build_context_free (c);
      return arca_error_errno (err, e, "create build context in %s", tmp_dir);
    }
  c->root = xasprintf ("%s/context", c->dir);
  if (mkdir (c->root, 0755) < 0 || (c->rootfd = open (c->root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
    {
      arca_error_errno (err, errno, "create %s", c->root);
      build_context_free (c);
      return -1;
    }
  struct stat st;
  if (tar_path && stat (tar_path, &st) == 0 && st.st_size > 0)
    {
      root_untar_opts_t o = { .keep_owner = false, .no_devices = true, .sums = c->sums, .tolerate_truncation_dir = c->dir };
      if (root_untar (c->rootfd, "/", tar_path, &o, err) < 0)
        {
          build_context_free (c);
          return -1;
        }
    }
  *out = c;
  return 0;
}

void
build_context_free (build_context_t *c)
{
  if (c == NULL)
    return;
  if (c->rootfd >= 0)
    close (c->rootfd);
  if (c->dir)
    fs_remove_all (c->dir, NULL);
  free (c->dir);
  free (c->root);
  json_decref (c->sums);
  free (c);
}

const char *
build_context_hash (build_context_t *c, const char *rel)
{
  const char *h = json_string_value (json_object_get (c->sums, rel));
  return h ? h : rel;
}

static int
read_in_root (int rootfd, const char *name, char **data, size_t *len)
{
  _cleanup_close_ int fd = root_open (rootfd, name, O_RDONLY, 0);
  if (fd < 0)
    return -1;
  struct stat st;
  if (fstat (fd, &st) < 0)
    return -1;
  if (S_ISDIR (st.st_mode))
    {
      errno = EISDIR;
      return -1;
    }
  arca_buf_t b = { 0 };
  buf_append (&b, "", 0);
  char buf[65536];
  ssize_t n;
  while ((n = read (fd, buf, sizeof buf)) > 0)
    buf_append (&b, buf, (size_t) n);
  if (n < 0)
    {
      int e = errno;
      buf_free (&b);
      errno = e;
      return -1;
    }
  *data = b.data;
  *len = b.len;
  return 0;
}

/* removeDockerfile: .dockerignore and the Dockerfile leave the context
 * when .dockerignore excludes them. */
static void
remove_ignored (build_context_t *c, const char *dockerfile)
{
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  if (read_in_root (c->rootfd, ".dockerignore", &data, &len) < 0)
    return;
  _cleanup_strv_ char **excludes = dockerignore_read (data, len);
  const char *files[] = { ".dockerignore", dockerfile, NULL };
  for (size_t i = 0; files[i]; i++)
    {
      arca_error_t ignored;
      if (dockerignore_matches (files[i], excludes, &ignored) == 1)
        root_remove_all (c->rootfd, files[i]);
    }
}

int
build_context_dockerfile (build_context_t *c, const char *name, char **data, size_t *len, arca_error_t *err)
{
  const char *used = name;
  if (read_in_root (c->rootfd, name, data, len) < 0)
    {
      if (errno == ENOENT && strcmp (name, "Dockerfile") == 0 && read_in_root (c->rootfd, "dockerfile", data, len) == 0)
        used = "dockerfile";
      else if (errno == ENOENT || errno == ENOTDIR)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "Cannot locate specified Dockerfile: %s", name);
      else
        return arca_error_errno (err, errno, "unexpected error reading Dockerfile");
    }
  if (*len == 0)
    {
      free (*data);
      *data = NULL;
      return arca_error_set (err, ARCA_ERR_INVALID, "the Dockerfile (%s) cannot be empty", used);
    }
  remove_ignored (c, used);
  return 0;
}

/* Mount points at or under dir, deepest first (from mountinfo). */
static char **
mounts_under (const char *dir)
{
  char **v = xmalloc0 (sizeof (char *));
  FILE *f = fopen ("/proc/self/mountinfo", "re");
  if (f == NULL)
    return v;
  size_t dl = strlen (dir);
  char *line = NULL;
  size_t cap = 0;
  while (getline (&line, &cap, f) > 0)
    {
      /* id parent major:minor root mountpoint ... */
      char *save = NULL, *tok = strtok_r (line, " ", &save);
      for (int i = 0; tok && i < 4; i++)
        tok = strtok_r (NULL, " ", &save);
      if (tok == NULL)
        continue;
      /* mountinfo escapes blanks as \040 and friends; our paths have none */
      if (strncmp (tok, dir, dl) == 0 && (tok[dl] == '/' || tok[dl] == '\0'))
        v = strv_append (v, tok);
    }
  free (line);
  fclose (f);
  size_t n = strv_len (v);
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (strlen (v[j]) > strlen (v[i]))
        {
          char *t = v[i];
          v[i] = v[j];
          v[j] = t;
        }
  return v;
}

void
build_sweep (const char *tmp_dir)
{
  _cleanup_closedir_ DIR *d = opendir (tmp_dir);
  struct dirent *de;
  while (d && (de = readdir (d)) != NULL)
    {
      bool build = strncmp (de->d_name, "build-", 6) == 0;
      if (!build && strncmp (de->d_name, "remote-", 7) != 0 && strncmp (de->d_name, "workdir-", 8) != 0)
        continue;
      _cleanup_free_ char *p = xasprintf ("%s/%s", tmp_dir, de->d_name);
      log_info ("build: removing leftover %s", p);
      _cleanup_strv_ char **mounts = mounts_under (p);
      for (size_t i = 0; mounts[i]; i++)
        if (umount2 (mounts[i], MNT_DETACH) < 0)
          log_warn ("build: unmount %s: %s", mounts[i], strerror (errno));
      struct stat st;
      if (lstat (p, &st) == 0 && S_ISDIR (st.st_mode))
        fs_remove_all (p, NULL);
      else
        unlink (p);
    }
}
