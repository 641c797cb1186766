/* HTTP downloads with libcurl (see fetch.h). */
#include "build/fetch.h"

#include <stdbool.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/lazy_curl.h"
#include "util/strutil.h"
#include "util/timeutil.h"

void
fetch_info_clear (fetch_info_t *i)
{
  free (i->content_type);
  free (i->content_disposition);
  free (i->last_modified);
  memset (i, 0, sizeof *i);
}

typedef struct
{
  int fd;
  int64_t received;
  int write_errno;
  fetch_info_t *info;
  char *status_line;      /* "404 Not Found" of the last response */
  fetch_progress_fn progress;
  void *ctx;
  int64_t last_report;
} xfer_t;

static size_t
on_data (char *p, size_t size, size_t n, void *ud)
{
  xfer_t *x = ud;
  size_t len = size * n;
  size_t done = 0;
  while (done < len)
    {
      ssize_t w = write (x->fd, p + done, len - done);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        {
          x->write_errno = errno ? errno : EIO;
          return 0;
        }
      done += (size_t) w;
    }
  x->received += (int64_t) len;
  int64_t now = time_mono_ns ();
  if (x->progress && now - x->last_report > 100000000LL)
    {
      x->last_report = now;
      x->progress (x->ctx, x->received, x->info->content_length);
    }
  return len;
}

static char *
header_value (const char *line, size_t len, const char *name)
{
  size_t nl = strlen (name);
  if (len <= nl || strncasecmp (line, name, nl) != 0 || line[nl] != ':')
    return NULL;
  const char *v = line + nl + 1;
  const char *end = line + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  return strndup (v, (size_t) (end - v));
}

static size_t
on_header (char *p, size_t size, size_t n, void *ud)
{
  xfer_t *x = ud;
  size_t len = size * n;
  if (len > 5 && strncmp (p, "HTTP/", 5) == 0)
    {
      /* a new response (after a redirect): forget the previous headers */
      const char *sp = memchr (p, ' ', len);
      free (x->status_line);
      x->status_line = NULL;
      if (sp)
        {
          const char *end = p + len;
          while (end > sp && (end[-1] == '\r' || end[-1] == '\n'))
            end--;
          x->status_line = strndup (sp + 1, (size_t) (end - sp - 1));
        }
      fetch_info_clear (x->info);
      x->info->content_length = -1;
      return len;
    }
  char *v;
  if ((v = header_value (p, len, "Content-Type")))
    {
      free (x->info->content_type);
      x->info->content_type = v;
    }
  else if ((v = header_value (p, len, "Content-Disposition")))
    {
      free (x->info->content_disposition);
      x->info->content_disposition = v;
    }
  else if ((v = header_value (p, len, "Last-Modified")))
    {
      free (x->info->last_modified);
      x->info->last_modified = v;
    }
  else if ((v = header_value (p, len, "Content-Length")))
    {
      x->info->content_length = strtoll (v, NULL, 10);
      free (v);
    }
  return len;
}

/* host:port of an http(s) URL (the default port filled in). */
static char *
url_host_port (const char *url)
{
  bool https = strncmp (url, "https://", 8) == 0;
  const char *h = strstr (url, "://");
  h = h ? h + 3 : url;
  size_t n = strcspn (h, "/?#");
  _cleanup_free_ char *hp = strndup (h, n);
  const char *at = strrchr (hp, '@');
  const char *host = at ? at + 1 : hp;
  const char *colon = strrchr (host, ':');
  if (colon && (host[0] != '[' || colon > strchr (host, ']')))
    return xstrdup (host);
  return xasprintf ("%s:%s", host, https ? "443" : "80");
}

/* syscall.Errno strings are strerror in lower case */
static char *
go_errno_string (int e)
{
  char *s = xstrdup (strerror (e));
  if (*s >= 'A' && *s <= 'Z')
    *s = (char) (*s - 'A' + 'a');
  return s;
}

static arca_error_kind_t
status_kind (long code)
{
  switch (code)
    {
    case 404: return ARCA_ERR_NOT_FOUND;
    case 400: return ARCA_ERR_INVALID;
    case 401: return ARCA_ERR_UNAUTHORIZED;
    case 403: return ARCA_ERR_FORBIDDEN;
    default: return ARCA_ERR_INTERNAL;
    }
}

int
fetch_url (const char *url, int out_fd, fetch_info_t *info, fetch_progress_fn progress, void *ctx, arca_error_t *err)
{
  if (arca_lazy_curl_load (err) < 0)
    return -1;
  memset (info, 0, sizeof *info);
  info->content_length = -1;
  CURL *c = curl_easy_init ();
  if (c == NULL)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "Get \"%s\": cannot create an HTTP client", url);
  xfer_t x = { .fd = out_fd, .info = info, .progress = progress, .ctx = ctx };
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt (c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (c, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt (c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt (c, CURLOPT_USERAGENT, "Go-http-client/1.1");
  curl_easy_setopt (c, CURLOPT_ACCEPT_ENCODING, NULL);
  CURLcode rc = curl_easy_perform (c);
  long code = 0, os_errno = 0;
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_getinfo (c, CURLINFO_OS_ERRNO, &os_errno);
  curl_easy_cleanup (c);
  int ret = 0;
  if (rc != CURLE_OK)
    {
      arca_error_kind_t kind = rc == CURLE_COULDNT_RESOLVE_HOST ? ARCA_ERR_NOT_FOUND : ARCA_ERR_INTERNAL;
      _cleanup_free_ char *hostport = url_host_port (url);
      if (x.write_errno)
        ret = arca_error_set (err, ARCA_ERR_INTERNAL, "Get \"%s\": write: %s", url, strerror (x.write_errno));
      else if (rc == CURLE_COULDNT_CONNECT && os_errno)
        {
          /* Go's net error text: dial tcp <addr>: connect: connection refused */
          _cleanup_free_ char *why = go_errno_string ((int) os_errno);
          ret = arca_error_set (err, kind, "Get \"%s\": dial tcp %s: connect: %s", url, hostport, why);
        }
      else if (rc == CURLE_COULDNT_RESOLVE_HOST)
        {
          _cleanup_free_ char *host = strndup (hostport, strcspn (hostport, ":"));
          ret = arca_error_set (err, kind, "Get \"%s\": dial tcp: lookup %s: no such host", url, host);
        }
      else
        ret = arca_error_set (err, kind, "Get \"%s\": %s", url, *errbuf ? errbuf : curl_easy_strerror (rc));
    }
  else if (code >= 400)
    {
      /* the body follows the status, trimmed */
      char body[4096] = "";
      ssize_t n = pread (out_fd, body, sizeof body - 1, 0);
      if (n < 0)
        n = 0;
      body[n] = '\0';
      char *b = body;
      while (*b == ' ' || *b == '\n' || *b == '\r' || *b == '\t')
        b++;
      size_t bl = strlen (b);
      while (bl > 0 && (b[bl - 1] == ' ' || b[bl - 1] == '\n' || b[bl - 1] == '\r' || b[bl - 1] == '\t'))
        b[--bl] = '\0';
      ret = arca_error_set (err, status_kind (code), "failed to GET %s with status %s: %s", url,
                            x.status_line ? x.status_line : "", b);
    }
  else if (progress)
    progress (ctx, x.received, info->content_length);
  free (x.status_line);
  if (ret < 0)
    fetch_info_clear (info);
  return ret;
}
