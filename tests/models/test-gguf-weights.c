/* Model weights from a GGUF file: td_weights opens ggml's golden types.gguf,
 * and every tensor, uploaded in its stored format, multiplies x in
 * td_layer_linear_w to ggml's reference product y.<type> (CPU, and Vulkan
 * when the machine has a device). */
#include <glib.h>
#include <math.h>
#include <stdlib.h>

#include "io/safetensors.h"
#include "models/layers.h"
#include "pipeline/verify.h"

static void
check_backend (td_backend *backend)
{
  g_autofree char *gguf = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "gguf", "types.gguf", NULL);
  g_autofree char *ref_path = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "gguf", "types_ref.safetensors",
                                                NULL);
  td_error err = { 0 };
  td_weights *weights = td_weights_open (gguf, backend, &err);
  g_assert_nonnull (weights);
  g_assert_cmpstr (td_weights_path (weights), ==, gguf);
  td_safetensors *ref = td_safetensors_open (ref_path, &err);
  g_assert_nonnull (ref);
  td_layer_ctx ctx = { backend, weights, &err, TD_OK };
  const td_safetensors_info *xi = td_safetensors_find (ref, "x");
  td_tensor *x = td_layer_from_host (&ctx, TD_F32, xi->ndim, xi->shape, td_safetensors_data (ref, xi));
  static const char *const types[] = { "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0",
                                       "q5_1", "q2_K", "q3_K", "q4_K", "q5_K", "q6_K" };
  for (size_t i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autofree char *w_name = g_strdup_printf ("w.%s", types[i]);
      g_autofree char *y_name = g_strdup_printf ("y.%s", types[i]);
      g_assert_true (td_weights_has (weights, w_name));
      const td_tensor *w = td_weights_get (weights, w_name, &err);
      g_assert_nonnull (w);
      g_assert_cmpstr (td_dtype_name (w->dtype), ==, types[i]);
      td_tensor *y = td_layer_linear_w (&ctx, x, w, NULL);
      g_assert_cmpint (ctx.status, ==, TD_OK);
      g_assert_cmpint (td_backend_sync (backend, &err), ==, TD_OK);
      float *got = td_tensor_to_f32 (y, &err);
      const td_safetensors_info *yi = td_safetensors_find (ref, y_name);
      const float *want = td_safetensors_data (ref, yi);
      double max_err = 0, max_ref = 0;
      for (int64_t j = 0; j < td_tensor_numel (y); j++)
        {
          max_err = fmax (max_err, fabs ((double) got[j] - want[j]));
          max_ref = fmax (max_ref, fabs (want[j]));
        }
      if (max_err > 1e-5 * max_ref)
        g_error ("%s on %s: rel_err %.3g", w_name, td_backend_name (backend), max_err / max_ref);
      free (got);
      td_tensor_free (y);
    }
  g_assert_null (td_weights_get (weights, "w.missing", &err));
  g_assert_cmpint (err.status, ==, TD_ERR_NOT_FOUND);
  td_tensor_free (x);
  td_safetensors_close (ref);
  td_weights_free (weights);
}

static void
test_cpu (void)
{
  td_error err = { 0 };
  td_backend *backend = td_backend_cpu_new (&err);
  check_backend (backend);
  td_backend_free (backend);
}

static void
test_vulkan (void)
{
  td_error err = { 0 };
  td_backend *backend = td_verify_backend_new ("vulkan", &err);
  if (backend == NULL)
    {
      g_test_skip (err.message);
      return;
    }
  check_backend (backend);
  td_backend_free (backend);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gguf-weights/cpu", test_cpu);
  g_test_add_func ("/gguf-weights/vulkan", test_vulkan);
  return g_test_run ();
}
