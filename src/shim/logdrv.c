/* The container's log, as the daemon's logging driver settings say
 * (engine/logdrivers.c writes them; moby daemon/logger): json-file and
 * local files rotated by util/logfile, syslog messages in srslog's
 * formats, the local cache beside syslog, or nothing. */
#include "shim/shim.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/jsonlog.h"
#include "util/locallog.h"
#include "util/log.h"
#include "util/logfile.h"
#include "util/timeutil.h"

typedef enum { LOG_NONE, LOG_JSON_FILE, LOG_LOCAL, LOG_SYSLOG } log_kind_t;

struct shim_log
{
  log_kind_t kind;
  logfile_t file;     /* json-file, local */
  bool has_file;
  char *attrs;        /* json-file "attrs" (compact JSON), NULL if none */
  logfile_t cache;    /* syslog's local cache */
  bool has_cache;
  int sock;           /* syslog */
  bool stream_sock;   /* tcp / unix stream: messages end with \n */
  int facility;
  char *tag, *format, *hostname;
  arca_buf_t buf;
};

static int
open_file (logfile_t *lf, json_t *c, char **err_msg)
{
  arca_error_t err;
  if (logfile_open (lf, json_string_value (json_object_get (c, "path")), json_integer_value (json_object_get (c, "max_size")),
                    (int) json_integer_value (json_object_get (c, "max_files")),
                    json_is_true (json_object_get (c, "compress")), &err)
      < 0)
    {
      *err_msg = xstrdup (err.msg);
      return -1;
    }
  return 0;
}

static int
connect_syslog (struct shim_log *l, json_t *c, char **err_msg)
{
  const char *proto = json_string_value (json_object_get (c, "proto"));
  const char *addr = json_string_value (json_object_get (c, "address"));
  if (proto == NULL || addr == NULL)
    return -1;
  if (strncmp (proto, "unix", 4) == 0)
    {
      /* srslog unixSyslog tries datagram, then stream */
      struct sockaddr_un sa = { .sun_family = AF_UNIX };
      snprintf (sa.sun_path, sizeof sa.sun_path, "%s", addr);
      int types[2] = { strcmp (proto, "unix") == 0 ? SOCK_STREAM : SOCK_DGRAM,
                       strcmp (proto, "unix") == 0 ? SOCK_DGRAM : SOCK_STREAM };
      for (int i = 0; i < 2; i++)
        {
          int fd = socket (AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
          if (fd >= 0 && connect (fd, (struct sockaddr *) &sa, sizeof sa) == 0)
            {
              l->sock = fd;
              l->stream_sock = types[i] == SOCK_STREAM;
              return 0;
            }
          if (fd >= 0)
            close (fd);
        }
      *err_msg = xasprintf ("failed to initialize logging driver: dial %s %s: %s", proto, addr, strerror (errno));
      return -1;
    }
  _cleanup_free_ char *host = xstrdup (addr);
  char *colon = strrchr (host, ':');
  const char *port = "514";
  if (colon)
    {
      *colon = '\0';
      port = colon + 1;
    }
  if (host[0] == '[')
    {
      memmove (host, host + 1, strlen (host));
      char *rb = strchr (host, ']');
      if (rb)
        *rb = '\0';
    }
  struct addrinfo hints = { .ai_socktype = strcmp (proto, "tcp") == 0 ? SOCK_STREAM : SOCK_DGRAM }, *res = NULL;
  if (getaddrinfo (host, port, &hints, &res) != 0 || res == NULL)
    {
      *err_msg = xasprintf ("failed to initialize logging driver: dial %s %s: no such host", proto, addr);
      return -1;
    }
  int fd = socket (res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, res->ai_addr, res->ai_addrlen) < 0)
    {
      *err_msg = xasprintf ("failed to initialize logging driver: dial %s %s: %s", proto, addr, strerror (errno));
      if (fd >= 0)
        close (fd);
      freeaddrinfo (res);
      return -1;
    }
  freeaddrinfo (res);
  l->sock = fd;
  l->stream_sock = strcmp (proto, "tcp") == 0;
  return 0;
}

