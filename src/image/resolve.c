/* Looking images up and describing them: resolve, inspect, list, tag. */
#include "image/store_internal.h"

#include <fnmatch.h>
#include <string.h>
#include <sys/utsname.h>

#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"
#include "util/timeutil.h"

/* ---- references ------------------------------------------------------------ */

int
image_ref_normalize (const char *ref, char **canonical, arca_error_t *err)
{
  image_ref_t r;
  if (image_ref_parse (ref, &r, err) < 0)
    return -1;
  image_ref_default_tag (&r);
  *canonical = image_ref_string (&r);
  image_ref_clear (&r);
  return 0;
}

char *
image_ref_familiar (const char *canonical)
{
  image_ref_t r;
  if (canonical == NULL)
    return NULL;
  if (image_ref_parse_canonical (canonical, &r, NULL) < 0 && image_ref_parse (canonical, &r, NULL) < 0)
    return xstrdup (canonical);
  char *f = image_ref_familiar_string (&r);
  image_ref_clear (&r);
  return f;
}

int
store_not_found (const char *ref, arca_error_t *err)
{
  if (image_ref_is_full_id_hex (ref))
    return arca_error_set (err, ARCA_ERR_NOT_FOUND, "No such image: sha256:%s", ref);
  if (digest_valid (ref))
    return arca_error_set (err, ARCA_ERR_NOT_FOUND, "No such image: %s", ref);
  image_ref_t r;
  if (image_ref_parse (ref, &r, NULL) < 0)
    return arca_error_set (err, ARCA_ERR_NOT_FOUND, "No such image: %s", ref);
  image_ref_default_tag (&r);
  _cleanup_free_ char *f = image_ref_familiar_string (&r);
  image_ref_clear (&r);
  return arca_error_set (err, ARCA_ERR_NOT_FOUND, "No such image: %s", f);
}

const char *
store_go_arch (const char **variant)
{
  static const struct
  {
    const char *machine, *arch, *variant;
  } map[] = {
    { "x86_64", "amd64", NULL },   { "aarch64", "arm64", NULL },   { "arm64", "arm64", NULL },
    { "armv7l", "arm", "v7" },     { "armv6l", "arm", "v6" },      { "i686", "386", NULL },
    { "i386", "386", NULL },       { "ppc64le", "ppc64le", NULL }, { "s390x", "s390x", NULL },
    { "riscv64", "riscv64", NULL }, { "mips64", "mips64", NULL },  { "loongarch64", "loong64", NULL },
  };
  static __thread struct utsname u;
  if (variant)
    *variant = NULL;
  if (uname (&u) < 0)
    return "amd64";
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp (u.machine, map[i].machine) == 0)
      {
        if (variant)
          *variant = map[i].variant;
        return map[i].arch;
      }
  return u.machine;
}

/* ---- loading an image record --------------------------------------------------- */

int
store_image_load (arca_image_store_t *s, const char *id, arca_image_t **out, arca_error_t *err)
{
  _cleanup_json_ json_t *data = NULL;
  if (store_image_data (s, id, &data, err) < 0)
    return -1;
  if (data == NULL)
    return arca_error_set (err, ARCA_ERR_NOT_FOUND, "No such image: %s", id);
  json_t *config = NULL;
  if (store_blob_read_json (s, id, &config, err) < 0)
    return -1;
  arca_image_t *img = xmalloc0 (sizeof *img);
  img->id = xstrdup (id);
  img->config = config;
  img->repo_tags = xmalloc0 (sizeof (char *));
  img->repo_digests = xmalloc0 (sizeof (char *));
  img->diff_ids = json_get_strv (json_object_get (config, "rootfs"), "diff_ids");
  if (img->diff_ids == NULL)
    img->diff_ids = xmalloc0 (sizeof (char *));
  img->chain_ids = json_get_strv (data, "ChainIDs");
  if (img->chain_ids == NULL || strv_len (img->chain_ids) != strv_len (img->diff_ids))
    {
      strv_free (img->chain_ids);
      arca_strv_builder_t chains = { 0 };
      char chain[DIGEST_BUF] = "";
      for (size_t i = 0; img->diff_ids[i]; i++)
        {
          digest_chain (i ? chain : NULL, img->diff_ids[i], chain);
          strv_builder_add (&chains, chain);
        }
      img->chain_ids = strv_builder_finish (&chains);
    }
  const char *created = json_get_str (config, "created");
  if (created == NULL || time_parse_rfc3339 (created, &img->created_ns) < 0)
    img->created_ns = 0;
  img->size = json_get_int (data, "Size", 0);
  const char *parent = json_get_str (data, "Parent");
  img->parent = parent && *parent ? xstrdup (parent) : NULL;

  _cleanup_store_refs_ arca_store_refs_t rows = { 0 };
  if (arca_store_image_refs (s->db, id, &rows, err) < 0)
    {
      image_free (img);
      return -1;
    }
  arca_strv_builder_t digests = { 0 }, tags = { 0 };
  for (size_t i = 0; i < rows.n; i++)
    {
      char *f = image_ref_familiar (rows.v[i].ref);
      strv_builder_take (rows.v[i].kind == ARCA_STORE_REF_DIGEST ? &digests : &tags, f);
    }
  strv_free (img->repo_digests);
  strv_free (img->repo_tags);
  img->repo_digests = strv_builder_finish (&digests);
  img->repo_tags = strv_builder_finish (&tags);
  *out = img;
  return 0;
}

