/* docker pull (moby distribution/pull_v2.go, distribution/xfer/download.go):
 * manifest (maybe through a list/index), config, then the layers not yet
 * here, three downloads at a time into a temp dir of the pull; once all are
 * verified the layers are unpacked (once per chain ID) and the image, its
 * tag and its RepoDigest are committed together.  A failure anywhere
 * removes the temp dir and whatever the pull had already put in the store. */
#include "image/registry.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/store_internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timeutil.h"

#define PULL_WORKERS 3

typedef struct
{
  char digest[DIGEST_BUF];
  char id[13]; /* short blob digest, the progress id */
  int64_t size;
  char *path;  /* blob file to unpack (temp download or the store's) */
  bool exists; /* layer already unpacked and its blob stored */
  bool quiet;  /* the whole image is here: no messages */
  int64_t last_emit_ns;
  int64_t last_emit_bytes;
} pull_layer_t;

struct image_pull
{
  arca_image_store_t *s;
  image_ref_t ref;
  char *name;            /* "domain/path" */
  char *tag_or_digest;   /* progress id of "Pulling from" */
  registry_client_t *c;
  char *tmp;             /* temp dir of this pull */
  char top_digest[DIGEST_BUF]; /* what the reference resolved to (list digest for a list) */
  char *index_raw;
  size_t index_len;
  char manifest_digest[DIGEST_BUF];
  char *manifest_raw;
  size_t manifest_len;
  const char *manifest_mt; /* MT_* constant */
  json_t *manifest;
  char config_digest[DIGEST_BUF];
  char *config_raw;
  size_t config_len;
  json_t *config;
  pull_layer_t *layers;
  size_t n_layers;

  /* run state */
  pthread_mutex_t lock; /* emit, next, failed */
  registry_emit_fn emit;
  void *ctx;
  size_t next;
  bool failed;
  bool gone; /* the client went away */
  arca_error_t err;
};

/* ---- progress messages ---------------------------------------------------------- */

/* go-units HumanSize: decimal, 3 significant digits ("1.05MB"). */
static void
human_size (double v, char *out, size_t len)
{
  static const char *units[] = { "B", "kB", "MB", "GB", "TB" };
  int u = 0;
  while (v >= 1000 && u < 4)
    v /= 1000, u++;
  snprintf (out, len, "%.4g%s", v, units[u]);
}

/* jsonmessage JSONProgress.String() for a non-terminal width. */
static char *
progress_bar (int64_t cur, int64_t total)
{
  char c[32], t[32];
  human_size ((double) cur, c, sizeof c);
  if (total <= 0)
    return xasprintf ("%8s", c);
  human_size ((double) total, t, sizeof t);
  int w = 50, fill = (int) (cur * w / total);
  if (fill > w)
    fill = w;
  char bar[64];
  memset (bar, '=', (size_t) fill);
  if (fill < w)
    {
      bar[fill] = '>';
      memset (bar + fill + 1, ' ', (size_t) (w - fill - 1));
    }
  bar[w] = '\0';
  return xasprintf ("[%s] %8s/%s", bar, c, t);
}

/* Emit with the lock held by the caller. */
static void
emit_locked (image_pull_t *p, json_t *msg)
{
  if (p->emit && !p->gone && p->emit (p->ctx, msg) < 0)
    p->gone = true;
  json_decref (msg);
}

static void
emit_status (image_pull_t *p, const char *status, const char *id)
{
  pthread_mutex_lock (&p->lock);
  emit_locked (p, id ? json_pack ("{s:s, s:{}, s:s}", "status", status, "progressDetail", "id", id)
                     : json_pack ("{s:s}", "status", status));
  pthread_mutex_unlock (&p->lock);
}

static void
emit_progress (image_pull_t *p, const char *status, const char *id, int64_t cur, int64_t total)
{
  _cleanup_free_ char *bar = progress_bar (cur, total);
  pthread_mutex_lock (&p->lock);
  emit_locked (p, json_pack ("{s:s, s:{s:I, s:I}, s:s, s:s}", "status", status, "progressDetail", "current",
                             (json_int_t) cur, "total", (json_int_t) total, "progress", bar, "id", id));
  pthread_mutex_unlock (&p->lock);
}

