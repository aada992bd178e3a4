/* LAYER_NORM, RMS_NORM, GROUP_NORM and SOFTMAX on the CPU backend: hand-computed rows,
 * then statistical properties and double-precision references on random odd sizes. */
#include "dense-test-util.h"

static void
run_and_compare (td_tensor *y, const double *expected, int count, double tolerance)
{
  float *v = values_of (y);
  for (int i = 0; i < count; i++)
    assert_near (v[i], expected[i], tolerance);
  g_free (v);
}

/* [1, 2, 3, 4]: mean 2.5, variance 1.25, so (x - 2.5)/√1.25 = ±0.4472, ±1.3416;
 * mean of squares 7.5, so x/√7.5. */
static void
test_known_rows (void)
{
  td_error err = { 0 };
  const float row[] = { 1, 2, 3, 4 };
  const float weight_values[] = { 1, 2, -1, 0.5f };
  const float bias_values[] = { 0, 1, 0, -1 };
  const int64_t shape[] = { 1, 4 }, vector[] = { 4 };
  td_tensor *x = tensor_of (TD_F32, 2, shape, row);
  td_tensor *weight = tensor_of (TD_BF16, 1, vector, weight_values);
  td_tensor *bias = tensor_of (TD_F16, 1, vector, bias_values);
  td_tensor *y = tensor_of (TD_F32, 2, shape, NULL);

  double z = 1 / sqrt (1.25);
  const double layer[] = { -1.5 * z, -0.5 * z, 0.5 * z, 1.5 * z };
  g_assert_cmpint (td_layer_norm (test_backend, y, x, NULL, NULL, 0.0f, &err), ==, TD_OK);
  run_and_compare (y, layer, 4, 1e-6);

  const double affine[] = { -1.5 * z, -1.0 * z + 1, -0.5 * z, 0.75 * z - 1 };
  g_assert_cmpint (td_layer_norm (test_backend, y, x, weight, bias, 0.0f, &err), ==, TD_OK);
  run_and_compare (y, affine, 4, 1e-6);

  /* eps enters under the root: var 1.25 + eps 0.75 = 2. */
  const double with_eps[] = { -1.5 / sqrt (2), -0.5 / sqrt (2), 0.5 / sqrt (2), 1.5 / sqrt (2) };
  g_assert_cmpint (td_layer_norm (test_backend, y, x, NULL, NULL, 0.75f, &err), ==, TD_OK);
  run_and_compare (y, with_eps, 4, 1e-6);

  double r = 1 / sqrt (7.5);
  const double rms[] = { 1 * r, 2 * r, 3 * r, 4 * r };
  g_assert_cmpint (td_rms_norm (test_backend, y, x, NULL, 0.0f, &err), ==, TD_OK);
  run_and_compare (y, rms, 4, 1e-6);
  const double rms_weighted[] = { 1 * r, 4 * r, -3 * r, 2 * r };
  g_assert_cmpint (td_rms_norm (test_backend, y, x, weight, 0.0f, &err), ==, TD_OK);
  run_and_compare (y, rms_weighted, 4, 1e-6);

  td_tensor_free (x);
  td_tensor_free (weight);
  td_tensor_free (bias);
  td_tensor_free (y);
}

/* x [1, 4, 2] in 2 groups: group 0 is channels 0–1 = [1, 2, 3, 4], group 1 is
 * channels 2–3 = [10, 10, 10, 14] (mean 11, variance 3). */
