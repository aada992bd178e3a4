/* thinkdiff-dev — the developer commands of `thinkdiff`, which look inside the
 * engine: `thinkdiff verify|bench|bench-models …` runs `thinkdiff-dev`
 * with the same arguments. */
#include "cli/cli.h"

#include <string.h>

static const td_cli_command commands[] = {
  { "verify", "check a model component against reference outputs", td_cli_verify },
  { "bench", "print throughput figures of ops and models", td_cli_bench },
  { "bench-models", "time FLUX, the VAE and T5 with random weights of the real shapes", td_cli_bench_models },
};

int
main (int argc, char **argv)
{
  if (argc >= 2)
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
      if (strcmp (argv[1], commands[i].name) == 0)
        return commands[i].run (argc - 1, argv + 1);
  fprintf (stderr, "Usage: thinkdiff-dev COMMAND [OPTIONS…]\n\nCommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf (stderr, "  %-12s %s\n", commands[i].name, commands[i].summary);
  return 2;
}
