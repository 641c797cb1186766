/* docker build, engine side (see build.h): the backend the classic builder
 * runs its steps with.  Containers are made, run, committed and removed
 * only through the engine's public container API (container.h, commit.h,
 * archive.h), the same path `docker run` takes. */
#include "engine/build.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/archive.h"
#include "engine/commit.h"
#include "engine/container.h"
#include "engine/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/stdcopy.h"
#include "util/strutil.h"
#include "util/timeutil.h"

struct arca_engine_build
{
  arca_engine_t *e;
  build_t *b;
};

static int
lookup (arca_engine_t *e, const char *id, arca_container_t **c, arca_error_t *err)
{
  return container_lookup (e, id, c, err);
}

/* ---- create / remove ------------------------------------------------------------------ */

static int
be_create (void *ctx, json_t *body, char **id, char ***warnings, arca_error_t *err)
{
  arca_engine_t *e = ctx;
  _cleanup_json_ json_t *w = NULL;
  if (container_create (e, NULL, body, id, &w, err) < 0)
    return -1;
  *warnings = xmalloc0 (sizeof (char *));
  size_t i;
  json_t *v;
  json_array_foreach (w, i, v)
    if (json_is_string (v))
      *warnings = strv_append (*warnings, json_string_value (v));
  return 0;
}

static int
be_remove (void *ctx, const char *id, arca_error_t *err)
{
  arca_engine_t *e = ctx;
  arca_container_t *c;
  if (lookup (e, id, &c, err) < 0)
    return -1;
  int r = container_remove (e, c, true, true, err);
  container_unref (c);
  return r;
}

/* ---- run: attach, start, relay, wait (moby containerManager.Run) ------------------------- */

typedef struct
{
  arca_engine_t *e;
  arca_container_t *c;
  int fd;        /* the attach session's end */
  int ready_fd;  /* eventfd: the session is set */
} attach_thread_t;

static void
attach_ready (void *ctx)
{
  uint64_t one = 1;
  if (write (*(int *) ctx, &one, sizeof one) < 0)
    log_debug ("build: attach ready signal: %s", strerror (errno));
}

static void *
attach_main (void *arg)
{
  attach_thread_t *t = arg;
  arca_attach_opts_t o = { .out = true, .err = true, .stream = true, .ready = attach_ready, .ready_ctx = &t->ready_fd };
  container_attach (t->e, t->c, t->fd, NULL, 0, &o);
  /* the session ends at the container's exit; our end then sees EOF */
  shutdown (t->fd, SHUT_RDWR);
  return NULL;
}

/* Read the multiplexed stream until EOF, handing each frame's payload on. */
static int
relay (int fd, build_output_fn out, void *out_ctx, int cancel_fd, arca_engine_t *e, arca_container_t *c,
       bool *cancelled)
{
  uint8_t hdr[STDCOPY_HEADER_LEN];
  size_t have = 0;
  char *payload = NULL;
  size_t plen = 0, pgot = 0;
  stdcopy_stream_t stream = STDCOPY_STDOUT;
  bool in_payload = false;
  bool client_ok = true;
  for (;;)
    {
      struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = cancel_fd, .events = POLLIN } };
      int n = poll (p, (cancel_fd >= 0 && !*cancelled) ? 2 : 1, -1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        break;
      if (cancel_fd >= 0 && !*cancelled && (p[1].revents & POLLIN))
        {
          /* the client went away: kill the step, keep draining to EOF */
          *cancelled = true;
          arca_error_t kerr = { 0 };
          container_kill (e, c, "KILL", &kerr);
        }
      if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      char buf[32768];
      ssize_t r = read (fd, buf, sizeof buf);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      size_t off = 0;
      while (off < (size_t) r)
        {
          if (!in_payload)
            {
              size_t take = STDCOPY_HEADER_LEN - have;
              if (take > (size_t) r - off)
                take = (size_t) r - off;
              memcpy (hdr + have, buf + off, take);
              have += take;
              off += take;
              if (have < STDCOPY_HEADER_LEN)
                break;
              uint32_t len;
              if (stdcopy_parse_header (hdr, &stream, &len) < 0)
                {
                  free (payload);
                  return -1;
                }
              have = 0;
              free (payload);
              payload = xmalloc0 (len + 1);
              plen = len;
              pgot = 0;
              in_payload = plen > 0;
              continue;
            }
          size_t take = plen - pgot;
          if (take > (size_t) r - off)
            take = (size_t) r - off;
          memcpy (payload + pgot, buf + off, take);
          pgot += take;
          off += take;
          if (pgot == plen)
            {
              in_payload = false;
              if (client_ok && out (out_ctx, stream == STDCOPY_STDERR ? 2 : 1, payload, plen) < 0)
                client_ok = false;
            }
        }
    }
  free (payload);
  return 0;
}