static void
test_known_group_norm (void)
{
  td_error err = { 0 };
  const float values[] = { 1, 2, 3, 4, 10, 10, 10, 14 };
  const float weight_values[] = { 1, 2, 1, -1 };
  const float bias_values[] = { 0, 0, 5, 0 };
  const int64_t shape[] = { 1, 4, 2 }, vector[] = { 4 };
  td_tensor *x = tensor_of (TD_F32, 3, shape, values);
  td_tensor *weight = tensor_of (TD_F16, 1, vector, weight_values);
  td_tensor *bias = tensor_of (TD_BF16, 1, vector, bias_values);
  td_tensor *y = tensor_of (TD_F32, 3, shape, NULL);

  double z = 1 / sqrt (1.25), u = 1 / sqrt (3.0);
  g_assert_cmpint (td_group_norm (test_backend, y, x, weight, bias, 2, 0.0f, &err), ==, TD_OK);
  const double expected[] = { -1.5 * z, -0.5 * z, 2 * 0.5 * z, 2 * 1.5 * z, -u + 5, -u + 5, u, -3 * u };
  run_and_compare (y, expected, 8, 1e-6);

  td_tensor_free (x);
  td_tensor_free (weight);
  td_tensor_free (bias);
  td_tensor_free (y);
}

static void
test_known_softmax (void)
{
  td_error err = { 0 };
  const float values[] = { 1, 2, 3, 1000, 1001, 999, -INFINITY, -INFINITY, -INFINITY, 5, -INFINITY, 5 };
  const int64_t shape[] = { 4, 3 };
  td_tensor *x = tensor_of (TD_F32, 2, shape, values);
  td_tensor *y = tensor_of (TD_F32, 2, shape, NULL);

  /* softmax([1, 2, 3]); a shifted row that would overflow exp without the max;
   * a fully masked row (zeros); a row with one masked entry. */
  const double e1 = exp (-1), e2 = exp (-2);
  const double expected[] = { 0.09003057317038046, 0.24472847105479767, 0.6652409557748219,
                              e1 / (1 + e1 + e2), 1 / (1 + e1 + e2), e2 / (1 + e1 + e2),
                              0, 0, 0,
                              0.5, 0, 0.5 };
  g_assert_cmpint (td_softmax (test_backend, y, x, 1.0f, &err), ==, TD_OK);
  run_and_compare (y, expected, 12, 1e-7);

  /* scale 2: softmax([2, 4, 6]) */
  const double scaled[] = { 0.015876239976466765, 0.11731042782619835, 0.8668133321973348 };
  g_assert_cmpint (td_softmax (test_backend, y, x, 2.0f, &err), ==, TD_OK);
  run_and_compare (y, scaled, 3, 1e-7);

  td_tensor_free (x);
  td_tensor_free (y);
}

/* Random rows [37, 61] (offset and spread so the mean matters): layer norm rows have
 * mean ≈ 0 and variance ≈ 1, RMS rows mean square ≈ 1, and both match a double
 * reference with f16/bf16 affine parameters. */
