/* See lazy_ldns.h. */
#define ARCA_LAZY_LDNS_IMPL 1
#include <dlfcn.h>

#include "util/lazy_ldns.h"

#ifndef ARCA_SONAME_LDNS
#error "ARCA_SONAME_LDNS (the SONAME the build links) is set by meson.build"
#endif

ARCA_LAZYLIB_DEFINE (ldns, ARCA_SONAME_LDNS, ARCA_LAZY_LDNS_FNS, NULL)
