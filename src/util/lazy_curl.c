/* See lazy_curl.h. */
#define ARCA_LAZY_CURL_IMPL 1
#include <dlfcn.h>

#include "util/lazy_curl.h"

#ifndef ARCA_SONAME_CURL
#error "ARCA_SONAME_CURL (the SONAME the build links) is set by meson.build"
#endif

/* libssh2.h (not a build dependency): initialise without the crypto
 * library */
#define LIBSSH2_INIT_NO_CRYPTO 0x0001

static void initialise (void *handle);

ARCA_LAZYLIB_DEFINE (curl, ARCA_SONAME_CURL, ARCA_LAZY_CURL_FNS, initialise)

static void
initialise (void *handle)
{
  /* curl_global_init calls libssh2_init (0), which initialises OpenSSL's
   * libcrypto, engines and all: 1.5 MB of resident pages for scp and sftp,
   * which both of Arca's clients refuse (CURLOPT_PROTOCOLS_STR
   * "http,https").  libssh2_init is reference counted and only the first
   * call initialises (libssh2 global.c): asked first without crypto,
   * curl's call leaves OpenSSL alone.  libssh2 is found, if libcurl was
   * built with it (Debian's is), through libcurl's handle, which searches
   * its dependencies too (dlsym(3)). */
  int (*ssh2_init) (int flags);
  *(void **) &ssh2_init = dlsym (handle, "libssh2_init");
  if (ssh2_init)
    ssh2_init (LIBSSH2_INIT_NO_CRYPTO);
  /* curl_global_init(3): once, before any other call, while no other
   * thread uses libcurl: the table is not published before this returns */
  fns.curl_global_init (CURL_GLOBAL_DEFAULT);
}
