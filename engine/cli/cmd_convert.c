/* thinkdiff convert — write the state dict of a PyTorch checkpoint as safetensors. */
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "cli/cli_text.h"
#include "io/pth.h"
#include "io/safetensors.h"

#include <glib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static volatile int cancel_requested;
static volatile sig_atomic_t writing;

/* Ctrl-C or SIGTERM: stop at the next tensor or write chunk and remove the temporary file.
 * Before the write there is no file yet, so a second Ctrl-C may end the process at once. */
static void
on_interrupt (int signal_number)
{
  cancel_requested = 1;
  if (!writing)
    signal (signal_number, SIG_DFL);
}

/* safetensors cannot hold every name a pickle can: say so naming the input, not the output. */
static td_status
check_name (const char *in, const char *name, td_error *err)
{
  if (name[0] != '\0' && strcmp (name, "__metadata__") != 0 && g_utf8_validate (name, -1, NULL))
    return TD_OK;
  g_autofree char *shown = td_cli_escape (name);
  return td_error_set (err, TD_ERR_FORMAT, "%s: tensor \"%s\" cannot be stored in safetensors (%s)", in, shown,
                       name[0] == '\0' ? "an empty name" : g_utf8_validate (name, -1, NULL) ? "a reserved name"
                                                                                            : "not UTF-8");
}

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: thinkdiff convert IN.pth OUT.safetensors\n\n"
                "Reads the state dict of a PyTorch checkpoint (torch.save zip format; the dict\n"
                "under \"model\" or \"state_dict\", or the top level) without running any of its\n"
                "code, and writes its tensors, in their stored dtypes, to a safetensors file.\n");
}

static int
convert (const char *in, const char *out)
{
  if (!td_cli_check_output_file ("OUT", out))
    return 2;
  td_error err = { 0 };
  td_pth *pth = td_pth_open (in, &err);
  if (pth == NULL)
    return td_cli_fail (&err);
  signal (SIGINT, on_interrupt);
  signal (SIGTERM, on_interrupt);
  size_t n = td_pth_count (pth);
  td_safetensors_entry *entries = calloc (n, sizeof *entries);
  td_tensor **tensors = calloc (n, sizeof *tensors);
  td_status st = entries != NULL && tensors != NULL ? TD_OK
                                                    : td_error_set (&err, TD_ERR_NO_MEMORY, "out of memory");
  for (size_t i = 0; st == TD_OK && i < n; i++)
    {
      const char *name = td_pth_name_at (pth, i);
      if (cancel_requested)
        {
          st = td_error_set (&err, TD_ERR_CANCELLED, "%s: cancelled; nothing was written", out);
          break;
        }
      if ((st = check_name (in, name, &err)) != TD_OK)
        break;
      /* Strided views (e.g. a saved transpose) are written in row-major order. */
      tensors[i] = td_pth_tensor_contiguous (pth, name, &err);
      if (tensors[i] == NULL)
        {
          st = err.status;
          if (strstr (err.message, in) == NULL)
            {
              g_autofree char *shown = td_cli_escape (name);
              td_error_prefix (&err, "%s: tensor \"%s\"", in, shown);
            }
          break;
        }
      entries[i] = (td_safetensors_entry) {
        .name = name,
        .dtype = tensors[i]->dtype,
        .ndim = tensors[i]->ndim,
        .shape = tensors[i]->shape,
        .data = td_tensor_host_data (tensors[i]),
        .nbytes = td_tensor_nbytes (tensors[i]),
      };
    }
  static const char *const metadata[] = { "format", "pt", NULL };
  if (st == TD_OK)
    {
      writing = 1;
      signal (SIGINT, on_interrupt);
      signal (SIGTERM, on_interrupt);
      st = td_safetensors_write_cancellable (out, entries, n, metadata, &cancel_requested, &err);
    }
  signal (SIGINT, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  if (st == TD_OK)
    printf ("%s: %zu tensors written\n", out, n);
  for (size_t i = 0; tensors != NULL && i < n; i++)
    td_tensor_free (tensors[i]);
  free (tensors);
  free (entries);
  td_pth_close (pth);
  if (st == TD_ERR_CANCELLED)
    {
      fprintf (stderr, "thinkdiff: %s\n", err.message);
      return 130;
    }
  return st == TD_OK ? 0 : td_cli_fail (&err);
}

int
td_cli_convert (int argc, char **argv)
{
  if (argc == 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      print_usage (stdout);
      return 0;
    }
  if (argc != 3)
    {
      print_usage (stderr);
      return 2;
    }
  return convert (argv[1], argv[2]);
}
