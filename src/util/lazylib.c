/* See lazylib.h. */
#include <dlfcn.h>
#include <stdlib.h>

#include "util/lazylib.h"
#include "util/log.h"
#include "util/strutil.h"

void
arca_lazylib_open (arca_lazylib_t *lib)
{
  /* RTLD_LOCAL: the library's symbols stay out of the global scope, so
   * nothing else binds to them by accident; RTLD_NOW: a library that
   * cannot be fully bound fails here, not in the middle of a request. */
  void *h = dlopen (lib->soname, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL)
    {
      const char *why = dlerror ();
      lib->failure = xasprintf ("cannot load %s: %s", lib->soname, why ? why : "unknown error");
      log_error ("%s", lib->failure);
      return;
    }
  const char *missing = NULL;
  if (lib->resolve (h, &missing) < 0)
    {
      lib->failure = xasprintf ("cannot load %s: symbol %s not found", lib->soname, missing ? missing : "?");
      log_error ("%s", lib->failure);
      dlclose (h);
      return;
    }
  if (lib->initialise)
    lib->initialise (h);
  log_debug ("loaded %s", lib->soname);
  atomic_store_explicit (&lib->ready, true, memory_order_release);
}

int
arca_lazylib_result (arca_lazylib_t *lib, arca_error_t *err)
{
  if (atomic_load_explicit (&lib->ready, memory_order_acquire))
    return 0;
  return arca_error_set (err, ARCA_ERR_INTERNAL, "%s", lib->failure ? lib->failure : lib->soname);
}

_Noreturn void
arca_lazylib_unusable (arca_lazylib_t *lib)
{
  log_error ("%s used without loading it: %s", lib->soname, lib->failure ? lib->failure : "not loaded");
  abort ();
}
