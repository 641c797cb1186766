/* Signal names as dockerd accepts them (moby pkg/signal ParseSignal):
 * "KILL", "SIGKILL", "kill", "9", "RTMIN+3", "SIGRTMAX-1". */
#include "engine/internal.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct { const char *name; int num; } signals[] = {
  { "ABRT", SIGABRT }, { "ALRM", SIGALRM }, { "BUS", SIGBUS }, { "CHLD", SIGCHLD }, { "CLD", SIGCHLD },
  { "CONT", SIGCONT }, { "FPE", SIGFPE }, { "HUP", SIGHUP }, { "ILL", SIGILL }, { "INT", SIGINT },
  { "IO", SIGIO }, { "IOT", SIGIOT }, { "KILL", SIGKILL }, { "PIPE", SIGPIPE }, { "POLL", SIGPOLL },
  { "PROF", SIGPROF }, { "PWR", SIGPWR }, { "QUIT", SIGQUIT }, { "SEGV", SIGSEGV }, { "STKFLT", SIGSTKFLT },
  { "STOP", SIGSTOP }, { "SYS", SIGSYS }, { "TERM", SIGTERM }, { "TRAP", SIGTRAP }, { "TSTP", SIGTSTP },
  { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU }, { "URG", SIGURG }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
  { "VTALRM", SIGVTALRM }, { "WINCH", SIGWINCH }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
};

int
signal_parse (const char *s)
{
  if (s == NULL || *s == '\0')
    return -1;
  char *end;
  long n = strtol (s, &end, 10);
  if (*end == '\0')
    return (n > 0 && n <= SIGRTMAX) ? (int) n : -1;
  const char *name = strncasecmp (s, "SIG", 3) == 0 ? s + 3 : s;
  for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
    if (strcasecmp (name, signals[i].name) == 0)
      return signals[i].num;
  if (strncasecmp (name, "RTMIN", 5) == 0 || strncasecmp (name, "RTMAX", 5) == 0)
    {
      bool max = strncasecmp (name, "RTMAX", 5) == 0;
      const char *rest = name + 5;
      long off = 0;
      if (*rest == '+' || *rest == '-')
        {
          off = strtol (rest + 1, &end, 10);
          if (*end != '\0' || end == rest + 1)
            return -1;
          if (*rest == '-')
            off = -off;
        }
      else if (*rest != '\0')
        return -1;
      int v = (max ? SIGRTMAX : SIGRTMIN) + (int) off;
      return (v >= SIGRTMIN && v <= SIGRTMAX) ? v : -1;
    }
  return -1;
}