/* ---- prepare ---------------------------------------------------------------------- */

/* moby distribution/errors.go translatePullError + notFoundError. */
static int
translate_error (image_pull_t *p, arca_error_t *err)
{
  _cleanup_free_ char *cause = xstrdup (err->msg);
  _cleanup_free_ char *fname = image_ref_familiar_name (&p->ref);
  _cleanup_free_ char *fstr = image_ref_familiar_string (&p->ref);
  switch (err->errno_value)
    {
    case 1001:
      return arca_error_set (err, ARCA_ERR_NOT_FOUND, "manifest for %s not found: %s", fstr, cause);
    case 1002:
      return arca_error_set (err, ARCA_ERR_NOT_FOUND, "repository %s not found: %s", fname, cause);
    case 1003:
      return arca_error_set (err, ARCA_ERR_NOT_FOUND,
                             "pull access denied for %s, repository does not exist or may require 'docker login': %s",
                             fname, cause);
    default:
      return -1;
    }
}

static int
fetch_manifest (image_pull_t *p, const char *reference, char **raw, size_t *len, char **mt, char digest[DIGEST_BUF],
                arca_error_t *err)
{
  if (registry_get_manifest (p->c, reference, raw, len, mt, digest, err) < 0)
    {
      translate_error (p, err);
      return -1;
    }
  return 0;
}

