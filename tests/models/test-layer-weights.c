/* test-layer-weights — the layer helpers check each weight against their input before
 * use: a linear weight of rank 0, 1 or 3, a weight of an integer dtype, a bias or norm of
 * the wrong size and a conv kernel over the wrong channel count are refused with the
 * file and the tensor named, never read out of bounds. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "io/safetensors.h"
#include "models/layers.h"

static const float zeros[64];

typedef struct {
  const char *name;
  td_dtype dtype;
  int ndim;
  int64_t shape[4];
} spec;

static const spec tensors[] = {
  { "scalar.weight", TD_F32, 0, { 0 } },
  { "vector.weight", TD_F32, 1, { 4 } },
  { "cube.weight", TD_F32, 3, { 2, 2, 4 } },
  { "ints.weight", TD_I32, 2, { 3, 4 } },
  { "narrow.weight", TD_F32, 2, { 3, 5 } },
  { "biased.weight", TD_F32, 2, { 3, 4 } },
  { "biased.bias", TD_F32, 1, { 2 } },
  { "norm.weight", TD_F32, 1, { 5 } },
  { "conv.weight", TD_F32, 4, { 2, 3, 1, 1 } },
  { "good.weight", TD_F32, 2, { 3, 4 } },
  { "good.bias", TD_F32, 1, { 3 } },
};

static char *
write_weights (void)
{
  td_safetensors_entry entries[G_N_ELEMENTS (tensors)];
  for (size_t i = 0; i < G_N_ELEMENTS (tensors); i++)
    {
      size_t numel = 1;
      for (int d = 0; d < tensors[i].ndim; d++)
        numel *= tensors[i].shape[d];
      entries[i] = (td_safetensors_entry) { tensors[i].name, tensors[i].dtype, tensors[i].ndim, tensors[i].shape,
                                            zeros, numel * td_dtype_size (tensors[i].dtype) };
    }
  char *path = g_build_filename (g_get_tmp_dir (), "td-layer-weights.safetensors", NULL);
  td_error err = { 0 };
  g_assert_cmpint (td_safetensors_write (path, entries, G_N_ELEMENTS (entries), NULL, &err), ==, TD_OK);
  return path;
}

typedef enum { LINEAR, LAYER_NORM, RMS_NORM, CONV } layer;

static void
check_refused (td_weights *weights, layer kind, const char *prefix, const char *tensor)
{
  td_error err = { 0 };
  td_layer_ctx ctx = { .backend = td_backend_host (), .weights = weights, .err = &err };
  const int64_t image_shape[4] = { 1, 4, 2, 2 }, tokens_shape[3] = { 1, 2, 4 };
  td_tensor *x = kind == CONV ? td_layer_from_host (&ctx, TD_F32, 4, image_shape, zeros)
                              : td_layer_from_host (&ctx, TD_F32, 3, tokens_shape, zeros);
  g_assert_nonnull (x);
  td_tensor *y = kind == LINEAR       ? td_layer_linear (&ctx, x, prefix)
                 : kind == LAYER_NORM ? td_layer_layer_norm (&ctx, x, prefix, 1e-5f)
                 : kind == RMS_NORM   ? td_layer_rms_norm (&ctx, x, prefix, 1e-5f)
                                      : td_layer_conv2d (&ctx, x, prefix, 1, 0);
  g_test_message ("%s: %s", prefix, err.message);
  g_assert_null (y);
  g_assert_false (td_layer_ok (&ctx));
  g_assert_nonnull (strstr (err.message, "td-layer-weights.safetensors"));
  g_autofree char *quoted = g_strdup_printf ("'%s'", tensor);
  g_assert_nonnull (strstr (err.message, quoted));
  td_tensor_free (x);
}

static void
test_refused (void)
{
  g_autofree char *path = write_weights ();
  td_error err = { 0 };
  td_weights *weights = td_weights_open (path, NULL, &err);
  g_assert_nonnull (weights);
  check_refused (weights, LINEAR, "scalar", "scalar.weight");
  check_refused (weights, LINEAR, "vector", "vector.weight");
  check_refused (weights, LINEAR, "cube", "cube.weight");
  check_refused (weights, LINEAR, "ints", "ints.weight");
  check_refused (weights, LINEAR, "narrow", "narrow.weight");
  check_refused (weights, LINEAR, "biased", "biased.bias");
  check_refused (weights, LINEAR, "missing", "missing.weight");
  check_refused (weights, LAYER_NORM, "norm", "norm.weight");
  check_refused (weights, RMS_NORM, "norm.weight", "norm.weight");
  check_refused (weights, CONV, "conv", "conv.weight");

  /* The well-formed layer runs: [1, 4, 4] · [3, 4]ᵀ + [3]. */
  td_layer_ctx ctx = { .backend = td_backend_host (), .weights = weights, .err = &err };
  const int64_t x_shape[3] = { 1, 4, 4 };
  td_tensor *x = td_layer_from_host (&ctx, TD_F32, 3, x_shape, zeros);
  td_tensor *y = td_layer_linear (&ctx, x, "good");
  if (y == NULL)
    g_error ("%s", err.message);
  g_assert_cmpint (y->shape[2], ==, 3);
  td_tensor_free (y);
  td_tensor_free (x);
  td_weights_free (weights);
  g_unlink (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/layer-weights/refused", test_refused);
  return g_test_run ();
}
