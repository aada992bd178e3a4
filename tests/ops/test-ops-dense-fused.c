/* The fused ops on the CPU backend: the matmul epilogue, ADA_LAYER_NORM and
 * RMS_NORM_ROPE against hand-computed rows, against the unfused ops they replace
 * (matmul then unary; layer norm, scale, mul, add; rms norm then rope) on odd
 * sizes, and the validation that refuses miswired calls. */
#include "dense-test-util.h"

static void
assert_close_arrays (const float *a, const float *b, int64_t n, double tolerance, const char *what)
{
  for (int64_t i = 0; i < n; i++)
    if (!(fabs ((double) a[i] - b[i]) <= tolerance * (1 + fabs ((double) b[i]))))
      g_error ("%s: element %lld is %.9g, expected %.9g", what, (long long) i, a[i], b[i]);
}

static void
test_matmul_epilogue_matches_unary (void)
{
  td_error err = { 0 };
  GRand *rng = g_rand_new_with_seed (12);
  const int64_t m = 7, k = 37, n = 13;
  const int64_t xs[] = { m, k }, ws[] = { n, k }, bs[] = { n }, ys[] = { m, n };
  float *x = random_floats (rng, m * k, -2, 2), *w = random_floats (rng, n * k, -1, 1);
  float *bias = random_floats (rng, n, -1, 1);
  td_tensor *tx = tensor_of (TD_F32, 2, xs, x), *tw = tensor_of (TD_BF16, 2, ws, w);
  td_tensor *tb = tensor_of (TD_F32, 1, bs, bias);
  td_tensor *fused = tensor_of (TD_F32, 2, ys, NULL), *plain = tensor_of (TD_F32, 2, ys, NULL);
  for (int kind = 0; kind < TD_UNARY_COUNT; kind++)
    {
      g_assert_cmpint (td_matmul_act (test_backend, fused, tx, tw, tb, kind, &err), ==, TD_OK);
      g_assert_cmpint (td_matmul (test_backend, plain, tx, tw, tb, &err), ==, TD_OK);
      g_assert_cmpint (td_unary (test_backend, plain, plain, kind, &err), ==, TD_OK);
      float *a = values_of (fused), *b = values_of (plain);
      char what[48];
      g_snprintf (what, sizeof what, "matmul epilogue kind %d", kind);
      assert_close_arrays (a, b, m * n, 0, what); /* the same kernel applied to the same values */
      g_free (a);
      g_free (b);
    }
  /* ReLU after the bias, by hand: x [1, 2] · w [2, 2]ᵀ + b with one negative output. */
  const float x1[] = { 1, 2 }, w1[] = { 1, 1, -3, 1 }, b1[] = { 0.5f, 0 };
  const int64_t x1s[] = { 1, 2 }, w1s[] = { 2, 2 }, b1s[] = { 2 };
  td_tensor *sx = tensor_of (TD_F32, 2, x1s, x1), *sw = tensor_of (TD_F32, 2, w1s, w1);
  td_tensor *sb = tensor_of (TD_F32, 1, b1s, b1);
  td_tensor *sy = tensor_of (TD_F32, 2, x1s, NULL);
  g_assert_cmpint (td_matmul_act (test_backend, sy, sx, sw, sb, TD_UNARY_RELU, &err), ==, TD_OK);
  float *v = values_of (sy);
  g_assert_cmpfloat (v[0], ==, 3.5f);
  g_assert_cmpfloat (v[1], ==, 0.0f);
  g_free (v);
  td_tensor_free (sx);
  td_tensor_free (sw);
  td_tensor_free (sb);
  td_tensor_free (sy);
  td_tensor_free (tx);
  td_tensor_free (tw);
  td_tensor_free (tb);
  td_tensor_free (fused);
  td_tensor_free (plain);
  g_free (x);
  g_free (w);
  g_free (bias);
  g_rand_free (rng);
}

/* [1, 2, 3, 4]: LN = (x - 2.5)/√1.25; scale [0, 1, -1, 0.5] doubles, zeroes and
 * multiplies by 1.5; shift [0, 1, 0, -1] is added. */
