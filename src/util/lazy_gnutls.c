/* See lazy_gnutls.h. */
#define ARCA_LAZY_GNUTLS_IMPL 1
#include <dlfcn.h>

#include "util/lazy_gnutls.h"

#ifndef ARCA_SONAME_GNUTLS
#error "ARCA_SONAME_GNUTLS (the SONAME the build links) is set by meson.build"
#endif

/* GnuTLS initialises itself in its library constructor, which dlopen runs
 * (gnutls_global_init(3): explicit calls are needed only with
 * GNUTLS_NO_IMPLICIT_INIT). */
ARCA_LAZYLIB_DEFINE (gnutls, ARCA_SONAME_GNUTLS, ARCA_LAZY_GNUTLS_FNS, NULL)
