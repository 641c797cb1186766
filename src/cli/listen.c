/* The daemon's API listeners: -H/--host values, TLS and the unix socket's
 * owner and mode, after dockerd (moby cmd/dockerd daemon.go loadListeners,
 * opts/hosts.go ParseHost, pkg/listeners listeners_linux.go).
 *
 * Plain TCP: dockerd up to 26 warned and slept 15 s for a non-loopback
 * address without --tlsverify; from 27 (the docker 28 era Arca follows) it
 * refuses to start unless the user said --tls=false or --tlsverify=false.
 * Arca does the same: an unauthenticated non-loopback TCP listener needs
 * that explicit opt-out, and is then started with dockerd's warnings (no
 * sleep).  Loopback addresses get the warnings only (a browser's scripts
 * can still reach them). */
#include "cli/cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"
#include "util/strutil.h"

#define DEFAULT_TCP_HOST "127.0.0.1"
#define DEFAULT_HTTP_PORT "2375"
#define DEFAULT_TLS_PORT "2376"

/* moby opts.ParseTCPAddr: "tcp://[host]:[port]", no path; "[v6]:port". */
static int
parse_tcp (const char *addr, bool tls, char **out, arca_error_t *err)
{
  const char *in = addr;
  _cleanup_free_ char *host = NULL;
  const char *port;
  if (strchr (addr, '/') || strchr (addr, '?') || strchr (addr, '#'))
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid bind address (tcp://%s): should not contain a path element",
                           in);
  if (addr[0] == '[')
    {
      const char *close = strchr (addr, ']');
      if (close == NULL || (close[1] != '\0' && close[1] != ':'))
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid bind address (tcp://%s)", in);
      host = strndup (addr + 1, (size_t) (close - addr - 1));
      port = close[1] == ':' ? close + 2 : "";
    }
  else
    {
      const char *colon = strrchr (addr, ':');
      if (colon && strchr (addr, ':') != colon)
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid bind address (tcp://%s): too many colons", in);
      host = colon ? strndup (addr, (size_t) (colon - addr)) : xstrdup (addr);
      port = colon ? colon + 1 : "";
    }
  if (*port == '\0')
    port = tls ? DEFAULT_TLS_PORT : DEFAULT_HTTP_PORT;
  char *end;
  long p = strtol (port, &end, 10);
  if (*end || p < 0 || p > 65535)
    return arca_error_set (err, ARCA_ERR_INVALID, "invalid bind address (tcp://%s): invalid port \"%s\"", in, port);
  const char *h = host[0] ? host : DEFAULT_TCP_HOST;
  *out = strchr (h, ':') ? xasprintf ("tcp://[%s]:%ld", h, p) : xasprintf ("tcp://%s:%ld", h, p);
  return 0;
}

int
cli_host_parse (const char *in, const char *default_socket, bool tls, char **out, arca_error_t *err)
{
  *out = NULL;
  _cleanup_free_ char *s = xstrdup (in);
  /* moby ParseHost trims spaces */
  char *b = s;
  while (*b == ' ' || *b == '\t')
    b++;
  size_t n = strlen (b);
  while (n > 0 && (b[n - 1] == ' ' || b[n - 1] == '\t'))
    b[--n] = '\0';
  if (*b == '\0')
    {
      *out = xasprintf ("unix://%s", default_socket);
      return 0;
    }
  const char *sep = strstr (b, "://");
  if (sep == NULL)
    {
      /* "host:port" without a scheme is TCP (moby parseDaemonHost), "/x" not */
      if (b[0] == '/')
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid bind address (%s): unsupported protocol", b);
      return parse_tcp (b, tls, out, err);
    }
  size_t plen = (size_t) (sep - b);
  const char *rest = sep + 3;
  if (plen == 4 && strncmp (b, "unix", 4) == 0)
    {
      if (*rest == '\0')
        rest = default_socket;
      if (rest[0] != '/')
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid bind address (%s): the socket path must be absolute",
                               b);
      if (strlen (rest) >= sizeof ((struct sockaddr_un *) 0)->sun_path)
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid bind address (%s): socket path too long", b);
      *out = xasprintf ("unix://%s", rest);
      return 0;
    }
  if (plen == 3 && strncmp (b, "tcp", 3) == 0)
    return parse_tcp (rest, tls, out, err);
  if (plen == 2 && strncmp (b, "fd", 2) == 0)
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "invalid bind address (%s): fd:// (systemd socket activation) is not supported by arca", b);
  return arca_error_set (err, ARCA_ERR_INVALID, "invalid bind address (%s): unsupported protocol", b);
}

