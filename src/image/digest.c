#include "image/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/strutil.h"

/* SHA-256 from nettle: it is already mapped through libmicrohttpd's
 * gnutls, so the daemon does not pay for a second crypto library
 * (docs/design.md). */
struct digest_ctx
{
  struct sha256_ctx md;
};

digest_ctx_t *
digest_new (void)
{
  digest_ctx_t *c = xmalloc0 (sizeof *c);
  sha256_init (&c->md);
  return c;
}

void
digest_update (digest_ctx_t *c, const void *data, size_t len)
{
  if (len > 0)
    sha256_update (&c->md, len, data);
}

void
digest_free (digest_ctx_t *c)
{
  free (c);
}

void
digest_final (digest_ctx_t *c, char out[DIGEST_BUF])
{
  unsigned char md[SHA256_DIGEST_SIZE];
  unsigned int n = SHA256_DIGEST_SIZE;
  sha256_digest (&c->md, sizeof md, md);
  memcpy (out, "sha256:", 7);
  for (unsigned int i = 0; i < n && i < 32; i++)
    sprintf (out + 7 + 2 * i, "%02x", md[i]);
  out[DIGEST_LEN] = '\0';
  digest_free (c);
}

void
digest_buf (const void *data, size_t len, char out[DIGEST_BUF])
{
  digest_ctx_t *c = digest_new ();
  digest_update (c, data, len);
  digest_final (c, out);
}

int
digest_file (const char *path, char out[DIGEST_BUF], arca_error_t *err)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "open %s: %s", path, strerror (errno));
  digest_ctx_t *c = digest_new ();
  /* On the heap, not in thread-local storage: every thread's static TLS is
   * zeroed at its creation, and a 64 KiB buffer there cost each idle API
   * connection's thread 64 KiB of RSS. */
  _cleanup_free_ char *buf = xmalloc0 (1 << 16);
  for (;;)
    {
      ssize_t n = read (fd, buf, 1 << 16);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          digest_free (c);
          return arca_error_set (err, ARCA_ERR_INTERNAL, "read %s: %s", path, strerror (errno));
        }
      if (n == 0)
        break;
      digest_update (c, buf, (size_t) n);
    }
  digest_final (c, out);
  return 0;
}

void
digest_chain (const char *parent, const char *diff_id, char out[DIGEST_BUF])
{
  if (parent == NULL || *parent == '\0')
    {
      snprintf (out, DIGEST_BUF, "%s", diff_id);
      return;
    }
  _cleanup_free_ char *s = xasprintf ("%s %s", parent, diff_id);
  digest_buf (s, strlen (s), out);
}

bool
digest_valid (const char *d)
{
  return d != NULL && strncmp (d, "sha256:", 7) == 0 && strlen (d) == DIGEST_LEN && str_is_hex (d + 7, 64);
}
