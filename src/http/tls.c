/* TLS listeners (dockerd --tls, --tlsverify; docs/security.md).
 *
 * TLS is terminated here with GnuTLS, not inside libmicrohttpd: MHD 0.9.75
 * forwards an upgraded (hijacked) TLS connection without ever passing a
 * half-close on, so `docker run -i` with piped input never saw its stdin
 * end, and MHD only *requests* client certificates where dockerd's
 * --tlsverify requires and verifies them (Go's
 * tls.RequireAndVerifyClientCert, moby cmd/dockerd newAPIServerTLSConfig).
 *
 * An accept thread takes TCP connections; each gets a relay thread that
 * runs the handshake (client certificate required, verified against the
 * CA during the handshake, for the TLS client-authentication purpose as Go
 * checks ExtKeyUsageClientAuth; TLS 1.2 at least, as go-connections'
 * tlsconfig.ServerDefault), then hands one end of a socketpair to the
 * listen-less MHD daemon (MHD_add_connection) and copies bytes both ways.
 * A client that fails the handshake never gets a byte of HTTP.  Half-closes
 * are passed on both ways: the client's close_notify becomes EOF for the
 * handler (stdin of attach/exec), the handler's shutdown(SHUT_WR) becomes
 * a close_notify for the client. */
#include "http/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/lazy_gnutls.h"
#include "util/log.h"
#include "util/thread.h"

#define RELAY_BUF (64 * 1024)

struct arca_http_tls
{
  gnutls_certificate_credentials_t creds;
  gnutls_priority_t prio;
  bool verify_clients;
  int listen_fd;
  pthread_t accept_thread;
  bool accept_started;
  int relays; /* relay threads running; srv->lock */
};

int
arca_http_tls_setup (arca_http_server_t *srv, const arca_http_tls_t *tls, int listen_fd, arca_error_t *err)
{
  arca_http_tls_state_t *t = xmalloc0 (sizeof *t);
  t->listen_fd = listen_fd;
  srv->tls = t;
  if (arca_lazy_gnutls_load (err) < 0)
    return -1;
  int rc;
  if ((rc = gnutls_certificate_allocate_credentials (&t->creds)) < 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "TLS: %s", gnutls_strerror (rc));
  if (tls->cert_file == NULL || tls->key_file == NULL)
    return arca_error_set (err, ARCA_ERR_INVALID, "TLS: a certificate and a key are needed");
  rc = gnutls_certificate_set_x509_key_file (t->creds, tls->cert_file, tls->key_file, GNUTLS_X509_FMT_PEM);
  if (rc < 0)
    return arca_error_set (err, ARCA_ERR_INVALID, "could not load X509 key pair (cert: \"%s\", key: \"%s\"): %s",
                           tls->cert_file, tls->key_file, gnutls_strerror (rc));
  if (tls->ca_file)
    {
      rc = gnutls_certificate_set_x509_trust_file (t->creds, tls->ca_file, GNUTLS_X509_FMT_PEM);
      /* dockerd (go-connections certPool): "failed to append certificates
       * from PEM file" when it holds none */
      if (rc <= 0)
        return arca_error_set (err, ARCA_ERR_INVALID, "failed to append certificates from PEM file: \"%s\"%s%s",
                               tls->ca_file, rc < 0 ? ": " : "", rc < 0 ? gnutls_strerror (rc) : "");
      t->verify_clients = true;
    }
  if ((rc = gnutls_priority_init (&t->prio, "NORMAL:-VERS-TLS1.0:-VERS-TLS1.1:-VERS-DTLS-ALL", NULL)) < 0)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "TLS priorities: %s", gnutls_strerror (rc));
  return 0;
}

typedef struct
{
  arca_http_server_t *srv;
  int fd;
} relay_arg_t;

