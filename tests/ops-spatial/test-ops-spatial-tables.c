/* Rotary tables (Qwen2 1-D, FLUX 3-axis, Qwen2-VL M-RoPE and vision 2-D) against
 * the formulas written out directly in double precision, and end to end through
 * the ROPE op against the reference models' full-width formulas. */
#include "spatial-test-util.h"

#include "models/rope_tables.h"

/* transformers holds Qwen angles in f32, so allow the f32 rounding of the angle. */
static void
assert_angle (float got_cos, float got_sin, double angle, double tolerance_per_radian)
{
  double tol = 2e-7 + fabs (angle) * tolerance_per_radian;
  g_assert_cmpfloat_with_epsilon (got_cos, cos (angle), tol);
  g_assert_cmpfloat_with_epsilon (got_sin, sin (angle), tol);
}

static const double F32_ANGLE = 1.2e-7; /* ≈ 2^-23: one f32 rounding of the angle */

static void
test_1d (void)
{
  const int64_t positions[5] = { 0, 1, 7, 100, 4095 };
  float c[5 * 64], s[5 * 64];
  td_error err = { 0 };
  g_assert_cmpint (td_rope_table_1d (positions, 5, 128, 1e6, c, s, &err), ==, TD_OK);
  for (int t = 0; t < 5; t++)
    for (int i = 0; i < 64; i++)
      assert_angle (c[t * 64 + i], s[t * 64 + i], positions[t] * exp (-log (1e6) * (2.0 * i) / 128.0), 3 * F32_ANGLE);
  /* Position 0 is the identity; frequency 0 turns by exactly the position. */
  g_assert_cmpfloat (c[0], ==, 1.0f);
  g_assert_cmpfloat (s[0], ==, 0.0f);
  g_assert_cmpfloat_with_epsilon (c[64 * 2], cos (7.0), 1e-7);
}

static void
test_flux (void)
{
  /* 3 text tokens (ids 0) then a 4×5 patch grid with ids (0, row, col). */
  const int axes[3] = { 16, 56, 56 };
  enum { TOKENS = 3 + 20, HALF = 64 };
  float ids[TOKENS * 3] = { 0 };
  for (int r = 0; r < 4; r++)
    for (int col = 0; col < 5; col++)
      {
        ids[(3 + r * 5 + col) * 3 + 1] = (float) r;
        ids[(3 + r * 5 + col) * 3 + 2] = (float) col + 40; /* larger angles too */
      }
  float *c = g_new (float, TOKENS * HALF), *s = g_new (float, TOKENS * HALF);
  td_error err = { 0 };
  g_assert_cmpint (td_rope_table_flux (ids, TOKENS, 3, axes, 10000.0, c, s, &err), ==, TD_OK);
  for (int t = 0; t < TOKENS; t++)
    {
      int column = 0;
      for (int a = 0; a < 3; a++)
        for (int i = 0; i < axes[a] / 2; i++, column++)
          {
            /* diffusers computes this in float64, so only the final f32 rounding differs. */
            double angle = ids[t * 3 + a] * exp (-log (10000.0) * (2.0 * i) / axes[a]);
            g_assert_cmpfloat_with_epsilon (c[t * HALF + column], cos (angle), 1e-7);
            g_assert_cmpfloat_with_epsilon (s[t * HALF + column], sin (angle), 1e-7);
          }
    }
  for (int i = 0; i < 3 * HALF; i++) /* text tokens sit at the origin */
    g_assert_true (c[i] == 1.0f && s[i] == 0.0f);
  g_free (c);
  g_free (s);
}

