/* MATMUL_NORM_ROPE on the CPU backend: a hand-computed case, bit-for-bit agreement
 * with the unfused ops it replaces (MATMUL, then RMS_NORM_ROPE or ROPE on the product
 * seen as heads) on odd sizes in both pairings, and the validation that refuses
 * miswired calls. */
#include "dense-test-util.h"

static void
assert_refused (td_op op, const char *fragment)
{
  td_error err = { 0 };
  g_assert_cmpint (td_backend_run (test_backend, &op, &err), ==, TD_ERR_INVALID_ARG);
  if (strstr (err.message, fragment) == NULL)
    g_error ("expected \"%s\" in \"%s\"", fragment, err.message);
}

/* x [1, 1, 2] · I + bias = (3, 4); normalised by rms = sqrt(12.5), · weight (1, 2),
 * then the pair rotated by 90° (cos 0, sin 1): (a, b) → (−b, a). */
static void
test_known (void)
{
  td_error err = { 0 };
  const float x[] = { 2, 4 }, w[] = { 1, 0, 0, 1 }, bias[] = { 1, 0 }, norm[] = { 1, 2 };
  const float cos_v[] = { 0 }, sin_v[] = { 1 };
  const int64_t xs[] = { 1, 1, 2 }, ws[] = { 2, 2 }, vs[] = { 2 }, ts[] = { 1, 1 }, ys[] = { 1, 1, 1, 2 };
  td_tensor *tx = tensor_of (TD_F32, 3, xs, x), *tw = tensor_of (TD_F32, 2, ws, w);
  td_tensor *tb = tensor_of (TD_F32, 1, vs, bias), *tn = tensor_of (TD_F32, 1, vs, norm);
  td_tensor *tc = tensor_of (TD_F32, 2, ts, cos_v), *tsn = tensor_of (TD_F32, 2, ts, sin_v);
  td_tensor *y = tensor_of (TD_F32, 4, ys, NULL);
  g_assert_cmpint (td_matmul_norm_rope (test_backend, y, tx, tw, tb, true, tn, 0.0f, tc, tsn, TD_ROPE_HALF_SPLIT, &err),
                   ==, TD_OK);
  float *v = values_of (y);
  double inv = 1 / sqrt (12.5);
  assert_near (v[0], -4 * inv * 2, 1e-6);
  assert_near (v[1], 3 * inv * 1, 1e-6);
  g_free (v);
  /* Without the norm only the rotation remains. */
  g_assert_cmpint (td_matmul_norm_rope (test_backend, y, tx, tw, tb, false, NULL, 0.0f, tc, tsn, TD_ROPE_INTERLEAVED,
                                        &err), ==, TD_OK);
  v = values_of (y);
  g_assert_cmpfloat (v[0], ==, -4.0f);
  g_assert_cmpfloat (v[1], ==, 3.0f);
  g_free (v);
  td_tensor *all[] = { tx, tw, tb, tn, tc, tsn, y };
  for (size_t i = 0; i < G_N_ELEMENTS (all); i++)
    td_tensor_free (all[i]);
}

