/* The FLUX transformer from a Black Forest Labs single file: the golden diffusers
 * transformer is converted to the BFL key layout (fused qkv, linear1/linear2,
 * swapped final modulation halves) and both load to identical outputs. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "models/flux_dit.h"
#include "models/flux_keys.h"

typedef struct {
  int order;     /* q, k, v, mlp stack in this order; a whole tensor is 0 */
  int64_t rows;
  float *values;
} row_block;

typedef struct {
  char *name;
  int ndim;
  int64_t cols;
  GArray *blocks; /* row_block */
} bfl_tensor;

static gint
by_order (gconstpointer a, gconstpointer b)
{
  return ((const row_block *) a)->order - ((const row_block *) b)->order;
}

/* Reads one diffusers tensor as f32, in the row order BFL stores it. */
static row_block
read_block (td_safetensors *st, const td_safetensors_info *info, td_flux_part part)
{
  td_error err = { 0 };
  td_tensor *view = td_safetensors_tensor_of (st, info, &err);
  g_assert_nonnull (view);
  float *values = td_tensor_to_f32 (view, &err);
  g_assert_nonnull (values);
  td_tensor_free (view);
  row_block block = { part == TD_FLUX_WHOLE || part == TD_FLUX_SWAPPED_HALVES ? 0 : part, info->shape[0], values };
  if (part == TD_FLUX_SWAPPED_HALVES)
    {
      /* diffusers stores (scale, shift); BFL stores (shift, scale). */
      int64_t cols = info->ndim == 2 ? info->shape[1] : 1;
      size_t half = (size_t) (info->shape[0] / 2) * cols;
      float *swapped = malloc (2 * half * sizeof *swapped);
      memcpy (swapped, values + half, half * sizeof *swapped);
      memcpy (swapped + half, values, half * sizeof *swapped);
      free (values);
      block.values = swapped;
    }
  return block;
}

static char *
write_single_file (const char *diffusers_dir, const char *out_dir)
{
  td_error err = { 0 };
  td_safetensors *st = td_safetensors_open_dir (diffusers_dir, &err);
  g_assert_nonnull (st);
  GHashTable *by_name = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *tensors = g_ptr_array_new ();
  for (size_t i = 0; i < td_safetensors_count (st); i++)
    {
      const td_safetensors_info *info = td_safetensors_at (st, i);
      td_flux_bfl_ref ref;
      g_assert_true (td_flux_bfl_translate (info->name, &ref));
      bfl_tensor *t = g_hash_table_lookup (by_name, ref.name);
      if (t == NULL)
        {
          t = g_new0 (bfl_tensor, 1);
          t->name = g_strdup (ref.name);
          t->ndim = info->ndim;
          t->cols = info->ndim == 2 ? info->shape[1] : 1;
          t->blocks = g_array_new (FALSE, FALSE, sizeof (row_block));
          g_hash_table_insert (by_name, t->name, t);
          g_ptr_array_add (tensors, t);
        }
      row_block block = read_block (st, info, ref.part);
      g_array_append_val (t->blocks, block);
    }

  guint n = tensors->len;
  td_safetensors_entry *entries = g_new0 (td_safetensors_entry, n);
  int64_t *shapes = g_new0 (int64_t, 2 * (gsize) n);
  for (guint i = 0; i < n; i++)
    {
      bfl_tensor *t = tensors->pdata[i];
      g_array_sort (t->blocks, by_order);
      int64_t rows = 0;
      for (guint b = 0; b < t->blocks->len; b++)
        rows += g_array_index (t->blocks, row_block, b).rows;
      float *data = g_new (float, rows * t->cols);
      size_t at = 0;
      for (guint b = 0; b < t->blocks->len; b++)
        {
          row_block *block = &g_array_index (t->blocks, row_block, b);
          memcpy (data + at, block->values, (size_t) block->rows * t->cols * sizeof (float));
          at += (size_t) block->rows * t->cols;
          free (block->values);
        }
      shapes[2 * i] = rows;
      shapes[2 * i + 1] = t->cols;
      entries[i] = (td_safetensors_entry) { t->name, TD_F32, t->ndim, &shapes[2 * i], data, at * sizeof (float) };
    }
  /* The tiny model splits its heads as 4 + 6 + 6, not FLUX.1's 16 + 56 + 56. */
  const char *metadata[] = { "axes_dims_rope", "4,6,6", NULL };
  char *path = g_build_filename (out_dir, "flux1-tiny.safetensors", NULL);
  g_assert_cmpint (td_safetensors_write (path, entries, n, metadata, &err), ==, TD_OK);

  for (guint i = 0; i < n; i++)
    {
      bfl_tensor *t = tensors->pdata[i];
      g_free ((void *) entries[i].data);
      g_array_unref (t->blocks);
      g_free (t->name);
      g_free (t);
    }
  g_free (entries);
  g_free (shapes);
  g_ptr_array_unref (tensors);
  g_hash_table_unref (by_name);
  td_safetensors_close (st);
  return path;
}

