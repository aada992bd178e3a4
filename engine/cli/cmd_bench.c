#include "cli/cli.h"

int
td_cli_bench (int argc, char **argv)
{
  td_error err;
  td_error_set (&err, TD_ERR_UNSUPPORTED, "bench: not available yet");
  return td_cli_fail (&err);
}