int
image_pull_prepare (arca_image_store_t *s, const char *ref, const char *platform, const registry_auth_t *auth,
                    image_pull_t **out, arca_error_t *err)
{
  registry_platform_t want;
  if (registry_platform_parse (platform, &want, err) < 0)
    return -1;
  _cleanup_free_ char *mt = NULL, *cpath = NULL;
  _cleanup_strv_ char **diff_ids = NULL;
  image_pull_t *p = xmalloc0 (sizeof *p);
  pthread_mutex_init (&p->lock, NULL);
  p->s = s;
  if (image_ref_parse (ref, &p->ref, err) < 0)
    goto fail;
  image_ref_default_tag (&p->ref);
  p->name = image_ref_name (&p->ref);
  p->tag_or_digest = xstrdup (p->ref.digest ? p->ref.digest : p->ref.tag);
  if (registry_client_new (p->ref.domain, p->ref.path, auth, false, &p->c, err) < 0)
    goto fail;

  if (fetch_manifest (p, p->tag_or_digest, &p->manifest_raw, &p->manifest_len, &mt, p->top_digest, err) < 0)
    goto fail;
  snprintf (p->manifest_digest, sizeof p->manifest_digest, "%s", p->top_digest);
  p->manifest = json_loadb (p->manifest_raw, p->manifest_len, 0, NULL);
  registry_manifest_t info;
  if (registry_manifest_parse (p->manifest, mt, p->name, &want, &info, err) < 0)
    goto fail;
  if (info.is_index)
    {
      p->index_raw = p->manifest_raw;
      p->index_len = p->manifest_len;
      p->manifest_raw = NULL;
      json_decref (p->manifest);
      p->manifest = NULL;
      free (mt);
      mt = NULL;
      if (fetch_manifest (p, info.child, &p->manifest_raw, &p->manifest_len, &mt, p->manifest_digest, err) < 0)
        goto fail;
      p->manifest = json_loadb (p->manifest_raw, p->manifest_len, 0, NULL);
      if (p->manifest == NULL || json_object_get (p->manifest, "manifests"))
        {
          arca_error_set (err, ARCA_ERR_INVALID, "invalid manifest for %s", info.child);
          goto fail;
        }
      if (registry_manifest_parse (p->manifest, mt, p->name, &want, &info, err) < 0)
        goto fail;
    }
  p->manifest_mt = info.media_type;

  /* Config: small, fetched now so platform and diff IDs are known. */
  const char *cd = info.config_digest;
  snprintf (p->config_digest, sizeof p->config_digest, "%s", cd);
  if (store_mkdtemp (s, &p->tmp, err) < 0)
    goto fail;
  cpath = xasprintf ("%s/config.json", p->tmp);
  if (registry_get_blob (p->c, cd, info.config_size, cpath, NULL, NULL, err) < 0
      || fs_read_file (cpath, &p->config_raw, &p->config_len, err) < 0)
    {
      translate_error (p, err);
      goto fail;
    }
  p->config = json_loadb (p->config_raw, p->config_len, 0, NULL);
  if (p->config == NULL)
    {
      arca_error_set (err, ARCA_ERR_INVALID, "invalid image config %s", cd);
      goto fail;
    }
  if (platform && *platform)
    {
      json_t *pl = json_pack ("{s:s?, s:s?, s:s?}", "os", json_get_str (p->config, "os"), "architecture",
                              json_get_str (p->config, "architecture"), "variant", json_get_str (p->config, "variant"));
      bool ok = registry_platform_match (pl, &want);
      json_decref (pl);
      if (!ok)
        {
          _cleanup_free_ char *f = image_ref_familiar_string (&p->ref);
          arca_error_set (err, ARCA_ERR_NOT_FOUND,
                          "image with reference %s was found but does not match the specified platform: wanted %s/%s, "
                          "actual: %s/%s",
                          f, want.os, want.arch, json_get_str (p->config, "os") ?: "",
                          json_get_str (p->config, "architecture") ?: "");
          goto fail;
        }
    }

  json_t *layers = json_object_get (p->manifest, "layers");
  if (registry_manifest_layers (p->manifest, p->config, &p->n_layers, err) < 0)
    goto fail;
  diff_ids = json_get_strv (json_object_get (p->config, "rootfs"), "diff_ids");
  p->layers = xmalloc0 ((p->n_layers + 1) * sizeof *p->layers);
  char chain[DIGEST_BUF] = "";
  for (size_t i = 0; i < p->n_layers; i++)
    {
      json_t *ld = json_array_get (layers, i);
      const char *dg = json_get_str (ld, "digest"); /* checked by registry_manifest_layers */
      pull_layer_t *l = &p->layers[i];
      snprintf (l->digest, sizeof l->digest, "%s", dg);
      snprintf (l->id, sizeof l->id, "%.12s", digest_hex (dg));
      l->size = json_get_int (ld, "size", -1);
      char next[DIGEST_BUF];
      digest_chain (i ? chain : NULL, diff_ids[i], next);
      memcpy (chain, next, sizeof chain);
      _cleanup_free_ char *dir = store_layer_dir (s, chain);
      _cleanup_free_ char *blob = store_blob_path (s, dg);
      l->exists = access (dir, F_OK) == 0 && access (blob, F_OK) == 0;
      l->path = l->exists ? xstrdup (blob) : xasprintf ("%s/%s", p->tmp, digest_hex (dg));
    }
  *out = p;
  return 0;
fail:
  image_pull_free (p);
  return -1;
}

void
image_pull_free (image_pull_t *p)
{
  if (p == NULL)
    return;
  if (p->tmp)
    fs_remove_all (p->tmp, NULL);
  free (p->tmp);
  image_ref_clear (&p->ref);
  free (p->name);
  free (p->tag_or_digest);
  registry_client_free (p->c);
  free (p->index_raw);
  free (p->manifest_raw);
  json_decref (p->manifest);
  free (p->config_raw);
  json_decref (p->config);
  for (size_t i = 0; i < p->n_layers; i++)
    free (p->layers[i].path);
  free (p->layers);
  pthread_mutex_destroy (&p->lock);
  free (p);
}

/* ---- downloads -------------------------------------------------------------------- */

typedef struct
{
  image_pull_t *p;
  pull_layer_t *l;
} dl_ctx_t;

static int
on_progress (void *ctx, int64_t cur, int64_t total)
{
  dl_ctx_t *d = ctx;
  image_pull_t *p = d->p;
  pthread_mutex_lock (&p->lock);
  bool stop = p->failed || p->gone;
  pthread_mutex_unlock (&p->lock);
  if (stop)
    return 1;
  int64_t now = time_now_ns ();
  /* About ten updates a second per layer, as the reference throttles. */
  if (now - d->l->last_emit_ns >= 100000000 || cur == total)
    {
      d->l->last_emit_ns = now;
      emit_progress (p, "Downloading", d->l->id, cur, total);
    }
  return 0;
}

