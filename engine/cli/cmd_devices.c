/* thinkdiff devices — the compute devices the engine can use. */
#include "cli.h"

#include <string.h>

#include "cli_args.h"

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: thinkdiff devices\nLists the compute devices the engine can use.\n"
                "TD_VULKAN_DEVICE=<index or name> picks the Vulkan device.\n"
                "Matmuls and attention run on cooperative matrices where the device offers them;\n"
                "TD_VULKAN_COOPMAT=0 turns that off, TD_VULKAN_EMULATE_COOPMAT=1 runs those kernels emulated.\n"
                "On devices with VK_NV_cooperative_matrix2 the matmul kernel for it runs after a self-test\n"
                "(run here for such devices); TD_VULKAN_COOPMAT2=0 turns it off, =require makes its absence an error.\n");
}

int
td_cli_devices (int argc, char **argv)
{
  int code = td_cli_operands (argc, argv, print_usage, 0, NULL);
  if (code >= 0)
    return code;
  td_error err = { 0 };
  char *report = NULL;
  if (td_devices_report (&report, &err) != TD_OK)
    return td_cli_fail (&err);
  fputs (report, stdout);
  td_free (report);
  return 0;
}
