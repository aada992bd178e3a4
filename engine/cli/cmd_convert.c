/* thinkdiff convert — write the state dict of a PyTorch checkpoint as safetensors. */
#include "cli/cli.h"
#include "io/pth.h"
#include "io/safetensors.h"

#include <stdlib.h>
#include <string.h>

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
  td_error err = { 0 };
  const volatile int *cancel = td_cli_catch_interrupts ();
  td_pth *pth = td_pth_open (in, &err);
  if (pth == NULL)
    {
      td_cli_release_interrupts ();
      return td_cli_fail (&err);
    }
  size_t n = td_pth_count (pth);
  td_safetensors_entry *entries = calloc (n, sizeof *entries);
  td_tensor **tensors = calloc (n, sizeof *tensors);
  td_status st = entries != NULL && tensors != NULL ? TD_OK
                                                    : td_error_set (&err, TD_ERR_NO_MEMORY, "out of memory");
  for (size_t i = 0; st == TD_OK && i < n; i++)
    {
      if (*cancel)
        {
          st = td_error_set (&err, TD_ERR_CANCELLED, "%s: convert cancelled", in);
          break;
        }
      const char *name = td_pth_name_at (pth, i);
      /* Strided views (e.g. a saved transpose) are written in row-major order. */
      tensors[i] = td_pth_tensor_contiguous (pth, name, &err);
      if (tensors[i] == NULL)
        {
          st = err.status;
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
  if (st == TD_OK && *cancel)
    st = td_error_set (&err, TD_ERR_CANCELLED, "%s: convert cancelled", in);
  if (st == TD_OK)
    st = td_safetensors_write (out, entries, n, metadata, &err);
  td_cli_release_interrupts ();
  if (st == TD_OK)
    printf ("%s: %zu tensors written\n", out, n);
  for (size_t i = 0; tensors != NULL && i < n; i++)
    td_tensor_free (tensors[i]);
  free (tensors);
  free (entries);
  td_pth_close (pth);
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