/* x [B, T, K] against the unfused ops: exactly the same numbers. */
static void
check_matches_unfused (td_rope_mode mode, bool normalise, bool with_norm_w, bool with_bias, td_dtype w_dtype,
                       int64_t batch, int64_t t, int64_t k, int64_t heads, int64_t head_dim, int64_t rotary)
{
  td_error err = { 0 };
  GRand *rng = g_rand_new_with_seed ((guint32) (t * 131 + head_dim));
  int64_t n = heads * head_dim, half = rotary / 2;
  const int64_t xs[] = { batch, t, k }, ws[] = { n, k }, bs[] = { n }, ns[] = { head_dim }, ts[] = { t, half };
  const int64_t flat_s[] = { batch, t, n }, ys[] = { batch, t, heads, head_dim };
  float *x = random_floats (rng, (size_t) (batch * t * k), -2, 2), *w = random_floats (rng, (size_t) (n * k), -1, 1);
  float *bias = random_floats (rng, (size_t) n, -1, 1), *norm = random_floats (rng, (size_t) head_dim, 0.5, 1.5);
  float *angles = random_floats (rng, (size_t) (t * half), -3, 3);
  float *cos_v = g_new (float, t * half), *sin_v = g_new (float, t * half);
  for (int64_t i = 0; i < t * half; i++)
    {
      cos_v[i] = cosf (angles[i]);
      sin_v[i] = sinf (angles[i]);
    }
  td_tensor *tx = tensor_of (TD_F32, 3, xs, x), *tw = tensor_of (w_dtype, 2, ws, w);
  td_tensor *tb = with_bias ? tensor_of (TD_F32, 1, bs, bias) : NULL;
  td_tensor *tn = with_norm_w ? tensor_of (TD_BF16, 1, ns, norm) : NULL;
  td_tensor *tc = tensor_of (TD_F32, 2, ts, cos_v), *tsn = tensor_of (TD_F32, 2, ts, sin_v);
  td_tensor *fused = tensor_of (TD_F32, 4, ys, NULL), *flat = tensor_of (TD_F32, 3, flat_s, NULL);
  td_tensor *plain = tensor_of (TD_F32, 4, ys, NULL);

  g_assert_cmpint (td_matmul_norm_rope (test_backend, fused, tx, tw, tb, normalise, tn, 1e-6f, tc, tsn, mode, &err), ==,
                   TD_OK);
  g_assert_cmpint (td_matmul (test_backend, flat, tx, tw, tb, &err), ==, TD_OK);
  td_tensor *flat_heads = td_tensor_reshape (flat, 4, ys, &err);
  g_assert_nonnull (flat_heads);
  if (normalise)
    g_assert_cmpint (td_rms_norm_rope (test_backend, plain, flat_heads, tn, 1e-6f, tc, tsn, mode, &err), ==, TD_OK);
  else
    g_assert_cmpint (td_rope (test_backend, plain, flat_heads, tc, tsn, mode, &err), ==, TD_OK);
  float *a = values_of (fused), *b = values_of (plain);
  for (int64_t i = 0; i < batch * t * n; i++)
    if (a[i] != b[i])
      g_error ("mode %d norm %d: element %lld is %.9g fused, %.9g unfused", (int) mode, (int) normalise,
               (long long) i, a[i], b[i]);
  g_free (a);
  g_free (b);
  td_tensor *all[] = { tx, tw, tb, tn, tc, tsn, fused, flat, plain, flat_heads };
  for (size_t i = 0; i < G_N_ELEMENTS (all); i++)
    td_tensor_free (all[i]);
  g_free (x);
  g_free (w);
  g_free (bias);
  g_free (norm);
  g_free (angles);
  g_free (cos_v);
  g_free (sin_v);
  g_rand_free (rng);
}

static void
test_matches_unfused (void)
{
  check_matches_unfused (TD_ROPE_INTERLEAVED, true, true, true, TD_BF16, 1, 7, 37, 3, 16, 16);
  check_matches_unfused (TD_ROPE_HALF_SPLIT, false, false, true, TD_F32, 2, 5, 29, 2, 10, 8);
  check_matches_unfused (TD_ROPE_HALF_SPLIT, true, false, false, TD_F16, 1, 3, 64, 4, 6, 4);
  check_matches_unfused (TD_ROPE_INTERLEAVED, false, false, false, TD_F32, 3, 1, 5, 1, 2, 2);
}

