/* arca: the command line.  `arca daemon start|stop|status`, `arca version`. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#ifndef ARCA_VERSION
#define ARCA_VERSION "0.0.0"
#endif

static void
usage (FILE *out)
{
  fprintf (out, "Usage: arca COMMAND\n"
                "\n"
                "A container engine that speaks the Docker Engine API.\n"
                "\n"
                "Commands:\n"
                "  daemon    Start, stop or query the arca daemon\n"
                "  version   Show the arca version\n"
                "\n"
                "Run 'arca COMMAND --help' for more information on a command.\n");
}

static int
cmd_version (int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
        {
          printf ("Usage: arca version\n\nShow the arca version information.\n");
          return 0;
        }
      fprintf (stderr, "arca version: unexpected argument '%s'\n", argv[i]);
      return 1;
    }
  printf ("Arca version:  %s\n", ARCA_VERSION);
  printf ("API version:   1.51 (minimum version 1.24)\n");
#if defined(__GNUC__) && !defined(__clang__)
  printf ("Compiler:      gcc %s\n", __VERSION__);
#endif
  printf ("Built:         %s %s\n", __DATE__, __TIME__);
  printf ("OS:            linux\n");
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      usage (stderr);
      return 1;
    }
  const char *cmd = argv[1];
  if (strcmp (cmd, "--help") == 0 || strcmp (cmd, "-h") == 0 || strcmp (cmd, "help") == 0)
    {
      usage (stdout);
      return 0;
    }
  if (strcmp (cmd, "--version") == 0 || strcmp (cmd, "-v") == 0)
    {
      printf ("arca version %s\n", ARCA_VERSION);
      return 0;
    }
  if (strcmp (cmd, "version") == 0)
    return cmd_version (argc - 1, argv + 1);
  if (strcmp (cmd, "daemon") == 0)
    return cli_daemon_main (argc - 1, argv + 1);
  fprintf (stderr, "arca: unknown command '%s'\n\n", cmd);
  usage (stderr);
  return 1;
}
