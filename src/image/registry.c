/* Registry HTTP client over libcurl: one easy handle per request (blob
 * downloads run in several threads), 401 challenges answered once per
 * request, registry error bodies ({"errors":[{"code","message"}]}) turned
 * into errcode-style texts ("manifest unknown: manifest unknown"). */
#include "image/registry.h"

#include <ctype.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/store_internal.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/lazy_curl.h"
#include "util/log.h"
#include "util/strutil.h"

char **registry_config_insecure (void);
char **registry_config_mirrors (void);

struct registry_client
{
  char *domain;   /* as in the reference */
  char *base;     /* "http://127.0.0.1:5000" */
  char *path;     /* repository path */
  char *scope;    /* "repository:<path>:pull[,push]" */
  registry_auth_t auth;
  pthread_mutex_t lock; /* guards authz */
  char *authz;          /* Authorization header value once known */
};

/* ---- endpoints ---------------------------------------------------------------- */

static bool
host_is_loopback (const char *domain)
{
  _cleanup_free_ char *host = NULL;
  if (domain[0] == '[')
    {
      const char *end = strchr (domain, ']');
      host = end ? strndup (domain + 1, (size_t) (end - domain - 1)) : xstrdup (domain);
    }
  else
    {
      const char *colon = strchr (domain, ':');
      host = colon ? strndup (domain, (size_t) (colon - domain)) : xstrdup (domain);
    }
  if (strcmp (host, "localhost") == 0)
    return true;
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton (AF_INET, host, &a4) == 1)
    return (ntohl (a4.s_addr) >> 24) == 127;
  if (inet_pton (AF_INET6, host, &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK (&a6);
  return false;
}

static bool
in_cidr (const char *domain, const char *cidr)
{
  const char *slash = strchr (cidr, '/');
  if (slash == NULL)
    return false;
  _cleanup_free_ char *net = strndup (cidr, (size_t) (slash - cidr));
  _cleanup_free_ char *host = NULL;
  const char *colon = strchr (domain, ':');
  host = colon ? strndup (domain, (size_t) (colon - domain)) : xstrdup (domain);
  struct in_addr a, n;
  int bits = atoi (slash + 1);
  if (inet_pton (AF_INET, host, &a) != 1 || inet_pton (AF_INET, net, &n) != 1 || bits < 0 || bits > 32)
    return false;
  uint32_t mask = bits == 0 ? 0 : htonl (~0u << (32 - bits));
  return (a.s_addr & mask) == (n.s_addr & mask);
}

static bool
domain_insecure (const char *domain)
{
  if (host_is_loopback (domain))
    return true;
  _cleanup_strv_ char **list = registry_config_insecure ();
  for (size_t i = 0; list[i]; i++)
    {
      const char *e = list[i];
      if (str_has_prefix (e, "http://"))
        e += 7;
      if (strcmp (e, domain) == 0 || in_cidr (domain, e))
        return true;
    }
  return false;
}

static char *
base_url (const char *domain)
{
  if (strcmp (domain, "docker.io") == 0 || strcmp (domain, "index.docker.io") == 0)
    {
      _cleanup_strv_ char **mirrors = registry_config_mirrors ();
      if (mirrors[0])
        {
          char *m = xstrdup (mirrors[0]);
          size_t n = strlen (m);
          while (n > 0 && m[n - 1] == '/')
            m[--n] = '\0';
          return m;
        }
      return xstrdup ("https://registry-1.docker.io");
    }
  return xasprintf ("%s://%s", domain_insecure (domain) ? "http" : "https", domain);
}

/* ---- requests ------------------------------------------------------------------- */

typedef struct
{
  const char *method;
  char *url;
  const char *accept;       /* Accept header or NULL */
  const char *content_type; /* request Content-Type */
  const char *body;         /* in-memory request body */
  size_t body_len;
  int body_fd;               /* or a file body (-1 none) */
  int64_t body_size;
  int out_fd;                /* response body to a file when 2xx (-1: memory) */
  digest_ctx_t *out_digest;  /* hash of what went to out_fd */
  int64_t out_bytes;
  int64_t expected;          /* for progress */
  registry_progress_fn progress;
  void *ctx;
  bool aborted;
  bool no_auth;              /* token requests */
  const char *basic_user, *basic_pass;
  /* results */
  long status;
  arca_buf_t resp;           /* body when not to a file (or an error body) */
  char *www_auth, *location, *resp_type, *docker_digest;
  CURL *h;
} req_t;

static void
req_clear (req_t *r)
{
  free (r->url);
  buf_free (&r->resp);
  free (r->www_auth);
  free (r->location);
  free (r->resp_type);
  free (r->docker_digest);
  r->url = NULL;
  r->www_auth = r->location = r->resp_type = r->docker_digest = NULL;
}

static void
reset_results (req_t *r)
{
  buf_free (&r->resp);
  memset (&r->resp, 0, sizeof r->resp);
  free (r->www_auth);
  free (r->location);
  free (r->resp_type);
  free (r->docker_digest);
  r->www_auth = r->location = r->resp_type = r->docker_digest = NULL;
  r->status = 0;
  r->out_bytes = 0;
}

static size_t
on_header (char *buf, size_t size, size_t n, void *ud)
{
  req_t *r = ud;
  size_t len = size * n;
  /* A new status line (redirects, 100-continue): forget earlier headers. */
  if (len > 5 && strncmp (buf, "HTTP/", 5) == 0)
    {
      free (r->www_auth);
      free (r->location);
      free (r->resp_type);
      free (r->docker_digest);
      r->www_auth = r->location = r->resp_type = r->docker_digest = NULL;
      return len;
    }
  const char *colon = memchr (buf, ':', len);
  if (colon == NULL)
    return len;
  size_t kl = (size_t) (colon - buf);
  const char *v = colon + 1;
  size_t vl = len - kl - 1;
  while (vl && (*v == ' ' || *v == '\t'))
    v++, vl--;
  while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
    vl--;
  char **dst = NULL;
  if (kl == 16 && strncasecmp (buf, "WWW-Authenticate", kl) == 0)
    dst = &r->www_auth;
  else if (kl == 8 && strncasecmp (buf, "Location", kl) == 0)
    dst = &r->location;
  else if (kl == 12 && strncasecmp (buf, "Content-Type", kl) == 0)
    dst = &r->resp_type;
  else if (kl == 21 && strncasecmp (buf, "Docker-Content-Digest", kl) == 0)
    dst = &r->docker_digest;
  if (dst && *dst == NULL) /* the first challenge is the one we answer */
    *dst = strndup (v, vl);
  return len;
}

static size_t
on_body (char *buf, size_t size, size_t n, void *ud)
{
  req_t *r = ud;
  size_t len = size * n;
  long code = 0;
  curl_easy_getinfo (r->h, CURLINFO_RESPONSE_CODE, &code);
  if (r->out_fd >= 0 && code >= 200 && code < 300)
    {
      for (size_t off = 0; off < len;)
        {
          ssize_t w = write (r->out_fd, buf + off, len - off);
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            return 0;
          off += (size_t) w;
        }
      if (r->out_digest)
        digest_update (r->out_digest, buf, len);
      r->out_bytes += (int64_t) len;
      if (r->expected >= 0 && r->out_bytes > r->expected)
        return 0; /* more than the descriptor's size: not the blob */
      if (r->progress && r->progress (r->ctx, r->out_bytes, r->expected) != 0)
        {
          r->aborted = true;
          return 0;
        }
      return len;
    }
  if (r->resp.len < (8u << 20))
    buf_append (&r->resp, buf, len);
  return len;
}

static size_t
on_read (char *buf, size_t size, size_t n, void *ud)
{
  req_t *r = ud;
  ssize_t got;
  do
    got = read (r->body_fd, buf, size * n);
  while (got < 0 && errno == EINTR);
  if (got < 0)
    return CURL_READFUNC_ABORT;
  r->out_bytes += got;
  if (r->progress && got > 0 && r->progress (r->ctx, r->out_bytes, r->body_size) != 0)
    {
      r->aborted = true;
      return CURL_READFUNC_ABORT;
    }
  return (size_t) got;
}

/* Perform once; 0 with r->status set, or -1 on a transport error. */
static int
perform (req_t *r, const char *authz, arca_error_t *err)
{
  if (arca_lazy_curl_load (err) < 0)
    return -1;
  CURL *h = curl_easy_init ();
  if (h == NULL)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "curl_easy_init failed");
  r->h = h;
  struct curl_slist *hdrs = NULL;
  char errbuf[CURL_ERROR_SIZE] = "";
  if (authz)
    {
      _cleanup_free_ char *line = xasprintf ("Authorization: %s", authz);
      hdrs = curl_slist_append (hdrs, line);
    }
  if (r->accept)
    {
      _cleanup_free_ char *line = xasprintf ("Accept: %s", r->accept);
      hdrs = curl_slist_append (hdrs, line);
    }
  if (r->content_type)
    {
      _cleanup_free_ char *line = xasprintf ("Content-Type: %s", r->content_type);
      hdrs = curl_slist_append (hdrs, line);
    }
  hdrs = curl_slist_append (hdrs, "Expect:");
  curl_easy_setopt (h, CURLOPT_URL, r->url);
  curl_easy_setopt (h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt (h, CURLOPT_USERAGENT, "arca (docker-compatible; linux)");
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT, 15L);
  /* A stalled transfer (under 1 byte/s for 30 s) counts as failed. */
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (h, CURLOPT_HEADERDATA, r);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, r);
  curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, "http,https");
  if (r->basic_user)
    {
      curl_easy_setopt (h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt (h, CURLOPT_USERNAME, r->basic_user);
      curl_easy_setopt (h, CURLOPT_PASSWORD, r->basic_pass ? r->basic_pass : "");
    }
  /* Blob GETs are redirected to storage; follow within http(s). */
  if (strcmp (r->method, "GET") == 0)
    {
      curl_easy_setopt (h, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt (h, CURLOPT_MAXREDIRS, 10L);
    }
  if (strcmp (r->method, "HEAD") == 0)
    curl_easy_setopt (h, CURLOPT_NOBODY, 1L);
  else if (strcmp (r->method, "POST") == 0)
    {
      curl_easy_setopt (h, CURLOPT_POST, 1L);
      curl_easy_setopt (h, CURLOPT_POSTFIELDS, r->body ? r->body : "");
      curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) r->body_len);
    }
  else if (strcmp (r->method, "PUT") == 0)
    {
      curl_easy_setopt (h, CURLOPT_UPLOAD, 1L);
      if (r->body_fd >= 0)
        {
          lseek (r->body_fd, 0, SEEK_SET);
          curl_easy_setopt (h, CURLOPT_READFUNCTION, on_read);
          curl_easy_setopt (h, CURLOPT_READDATA, r);
          curl_easy_setopt (h, CURLOPT_INFILESIZE_LARGE, (curl_off_t) r->body_size);
        }
      else
        {
          /* In-memory body through a memory-backed fd would be overkill:
           * use POSTFIELDS with a custom PUT request instead. */
          curl_easy_setopt (h, CURLOPT_UPLOAD, 0L);
          curl_easy_setopt (h, CURLOPT_POSTFIELDS, r->body ? r->body : "");
          curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) r->body_len);
          curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, "PUT");
        }
    }
  else if (strcmp (r->method, "DELETE") == 0 || strcmp (r->method, "PATCH") == 0)
    curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, r->method);

  CURLcode rc = curl_easy_perform (h);
  curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &r->status);
  curl_slist_free_all (hdrs);
  curl_easy_cleanup (h);
  r->h = NULL;
  if (rc != CURLE_OK)
    {
      if (r->aborted)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "context canceled");
      /* Go's net/http words it "<Method> \"<url>\": <cause>". */
      const char *m = strcmp (r->method, "GET") == 0 ? "Get" : strcmp (r->method, "HEAD") == 0 ? "Head"
                      : strcmp (r->method, "PUT") == 0 ? "Put" : strcmp (r->method, "POST") == 0 ? "Post"
                      : r->method;
      return arca_error_set (err, ARCA_ERR_INTERNAL, "%s \"%s\": %s", m, r->url,
                             errbuf[0] ? errbuf : curl_easy_strerror (rc));
    }
  return 0;
}

