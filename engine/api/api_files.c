/* api_files.c — checkpoints for the public API: listing a safetensors
 * checkpoint and converting a PyTorch one. */
#include "thinkdiff.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "io/gguf.h"
#include "io/pth.h"
#include "io/safetensors.h"

/* The public handle is the safetensors reader itself. */
struct td_checkpoint;

static td_safetensors *
reader (const td_checkpoint *checkpoint)
{
  return (td_safetensors *) checkpoint;
}

td_checkpoint *
td_checkpoint_open (const char *path, td_error *err)
{
  return (td_checkpoint *) td_safetensors_open_any (path, err);
}

void
td_checkpoint_close (td_checkpoint *checkpoint)
{
  if (checkpoint != NULL)
    td_safetensors_close (reader (checkpoint));
}

const char *
td_checkpoint_path (const td_checkpoint *checkpoint)
{
  return td_safetensors_path (reader (checkpoint));
}

size_t
td_checkpoint_file_count (const td_checkpoint *checkpoint)
{
  return td_safetensors_file_count (reader (checkpoint));
}

size_t
td_checkpoint_count (const td_checkpoint *checkpoint)
{
  return td_safetensors_count (reader (checkpoint));
}

bool
td_checkpoint_tensor_at (const td_checkpoint *checkpoint, size_t index, td_checkpoint_tensor *out)
{
  const td_safetensors_info *t = td_safetensors_at (reader (checkpoint), index);
  if (t == NULL)
    return false;
  *out = (td_checkpoint_tensor) {
    .name = t->name,
    .dtype = td_dtype_safetensors_name (t->dtype),
    .ndim = t->ndim,
    .nbytes = t->nbytes,
    .file = t->file,
  };
  for (int d = 0; d < t->ndim && d < 8; d++)
    out->shape[d] = t->shape[d];
  return true;
}

size_t
td_checkpoint_metadata_count (const td_checkpoint *checkpoint)
{
  return td_safetensors_metadata_count (reader (checkpoint));
}

bool
td_checkpoint_metadata_at (const td_checkpoint *checkpoint, size_t index, const char **key, const char **value)
{
  if (index >= td_safetensors_metadata_count (reader (checkpoint)))
    return false;
  td_safetensors_metadata_at (reader (checkpoint), index, key, value);
  return true;
}

/* safetensors cannot hold every name a pickle can: say so naming the input, not the output. */
static td_status
check_name (const char *in, const char *name, td_error *err)
{
  bool utf8 = g_utf8_validate (name, -1, NULL);
  if (name[0] != '\0' && strcmp (name, "__metadata__") != 0 && utf8)
    return TD_OK;
  return td_error_set (err, TD_ERR_FORMAT, "%s: tensor \"%s\" cannot be stored in safetensors (%s)", in, name,
                       name[0] == '\0' ? "an empty name" : utf8 ? "a reserved name" : "not UTF-8");
}

td_status
td_checkpoint_convert_pth (const char *pth_path, const char *safetensors_path, const volatile int *cancel,
                           size_t *n_tensors, td_error *err)
{
  td_error local = { 0 };
  td_pth *pth = td_pth_open (pth_path, &local);
  if (pth == NULL)
    {
      if (err != NULL)
        *err = local;
      return local.status;
    }
  size_t n = td_pth_count (pth);
  td_safetensors_entry *entries = calloc (n > 0 ? n : 1, sizeof *entries);
  td_tensor **tensors = calloc (n > 0 ? n : 1, sizeof *tensors);
  td_status st = entries != NULL && tensors != NULL ? TD_OK
                                                    : td_error_set (&local, TD_ERR_NO_MEMORY, "out of memory");
  for (size_t i = 0; st == TD_OK && i < n; i++)
    {
      const char *name = td_pth_name_at (pth, i);
      if (cancel != NULL && *cancel)
        {
          st = td_error_set (&local, TD_ERR_CANCELLED, "%s: cancelled; nothing was written", safetensors_path);
          break;
        }
      if ((st = check_name (pth_path, name, &local)) != TD_OK)
        break;
      /* Strided views (e.g. a saved transpose) are written in row-major order. */
      tensors[i] = td_pth_tensor_contiguous (pth, name, &local);
      if (tensors[i] == NULL)
        {
          st = local.status;
          if (strstr (local.message, pth_path) == NULL)
            td_error_prefix (&local, "%s: tensor \"%s\"", pth_path, name);
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
    st = td_safetensors_write_cancellable (safetensors_path, entries, n, metadata, cancel, &local);
  if (st == TD_OK && n_tensors != NULL)
    *n_tensors = n;
  if (st != TD_OK && err != NULL)
    *err = local;
  for (size_t i = 0; tensors != NULL && i < n; i++)
    td_tensor_free (tensors[i]);
  free (tensors);
  free (entries);
  td_pth_close (pth);
  return st;
}

bool
td_checkpoint_is_gguf (const char *path)
{
  return td_gguf_file_is_gguf (path) != 0;
}
