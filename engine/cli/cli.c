/* cli.c — what the user commands and the developer commands share. */
#include "cli.h"

#include <glib.h>

#include "cli_text.h"

int
td_cli_fail (const td_error *err)
{
  /* Messages quote names read from files: escaped like everything the CLI prints from a file. */
  g_autofree char *shown = td_cli_escape (err != NULL && err->message[0] ? err->message
                                          : td_status_name (err != NULL ? err->status : TD_ERR_INVALID_ARG));
  fprintf (stderr, "thinkdiff: %s\n", shown);
  return err != NULL && err->status == TD_ERR_CANCELLED ? 130 : 1;
}