static float *
run_model (const char *path, int64_t *numel)
{
  td_error err = { 0 };
  g_autofree char *io_path = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "flux", "io.safetensors", NULL);
  td_safetensors *io = td_safetensors_open (io_path, &err);
  g_assert_nonnull (io);
  td_flux_dit *model = td_flux_dit_load (path, NULL, &err);
  if (model == NULL)
    g_error ("%s", err.message);
  td_tensor *latents = td_safetensors_tensor (io, "noise_packed", &err);
  td_tensor *txt = td_safetensors_tensor (io, "prompt_embeds", &err);
  td_tensor *pooled = td_safetensors_tensor (io, "pooled_prompt_embeds", &err);
  td_tensor *img_ids = td_safetensors_tensor (io, "img_ids", &err);
  td_tensor *txt_ids = td_safetensors_tensor (io, "txt_ids", &err);
  td_tensor *cos = NULL, *sin = NULL;
  g_assert_cmpint (td_flux_dit_rope (model, td_tensor_host_data (txt_ids), (int) txt_ids->shape[0],
                                     td_tensor_host_data (img_ids), (int) img_ids->shape[0], &cos, &sin, &err),
                   ==, TD_OK);
  td_tensor *out = td_flux_dit_forward (model, latents, txt, pooled, 0.73f, 3.5f, cos, sin, &err);
  if (out == NULL)
    g_error ("%s", err.message);
  float *values = td_tensor_to_f32 (out, &err);
  *numel = td_tensor_numel (out);
  td_tensor *tensors[] = { out, cos, sin, latents, txt, pooled, img_ids, txt_ids };
  for (size_t i = 0; i < G_N_ELEMENTS (tensors); i++)
    td_tensor_free (tensors[i]);
  td_flux_dit_free (model);
  td_safetensors_close (io);
  return values;
}

static void
test_single_file_matches_diffusers (void)
{
  g_autofree char *diffusers = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "flux", "transformer", NULL);
  g_autofree char *tmp = g_dir_make_tmp ("td-flux-bfl-XXXXXX", NULL);
  g_autofree char *single = write_single_file (diffusers, tmp);

  /* The converted file really is in BFL layout. */
  td_error err = { 0 };
  td_safetensors *st = td_safetensors_open (single, &err);
  g_assert_nonnull (td_safetensors_find (st, "double_blocks.0.img_attn.qkv.weight"));
  g_assert_nonnull (td_safetensors_find (st, "single_blocks.1.linear1.weight"));
  g_assert_nonnull (td_safetensors_find (st, "final_layer.adaLN_modulation.1.weight"));
  g_assert_null (td_safetensors_find (st, "x_embedder.weight"));
  td_safetensors_close (st);

  int64_t n_a = 0, n_b = 0;
  float *a = run_model (diffusers, &n_a);
  float *b = run_model (single, &n_b);
  g_assert_cmpint (n_a, ==, n_b);
  g_assert_cmpint (n_a, >, 0);
  for (int64_t i = 0; i < n_a; i++)
    g_assert_cmpfloat (a[i], ==, b[i]);
  free (a);
  free (b);
  g_unlink (single);
  g_rmdir (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/flux/single-file-matches-diffusers", test_single_file_matches_diffusers);
  return g_test_run ();
}
