/* thinkdiff convert — write the state dict of a PyTorch checkpoint as safetensors. */
#include "cli.h"

#include <string.h>

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
  td_error err = { 0 };
  size_t n = 0;
  if (td_checkpoint_convert_pth (in, out, &n, &err) != TD_OK)
    return td_cli_fail (&err);
  printf ("%s: %zu tensors written\n", out, n);
  return 0;
}

int
td_cli_convert (int argc, char **argv)
{
  if (argc == 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      print_usage (stdout);
      return 0;
    }
  if (argc != 3)
    {
      print_usage (stderr);
      return 2;
    }
  return convert (argv[1], argv[2]);
}
