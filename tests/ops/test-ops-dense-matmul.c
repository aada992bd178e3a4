/* MATMUL on the CPU backend: a hand-computed case, then random odd sizes against a
 * double-precision loop for f32, f16 and bf16 weights, shared and batched. */
#include "dense-test-util.h"

static void
test_known_2x3 (void)
{
  td_error err = { 0 };
  /* x [2, 3] · w [2, 3]ᵀ + bias [2]: y[m][n] = Σ_k x[m][k] w[n][k] + bias[n] */
  const float x_values[] = { 1, 2, 3, 4, 5, 6 };
  const float w_values[] = { 1, 0, -1, 2, 1, 0 };
  const float bias_values[] = { 0.5f, -1 };
  const int64_t x_shape[] = { 2, 3 }, w_shape[] = { 2, 3 }, bias_shape[] = { 2 }, y_shape[] = { 2, 2 };
  td_tensor *x = tensor_of (TD_F32, 2, x_shape, x_values);
  td_tensor *w = tensor_of (TD_F32, 2, w_shape, w_values);
  td_tensor *bias = tensor_of (TD_F32, 1, bias_shape, bias_values);
  td_tensor *y = tensor_of (TD_F32, 2, y_shape, NULL);

  g_assert_cmpint (td_matmul (test_backend, y, x, w, NULL, &err), ==, TD_OK);
  float *v = values_of (y);
  const float expected[] = { -2, 4, -2, 13 };
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (v[i], ==, expected[i]);
  g_free (v);

  g_assert_cmpint (td_matmul (test_backend, y, x, w, bias, &err), ==, TD_OK);
  v = values_of (y);
  const float expected_bias[] = { -1.5f, 3, -1.5f, 12 };
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (v[i], ==, expected_bias[i]);
  g_free (v);

  td_tensor_free (x);
  td_tensor_free (w);
  td_tensor_free (bias);
  td_tensor_free (y);
}

/* Runs y = x · wᵀ + bias for random x [lead…, M, K] and w [(B,) N, K] of w_dtype and
 * compares each element with a double loop over the stored (rounded) values, bounded by
 * a relative error on Σ|x·w|. */
static void
check_random_matmul (GRand *rng, int x_ndim, const int64_t *x_shape, int64_t n, bool batched, td_dtype w_dtype,
                     bool with_bias, td_dtype bias_dtype)
{
  td_error err = { 0 };
  int64_t k = x_shape[x_ndim - 1], m = x_ndim >= 2 ? x_shape[x_ndim - 2] : 1, batches = 1;
  for (int i = 0; i < x_ndim - 2; i++)
    batches *= x_shape[i];
  int64_t rows = batches * m;

  int64_t w_shape[3] = { batches, n, k };
  int w_ndim = batched ? 3 : 2;
  int64_t w_count = (batched ? batches : 1) * n * k;
  float *x_values = random_floats (rng, (size_t) (rows * k), -1, 1);
  float *w_values = random_floats (rng, (size_t) w_count, -1, 1);
  float *bias_values = random_floats (rng, (size_t) n, -2, 2);
  round_to_dtype (w_values, (size_t) w_count, w_dtype);
  round_to_dtype (bias_values, (size_t) n, bias_dtype);

  int64_t y_shape[TD_MAX_DIMS];
  memcpy (y_shape, x_shape, (size_t) x_ndim * sizeof *y_shape);
  y_shape[x_ndim - 1] = n;
  const int64_t bias_shape[] = { n };
  td_tensor *x = tensor_of (TD_F32, x_ndim, x_shape, x_values);
  td_tensor *w = tensor_of (w_dtype, w_ndim, batched ? w_shape : w_shape + 1, w_values);
  td_tensor *bias = with_bias ? tensor_of (bias_dtype, 1, bias_shape, bias_values) : NULL;
  td_tensor *y = tensor_of (TD_F32, x_ndim, y_shape, NULL);

  g_assert_cmpint (td_matmul (test_backend, y, x, w, bias, &err), ==, TD_OK);
  float *got = values_of (y);
  for (int64_t r = 0; r < rows; r++)
    {
      const float *wm = w_values + (batched ? (r / m) * n * k : 0);
      for (int64_t j = 0; j < n; j++)
        {
          double sum = with_bias ? bias_values[j] : 0.0, magnitude = 0;
          for (int64_t i = 0; i < k; i++)
            {
              double term = (double) x_values[r * k + i] * wm[j * k + i];
              sum += term;
              magnitude += fabs (term);
            }
          assert_near (got[r * n + j], sum, 1e-5 * magnitude + 1e-6 * fabs (sum) + 1e-7);
        }
    }

  g_free (got);
  g_free (x_values);
  g_free (w_values);
  g_free (bias_values);
  td_tensor_free (x);
  td_tensor_free (w);
  td_tensor_free (bias);
  td_tensor_free (y);
}

