#include "util/detachkeys.h"

#include <ctype.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/strutil.h"

/* moby/term's table: index is the control code. */
static const char *const ctrl_names[] = {
  "ctrl-@", "ctrl-a", "ctrl-b", "ctrl-c", "ctrl-d", "ctrl-e", "ctrl-f", "ctrl-g",
  "ctrl-h", "ctrl-i", "ctrl-j", "ctrl-k", "ctrl-l", "ctrl-m", "ctrl-n", "ctrl-o",
  "ctrl-p", "ctrl-q", "ctrl-r", "ctrl-s", "ctrl-t", "ctrl-u", "ctrl-v", "ctrl-w",
  "ctrl-x", "ctrl-y", "ctrl-z", "ctrl-[", "ctrl-\\", "ctrl-]", "ctrl-^", "ctrl-_",
};

int
detachkeys_parse (const char *s, uint8_t *out, size_t *n, arca_error_t *err)
{
  if (s == NULL || *s == '\0')
    s = DETACHKEYS_DEFAULT;
  size_t count = 0;
  const char *p = s;
  for (;;)
    {
      const char *end = strchr (p, ',');
      size_t klen = end ? (size_t) (end - p) : strlen (p);
      if (count >= DETACHKEYS_MAX)
        goto bad;
      if (klen == 1)
        out[count++] = (uint8_t) p[0];
      else
        {
          int code = -1;
          for (size_t i = 0; i < sizeof ctrl_names / sizeof ctrl_names[0]; i++)
            if (strlen (ctrl_names[i]) == klen && strncasecmp (ctrl_names[i], p, klen) == 0)
              {
                code = (int) i;
                break;
              }
          if (code < 0)
            goto bad;
          out[count++] = (uint8_t) code;
        }
      if (end == NULL)
        break;
      p = end + 1;
    }
  *n = count;
  return 0;
bad:
  return arca_error_set (err, ARCA_ERR_INVALID, "Invalid detach keys (%s) provided", s);
}

void
detachkeys_matcher_init (detachkeys_matcher_t *m, const uint8_t *keys, size_t n)
{
  memset (m, 0, sizeof *m);
  if (n > DETACHKEYS_MAX)
    n = DETACHKEYS_MAX;
  memcpy (m->keys, keys, n);
  m->nkeys = n;
}

bool
detachkeys_feed (detachkeys_matcher_t *m, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
  size_t o = 0;
  if (m->nkeys == 0)
    {
      memcpy (out, in, len);
      *out_len = len;
      return false;
    }
  for (size_t i = 0; i < len; i++)
    {
      uint8_t c = in[i];
      if (c == m->keys[m->matched])
        {
          if (++m->matched == m->nkeys)
            {
              m->matched = 0;
              *out_len = o;
              return true;
            }
          continue;
        }
      /* Mismatch: the held-back prefix was ordinary input after all.  The
       * current byte may itself start a new match. */
      if (m->matched > 0)
        {
          memcpy (out + o, m->keys, m->matched);
          o += m->matched;
          m->matched = 0;
          if (c == m->keys[0])
            {
              if (m->nkeys == 1)
                {
                  *out_len = o;
                  return true;
                }
              m->matched = 1;
              continue;
            }
        }
      out[o++] = c;
    }
  *out_len = o;
  return false;
}

void
detachkeys_flush (detachkeys_matcher_t *m, uint8_t *out, size_t *out_len)
{
  memcpy (out, m->keys, m->matched);
  *out_len = m->matched;
  m->matched = 0;
}
