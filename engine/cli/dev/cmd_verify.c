#include "cli/cli.h"
#include "pipeline/verify.h"

int
td_cli_verify (int argc, char **argv)
{
  return td_verify_main (argc, argv, stdout, stderr);
}
