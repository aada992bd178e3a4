/* conv2d: known answers, then random shapes (strides, padding, kh ≠ kw,
 * f16/bf16 weights and biases) against a direct 7-loop convolution in double. */
#include "spatial-test-util.h"

typedef struct {
  int64_t B, Cin, H, W, Cout, kh, kw;
  int sh, sw, ph, pw;
  td_dtype weight_dtype;
  int bias_dtype; /* -1 = no bias */
} conv_case;

static int64_t
out_size (int64_t in, int64_t k, int stride, int pad)
{
  return (in + 2 * pad - k) / stride + 1;
}

static float *
run_conv (const conv_case *c, const float *x, const float *w, const float *bias)
{
  td_error err = { 0 };
  int64_t xs[4] = { c->B, c->Cin, c->H, c->W }, ws[4] = { c->Cout, c->Cin, c->kh, c->kw }, bs[1] = { c->Cout };
  int64_t ys[4] = { c->B, c->Cout, out_size (c->H, c->kh, c->sh, c->ph), out_size (c->W, c->kw, c->sw, c->pw) };
  td_tensor *tx = test_tensor_f32 (4, xs, x), *tw = test_tensor (c->weight_dtype, 4, ws, w);
  td_tensor *tb = c->bias_dtype >= 0 ? test_tensor ((td_dtype) c->bias_dtype, 1, bs, bias) : NULL;
  td_tensor *ty = test_tensor_f32 (4, ys, NULL);
  if (td_conv2d (test_backend (), ty, tx, tw, tb, c->sh, c->sw, c->ph, c->pw, &err) != TD_OK)
    g_error ("conv2d failed: %s", err.message);
  float *values = test_read (ty);
  td_tensor_free (tx);
  td_tensor_free (tw);
  td_tensor_free (tb);
  td_tensor_free (ty);
  return values;
}

/* y[b,co,oy,ox] = bias[co] + Σ_ci Σ_ky Σ_kx w·x, zero outside the image. */
static double
direct_conv_at (const conv_case *c, const float *x, const float *w, const float *bias, int64_t b, int64_t co,
                int64_t oy, int64_t ox)
{
  double sum = bias != NULL ? bias[co] : 0.0;
  for (int64_t ci = 0; ci < c->Cin; ci++)
    for (int64_t ky = 0; ky < c->kh; ky++)
      for (int64_t kx = 0; kx < c->kw; kx++)
        {
          int64_t iy = oy * c->sh + ky - c->ph, ix = ox * c->sw + kx - c->pw;
          if (iy >= 0 && iy < c->H && ix >= 0 && ix < c->W)
            sum += (double) w[((co * c->Cin + ci) * c->kh + ky) * c->kw + kx]
                   * x[((b * c->Cin + ci) * c->H + iy) * c->W + ix];
        }
  return sum;
}

static void
test_identity_kernel (void)
{
  /* A 3×3 kernel with 1 at the centre of channel co → co, padding 1: y = x + bias. */
  conv_case c = { .B = 2, .Cin = 3, .H = 5, .W = 7, .Cout = 3, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1,
                  .weight_dtype = TD_F32, .bias_dtype = TD_F32 };
  float x[2 * 3 * 5 * 7], w[3 * 3 * 9] = { 0 }, bias[3] = { 0.5f, -1.0f, 2.0f };
  for (int i = 0; i < 2 * 3 * 5 * 7; i++)
    x[i] = (float) ((i * 37) % 23) - 11.0f;
  for (int co = 0; co < 3; co++)
    w[(co * 3 + co) * 9 + 4] = 1.0f;
  float *y = run_conv (&c, x, w, bias);
  for (int i = 0; i < 2 * 3 * 5 * 7; i++)
    g_assert_cmpfloat (y[i], ==, x[i] + bias[(i / 35) % 3]);
  g_free (y);
}

static void
test_box_sums_by_hand (void)
{
  /* 3×4 image 1..12, a 2×2 kernel of ones, no padding, stride 1: each output is a
   * 2×2 block sum. Row 0: 1+2+5+6 = 14, 2+3+6+7 = 18, 22; row 1: 5+6+9+10 = 30, 34, 38. */
  conv_case c = { .B = 1, .Cin = 1, .H = 3, .W = 4, .Cout = 1, .kh = 2, .kw = 2, .sh = 1, .sw = 1,
                  .weight_dtype = TD_BF16, .bias_dtype = -1 };
  float x[12], w[4] = { 1, 1, 1, 1 };
  for (int i = 0; i < 12; i++)
    x[i] = (float) (i + 1);
  float *y = run_conv (&c, x, w, NULL);
  const float want[6] = { 14, 18, 22, 30, 34, 38 };
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (y[i], ==, want[i]);
  g_free (y);
}

