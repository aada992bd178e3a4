/* ARGMAX and SAMPLE on the CPU backend. */
#include "dense-test-util.h"

static int32_t *
ids_of (const td_tensor *t)
{
  td_error err = { 0 };
  int32_t *ids = g_new (int32_t, td_tensor_numel (t) + 1);
  g_assert_cmpint (td_tensor_download (t, ids, td_tensor_nbytes (t), &err), ==, TD_OK);
  return ids;
}

static void
test_argmax_known (void)
{
  td_error err = { 0 };
  /* Ties go to the first max; -inf everywhere still picks index 0. */
  const float values[] = { 1, 3, 3, 2, -5, -4, -4, -9, -INFINITY, -INFINITY, -INFINITY, -INFINITY, 0, 0, 0, 7 };
  const int64_t shape[] = { 4, 4 }, out_shape[] = { 4 };
  td_tensor *x = tensor_of (TD_F32, 2, shape, values);
  td_tensor *y = tensor_of (TD_I32, 1, out_shape, NULL);
  g_assert_cmpint (td_argmax (test_backend, y, x, &err), ==, TD_OK);
  int32_t *ids = ids_of (y);
  const int32_t expected[] = { 1, 1, 0, 3 };
  for (int i = 0; i < 4; i++)
    g_assert_cmpint (ids[i], ==, expected[i]);
  g_free (ids);
  td_tensor_free (x);
  td_tensor_free (y);
}

/* Random logits [5, 7, 1003] (several with exact ties planted): ARGMAX equals a plain
 * loop; SAMPLE with temperature 0 and with top_p 0 equals ARGMAX. */
static void
test_argmax_and_limits (void)
{
  td_error err = { 0 };
  GRand *rng = g_rand_new_with_seed (41);
  const int64_t rows = 35, n = 1003, shape[] = { 5, 7, n }, out_shape[] = { 5, 7 };
  float *values = random_floats (rng, (size_t) (rows * n), -10, 10);
  for (int64_t r = 0; r < rows; r += 3)
    values[r * n + 900] = values[r * n + 100] = 11.0f; /* a tie above everything */
  td_tensor *x = tensor_of (TD_F32, 3, shape, values);
  td_tensor *y = tensor_of (TD_I32, 2, out_shape, NULL);

  g_assert_cmpint (td_argmax (test_backend, y, x, &err), ==, TD_OK);
  int32_t *argmax = ids_of (y);
  for (int64_t r = 0; r < rows; r++)
    {
      int32_t best = 0;
      for (int32_t i = 1; i < n; i++)
        if (values[r * n + i] > values[r * n + best])
          best = i;
      g_assert_cmpint (argmax[r], ==, best);
      if (r % 3 == 0)
        g_assert_cmpint (argmax[r], ==, 100);
    }

  const float temperatures[] = { 0.0f, -1.0f };
  for (int t = 0; t < 2; t++)
    {
      g_assert_cmpint (td_sample (test_backend, y, x, temperatures[t], 0.9f, 7, 0, &err), ==, TD_OK);
      int32_t *ids = ids_of (y);
      for (int64_t r = 0; r < rows; r++)
        g_assert_cmpint (ids[r], ==, argmax[r]);
      g_free (ids);
    }
  for (uint64_t seed = 0; seed < 5; seed++)
    {
      g_assert_cmpint (td_sample (test_backend, y, x, 1.5f, 0.0f, seed, seed * 1000, &err), ==, TD_OK);
      int32_t *ids = ids_of (y);
      for (int64_t r = 0; r < rows; r++)
        g_assert_cmpint (ids[r], ==, argmax[r]);
      g_free (ids);
    }

  g_free (argmax);
  g_free (values);
  td_tensor_free (x);
  td_tensor_free (y);
  g_rand_free (rng);
}

/* The same (seed, counter) gives the same tokens; another seed or counter gives others. */
static void
test_sample_deterministic (void)
{
  td_error err = { 0 };
  const int64_t rows = 64, n = 50, shape[] = { rows, n }, out_shape[] = { rows };
  float values[64 * 50];
  for (int64_t i = 0; i < rows * n; i++)
    values[i] = 0.0f; /* uniform: every token equally likely */
  td_tensor *x = tensor_of (TD_F32, 2, shape, values);
  td_tensor *y = tensor_of (TD_I32, 1, out_shape, NULL);

  g_assert_cmpint (td_sample (test_backend, y, x, 0.6f, 0.9f, 1234, 77, &err), ==, TD_OK);
  int32_t *first = ids_of (y);
  g_assert_cmpint (td_sample (test_backend, y, x, 0.6f, 0.9f, 1234, 77, &err), ==, TD_OK);
  int32_t *second = ids_of (y);
  g_assert_cmpint (td_sample (test_backend, y, x, 0.6f, 0.9f, 1235, 77, &err), ==, TD_OK);
  int32_t *other_seed = ids_of (y);
  g_assert_cmpint (td_sample (test_backend, y, x, 0.6f, 0.9f, 1234, 78, &err), ==, TD_OK);
  int32_t *shifted = ids_of (y);

  int same_seed_differs = 0, shift_matches = 0;
  for (int64_t r = 0; r < rows; r++)
    {
      g_assert_cmpint (first[r], ==, second[r]);
      g_assert_cmpint (first[r], >=, 0);
      g_assert_cmpint (first[r], <, n);
      same_seed_differs += first[r] != other_seed[r];
      /* Row r draws with counter + r, so counter 78 row r is counter 77 row r + 1. */
      if (r + 1 < rows)
        shift_matches += shifted[r] == first[r + 1];
    }
  g_assert_cmpint (same_seed_differs, >, rows / 2);
  g_assert_cmpint (shift_matches, ==, rows - 1);

  g_free (first);
  g_free (second);
  g_free (other_seed);
  g_free (shifted);
  td_tensor_free (x);
  td_tensor_free (y);
}

