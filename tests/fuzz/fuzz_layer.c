/* Layer tarballs (image/unpack.c layer_unpack: whiteouts, "..", absolute
 * and hard links, device nodes, huge headers, compression) and the
 * archives of docker load / cp / build contexts (archive_extract_secure).
 * Each input is extracted into a fresh directory; an entry landing next to
 * it aborts.  Input: a (maybe compressed) tar; the first byte picks the
 * extractor. */
#include "fuzz.h"
#include "fuzz_tar.h"

#include "image/unpack.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  const char *w = fuzz_workdir ();
  char tar[512], dest[512];
  snprintf (tar, sizeof tar, "%s/in.tar", w);
  snprintf (dest, sizeof dest, "%s/root", w);
  fuzz_write_file (tar, data + 1, size - 1);
  if (mkdir (dest, 0755) < 0)
    abort ();
  arca_error_t err;
  if (data[0] & 1)
    archive_extract_secure (tar, dest, &err);
  else
    {
      layer_stat_t st;
      layer_unpack (tar, dest, &st, &err);
    }
  static const char *const keep[] = { "in.tar", "root", NULL };
  fuzz_check_nothing_escaped (w, keep);
  if (fs_remove_all (dest, &err) < 0)
    {
      fprintf (stderr, "fuzz: cannot remove %s: %s\n", dest, err.msg);
      abort ();
    }
  unlink (tar);
  return 0;
}