static void
check_case (GRand *rng, const conv_case *c, gboolean sample_only)
{
  size_t nx = c->B * c->Cin * c->H * c->W, nw = c->Cout * c->Cin * c->kh * c->kw;
  float *x = test_random (rng, nx, -1, 1), *w = test_random (rng, nw, -0.5, 0.5);
  float *bias = test_random (rng, c->Cout, -1, 1);
  float *y = run_conv (c, x, w, c->bias_dtype >= 0 ? bias : NULL);

  /* The reference sees the weights as stored: rounded to their dtype. */
  test_round_to (c->weight_dtype, w, nw);
  if (c->bias_dtype >= 0)
    test_round_to ((td_dtype) c->bias_dtype, bias, c->Cout);
  int64_t Ho = out_size (c->H, c->kh, c->sh, c->ph), Wo = out_size (c->W, c->kw, c->sw, c->pw);
  size_t ny = c->B * c->Cout * Ho * Wo;
  double *want = g_new (double, ny);
  float *got = g_new (float, ny);
  size_t n = 0;
  for (int64_t b = 0; b < c->B; b++)
    for (int64_t co = 0; co < c->Cout; co++)
      for (int64_t oy = 0; oy < Ho; oy++)
        for (int64_t ox = 0; ox < Wo; ox++)
          {
            size_t at = ((b * c->Cout + co) * Ho + oy) * Wo + ox;
            if (sample_only && at % 61 != 0 && oy != 0 && ox != Wo - 1)
              continue; /* big cases: every 61st pixel plus the borders */
            want[n] = direct_conv_at (c, x, w, c->bias_dtype >= 0 ? bias : NULL, b, co, oy, ox);
            got[n++] = y[at];
          }
  char what[160];
  g_snprintf (what, sizeof what, "conv2d x[%lld,%lld,%lld,%lld] w[%lld,%lld,%lld,%lld] s%d,%d p%d,%d %s",
              (long long) c->B, (long long) c->Cin, (long long) c->H, (long long) c->W, (long long) c->Cout,
              (long long) c->Cin, (long long) c->kh, (long long) c->kw, c->sh, c->sw, c->ph, c->pw,
              td_dtype_name (c->weight_dtype));
  test_assert_close (got, want, n, 1e-5, 1e-5, what);
  g_free (x);
  g_free (w);
  g_free (bias);
  g_free (y);
  g_free (want);
  g_free (got);
}

static void
test_random_against_direct (void)
{
  static const td_dtype weight_dtypes[3] = { TD_F32, TD_F16, TD_BF16 };
  static const int bias_dtypes[4] = { -1, TD_F32, TD_F16, TD_BF16 };
  GRand *rng = g_rand_new_with_seed (7);
  for (int trial = 0; trial < 36; trial++)
    {
      conv_case c = { 0 };
      c.B = g_rand_int_range (rng, 1, 3);
      c.Cin = g_rand_int_range (rng, 1, 6);
      c.Cout = g_rand_int_range (rng, 1, 20); /* crosses the 8-channel blocks */
      c.kh = g_rand_int_range (rng, 1, 6);
      c.kw = g_rand_int_range (rng, 1, 6);
      c.sh = g_rand_int_range (rng, 1, 4);
      c.sw = trial % 2 == 0 ? 1 : g_rand_int_range (rng, 1, 4);
      c.ph = g_rand_int_range (rng, 0, 4);
      c.pw = g_rand_int_range (rng, 0, 4);
      c.H = g_rand_int_range (rng, 1, 20);
      c.W = g_rand_int_range (rng, 1, 24);
      c.H = MAX (c.H, c.kh - 2 * c.ph); /* the kernel must fit the padded image */
      c.W = MAX (c.W, c.kw - 2 * c.pw);
      c.weight_dtype = weight_dtypes[trial % 3];
      c.bias_dtype = bias_dtypes[trial % 4];
      check_case (rng, &c, FALSE);
    }
  /* The shapes VAEs use: 3×3 stride 1 pad 1, 3×3 stride 2 (downsample), 1×1. */
  conv_case fixed[3] = {
    { 1, 9, 13, 11, 10, 3, 3, 1, 1, 1, 1, TD_BF16, TD_BF16 },
    { 2, 5, 17, 16, 6, 3, 3, 2, 2, 0, 0, TD_F16, TD_F32 },
    { 1, 12, 7, 9, 17, 1, 1, 1, 1, 0, 0, TD_F32, -1 },
  };
  for (int i = 0; i < 3; i++)
    check_case (rng, &fixed[i], FALSE);
  g_rand_free (rng);
}

static void
test_vae_sized (void)
{
  /* A VAE decoder block's conv: 32 → 32 channels at 64×64, bf16 weights. */
  GRand *rng = g_rand_new_with_seed (64);
  conv_case c = { 1, 32, 64, 64, 32, 3, 3, 1, 1, 1, 1, TD_BF16, TD_BF16 };
  gint64 start = g_get_monotonic_time ();
  check_case (rng, &c, TRUE);
  g_test_message ("32→32 3×3 conv at 64×64 plus checks: %.1f ms", (g_get_monotonic_time () - start) / 1000.0);
  g_rand_free (rng);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops-spatial/conv2d/identity-kernel", test_identity_kernel);
  g_test_add_func ("/ops-spatial/conv2d/box-sums-by-hand", test_box_sums_by_hand);
  g_test_add_func ("/ops-spatial/conv2d/random-vs-direct", test_random_against_direct);
  g_test_add_func ("/ops-spatial/conv2d/vae-sized", test_vae_sized);
  return g_test_run ();
}
