/* Pure helpers of the registry client: X-Registry-Auth decoding,
 * WWW-Authenticate parsing, platform matching, configuration.  No I/O, so
 * the unit tests can drive them directly. */
#include "image/registry.h"

#include <ctype.h>
#include <nettle/base64.h>
#include <pthread.h>
#include <string.h>

#include "image/store_internal.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"

/* ---- configuration ----------------------------------------------------------- */

static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static char **config_insecure;
static char **config_mirrors;

void
registry_configure (char **insecure, char **mirrors)
{
  pthread_mutex_lock (&config_lock);
  strv_free (config_insecure);
  strv_free (config_mirrors);
  config_insecure = insecure ? strv_copy (insecure) : NULL;
  config_mirrors = mirrors ? strv_copy (mirrors) : NULL;
  pthread_mutex_unlock (&config_lock);
}

/* Copies of the settings (never NULL). */
char **registry_config_insecure (void);
char **registry_config_mirrors (void);

char **
registry_config_insecure (void)
{
  pthread_mutex_lock (&config_lock);
  char **v = config_insecure ? strv_copy (config_insecure) : xmalloc0 (sizeof (char *));
  pthread_mutex_unlock (&config_lock);
  return v;
}

char **
registry_config_mirrors (void)
{
  pthread_mutex_lock (&config_lock);
  char **v = config_mirrors ? strv_copy (config_mirrors) : xmalloc0 (sizeof (char *));
  pthread_mutex_unlock (&config_lock);
  return v;
}

/* ---- credentials --------------------------------------------------------------- */

static void
set_field (char **dst, json_t *obj, const char *key)
{
  const char *v = json_get_str (obj, key);
  if (v && *v)
    {
      free (*dst);
      *dst = xstrdup (v);
    }
}

/* Decode base64 or base64url text, padding optional; NULL on garbage. */
static char *
b64_decode (const char *in, size_t *out_len)
{
  size_t n = strlen (in);
  _cleanup_free_ char *norm = xmalloc0 (n + 4);
  bool url = strpbrk (in, "-_") != NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (!isspace ((unsigned char) in[i]) && in[i] != '=')
      norm[k++] = in[i];
  while (k % 4)
    norm[k++] = '=';
  struct base64_decode_ctx ctx;
  if (url)
    base64url_decode_init (&ctx);
  else
    base64_decode_init (&ctx);
  char *out = xmalloc0 (BASE64_DECODE_LENGTH (k) + 1);
  size_t len = BASE64_DECODE_LENGTH (k);
  if (!base64_decode_update (&ctx, &len, (uint8_t *) out, k, norm) || !base64_decode_final (&ctx))
    {
      free (out);
      return NULL;
    }
  out[len] = '\0';
  *out_len = len;
  return out;
}

void
registry_auth_from_json (json_t *obj, registry_auth_t *out)
{
  set_field (&out->username, obj, "username");
  set_field (&out->password, obj, "password");
  set_field (&out->identity_token, obj, "identitytoken");
  set_field (&out->registry_token, obj, "registrytoken");
  set_field (&out->server_address, obj, "serveraddress");
  /* "auth": base64("user:pass"), as in config.json. */
  const char *auth = json_get_str (obj, "auth");
  if (auth && *auth && out->username == NULL)
    {
      size_t len;
      _cleanup_free_ char *plain = b64_decode (auth, &len);
      char *colon = plain ? strchr (plain, ':') : NULL;
      if (colon)
        {
          *colon = '\0';
          out->username = xstrdup (plain);
          out->password = xstrdup (colon + 1);
        }
    }
}

int
registry_auth_decode (const char *header, registry_auth_t *out, arca_error_t *err)
{
  (void) err;
  memset (out, 0, sizeof *out);
  if (header == NULL || *header == '\0')
    return 0;
  size_t len;
  _cleanup_free_ char *text = b64_decode (header, &len);
  if (text == NULL)
    return 0; /* moby: undecodable credentials are ignored (anonymous pull) */
  _cleanup_json_ json_t *obj = json_loadb (text, len, 0, NULL);
  if (json_is_object (obj))
    registry_auth_from_json (obj, out);
  return 0;
}

void
registry_auth_clear (registry_auth_t *a)
{
  free (a->username);
  if (a->password)
    explicit_bzero (a->password, strlen (a->password));
  free (a->password);
  free (a->identity_token);
  free (a->registry_token);
  free (a->server_address);
  memset (a, 0, sizeof *a);
}

/* ---- WWW-Authenticate ------------------------------------------------------------ */

