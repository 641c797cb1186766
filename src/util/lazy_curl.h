/* libcurl, loaded at its first use (util/lazylib.h): the HTTP client: registry
 * pull, push, login, search and build contexts from URLs; its dependencies
 * (Kerberos, LDAP, SASL, ssh2, nghttp2, rtmp, psl, brotli) come with it.
 * Include this header instead of the library's: the names below are the
 * library's own, called through the table.  Every function that creates a
 * handle or a header list calls arca_lazy_curl_load first, so that a library
 * that cannot be loaded is a 500 error, never a crash. */
#ifndef ARCA_UTIL_LAZY_CURL_H
#define ARCA_UTIL_LAZY_CURL_H

/* curl.h's type-checking wrappers (and, without them, its three-argument
 * checks) are function-like macros of two of the table's names: the calls
 * go through the table instead. */
#define CURL_DISABLE_TYPECHECK 1

#include <curl/curl.h>

#undef curl_easy_setopt
#undef curl_easy_getinfo

#include "util/lazylib.h"

/* Every function of the library Arca calls (a call of one not listed here
 * fails to link: the daemon does not link the library). */
#define ARCA_LAZY_CURL_FNS(X) \
  X (curl_easy_cleanup) \
  X (curl_easy_escape) \
  X (curl_easy_getinfo) \
  X (curl_easy_init) \
  X (curl_easy_perform) \
  X (curl_easy_setopt) \
  X (curl_easy_strerror) \
  X (curl_free) \
  X (curl_global_init) \
  X (curl_slist_append) \
  X (curl_slist_free_all)

typedef struct arca_lazy_curl
{
  ARCA_LAZY_CURL_FNS (ARCA_LAZY_FIELD)
} arca_lazy_curl_t;

/* Loads libcurl once; 0, or -1 with a 500 error naming it. */
int arca_lazy_curl_load (arca_error_t *err);

/* The table, loading the library if nobody has (aborts if it cannot be:
 * a call site that skipped arca_lazy_curl_load). */
const arca_lazy_curl_t *arca_lazy_curl (void);

#ifndef ARCA_LAZY_CURL_IMPL
#define curl_easy_cleanup (arca_lazy_curl ()->curl_easy_cleanup)
#define curl_easy_escape (arca_lazy_curl ()->curl_easy_escape)
#define curl_easy_getinfo (arca_lazy_curl ()->curl_easy_getinfo)
#define curl_easy_init (arca_lazy_curl ()->curl_easy_init)
#define curl_easy_perform (arca_lazy_curl ()->curl_easy_perform)
#define curl_easy_setopt (arca_lazy_curl ()->curl_easy_setopt)
#define curl_easy_strerror (arca_lazy_curl ()->curl_easy_strerror)
#define curl_free (arca_lazy_curl ()->curl_free)
#define curl_global_init (arca_lazy_curl ()->curl_global_init)
#define curl_slist_append (arca_lazy_curl ()->curl_slist_append)
#define curl_slist_free_all (arca_lazy_curl ()->curl_slist_free_all)
#endif

#endif