/* Registry error body -> "code words: message" (distribution errcode
 * Error.Error()), or "" if there is none. */
static char *
registry_error_text (req_t *r, char **code_out)
{
  _cleanup_json_ json_t *j = r->resp.data ? json_loadb (r->resp.data, r->resp.len, 0, NULL) : NULL;
  json_t *e0 = json_array_get (json_object_get (j, "errors"), 0);
  const char *code = json_get_str (e0, "code");
  const char *msg = json_get_str (e0, "message");
  if (code == NULL)
    {
      if (code_out)
        *code_out = NULL;
      return xstrdup ("");
    }
  char *words = xstrdup (code);
  for (char *p = words; *p; p++)
    *p = *p == '_' ? ' ' : (char) tolower ((unsigned char) *p);
  if (code_out)
    *code_out = xstrdup (code);
  char *out = xasprintf ("%s: %s", words, msg ? msg : "");
  free (words);
  return out;
}

/* A bearer token from the challenge's realm. */
static int
fetch_token (registry_client_t *c, registry_challenge_t *ch, arca_error_t *err)
{
  if (ch->realm == NULL)
    return arca_error_set (err, ARCA_ERR_UNAUTHORIZED, "no realm in bearer challenge");
  if (arca_lazy_curl_load (err) < 0)
    return -1;
  CURL *esc = curl_easy_init ();
  _cleanup_free_ char *scope = NULL;
  char *es = curl_easy_escape (esc, c->scope, 0);
  char *esv = ch->service ? curl_easy_escape (esc, ch->service, 0) : NULL;
  req_t r = { .method = "GET", .body_fd = -1, .out_fd = -1, .expected = -1, .no_auth = true };
  r.url = xasprintf ("%s%sscope=%s%s%s", ch->realm, strchr (ch->realm, '?') ? "&" : "?", es,
                     esv ? "&service=" : "", esv ? esv : "");
  curl_free (es);
  curl_free (esv);
  curl_easy_cleanup (esc);
  if (c->auth.identity_token)
    {
      /* OAuth2 refresh-token grant (distribution token-auth spec). */
      r.method = "POST";
      CURL *e2 = curl_easy_init ();
      char *t = curl_easy_escape (e2, c->auth.identity_token, 0);
      char *sc = curl_easy_escape (e2, c->scope, 0);
      char *sv = curl_easy_escape (e2, ch->service ? ch->service : "", 0);
      _cleanup_free_ char *form = xasprintf ("grant_type=refresh_token&refresh_token=%s&scope=%s&service=%s&client_id=docker", t, sc, sv);
      curl_free (t);
      curl_free (sc);
      curl_free (sv);
      curl_easy_cleanup (e2);
      free (r.url);
      r.url = xstrdup (ch->realm);
      r.body = form;
      r.body_len = strlen (form);
      r.content_type = "application/x-www-form-urlencoded";
      int ret = perform (&r, NULL, err);
      r.body = NULL;
      if (ret < 0)
        {
          req_clear (&r);
          return -1;
        }
    }
  else
    {
      r.basic_user = c->auth.username;
      r.basic_pass = c->auth.password;
      if (perform (&r, NULL, err) < 0)
        {
          req_clear (&r);
          return -1;
        }
    }
  int ret = 0;
  if (r.status != 200)
    {
      _cleanup_free_ char *text = registry_error_text (&r, NULL);
      ret = arca_error_set (err, ARCA_ERR_UNAUTHORIZED, "%s", *text ? text : "unauthorized: authentication required");
    }
  else
    {
      _cleanup_json_ json_t *j = json_loadb (r.resp.data ? r.resp.data : "", r.resp.len, 0, NULL);
      const char *tok = json_get_str (j, "token");
      if (tok == NULL)
        tok = json_get_str (j, "access_token");
      if (tok == NULL)
        ret = arca_error_set (err, ARCA_ERR_UNAUTHORIZED, "authorization server did not include a token in the response");
      else
        {
          pthread_mutex_lock (&c->lock);
          free (c->authz);
          c->authz = xasprintf ("Bearer %s", tok);
          pthread_mutex_unlock (&c->lock);
        }
    }
  req_clear (&r);
  return ret;
}