static void
test_mrope (void)
{
  /* Streams differ per token; frequency i uses t for i < 16, h for i < 40, w after. */
  enum { T = 9, HALF = 64 };
  const int section[3] = { 16, 24, 24 };
  int64_t positions[3 * T];
  for (int t = 0; t < T; t++)
    {
      positions[t] = 3 + t;          /* temporal */
      positions[T + t] = 100 + 2 * t; /* height */
      positions[2 * T + t] = 7 * t;   /* width */
    }
  float c[T * HALF], s[T * HALF];
  td_error err = { 0 };
  g_assert_cmpint (td_rope_table_mrope (positions, T, section, 128, 1e6, c, s, &err), ==, TD_OK);
  for (int t = 0; t < T; t++)
    for (int i = 0; i < HALF; i++)
      {
        int stream = i < 16 ? 0 : i < 40 ? 1 : 2;
        double angle = positions[stream * T + t] * pow (1e6, -2.0 * i / 128.0);
        assert_angle (c[t * HALF + i], s[t * HALF + i], angle, 3 * F32_ANGLE);
      }

  /* Text tokens have three equal streams: M-RoPE is then plain 1-D RoPE. */
  int64_t same[3 * T];
  for (int k = 0; k < 3 * T; k++)
    same[k] = 11 + k % T;
  float c1[T * HALF], s1[T * HALF];
  g_assert_cmpint (td_rope_table_mrope (same, T, section, 128, 1e6, c, s, &err), ==, TD_OK);
  g_assert_cmpint (td_rope_table_1d (same, T, 128, 1e6, c1, s1, &err), ==, TD_OK);
  g_assert_cmpmem (c, sizeof c, c1, sizeof c1);
  g_assert_cmpmem (s, sizeof s, s1, sizeof s1);
}

static void
test_vision (void)
{
  /* 2 frames of 4×6 patches, merge 2, head dim 80: 20 row angles then 20 column angles. */
  enum { GT = 2, GH = 4, GW = 6, HALF = 40, QUARTER = 20 };
  float c[GT * GH * GW * HALF], s[GT * GH * GW * HALF];
  td_error err = { 0 };
  g_assert_cmpint (td_rope_table_qwen2vl_vision (GT, GH, GW, 2, 80, 10000.0, c, s, &err), ==, TD_OK);
  for (int n = 0; n < GT * GH * GW; n++)
    {
      /* Patch n of a frame, in 2×2 blocks: n = ((by·(W/2) + bx)·2 + dy)·2 + dx. */
      int k = n % (GH * GW);
      int dx = k % 2, dy = (k / 2) % 2, bx = (k / 4) % (GW / 2), by = k / (4 * (GW / 2));
      int row = 2 * by + dy, col = 2 * bx + dx;
      for (int i = 0; i < QUARTER; i++)
        {
          double freq = pow (10000.0, -2.0 * i / HALF);
          assert_angle (c[n * HALF + i], s[n * HALF + i], row * freq, 3 * F32_ANGLE);
          assert_angle (c[n * HALF + QUARTER + i], s[n * HALF + QUARTER + i], col * freq, 3 * F32_ANGLE);
        }
    }
  /* Spot check of the order: the 3rd patch is (row 1, col 0), the 5th (row 0, col 2). */
  g_assert_cmpfloat_with_epsilon (c[2 * HALF], cos (1.0), 1e-7);
  g_assert_cmpfloat (c[2 * HALF + QUARTER], ==, 1.0f);
  g_assert_cmpfloat (c[4 * HALF], ==, 1.0f);
  g_assert_cmpfloat_with_epsilon (c[4 * HALF + QUARTER], cos (2.0), 1e-7);
}

