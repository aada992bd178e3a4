#include "cli/cli.h"
#include "core/threads.h"

#include <string.h>

int
td_cli_devices (int argc, char **argv)
{
  if (argc > 1 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      printf ("Usage: thinkdiff devices\nLists the compute devices the engine can use.\n");
      return 0;
    }
  printf ("cpu: reference backend, %d threads\n", td_threadpool_size (td_threadpool_default ()));
  return 0;
}
