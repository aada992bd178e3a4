#include "cli/cli.h"

int
td_cli_inspect (int argc, char **argv)
{
  td_error err;
  td_error_set (&err, TD_ERR_UNSUPPORTED, "inspect: the safetensors reader is not built yet");
  return td_cli_fail (&err);
}
