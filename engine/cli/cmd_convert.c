/* thinkdiff convert — write the state dict of a PyTorch checkpoint as safetensors. */
#include "cli.h"

#include <signal.h>
#include <string.h>

#include "cli_args.h"

static volatile int cancel_requested;

/* Ctrl-C or SIGTERM: the conversion stops at the next tensor or write chunk and
 * leaves no file, not even the temporary one. */
static void
on_interrupt (int signal_number)
{
  cancel_requested = 1;
}

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: thinkdiff convert IN.pth OUT.safetensors\n\n"
                "Reads the state dict of a PyTorch checkpoint (torch.save zip format; the dict\n"
                "under \"model\" or \"state_dict\", or the top level) without running any of its\n"
                "code, and writes its tensors, in their stored dtypes, to a safetensors file.\n");
}

static int
convert (const char *in, const char *out)
{
  if (!td_cli_check_output_file ("OUT", out))
    return 2;
  td_error err = { 0 };
  size_t n = 0;
  signal (SIGINT, on_interrupt);
  signal (SIGTERM, on_interrupt);
  td_status st = td_checkpoint_convert_pth (in, out, &cancel_requested, &n, &err);
  signal (SIGINT, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  if (st == TD_ERR_CANCELLED)
    {
      fprintf (stderr, "thinkdiff: %s\n", err.message);
      return 130;
    }
  if (st != TD_OK)
    return td_cli_fail (&err);
  printf ("%s: %zu tensors written\n", out, n);
  return 0;
}

int
td_cli_convert (int argc, char **argv)
{
  const char *paths[2] = { NULL, NULL };
  int code = td_cli_operands (argc, argv, print_usage, 2, paths);
  if (code >= 0)
    return code;
  return convert (paths[0], paths[1]);
}