int
registry_challenge_parse (const char *h, registry_challenge_t *out)
{
  memset (out, 0, sizeof *out);
  if (h == NULL)
    return -1;
  while (isspace ((unsigned char) *h))
    h++;
  size_t n = strcspn (h, " \t");
  if (n == 0)
    return -1;
  out->scheme = strndup (h, n);
  for (char *p = out->scheme; *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  h += n;
  while (*h)
    {
      while (*h == ' ' || *h == '\t' || *h == ',')
        h++;
      size_t kl = strcspn (h, "= \t,");
      if (kl == 0)
        break;
      _cleanup_free_ char *key = strndup (h, kl);
      h += kl;
      while (*h == ' ' || *h == '\t')
        h++;
      if (*h != '=')
        continue;
      h++;
      while (*h == ' ' || *h == '\t')
        h++;
      arca_buf_t v = { 0 };
      if (*h == '"')
        {
          h++;
          while (*h && *h != '"')
            {
              if (*h == '\\' && h[1])
                h++;
              buf_append (&v, h, 1);
              h++;
            }
          if (*h == '"')
            h++;
        }
      else
        {
          size_t vl = strcspn (h, ",");
          while (vl > 0 && isspace ((unsigned char) h[vl - 1]))
            vl--;
          buf_append (&v, h, vl);
          h += strcspn (h, ",");
        }
      buf_append (&v, "", 1);
      char **dst = NULL;
      if (strcasecmp (key, "realm") == 0)
        dst = &out->realm;
      else if (strcasecmp (key, "service") == 0)
        dst = &out->service;
      else if (strcasecmp (key, "scope") == 0)
        dst = &out->scope;
      if (dst)
        {
          free (*dst);
          *dst = v.data;
        }
      else
        buf_free (&v);
    }
  return 0;
}

void
registry_challenge_clear (registry_challenge_t *c)
{
  free (c->scheme);
  free (c->realm);
  free (c->service);
  free (c->scope);
  memset (c, 0, sizeof *c);
}

/* ---- platforms ------------------------------------------------------------------- */

static void
normalize_arch (char *arch, char *variant)
{
  if (strcmp (arch, "x86_64") == 0 || strcmp (arch, "x86-64") == 0)
    strcpy (arch, "amd64");
  else if (strcmp (arch, "aarch64") == 0)
    strcpy (arch, "arm64");
  else if (strcmp (arch, "i386") == 0)
    strcpy (arch, "386");
  if (strcmp (arch, "arm64") == 0 && strcmp (variant, "v8") == 0)
    variant[0] = '\0';
}

int
registry_platform_parse (const char *s, registry_platform_t *out, arca_error_t *err)
{
  memset (out, 0, sizeof *out);
  if (s == NULL || *s == '\0')
    {
      const char *variant = NULL;
      snprintf (out->os, sizeof out->os, "linux");
      snprintf (out->arch, sizeof out->arch, "%s", store_go_arch (&variant));
      snprintf (out->variant, sizeof out->variant, "%s", variant ? variant : "");
      normalize_arch (out->arch, out->variant);
      return 0;
    }
  _cleanup_free_ char *copy = xstrdup (s);
  for (char *p = copy; *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  char *parts[4] = { 0 };
  int n = 0;
  char *save = NULL;
  for (char *t = strtok_r (copy, "/", &save); t; t = strtok_r (NULL, "/", &save))
    {
      if (n == 3 || strlen (t) >= sizeof out->os)
        return arca_error_set (err, ARCA_ERR_INVALID, "\"%s\": unknown operating system or architecture: invalid argument", s);
      parts[n++] = t;
    }
  if (n == 0 || strchr (s, ' '))
    return arca_error_set (err, ARCA_ERR_INVALID, "\"%s\": unknown operating system or architecture: invalid argument", s);
  if (n == 1)
    {
      /* A lone word is an OS if it is one, else an architecture on linux. */
      if (strcmp (parts[0], "linux") == 0 || strcmp (parts[0], "windows") == 0 || strcmp (parts[0], "darwin") == 0)
        {
          const char *variant = NULL;
          snprintf (out->os, sizeof out->os, "%s", parts[0]);
          snprintf (out->arch, sizeof out->arch, "%s", store_go_arch (&variant));
        }
      else
        {
          snprintf (out->os, sizeof out->os, "linux");
          snprintf (out->arch, sizeof out->arch, "%s", parts[0]);
        }
    }
  else
    {
      snprintf (out->os, sizeof out->os, "%s", parts[0]);
      snprintf (out->arch, sizeof out->arch, "%s", parts[1]);
      if (n == 3)
        snprintf (out->variant, sizeof out->variant, "%s", parts[2]);
    }
  normalize_arch (out->arch, out->variant);
  return 0;
}

bool
registry_platform_match (json_t *platform, const registry_platform_t *want)
{
  if (!json_is_object (platform))
    return false;
  const char *os = json_get_str (platform, "os");
  const char *arch = json_get_str (platform, "architecture");
  const char *variant = json_get_str (platform, "variant");
  if (os == NULL || arch == NULL)
    return false;
  char a[32], v[32];
  snprintf (a, sizeof a, "%s", arch);
  snprintf (v, sizeof v, "%s", variant ? variant : "");
  normalize_arch (a, v);
  if (strcmp (os, want->os) != 0 || strcmp (a, want->arch) != 0)
    return false;
  if (want->variant[0] && v[0] && strcmp (v, want->variant) != 0)
    return false;
  return true;
}

json_t *
registry_platform_select (json_t *manifests, const registry_platform_t *want)
{
  size_t i;
  json_t *d, *first = NULL;
  json_array_foreach (manifests, i, d)
    {
      json_t *pl = json_object_get (d, "platform");
      if (!registry_platform_match (pl, want))
        continue;
      const char *variant = json_get_str (pl, "variant");
      char a[32], v[32];
      snprintf (a, sizeof a, "%s", json_get_str (pl, "architecture"));
      snprintf (v, sizeof v, "%s", variant ? variant : "");
      normalize_arch (a, v);
      if (strcmp (v, want->variant) == 0)
        return d;
      if (first == NULL)
        first = d;
    }
  return first;
}
