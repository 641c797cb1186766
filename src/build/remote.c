/* Remote build contexts (moby builder/remotecontext detect.go,
 * remote.go): POST /build?remote=<url>.  A tarball or plain Dockerfile
 * over http(s) is fetched with libcurl; git repositories would need git,
 * which this daemon does not run. */
#include "build/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/fetch.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strutil.h"

/* urlutil.IsGitURL (moby 20.10) */
static bool
is_git_url (const char *s)
{
  if (str_has_prefix (s, "http://") || str_has_prefix (s, "https://"))
    {
      /* .git(?:#.+)?$ */
      const char *hash = strchr (s, '#');
      size_t end = hash ? (size_t) (hash - s) : strlen (s);
      if (hash && hash[1] == '\0')
        end = strlen (s);
      if (end >= 4 && strncmp (s + end - 4, ".git", 4) == 0)
        return true;
    }
  return str_has_prefix (s, "git://") || str_has_prefix (s, "github.com/") || str_has_prefix (s, "git@");
}

/* The acceptable remote types (remote.go acceptableRemoteMIME): text/plain
 * is a Dockerfile, the others a (maybe compressed) tar. */
static bool
is_text (const char *ct, const char *sample, size_t n)
{
  if (ct && *ct && strncmp (ct, "application/octet-stream", 24) != 0)
    return strstr (ct, "text/plain") != NULL;
  /* http.DetectContentType, for what matters here: text without NULs
   * and no archive magic */
  if (n >= 2 && (unsigned char) sample[0] == 0x1f && (unsigned char) sample[1] == 0x8b)
    return false;
  for (size_t i = 0; i < n; i++)
    if (sample[i] == '\0' || ((unsigned char) sample[i] < 0x20 && !strchr ("\t\n\r\f\x1b", sample[i])))
      return false;
  return true;
}

static bool
acceptable (const char *ct)
{
  if (ct == NULL || *ct == '\0')
    return true;
  static const char *const ok[] = { "application/tar",    "application/x-tar",   "application/octet-stream",
                                    "application/gzip",   "application/x-gzip",  "application/bzip2",
                                    "application/x-bzip2", "application/bzip",   "application/x-bzip",
                                    "application/xz",     "application/x-xz",    "text/plain",
                                    NULL };
  for (size_t i = 0; ok[i]; i++)
    if (strstr (ct, ok[i]))
      return true;
  return false;
}

int build_remote_context (build_t *b, const char *tmp_dir, char **dockerfile, size_t *len, arca_error_t *err);

int
build_remote_context (build_t *b, const char *tmp_dir, char **dockerfile, size_t *len, arca_error_t *err)
{
  const char *url = b->o.remote;
  if (strcmp (url, "client-session") == 0)
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "experimental session with v1 builder is no longer supported, use builder version v2 "
                           "(BuildKit) instead");
  if (is_git_url (url))
    return arca_error_set (err, ARCA_ERR_NOT_IMPLEMENTED,
                           "error fetching: git build contexts are not supported by this daemon: %s", url);
  if (!str_has_prefix (url, "http://") && !str_has_prefix (url, "https://"))
    return arca_error_set (err, ARCA_ERR_INTERNAL, "remoteURL (%s) could not be recognized as URL", url);
  if (fs_mkdir_p (tmp_dir, 0700, err) < 0)
    return -1;
  _cleanup_free_ char *path = xasprintf ("%s/remote-XXXXXX", tmp_dir);
  _cleanup_close_ int fd = mkostemp (path, O_CLOEXEC);
  if (fd < 0)
    return arca_error_errno (err, errno, "create %s", path);
  fetch_info_t info;
  int r = fetch_url (url, fd, &info, NULL, NULL, err);
  if (r < 0)
    {
      unlink (path);
      return arca_error_wrap (err, "error downloading remote context %s", url);
    }
  char sample[100];
  ssize_t n = pread (fd, sample, sizeof sample, 0);
  if (n <= 0)
    {
      fetch_info_clear (&info);
      unlink (path);
      return arca_error_set (err, ARCA_ERR_INTERNAL, "error detecting content type for remote %s: empty response", url);
    }
  if (!acceptable (info.content_type))
    {
      arca_error_set (err, ARCA_ERR_INTERNAL, "error detecting content type for remote %s: unsupported Content-Type \"%s\"",
                      url, info.content_type);
      fetch_info_clear (&info);
      unlink (path);
      return -1;
    }
  bool text = is_text (info.content_type, sample, (size_t) n);
  fetch_info_clear (&info);
  if (text)
    {
      /* the body is the Dockerfile; there is no context */
      r = fs_read_file (path, dockerfile, len, err);
      unlink (path);
      if (r < 0)
        return -1;
      if (build_context_open (tmp_dir, NULL, &b->ctx, err) < 0)
        return -1;
      b->ctx->no_context = true;
      return 0;
    }
  r = build_context_open (tmp_dir, path, &b->ctx, err);
  unlink (path);
  if (r < 0)
    return -1;
  return build_context_dockerfile (b->ctx, b->o.dockerfile, dockerfile, len, err);
}
