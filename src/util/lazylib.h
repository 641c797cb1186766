/* Shared libraries loaded at their first use (issue 15: an idle daemon
 * that runs containers never needs the registry client, the tar library or
 * the DNS message library, and their dependency trees cost it megabytes of
 * resident relocations and data).  One module per library (util/lazy_*.c)
 * holds a typed table of the functions Arca calls; its header maps those
 * names to the table, so call sites keep their code.  This is the part they
 * share: dlopen once (pthread_once), resolve every symbol or fail as a
 * whole, remember why. */
#ifndef ARCA_UTIL_LAZYLIB_H
#define ARCA_UTIL_LAZYLIB_H

#include <pthread.h>
#include <stdatomic.h>

#include "util/error.h"

typedef struct arca_lazylib
{
  /* the SONAME the build linked against (scripts/soname.sh) */
  const char *soname;
  /* fills the module's table from the handle; names the first symbol missing */
  int (*resolve) (void *handle, const char **missing);
  /* optional: the library's own global initialisation, run once its table
   * is complete and before any other thread can see it ready; handle is
   * the library's, for symbols of its dependencies */
  void (*initialise) (void *handle);
  pthread_once_t once;
  /* set (release) once the table is complete; read by the inline accessors */
  atomic_bool ready;
  /* why loading failed, for every later caller */
  char *failure;
} arca_lazylib_t;

/* A table's member: a pointer of the type of the library's declaration. */
#define ARCA_LAZY_FIELD(f) __typeof__ (f) *f;

#define ARCA_LAZYLIB_INIT(so, fn) { .soname = (so), .resolve = (fn), .once = PTHREAD_ONCE_INIT }

/* One listed function resolved into the module's table `fns`, inside the
 * resolve function ARCA_LAZYLIB_DEFINE makes. */
#define ARCA_LAZY_RESOLVE(f)                                                                                           \
  if ((*(void **) &fns.f = dlsym (handle, #f)) == NULL)                                                                \
    {                                                                                                                  \
      *missing = #f;                                                                                                   \
      return -1;                                                                                                       \
    }

/* A module's whole definition (util/lazy_<name>.c, which includes
 * <dlfcn.h>): its table, its lazylib for soname, arca_lazy_<name>_load and
 * the accessor arca_lazy_<name> its header declares.  FNS: the module's
 * X-macro list of functions; init: the library's own initialisation (see
 * arca_lazylib_t), or NULL. */
#define ARCA_LAZYLIB_DEFINE(name, so, FNS, init)                                                                       \
  static arca_lazy_##name##_t fns;                                                                                     \
  static int resolve (void *handle, const char **missing)                                                              \
  {                                                                                                                    \
    FNS (ARCA_LAZY_RESOLVE)                                                                                            \
    return 0;                                                                                                          \
  }                                                                                                                    \
  static arca_lazylib_t lib = { .soname = (so), .resolve = resolve, .initialise = (init), .once = PTHREAD_ONCE_INIT }; \
  static void open_once (void) { arca_lazylib_open (&lib); }                                                           \
  int arca_lazy_##name##_load (arca_error_t *err)                                                                      \
  {                                                                                                                    \
    pthread_once (&lib.once, open_once);                                                                               \
    return arca_lazylib_result (&lib, err);                                                                            \
  }                                                                                                                    \
  const arca_lazy_##name##_t *arca_lazy_##name (void)                                                                  \
  {                                                                                                                    \
    if (!atomic_load_explicit (&lib.ready, memory_order_acquire) && arca_lazy_##name##_load (NULL) < 0)                \
      arca_lazylib_unusable (&lib);                                                                                    \
    return &fns;                                                                                                       \
  }

/* The body of a module's pthread_once routine: dlopen and resolve. */
void arca_lazylib_open (arca_lazylib_t *lib);

/* After pthread_once: 0, or -1 with a 500 error saying which library could
 * not be loaded and why. */
int arca_lazylib_result (arca_lazylib_t *lib, arca_error_t *err);

/* A call through a table that could not be loaded: a call site that did not
 * call its module's load function first.  Logs and aborts (a bug, not an
 * input). */
_Noreturn void arca_lazylib_unusable (arca_lazylib_t *lib);

#endif
