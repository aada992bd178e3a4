/* thinkdiff — headless generation, verification and model tools.
 *
 * This binary links libthinkdiff and sees only its public API. The developer
 * commands (verify, bench, bench-models) look inside the engine: they are
 * `thinkdiff-dev`, installed beside this binary, which runs them in its place. */
#include "cli.h"

#include <errno.h>
#include <glib.h>
#include <string.h>
#include <unistd.h>


static const td_cli_command commands[] = {
  { "devices", "list the compute devices the engine can use", td_cli_devices },
  { "inspect", "list the tensors of a checkpoint (safetensors or GGUF)", td_cli_inspect },
  { "generate", "make an image from a prompt or a ThinkDiff board", td_cli_generate },
  { "make-demo-models", "write tiny untrained models to try the pipeline without downloads", td_cli_make_demo_models },
  { "verify", "check a model component against reference outputs", td_cli_run_dev_tool },
  { "tokenize", "print the token ids of a text", td_cli_tokenize },
  { "bench", "print throughput figures of ops and models", td_cli_run_dev_tool },
  { "models", "list, download and verify model checkpoints", td_cli_models },
  { "convert", "write a PyTorch checkpoint's state dict as safetensors", td_cli_convert },
  { "quantize", "write a checkpoint as GGUF with its matrices in a ggml block type", td_cli_quantize },
  { "bench-models", "time FLUX, the VAE and T5 with random weights of the real shapes", td_cli_run_dev_tool },
  { "plan", "estimate each stage's device memory and the strategy that fits", td_cli_plan },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: thinkdiff COMMAND [OPTIONS…]\n\nCommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf (out, "  %-12s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nRun 'thinkdiff COMMAND --help' for a command's options.\n");
}

/* Runs thinkdiff-dev from this binary's folder with the same arguments. */
int
td_cli_run_dev_tool (int argc, char **argv)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = self != NULL ? g_path_get_dirname (self) : NULL;
  g_autofree char *dev = dir != NULL ? g_build_filename (dir, "thinkdiff-dev", NULL) : NULL;
  char **dev_argv = g_new0 (char *, (size_t) argc + 2);
  dev_argv[0] = dev != NULL ? dev : (char *) "thinkdiff-dev";
  for (int i = 0; i < argc; i++)
    dev_argv[i + 1] = argv[i];
  fflush (stdout);
  if (dev != NULL)
    execv (dev, dev_argv);
  else
    execvp ("thinkdiff-dev", dev_argv);
  fprintf (stderr, "thinkdiff: %s needs the developer tools, %s: %s\n", argv[0],
           dev != NULL ? dev : "thinkdiff-dev", g_strerror (errno));
  g_free (dev_argv);
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
