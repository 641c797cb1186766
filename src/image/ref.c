/* Image references as Docker's reference package parses and prints them.
 * The grammar (regexp.go):
 *   name      := [domain '/'] component ('/' component)*
 *   domain    := host [':' port]; host := label ('.' label)* | '[' ipv6 ']'
 *   label     := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *   component := [a-z0-9]+ (separator [a-z0-9]+)*; separator := [_.] | '__' | '-'+
 *   tag       := [\w][\w.-]{0,127}
 *   digest    := algorithm ':' hex{32,}
 * A hand-written matcher instead of regexes: the pieces are small and the
 * error messages differ by which piece failed. */
#include "image/ref.h"

#include "image/digest.h"

#include <ctype.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/strutil.h"

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"
#define NAME_MAX_TOTAL 255

static bool
is_lower_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component, s[0..len). */
static bool
valid_component (const char *s, size_t len)
{
  size_t i = 0;
  if (len == 0 || !is_lower_alnum (s[0]))
    return false;
  while (i < len)
    {
      while (i < len && is_lower_alnum (s[i]))
        i++;
      if (i == len)
        return true;
      /* separator */
      if (s[i] == '.')
        i++;
      else if (s[i] == '_')
        {
          i++;
          if (i < len && s[i] == '_')
            i++;
        }
      else if (s[i] == '-')
        while (i < len && s[i] == '-')
          i++;
      else
        return false;
      if (i == len || !is_lower_alnum (s[i]))
        return false;
    }
  return true;
}

static bool
valid_path (const char *s)
{
  const char *p = s;
  for (;;)
    {
      const char *slash = strchr (p, '/');
      size_t len = slash ? (size_t) (slash - p) : strlen (p);
      if (!valid_component (p, len))
        return false;
      if (slash == NULL)
        return true;
      p = slash + 1;
    }
}

static bool
valid_label (const char *s, size_t len)
{
  if (len == 0 || !isalnum ((unsigned char) s[0]) || !isalnum ((unsigned char) s[len - 1]))
    return false;
  for (size_t i = 0; i < len; i++)
    if (!isalnum ((unsigned char) s[i]) && s[i] != '-')
      return false;
  return true;
}

static bool
valid_domain (const char *s)
{
  const char *port = NULL;
  const char *end;
  if (s[0] == '[')
    {
      const char *close = strchr (s, ']');
      if (close == NULL || close == s + 1)
        return false;
      for (const char *p = s + 1; p < close; p++)
        if (!isxdigit ((unsigned char) *p) && *p != ':')
          return false;
      end = close + 1;
      if (*end == ':')
        port = end + 1;
      else if (*end != '\0')
        return false;
    }
  else
    {
      const char *colon = strchr (s, ':');
      end = colon ? colon : s + strlen (s);
      const char *p = s;
      for (;;)
        {
          const char *dot = memchr (p, '.', (size_t) (end - p));
          size_t len = dot ? (size_t) (dot - p) : (size_t) (end - p);
          if (!valid_label (p, len))
            return false;
          if (dot == NULL)
            break;
          p = dot + 1;
        }
      if (colon)
        port = colon + 1;
    }
  if (port)
    {
      if (*port == '\0')
        return false;
      for (const char *p = port; *p; p++)
        if (!isdigit ((unsigned char) *p))
          return false;
    }
  return true;
}