void
image_free (arca_image_t *img)
{
  if (img == NULL)
    return;
  free (img->id);
  json_decref (img->config);
  strv_free (img->repo_tags);
  strv_free (img->repo_digests);
  strv_free (img->diff_ids);
  strv_free (img->chain_ids);
  free (img->parent);
  free (img);
}

/* ---- resolve ------------------------------------------------------------------- */

/* moby daemon/images/image.go GetImage: an ID or digest, then the reference
 * store, then a unique ID prefix; an ambiguous prefix is "not found". */
int
image_resolve (arca_image_store_t *s, const char *ref, arca_image_t **out, arca_error_t *err)
{
  if (ref == NULL || *ref == '\0')
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid reference format");
  _cleanup_free_ char *id = NULL;
  if (image_ref_is_full_id_hex (ref))
    id = xasprintf ("sha256:%s", ref);
  else if (digest_valid (ref))
    id = xstrdup (ref);
  if (id)
    {
      arca_error_t e2 = { 0 };
      if (store_image_load (s, id, out, &e2) == 0)
        return 0;
      if (e2.kind != ARCA_ERR_NOT_FOUND)
        {
          *err = e2;
          return -1;
        }
      return store_not_found (ref, err);
    }

  image_ref_t r;
  if (image_ref_parse (ref, &r, err) < 0)
    return -1;
  _cleanup_free_ char *key = image_ref_store_key (&r);
  image_ref_clear (&r);
  _cleanup_free_ char *found = NULL;
  if (arca_store_ref_image (s->db, key, &found, err) < 0)
    return -1;
  if (found && store_image_load (s, found, out, NULL) == 0)
    return 0;

  const char *term = str_has_prefix (ref, "sha256:") ? ref + 7 : ref;
  size_t tlen = strlen (term);
  if (tlen > 0 && tlen <= 64 && str_is_hex (term, tlen))
    {
      _cleanup_strv_ char **ids = NULL;
      _cleanup_free_ char *prefix = xasprintf ("sha256:%s", term);
      if (arca_store_image_ids_by_prefix (s->db, prefix, &ids, err) < 0)
        return -1;
      if (strv_len (ids) == 1 && store_image_load (s, ids[0], out, NULL) == 0)
        return 0;
    }
  return store_not_found (ref, err);
}

int
image_layer_dirs (arca_image_store_t *s, const arca_image_t *img, char ***dirs, arca_error_t *err)
{
  size_t n = strv_len (img->chain_ids);
  char **v = xmalloc0 ((n + 1) * sizeof (char *));
  for (size_t i = 0; i < n; i++)
    v[i] = store_layer_dir (s, img->chain_ids[n - 1 - i]);
  *dirs = v;
  return 0;
}

int
image_count (arca_image_store_t *s)
{
  int64_t n;
  if (arca_store_image_count (s->db, &n, NULL) < 0)
    return 0;
  return (int) n;
}

/* ---- inspect ------------------------------------------------------------------- */

