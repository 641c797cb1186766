/* The container's log, as the daemon's logging driver settings say
 * (engine/logdrivers.c writes them; moby daemon/logger): json-file and
 * local files rotated by util/logfile, syslog messages in srslog's
 * formats, the local cache beside syslog, or nothing.
 *
 * Syslog messages the socket does not take at once wait in a queue.  In
 * the blocking mode (the default) the shim stops reading the container's
 * output while any wait, so a stalled syslog server stalls the container's
 * writes, as dockerd's copier blocks on its driver.  In the non-blocking
 * mode (moby daemon/logger/ring.go) the queue holds at most
 * max-buffer-size bytes of messages (1e6 by default) and what does not fit
 * is dropped, so the container never waits for its log.  Files are
 * written at once in both modes. */
#include "shim/shim.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
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
  bool nonblocking;   /* mode=non-blocking */
  size_t max_buffer;  /* max-buffer-size (bytes of queued messages) */
  arca_buf_t queue;   /* syslog messages not sent yet: [u32 length][bytes]... */
  size_t queue_off;   /* start of the first entry in queue */
  size_t head_sent;   /* bytes of the first entry already sent (stream sockets) */
  size_t queued;      /* message bytes in queue */
  uint64_t dropped;   /* messages dropped by the non-blocking mode */
  struct sockaddr_storage peer; /* the server, to dial again after a failure */
  socklen_t peer_len;
  int peer_family, peer_type;
  int64_t redial_ns;  /* not before (monotonic) */
};

#define RING_DEFAULT_MAX (1000 * 1000) /* moby defaultRingMaxSize = 1e6 */

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

static void
remember_peer (struct shim_log *l, int family, int type, const void *addr, socklen_t len)
{
  l->peer_family = family;
  l->peer_type = type;
  memcpy (&l->peer, addr, len);
  l->peer_len = len;
}

/* After a write error, as srslog: dial the same address again, without
 * waiting (a server that went away must not stall the shim's loop); the
 * queue waits for the connection as for a full socket. */
static void
redial_syslog (struct shim_log *l)
{
  l->redial_ns = time_mono_ns () + 1000000000LL;
  int fd = socket (l->peer_family, l->peer_type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return;
  if (connect (fd, (struct sockaddr *) &l->peer, l->peer_len) < 0 && errno != EINPROGRESS)
    {
      close (fd);
      return;
    }
  l->sock = fd;
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
              remember_peer (l, AF_UNIX, types[i], &sa, sizeof sa);
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
  remember_peer (l, res->ai_family, res->ai_socktype, res->ai_addr, res->ai_addrlen);
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
      json_t *mbs = json_object_get (c, "max_buffer_size");
      l->nonblocking = json_is_true (json_object_get (c, "nonblocking"));
      l->max_buffer = json_is_integer (mbs) && json_integer_value (mbs) > 0 ? (size_t) json_integer_value (mbs)
                                                                             : RING_DEFAULT_MAX;
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

static void
queue_reset (struct shim_log *l)
{
  l->queue.len = l->queue_off = l->head_sent = l->queued = 0;
}

/* Send what the socket takes now, oldest first; false if the socket failed
 * (the queue is then dropped: nobody will read it). */
static bool
queue_flush (struct shim_log *l)
{
  while (l->queue_off < l->queue.len)
    {
      uint32_t len;
      memcpy (&len, l->queue.data + l->queue_off, sizeof len);
      const char *msg = l->queue.data + l->queue_off + sizeof len;
      ssize_t n = send (l->sock, msg + l->head_sent, len - l->head_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return true;
      if (n < 0)
        {
          /* srslog dials again on a write error; here at the next message,
           * at most once a second */
          log_warn ("syslog: %s; %zu bytes of messages dropped", strerror (errno), l->queued);
          queue_reset (l);
          close (l->sock);
          l->sock = -1;
          l->redial_ns = time_mono_ns () + 1000000000LL; /* the next message dials again */
          return false;
        }
      l->head_sent += (size_t) n;
      if (l->head_sent < len && l->stream_sock)
        continue;
      /* whole, or a datagram (sent whole or not at all) */
      l->queued -= len;
      l->queue_off += sizeof len + len;
      l->head_sent = 0;
    }
  queue_reset (l);
  return true;
}

static void
queue_message (struct shim_log *l, const char *msg, size_t len)
{
  /* moby messageRing.Enqueue: a message that does not fit is dropped,
   * unless the queue is empty */
  if (l->nonblocking && l->queued > 0 && l->queued + len > l->max_buffer)
    {
      if (l->dropped++ == 0)
        log_warn ("syslog: the server does not keep up; dropping messages (mode=non-blocking, max-buffer-size %zu)",
                  l->max_buffer);
      return;
    }
  if (l->queue_off > 0 && l->queue_off >= l->queue.len / 2)
    {
      memmove (l->queue.data, l->queue.data + l->queue_off, l->queue.len - l->queue_off);
      l->queue.len -= l->queue_off;
      l->queue_off = 0;
    }
  uint32_t len32 = (uint32_t) len;
  buf_append (&l->queue, &len32, sizeof len32);
  buf_append (&l->queue, msg, len);
  l->queued += len;
  queue_flush (l);
}

/* srslog formatters: UnixFormatter ("" on any socket: no hostname),
 * RFC3164Formatter, and dockerd's RFC 5424 ones with the tag as app name. */
static void
syslog_send (struct shim_log *l, bool is_err, const char *line, size_t len, int64_t now_ns)
{
  if (len == 0)
    return;
  if (l->sock < 0 && l->peer_len > 0 && time_mono_ns () >= l->redial_ns)
    redial_syslog (l);
  if (l->sock < 0)
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
  queue_message (l, b->data, b->len);
}

int
shim_log_wait_fd (shim_t *s)
{
  struct shim_log *l = s->log;
  return l && l->sock >= 0 && l->queued > 0 ? l->sock : -1;
}

void
shim_log_writable (shim_t *s)
{
  if (s->log && s->log->sock >= 0)
    queue_flush (s->log);
}

bool
shim_log_blocks (shim_t *s)
{
  struct shim_log *l = s->log;
  return l && !l->nonblocking && l->queued > 0;
}

/* At the container's end: what is queued gets at most timeout_ms more. */
static void
queue_drain (struct shim_log *l, int timeout_ms)
{
  int64_t deadline = time_mono_ns () + (int64_t) timeout_ms * 1000000;
  while (l->queued > 0 && queue_flush (l) && l->queued > 0)
    {
      int64_t left = (deadline - time_mono_ns ()) / 1000000;
      struct pollfd p = { .fd = l->sock, .events = POLLOUT };
      if (left <= 0 || poll (&p, 1, (int) left) <= 0)
        break;
    }
  if (l->queued > 0)
    log_warn ("syslog: %zu bytes of messages not delivered at the container's end", l->queued);
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
shim_log_flush (shim_t *s)
{
  struct shim_log *l = s->log;
  if (l == NULL)
    return;
  if (l->has_file)
    logfile_flush (&l->file);
  if (l->has_cache)
    logfile_flush (&l->cache);
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
    {
      queue_drain (l, 2000);
      close (l->sock);
    }
  buf_free (&l->queue);
  free (l->attrs);
  free (l->tag);
  free (l->format);
  free (l->hostname);
  buf_free (&l->buf);
  free (l);
  s->log = NULL;
}