/* Perform with auth: one retry after answering a 401 challenge. */
static int
do_request (registry_client_t *c, req_t *r, arca_error_t *err)
{
  for (int attempt = 0;; attempt++)
    {
      _cleanup_free_ char *authz = NULL;
      pthread_mutex_lock (&c->lock);
      authz = xstrdup (c->authz);
      pthread_mutex_unlock (&c->lock);
      reset_results (r);
      if (r->out_fd >= 0)
        {
          if (ftruncate (r->out_fd, 0) < 0 || lseek (r->out_fd, 0, SEEK_SET) < 0)
            return arca_error_errno (err, errno, "truncate download");
          if (r->out_digest)
            digest_free (r->out_digest);
          r->out_digest = digest_new ();
        }
      if (perform (r, authz, err) < 0)
        return -1;
      if (r->status != 401 || attempt > 0)
        return 0;
      registry_challenge_t ch;
      if (registry_challenge_parse (r->www_auth, &ch) < 0)
        return 0;
      int ret = 0;
      if (strcmp (ch.scheme, "bearer") == 0)
        ret = fetch_token (c, &ch, err);
      else if (strcmp (ch.scheme, "basic") == 0 && c->auth.username)
        {
          /* Basic credentials, base64 as RFC 7617. */
          _cleanup_free_ char *plain = xasprintf ("%s:%s", c->auth.username, c->auth.password ? c->auth.password : "");
          size_t n = strlen (plain);
          _cleanup_free_ char *enc = xmalloc0 (((n + 2) / 3) * 4 + 1);
          static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
          size_t k = 0;
          for (size_t i = 0; i < n; i += 3)
            {
              uint32_t v = (uint32_t) (unsigned char) plain[i] << 16;
              if (i + 1 < n)
                v |= (uint32_t) (unsigned char) plain[i + 1] << 8;
              if (i + 2 < n)
                v |= (unsigned char) plain[i + 2];
              enc[k++] = tbl[(v >> 18) & 63];
              enc[k++] = tbl[(v >> 12) & 63];
              enc[k++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
              enc[k++] = i + 2 < n ? tbl[v & 63] : '=';
            }
          pthread_mutex_lock (&c->lock);
          free (c->authz);
          c->authz = xasprintf ("Basic %s", enc);
          pthread_mutex_unlock (&c->lock);
        }
      else if (strcmp (ch.scheme, "basic") == 0)
        {
          /* distribution's basic handler without credentials. */
          registry_challenge_clear (&ch);
          const char *m = strcmp (r->method, "HEAD") == 0 ? "Head" : strcmp (r->method, "GET") == 0 ? "Get"
                          : strcmp (r->method, "PUT") == 0 ? "Put" : "Post";
          return arca_error_set (err, ARCA_ERR_INTERNAL, "%s \"%s\": no basic auth credentials", m, r->url);
        }
      else
        {
          registry_challenge_clear (&ch);
          return 0; /* no way to answer: the caller reports the 401 */
        }
      registry_challenge_clear (&ch);
      if (ret < 0)
        return -1;
    }
}

/* ---- client -------------------------------------------------------------------- */

int
registry_client_new (const char *domain, const char *path, const registry_auth_t *auth, bool push,
                     registry_client_t **out, arca_error_t *err)
{
  (void) err;
  registry_client_t *c = xmalloc0 (sizeof *c);
  c->domain = xstrdup (domain);
  c->base = base_url (domain);
  c->path = xstrdup (path ? path : "");
  c->scope = xasprintf ("repository:%s:%s", c->path, push ? "pull,push" : "pull");
  pthread_mutex_init (&c->lock, NULL);
  if (auth)
    {
      c->auth.username = xstrdup (auth->username);
      c->auth.password = xstrdup (auth->password);
      c->auth.identity_token = xstrdup (auth->identity_token);
      c->auth.registry_token = xstrdup (auth->registry_token);
      if (auth->registry_token)
        c->authz = xasprintf ("Bearer %s", auth->registry_token);
    }
  *out = c;
  return 0;
}

void
registry_client_free (registry_client_t *c)
{
  if (c == NULL)
    return;
  free (c->domain);
  free (c->base);
  free (c->path);
  free (c->scope);
  free (c->authz);
  registry_auth_clear (&c->auth);
  pthread_mutex_destroy (&c->lock);
  free (c);
}

const char *
registry_client_base (registry_client_t *c)
{
  return c->base;
}

static arca_error_kind_t
kind_of_status (long status)
{
  switch (status)
    {
    case 401:
      return ARCA_ERR_UNAUTHORIZED;
    case 403:
      return ARCA_ERR_FORBIDDEN;
    case 404:
      return ARCA_ERR_NOT_FOUND;
    case 400:
      return ARCA_ERR_INVALID;
    default:
      return ARCA_ERR_INTERNAL;
    }
}

/* Error for an unexpected status: the registry's errcode text, else
 * distribution's "unexpected status code ..." wording. */
static int
status_error (req_t *r, const char *what, arca_error_t *err)
{
  _cleanup_free_ char *code = NULL;
  _cleanup_free_ char *text = registry_error_text (r, &code);
  if (*text)
    {
      arca_error_set (err, kind_of_status (r->status), "%s", text);
      /* Keep the errcode for callers that word their own message. */
      if (code && strcmp (code, "MANIFEST_UNKNOWN") == 0)
        err->errno_value = 1001;
      else if (code && strcmp (code, "NAME_UNKNOWN") == 0)
        err->errno_value = 1002;
      else if (code && (strcmp (code, "DENIED") == 0 || strcmp (code, "UNAUTHORIZED") == 0))
        err->errno_value = 1003;
      return -1;
    }
  if (r->status == 401)
    {
      arca_error_set (err, ARCA_ERR_UNAUTHORIZED, "unauthorized: authentication required");
      err->errno_value = 1003;
      return -1;
    }
  return arca_error_set (err, kind_of_status (r->status), "%s: unexpected status code %ld %s", what, r->status,
                         r->status == 404 ? "Not Found" : r->status >= 500 ? "Internal Server Error" : "");
}

int
registry_ping (registry_client_t *c, arca_error_t *err)
{
  req_t r = { .method = "GET", .body_fd = -1, .out_fd = -1, .expected = -1 };
  r.url = xasprintf ("%s/v2/", c->base);
  /* A login validates the credentials even where /v2/ is open: with a
   * Basic-only registry the challenge arrives on the first try. */
  int ret = do_request (c, &r, err);
  if (ret == 0 && r.status != 200)
    /* moby registry/auth.go loginV2: the registry refused the
     * credentials it was sent (Basic). */
    ret = arca_error_set (err, ARCA_ERR_INTERNAL, "login attempt to %s failed with status: %ld %s", r.url, r.status,
                          r.status == 401 ? "Unauthorized" : r.status == 403 ? "Forbidden"
                          : r.status == 404 ? "Not Found" : "");
  else if (ret < 0 && err && err->kind == ARCA_ERR_UNAUTHORIZED)
    {
      /* The token server refused them: Go's url.Error around the
       * errcode, answered 401 (translateV2AuthError). */
      _cleanup_free_ char *cause = xstrdup (err->msg);
      ret = arca_error_set (err, ARCA_ERR_UNAUTHORIZED, "Get \"%s\": %s", r.url, cause);
    }
  req_clear (&r);
  return ret;
}

#define MANIFEST_ACCEPT                                                                                             \
  "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, " \
  "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"

int
registry_get_manifest (registry_client_t *c, const char *reference, char **data, size_t *len, char **media_type,
                       char digest[DIGEST_BUF], arca_error_t *err)
{
  req_t r = { .method = "GET", .body_fd = -1, .out_fd = -1, .expected = -1, .accept = MANIFEST_ACCEPT };
  r.url = xasprintf ("%s/v2/%s/manifests/%s", c->base, c->path, reference);
  int ret = do_request (c, &r, err);
  if (ret == 0 && r.status != 200)
    ret = status_error (&r, "manifest", err);
  if (ret == 0)
    {
      digest_buf (r.resp.data ? r.resp.data : "", r.resp.len, digest);
      /* moby distribution pull_v2 schema2ManifestDigest: a manifest asked
       * for by digest is checked with that digest's own algorithm (a
       * reference names only algorithms digest_supported knows). */
      if (strchr (reference, ':') && !digest_matches (reference, r.resp.data ? r.resp.data : "", r.resp.len))
        ret = arca_error_set (err, ARCA_ERR_INVALID, "manifest verification failed for digest %s", reference);
    }
  if (ret == 0)
    {
      *len = r.resp.len;
      *data = xmalloc0 (r.resp.len + 1);
      memcpy (*data, r.resp.data ? r.resp.data : "", r.resp.len);
      _cleanup_json_ json_t *j = json_loadb (*data, *len, 0, NULL);
      const char *mt = json_get_str (j, "mediaType");
      if (mt == NULL && r.resp_type)
        {
          size_t n = strcspn (r.resp_type, ";");
          *media_type = strndup (r.resp_type, n);
        }
      else
        *media_type = xstrdup (mt ? mt : (json_object_get (j, "manifests") ? MT_OCI_INDEX : MT_OCI_MANIFEST));
    }
  req_clear (&r);
  return ret;
}

int
registry_get_blob (registry_client_t *c, const char *digest, int64_t size, const char *dest,
                   registry_progress_fn progress, void *ctx, arca_error_t *err)
{
  int ret = -1;
  for (int attempt = 0; attempt < 4; attempt++)
    {
      if (attempt > 0)
        {
          log_info ("registry: retrying blob %s (attempt %d): %s", digest, attempt + 1, err->msg);
          sleep ((unsigned) attempt);
        }
      _cleanup_close_ int fd = open (dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd < 0)
        return arca_error_errno (err, errno, "create %s", dest);
      req_t r = { .method = "GET", .body_fd = -1, .out_fd = fd, .expected = size, .progress = progress, .ctx = ctx };
      r.url = xasprintf ("%s/v2/%s/blobs/%s", c->base, c->path, digest);
      ret = do_request (c, &r, err);
      bool transient = ret < 0 && !r.aborted;
      if (ret == 0 && r.status != 200)
        {
          ret = status_error (&r, "blob", err);
          transient = r.status >= 500 || r.status == 429;
        }
      if (ret == 0)
        {
          char got[DIGEST_BUF];
          digest_final (r.out_digest, got);
          r.out_digest = NULL;
          if (size >= 0 && r.out_bytes != size)
            {
              ret = arca_error_set (err, ARCA_ERR_INTERNAL, "unexpected EOF: got %lld of %lld bytes of %s",
                                    (long long) r.out_bytes, (long long) size, digest);
              transient = true;
            }
          else if (strcmp (got, digest) != 0)
            ret = arca_error_set (err, ARCA_ERR_INVALID, "filesystem layer verification failed for digest %s", digest);
          else if (fsync (fd) < 0)
            ret = arca_error_errno (err, errno, "fsync %s", dest);
        }
      if (r.out_digest)
        digest_free (r.out_digest);
      req_clear (&r);
      if (ret == 0 || !transient)
        break;
    }
  if (ret < 0)
    unlink (dest);
  return ret;
}

int
registry_blob_exists (registry_client_t *c, const char *digest, arca_error_t *err)
{
  req_t r = { .method = "HEAD", .body_fd = -1, .out_fd = -1, .expected = -1 };
  r.url = xasprintf ("%s/v2/%s/blobs/%s", c->base, c->path, digest);
  int ret = do_request (c, &r, err);
  if (ret == 0)
    ret = r.status == 200 ? 1 : r.status == 404 ? 0 : status_error (&r, "blob", err);
  req_clear (&r);
  return ret;
}

/* An absolute upload URL from a Location header. */
static char *
resolve_location (registry_client_t *c, const char *loc)
{
  if (str_has_prefix (loc, "http://") || str_has_prefix (loc, "https://"))
    return xstrdup (loc);
  return xasprintf ("%s%s%s", c->base, loc[0] == '/' ? "" : "/", loc);
}

int
registry_blob_mount (registry_client_t *c, const char *digest, const char *from, arca_error_t *err)
{
  req_t r = { .method = "POST", .body_fd = -1, .out_fd = -1, .expected = -1 };
  r.url = xasprintf ("%s/v2/%s/blobs/uploads/?mount=%s&from=%s", c->base, c->path, digest, from);
  int ret = do_request (c, &r, err);
  if (ret == 0)
    {
      if (r.status == 201)
        ret = 1;
      else if (r.status == 202)
        {
          /* An upload was opened instead: cancel it. */
          if (r.location)
            {
              req_t d = { .method = "DELETE", .body_fd = -1, .out_fd = -1, .expected = -1 };
              d.url = resolve_location (c, r.location);
              arca_error_t derr = { 0 };
              do_request (c, &d, &derr);
              req_clear (&d);
            }
          ret = 0;
        }
      else
        ret = status_error (&r, "mount", err);
    }
  req_clear (&r);
  return ret;
}

int
registry_blob_upload (registry_client_t *c, const char *digest, const char *path, registry_progress_fn progress,
                      void *ctx, arca_error_t *err)
{
  req_t r = { .method = "POST", .body_fd = -1, .out_fd = -1, .expected = -1 };
  r.url = xasprintf ("%s/v2/%s/blobs/uploads/", c->base, c->path);
  int ret = do_request (c, &r, err);
  if (ret == 0 && (r.status != 202 || r.location == NULL))
    ret = status_error (&r, "upload", err);
  if (ret < 0)
    {
      req_clear (&r);
      return -1;
    }
  _cleanup_free_ char *loc = resolve_location (c, r.location);
  req_clear (&r);

  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    return arca_error_errno (err, errno, "open %s", path);
  req_t p = { .method = "PUT", .body_fd = fd, .body_size = st.st_size, .out_fd = -1, .expected = -1,
              .progress = progress, .ctx = ctx, .content_type = "application/octet-stream" };
  p.url = xasprintf ("%s%cdigest=%s", loc, strchr (loc, '?') ? '&' : '?', digest);
  ret = do_request (c, &p, err);
  if (ret == 0 && p.status != 201)
    ret = status_error (&p, "upload", err);
  req_clear (&p);
  return ret;
}

int
registry_put_manifest (registry_client_t *c, const char *reference, const char *media_type, const char *data,
                       size_t len, arca_error_t *err)
{
  req_t r = { .method = "PUT", .body_fd = -1, .out_fd = -1, .expected = -1, .content_type = media_type,
              .body = data, .body_len = len };
  r.url = xasprintf ("%s/v2/%s/manifests/%s", c->base, c->path, reference);
  int ret = do_request (c, &r, err);
  if (ret == 0 && r.status != 201 && r.status != 200)
    ret = status_error (&r, "manifest", err);
  req_clear (&r);
  return ret;
}

/* ---- login ------------------------------------------------------------------------- */

int
registry_login (const registry_auth_t *auth, arca_error_t *err)
{
  const char *addr = auth->server_address ? auth->server_address : "docker.io";
  _cleanup_free_ char *domain = NULL;
  if (str_has_prefix (addr, "https://"))
    addr += 8;
  else if (str_has_prefix (addr, "http://"))
    addr += 7;
  domain = strndup (addr, strcspn (addr, "/"));
  if (strcmp (domain, "index.docker.io") == 0 || strcmp (domain, "registry-1.docker.io") == 0 || *domain == '\0')
    {
      free (domain);
      domain = xstrdup ("docker.io");
    }
  registry_client_t *c = NULL;
  if (registry_client_new (domain, "", auth, false, &c, err) < 0)
    return -1;
  /* Token scope for a login is the registry's catalog-free default. */
  free (c->scope);
  c->scope = xstrdup ("");
  int ret = registry_ping (c, err);
  registry_client_free (c);
  return ret;
}
