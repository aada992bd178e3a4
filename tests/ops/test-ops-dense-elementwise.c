/* ADD, MUL (broadcasting), SCALE and UNARY on the CPU backend. */
#include "dense-test-util.h"

/* y = f(x) for the listed points; expected values from the closed forms
 * (Φ via erf, tanh, logistic), computed independently in double precision. */
static void
check_unary_points (td_unary_kind kind, const float *points, const double *expected, int count)
{
  td_error err = { 0 };
  const int64_t shape[] = { count };
  td_tensor *x = tensor_of (TD_F32, 1, shape, points);
  td_tensor *y = tensor_of (TD_F32, 1, shape, NULL);
  g_assert_cmpint (td_unary (test_backend, y, x, kind, &err), ==, TD_OK);
  float *v = values_of (y);
  for (int i = 0; i < count; i++)
    assert_near (v[i], expected[i], 2e-6 * fabs (expected[i]) + 1e-7);
  g_free (v);
  td_tensor_free (x);
  td_tensor_free (y);
}

static void
test_unary_known (void)
{
  const float points[] = { -3, -1, 0, 0.5f, 1, 2 };
  const double gelu[] = { -0.00404969409489031, -0.15865525393145707, 0, 0.34573123063700656, 0.8413447460685429,
                          1.9544997361036416 };
  const double gelu_tanh[] = { -0.0036373920817729943, -0.15880800939172324, 0, 0.34571400982514394,
                               0.8411919906082768, 1.954597694087775 };
  const double silu[] = { -0.14227761953270035, -0.2689414213699951, 0, 0.3112296656009273, 0.7310585786300049,
                          1.7615941559557646 };
  const double quick_gelu[] = { -0.01807130970778597, -0.1542042340671787, 0, 0.35038843660638014,
                                0.8457957659328212, 1.9356586231442083 };
  const double tanh_values[] = { -0.9950547536867305, -0.7615941559557649, 0, 0.46211715726000974,
                                 0.7615941559557649, 0.9640275800758169 };
  const double sigmoid[] = { 0.04742587317756678, 0.2689414213699951, 0.5, 0.6224593312018546, 0.7310585786300049,
                             0.8807970779778823 };
  const double relu[] = { 0, 0, 0, 0.5, 1, 2 };
  check_unary_points (TD_UNARY_GELU, points, gelu, 6);
  check_unary_points (TD_UNARY_GELU_TANH, points, gelu_tanh, 6);
  check_unary_points (TD_UNARY_SILU, points, silu, 6);
  check_unary_points (TD_UNARY_QUICK_GELU, points, quick_gelu, 6);
  check_unary_points (TD_UNARY_TANH, points, tanh_values, 6);
  check_unary_points (TD_UNARY_SIGMOID, points, sigmoid, 6);
  check_unary_points (TD_UNARY_RELU, points, relu, 6);
}

/* Far out in the tails the activations saturate without NaN or inf. */
static void
test_unary_extremes (void)
{
  const float points[] = { -200, -90, 90, 200 };
  const double zero_then_x[] = { 0, 0, 90, 200 };
  const double sigmoid[] = { 0, 0, 1, 1 };
  const double tanh_values[] = { -1, -1, 1, 1 };
  check_unary_points (TD_UNARY_GELU, points, zero_then_x, 4);
  check_unary_points (TD_UNARY_GELU_TANH, points, zero_then_x, 4);
  check_unary_points (TD_UNARY_SILU, points, zero_then_x, 4);
  check_unary_points (TD_UNARY_QUICK_GELU, points, zero_then_x, 4);
  check_unary_points (TD_UNARY_SIGMOID, points, sigmoid, 4);
  check_unary_points (TD_UNARY_TANH, points, tanh_values, 4);
}

/* A long random vector (several parallel pieces) in place: y aliases x. */
static void
test_unary_in_place (void)
{
  td_error err = { 0 };
  GRand *rng = g_rand_new_with_seed (11);
  const int64_t shape[] = { 3, 20011 };
  size_t n = 3 * 20011;
  float *values = random_floats (rng, n, -6, 6);
  td_tensor *x = tensor_of (TD_F32, 2, shape, values);
  g_assert_cmpint (td_unary (test_backend, x, x, TD_UNARY_GELU, &err), ==, TD_OK);
  float *v = values_of (x);
  for (size_t i = 0; i < n; i++)
    {
      double e = 0.5 * values[i] * (1 + erf (values[i] / sqrt (2.0)));
      assert_near (v[i], e, 2e-6 * fabs (e) + 1e-7);
    }
  g_free (v);
  g_free (values);
  td_tensor_free (x);
  g_rand_free (rng);
}

static void
test_scale (void)
{
  td_error err = { 0 };
  const float values[] = { -1, 0, 0.25f, 3 };
  const int64_t shape[] = { 2, 2 };
  td_tensor *x = tensor_of (TD_F32, 2, shape, values);
  td_tensor *y = tensor_of (TD_F32, 2, shape, NULL);
  g_assert_cmpint (td_scale (test_backend, y, x, 2.0f, 1.0f, &err), ==, TD_OK);
  float *v = values_of (y);
  const float expected[] = { -1, 1, 1.5f, 7 };
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (v[i], ==, expected[i]);
  g_free (v);
  td_tensor_free (x);
  td_tensor_free (y);
}

