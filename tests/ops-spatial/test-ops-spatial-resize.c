/* Resizes: nearest 2×, bilinear (torch, align_corners=False) and bicubic (PIL),
 * by hand on small grids and against double-precision direct implementations. */
#include "spatial-test-util.h"

typedef td_status (*resize_fn) (td_backend *, td_tensor *, const td_tensor *, td_error *);

static float *
run_resize (resize_fn fn, int64_t B, int64_t C, int64_t H, int64_t W, int64_t Ho, int64_t Wo, const float *x)
{
  td_error err = { 0 };
  int64_t xs[4] = { B, C, H, W }, ys[4] = { B, C, Ho, Wo };
  td_tensor *tx = test_tensor_f32 (4, xs, x), *ty = test_tensor_f32 (4, ys, NULL);
  if (fn (test_backend (), ty, tx, &err) != TD_OK)
    g_error ("resize failed: %s", err.message);
  float *values = test_read (ty);
  td_tensor_free (tx);
  td_tensor_free (ty);
  return values;
}

static void
test_nearest_2x (void)
{
  float x[2 * 2 * 3];
  for (int i = 0; i < 12; i++)
    x[i] = (float) i;
  float *y = run_resize (td_upsample_nearest2x, 1, 2, 2, 3, 4, 6, x);
  for (int c = 0; c < 2; c++)
    for (int oy = 0; oy < 4; oy++)
      for (int ox = 0; ox < 6; ox++)
        g_assert_cmpfloat (y[(c * 4 + oy) * 6 + ox], ==, x[(c * 2 + oy / 2) * 3 + ox / 2]);
  g_free (y);
}

