/* /proc/net/dev parsing (see netdev.h). */
#include "util/netdev.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

json_t *
netdev_parse_stats (const char *text)
{
  json_t *out = json_object ();
  const char *line = text;
  while (line && *line)
    {
      const char *eol = strchr (line, '\n');
      size_t len = eol ? (size_t) (eol - line) : strlen (line);
      char buf[512];
      if (len < sizeof buf)
        {
          memcpy (buf, line, len);
          buf[len] = '\0';
          char *colon = strchr (buf, ':');
          char name[64];
          uint64_t v[16];
          /* header lines have '|' and no "name:" followed by counters */
          if (colon && !strchr (buf, '|') && sscanf (buf, " %63[^:]", name) == 1
              && sscanf (colon + 1,
                         " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                         " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                         " %" SCNu64 " %" SCNu64,
                         &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11],
                         &v[12], &v[13], &v[14], &v[15])
                     == 16
              && strcmp (name, "lo") != 0)
            json_object_set_new (out, name,
                                 json_pack ("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "rx_bytes", (json_int_t) v[0],
                                            "rx_packets", (json_int_t) v[1], "rx_errors", (json_int_t) v[2],
                                            "rx_dropped", (json_int_t) v[3], "tx_bytes", (json_int_t) v[8],
                                            "tx_packets", (json_int_t) v[9], "tx_errors", (json_int_t) v[10],
                                            "tx_dropped", (json_int_t) v[11]));
        }
      line = eol ? eol + 1 : NULL;
    }
  return out;
}