static int
handshake (arca_http_server_t *srv, gnutls_session_t s)
{
  arca_http_tls_state_t *t = srv->tls;
  gnutls_priority_set (s, t->prio);
  gnutls_credentials_set (s, GNUTLS_CRD_CERTIFICATE, t->creds);
  if (t->verify_clients)
    {
      gnutls_certificate_server_set_request (s, GNUTLS_CERT_REQUIRE);
      static gnutls_typed_vdata_st purpose = {
        .type = GNUTLS_DT_KEY_PURPOSE_OID,
        .data = (unsigned char *) GNUTLS_KP_TLS_WWW_CLIENT,
      };
      gnutls_session_set_verify_cert2 (s, &purpose, 1, 0);
    }
  /* as the request headers: the idle timeout bounds a silent client */
  gnutls_handshake_set_timeout (s, srv->idle_timeout_s * 1000u);
  int rc;
  do
    rc = gnutls_handshake (s);
  while (rc < 0 && !gnutls_error_is_fatal (rc));
  return rc;
}

/* Write all of buf to a blocking TLS session. */
static bool
tls_send_all (gnutls_session_t s, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t n = gnutls_record_send (s, buf, len);
      if (n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_AGAIN)
        continue;
      if (n < 0)
        return false;
      buf += n;
      len -= (size_t) n;
    }
  return true;
}

/* Copy between the TLS session (blocking TCP socket fd) and the app end of
 * the socketpair (non-blocking) until both directions are done or either
 * side is gone. */
static void
relay (gnutls_session_t s, int fd, int app)
{
  char *in = xmalloc0 (RELAY_BUF), *out = xmalloc0 (RELAY_BUF);
  size_t in_len = 0, in_off = 0;
  bool client_eof = false, app_eof = false, app_gone = false;
  while (!app_gone)
    {
      if (client_eof && in_len == 0 && app_eof)
        break;
      bool pending = !client_eof && in_len == 0 && gnutls_record_check_pending (s) > 0;
      /* a negative fd is skipped by poll: no spinning on a HUP already seen */
      struct pollfd p[2] = {
        { .fd = !client_eof && in_len == 0 ? fd : -1, .events = POLLIN },
        { .fd = app, .events = (in_len > 0 ? POLLOUT : 0) | (!app_eof ? POLLIN | POLLRDHUP : 0) },
      };
      if (!pending && poll (p, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (pending || (p[0].fd >= 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))))
        {
          ssize_t n = gnutls_record_recv (s, in, RELAY_BUF);
          if (n > 0)
            {
              in_len = (size_t) n;
              in_off = 0;
            }
          else if (n != GNUTLS_E_AGAIN && n != GNUTLS_E_INTERRUPTED)
            {
              /* close_notify, or the client went away: EOF for the app */
              client_eof = true;
              shutdown (app, SHUT_WR);
              if (n < 0 && !app_eof)
                {
                  /* a broken connection, not a half-close: nobody will
                   * read what the app still writes */
                  app_gone = true;
                }
            }
        }
      if (in_len > 0)
        {
          ssize_t n = send (app, in + in_off, in_len, MSG_NOSIGNAL | MSG_DONTWAIT);
          if (n > 0)
            {
              in_off += (size_t) n;
              in_len -= (size_t) n;
              if (in_len == 0 && client_eof)
                shutdown (app, SHUT_WR);
            }
          else if (n < 0 && errno != EAGAIN && errno != EINTR)
            break; /* the app closed its end */
        }
      if (!app_eof && (p[1].revents & (POLLIN | POLLHUP | POLLERR | POLLRDHUP)))
        {
          ssize_t n = recv (app, out, RELAY_BUF, MSG_DONTWAIT);
          if (n > 0)
            {
              if (!tls_send_all (s, out, (size_t) n))
                break;
            }
          else if (n == 0 || (errno != EAGAIN && errno != EINTR))
            {
              /* the app is done writing: close_notify, the client may
               * still send (half-close) */
              app_eof = true;
              gnutls_bye (s, GNUTLS_SHUT_WR);
            }
        }
      else if (app_eof && (p[1].revents & (POLLHUP | POLLERR)))
        app_gone = true; /* closed both ways: nothing more to deliver */
    }
  free (in);
  free (out);
}

