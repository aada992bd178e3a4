#include "cli/cli.h"

int
td_cli_tokenize (int argc, char **argv)
{
  td_error err;
  td_error_set (&err, TD_ERR_UNSUPPORTED, "tokenize: not available yet");
  return td_cli_fail (&err);
}
