/* thinkdiff quantize — a safetensors checkpoint to a GGUF file with its
 * matrices in a ggml block type. As ggml's converters do, 1-D tensors, norms,
 * embeddings and matrices whose rows are not whole blocks keep a float type
 * (f32, or their f16/bf16). */
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "core/quant_encode.h"
#include "io/gguf.h"
#include "io/safetensors.h"

#include <glib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* llama.cpp's general.file_type for a file mostly of the type. */
static const struct {
  const char *name;
  td_dtype dtype;
  uint32_t file_type;
} quant_types[] = {
  { "q8_0", TD_Q8_0, 7 },
  { "q4_k", TD_Q4_K, 15 },
  { "q5_k", TD_Q5_K, 17 },
  { "q6_k", TD_Q6_K, 18 },
};

static volatile sig_atomic_t cancel_requested;

/* Ctrl-C or SIGTERM: stop before the next tensor; the temporary file goes. */
static void
on_interrupt (int signal_number)
{
  (void) signal_number;
  cancel_requested = 1;
}

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: thinkdiff quantize IN OUT.gguf --type q8_0|q4_k|q5_k|q6_k\n\n"
                "Writes the tensors of IN (a .safetensors file, a sharded index or a model folder)\n"
                "to a GGUF file, matrices in the given ggml type; 1-D tensors, norms, embeddings\n"
                "and matrices whose rows are not whole blocks stay f32/f16/bf16.\n");
}

/* The type a tensor is stored as. */
static td_dtype
stored_type (const td_safetensors_info *t, td_dtype quant)
{
  bool keep = t->ndim < 2 || t->ndim > TD_GGUF_MAX_DIMS || strstr (t->name, "norm") != NULL
              || strstr (t->name, "embed") != NULL || t->shape[t->ndim - 1] % td_dtype_block_elems (quant) != 0;
  if (!keep)
    return quant;
  return t->dtype == TD_F16 || t->dtype == TD_BF16 ? t->dtype : TD_F32;
}

static td_status
write_tensor (td_gguf_writer *w, td_safetensors *st, const td_safetensors_info *t, td_dtype dtype, td_error *err)
{
  td_tensor *view = td_safetensors_tensor_of (st, t, err);
  float *values = view != NULL ? td_tensor_to_f32 (view, err) : NULL;
  td_tensor_free (view);
  if (values == NULL)
    return err->status;
  int64_t numel = 1;
  for (int i = 0; i < t->ndim; i++)
    numel *= t->shape[i];
  size_t nbytes = 0;
  td_dtype_nbytes (dtype, numel, &nbytes);
  void *out = malloc (nbytes > 0 ? nbytes : 1);
  td_status status;
  if (out == NULL)
    status = td_error_set (err, TD_ERR_NO_MEMORY, "quantize: out of memory for '%s'", t->name);
  else
    {
      if (td_dtype_is_quantized (dtype))
        td_quantize_row (out, values, dtype, (size_t) numel);
      else
        td_convert_from_f32 (out, dtype, values, (size_t) numel);
      status = td_gguf_writer_write_data (w, out, nbytes, err);
    }
  free (out);
  free (values);
  return status;
}

int
td_cli_quantize (int argc, char **argv)
{
  const char *in = NULL, *out = NULL, *type = NULL;
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
        {
          print_usage (stdout);
          return 0;
        }
      if (strcmp (argv[i], "--type") == 0 && i + 1 < argc)
        type = argv[++i];
      else if (argv[i][0] != '-' && in == NULL)
        in = argv[i];
      else if (argv[i][0] != '-' && out == NULL)
        out = argv[i];
      else
        {
          print_usage (stderr);
          return 2;
        }
    }
  int q = -1;
  for (int i = 0; type != NULL && i < (int) G_N_ELEMENTS (quant_types); i++)
    if (g_ascii_strcasecmp (type, quant_types[i].name) == 0)
      q = i;
  if (in == NULL || out == NULL || q < 0)
    {
      if (type != NULL && q < 0)
        fprintf (stderr, "thinkdiff: unknown --type '%s' (q8_0, q4_k, q5_k or q6_k)\n", type);
      print_usage (stderr);
      return 2;
    }

  if (!td_cli_check_output_file ("OUT", out))
    return 2;
  td_error err = { 0 };
  td_safetensors *st = td_safetensors_open_any (in, &err);
  if (st == NULL)
    return td_cli_fail (&err);
  td_gguf_writer *w = td_gguf_writer_new (out, &err);
  if (w == NULL)
    {
      td_safetensors_close (st);
      return td_cli_fail (&err);
    }
  g_autofree char *base = g_path_get_basename (in);
  td_gguf_writer_add_string (w, "general.name", base);
  td_gguf_writer_add_u32 (w, "general.quantization_version", 2);
  td_gguf_writer_add_u32 (w, "general.file_type", quant_types[q].file_type);
  size_t n = td_safetensors_count (st);
  td_status status = TD_OK;
  for (size_t i = 0; i < n && status == TD_OK; i++)
    {
      const td_safetensors_info *t = td_safetensors_at (st, i);
      status = td_gguf_writer_add_tensor (w, t->name, stored_type (t, quant_types[q].dtype), t->ndim, t->shape, &err);
    }
  signal (SIGINT, on_interrupt);
  signal (SIGTERM, on_interrupt);
  for (size_t i = 0; i < n && status == TD_OK; i++)
    {
      const td_safetensors_info *t = td_safetensors_at (st, i);
      if (cancel_requested)
        {
          status = td_error_set (&err, TD_ERR_CANCELLED, "%s: cancelled; nothing was written", out);
          break;
        }
      status = write_tensor (w, st, t, stored_type (t, quant_types[q].dtype), &err);
      fprintf (stderr, "\rquantize: %zu/%zu tensors", i + 1, n);
    }
  if (n > 0)
    fprintf (stderr, "\n");
  if (status == TD_OK)
    status = td_gguf_writer_finish (w, &err);
  td_gguf_writer_free (w); /* removes the temporary file unless finished */
  signal (SIGINT, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  td_safetensors_close (st);
  if (status != TD_OK)
    return td_cli_fail (&err);
  printf ("%s: %zu tensors, matrices as %s\n", out, n, quant_types[q].name);
  return 0;
}