/* "tcp://h:p" -> h (no brackets), p. */
static void
split_tcp (const char *host, char **h, char **p)
{
  const char *a = host + strlen ("tcp://");
  const char *colon = strrchr (a, ':');
  if (a[0] == '[')
    *h = strndup (a + 1, (size_t) (colon - a - 2));
  else
    *h = strndup (a, (size_t) (colon - a));
  *p = xstrdup (colon + 1);
}

/* Every address h resolves to is a loopback one (moby: net.ParseIP, else
 * ResolveIPAddr, then IsLoopback; literal "localhost" shortcut). */
static bool
host_is_loopback (const char *h)
{
  if (strcmp (h, "localhost") == 0)
    return true;
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
  if (getaddrinfo (h, NULL, &hints, &res) != 0 || res == NULL)
    return false;
  bool loop = true;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
    {
      if (ai->ai_family == AF_INET)
        loop = loop && (ntohl (((struct sockaddr_in *) ai->ai_addr)->sin_addr.s_addr) >> 24) == 127;
      else if (ai->ai_family == AF_INET6)
        {
          const struct in6_addr *a6 = &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr;
          loop = loop && (IN6_IS_ADDR_LOOPBACK (a6)
                          || (IN6_IS_ADDR_V4MAPPED (a6) && a6->s6_addr[12] == 127));
        }
      else
        loop = false;
    }
  freeaddrinfo (res);
  return loop;
}

int
cli_listeners_plan (const arca_config_t *c, arca_listener_t **out, size_t *n, arca_error_t *err)
{
  *out = NULL;
  *n = 0;
  bool tls = c->tls == 1 || c->tlsverify == 1;
  bool verify = c->tlsverify == 1;
  /* moby checkTLSAuthOK: the user said, one way or the other */
  bool explicit_no_auth = c->tls == 0 || c->tlsverify == 0;
  size_t count = c->hosts && c->hosts[0] ? strv_len (c->hosts) : 1;
  arca_listener_t *ls = xmalloc0 ((count + 1) * sizeof *ls);
  for (size_t i = 0; i < count; i++)
    ls[i].fd = -1;
  for (size_t i = 0; i < count; i++)
    {
      const char *given = c->hosts && c->hosts[0] ? c->hosts[i] : "";
      if (cli_host_parse (given, c->socket_path, tls, &ls[i].host, err) < 0)
        goto fail;
      for (size_t j = 0; j < i; j++)
        if (strcmp (ls[j].host, ls[i].host) == 0)
          {
            arca_error_set (err, ARCA_ERR_INVALID, "%s is given twice in the hosts", ls[i].host);
            goto fail;
          }
      if (strncmp (ls[i].host, "unix://", 7) == 0)
        {
          ls[i].path = xstrdup (ls[i].host + 7);
          continue;
        }
      ls[i].tls = tls;
      if (verify)
        continue;
      log_warn ("Binding to IP address without --tlsverify is insecure and gives root access on this machine to "
                "everyone who has access to your network.  host=\"%s\"",
                ls[i].host);
      log_warn ("Binding to an IP address, even on localhost, can also give access to scripts run in a browser. Be "
                "safe out there!  host=\"%s\"",
                ls[i].host);
      _cleanup_free_ char *h = NULL, *p = NULL;
      split_tcp (ls[i].host, &h, &p);
      if (host_is_loopback (h))
        continue;
      if (!explicit_no_auth && !tls)
        {
          arca_error_set (err, ARCA_ERR_INVALID,
                          "refusing to listen on %s without TLS client verification (--tlsverify): it would give "
                          "root access on this machine to everyone who can reach it; pass --tlsverify with "
                          "--tlscacert, --tlscert and --tlskey, or explicitly '--tls=false' or "
                          "'--tlsverify=false' to accept the risk",
                          ls[i].host);
          goto fail;
        }
      log_warn ("Listening on %s without authentication: everyone who can reach it is root on this machine "
                "(explicitly allowed by --tls=false, --tls or --tlsverify=false)",
                ls[i].host);
    }
  *out = ls;
  *n = count;
  return 0;
fail:
  cli_listeners_free (ls, count);
  return -1;
}