static json_t *
graph_driver (arca_image_store_t *s, const arca_image_t *img)
{
  size_t n = strv_len (img->chain_ids);
  if (n == 0)
    return json_pack ("{s:s, s:n}", "Name", "overlay2", "Data");
  const char *top = img->chain_ids[n - 1];
  _cleanup_free_ char *upper = store_layer_dir (s, top);
  _cleanup_free_ char *merged = xasprintf ("%s/%s/merged", s->layers_dir, digest_hex (top));
  _cleanup_free_ char *work = xasprintf ("%s/%s/work", s->layers_dir, digest_hex (top));
  json_t *data = json_pack ("{s:s, s:s, s:s}", "MergedDir", merged, "UpperDir", upper, "WorkDir", work);
  if (n > 1)
    {
      arca_buf_t b = { 0 };
      for (size_t i = n - 1; i-- > 0;)
        {
          _cleanup_free_ char *d = store_layer_dir (s, img->chain_ids[i]);
          buf_printf (&b, "%s%s", b.len ? ":" : "", d);
        }
      json_object_set_new (data, "LowerDir", json_string (b.data));
      buf_free (&b);
    }
  return json_pack ("{s:s, s:o}", "Name", "overlay2", "Data", data);
}

static const char *
str_or_empty (json_t *obj, const char *key)
{
  const char *v = json_get_str (obj, key);
  return v ? v : "";
}

int
image_inspect_json (arca_image_store_t *s, const char *ref, json_t **out, arca_error_t *err)
{
  arca_image_t *img;
  if (image_resolve (s, ref, &img, err) < 0)
    return -1;
  _cleanup_json_ json_t *data = NULL;
  if (store_image_data (s, img->id, &data, err) < 0)
    {
      image_free (img);
      return -1;
    }
  json_t *c = img->config;
  char ltt[64];
  time_format_rfc3339nano (json_get_int (data, "LastTagTime", 0), ltt, sizeof ltt);
  json_t *config = json_object_get (c, "config");
  json_t *res = json_object ();
  json_object_set_new (res, "Id", json_string (img->id));
  json_object_set_new (res, "RepoTags", json_from_strv (img->repo_tags));
  json_object_set_new (res, "RepoDigests", json_from_strv (img->repo_digests));
  json_object_set_new (res, "Parent", json_string (img->parent ? img->parent : ""));
  json_object_set_new (res, "Comment", json_string (str_or_empty (c, "comment")));
  if (img->created_ns)
    {
      /* Go's RFC3339Nano of the config time; configs carry UTC ("Z"). */
      char created[64];
      time_format_rfc3339nano (img->created_ns, created, sizeof created);
      json_object_set_new (res, "Created", json_string (created));
    }
  json_object_set_new (res, "DockerVersion", json_string (str_or_empty (c, "docker_version")));
  json_object_set_new (res, "Author", json_string (str_or_empty (c, "author")));
  json_object_set_new (res, "Config", json_is_object (config) ? json_incref (config) : json_object ());
  json_object_set_new (res, "Architecture", json_string (str_or_empty (c, "architecture")));
  if (json_get_str (c, "variant"))
    json_object_set_new (res, "Variant", json_string (json_get_str (c, "variant")));
  json_object_set_new (res, "Os", json_string (str_or_empty (c, "os")));
  if (json_get_str (c, "os.version"))
    json_object_set_new (res, "OsVersion", json_string (json_get_str (c, "os.version")));
  json_object_set_new (res, "Size", json_integer (img->size));
  json_object_set_new (res, "GraphDriver", graph_driver (s, img));
  json_object_set_new (res, "RootFS", json_pack ("{s:s, s:o}", "Type", "layers", "Layers", json_from_strv (img->diff_ids)));
  json_object_set_new (res, "Metadata", json_pack ("{s:s}", "LastTagTime", ltt));
  image_free (img);
  *out = res;
  return 0;
}

/* ---- tag ------------------------------------------------------------------------- */

int
image_tag (arca_image_store_t *s, const char *src, const char *repo, const char *tag, arca_error_t *err)
{
  /* moby httputils.RepoTagReference + postImagesTag */
  if (repo == NULL || *repo == '\0')
    return arca_error_set (err, ARCA_ERR_INVALID, "repository name must have at least one component");
  _cleanup_free_ char *key = NULL;
  if (image_ref_repo_tag_key (repo, tag, "refusing to create a tag with a digest reference", &key, err) < 0)
    return -1;

  pthread_mutex_lock (&s->lock);
  arca_image_t *img;
  _cleanup_free_ char *id = NULL;
  int ret = image_resolve (s, src, &img, err);
  if (ret == 0)
    {
      _cleanup_free_ char *prev = NULL;
      ret = store_set_tag (s, key, img->id, &prev, err);
      id = xstrdup (img->id);
      image_free (img);
    }
  pthread_mutex_unlock (&s->lock);
  if (ret == 0)
    {
      _cleanup_free_ char *familiar = image_ref_familiar (key);
      store_event (s, "tag", id, familiar); /* events */
    }
  return ret;
}