static void
test_ada_layer_norm_known (void)
{
  td_error err = { 0 };
  const float row[] = { 1, 2, 3, 4 }, scale[] = { 0, 1, -1, 0.5f }, shift[] = { 0, 1, 0, -1 };
  const int64_t shape[] = { 1, 4 }, vector[] = { 4 };
  td_tensor *x = tensor_of (TD_F32, 2, shape, row), *y = tensor_of (TD_F32, 2, shape, NULL);
  td_tensor *ts = tensor_of (TD_F32, 1, vector, scale), *tt = tensor_of (TD_F32, 1, vector, shift);
  g_assert_cmpint (td_ada_layer_norm (test_backend, y, x, ts, tt, 0.0f, &err), ==, TD_OK);
  double z = 1 / sqrt (1.25);
  const double expected[] = { -1.5 * z, -0.5 * z * 2 + 1, 0, 1.5 * z * 1.5 - 1 };
  float *v = values_of (y);
  for (int i = 0; i < 4; i++)
    assert_near (v[i], expected[i], 1e-6);
  g_free (v);
  td_tensor_free (x);
  td_tensor_free (y);
  td_tensor_free (ts);
  td_tensor_free (tt);
}

static void
test_ada_layer_norm_matches_unfused (void)
{
  td_error err = { 0 };
  GRand *rng = g_rand_new_with_seed (5);
  const int64_t rows = 9, cols = 301;
  const int64_t shape[] = { 1, rows, cols }, vector[] = { cols };
  float *x = random_floats (rng, rows * cols, -4, 6), *scale = random_floats (rng, cols, -1, 1);
  float *shift = random_floats (rng, cols, -1, 1);
  td_tensor *tx = tensor_of (TD_F32, 3, shape, x), *ts = tensor_of (TD_F32, 1, vector, scale);
  td_tensor *tt = tensor_of (TD_F32, 1, vector, shift);
  td_tensor *fused = tensor_of (TD_F32, 3, shape, NULL), *plain = tensor_of (TD_F32, 3, shape, NULL);
  td_tensor *one_plus = tensor_of (TD_F32, 1, vector, NULL);
  g_assert_cmpint (td_ada_layer_norm (test_backend, fused, tx, ts, tt, 1e-6f, &err), ==, TD_OK);
  g_assert_cmpint (td_layer_norm (test_backend, plain, tx, NULL, NULL, 1e-6f, &err), ==, TD_OK);
  g_assert_cmpint (td_scale (test_backend, one_plus, ts, 1.0f, 1.0f, &err), ==, TD_OK);
  g_assert_cmpint (td_mul (test_backend, plain, plain, one_plus, &err), ==, TD_OK);
  g_assert_cmpint (td_add (test_backend, plain, plain, tt, &err), ==, TD_OK);
  float *a = values_of (fused), *b = values_of (plain);
  assert_close_arrays (a, b, rows * cols, 1e-6, "ada_layer_norm vs layer_norm, scale, mul, add");
  g_free (a);
  g_free (b);
  td_tensor_free (tx);
  td_tensor_free (ts);
  td_tensor_free (tt);
  td_tensor_free (fused);
  td_tensor_free (plain);
  td_tensor_free (one_plus);
  g_free (x);
  g_free (scale);
  g_free (shift);
  g_rand_free (rng);
}

/* One head row [3, 4] (mean square 12.5), interleaved, one pair rotated by 90°:
 * normalised (3, 4)/√12.5 becomes (-4, 3)/√12.5. */
static void
test_rms_norm_rope_known (void)
{
  td_error err = { 0 };
  const float row[] = { 3, 4 }, cos_v[] = { 0 }, sin_v[] = { 1 };
  const int64_t xs[] = { 1, 1, 1, 2 }, ts[] = { 1, 1 };
  td_tensor *x = tensor_of (TD_F32, 4, xs, row), *y = tensor_of (TD_F32, 4, xs, NULL);
  td_tensor *c = tensor_of (TD_F32, 2, ts, cos_v), *s = tensor_of (TD_F32, 2, ts, sin_v);
  g_assert_cmpint (td_rms_norm_rope (test_backend, y, x, NULL, 0.0f, c, s, TD_ROPE_INTERLEAVED, &err), ==, TD_OK);
  float *v = values_of (y);
  assert_near (v[0], -4 / sqrt (12.5), 1e-6);
  assert_near (v[1], 3 / sqrt (12.5), 1e-6);
  g_free (v);
  td_tensor_free (x);
  td_tensor_free (y);
  td_tensor_free (c);
  td_tensor_free (s);
}

