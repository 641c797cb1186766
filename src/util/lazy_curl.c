/* See lazy_curl.h. */
#define ARCA_LAZY_CURL_IMPL 1
#include <dlfcn.h>

#include "util/lazy_curl.h"

#ifndef ARCA_SONAME_CURL
#error "ARCA_SONAME_CURL (the SONAME the build links) is set by meson.build"
#endif

static arca_lazy_curl_t fns;

/* libssh2's libssh2_init, if libcurl was built with it (Debian's is), for
 * open_once; found through libcurl's handle, which searches its
 * dependencies too (dlsym(3)). */
static int (*ssh2_init) (int flags);
/* libssh2.h (not a build dependency): initialise without the crypto
 * library */
#define LIBSSH2_INIT_NO_CRYPTO 0x0001

static int
resolve (void *h, const char **missing)
{
#define RESOLVE(f)                                                                                                     \
  if ((*(void **) &fns.f = dlsym (h, #f)) == NULL)                                                                     \
    {                                                                                                                  \
      *missing = #f;                                                                                                   \
      return -1;                                                                                                       \
    }
  ARCA_LAZY_CURL_FNS (RESOLVE)
#undef RESOLVE
  *(void **) &ssh2_init = dlsym (h, "libssh2_init");
  return 0;
}

static void
initialise (void)
{
  /* curl_global_init calls libssh2_init (0), which initialises OpenSSL's
   * libcrypto, engines and all: 1.5 MB of resident pages for scp and sftp,
   * which both of Arca's clients refuse (CURLOPT_PROTOCOLS_STR
   * "http,https").  libssh2_init is reference counted and only the first
   * call initialises (libssh2 global.c): asked first without crypto,
   * curl's call leaves OpenSSL alone. */
  if (ssh2_init)
    ssh2_init (LIBSSH2_INIT_NO_CRYPTO);
  /* curl_global_init(3): once, before any other call, while no other
   * thread uses libcurl: the table is not published before this returns */
  fns.curl_global_init (CURL_GLOBAL_DEFAULT);
}

static arca_lazylib_t lib = { .soname = ARCA_SONAME_CURL, .resolve = resolve, .initialise = initialise,
                              .once = PTHREAD_ONCE_INIT };

static void
open_once (void)
{
  arca_lazylib_open (&lib);
}

int
arca_lazy_curl_load (arca_error_t *err)
{
  pthread_once (&lib.once, open_once);
  return arca_lazylib_result (&lib, err);
}

const arca_lazy_curl_t *
arca_lazy_curl (void)
{
  if (!atomic_load_explicit (&lib.ready, memory_order_acquire) && arca_lazy_curl_load (NULL) < 0)
    arca_lazylib_unusable (&lib);
  return &fns;
}