static void
test_validation (void)
{
  const int64_t xs[] = { 1, 3, 8 }, ws[] = { 12, 8 }, ys[] = { 1, 3, 2, 6 }, tab[] = { 3, 3 };
  const int64_t v12[] = { 12 }, v6[] = { 6 }, v5[] = { 5 }, tab_short[] = { 2, 3 }, tab_wide[] = { 3, 4 };
  const int64_t ys_bad[] = { 1, 3, 3, 6 }, ys_flat[] = { 1, 3, 12 }, ws_k[] = { 12, 7 };
  td_tensor *x = tensor_of (TD_F32, 3, xs, NULL), *w = tensor_of (TD_F16, 2, ws, NULL);
  td_tensor *y = tensor_of (TD_F32, 4, ys, NULL), *bias = tensor_of (TD_F32, 1, v12, NULL);
  td_tensor *norm = tensor_of (TD_F32, 1, v6, NULL), *norm5 = tensor_of (TD_F32, 1, v5, NULL);
  td_tensor *cos_t = tensor_of (TD_F32, 2, tab, NULL), *sin_t = tensor_of (TD_F32, 2, tab, NULL);
  td_tensor *shortt = tensor_of (TD_F32, 2, tab_short, NULL), *wide = tensor_of (TD_F32, 2, tab_wide, NULL);
  td_tensor *y_bad = tensor_of (TD_F32, 4, ys_bad, NULL), *y_flat = tensor_of (TD_F32, 3, ys_flat, NULL);
  td_tensor *w_k = tensor_of (TD_F32, 2, ws_k, NULL), *bias6 = tensor_of (TD_F32, 1, v6, NULL);
  td_tensor *cos16 = tensor_of (TD_F16, 2, tab, NULL);

  td_op good = { .type = TD_OP_MATMUL_NORM_ROPE, .dst = y, .src = { x, w, bias, norm, cos_t, sin_t },
                 .p.matmul_rope = { 1e-6f, TD_ROPE_INTERLEAVED, true } };
  td_error err = { 0 };
  g_assert_cmpint (td_backend_run (test_backend, &good, &err), ==, TD_OK);
  td_op op = good;
  op.src[1] = w_k;
  assert_refused (op, "disagree on K");
  op = good;
  op.src[2] = bias6;
  assert_refused (op, "bias");
  op = good;
  op.dst = y_bad;
  assert_refused (op, "H · D");
  op = good;
  op.dst = y_flat;
  assert_refused (op, "[H, D]");
  op = good;
  op.src[3] = norm5;
  assert_refused (op, "norm weight");
  op = good;
  op.p.matmul_rope.normalise = false;
  assert_refused (op, "normalise is off");
  op = good;
  op.p.matmul_rope.eps = -1;
  assert_refused (op, "eps");
  op = good;
  op.p.matmul_rope.mode = 5;
  assert_refused (op, "mode");
  op = good;
  op.src[4] = op.src[5] = shortt;
  assert_refused (op, "should be [3");
  op = good;
  op.src[4] = op.src[5] = wide;
  assert_refused (op, "should be [3");
  op = good;
  op.src[5] = wide;
  assert_refused (op, "[T, R/2]");
  op = good;
  op.src[4] = cos16;
  assert_refused (op, "cos must be f32");
  op = good;
  op.src[5] = NULL;
  assert_refused (op, "sin is missing");
  /* x read from inside y's memory would be overwritten while other heads still read it. */
  td_tensor *x_in_y = td_tensor_new_in (y->buffer, y->offset, TD_F32, 3, xs, &err);
  g_assert_nonnull (x_in_y);
  op = good;
  op.src[0] = x_in_y;
  assert_refused (op, "overlaps");
  td_tensor_free (x_in_y);

  td_tensor *all[] = { x, w, y, bias, norm, norm5, cos_t, sin_t, shortt, wide, y_bad, y_flat, w_k, bias6, cos16 };
  for (size_t i = 0; i < G_N_ELEMENTS (all); i++)
    td_tensor_free (all[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  test_backend_init ();
  g_test_add_func ("/ops/matmul-norm-rope/known", test_known);
  g_test_add_func ("/ops/matmul-norm-rope/unfused", test_matches_unfused);
  g_test_add_func ("/ops/matmul-norm-rope/validation", test_validation);
  int result = g_test_run ();
  td_backend_free (test_backend);
  return result;
}
