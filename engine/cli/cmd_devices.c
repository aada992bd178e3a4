/* thinkdiff devices — the compute devices the engine can use. */
#include "cli.h"

#include <string.h>

int
td_cli_devices (int argc, char **argv)
{
  if (argc > 1 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      printf ("Usage: thinkdiff devices\nLists the compute devices the engine can use.\n"
              "TD_VULKAN_DEVICE=<index or name> picks the Vulkan device.\n"
              "TD_VULKAN_COOPMAT=1 runs matmuls on cooperative matrices where offered (not yet validated).\n");
      return 0;
    }
  td_error err = { 0 };
  char *report = NULL;
  if (td_devices_report (&report, &err) != TD_OK)
    return td_cli_fail (&err);
  fputs (report, stdout);
  td_free (report);
  return 0;
}