/* Against RMS_NORM then ROPE, with rotary dims below the head size and tables that
 * are row slices (offset views) of a larger table. */
static void
check_rms_norm_rope_matches_unfused (td_rope_mode mode, td_dtype wdtype, bool with_w)
{
  td_error err = { 0 };
  GRand *rng = g_rand_new_with_seed (9);
  const int64_t batch = 2, t = 5, h = 3, d = 22, half = 7, first = 4, table_rows = 12;
  const int64_t xs[] = { batch, t, h, d }, ws[] = { d }, ts[] = { table_rows, half };
  const int64_t n = batch * t * h * d;
  float *x = random_floats (rng, n, -3, 3), *w = random_floats (rng, d, 0.5, 1.5);
  float *cos_v = random_floats (rng, table_rows * half, -1, 1), *sin_v = random_floats (rng, table_rows * half, -1, 1);
  td_tensor *tx = tensor_of (TD_F32, 4, xs, x), *tw = with_w ? tensor_of (wdtype, 1, ws, w) : NULL;
  td_tensor *cos_all = tensor_of (TD_F32, 2, ts, cos_v), *sin_all = tensor_of (TD_F32, 2, ts, sin_v);
  td_tensor *c = td_tensor_slice (cos_all, 0, first, t, &err), *s = td_tensor_slice (sin_all, 0, first, t, &err);
  g_assert_nonnull (c);
  g_assert_nonnull (s);
  td_tensor *fused = tensor_of (TD_F32, 4, xs, NULL), *plain = tensor_of (TD_F32, 4, xs, NULL);
  g_assert_cmpint (td_rms_norm_rope (test_backend, fused, tx, tw, 1e-6f, c, s, mode, &err), ==, TD_OK);
  g_assert_cmpint (td_rms_norm (test_backend, plain, tx, tw, 1e-6f, &err), ==, TD_OK);
  g_assert_cmpint (td_rope (test_backend, plain, plain, c, s, mode, &err), ==, TD_OK);
  float *a = values_of (fused), *b = values_of (plain);
  assert_close_arrays (a, b, n, 1e-6, "rms_norm_rope vs rms_norm then rope");
  g_free (a);
  g_free (b);
  td_tensor_free (c);
  td_tensor_free (s);
  td_tensor_free (cos_all);
  td_tensor_free (sin_all);
  td_tensor_free (tx);
  td_tensor_free (tw);
  td_tensor_free (fused);
  td_tensor_free (plain);
  g_free (x);
  g_free (w);
  g_free (cos_v);
  g_free (sin_v);
  g_rand_free (rng);
}

static void
test_rms_norm_rope_matches_unfused (void)
{
  check_rms_norm_rope_matches_unfused (TD_ROPE_INTERLEAVED, TD_BF16, true);
  check_rms_norm_rope_matches_unfused (TD_ROPE_HALF_SPLIT, TD_F32, true);
  check_rms_norm_rope_matches_unfused (TD_ROPE_HALF_SPLIT, TD_F32, false);
}

/* Runs op on the CPU and asserts it is refused as invalid with `fragment` in the message. */
static void
assert_refused (td_op op, const char *fragment)
{
  td_error err = { 0 };
  g_assert_cmpint (td_backend_run (test_backend, &op, &err), ==, TD_ERR_INVALID_ARG);
  if (strstr (err.message, fragment) == NULL)
    g_error ("expected \"%s\" in \"%s\"", fragment, err.message);
}

