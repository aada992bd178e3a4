/* fp8 checkpoints through td_layer_linear: an F8_E4M3 weight with its
 * per-tensor `prefix.scale_weight` (as ComfyUI writes them), an F8_E5M2 one
 * without, and a malformed scale that must be refused; and through the rotary
 * projections (td_layer_linear_rope, td_layer_linear_wp_norm_rope), which fuse
 * without a scale and run separate passes with one. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "models/layers.h"

#define N 3
#define K 5

static char *
write_checkpoint (const char *dir, const int64_t *scale_shape, int scale_ndim, const float *scale)
{
  /* E4M3 bytes of 1, -2, 0.5, 3, -0.25 (+ row index in the mantissa for variety) */
  static const uint8_t w8[N * K] = { 0x38, 0xc0, 0x30, 0x44, 0xa8, 0x39, 0xc1, 0x31, 0x45, 0xa9,
                                     0x3a, 0xc2, 0x32, 0x46, 0xaa };
  static const uint8_t w5[N * K] = { 0x3c, 0xc0, 0x38, 0x42, 0xb4, 0x3d, 0xc1, 0x39, 0x43, 0xb5,
                                     0x3e, 0xc2, 0x3a, 0x44, 0xb6 };
  static const float bias[N] = { 0.25f, -1.0f, 2.0f };
  const int64_t w_shape[2] = { N, K }, b_shape[1] = { N };
  td_safetensors_entry entries[] = {
    { "lin.weight", TD_F8_E4M3, 2, w_shape, w8, sizeof w8 },
    { "lin.scale_weight", TD_F32, scale_ndim, scale_shape, scale, sizeof (float) * (scale_ndim == 0 ? 1 : (size_t) scale_shape[0]) },
    { "lin.bias", TD_F32, 1, b_shape, bias, sizeof bias },
    { "plain.weight", TD_F8_E5M2, 2, w_shape, w5, sizeof w5 },
  };
  char *path = g_build_filename (dir, "fp8.safetensors", NULL);
  td_error err = { 0 };
  g_assert_cmpint (td_safetensors_write (path, entries, G_N_ELEMENTS (entries), NULL, &err), ==, TD_OK);
  return path;
}

/* y = scale · (x · Wᵀ) + bias in double over the decoded fp8 values. */
static void
expect_linear (td_weights *weights, td_backend *backend, const char *prefix, td_dtype dtype, const uint8_t *w_bytes,
               double scale, const float *bias)
{
  td_error err = { 0 };
  td_layer_ctx ctx = { backend, weights, &err, TD_OK };
  const float x_values[2 * K] = { 1, 2, -1, 0.5f, 3, -2, 0.25f, 1, 1, -1 };
  const int64_t x_shape[2] = { 2, K };
  td_tensor *x = td_layer_from_host (&ctx, TD_F32, 2, x_shape, x_values);
  td_tensor *y = td_layer_linear (&ctx, x, prefix);
  g_assert_cmpint (ctx.status, ==, TD_OK);
  float *got = td_tensor_to_f32 (y, &err);
  for (int m = 0; m < 2; m++)
    for (int n = 0; n < N; n++)
      {
        double s = 0;
        for (int k = 0; k < K; k++)
          {
            float w;
            td_convert_to_f32 (&w, &w_bytes[n * K + k], dtype, 1);
            s += (double) x_values[m * K + k] * w;
          }
        s = s * scale + (bias != NULL ? bias[n] : 0);
        g_assert_cmpfloat_with_epsilon (got[m * N + n], s, 1e-5 * (1 + fabs (s)));
      }
  free (got);
  td_tensor_free (x);
  td_tensor_free (y);
}

static void
test_scaled_and_plain (void)
{
  g_autofree char *dir = g_dir_make_tmp ("td-fp8-XXXXXX", NULL);
  const float scale = 0.375f;
  g_autofree char *path = write_checkpoint (dir, NULL, 0, &scale);
  td_error err = { 0 };
  td_backend *backend = td_backend_cpu_new (&err);
  td_weights *weights = td_weights_open (path, backend, &err);
  g_assert_nonnull (weights);
  td_safetensors *st = td_safetensors_open (path, &err);
  const td_safetensors_info *w8 = td_safetensors_find (st, "lin.weight");
  const td_safetensors_info *w5 = td_safetensors_find (st, "plain.weight");
  g_assert_cmpint (w8->dtype, ==, TD_F8_E4M3);
  g_assert_cmpint (w5->dtype, ==, TD_F8_E5M2);
  static const float bias[N] = { 0.25f, -1.0f, 2.0f };
  expect_linear (weights, backend, "lin", TD_F8_E4M3, td_safetensors_data (st, w8), scale, bias);
  expect_linear (weights, backend, "plain", TD_F8_E5M2, td_safetensors_data (st, w5), 1.0, NULL);
  td_safetensors_close (st);
  td_weights_free (weights);
  td_backend_free (backend);
  g_unlink (path);
  g_rmdir (dir);
}

/* The projection of x [1, 2, K] as one head of D = N = 3 (R = 2), rotated (and
 * normalised when asked), against td_layer_linear followed by the unfused op. */
