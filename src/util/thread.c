/* Detached threads (util/thread.h). */
#include "util/thread.h"

#include <pthread.h>

int
thread_start_detached (void *(*fn) (void *), void *arg, size_t stack_bytes)
{
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  if (stack_bytes > 0)
    pthread_attr_setstacksize (&attr, stack_bytes);
  int r = pthread_create (&t, &attr, fn, arg);
  pthread_attr_destroy (&attr);
  return r;
}
