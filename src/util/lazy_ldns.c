/* See lazy_ldns.h. */
#define ARCA_LAZY_LDNS_IMPL 1
#include <dlfcn.h>

#include "util/lazy_ldns.h"

#ifndef ARCA_SONAME_LDNS
#error "ARCA_SONAME_LDNS (the SONAME the build links) is set by meson.build"
#endif

static arca_lazy_ldns_t fns;

static int
resolve (void *h, const char **missing)
{
#define RESOLVE(f)                                                                                                     \
  if ((*(void **) &fns.f = dlsym (h, #f)) == NULL)                                                                     \
    {                                                                                                                  \
      *missing = #f;                                                                                                   \
      return -1;                                                                                                       \
    }
  ARCA_LAZY_LDNS_FNS (RESOLVE)
#undef RESOLVE
  return 0;
}

static arca_lazylib_t lib = ARCA_LAZYLIB_INIT (ARCA_SONAME_LDNS, resolve);

static void
open_once (void)
{
  arca_lazylib_open (&lib);
}

int
arca_lazy_ldns_load (arca_error_t *err)
{
  pthread_once (&lib.once, open_once);
  return arca_lazylib_result (&lib, err);
}

const arca_lazy_ldns_t *
arca_lazy_ldns (void)
{
  if (!atomic_load_explicit (&lib.ready, memory_order_acquire) && arca_lazy_ldns_load (NULL) < 0)
    arca_lazylib_unusable (&lib);
  return &fns;
}