static void
expect_rotary (td_weights *weights, td_backend *backend, const char *prefix, bool normalise)
{
  td_error err = { 0 };
  td_layer_ctx ctx = { backend, weights, &err, TD_OK };
  const float x_values[2 * K] = { 1, 2, -1, 0.5f, 3, -2, 0.25f, 1, 1, -1 };
  const float cos_values[2] = { 0.6f, -0.28f }, sin_values[2] = { 0.8f, 0.96f };
  const int64_t x_shape[3] = { 1, 2, K }, table_shape[2] = { 2, 1 }, heads_shape[4] = { 1, 2, 1, N };
  td_tensor *x = td_layer_from_host (&ctx, TD_F32, 3, x_shape, x_values);
  td_tensor *cos_t = td_layer_from_host (&ctx, TD_F32, 2, table_shape, cos_values);
  td_tensor *sin_t = td_layer_from_host (&ctx, TD_F32, 2, table_shape, sin_values);
  td_tensor *fused = td_layer_new (&ctx, TD_F32, 4, heads_shape), *plain = td_layer_new (&ctx, TD_F32, 4, heads_shape);
  if (normalise)
    {
      char name[64];
      g_snprintf (name, sizeof name, "%s.weight", prefix);
      const td_tensor *w = td_weights_get (weights, name, &err);
      g_snprintf (name, sizeof name, "%s.bias", prefix);
      const td_tensor *b = td_weights_get_optional (weights, name);
      g_assert_true (td_layer_linear_wp_norm_rope (&ctx, fused, x, w, b, prefix, true, NULL, 1e-6f, cos_t, sin_t,
                                                   TD_ROPE_HALF_SPLIT));
    }
  else
    g_assert_true (td_layer_linear_rope (&ctx, fused, x, prefix, cos_t, sin_t, TD_ROPE_HALF_SPLIT));
  td_tensor *flat = td_layer_linear (&ctx, x, prefix);
  td_tensor *heads = td_layer_reshape (&ctx, flat, 4, heads_shape);
  g_assert_cmpint (ctx.status, ==, TD_OK);
  g_assert_cmpint (normalise ? td_rms_norm_rope (backend, plain, heads, NULL, 1e-6f, cos_t, sin_t, TD_ROPE_HALF_SPLIT,
                                                 &err)
                             : td_rope (backend, plain, heads, cos_t, sin_t, TD_ROPE_HALF_SPLIT, &err),
                   ==, TD_OK);
  float *got = td_tensor_to_f32 (fused, &err), *want = td_tensor_to_f32 (plain, &err);
  for (int i = 0; i < 2 * N; i++)
    g_assert_cmpfloat (got[i], ==, want[i]);
  /* The third dim of each row is past R: normalised at most, never rotated. */
  float *product = td_tensor_to_f32 (flat, &err);
  if (!normalise)
    g_assert_cmpfloat (got[2], ==, product[2]);
  free (got);
  free (want);
  free (product);
  td_tensor *all[] = { x, cos_t, sin_t, fused, plain, flat, heads };
  for (size_t i = 0; i < G_N_ELEMENTS (all); i++)
    td_tensor_free (all[i]);
}

static void
test_rotary_projections (void)
{
  g_autofree char *dir = g_dir_make_tmp ("td-fp8-XXXXXX", NULL);
  const float scale = 0.375f;
  g_autofree char *path = write_checkpoint (dir, NULL, 0, &scale);
  td_error err = { 0 };
  td_backend *backend = td_backend_cpu_new (&err);
  td_weights *weights = td_weights_open (path, backend, &err);
  g_assert_nonnull (weights);
  for (int normalise = 0; normalise < 2; normalise++)
    {
      expect_rotary (weights, backend, "lin", normalise);   /* scaled: separate passes */
      expect_rotary (weights, backend, "plain", normalise); /* one MATMUL_NORM_ROPE */
    }
  td_weights_free (weights);
  td_backend_free (backend);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_bad_scale (void)
{
  g_autofree char *dir = g_dir_make_tmp ("td-fp8-XXXXXX", NULL);
  const float scales[2] = { 1, 2 };
  const int64_t shape[1] = { 2 };
  g_autofree char *path = write_checkpoint (dir, shape, 1, scales);
  td_error err = { 0 };
  td_backend *backend = td_backend_cpu_new (&err);
  td_weights *weights = td_weights_open (path, backend, &err);
  td_layer_ctx ctx = { backend, weights, &err, TD_OK };
  const float x_values[K] = { 1, 1, 1, 1, 1 };
  const int64_t x_shape[2] = { 1, K };
  td_tensor *x = td_layer_from_host (&ctx, TD_F32, 2, x_shape, x_values);
  g_assert_null (td_layer_linear (&ctx, x, "lin"));
  g_assert_cmpint (ctx.status, ==, TD_ERR_FORMAT);
  g_assert_nonnull (strstr (err.message, "lin.scale_weight"));
  td_tensor_free (x);
  td_weights_free (weights);
  td_backend_free (backend);
  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fp8-linear/scaled-and-plain", test_scaled_and_plain);
  g_test_add_func ("/fp8-linear/bad-scale", test_bad_scale);
  g_test_add_func ("/fp8-linear/rotary-projections", test_rotary_projections);
  return g_test_run ();
}