static void
test_random_row_norms (void)
{
  td_error err = { 0 };
  GRand *rng = g_rand_new_with_seed (21);
  const int64_t rows = 37, d = 61, shape[] = { rows, d }, vector[] = { d };
  float *values = random_floats (rng, (size_t) (rows * d), -3, 7);
  float *weight_values = random_floats (rng, (size_t) d, -2, 2);
  float *bias_values = random_floats (rng, (size_t) d, -1, 1);
  round_to_dtype (weight_values, (size_t) d, TD_BF16);
  round_to_dtype (bias_values, (size_t) d, TD_F16);
  td_tensor *x = tensor_of (TD_F32, 2, shape, values);
  td_tensor *weight = tensor_of (TD_BF16, 1, vector, weight_values);
  td_tensor *bias = tensor_of (TD_F16, 1, vector, bias_values);
  td_tensor *y = tensor_of (TD_F32, 2, shape, NULL);
  const float eps = 1e-5f;

  g_assert_cmpint (td_layer_norm (test_backend, y, x, NULL, NULL, eps, &err), ==, TD_OK);
  float *v = values_of (y);
  for (int64_t r = 0; r < rows; r++)
    {
      double sum = 0, squares = 0;
      for (int64_t i = 0; i < d; i++)
        sum += v[r * d + i];
      for (int64_t i = 0; i < d; i++)
        squares += (v[r * d + i] - sum / d) * (v[r * d + i] - sum / d);
      assert_near (sum / d, 0, 1e-6);
      assert_near (squares / d, 1, 1e-4); /* eps shrinks it by ~eps / var */
    }
  g_free (v);

  g_assert_cmpint (td_layer_norm (test_backend, y, x, weight, bias, eps, &err), ==, TD_OK);
  v = values_of (y);
  for (int64_t r = 0; r < rows; r++)
    {
      const float *row = values + r * d;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < d; i++)
        mean += row[i];
      mean /= d;
      for (int64_t i = 0; i < d; i++)
        var += (row[i] - mean) * (row[i] - mean);
      var /= d;
      for (int64_t i = 0; i < d; i++)
        assert_near (v[r * d + i], (row[i] - mean) / sqrt (var + eps) * weight_values[i] + bias_values[i], 2e-6);
    }
  g_free (v);

  g_assert_cmpint (td_rms_norm (test_backend, y, x, NULL, 1e-6f, &err), ==, TD_OK);
  v = values_of (y);
  for (int64_t r = 0; r < rows; r++)
    {
      double squares = 0;
      for (int64_t i = 0; i < d; i++)
        squares += (double) v[r * d + i] * v[r * d + i];
      assert_near (squares / d, 1, 1e-5);
    }
  g_free (v);

  g_assert_cmpint (td_rms_norm (test_backend, y, x, weight, 1e-6f, &err), ==, TD_OK);
  v = values_of (y);
  for (int64_t r = 0; r < rows; r++)
    {
      const float *row = values + r * d;
      double squares = 0;
      for (int64_t i = 0; i < d; i++)
        squares += (double) row[i] * row[i];
      double inv_rms = 1 / sqrt (squares / d + 1e-6);
      for (int64_t i = 0; i < d; i++)
        assert_near (v[r * d + i], row[i] * inv_rms * weight_values[i], 2e-6);
    }
  g_free (v);

  /* In place: y aliases x. */
  g_assert_cmpint (td_rms_norm (test_backend, x, x, NULL, 1e-6f, &err), ==, TD_OK);
  v = values_of (x);
  double squares = 0;
  for (int64_t i = 0; i < d; i++)
    squares += (double) v[i] * v[i];
  assert_near (squares / d, 1, 1e-5);
  g_free (v);

  g_free (values);
  g_free (weight_values);
  g_free (bias_values);
  td_tensor_free (x);
  td_tensor_free (weight);
  td_tensor_free (bias);
  td_tensor_free (y);
  g_rand_free (rng);
}

/* x [2, 6, 5, 7] in 3 groups: each (batch, group) has mean ≈ 0, variance ≈ 1, and the
 * affine version matches a double reference. */
static void
test_random_group_norm (void)
{
  td_error err = { 0 };
  GRand *rng = g_rand_new_with_seed (22);
  const int64_t b = 2, c = 6, s = 35, groups = 3, shape[] = { b, c, 5, 7 }, vector[] = { c };
  size_t n = (size_t) (b * c * s);
  float *values = random_floats (rng, n, -4, 9);
  float *weight_values = random_floats (rng, (size_t) c, 0.5, 2);
  float *bias_values = random_floats (rng, (size_t) c, -1, 1);
  td_tensor *x = tensor_of (TD_F32, 4, shape, values);
  td_tensor *weight = tensor_of (TD_F32, 1, vector, weight_values);
  td_tensor *bias = tensor_of (TD_F32, 1, vector, bias_values);
  td_tensor *y = tensor_of (TD_F32, 4, shape, NULL);
  int64_t per_group = c / groups * s;

  g_assert_cmpint (td_group_norm (test_backend, y, x, NULL, NULL, (int) groups, 1e-6f, &err), ==, TD_OK);
  float *v = values_of (y);
  for (int64_t g = 0; g < b * groups; g++)
    {
      double sum = 0, squares = 0;
      for (int64_t i = 0; i < per_group; i++)
        sum += v[g * per_group + i];
      for (int64_t i = 0; i < per_group; i++)
        squares += (v[g * per_group + i] - sum / per_group) * (v[g * per_group + i] - sum / per_group);
      assert_near (sum / per_group, 0, 1e-6);
      assert_near (squares / per_group, 1, 1e-5);
    }
  g_free (v);

  g_assert_cmpint (td_group_norm (test_backend, y, x, weight, bias, (int) groups, 1e-6f, &err), ==, TD_OK);
  v = values_of (y);
  for (int64_t g = 0; g < b * groups; g++)
    {
      const float *group = values + g * per_group;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < per_group; i++)
        mean += group[i];
      mean /= per_group;
      for (int64_t i = 0; i < per_group; i++)
        var += (group[i] - mean) * (group[i] - mean);
      var /= per_group;
      for (int64_t i = 0; i < per_group; i++)
        {
          int64_t channel = (g % groups) * (c / groups) + i / s;
          double e = (group[i] - mean) / sqrt (var + 1e-6) * weight_values[channel] + bias_values[channel];
          assert_near (v[g * per_group + i], e, 4e-6);
        }
    }
  g_free (v);

  g_free (values);
  g_free (weight_values);
  g_free (bias_values);
  td_tensor_free (x);
  td_tensor_free (weight);
  td_tensor_free (bias);
  td_tensor_free (y);
  g_rand_free (rng);
}