/* ---- list ------------------------------------------------------------------------- */

/* Values of one filter key, accepting {"k":{"v":true}} and legacy {"k":["v"]}. */
static char **
filter_values (json_t *filters, const char *key)
{
  json_t *f = json_object_get (filters, key);
  arca_strv_builder_t v = { 0 };
  if (json_is_object (f))
    {
      const char *k;
      json_t *val;
      json_object_foreach (f, k, val)
        if (json_is_true (val))
          strv_builder_add (&v, k);
    }
  else if (json_is_array (f))
    {
      size_t i;
      json_t *val;
      json_array_foreach (f, i, val)
        if (json_is_string (val))
          strv_builder_add (&v, json_string_value (val));
    }
  return strv_builder_finish (&v);
}

/* MatchKVList: every "k" / "k=v" must be in labels. */
static bool
labels_match (json_t *labels, char **want)
{
  for (size_t i = 0; want[i]; i++)
    {
      const char *eq = strchr (want[i], '=');
      _cleanup_free_ char *k = eq ? strndup (want[i], (size_t) (eq - want[i])) : xstrdup (want[i]);
      const char *have = json_get_str (labels, k);
      if (have == NULL || (eq && strcmp (have, eq + 1) != 0))
        return false;
    }
  return true;
}

static bool
reference_match (char **patterns, const char *canonical)
{
  image_ref_t r;
  if (image_ref_parse_canonical (canonical, &r, NULL) < 0)
    return false;
  _cleanup_free_ char *fs = image_ref_familiar_string (&r);
  _cleanup_free_ char *fn = image_ref_familiar_name (&r);
  image_ref_clear (&r);
  for (size_t i = 0; patterns[i]; i++)
    if (fnmatch (patterns[i], fs, FNM_PATHNAME) == 0 || fnmatch (patterns[i], fn, FNM_PATHNAME) == 0)
      return true;
  return false;
}

static int
filter_time (arca_image_store_t *s, json_t *filters, const char *key, int64_t *out, arca_error_t *err)
{
  _cleanup_strv_ char **v = filter_values (filters, key);
  *out = 0;
  if (v[0] == NULL)
    return 0;
  arca_image_t *img;
  if (image_resolve (s, v[0], &img, err) < 0)
    return -1;
  *out = img->created_ns;
  image_free (img);
  return 1;
}

static int
cmp_created_desc (const void *a, const void *b)
{
  json_int_t x = json_integer_value (json_object_get (*(json_t *const *) a, "Created"));
  json_int_t y = json_integer_value (json_object_get (*(json_t *const *) b, "Created"));
  return x < y ? 1 : x > y ? -1 : 0;
}