int
shim_log_open (shim_t *s, char **err_msg)
{
  struct shim_log *l = xmalloc0 (sizeof *l);
  l->sock = -1;
  s->log = l;
  if (s->log_config == NULL)
    {
      /* --log-path alone: json-file without rotation */
      if (s->log_path == NULL || *s->log_path == '\0')
        return 0;
      l->kind = LOG_JSON_FILE;
      arca_error_t err;
      if (logfile_open (&l->file, s->log_path, -1, 1, false, &err) < 0)
        {
          *err_msg = xstrdup (err.msg);
          return -1;
        }
      l->has_file = true;
      return 0;
    }
  json_error_t jerr;
  _cleanup_json_ json_t *c = json_load_file (s->log_config, 0, &jerr);
  if (c == NULL)
    {
      *err_msg = xasprintf ("log config %s: %s", s->log_config, jerr.text);
      return -1;
    }
  const char *driver = json_string_value (json_object_get (c, "driver"));
  if (driver == NULL || strcmp (driver, "none") == 0)
    return 0;
  if (strcmp (driver, "json-file") == 0 || strcmp (driver, "local") == 0)
    {
      l->kind = driver[0] == 'j' ? LOG_JSON_FILE : LOG_LOCAL;
      if (open_file (&l->file, c, err_msg) < 0)
        return -1;
      l->has_file = true;
      json_t *attrs = json_object_get (c, "attrs");
      if (json_object_size (attrs) > 0)
        l->attrs = json_dumps (attrs, JSON_COMPACT | JSON_SORT_KEYS);
      return 0;
    }
  if (strcmp (driver, "syslog") == 0)
    {
      l->kind = LOG_SYSLOG;
      json_t *sc = json_object_get (c, "syslog");
      if (connect_syslog (l, sc, err_msg) < 0)
        return -1;
      l->facility = (int) json_integer_value (json_object_get (sc, "facility"));
      l->tag = xstrdup (json_string_value (json_object_get (sc, "tag")));
      l->format = xstrdup (json_string_value (json_object_get (sc, "format")));
      char host[256] = "";
      gethostname (host, sizeof host - 1);
      l->hostname = xstrdup (host);
      json_t *cache = json_object_get (c, "cache");
      if (cache)
        {
          if (open_file (&l->cache, cache, err_msg) < 0)
            return -1;
          l->has_cache = true;
        }
      return 0;
    }
  *err_msg = xasprintf ("unknown log driver %s", driver);
  return -1;
}

/* srslog formatters: UnixFormatter ("" on any socket: no hostname),
 * RFC3164Formatter, and dockerd's RFC 5424 ones with the tag as app name. */
static void
syslog_send (struct shim_log *l, bool is_err, const char *line, size_t len, int64_t now_ns)
{
  if (len == 0 || l->sock < 0)
    return;
  int pri = l->facility * 8 + (is_err ? 3 : 6);
  time_t secs = (time_t) (now_ns / 1000000000LL);
  struct tm tm;
  char ts[64];
  arca_buf_t *b = &l->buf;
  b->len = 0;
  if (strcmp (l->format, "rfc5424") == 0 || strcmp (l->format, "rfc5424micro") == 0)
    {
      localtime_r (&secs, &tm);
      char zone[8];
      strftime (zone, sizeof zone, "%z", &tm);
      char tz[8];
      if (strcmp (zone, "+0000") == 0)
        snprintf (tz, sizeof tz, "Z");
      else
        snprintf (tz, sizeof tz, "%.3s:%.2s", zone, zone + 3);
      strftime (ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
      if (l->format[7] == 'm')
        buf_printf (b, "<%d>1 %s.%06ld%s %s %s %d %s - ", pri, ts, (long) ((now_ns / 1000) % 1000000), tz,
                    l->hostname, l->tag, (int) getpid (), l->tag);
      else
        buf_printf (b, "<%d>1 %s%s %s %s %d %s - ", pri, ts, tz, l->hostname, l->tag, (int) getpid (), l->tag);
    }
  else
    {
      localtime_r (&secs, &tm);
      strftime (ts, sizeof ts, "%b %e %H:%M:%S", &tm);
      if (strcmp (l->format, "rfc3164") == 0)
        buf_printf (b, "<%d>%s %s %s[%d]: ", pri, ts, l->hostname, l->tag, (int) getpid ());
      else
        buf_printf (b, "<%d>%s %s[%d]: ", pri, ts, l->tag, (int) getpid ());
    }
  buf_append (b, line, len);
  if (l->stream_sock)
    buf_append (b, "\n", 1);
  if (send (l->sock, b->data, b->len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
    log_warn ("syslog: %s", strerror (errno));
}

void
shim_log_entry (shim_t *s, const char *stream, const char *data, size_t len, int64_t now_ns)
{
  struct shim_log *l = s->log;
  if (l == NULL || l->kind == LOG_NONE)
    return;
  /* Without its newline, a line is a partial message (an over-long line's
   * piece, or the last output without one). */
  bool complete = len > 0 && data[len - 1] == '\n';
  size_t line_len = complete ? len - 1 : len;
  l->buf.len = 0;
  switch (l->kind)
    {
    case LOG_JSON_FILE:
      jsonlog_format_line_attrs (&l->buf, stream, data, len, l->attrs, now_ns);
      logfile_write (&l->file, l->buf.data, l->buf.len, now_ns);
      break;
    case LOG_LOCAL:
      locallog_encode (&l->buf, stream, data, line_len, !complete, now_ns);
      logfile_write (&l->file, l->buf.data, l->buf.len, now_ns);
      break;
    case LOG_SYSLOG:
      syslog_send (l, strcmp (stream, "stderr") == 0, data, line_len, now_ns);
      if (l->has_cache)
        {
          l->buf.len = 0;
          locallog_encode (&l->buf, stream, data, line_len, !complete, now_ns);
          logfile_write (&l->cache, l->buf.data, l->buf.len, now_ns);
        }
      break;
    default:
      break;
    }
}

void
shim_log_close (shim_t *s)
{
  struct shim_log *l = s->log;
  if (l == NULL)
    return;
  if (l->has_file)
    logfile_close (&l->file);
  if (l->has_cache)
    logfile_close (&l->cache);
  if (l->sock >= 0)
    close (l->sock);
  free (l->attrs);
  free (l->tag);
  free (l->format);
  free (l->hostname);
  buf_free (&l->buf);
  free (l);
  s->log = NULL;
}
