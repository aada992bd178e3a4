#include "cli/cli.h"

int
td_cli_verify (int argc, char **argv)
{
  td_error err;
  td_error_set (&err, TD_ERR_UNSUPPORTED, "verify: not available yet");
  return td_cli_fail (&err);
}