static void *
relay_main (void *arg)
{
  relay_arg_t *a = arg;
  arca_http_server_t *srv = a->srv;
  int fd = a->fd;
  free (a);
  gnutls_session_t s = NULL;
  int sp[2] = { -1, -1 };
  if (gnutls_init (&s, GNUTLS_SERVER | GNUTLS_NO_SIGNAL) < 0)
    goto out;
  gnutls_transport_set_int (s, fd);
  int rc = handshake (srv, s);
  if (rc < 0)
    {
      log_debug ("http: TLS handshake refused: %s", gnutls_strerror (rc));
      goto out;
    }
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
    goto out;
  /* the address MHD sees is the unix listener's kind: the same code paths */
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if (MHD_add_connection (srv->daemon, sp[0], (struct sockaddr *) &sa, sizeof sa) != MHD_YES)
    {
      sp[0] = -1; /* MHD closed it */
      log_warn ("http: TLS connection dropped: the server takes no more connections");
      goto out;
    }
  sp[0] = -1; /* MHD owns it */
  fcntl (sp[1], F_SETFL, fcntl (sp[1], F_GETFL) | O_NONBLOCK);
  relay (s, fd, sp[1]);
out:
  if (sp[0] >= 0)
    close (sp[0]);
  if (sp[1] >= 0)
    close (sp[1]);
  if (s)
    gnutls_deinit (s);
  close (fd);
  pthread_mutex_lock (&srv->lock);
  srv->tls->relays--;
  pthread_cond_broadcast (&srv->cond);
  pthread_mutex_unlock (&srv->lock);
  return NULL;
}

static void *
accept_main (void *arg)
{
  arca_http_server_t *srv = arg;
  arca_http_tls_state_t *t = srv->tls;
  while (!atomic_load (&srv->stopping))
    {
      int fd = accept4 (t->listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          if (atomic_load (&srv->stopping))
            break;
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            {
              struct timespec ts = { 0, 100 * 1000 * 1000 };
              nanosleep (&ts, NULL);
              continue;
            }
          log_error ("http: accept on the TLS listener: %s", strerror (errno));
          break;
        }
      pthread_mutex_lock (&srv->lock);
      bool full = (unsigned) t->relays >= srv->max_connections;
      if (!full)
        t->relays++;
      pthread_mutex_unlock (&srv->lock);
      if (full)
        {
          close (fd);
          continue;
        }
      relay_arg_t *a = xmalloc0 (sizeof *a);
      a->srv = srv;
      a->fd = fd;
      int rc = thread_start_detached (relay_main, a, 0);
      if (rc != 0)
        {
          log_error ("http: cannot start a TLS connection thread: %s", strerror (rc));
          free (a);
          close (fd);
          pthread_mutex_lock (&srv->lock);
          t->relays--;
          pthread_mutex_unlock (&srv->lock);
        }
    }
  return NULL;
}

int
arca_http_tls_start (arca_http_server_t *srv, arca_error_t *err)
{
  int rc = pthread_create (&srv->tls->accept_thread, NULL, accept_main, srv);
  if (rc != 0)
    return arca_error_errno (err, rc, "starting the TLS listener thread");
  srv->tls->accept_started = true;
  return 0;
}

void
arca_http_tls_stop_accepting (arca_http_server_t *srv)
{
  arca_http_tls_state_t *t = srv->tls;
  if (t == NULL)
    return;
  if (t->listen_fd >= 0)
    shutdown (t->listen_fd, SHUT_RDWR); /* wakes accept() */
  if (t->accept_started)
    pthread_join (t->accept_thread, NULL);
  t->accept_started = false;
}

bool
arca_http_tls_wait_relays (arca_http_server_t *srv, int seconds)
{
  arca_http_tls_state_t *t = srv->tls;
  if (t == NULL)
    return true;
  struct timespec deadline;
  clock_gettime (CLOCK_REALTIME, &deadline);
  deadline.tv_sec += seconds;
  pthread_mutex_lock (&srv->lock);
  while (t->relays > 0)
    if (pthread_cond_timedwait (&srv->cond, &srv->lock, &deadline) == ETIMEDOUT)
      break;
  bool done = t->relays == 0;
  pthread_mutex_unlock (&srv->lock);
  return done;
}

void
arca_http_tls_free (arca_http_server_t *srv)
{
  arca_http_tls_state_t *t = srv->tls;
  if (t == NULL)
    return;
  if (t->listen_fd >= 0)
    close (t->listen_fd);
  if (t->creds)
    gnutls_certificate_free_credentials (t->creds);
  if (t->prio)
    gnutls_priority_deinit (t->prio);
  free (t);
  srv->tls = NULL;
}
