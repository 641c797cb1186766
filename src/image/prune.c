/* docker image prune (moby daemon/images/image_prune.go ImagesPrune) and
 * the image half of docker system df. */
#include "image/store_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/cleanup.h"
#include "util/filters.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timeutil.h"


static bool
labels_ok (json_t *filters, json_t *labels)
{
  if (!filters_match_labels (filters, labels))
    return false;
  json_t *not = json_object_get (filters, "label!");
  if (not == NULL)
    return true;
  _cleanup_json_ json_t *nf = json_pack ("{s:O}", "label", not);
  return !filters_match_labels (nf, labels);
}

int
image_prune (arca_image_store_t *s, json_t *filters, json_t **out, arca_error_t *err)
{
  static const char *const allowed[] = { "dangling", "label", "label!", "until", NULL };
  static int running;
  if (filters_validate (filters, allowed, err) < 0)
    return -1;
  bool dangling_only = true;
  _cleanup_strv_ char **dv = filters_values (filters, "dangling");
  for (size_t i = 0; dv && dv[i]; i++)
    {
      if (strcasecmp (dv[i], "true") == 0 || strcmp (dv[i], "1") == 0)
        dangling_only = true;
      else if (strcasecmp (dv[i], "false") == 0 || strcmp (dv[i], "0") == 0)
        dangling_only = false;
      else
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid filter 'dangling=%s'", dv[i]);
    }
  int64_t until = 0;
  if (filters_until (filters, &until, err) < 0)
    return -1;

  int expected = 0;
  if (!__atomic_compare_exchange_n (&running, &expected, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return arca_error_set (err, ARCA_ERR_CONFLICT, "a prune operation is already running");

  _cleanup_json_ json_t *sizes = store_layer_sizes (s);
  _cleanup_strv_ char **ids = NULL;
  json_t *deleted = json_array ();
  if (arca_store_image_ids (s->db, &ids, err) < 0)
    {
      json_decref (deleted);
      __atomic_store_n (&running, 0, __ATOMIC_RELEASE);
      return -1;
    }
  size_t i;
  for (i = 0; ids[i]; i++)
    {
      const char *id = ids[i];
      arca_image_t *img;
      if (id == NULL || store_image_load (s, id, &img, NULL) < 0)
        continue;
      char cid[128] = "";
      bool skip = s->in_use && s->in_use (s->in_use_ctx, id, cid, sizeof cid) != 0;
      if (until && (img->created_ns == 0 || img->created_ns > until))
        skip = true;
      if (!labels_ok (filters, json_object_get (json_object_get (img->config, "config"), "Labels")))
        skip = true;
      _cleanup_store_refs_ arca_store_refs_t refs = { 0 };
      if (!skip && arca_store_image_refs (s->db, id, &refs, NULL) < 0)
        skip = true;
      if (skip)
        {
          image_free (img);
          continue;
        }
      /* Removal by reference, one at a time, as moby: each untags, the
       * last one deletes the image and frees its layers. */
      _cleanup_strv_ char **targets = xmalloc0 (sizeof (char *));
      if (refs.n > 0)
        {
          bool has_tag = img->repo_tags[0] != NULL;
          if (!dangling_only || !has_tag)
            for (size_t j = 0; j < refs.n; j++)
              targets = strv_append (targets, refs.v[j].ref);
        }
      else
        targets = strv_append (targets, digest_hex (id));
      for (size_t k = 0; targets[k]; k++)
        {
          json_t *records = NULL;
          arca_error_t rerr = { 0 };
          if (image_remove (s, targets[k], false, false, &records, &rerr) < 0)
            {
              if (rerr.kind != ARCA_ERR_NOT_FOUND && rerr.kind != ARCA_ERR_CONFLICT)
                log_warn ("image prune: %s: %s", targets[k], rerr.msg);
              continue;
            }
          json_array_extend (deleted, records);
          json_decref (records);
        }
      image_free (img);
    }

  int64_t reclaimed = 0;
  json_t *rec;
  json_array_foreach (deleted, i, rec)
    {
      const char *d = json_get_str (rec, "Deleted");
      if (d)
        reclaimed += json_integer_value (json_object_get (sizes, d));
    }
  /* Whatever no image uses any more (leftovers of forced removals). */
  arca_error_t gerr = { 0 };
  if (image_gc (s, NULL, &gerr) < 0)
    log_warn ("image prune: garbage collection: %s", gerr.msg);
  __atomic_store_n (&running, 0, __ATOMIC_RELEASE);

  if (json_array_size (deleted) == 0)
    {
      json_decref (deleted);
      deleted = json_null ();
    }
  *out = json_pack ("{s:o, s:I}", "ImagesDeleted", deleted, "SpaceReclaimed", (json_int_t) reclaimed);
  char rbuf[32];
  snprintf (rbuf, sizeof rbuf, "%lld", (long long) reclaimed);
  if (s->event)
    {
      _cleanup_json_ json_t *a = json_pack ("{s:s}", "reclaimed", rbuf);
      s->event (s->event_ctx, "prune", "", NULL, a);
    }
  return 0;
}

/* ---- docker system df ----------------------------------------------------------- */

int
image_disk_usage_json (arca_image_store_t *s, json_t **images, int64_t *layers_size, arca_error_t *err)
{
  json_t *list;
  if (image_list_json (s, NULL, false, &list, err) < 0)
    return -1;
  _cleanup_json_ json_t *sizes = store_layer_sizes (s);
  /* How many images use each chain ID. */
  _cleanup_json_ json_t *users = json_object ();
  json_t **chains = xmalloc0 ((json_array_size (list) + 1) * sizeof (json_t *));
  size_t i;
  json_t *sum;
  json_array_foreach (list, i, sum)
    {
      _cleanup_json_ json_t *data = NULL;
      store_image_data (s, json_get_str (sum, "Id"), &data, NULL);
      chains[i] = json_incref (json_object_get (data, "ChainIDs"));
      size_t j;
      json_t *c;
      json_array_foreach (chains[i], j, c)
        {
          const char *k = json_string_value (c);
          if (k)
            json_object_set_new (users, k, json_integer (json_integer_value (json_object_get (users, k)) + 1));
        }
    }
  json_array_foreach (list, i, sum)
    {
      int64_t shared = 0;
      size_t j;
      json_t *c;
      json_array_foreach (chains[i], j, c)
        {
          const char *k = json_string_value (c);
          if (k && json_integer_value (json_object_get (users, k)) > 1)
            shared += json_integer_value (json_object_get (sizes, k));
        }
      json_object_set_new (sum, "SharedSize", json_integer (shared));
      json_object_set_new (sum, "Containers", json_integer (0));
      json_decref (chains[i]);
    }
  free (chains);
  int64_t total = 0;
  const char *k;
  json_t *v;
  json_object_foreach (sizes, k, v)
    total += json_integer_value (v);
  *images = list;
  *layers_size = total;
  return 0;
}
