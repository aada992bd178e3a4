/* thinkdiff — headless generation, verification and model tools. */
#include "cli/cli.h"
#include "cli/cli_text.h"

#include <glib.h>

#include <string.h>

static const td_cli_command commands[] = {
  { "devices", "list the compute devices the engine can use", td_cli_devices },
  { "inspect", "list the tensors of a checkpoint (safetensors or GGUF)", td_cli_inspect },
  { "generate", "make an image from a prompt or a ThinkDiff board", td_cli_generate },
  { "make-demo-models", "write tiny untrained models to try the pipeline without downloads", td_cli_make_demo_models },
  { "verify", "check a model component against reference outputs", td_cli_verify },
  { "tokenize", "print the token ids of a text", td_cli_tokenize },
  { "bench", "print throughput figures of ops and models", td_cli_bench },
  { "models", "list, download and verify model checkpoints", td_cli_models },
  { "convert", "write a PyTorch checkpoint's state dict as safetensors", td_cli_convert },
  { "quantize", "write a checkpoint as GGUF with q8_0 or q4_k matrices", td_cli_quantize },
  { "bench-models", "time FLUX, the VAE and T5 with random weights of the real shapes", td_cli_bench_models },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: thinkdiff COMMAND [OPTIONS…]\n\nCommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf (out, "  %-12s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nRun 'thinkdiff COMMAND --help' for a command's options.\n");
}

int
td_cli_fail (const td_error *err)
{
  /* Messages quote names read from files: escaped like everything the CLI prints from a file. */
  g_autofree char *shown = td_cli_escape (err != NULL && err->message[0] ? err->message
                                          : td_status_name (err != NULL ? err->status : TD_ERR_INVALID_ARG));
  fprintf (stderr, "thinkdiff: %s\n", shown);
  return 1;
}

int
main (int argc, char **argv)
{
  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      print_usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("thinkdiff %s\n", td_version ());
      return 0;
    }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].run (argc - 1, argv + 1);
  fprintf (stderr, "thinkdiff: unknown command '%s'\n\n", argv[1]);
  print_usage (stderr);
  return 2;
}