static void
test_validation (void)
{
  const int64_t xs[] = { 2, 3, 2, 8 }, rows[] = { 4, 8 }, v8[] = { 8 }, v7[] = { 7 }, tab[] = { 3, 4 };
  const int64_t tab_wide[] = { 3, 5 }, tab_short[] = { 2, 4 }, ws[] = { 5, 8 }, ys[] = { 4, 5 };
  td_tensor *x4 = tensor_of (TD_F32, 4, xs, NULL), *y4 = tensor_of (TD_F32, 4, xs, NULL);
  td_tensor *x2 = tensor_of (TD_F32, 2, rows, NULL), *y2 = tensor_of (TD_F32, 2, rows, NULL);
  td_tensor *vec8 = tensor_of (TD_F32, 1, v8, NULL), *vec7 = tensor_of (TD_F32, 1, v7, NULL);
  td_tensor *vec8_bf16 = tensor_of (TD_BF16, 1, v8, NULL);
  td_tensor *cos_t = tensor_of (TD_F32, 2, tab, NULL), *sin_t = tensor_of (TD_F32, 2, tab, NULL);
  td_tensor *wide = tensor_of (TD_F32, 2, tab_wide, NULL), *shortt = tensor_of (TD_F32, 2, tab_short, NULL);
  td_tensor *w = tensor_of (TD_F32, 2, ws, NULL), *ym = tensor_of (TD_F32, 2, ys, NULL);

  /* MATMUL's epilogue names an activation that exists. */
  assert_refused ((td_op) { .type = TD_OP_MATMUL, .dst = ym, .src = { x2, w }, .p.matmul = { true, TD_UNARY_COUNT } },
                  "epilogue activation");
  /* ADA_LAYER_NORM: scale and shift are f32 [C]. */
  assert_refused ((td_op) { .type = TD_OP_ADA_LAYER_NORM, .dst = y2, .src = { x2, vec7, vec8 } }, "scale");
  assert_refused ((td_op) { .type = TD_OP_ADA_LAYER_NORM, .dst = y2, .src = { x2, vec8, vec8_bf16 } }, "shift");
  assert_refused ((td_op) { .type = TD_OP_ADA_LAYER_NORM, .dst = y2, .src = { x2, vec8, NULL } }, "shift");
  assert_refused ((td_op) { .type = TD_OP_ADA_LAYER_NORM, .dst = y2, .src = { x2, vec8, vec8, vec8 } }, "input 3");
  assert_refused ((td_op) { .type = TD_OP_ADA_LAYER_NORM, .dst = y2, .src = { x2, vec8, vec8 }, .p.norm.eps = -1 },
                  "eps");
  /* RMS_NORM_ROPE: tables match T, rotate at most D dims, weight is [D], y is not x. */
  td_op good = { .type = TD_OP_RMS_NORM_ROPE, .dst = y4, .src = { x4, vec8, cos_t, sin_t },
                 .p.rope_norm = { 1e-6f, TD_ROPE_INTERLEAVED } };
  td_error err = { 0 };
  g_assert_cmpint (td_backend_run (test_backend, &good, &err), ==, TD_OK);
  td_op op = good;
  op.src[2] = shortt;
  op.src[3] = shortt;
  assert_refused (op, "rows");
  op = good;
  op.src[2] = wide;
  op.src[3] = wide;
  assert_refused (op, "rotate");
  op = good;
  op.src[3] = wide;
  assert_refused (op, "same shape");
  op = good;
  op.src[1] = vec7;
  assert_refused (op, "weight");
  op = good;
  op.src[3] = NULL;
  assert_refused (op, "sin");
  op = good;
  op.dst = x4;
  assert_refused (op, "overlaps");
  op = good;
  op.p.rope_norm.mode = 7;
  assert_refused (op, "mode");
  op = good;
  op.p.rope_norm.eps = NAN;
  assert_refused (op, "eps");
  op = good;
  op.src[0] = x2;
  op.dst = y2;
  assert_refused (op, "[..., T, H, D]");

  td_tensor *all[] = { x4, y4, x2, y2, vec8, vec7, vec8_bf16, cos_t, sin_t, wide, shortt, w, ym };
  for (size_t i = 0; i < G_N_ELEMENTS (all); i++)
    td_tensor_free (all[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  test_backend_init ();
  g_test_add_func ("/ops/dense/fused/matmul-epilogue", test_matmul_epilogue_matches_unary);
  g_test_add_func ("/ops/dense/fused/ada-layer-norm-known", test_ada_layer_norm_known);
  g_test_add_func ("/ops/dense/fused/ada-layer-norm-unfused", test_ada_layer_norm_matches_unfused);
  g_test_add_func ("/ops/dense/fused/rms-norm-rope-known", test_rms_norm_rope_known);
  g_test_add_func ("/ops/dense/fused/rms-norm-rope-unfused", test_rms_norm_rope_matches_unfused);
  g_test_add_func ("/ops/dense/fused/validation", test_validation);
  int result = g_test_run ();
  td_backend_free (test_backend);
  return result;
}