static void *
download_worker (void *arg)
{
  image_pull_t *p = arg;
  for (;;)
    {
      pthread_mutex_lock (&p->lock);
      while (p->next < p->n_layers && p->layers[p->next].exists)
        p->next++;
      if (p->failed || p->gone || p->next >= p->n_layers)
        {
          pthread_mutex_unlock (&p->lock);
          return NULL;
        }
      pull_layer_t *l = &p->layers[p->next++];
      pthread_mutex_unlock (&p->lock);

      dl_ctx_t d = { p, l };
      arca_error_t e = { 0 };
      emit_progress (p, "Downloading", l->id, 0, l->size);
      if (registry_get_blob (p->c, l->digest, l->size, l->path, on_progress, &d, &e) < 0)
        {
          pthread_mutex_lock (&p->lock);
          if (!p->failed)
            {
              p->failed = true;
              p->err = e;
            }
          pthread_mutex_unlock (&p->lock);
          return NULL;
        }
      emit_status (p, "Verifying Checksum", l->id);
      emit_status (p, "Download complete", l->id);
    }
}

static int
add_digest_ref (arca_image_store_t *s, const char *key, const char *id, arca_error_t *err)
{
  return arca_store_ref_put_digest (s->db, key, id, time_now_ns (), err);
}

int
image_pull_run (image_pull_t *p, registry_emit_fn emit, void *ctx, arca_error_t *err)
{
  arca_image_store_t *s = p->s;
  p->emit = emit;
  p->ctx = ctx;
  _cleanup_free_ char *pulling = xasprintf ("Pulling from %s", p->ref.path);
  emit_status (p, pulling, p->tag_or_digest);
  /* moby pullSchema2: an image whose config is already here is not
   * pulled again, and no layer is reported. */
  {
    _cleanup_json_ json_t *have = NULL;
    if (store_image_data (s, p->config_digest, &have, NULL) == 0 && have)
      for (size_t i = 0; i < p->n_layers; i++)
        p->layers[i].quiet = true;
  }
  size_t to_download = 0;
  for (size_t i = 0; i < p->n_layers; i++)
    {
      if (p->layers[i].quiet && p->layers[i].exists)
        continue;
      emit_status (p, p->layers[i].exists ? "Already exists" : "Pulling fs layer", p->layers[i].id);
      to_download += !p->layers[i].exists;
    }
  size_t k = 0;
  for (size_t i = 0; i < p->n_layers; i++)
    if (!p->layers[i].exists && k++ >= PULL_WORKERS)
      emit_status (p, "Waiting", p->layers[i].id);

  pthread_t th[PULL_WORKERS];
  size_t nth = 0;
  for (; nth < PULL_WORKERS && nth < to_download; nth++)
    if (pthread_create (&th[nth], NULL, download_worker, p) != 0)
      break;
  if (nth == 0 && to_download > 0)
    download_worker (p);
  for (size_t i = 0; i < nth; i++)
    pthread_join (th[i], NULL);
  if (p->gone)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "context canceled");
  if (p->failed)
    {
      *err = p->err;
      translate_error (p, err);
      return -1;
    }

  /* Unpack and commit under the store's writer lock. */
  _cleanup_free_ char *tag_key = NULL;
  if (p->ref.tag && p->ref.digest == NULL)
    tag_key = image_ref_store_key (&p->ref);
  /* A pull by digest is known under the digest asked for, whatever its
   * algorithm (moby: the reference's own digest). */
  const char *repo_digest = p->ref.digest ? p->ref.digest : p->top_digest;
  _cleanup_free_ char *digest_key = xasprintf ("%s@%s", p->name, repo_digest);
  store_pending_t pend = { 0 };
  store_undo_t undo = { 0 };
  pend.blobs = xmalloc0 (sizeof (char *));
  pend.tags = xmalloc0 (sizeof (char *));
  pend.layers = xmalloc0 ((p->n_layers + 1) * sizeof *pend.layers);
  pend.n_layers = p->n_layers;
  bool up_to_date = false;
  int ret = -1;
  _cleanup_strv_ char **diff_ids = json_get_strv (json_object_get (p->config, "rootfs"), "diff_ids");
  pthread_mutex_lock (&s->lock);
  for (size_t i = 0; i < p->n_layers; i++)
    {
      pull_layer_t *l = &p->layers[i];
      if (!l->exists)
        emit_progress (p, "Extracting", l->id, l->size, l->size);
      if (store_layer_ensure (s, l->path, i ? pend.layers[i - 1].chain_id : NULL, diff_ids[i], (int) i, &pend.layers[i],
                              &undo, err)
          < 0)
        goto out;
      if (!l->exists && store_blob_put_file (s, l->path, l->digest, &undo, err) < 0)
        goto out;
      pend.blobs = strv_append (pend.blobs, l->digest);
      if (!l->exists)
        emit_status (p, "Pull complete", l->id);
      if (p->gone)
        {
          arca_error_set (err, ARCA_ERR_INTERNAL, "context canceled");
          goto out;
        }
    }
  char d[DIGEST_BUF];
  if (store_blob_put_data (s, p->config_raw, p->config_len, d, &undo, err) < 0
      || store_blob_put_data (s, p->manifest_raw, p->manifest_len, d, &undo, err) < 0)
    goto out;
  if (p->index_raw && store_blob_put_data (s, p->index_raw, p->index_len, d, &undo, err) < 0)
    goto out;
  snprintf (pend.id, sizeof pend.id, "%s", p->config_digest);
  snprintf (pend.manifest, sizeof pend.manifest, "%s", p->manifest_digest);
  pend.manifest_media_type = p->manifest_mt;
  pend.manifest_size = (int64_t) p->manifest_len;
  pend.blobs = strv_append (pend.blobs, p->config_digest);
  pend.blobs = strv_append (pend.blobs, p->manifest_digest);
  if (p->index_raw)
    pend.blobs = strv_append (pend.blobs, p->top_digest);
  if (tag_key)
    pend.tags = strv_append (pend.tags, tag_key);

  /* Up to date: the reference already named this very image. */
  {
    _cleanup_free_ char *prev = NULL;
    if (arca_store_ref_image (s->db, tag_key ? tag_key : digest_key, &prev, err) < 0)
      goto out;
    up_to_date = prev && strcmp (prev, pend.id) == 0;
  }
  if (store_commit (s, &pend, 1, err) < 0 || add_digest_ref (s, digest_key, pend.id, err) < 0)
    goto out;
  ret = 0;