static void
test_bilinear_by_hand (void)
{
  /* 4 → 2: source coordinates (o + ½)·2 − ½ = 0.5 and 2.5, so each output is the
   * mean of a 2×2 block. */
  const float grid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
  float *y = run_resize (td_resize_bilinear, 1, 1, 4, 4, 2, 2, grid);
  g_assert_cmpfloat_with_epsilon (y[0], (1 + 2 + 5 + 6) / 4.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (y[1], (3 + 4 + 7 + 8) / 4.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (y[2], (9 + 10 + 13 + 14) / 4.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (y[3], (11 + 12 + 15 + 16) / 4.0, 1e-6);
  g_free (y);

  /* 2 → 4 along a row: coordinates −0.25 (clamped to 0), 0.25, 0.75, 1.25 (right
   * neighbour clamped), so a, ¾a + ¼b, ¼a + ¾b, b. */
  const float row[2] = { 8, 4 };
  y = run_resize (td_resize_bilinear, 1, 1, 1, 2, 1, 4, row);
  g_assert_cmpfloat_with_epsilon (y[0], 8.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (y[1], 7.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (y[2], 5.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (y[3], 4.0, 1e-6);
  g_free (y);
}

/* torch's source index along one axis, in double. */
static void
bilinear_source (int64_t in, int64_t out, int64_t o, int64_t *i0, int64_t *i1, double *lambda)
{
  double real = ((double) o + 0.5) * (double) in / (double) out - 0.5;
  real = real < 0 ? 0 : real;
  *i0 = MIN ((int64_t) floor (real), in - 1);
  *i1 = *i0 < in - 1 ? *i0 + 1 : *i0;
  *lambda = real - (double) *i0;
}

static void
test_bilinear_random (void)
{
  GRand *rng = g_rand_new_with_seed (5);
  for (int trial = 0; trial < 20; trial++)
    {
      int64_t B = g_rand_int_range (rng, 1, 3), C = g_rand_int_range (rng, 1, 4);
      int64_t H = g_rand_int_range (rng, 1, 30), W = g_rand_int_range (rng, 1, 30);
      int64_t Ho = g_rand_int_range (rng, 1, 40), Wo = g_rand_int_range (rng, 1, 40);
      float *x = test_random (rng, B * C * H * W, -1, 1);
      float *y = run_resize (td_resize_bilinear, B, C, H, W, Ho, Wo, x);
      double *want = g_new (double, B * C * Ho * Wo);
      for (int64_t p = 0; p < B * C; p++)
        for (int64_t oy = 0; oy < Ho; oy++)
          for (int64_t ox = 0; ox < Wo; ox++)
            {
              int64_t y0, y1, x0, x1;
              double ly, lx;
              bilinear_source (H, Ho, oy, &y0, &y1, &ly);
              bilinear_source (W, Wo, ox, &x0, &x1, &lx);
              const float *plane = x + p * H * W;
              want[(p * Ho + oy) * Wo + ox] = (1 - ly) * ((1 - lx) * plane[y0 * W + x0] + lx * plane[y0 * W + x1])
                                              + ly * ((1 - lx) * plane[y1 * W + x0] + lx * plane[y1 * W + x1]);
            }
      test_assert_close (y, want, B * C * Ho * Wo, 1e-5, 1e-5, "bilinear vs torch formula");
      g_free (x);
      g_free (y);
      g_free (want);
    }
  g_rand_free (rng);
}

/* ---- bicubic ------------------------------------------------------------- */

static double
keys_cubic (double x)
{
  /* Keys' kernel, a = −0.5, written out as its two polynomial pieces. */
  x = fabs (x);
  if (x < 1)
    return 1.5 * x * x * x - 2.5 * x * x + 1;
  if (x < 2)
    return -0.5 * x * x * x + 2.5 * x * x - 4 * x + 2;
  return 0;
}

/* PIL's weights of source pixels for output o along one axis: a window of
 * ±2·max(scale, 1) around the centre (o + ½)·scale, trimmed to the image,
 * evaluated at pixel centres in the scaled kernel, normalised to sum 1. */
static void
pil_weights (int64_t in, int64_t out, int64_t o, double *weights)
{
  double scale = (double) in / (double) out, fscale = MAX (scale, 1.0), support = 2.0 * fscale;
  double center = ((double) o + 0.5) * scale, total = 0;
  int64_t lo = MAX ((int64_t) (center - support + 0.5), 0), hi = MIN ((int64_t) (center + support + 0.5), in);
  for (int64_t i = 0; i < in; i++)
    {
      weights[i] = i >= lo && i < hi ? keys_cubic ((i - center + 0.5) / fscale) : 0.0;
      total += weights[i];
    }
  for (int64_t i = 0; i < in; i++)
    weights[i] /= total;
}

/* Direct 2-D sum: out[oy, ox] = Σ_y Σ_x wy[y] · wx[x] · in[y, x]; an axis whose
 * size is unchanged is left alone, as PIL does. */
static double *
pil_bicubic_direct (const float *x, int64_t planes, int64_t H, int64_t W, int64_t Ho, int64_t Wo)
{
  double *out = g_new0 (double, planes * Ho * Wo);
  double *wy = g_new (double, H), *wx = g_new (double, W);
  for (int64_t oy = 0; oy < Ho; oy++)
    {
      if (H == Ho)
        for (int64_t i = 0; i < H; i++)
          wy[i] = i == oy;
      else
        pil_weights (H, Ho, oy, wy);
      for (int64_t ox = 0; ox < Wo; ox++)
        {
          if (W == Wo)
            for (int64_t i = 0; i < W; i++)
              wx[i] = i == ox;
          else
            pil_weights (W, Wo, ox, wx);
          for (int64_t p = 0; p < planes; p++)
            {
              double sum = 0;
              for (int64_t iy = 0; iy < H; iy++)
                for (int64_t ix = 0; ix < W; ix++)
                  sum += wy[iy] * wx[ix] * x[(p * H + iy) * W + ix];
              out[(p * Ho + oy) * Wo + ox] = sum;
            }
        }
    }
  g_free (wy);
  g_free (wx);
  return out;
}

static void
test_bicubic_edge_weights_by_hand (void)
{
  /* 8 → 4 along a row (scale 2, support 4). Output 0 is centred at 1.0 and reads
   * pixels 0..4 with kernel arguments (i − 0.5)/2: k(−.25) = k(.25) = 0.8671875,
   * k(.75) = 0.2265625, k(1.25) = −0.0703125, k(1.75) = −0.0234375; the window is
   * cut at the left edge, so the weights are divided by their sum 1.8671875. */
  float impulse[8] = { 0 };
  impulse[0] = 1;
  float *y = run_resize (td_resize_bicubic, 1, 1, 1, 8, 1, 4, impulse);
  g_assert_cmpfloat_with_epsilon (y[0], 0.8671875 / 1.8671875, 1e-7);
  g_free (y);
  impulse[0] = 0;
  impulse[3] = 1;
  y = run_resize (td_resize_bicubic, 1, 1, 1, 8, 1, 4, impulse);
  g_assert_cmpfloat_with_epsilon (y[0], -0.0703125 / 1.8671875, 1e-7);
  g_free (y);
}

static void
test_bicubic_constant_stays_constant (void)
{
  const int64_t sizes[][4] = { { 17, 23, 5, 9 }, { 5, 9, 17, 23 }, { 31, 7, 8, 13 }, { 448, 13, 224, 20 } };
  for (int s = 0; s < 4; s++)
    {
      int64_t H = sizes[s][0], W = sizes[s][1], Ho = sizes[s][2], Wo = sizes[s][3];
      float *x = g_new (float, 2 * H * W);
      for (int64_t i = 0; i < 2 * H * W; i++)
        x[i] = i < H * W ? 0.75f : -3.0f;
      float *y = run_resize (td_resize_bicubic, 1, 2, H, W, Ho, Wo, x);
      for (int64_t i = 0; i < 2 * Ho * Wo; i++)
        g_assert_cmpfloat_with_epsilon (y[i], i < Ho * Wo ? 0.75 : -3.0, 2e-6);
      g_free (x);
      g_free (y);
    }
}

static void
test_bicubic_vs_direct (void)
{
  GRand *rng = g_rand_new_with_seed (11);
  /* Downscales (antialiased) first, then upscales and mixed directions. */
  const int64_t sizes[][4] = { { 37, 41, 9, 13 }, { 64, 48, 16, 15 }, { 29, 30, 28, 7 }, { 6, 5, 19, 11 },
                               { 12, 33, 20, 33 }, { 1, 9, 3, 4 } };
  for (int s = 0; s < 6; s++)
    {
      int64_t H = sizes[s][0], W = sizes[s][1], Ho = sizes[s][2], Wo = sizes[s][3];
      float *x = test_random (rng, 3 * H * W, 0, 1);
      float *y = run_resize (td_resize_bicubic, 1, 3, H, W, Ho, Wo, x);
      double *want = pil_bicubic_direct (x, 3, H, W, Ho, Wo);
      test_assert_close (y, want, 3 * Ho * Wo, 1e-6, 1e-6, "bicubic vs PIL direct");
      g_free (x);
      g_free (y);
      g_free (want);
    }
  g_rand_free (rng);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops-spatial/resize/nearest-2x", test_nearest_2x);
  g_test_add_func ("/ops-spatial/resize/bilinear-by-hand", test_bilinear_by_hand);
  g_test_add_func ("/ops-spatial/resize/bilinear-random", test_bilinear_random);
  g_test_add_func ("/ops-spatial/resize/bicubic-edge-weights-by-hand", test_bicubic_edge_weights_by_hand);
  g_test_add_func ("/ops-spatial/resize/bicubic-constant", test_bicubic_constant_stays_constant);
  g_test_add_func ("/ops-spatial/resize/bicubic-vs-direct", test_bicubic_vs_direct);
  return g_test_run ();
}
