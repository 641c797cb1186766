#include "image/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdio.h>
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

/* go-digest's algorithms: name and hex length. */
static const struct
{
  const char *name;
  size_t hex_len;
} algorithms[] = { { "sha256", 64 }, { "sha384", 96 }, { "sha512", 128 } };

bool
digest_supported (const char *d)
{
  const char *colon = d ? strchr (d, ':') : NULL;
  if (colon == NULL)
    return false;
  for (size_t i = 0; i < sizeof algorithms / sizeof *algorithms; i++)
    if ((size_t) (colon - d) == strlen (algorithms[i].name) && strncmp (d, algorithms[i].name, colon - d) == 0)
      return strlen (colon + 1) == algorithms[i].hex_len && str_is_hex (colon + 1, algorithms[i].hex_len);
  return false;
}

bool
digest_matches (const char *d, const void *data, size_t len)
{
  if (!digest_supported (d))
    return false;
  unsigned char md[SHA512_DIGEST_SIZE];
  size_t n;
  if (strncmp (d, "sha256:", 7) == 0)
    {
      struct sha256_ctx c;
      sha256_init (&c);
      sha256_update (&c, len, data);
      n = SHA256_DIGEST_SIZE;
      sha256_digest (&c, n, md);
    }
  else
    {
      struct sha512_ctx c;
      bool is384 = strncmp (d, "sha384:", 7) == 0;
      if (is384)
        sha384_init (&c);
      else
        sha512_init (&c);
      sha512_update (&c, len, data); /* sha384_update is the same function */
      n = is384 ? SHA384_DIGEST_SIZE : SHA512_DIGEST_SIZE;
      if (is384)
        sha384_digest (&c, n, md);
      else
        sha512_digest (&c, n, md);
    }
  const char *hex = strchr (d, ':') + 1;
  for (size_t i = 0; i < n; i++)
    {
      char two[3];
      snprintf (two, sizeof two, "%02x", md[i]);
      if (hex[2 * i] != two[0] || hex[2 * i + 1] != two[1])
        return false;
    }
  return true;
}

bool
digest_valid (const char *d)
{
  return d != NULL && strncmp (d, "sha256:", 7) == 0 && strlen (d) == DIGEST_LEN && str_is_hex (d + 7, 64);
}
