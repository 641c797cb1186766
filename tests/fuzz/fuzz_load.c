/* docker load: docker-save and OCI layout tarballs (image/load.c
 * image_load: manifest.json, index.json, nested indexes, blobs, layers)
 * into a real image store (SQLite and layer dirs in a private data root).
 * Nothing may appear outside the data root.  Input: a (maybe compressed)
 * tar. */
#include "fuzz.h"
#include "fuzz_tar.h"

#include "image/image.h"
#include "store/db.h"

static arca_image_store_t *store;

static void
line (void *ctx, const char *l)
{
  (void) ctx;
  (void) l;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *w = fuzz_workdir ();
  arca_error_t err;
  char root[512], tar[512];
  snprintf (root, sizeof root, "%s/data", w);
  snprintf (tar, sizeof tar, "%s/in.tar", w);
  if (store == NULL)
    {
      char dbp[600];
      arca_db_t *db = NULL;
      snprintf (dbp, sizeof dbp, "%s/arca.db", root);
      if (fs_mkdir_p (root, 0700, &err) < 0 || arca_db_open (dbp, &db, &err) < 0
          || image_store_open (root, db, &store, &err) < 0)
        {
          fprintf (stderr, "fuzz: image store: %s\n", err.msg);
          abort ();
        }
    }
  fuzz_write_file (tar, data, size);
  image_load (store, tar, line, NULL, &err);
  unlink (tar);
  static const char *const keep[] = { "in.tar", "data", NULL };
  fuzz_check_nothing_escaped (w, keep);
  return 0;
}