static int
be_run (void *ctx, const char *id, build_output_fn out, void *out_ctx, int cancel_fd, int *exit_code,
        arca_error_t *err)
{
  arca_engine_t *e = ctx;
  arca_container_t *c;
  if (lookup (e, id, &c, err) < 0)
    return -1;
  int sp[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
    {
      container_unref (c);
      return arca_error_errno (err, errno, "socketpair");
    }
  attach_thread_t t = { .e = e, .c = c, .fd = sp[1], .ready_fd = eventfd (0, EFD_CLOEXEC) };
  pthread_t th;
  int ret = -1;
  if (t.ready_fd < 0 || pthread_create (&th, NULL, attach_main, &t) != 0)
    {
      arca_error_errno (err, errno, "start the attach session");
      goto out_noth;
    }
  uint64_t v;
  while (read (t.ready_fd, &v, sizeof v) < 0 && errno == EINTR)
    ;
  if (container_start (e, c, err) < 0)
    {
      /* the queued session fails with the start; it ends by itself */
      shutdown (sp[0], SHUT_RDWR);
      pthread_join (th, NULL);
      goto out_noth;
    }
  bool cancelled = false;
  relay (sp[0], out, out_ctx, cancel_fd, e, c, &cancelled);
  pthread_join (th, NULL);
  if (container_wait (e, c, WAIT_NOT_RUNNING, -1, exit_code, err) < 0)
    goto out_noth;
  ret = 0;
  if (cancelled)
    ret = arca_error_set (err, ARCA_ERR_INTERNAL, "build cancelled");
out_noth:
  if (t.ready_fd >= 0)
    close (t.ready_fd);
  close (sp[0]);
  close (sp[1]);
  container_unref (c);
  return ret;
}

/* ---- commit, workdir, layers ----------------------------------------------------------- */

static int
be_commit (void *ctx, const char *id, json_t *config, json_t *container_config, const char *author, char **image_id,
           arca_error_t *err)
{
  arca_engine_t *e = ctx;
  arca_container_t *c;
  if (lookup (e, id, &c, err) < 0)
    return -1;
  int r = container_commit_build (e, c, config, container_config, author, image_id, err);
  container_unref (c);
  return r;
}

static int
be_write_upper_layer (void *ctx, const char *upper, int fd, arca_error_t *err)
{
  (void) ctx;
  return layer_tar_write_upper (upper, fd, err);
}

/* A tar of the directories rel ("a/b/c"), each 0755 root-owned. */
static int
dirs_tar (const char *path, const char *rel, arca_error_t *err)
{
  struct archive *a = archive_write_new ();
  archive_write_set_format_pax_restricted (a);
  if (archive_write_open_filename (a, path) != ARCHIVE_OK)
    {
      arca_error_set (err, ARCA_ERR_INTERNAL, "write %s: %s", path, archive_error_string (a));
      archive_write_free (a);
      return -1;
    }
  _cleanup_free_ char *acc = xstrdup (rel);
  int64_t now = time_now_ns ();
  for (char *p = acc;; p++)
    {
      if (*p == '/' || *p == '\0')
        {
          char saved = *p;
          *p = '\0';
          struct archive_entry *en = archive_entry_new ();
          _cleanup_free_ char *name = xasprintf ("%s/", acc);
          archive_entry_set_pathname (en, name);
          archive_entry_set_filetype (en, AE_IFDIR);
          archive_entry_set_perm (en, 0755);
          archive_entry_set_mtime (en, now / ARCA_NSEC_PER_SEC, now % ARCA_NSEC_PER_SEC);
          archive_write_header (a, en);
          archive_entry_free (en);
          *p = saved;
          if (saved == '\0')
            break;
        }
    }
  archive_write_close (a);
  archive_write_free (a);
  return 0;
}

/* ContainerCreateWorkdir / SetupWorkingDirectory: the missing elements of
 * WorkingDir are made (0755, root); an existing non-directory is an error
 * ("mkdir <path>: not a directory"). */
static int
make_workdir (arca_engine_t *e, arca_container_t *c, const char *id, arca_error_t *err)
{
  _cleanup_json_ json_t *inspect = NULL;
  if (container_inspect_json (e, c, false, &inspect, err) < 0)
    return -1;
  const char *w = json_get_str (json_object_get (inspect, "Config"), "WorkingDir");
  if (w == NULL || *w == '\0')
    return 0;
  _cleanup_free_ char *abs = xasprintf ("/%s", w);
  _cleanup_free_ char *wd = path_clean (abs);
  /* the deepest element that is there, as a directory */
  _cleanup_free_ char *base = xstrdup (wd);
  const char *missing = NULL;
  while (strcmp (base, "/") != 0)
    {
      arca_path_stat_t st = { 0 };
      arca_error_t serr = { 0 };
      _cleanup_free_ char *follow = xasprintf ("%s/", base);
      int r = container_archive_stat (e, c, id, follow, &st, &serr);
      bool is_dir = r == 0 && (st.mode & (1u << 31));
      arca_path_stat_clear (&st);
      if (is_dir)
        break;
      arca_path_stat_t lst = { 0 };
      arca_error_t lerr = { 0 };
      if (r == 0 || serr.kind != ARCA_ERR_NOT_FOUND || container_archive_stat (e, c, id, base, &lst, &lerr) == 0)
        {
          arca_path_stat_clear (&lst);
          return arca_error_set (err, ARCA_ERR_INTERNAL, "Cannot mkdir: %s is not a directory", w);
        }
      char *slash = strrchr (base, '/');
      missing = wd + (slash - base) + 1;
      if (slash == base)
        base[1] = '\0';
      else
        *slash = '\0';
    }
  if (missing == NULL || *missing == '\0')
    return 0;
  _cleanup_free_ char *tmpdir = xasprintf ("%s/tmp", arca_engine_options (e)->data_root);
  _cleanup_free_ char *tar = xasprintf ("%s/workdir-%s.tar", tmpdir, id);
  if (fs_mkdir_p (tmpdir, 0700, err) < 0 || dirs_tar (tar, missing, err) < 0)
    return -1;
  int r = container_archive_extract (e, c, id, base, tar, false, false, err);
  unlink (tar);
  return r;
}

static int
be_create_workdir (void *ctx, const char *id, arca_error_t *err)
{
  arca_engine_t *e = ctx;
  arca_container_t *c;
  if (lookup (e, id, &c, err) < 0)
    return -1;
  int r = make_workdir (e, c, id, err);
  container_unref (c);
  return r;
}

/* ---- the engine API ----------------------------------------------------------------------- */

void
engine_build_options_clear (build_options_t *o)
{
  build_options_clear (o);
}

int
engine_build_prepare (arca_engine_t *e, const build_options_t *o, const char *tar_path, arca_engine_build_t **out,
                      arca_error_t *err)
{
  build_backend_t be = {
    .ctx = e,
    .create = be_create,
    .run = be_run,
    .remove = be_remove,
    .commit = be_commit,
    .create_workdir = be_create_workdir,
    .write_upper_layer = be_write_upper_layer,
  };
  _cleanup_free_ char *tmp = xasprintf ("%s/tmp", arca_engine_options (e)->data_root);
  build_t *b = NULL;
  if (build_prepare (arca_engine_images (e), &be, o, tar_path, tmp, &b, err) < 0)
    return -1;
  arca_engine_build_t *eb = xmalloc0 (sizeof *eb);
  eb->e = e;
  eb->b = b;
  *out = eb;
  return 0;
}

int
engine_build_run (arca_engine_build_t *b, build_emit_fn emit, void *ctx, int cancel_fd, char **image_id, int *code,
                  arca_error_t *err)
{
  return build_execute (b->b, emit, ctx, cancel_fd, image_id, code, err);
}

void
engine_build_flush_quiet (arca_engine_build_t *b, build_emit_fn emit, void *ctx)
{
  build_flush_quiet (b->b, emit, ctx);
}

void
engine_build_free (arca_engine_build_t *b)
{
  if (b == NULL)
    return;
  build_free (b->b);
  free (b);
}

int
engine_build_prune (arca_engine_t *e, json_t *filters, bool all, int64_t keep_storage, json_t **out,
                    arca_error_t *err)
{
  arca_build_prune_opts_t o = { .filters = filters, .all = all, .keep_storage = keep_storage };
  return image_build_cache_prune (arca_engine_images (e), &o, out, err);
}
