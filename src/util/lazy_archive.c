/* See lazy_archive.h. */
#define ARCA_LAZY_ARCHIVE_IMPL 1
#include <dlfcn.h>

#include "util/lazy_archive.h"

#ifndef ARCA_SONAME_ARCHIVE
#error "ARCA_SONAME_ARCHIVE (the SONAME the build links) is set by meson.build"
#endif

ARCA_LAZYLIB_DEFINE (archive, ARCA_SONAME_ARCHIVE, ARCA_LAZY_ARCHIVE_FNS, NULL)