/* Probabilities [0.5, 0.3, 0.15, 0.05] (logits are their logs, shuffled): with top_p 1
 * the token is the inverse CDF of u = td_rng_uniform(seed, counter + row) over the
 * sorted probabilities; with top_p 0.7 only the two largest (0.5 + 0.3 ≥ 0.7) remain,
 * renormalised to [0.625, 0.375]. */
static void
test_sample_inverse_cdf (void)
{
  td_error err = { 0 };
  const int64_t rows = 4000, n = 4, shape[] = { rows, n }, out_shape[] = { rows };
  const double probabilities[] = { 0.05, 0.5, 0.15, 0.3 }; /* tokens 1, 3, 2, 0 by rank */
  float *values = g_new (float, rows * n);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t i = 0; i < n; i++)
      values[r * n + i] = (float) log (probabilities[i]);
  td_tensor *x = tensor_of (TD_F32, 2, shape, values);
  td_tensor *y = tensor_of (TD_I32, 1, out_shape, NULL);
  const uint64_t seed = 99, counter = 5000;

  g_assert_cmpint (td_sample (test_backend, y, x, 1.0f, 1.0f, seed, counter, &err), ==, TD_OK);
  int32_t *ids = ids_of (y);
  for (int64_t r = 0; r < rows; r++)
    {
      double u = td_rng_uniform (seed, counter + (uint64_t) r);
      const double edges[] = { 0.5, 0.8, 0.95 };
      bool near_edge = false;
      for (int e = 0; e < 3; e++)
        near_edge |= fabs (u - edges[e]) < 1e-5;
      if (near_edge)
        continue;
      int32_t expected = u < 0.5 ? 1 : u < 0.8 ? 3 : u < 0.95 ? 2 : 0;
      g_assert_cmpint (ids[r], ==, expected);
    }
  g_free (ids);

  g_assert_cmpint (td_sample (test_backend, y, x, 1.0f, 0.7f, seed, counter, &err), ==, TD_OK);
  ids = ids_of (y);
  for (int64_t r = 0; r < rows; r++)
    {
      double u = td_rng_uniform (seed, counter + (uint64_t) r);
      if (fabs (u - 0.625) < 1e-5)
        continue;
      g_assert_cmpint (ids[r], ==, u < 0.625 ? 1 : 3);
    }
  g_free (ids);

  g_free (values);
  td_tensor_free (x);
  td_tensor_free (y);
}

/* Over many counters the empirical frequencies approach softmax(logits / T). */
static void
test_sample_frequencies (void)
{
  td_error err = { 0 };
  const int64_t rows = 20000, n = 6, shape[] = { rows, n }, out_shape[] = { rows };
  const float logits[] = { 0.0f, 1.0f, 2.0f, 0.5f, -1.0f, 1.7f };
  const float temperature = 0.8f;
  float *values = g_new (float, rows * n);
  for (int64_t r = 0; r < rows; r++)
    memcpy (values + r * n, logits, sizeof logits);
  td_tensor *x = tensor_of (TD_F32, 2, shape, values);
  td_tensor *y = tensor_of (TD_I32, 1, out_shape, NULL);

  double expected[6], total = 0;
  for (int i = 0; i < n; i++)
    total += expected[i] = exp (logits[i] / temperature);
  for (int i = 0; i < n; i++)
    expected[i] /= total;

  g_assert_cmpint (td_sample (test_backend, y, x, temperature, 1.0f, 2024, 0, &err), ==, TD_OK);
  int32_t *ids = ids_of (y);
  int counts[6] = { 0 };
  for (int64_t r = 0; r < rows; r++)
    {
      g_assert_cmpint (ids[r], >=, 0);
      g_assert_cmpint (ids[r], <, n);
      counts[ids[r]]++;
    }
  /* The standard error is ≤ √(0.25 / 20000) ≈ 0.0035; allow about 4 of them. */
  for (int i = 0; i < n; i++)
    assert_near ((double) counts[i] / rows, expected[i], 0.015);

  g_free (ids);
  g_free (values);
  td_tensor_free (x);
  td_tensor_free (y);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  test_backend_init ();
  g_test_add_func ("/ops/dense/argmax/known", test_argmax_known);
  g_test_add_func ("/ops/dense/sample/limits-equal-argmax", test_argmax_and_limits);
  g_test_add_func ("/ops/dense/sample/deterministic", test_sample_deterministic);
  g_test_add_func ("/ops/dense/sample/inverse-cdf", test_sample_inverse_cdf);
  g_test_add_func ("/ops/dense/sample/frequencies", test_sample_frequencies);
  int status = g_test_run ();
  td_backend_free (test_backend);
  return status;
}
