/* cli.c — what the user commands and the developer commands share. */
#include "cli.h"

#include <errno.h>
#include <glib.h>
#include <unistd.h>

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

int
td_cli_run_dev_tool (int argc, char **argv)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = self != NULL ? g_path_get_dirname (self) : NULL;
  g_autofree char *dev = dir != NULL ? g_build_filename (dir, "thinkdiff-dev", NULL) : NULL;
  char **dev_argv = g_new0 (char *, (size_t) argc + 2);
  dev_argv[0] = dev != NULL ? dev : (char *) "thinkdiff-dev";
  for (int i = 0; i < argc; i++)
    dev_argv[i + 1] = argv[i];
  fflush (stdout);
  if (dev != NULL)
    execv (dev, dev_argv);
  else
    execvp ("thinkdiff-dev", dev_argv);
  fprintf (stderr, "thinkdiff: %s needs the developer tools, %s: %s\n", argv[0],
           dev != NULL ? dev : "thinkdiff-dev", g_strerror (errno));
  g_free (dev_argv);
  return 1;
}
