/* Cleanup attributes, after libcrun's: resources are released when the
 * variable goes out of scope instead of through goto ladders. */
#ifndef ARCA_UTIL_CLEANUP_H
#define ARCA_UTIL_CLEANUP_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <jansson.h>

static inline void arca_cleanup_freep (void *p) { free (*(void **) p); }
static inline void arca_cleanup_closep (int *fd) { if (*fd >= 0) close (*fd); }
static inline void arca_cleanup_fclosep (FILE **f) { if (*f) fclose (*f); }
static inline void arca_cleanup_closedirp (DIR **d) { if (*d) closedir (*d); }
static inline void arca_cleanup_jsonp (json_t **j) { if (*j) json_decref (*j); }
static inline void
arca_cleanup_strvp (char ***v)
{
  if (*v == NULL)
    return;
  for (char **it = *v; *it; it++)
    free (*it);
  free (*v);
}

#define _cleanup_free_ __attribute__ ((cleanup (arca_cleanup_freep)))
#define _cleanup_close_ __attribute__ ((cleanup (arca_cleanup_closep)))
#define _cleanup_fclose_ __attribute__ ((cleanup (arca_cleanup_fclosep)))
#define _cleanup_closedir_ __attribute__ ((cleanup (arca_cleanup_closedirp)))
#define _cleanup_json_ __attribute__ ((cleanup (arca_cleanup_jsonp)))
#define _cleanup_strv_ __attribute__ ((cleanup (arca_cleanup_strvp)))

/* Hand ownership out of a cleanup variable. */
#define arca_steal(p) ({ __typeof__ (p) _tmp = (p); (p) = NULL; _tmp; })
#define arca_steal_fd(fd) ({ int _tmp = (fd); (fd) = -1; _tmp; })

#endif