out:
  if (ret < 0)
    store_undo_rollback (&undo);
  else
    store_undo_forget (&undo);
  pthread_mutex_unlock (&s->lock);
  store_pending_clear (&pend);
  if (ret < 0)
    return -1;
  if (ret == 0)
    {
      arca_error_t ierr = { 0 };
      if (store_index_rewrite (s, &ierr) < 0)
        log_warn ("image store: rewrite index.json: %s", ierr.msg);
    }
  _cleanup_free_ char *dline = xasprintf ("Digest: %s", repo_digest);
  emit_status (p, dline, NULL);
  _cleanup_free_ char *f = image_ref_familiar_string (&p->ref);
  _cleanup_free_ char *sline
      = xasprintf ("Status: %s for %s", up_to_date ? "Image is up to date" : "Downloaded newer image", f);
  emit_status (p, sline, NULL);
  /* events (moby distribution.Pull): the reference as ID, the repository
   * as name, the labels of what it names now */
  _cleanup_free_ char *fname = image_ref_familiar_name (&p->ref);
  if (s->event)
    {
      arca_image_t *img = NULL;
      arca_error_t ignored;
      json_t *labels = NULL;
      if (image_resolve (s, p->config_digest, &img, &ignored) == 0)
        labels = json_object_get (json_object_get (img->config, "config"), "Labels");
      store_event_labels (s, "pull", f, fname, labels);
      image_free (img);
    }
  return 0;
}
