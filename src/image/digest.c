#include "image/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/strutil.h"

struct digest_ctx
{
  EVP_MD_CTX *md;
};

digest_ctx_t *
digest_new (void)
{
  digest_ctx_t *c = xmalloc0 (sizeof *c);
  c->md = EVP_MD_CTX_new ();
  if (c->md == NULL || EVP_DigestInit_ex (c->md, EVP_sha256 (), NULL) != 1)
    abort ();
  return c;
}

void
digest_update (digest_ctx_t *c, const void *data, size_t len)
{
  if (len > 0)
    EVP_DigestUpdate (c->md, data, len);
}

void
digest_free (digest_ctx_t *c)
{
  if (c == NULL)
    return;
  EVP_MD_CTX_free (c->md);
  free (c);
}

void
digest_final (digest_ctx_t *c, char out[DIGEST_BUF])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex (c->md, md, &n);
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
  static __thread char buf[1 << 16];
  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);
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