bool
image_ref_valid_tag (const char *t)
{
  size_t len = t ? strlen (t) : 0;
  if (len == 0 || len > 128)
    return false;
  if (!(isalnum ((unsigned char) t[0]) || t[0] == '_'))
    return false;
  for (size_t i = 1; i < len; i++)
    if (!(isalnum ((unsigned char) t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
      return false;
  return true;
}

static int
invalid (arca_error_t *err)
{
  return arca_error_set (err, ARCA_ERR_INVALID, "invalid reference format");
}

/* distribution/reference's digest grammar:
 * [A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)* ':' [[:xdigit:]]{32,} */
static bool
digest_grammar (const char *d)
{
  const char *p = d;
  for (;;)
    {
      if (!isalpha ((unsigned char) *p))
        return false;
      while (isalnum ((unsigned char) *p))
        p++;
      if (*p == ':')
        break;
      if (!strchr ("-_+.", *p) || *p == '\0')
        return false;
      p++;
    }
  size_t n = strlen (++p);
  for (size_t i = 0; i < n; i++)
    if (!isxdigit ((unsigned char) p[i]))
      return false;
  return n >= 32;
}

/* reference.Parse then go-digest Parse/Validate, with dockerd's
 * algorithms (sha256, sha384, sha512) and its messages. */
static int
check_digest (const char *d, arca_error_t *err)
{
  if (!digest_grammar (d))
    return invalid (err);
  if (digest_supported (d))
    return 0;
  const char *colon = strchr (d, ':');
  size_t alen = (size_t) (colon - d), hlen = strlen (colon + 1);
  bool known = alen == 6 && (strncmp (d, "sha256", 6) == 0 || strncmp (d, "sha384", 6) == 0 || strncmp (d, "sha512", 6) == 0);
  if (!known)
    return arca_error_set (err, ARCA_ERR_INVALID, "unsupported digest algorithm");
  size_t want = d[3] == '2' ? 64 : d[3] == '3' ? 96 : 128;
  if (hlen != want)
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid checksum digest length");
  return arca_error_set (err, ARCA_ERR_INVALID, "invalid checksum digest format"); /* upper-case hex */
}

bool
image_ref_is_full_id_hex (const char *s)
{
  return s && strlen (s) == 64 && str_is_hex (s, 64);
}

void
image_ref_clear (image_ref_t *r)
{
  free (r->domain);
  free (r->path);
  free (r->tag);
  free (r->digest);
  memset (r, 0, sizeof *r);
}


/* Split "path[:tag][@digest]" (the part after the domain) and validate. */
static int
parse_remainder (const char *domain, const char *rem, image_ref_t *r, arca_error_t *err)
{
  _cleanup_free_ char *copy = xstrdup (rem);
  char *at = strchr (copy, '@');
  char *digest = NULL, *tag = NULL;
  if (at)
    {
      *at = '\0';
      digest = at + 1;
      if (check_digest (digest, err) < 0)
        return -1;
    }
  char *slash = strrchr (copy, '/');
  char *colon = strrchr (slash ? slash : copy, ':');
  if (colon)
    {
      *colon = '\0';
      tag = colon + 1;
      if (!image_ref_valid_tag (tag))
        return invalid (err);
    }
  if (!valid_domain (domain) || !valid_path (copy))
    {
      /* Parse reports uppercase separately when lowercasing would fix it. */
      _cleanup_free_ char *lower = xstrdup (copy);
      for (char *p = lower; *p; p++)
        *p = (char) tolower ((unsigned char) *p);
      if (valid_domain (domain) && valid_path (lower))
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid reference format: repository name must be lowercase");
      return invalid (err);
    }
  if (strlen (domain) + 1 + strlen (copy) > NAME_MAX_TOTAL)
    return arca_error_set (err, ARCA_ERR_INVALID, "repository name must not be more than 255 characters");
  r->domain = xstrdup (domain);
  r->path = xstrdup (copy);
  r->tag = xstrdup (tag);
  r->digest = xstrdup (digest);
  return 0;
}

int
image_ref_parse (const char *s, image_ref_t *r, arca_error_t *err)
{
  memset (r, 0, sizeof *r);
  if (s == NULL || *s == '\0')
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid reference format");
  if (image_ref_is_full_id_hex (s))
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s);

  /* splitDockerDomain */
  _cleanup_free_ char *domain = NULL;
  _cleanup_free_ char *rem = NULL;
  const char *slash = strchr (s, '/');
  if (slash == NULL)
    {
      domain = xstrdup (DEFAULT_DOMAIN);
      rem = xasprintf (OFFICIAL_PREFIX "%s", s);
    }
  else
    {
      _cleanup_free_ char *first = strndup (s, (size_t) (slash - s));
      bool upper = false;
      for (char *p = first; *p; p++)
        upper |= isupper ((unsigned char) *p) != 0;
      if (strcmp (first, "localhost") == 0 || strpbrk (first, ".:") || upper)
        {
          domain = arca_steal (first);
          rem = xstrdup (slash + 1);
        }
      else
        {
          domain = xstrdup (DEFAULT_DOMAIN);
          rem = xstrdup (s);
        }
      if (strcmp (domain, LEGACY_DOMAIN) == 0)
        {
          free (domain);
          domain = xstrdup (DEFAULT_DOMAIN);
        }
      if (strcmp (domain, DEFAULT_DOMAIN) == 0 && strchr (rem, '/') == NULL)
        {
          char *t = xasprintf (OFFICIAL_PREFIX "%s", rem);
          free (rem);
          rem = t;
        }
    }

  /* The remote name (up to the first ':') must be lowercase. */
  size_t rlen = strcspn (rem, ":");
  for (size_t i = 0; i < rlen; i++)
    if (isupper ((unsigned char) rem[i]))
      return arca_error_set (err, ARCA_ERR_INVALID,
                             "invalid reference format: repository name (%.*s) must be lowercase", (int) rlen, rem);

  return parse_remainder (domain, rem, r, err);
}

int
image_ref_parse_canonical (const char *s, image_ref_t *r, arca_error_t *err)
{
  memset (r, 0, sizeof *r);
  const char *slash = s ? strchr (s, '/') : NULL;
  if (slash == NULL)
    return invalid (err);
  _cleanup_free_ char *domain = strndup (s, (size_t) (slash - s));
  return parse_remainder (domain, slash + 1, r, err);
}

void
image_ref_default_tag (image_ref_t *r)
{
  if (r->tag == NULL && r->digest == NULL)
    r->tag = xstrdup ("latest");
}

char *
image_ref_name (const image_ref_t *r)
{
  return xasprintf ("%s/%s", r->domain, r->path);
}

static char *
format_ref (const char *name, const image_ref_t *r)
{
  return xasprintf ("%s%s%s%s%s", name, r->tag ? ":" : "", r->tag ? r->tag : "", r->digest ? "@" : "",
                    r->digest ? r->digest : "");
}

char *
image_ref_string (const image_ref_t *r)
{
  _cleanup_free_ char *name = image_ref_name (r);
  return format_ref (name, r);
}

char *
image_ref_store_key (const image_ref_t *r)
{
  _cleanup_free_ char *name = image_ref_name (r);
  if (r->digest)
    return xasprintf ("%s@%s", name, r->digest);
  return xasprintf ("%s:%s", name, r->tag ? r->tag : "latest");
}

char *
image_ref_familiar_name (const image_ref_t *r)
{
  if (strcmp (r->domain, DEFAULT_DOMAIN) != 0)
    return image_ref_name (r);
  if (str_has_prefix (r->path, OFFICIAL_PREFIX) && strchr (r->path + strlen (OFFICIAL_PREFIX), '/') == NULL)
    return xstrdup (r->path + strlen (OFFICIAL_PREFIX));
  return xstrdup (r->path);
}

char *
image_ref_familiar_string (const image_ref_t *r)
{
  _cleanup_free_ char *name = image_ref_familiar_name (r);
  return format_ref (name, r);
}

int
image_ref_repo_tag_key (const char *repo, const char *tag, const char *digest_msg, char **key, arca_error_t *err)
{
  *key = NULL;
  if (repo == NULL || *repo == '\0')
    return 0;
  image_ref_t r;
  if (image_ref_parse (repo, &r, err) < 0)
    return -1;
  int ret = 0;
  if (tag && *tag && !image_ref_valid_tag (tag))
    ret = arca_error_set (err, ARCA_ERR_INVALID, "invalid tag format");
  else if (r.digest)
    ret = arca_error_set (err, ARCA_ERR_INVALID, "%s", digest_msg);
  else
    {
      if (tag && *tag)
        {
          free (r.tag);
          r.tag = xstrdup (tag);
        }
      image_ref_default_tag (&r);
      *key = image_ref_store_key (&r);
    }
  image_ref_clear (&r);
  return ret;
}
