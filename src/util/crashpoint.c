/* Deterministic fault injection (crashpoint.h). */
#include "util/crashpoint.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

static const char *armed;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
load (void)
{
  const char *v = getenv ("ARCA_CRASHPOINT");
  armed = v && *v ? v : NULL;
}

void
crashpoint (const char *name)
{
  pthread_once (&once, load);
  if (armed == NULL || strcmp (armed, name) != 0)
    return;
  log_warn ("ARCA_CRASHPOINT=%s reached: killing the daemon (SIGKILL)", name);
  kill (getpid (), SIGKILL);
  _exit (137); /* not reached */
}
