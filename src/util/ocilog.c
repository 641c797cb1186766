#include "util/ocilog.h"

#include <jansson.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strutil.h"

char *
ocilog_last_error (const char *path, off_t from)
{
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  if (fs_read_file (path, &data, &len, NULL) < 0)
    return NULL;
  if (from < 0 || (size_t) from > len)
    from = 0;
  char *result = NULL;
  char *save = NULL;
  for (char *line = strtok_r (data + from, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      _cleanup_json_ json_t *j = json_loads (line, 0, NULL);
      if (j == NULL)
        continue;
      const char *level = json_string_value (json_object_get (j, "level"));
      const char *msg = json_string_value (json_object_get (j, "msg"));
      if (level && msg && strcmp (level, "error") == 0)
        {
          free (result);
          result = xstrdup (msg);
        }
    }
  return result;
}