/* Random rows [3, 37, 61]: every row sums to 1, entries are in [0, 1], and each matches
 * exp(s·x - max) / Σ in double. */
static void
test_random_softmax (void)
{
  td_error err = { 0 };
  GRand *rng = g_rand_new_with_seed (23);
  const int64_t rows = 3 * 37, d = 61, shape[] = { 3, 37, d };
  float *values = random_floats (rng, (size_t) (rows * d), -20, 20);
  td_tensor *x = tensor_of (TD_F32, 3, shape, values);
  td_tensor *y = tensor_of (TD_F32, 3, shape, NULL);
  const float scale = 0.37f;

  g_assert_cmpint (td_softmax (test_backend, y, x, scale, &err), ==, TD_OK);
  float *v = values_of (y);
  for (int64_t r = 0; r < rows; r++)
    {
      const float *row = values + r * d;
      double max = -INFINITY, total = 0, sum = 0;
      for (int64_t i = 0; i < d; i++)
        max = fmax (max, (double) scale * row[i]);
      for (int64_t i = 0; i < d; i++)
        total += exp ((double) scale * row[i] - max);
      for (int64_t i = 0; i < d; i++)
        {
          double e = exp ((double) scale * row[i] - max) / total;
          g_assert_cmpfloat (v[r * d + i], >=, 0.0f);
          g_assert_cmpfloat (v[r * d + i], <=, 1.0f);
          assert_near (v[r * d + i], e, 1e-6 * e + 1e-9);
          sum += v[r * d + i];
        }
      assert_near (sum, 1, 1e-5);
    }
  g_free (v);

  /* In place gives the same. */
  g_assert_cmpint (td_softmax (test_backend, x, x, scale, &err), ==, TD_OK);
  float *w = values_of (x), *again = values_of (y);
  for (int64_t i = 0; i < rows * d; i++)
    g_assert_cmpfloat (w[i], ==, again[i]);
  g_free (w);
  g_free (again);

  g_free (values);
  td_tensor_free (x);
  td_tensor_free (y);
  g_rand_free (rng);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  test_backend_init ();
  g_test_add_func ("/ops/dense/norm/known-rows", test_known_rows);
  g_test_add_func ("/ops/dense/norm/known-group", test_known_group_norm);
  g_test_add_func ("/ops/dense/softmax/known", test_known_softmax);
  g_test_add_func ("/ops/dense/norm/random-rows", test_random_row_norms);
  g_test_add_func ("/ops/dense/norm/random-group", test_random_group_norm);
  g_test_add_func ("/ops/dense/softmax/random", test_random_softmax);
  int status = g_test_run ();
  td_backend_free (test_backend);
  return status;
}