int
image_list_json (arca_image_store_t *s, json_t *filters, bool all, json_t **out, arca_error_t *err)
{
  static const char *const accepted[] = { "dangling", "label", "label!", "before", "since", "reference", "until", NULL };
  const char *key;
  json_t *val;
  json_object_foreach (filters, key, val)
    {
      bool ok = false;
      for (size_t i = 0; accepted[i]; i++)
        ok |= strcmp (key, accepted[i]) == 0;
      if (!ok)
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid filter '%s'", key);
    }

  bool has_dangling = json_object_get (filters, "dangling") != NULL;
  bool dangling_only = false;
  _cleanup_strv_ char **dangling = filter_values (filters, "dangling");
  for (size_t i = 0; dangling[i]; i++)
    {
      if (strcasecmp (dangling[i], "true") == 0 || strcmp (dangling[i], "1") == 0)
        dangling_only = true;
      else if (strcasecmp (dangling[i], "false") != 0 && strcmp (dangling[i], "0") != 0)
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid filter 'dangling=%s'", dangling[i]);
    }
  _cleanup_strv_ char **labels = filter_values (filters, "label");
  _cleanup_strv_ char **nlabels = filter_values (filters, "label!");
  _cleanup_strv_ char **refs = filter_values (filters, "reference");
  _cleanup_strv_ char **until = filter_values (filters, "until");
  int64_t before = 0, since = 0, until_ns = 0;
  int has_before, has_since;
  if ((has_before = filter_time (s, filters, "before", &before, err)) < 0
      || (has_since = filter_time (s, filters, "since", &since, err)) < 0)
    return -1;
  if (until[0] && time_parse_timestamp (until[0], &until_ns) < 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid filter 'until=%s'", until[0]);

  _cleanup_strv_ char **ids = NULL;
  if (arca_store_image_ids (s->db, &ids, err) < 0)
    return -1;
  /* How many child images each image has (moby imageStore.Children). */
  _cleanup_json_ json_t *children = NULL;
  if (store_children_counts (s, &children, err) < 0)
    return -1;
  json_t *result = json_array ();
  for (size_t i = 0; ids[i]; i++)
    {
      const char *id = ids[i];
      arca_image_t *img;
      if (store_image_load (s, id, &img, NULL) < 0)
        continue; /* removed meanwhile */
      json_t *cfg_labels = json_object_get (json_object_get (img->config, "config"), "Labels");
      bool has_children = json_integer_value (json_object_get (children, id)) > 0;
      bool keep = true;
      /* dangling=true lists the heads only (images without children) */
      if (dangling_only && has_children)
        keep = false;
      if (has_before > 0 && !(img->created_ns < before))
        keep = false;
      if (has_since > 0 && !(img->created_ns > since))
        keep = false;
      if (until[0] && !(img->created_ns < until_ns))
        keep = false;
      if (labels[0] && !labels_match (cfg_labels, labels))
        keep = false;
      if (nlabels[0] && labels_match (cfg_labels, nlabels))
        keep = false;

      json_t *tags = json_array (), *digests = json_array ();
      if (keep)
        {
          _cleanup_store_refs_ arca_store_refs_t rrows = { 0 };
          arca_store_image_refs (s->db, id, &rrows, NULL);
          for (size_t j = 0; j < rrows.n; j++)
            {
              const char *canonical = rrows.v[j].ref;
              if (refs[0] && !reference_match (refs, canonical))
                continue;
              _cleanup_free_ char *f = image_ref_familiar (canonical);
              json_array_append_new (rrows.v[j].kind == ARCA_STORE_REF_DIGEST ? digests : tags, json_string (f));
            }
          bool untagged = json_array_size (tags) == 0 && json_array_size (digests) == 0;
          /* an untagged image with children is an intermediate image:
           * listed with all=true only */
          if (untagged && !all && has_children)
            keep = false;
          else if (untagged && ((has_dangling && !dangling_only) || refs[0]))
            keep = false;
          else if (!untagged && dangling_only && json_array_size (tags) > 0)
            keep = false;
        }
      if (keep)
        {
          json_t *sum = json_object ();
          json_object_set_new (sum, "Containers", json_integer (-1));
          json_object_set_new (sum, "Created", json_integer (img->created_ns / ARCA_NSEC_PER_SEC));
          json_object_set_new (sum, "Id", json_string (img->id));
          json_object_set_new (sum, "Labels", json_is_object (cfg_labels) ? json_incref (cfg_labels) : json_null ());
          json_object_set_new (sum, "ParentId", json_string (img->parent ? img->parent : ""));
          json_object_set_new (sum, "RepoDigests", json_incref (digests));
          json_object_set_new (sum, "RepoTags", json_incref (tags));
          json_object_set_new (sum, "SharedSize", json_integer (-1));
          json_object_set_new (sum, "Size", json_integer (img->size));
          json_array_append_new (result, sum);
        }
      json_decref (tags);
      json_decref (digests);
      image_free (img);
    }

  size_t n = json_array_size (result);
  json_t **items = xmalloc0 ((n + 1) * sizeof (json_t *));
  for (size_t k = 0; k < n; k++)
    items[k] = json_incref (json_array_get (result, k));
  qsort (items, n, sizeof (json_t *), cmp_created_desc);
  json_array_clear (result);
  for (size_t k = 0; k < n; k++)
    json_array_append_new (result, items[k]);
  free (items);
  *out = result;
  return 0;
}