static void
test_binary_known (void)
{
  td_error err = { 0 };
  const float a_values[] = { 1, 2, 3, 4, 5, 6 };
  const float row_values[] = { 10, 20, 30 };
  const float column_values[] = { 2, -1 };
  const int64_t a_shape[] = { 2, 3 }, row_shape[] = { 3 }, column_shape[] = { 2, 1 };
  td_tensor *a = tensor_of (TD_F32, 2, a_shape, a_values);
  td_tensor *row = tensor_of (TD_F32, 1, row_shape, row_values);
  td_tensor *column = tensor_of (TD_BF16, 2, column_shape, column_values);
  td_tensor *y = tensor_of (TD_F32, 2, a_shape, NULL);

  g_assert_cmpint (td_add (test_backend, y, a, row, &err), ==, TD_OK);
  float *v = values_of (y);
  const float sum[] = { 11, 22, 33, 14, 25, 36 };
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (v[i], ==, sum[i]);
  g_free (v);

  g_assert_cmpint (td_mul (test_backend, y, a, column, &err), ==, TD_OK);
  v = values_of (y);
  const float product[] = { 2, 4, 6, -4, -5, -6 };
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (v[i], ==, product[i]);
  g_free (v);

  td_tensor_free (a);
  td_tensor_free (row);
  td_tensor_free (column);
  td_tensor_free (y);
}

/* Random x and a broadcast `other` of other_dtype, against an explicit index loop. */
static void
check_broadcast (GRand *rng, int ndim, const int64_t *shape, int other_ndim, const int64_t *other_shape,
                 td_dtype other_dtype, bool multiply, bool in_place)
{
  td_error err = { 0 };
  int64_t n = 1, other_n = 1;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  for (int i = 0; i < other_ndim; i++)
    other_n *= other_shape[i];
  float *a_values = random_floats (rng, (size_t) n, -2, 2);
  float *other_values = random_floats (rng, (size_t) other_n, -2, 2);
  round_to_dtype (other_values, (size_t) other_n, other_dtype);
  td_tensor *a = tensor_of (TD_F32, ndim, shape, a_values);
  td_tensor *other = tensor_of (other_dtype, other_ndim, other_shape, other_values);
  td_tensor *y = in_place ? a : tensor_of (TD_F32, ndim, shape, NULL);

  td_status status = multiply ? td_mul (test_backend, y, a, other, &err) : td_add (test_backend, y, a, other, &err);
  g_assert_cmpint (status, ==, TD_OK);
  float *v = values_of (y);
  for (int64_t flat = 0; flat < n; flat++)
    {
      /* Unravel flat over shape, then index other with its right-aligned dims (size 1 → 0). */
      int64_t index[TD_MAX_DIMS], rest = flat, other_flat = 0;
      for (int d = ndim - 1; d >= 0; d--)
        {
          index[d] = rest % shape[d];
          rest /= shape[d];
        }
      for (int od = 0; od < other_ndim; od++)
        {
          int d = od + ndim - other_ndim;
          other_flat = other_flat * other_shape[od] + (other_shape[od] == 1 ? 0 : index[d]);
        }
      float expected = multiply ? a_values[flat] * other_values[other_flat] : a_values[flat] + other_values[other_flat];
      g_assert_cmpfloat (v[flat], ==, expected);
    }
  g_free (v);
  g_free (a_values);
  g_free (other_values);
  if (!in_place)
    td_tensor_free (y);
  td_tensor_free (a);
  td_tensor_free (other);
}

static void
test_binary_broadcast (void)
{
  GRand *rng = g_rand_new_with_seed (12);
  const int64_t shape[] = { 5, 7, 11, 13 };
  const int64_t same[] = { 5, 7, 11, 13 };
  const int64_t middle[] = { 7, 1, 13 };
  const int64_t channel[] = { 7, 1, 1 };
  const int64_t last[] = { 13 };
  const int64_t column[] = { 5, 1, 11, 1 };
  const int64_t ones[] = { 1, 1 };
  for (int multiply = 0; multiply < 2; multiply++)
    {
      check_broadcast (rng, 4, shape, 4, same, TD_F32, multiply, false);
      check_broadcast (rng, 4, shape, 3, middle, TD_F16, multiply, false);
      check_broadcast (rng, 4, shape, 3, channel, TD_BF16, multiply, true);
      check_broadcast (rng, 4, shape, 1, last, TD_F32, multiply, true);
      check_broadcast (rng, 4, shape, 4, column, TD_F32, multiply, false);
      check_broadcast (rng, 4, shape, 2, ones, TD_F16, multiply, false);
      /* a 0-d scalar (a non-NULL shape pointer: td_tensor_new memcpy()s it even for rank 0) */
      check_broadcast (rng, 4, shape, 0, ones, TD_F32, multiply, false);
    }
  /* One long row split into several parallel pieces. */
  const int64_t long_row[] = { 2, 40009 };
  const int64_t long_other[] = { 40009 };
  check_broadcast (rng, 2, long_row, 1, long_other, TD_BF16, false, false);
  g_rand_free (rng);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  test_backend_init ();
  g_test_add_func ("/ops/dense/unary/known", test_unary_known);
  g_test_add_func ("/ops/dense/unary/extremes", test_unary_extremes);
  g_test_add_func ("/ops/dense/unary/in-place", test_unary_in_place);
  g_test_add_func ("/ops/dense/scale/known", test_scale);
  g_test_add_func ("/ops/dense/binary/known", test_binary_known);
  g_test_add_func ("/ops/dense/binary/broadcast", test_binary_broadcast);
  int status = g_test_run ();
  td_backend_free (test_backend);
  return status;
}
