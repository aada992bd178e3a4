/* cli.c — what the user commands and the developer commands share. */
#include "cli.h"

int
td_cli_fail (const td_error *err)
{
  fprintf (stderr, "thinkdiff: %s\n", err->message[0] ? err->message : td_status_name (err->status));
  return 1;
}
