/* GnuTLS, loaded at its first use (util/lazylib.h): the TLS listeners of
 * src/http/tls.c (dockerd --tlsverify); p11-kit, libtasn1, libunistring,
 * libidn2 and hogweed come with it, ~2 MiB resident that a daemon on its
 * unix socket alone never needs (libmicrohttpd is built without HTTPS,
 * scripts/setup-microhttpd.sh).  Include this header instead of the
 * library's: the names below are the library's own, called through the
 * table.  arca_http_tls_setup calls arca_lazy_gnutls_load before any other
 * call, so that a library that cannot be loaded is an error at start-up,
 * never a crash. */
#ifndef ARCA_UTIL_LAZY_GNUTLS_H
#define ARCA_UTIL_LAZY_GNUTLS_H

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "util/lazylib.h"

/* Every function of the library Arca calls (a call of one not listed here
 * fails to link: the daemon does not link the library).
 * gnutls_transport_set_int is gnutls.h's macro of gnutls_transport_set_int2. */
#define ARCA_LAZY_GNUTLS_FNS(X) \
  X (gnutls_bye) \
  X (gnutls_certificate_allocate_credentials) \
  X (gnutls_certificate_free_credentials) \
  X (gnutls_certificate_server_set_request) \
  X (gnutls_certificate_set_x509_key_file) \
  X (gnutls_certificate_set_x509_trust_file) \
  X (gnutls_credentials_set) \
  X (gnutls_deinit) \
  X (gnutls_error_is_fatal) \
  X (gnutls_handshake) \
  X (gnutls_handshake_set_timeout) \
  X (gnutls_init) \
  X (gnutls_priority_deinit) \
  X (gnutls_priority_init) \
  X (gnutls_priority_set) \
  X (gnutls_record_check_pending) \
  X (gnutls_record_recv) \
  X (gnutls_record_send) \
  X (gnutls_session_set_verify_cert2) \
  X (gnutls_strerror) \
  X (gnutls_transport_set_int2)

typedef struct arca_lazy_gnutls
{
  ARCA_LAZY_GNUTLS_FNS (ARCA_LAZY_FIELD)
} arca_lazy_gnutls_t;

/* Loads GnuTLS once; 0, or -1 with a 500 error naming it. */
int arca_lazy_gnutls_load (arca_error_t *err);

/* The table, loading the library if nobody has (aborts if it cannot be:
 * a call site that skipped arca_lazy_gnutls_load). */
const arca_lazy_gnutls_t *arca_lazy_gnutls (void);

#ifndef ARCA_LAZY_GNUTLS_IMPL
#define gnutls_bye (arca_lazy_gnutls ()->gnutls_bye)
#define gnutls_certificate_allocate_credentials (arca_lazy_gnutls ()->gnutls_certificate_allocate_credentials)
#define gnutls_certificate_free_credentials (arca_lazy_gnutls ()->gnutls_certificate_free_credentials)
#define gnutls_certificate_server_set_request (arca_lazy_gnutls ()->gnutls_certificate_server_set_request)
#define gnutls_certificate_set_x509_key_file (arca_lazy_gnutls ()->gnutls_certificate_set_x509_key_file)
#define gnutls_certificate_set_x509_trust_file (arca_lazy_gnutls ()->gnutls_certificate_set_x509_trust_file)
#define gnutls_credentials_set (arca_lazy_gnutls ()->gnutls_credentials_set)
#define gnutls_deinit (arca_lazy_gnutls ()->gnutls_deinit)
#define gnutls_error_is_fatal (arca_lazy_gnutls ()->gnutls_error_is_fatal)
#define gnutls_handshake (arca_lazy_gnutls ()->gnutls_handshake)
#define gnutls_handshake_set_timeout (arca_lazy_gnutls ()->gnutls_handshake_set_timeout)
#define gnutls_init (arca_lazy_gnutls ()->gnutls_init)
#define gnutls_priority_deinit (arca_lazy_gnutls ()->gnutls_priority_deinit)
#define gnutls_priority_init (arca_lazy_gnutls ()->gnutls_priority_init)
#define gnutls_priority_set (arca_lazy_gnutls ()->gnutls_priority_set)
#define gnutls_record_check_pending (arca_lazy_gnutls ()->gnutls_record_check_pending)
#define gnutls_record_recv (arca_lazy_gnutls ()->gnutls_record_recv)
#define gnutls_record_send (arca_lazy_gnutls ()->gnutls_record_send)
#define gnutls_session_set_verify_cert2 (arca_lazy_gnutls ()->gnutls_session_set_verify_cert2)
#define gnutls_strerror (arca_lazy_gnutls ()->gnutls_strerror)
#define gnutls_transport_set_int2 (arca_lazy_gnutls ()->gnutls_transport_set_int2)
#endif

#endif