static void
test_random_shared (void)
{
  GRand *rng = g_rand_new_with_seed (1);
  const td_dtype dtypes[] = { TD_F32, TD_F16, TD_BF16 };
  const int64_t shape_2d[] = { 37, 61 };
  const int64_t shape_3d[] = { 3, 5, 61 };
  const int64_t shape_1d[] = { 61 };
  for (int d = 0; d < 3; d++)
    {
      check_random_matmul (rng, 2, shape_2d, 19, false, dtypes[d], false, TD_F32);
      check_random_matmul (rng, 2, shape_2d, 19, false, dtypes[d], true, dtypes[(d + 1) % 3]);
      check_random_matmul (rng, 3, shape_3d, 19, false, dtypes[d], true, TD_F32);
      check_random_matmul (rng, 1, shape_1d, 7, false, dtypes[d], true, TD_BF16);
    }
  g_rand_free (rng);
}

static void
test_random_batched (void)
{
  GRand *rng = g_rand_new_with_seed (2);
  const td_dtype dtypes[] = { TD_F32, TD_F16, TD_BF16 };
  const int64_t shape_4d[] = { 2, 3, 9, 61 }; /* B = 6 matrices of 9 rows */
  const int64_t shape_3d[] = { 4, 37, 13 };
  for (int d = 0; d < 3; d++)
    {
      check_random_matmul (rng, 4, shape_4d, 19, true, dtypes[d], false, TD_F32);
      check_random_matmul (rng, 3, shape_3d, 5, true, dtypes[d], true, TD_F16);
    }
  g_rand_free (rng);
}

/* Sizes that cross the kernel's tiles: K not a multiple of the dot lanes, several
 * weight blocks, x rows past one row block with a tail of fewer than four rows. */
static void
test_random_tiles (void)
{
  GRand *rng = g_rand_new_with_seed (3);
  const int64_t shape[] = { 70, 1001 };
  check_random_matmul (rng, 2, shape, 301, false, TD_F16, true, TD_F32);
  check_random_matmul (rng, 2, shape, 67, false, TD_F32, false, TD_F32);
  const int64_t tall[] = { 2, 131, 7 };
  check_random_matmul (rng, 3, tall, 3, true, TD_BF16, false, TD_F32);
  g_rand_free (rng);
}

/* K = 0: the sum is empty, so y is the bias. */
static void
test_empty_k (void)
{
  td_error err = { 0 };
  const int64_t x_shape[] = { 3, 0 }, w_shape[] = { 2, 0 }, bias_shape[] = { 2 }, y_shape[] = { 3, 2 };
  const float bias_values[] = { 1.5f, -2 };
  td_tensor *x = tensor_of (TD_F32, 2, x_shape, NULL);
  td_tensor *w = tensor_of (TD_BF16, 2, w_shape, NULL);
  td_tensor *bias = tensor_of (TD_F32, 1, bias_shape, bias_values);
  td_tensor *y = tensor_of (TD_F32, 2, y_shape, NULL);
  g_assert_cmpint (td_matmul (test_backend, y, x, w, bias, &err), ==, TD_OK);
  float *v = values_of (y);
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (v[i], ==, bias_values[i % 2]);
  g_free (v);
  td_tensor_free (x);
  td_tensor_free (w);
  td_tensor_free (bias);
  td_tensor_free (y);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  test_backend_init ();
  g_test_add_func ("/ops/dense/matmul/known-2x3", test_known_2x3);
  g_test_add_func ("/ops/dense/matmul/random-shared", test_random_shared);
  g_test_add_func ("/ops/dense/matmul/random-batched", test_random_batched);
  g_test_add_func ("/ops/dense/matmul/random-tiles", test_random_tiles);
  g_test_add_func ("/ops/dense/matmul/empty-k", test_empty_k);
  int status = g_test_run ();
  td_backend_free (test_backend);
  return status;
}
