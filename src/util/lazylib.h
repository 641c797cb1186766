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
   * is complete and before any other thread can see it ready */
  void (*initialise) (void);
  pthread_once_t once;
  /* set (release) once the table is complete; read by the inline accessors */
  atomic_bool ready;
  /* why loading failed, for every later caller */
  char *failure;
} arca_lazylib_t;

/* A table's member: a pointer of the type of the library's declaration. */
#define ARCA_LAZY_FIELD(f) __typeof__ (f) *f;

#define ARCA_LAZYLIB_INIT(so, fn) { .soname = (so), .resolve = (fn), .once = PTHREAD_ONCE_INIT }

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
