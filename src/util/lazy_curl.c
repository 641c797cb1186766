/* See lazy_curl.h. */
#define ARCA_LAZY_CURL_IMPL 1
#include <dlfcn.h>

#include "util/lazy_curl.h"

#ifndef ARCA_SONAME_CURL
#error "ARCA_SONAME_CURL (the SONAME the build links) is set by meson.build"
#endif

static arca_lazy_curl_t fns;

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
  return 0;
}

static arca_lazylib_t lib = ARCA_LAZYLIB_INIT (ARCA_SONAME_CURL, resolve);

static void
open_once (void)
{
  arca_lazylib_open (&lib);
  /* curl_global_init(3): once, before any other call, while no other
   * thread uses libcurl; pthread_once gives both. */
  if (atomic_load_explicit (&lib.ready, memory_order_relaxed))
    fns.curl_global_init (CURL_GLOBAL_DEFAULT);
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