static void
test_flux_end_to_end (void)
{
  /* FLUX table + INTERLEAVED ROPE vs diffusers: x·repeat_interleave(cos) + rot(x)·repeat_interleave(sin),
   * rot(x) = stack(−x_odd, x_even). Heads of 128 = 2·(8 + 28 + 28). */
  enum { T = 6, H = 2, D = 128 };
  const int axes[3] = { 16, 56, 56 };
  float ids[T * 3];
  for (int i = 0; i < T * 3; i++)
    ids[i] = (float) ((i * 5) % 11);
  float c[T * 64], s[T * 64];
  td_error err = { 0 };
  g_assert_cmpint (td_rope_table_flux (ids, T, 3, axes, 10000.0, c, s, &err), ==, TD_OK);

  GRand *rng = g_rand_new_with_seed (17);
  float *x = test_random (rng, T * H * D, -1, 1);
  const int64_t shape[4] = { 1, T, H, D }, table_shape[2] = { T, 64 };
  td_tensor *tx = test_tensor_f32 (4, shape, x), *ty = test_tensor_f32 (4, shape, NULL);
  td_tensor *tc = test_tensor_f32 (2, table_shape, c), *ts = test_tensor_f32 (2, table_shape, s);
  g_assert_cmpint (td_rope (test_backend (), ty, tx, tc, ts, TD_ROPE_INTERLEAVED, &err), ==, TD_OK);
  float *y = test_read (ty);
  double *want = g_new (double, T * H * D);
  for (int t = 0; t < T; t++)
    for (int h = 0; h < H; h++)
      {
        const float *xr = x + (t * H + h) * D;
        double full_cos[D], full_sin[D];
        int column = 0;
        for (int a = 0; a < 3; a++)
          for (int i = 0; i < axes[a] / 2; i++, column++)
            {
              double angle = ids[t * 3 + a] * pow (10000.0, -2.0 * i / axes[a]);
              full_cos[2 * column] = full_cos[2 * column + 1] = cos (angle);
              full_sin[2 * column] = full_sin[2 * column + 1] = sin (angle);
            }
        for (int d = 0; d < D; d++)
          {
            double rotated = d % 2 == 0 ? -xr[d + 1] : xr[d - 1];
            want[(t * H + h) * D + d] = xr[d] * full_cos[d] + rotated * full_sin[d];
          }
      }
  test_assert_close (y, want, T * H * D, 1e-6, 1e-6, "flux rope end to end");
  g_free (x);
  g_free (y);
  g_free (want);
  td_tensor_free (tx);
  td_tensor_free (ty);
  td_tensor_free (tc);
  td_tensor_free (ts);
  g_rand_free (rng);
}

static void
test_rejects_bad_arguments (void)
{
  float c[64], s[64], ids[3] = { 0 };
  int64_t pos[3] = { 0 };
  td_error err = { 0 };
  const int odd_axes[3] = { 16, 55, 56 }, bad_section[3] = { 16, 24, 23 };
  g_assert_cmpint (td_rope_table_1d (pos, 1, 7, 1e4, c, s, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "even"));
  g_assert_cmpint (td_rope_table_1d (pos, 1, 8, -1.0, c, s, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_cmpint (td_rope_table_1d (pos, 1, 8, 1e4, NULL, s, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_cmpint (td_rope_table_flux (ids, 1, 3, odd_axes, 1e4, c, s, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "axis 1"));
  g_assert_cmpint (td_rope_table_mrope (pos, 1, bad_section, 128, 1e6, c, s, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "rot_dim/2 = 64"));
  g_assert_cmpint (td_rope_table_qwen2vl_vision (1, 3, 4, 2, 80, 1e4, c, s, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "merge"));
  g_assert_cmpint (td_rope_table_qwen2vl_vision (1, 2, 2, 2, 78, 1e4, c, s, &err), ==, TD_ERR_INVALID_ARG);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops-spatial/tables/qwen2-1d", test_1d);
  g_test_add_func ("/ops-spatial/tables/flux", test_flux);
  g_test_add_func ("/ops-spatial/tables/mrope", test_mrope);
  g_test_add_func ("/ops-spatial/tables/qwen2vl-vision", test_vision);
  g_test_add_func ("/ops-spatial/tables/flux-end-to-end", test_flux_end_to_end);
  g_test_add_func ("/ops-spatial/tables/rejects-bad-arguments", test_rejects_bad_arguments);
  return g_test_run ();
}
