/* MATMUL on the CPU backend with weights in every fp8 and ggml block format: a
 * hand-made Q8_0 case, then random weights on odd sizes (M and N not multiples
 * of anything, K a few blocks) against a double loop over the decoded values. */
#include "dense-test-util.h"
#include "quant-test-util.h"

static td_tensor *
raw_tensor (td_dtype dtype, int ndim, const int64_t *shape, const void *raw, size_t bytes)
{
  td_error err = { 0 };
  td_tensor *t = td_tensor_new (test_backend, dtype, ndim, shape, &err);
  g_assert_nonnull (t);
  g_assert_cmpint (td_tensor_upload (t, raw, bytes, &err), ==, TD_OK);
  return t;
}

/* One Q8_0 block per row, d = 0.5 and q = 1..32 (row 0) or q = −1 (row 1). */
static void
test_known_q8_0 (void)
{
  td_error err = { 0 };
  guint8 raw[2 * TD_Q8_0_BYTES];
  for (int r = 0; r < 2; r++)
    {
      uint16_t d = td_f32_to_f16 (0.5f);
      memcpy (raw + r * TD_Q8_0_BYTES, &d, 2);
      for (int j = 0; j < 32; j++)
        raw[r * TD_Q8_0_BYTES + 2 + j] = (guint8) (int8_t) (r == 0 ? j + 1 : -1);
    }
  const int64_t w_shape[] = { 2, 32 }, x_shape[] = { 1, 32 }, y_shape[] = { 1, 2 };
  float ones[32];
  for (int j = 0; j < 32; j++)
    ones[j] = 1.0f;
  td_tensor *w = raw_tensor (TD_Q8_0, 2, w_shape, raw, sizeof raw);
  td_tensor *x = tensor_of (TD_F32, 2, x_shape, ones);
  td_tensor *y = tensor_of (TD_F32, 2, y_shape, NULL);
  g_assert_cmpint (td_matmul (test_backend, y, x, w, NULL, &err), ==, TD_OK);
  float *v = values_of (y);
  g_assert_cmpfloat (v[0], ==, 0.5f * 528); /* 0.5 · (1 + … + 32) */
  g_assert_cmpfloat (v[1], ==, -16.0f);
  g_free (v);
  td_tensor_free (w);
  td_tensor_free (x);
  td_tensor_free (y);
}

static void
check_format (td_dtype dtype, int64_t m, int64_t n, int64_t blocks, GRand *rng)
{
  td_error err = { 0 };
  int64_t k = blocks * td_dtype_block_elems (dtype);
  size_t bytes;
  guint8 *raw = quant_test_random_weights (dtype, n * k, rng, &bytes);
  float *w = g_new (float, n * k), *x = g_new (float, m * k), *bias = g_new (float, n);
  td_convert_to_f32 (w, raw, dtype, (size_t) (n * k));
  for (int64_t i = 0; i < m * k; i++)
    x[i] = (float) g_rand_double_range (rng, -1, 1);
  for (int64_t i = 0; i < n; i++)
    bias[i] = (float) g_rand_double_range (rng, -1, 1);
  const int64_t w_shape[] = { n, k }, x_shape[] = { m, k }, y_shape[] = { m, n }, b_shape[] = { n };
  td_tensor *tw = raw_tensor (dtype, 2, w_shape, raw, bytes);
  td_tensor *tx = tensor_of (TD_F32, 2, x_shape, x);
  td_tensor *tb = tensor_of (TD_F32, 1, b_shape, bias);
  td_tensor *ty = tensor_of (TD_F32, 2, y_shape, NULL);
  g_assert_cmpint (td_matmul (test_backend, ty, tx, tw, tb, &err), ==, TD_OK);
  float *y = values_of (ty);
  double max_err = 0, max_ref = 0;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++)
      {
        double s = bias[j];
        for (int64_t c = 0; c < k; c++)
          s += (double) x[i * k + c] * w[j * k + c];
        max_err = fmax (max_err, fabs (y[i * n + j] - s));
        max_ref = fmax (max_ref, fabs (s));
      }
  if (max_err > 1e-5 * max_ref)
    g_error ("matmul %s [%lld, %lld] x [%lld, %lld]: rel_err %.3g", td_dtype_name (dtype), (long long) m,
             (long long) k, (long long) n, (long long) k, max_err / max_ref);
  g_free (y);
  g_free (raw);
  g_free (w);
  g_free (x);
  g_free (bias);
  td_tensor_free (tw);
  td_tensor_free (tx);
  td_tensor_free (tb);
  td_tensor_free (ty);
}

static void
test_every_format (void)
{
  GRand *rng = g_rand_new_with_seed (11);
  int count = 0;
  for (int d = 0; d < TD_DTYPE_COUNT; d++)
    if (td_dtype_is_quantized ((td_dtype) d) || d == TD_F8_E4M3 || d == TD_F8_E5M2)
      {
        check_format ((td_dtype) d, 1, 37, 3, rng);
        check_format ((td_dtype) d, 67, 33, 3, rng);
        count++;
      }
  g_assert_cmpint (count, ==, (int) G_N_ELEMENTS (quant_test_formats));
  g_rand_free (rng);
}

/* A block type whose rows are not whole blocks is refused, not misread. */
static void
test_partial_block_refused (void)
{
  td_error err = { 0 };
  const int64_t shape[] = { 2, 48 };
  g_assert_null (td_tensor_new (test_backend, TD_Q4_K, 2, shape, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "multiple of 256"));
}

/* y written over a block weight's bytes is caught by the aliasing check. */
static void
test_output_over_weight_refused (void)
{
  td_error err = { 0 };
  const int64_t w_shape[] = { 4, 32 }, x_shape[] = { 1, 32 }, y_shape[] = { 1, 4 };
  td_tensor *w = td_tensor_new (test_backend, TD_Q8_0, 2, w_shape, &err);
  g_assert_nonnull (w);
  memset (td_tensor_host_data (w), 0, td_tensor_nbytes (w));
  td_tensor *y = td_tensor_new_in (w->buffer, 64, TD_F32, 2, y_shape, &err); /* inside the 136 weight bytes */
  g_assert_nonnull (y);
  td_tensor *x = tensor_of (TD_F32, 2, x_shape, NULL);
  g_assert_cmpint (td_matmul (test_backend, y, x, w, NULL, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "overlaps"));
  td_tensor_free (x);
  td_tensor_free (y);
  td_tensor_free (w);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  test_backend_init ();
  g_test_add_func ("/ops/quant-matmul/known-q8_0", test_known_q8_0);
  g_test_add_func ("/ops/quant-matmul/every-format", test_every_format);
  g_test_add_func ("/ops/quant-matmul/partial-block", test_partial_block_refused);
  g_test_add_func ("/ops/quant-matmul/output-over-weight", test_output_over_weight_refused);
  return g_test_run ();
}