/* moby listeners_linux.go lookupGID: a name, else a number. */
static int
lookup_gid (const char *name, gid_t *gid, arca_error_t *err)
{
  struct group *g = getgrnam (name);
  if (g)
    {
      *gid = g->gr_gid;
      return 0;
    }
  char *end;
  long v = strtol (name, &end, 10);
  if (*name && *end == '\0' && v >= 0)
    {
      *gid = (gid_t) v;
      return 0;
    }
  return arca_error_set (err, ARCA_ERR_INVALID, "group %s not found", name);
}

static int
open_unix (arca_listener_t *l, const arca_config_t *c, arca_error_t *err)
{
  const char *path = l->path;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  strcpy (sa.sun_path, path);
  /* the socket's group first: an explicit --group that does not exist is
   * an error (dockerd), the default "docker" missing only a warning */
  const char *group = c->group ? c->group : "docker";
  gid_t gid = getgid ();
  bool chown_it = group[0] != '\0';
  if (chown_it)
    {
      arca_error_t gerr = { 0 };
      if (lookup_gid (group, &gid, &gerr) < 0)
        {
          if (c->group && strcmp (c->group, "docker") != 0)
            return arca_error_set (err, ARCA_ERR_INVALID, "can't create unix socket %s: %s", path, gerr.msg);
          log_warn ("could not change group %s to docker: group docker not found", path);
          chown_it = false;
        }
    }
  struct stat st;
  if (lstat (path, &st) == 0)
    {
      if (!S_ISSOCK (st.st_mode))
        return arca_error_set (err, ARCA_ERR_CONFLICT, "%s exists and is not a socket", path);
      _cleanup_close_ int probe = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (probe >= 0 && connect (probe, (struct sockaddr *) &sa, sizeof sa) == 0)
        return arca_error_set (err, ARCA_ERR_CONFLICT, "socket %s is in use by another daemon", path);
      if (unlink (path) < 0 && errno != ENOENT)
        return arca_error_errno (err, errno, "remove stale socket %s", path);
      log_info ("removed stale socket %s", path);
    }
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return arca_error_errno (err, errno, "socket");
  /* never reachable by others between bind and chmod */
  mode_t old = umask (0177);
  int rc = bind (fd, (struct sockaddr *) &sa, sizeof sa);
  umask (old);
  if (rc < 0)
    {
      int e = errno;
      close (fd);
      return arca_error_errno (err, e, "bind %s", path);
    }
  /* moby sockets.NewUnixSocketWithOpts(WithChown(0, gid), WithChmod(0660)) */
  if ((chown_it && chown (path, 0, gid) < 0) || chmod (path, 0660) < 0)
    {
      int e = errno;
      close (fd);
      unlink (path);
      return arca_error_errno (err, e, "can't set owner and mode of %s", path);
    }
  if (listen (fd, 1024) < 0)
    {
      int e = errno;
      close (fd);
      unlink (path);
      return arca_error_errno (err, e, "listen %s", path);
    }
  l->bound = true;
  return fd;
}

static int
open_tcp (arca_listener_t *l, arca_error_t *err)
{
  _cleanup_free_ char *h = NULL, *p = NULL;
  split_tcp (l->host, &h, &p);
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res = NULL;
  int rc = getaddrinfo (h, p, &hints, &res);
  if (rc != 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "listen tcp %s:%s: %s", h, p, gai_strerror (rc));
  int fd = -1, e = 0;
  for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
    {
      fd = socket (ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0)
        {
          e = errno;
          continue;
        }
      int one = 1;
      setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (ai->ai_family == AF_INET6)
        setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
      if (bind (fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen (fd, 1024) < 0)
        {
          e = errno;
          close (fd);
          fd = -1;
        }
    }
  freeaddrinfo (res);
  if (fd < 0)
    return arca_error_errno (err, e, "listen tcp %s:%s", h, p);
  return fd;
}

int
cli_listener_open (arca_listener_t *l, const arca_config_t *c, arca_error_t *err)
{
  l->fd = l->path ? open_unix (l, c, err) : open_tcp (l, err);
  return l->fd < 0 ? -1 : 0;
}

void
cli_listeners_free (arca_listener_t *l, size_t n)
{
  if (l == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    {
      free (l[i].host);
      free (l[i].path);
      if (l[i].fd >= 0)
        close (l[i].fd);
    }
  free (l);
}
