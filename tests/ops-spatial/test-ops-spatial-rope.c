/* ROPE: known rotations in both pair layouts, pass-through dims, norm
 * preservation, and equality with the reference formulas written with
 * full-width cos/sin (transformers' rotate_half, diffusers' interleaved form). */
#include "spatial-test-util.h"

static float *
run_rope (int ndim, const int64_t *shape, const float *x, int64_t T, int64_t half, const float *cos_table,
          const float *sin_table, td_rope_mode mode)
{
  td_error err = { 0 };
  int64_t table_shape[2] = { T, half };
  td_tensor *tx = test_tensor_f32 (ndim, shape, x), *ty = test_tensor_f32 (ndim, shape, NULL);
  td_tensor *tc = test_tensor_f32 (2, table_shape, cos_table), *ts = test_tensor_f32 (2, table_shape, sin_table);
  if (td_rope (test_backend (), ty, tx, tc, ts, mode, &err) != TD_OK)
    g_error ("rope failed: %s", err.message);
  float *values = test_read (ty);
  td_tensor_free (tx);
  td_tensor_free (ty);
  td_tensor_free (tc);
  td_tensor_free (ts);
  return values;
}

static void
test_known_rotation (void)
{
  /* Pair 0 turns by 90°, pair 1 by 60°: (1, 0) → (0, 1) and (2, 0) → (1, √3). */
  const int64_t shape[3] = { 1, 1, 4 };
  const float cos_table[2] = { 0.0f, 0.5f }, sin_table[2] = { 1.0f, (float) (sqrt (3.0) / 2) };

  const float half_split_x[4] = { 1, 2, 0, 0 }; /* pairs (0, 2) and (1, 3) */
  float *y = run_rope (3, shape, half_split_x, 1, 2, cos_table, sin_table, TD_ROPE_HALF_SPLIT);
  g_assert_cmpfloat_with_epsilon (y[0], 0.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (y[2], 1.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (y[1], 1.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (y[3], sqrt (3.0), 1e-6);
  g_free (y);

  const float interleaved_x[4] = { 1, 0, 2, 0 }; /* pairs (0, 1) and (2, 3) */
  y = run_rope (3, shape, interleaved_x, 1, 2, cos_table, sin_table, TD_ROPE_INTERLEAVED);
  g_assert_cmpfloat_with_epsilon (y[0], 0.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (y[1], 1.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (y[2], 1.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (y[3], sqrt (3.0), 1e-6);
  g_free (y);
}

static void
test_partial_rotation_passes_rest (void)
{
  /* D = 7, R = 4: dims 4..6 are copied. Positions differ per T row. */
  const int64_t shape[4] = { 2, 3, 2, 7 };
  GRand *rng = g_rand_new_with_seed (3);
  float *x = test_random (rng, 2 * 3 * 2 * 7, -1, 1);
  float cos_table[6], sin_table[6];
  for (int i = 0; i < 6; i++)
    {
      cos_table[i] = (float) cos (0.3 * i + 0.1);
      sin_table[i] = (float) sin (0.3 * i + 0.1);
    }
  for (int mode = TD_ROPE_HALF_SPLIT; mode <= TD_ROPE_INTERLEAVED; mode++)
    {
      float *y = run_rope (4, shape, x, 3, 2, cos_table, sin_table, (td_rope_mode) mode);
      for (int row = 0; row < 2 * 3 * 2; row++)
        {
          for (int d = 4; d < 7; d++)
            g_assert_cmpfloat (y[row * 7 + d], ==, x[row * 7 + d]);
          g_assert_cmpfloat (y[row * 7], !=, x[row * 7]); /* the rotated part did change */
        }
      g_free (y);
    }
  g_free (x);
  g_rand_free (rng);
}

static void
test_norm_preserved (void)
{
  GRand *rng = g_rand_new_with_seed (21);
  for (int trial = 0; trial < 12; trial++)
    {
      int64_t B = g_rand_int_range (rng, 1, 3), T = g_rand_int_range (rng, 1, 20), H = g_rand_int_range (rng, 1, 5);
      int64_t half = g_rand_int_range (rng, 1, 12), D = 2 * half + g_rand_int_range (rng, 0, 3);
      int64_t shape[4] = { B, T, H, D }, n = B * T * H * D;
      float *x = test_random (rng, n, -2, 2);
      float *cos_table = g_new (float, T * half), *sin_table = g_new (float, T * half);
      for (int64_t i = 0; i < T * half; i++)
        {
          double angle = g_rand_double_range (rng, -50, 50);
          cos_table[i] = (float) cos (angle);
          sin_table[i] = (float) sin (angle);
        }
      float *y = run_rope (4, shape, x, T, half, cos_table, sin_table, (td_rope_mode) (trial % 2));
      for (int64_t row = 0; row < n / D; row++)
        {
          double before = 0, after = 0;
          for (int64_t d = 0; d < D; d++)
            {
              before += (double) x[row * D + d] * x[row * D + d];
              after += (double) y[row * D + d] * y[row * D + d];
            }
          g_assert_cmpfloat_with_epsilon (sqrt (after), sqrt (before), 1e-5 * (1 + sqrt (before)));
        }
      g_free (x);
      g_free (y);
      g_free (cos_table);
      g_free (sin_table);
    }
  g_rand_free (rng);
}

/* transformers: y = x·cat(c, c) + rotate_half(x)·cat(s, s), rotate_half(x) = cat(−x2, x1).
 * diffusers (FLUX): y = x·c' + rot(x)·s', c' = repeat_interleave(c, 2),
 * rot(x)[2i] = −x[2i+1], rot(x)[2i+1] = x[2i]. */
static double
reference_rope (const float *x, int64_t D, int64_t half, const float *c, const float *s, td_rope_mode mode,
                int64_t d)
{
  if (d >= 2 * half)
    return x[d];
  if (mode == TD_ROPE_HALF_SPLIT)
    {
      double full_cos = c[d % half], full_sin = s[d % half];
      double rotated = d < half ? -x[d + half] : x[d - half];
      return x[d] * full_cos + rotated * full_sin;
    }
  double full_cos = c[d / 2], full_sin = s[d / 2];
  double rotated = d % 2 == 0 ? -x[d + 1] : x[d - 1];
  return x[d] * full_cos + rotated * full_sin;
}

static void
test_matches_reference_formulas (void)
{
  GRand *rng = g_rand_new_with_seed (8);
  for (int trial = 0; trial < 10; trial++)
    {
      int64_t T = g_rand_int_range (rng, 1, 9), H = g_rand_int_range (rng, 1, 4), half = g_rand_int_range (rng, 1, 9);
      int64_t D = 2 * half + (trial % 3), shape[3] = { T, H, D }, n = T * H * D;
      td_rope_mode mode = (td_rope_mode) (trial % 2);
      float *x = test_random (rng, n, -1, 1);
      float *c = test_random (rng, T * half, -1, 1), *s = test_random (rng, T * half, -1, 1);
      float *y = run_rope (3, shape, x, T, half, c, s, mode);
      double *want = g_new (double, n);
      for (int64_t t = 0; t < T; t++)
        for (int64_t h = 0; h < H; h++)
          for (int64_t d = 0; d < D; d++)
            want[(t * H + h) * D + d] =
              reference_rope (x + (t * H + h) * D, D, half, c + t * half, s + t * half, mode, d);
      test_assert_close (y, want, n, 1e-6, 1e-6, mode == TD_ROPE_HALF_SPLIT ? "rope half-split" : "rope interleaved");
      g_free (x);
      g_free (c);
      g_free (s);
      g_free (y);
      g_free (want);
    }
  g_rand_free (rng);
}

static void
test_in_place (void)
{
  /* dst aliasing x gives the same result as a separate output. */
  const int64_t shape[3] = { 2, 1, 6 }, table_shape[2] = { 2, 3 };
  float x[12], c[6], s[6];
  for (int i = 0; i < 12; i++)
    x[i] = (float) i - 5.5f;
  for (int i = 0; i < 6; i++)
    {
      c[i] = (float) cos (i + 1.0);
      s[i] = (float) sin (i + 1.0);
    }
  float *separate = run_rope (3, shape, x, 2, 3, c, s, TD_ROPE_HALF_SPLIT);
  td_error err = { 0 };
  td_tensor *tx = test_tensor_f32 (3, shape, x);
  td_tensor *tc = test_tensor_f32 (2, table_shape, c), *ts = test_tensor_f32 (2, table_shape, s);
  g_assert_cmpint (td_rope (test_backend (), tx, tx, tc, ts, TD_ROPE_HALF_SPLIT, &err), ==, TD_OK);
  float *in_place = test_read (tx);
  for (int i = 0; i < 12; i++)
    g_assert_cmpfloat (in_place[i], ==, separate[i]);
  g_free (separate);
  g_free (in_place);
  td_tensor_free (tx);
  td_tensor_free (tc);
  td_tensor_free (ts);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops-spatial/rope/known-rotation", test_known_rotation);
  g_test_add_func ("/ops-spatial/rope/partial-rotation", test_partial_rotation_passes_rest);
  g_test_add_func ("/ops-spatial/rope/norm-preserved", test_norm_preserved);
  g_test_add_func ("/ops-spatial/rope/reference-formulas", test_matches_reference_formulas);
  g_test_add_func ("/ops-spatial/rope/in-place", test_in_place);
  return g_test_run ();
}
