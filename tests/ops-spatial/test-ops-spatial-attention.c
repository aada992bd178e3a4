/* Attention: known answers, then random shapes against a naive double-precision
 * softmax(q·kᵀ·scale + bias)·v with causal masks, GQA and bias broadcasting. */
#include "spatial-test-util.h"

typedef struct {
  int64_t B, Tq, Tk, H, Hkv, D, Dv;
  int64_t bias_b, bias_h; /* 0 = no bias */
  float scale;
  bool causal;
  td_dtype kv_dtype; /* 0 (= f32) or a 16-bit key/value cache */
} attention_case;

/* Runs the op on given inputs; returns the output values (g_free). */
static float *
run_attention (const attention_case *c, const float *q, const float *k, const float *v, const float *bias)
{
  td_error err = { 0 };
  int64_t qs[4] = { c->B, c->Tq, c->H, c->D }, ks[4] = { c->B, c->Tk, c->Hkv, c->D };
  int64_t vs[4] = { c->B, c->Tk, c->Hkv, c->Dv }, os[4] = { c->B, c->Tq, c->H, c->Dv };
  int64_t bs[4] = { c->bias_b, c->bias_h, c->Tq, c->Tk };
  td_tensor *tq = test_tensor_f32 (4, qs, q), *tk = test_tensor (c->kv_dtype, 4, ks, k);
  td_tensor *tv = test_tensor (c->kv_dtype, 4, vs, v);
  td_tensor *tb = bias != NULL ? test_tensor_f32 (4, bs, bias) : NULL;
  td_tensor *out = test_tensor_f32 (4, os, NULL);
  td_status status = td_attention (test_backend (), out, tq, tk, tv, tb, c->scale, c->causal, &err);
  if (status != TD_OK)
    g_error ("attention failed: %s", err.message);
  float *values = test_read (out);
  td_tensor_free (tq);
  td_tensor_free (tk);
  td_tensor_free (tv);
  td_tensor_free (tb);
  td_tensor_free (out);
  return values;
}

/* The textbook formula in double: scores, mask, max-subtracted softmax, weighted sum. */
static double *
naive_attention (const attention_case *c, const float *q, const float *k, const float *v, const float *bias)
{
  double *out = g_new0 (double, c->B * c->Tq * c->H * c->Dv + 1);
  double *scores = g_new (double, c->Tk + 1);
  int64_t group = c->H / c->Hkv;
  for (int64_t b = 0; b < c->B; b++)
    for (int64_t h = 0; h < c->H; h++)
      for (int64_t i = 0; i < c->Tq; i++)
        {
          double max = -INFINITY;
          for (int64_t j = 0; j < c->Tk; j++)
            {
              double s = 0.0;
              for (int64_t d = 0; d < c->D; d++)
                s += (double) q[((b * c->Tq + i) * c->H + h) * c->D + d]
                     * k[((b * c->Tk + j) * c->Hkv + h / group) * c->D + d];
              s *= c->scale;
              if (bias != NULL)
                s += bias[(((c->bias_b == 1 ? 0 : b) * c->bias_h + (c->bias_h == 1 ? 0 : h)) * c->Tq + i) * c->Tk + j];
              if (c->causal && j > i + c->Tk - c->Tq)
                s = -INFINITY;
              scores[j] = s;
              max = fmax (max, s);
            }
          if (max == -INFINITY)
            continue; /* fully masked row: zeros */
          double total = 0.0;
          for (int64_t j = 0; j < c->Tk; j++)
            total += scores[j] = exp (scores[j] - max);
          double *o = out + ((b * c->Tq + i) * c->H + h) * c->Dv;
          for (int64_t j = 0; j < c->Tk; j++)
            for (int64_t d = 0; d < c->Dv; d++)
              o[d] += scores[j] / total * v[((b * c->Tk + j) * c->Hkv + h / group) * c->Dv + d];
        }
  g_free (scores);
  return out;
}

static void
test_single_key_returns_v (void)
{
  /* With one key the softmax weight is 1 whatever q·k is, so every head's output is v. */
  attention_case c = { .B = 1, .Tq = 3, .Tk = 1, .H = 4, .Hkv = 2, .D = 5, .Dv = 3, .scale = 0.7f };
  float q[60], k[10], v[6] = { 1, -2, 3, 0.5f, 0.25f, -8 };
  for (int i = 0; i < 60; i++)
    q[i] = (float) (i % 7) - 3.0f;
  for (int i = 0; i < 10; i++)
    k[i] = (float) i * 0.9f;
  float *out = run_attention (&c, q, k, v, NULL);
  for (int i = 0; i < 3; i++)
    for (int h = 0; h < 4; h++)
      for (int d = 0; d < 3; d++)
        g_assert_cmpfloat_with_epsilon (out[(i * 4 + h) * 3 + d], v[(h / 2) * 3 + d], 1e-6);
  g_free (out);
}

static void
test_two_keys_by_hand (void)
{
  /* q = (1, 0), keys (1, 0) and (0, 1), scale 2: scores 2 and 0, weights
   * e²/(e²+1) and 1/(e²+1). */
  attention_case c = { .B = 1, .Tq = 1, .Tk = 2, .H = 1, .Hkv = 1, .D = 2, .Dv = 1, .scale = 2.0f };
  float q[2] = { 1, 0 }, k[4] = { 1, 0, 0, 1 }, v[2] = { 10, -4 };
  float *out = run_attention (&c, q, k, v, NULL);
  double w = exp (2.0) / (exp (2.0) + 1.0);
  g_assert_cmpfloat_with_epsilon (out[0], 10.0 * w - 4.0 * (1.0 - w), 1e-5);
  g_free (out);
}

static void
test_fully_masked_rows_are_zero (void)
{
  /* Causal with Tq > Tk: query i sees keys j ≤ i − 2, so rows 0 and 1 see none. */
  attention_case c = { .B = 1, .Tq = 4, .Tk = 2, .H = 1, .Hkv = 1, .D = 2, .Dv = 2, .scale = 1.0f, .causal = true };
  float q[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, k[4] = { 1, 0, 0, 1 }, v[4] = { 1, 2, 3, 4 };
  float *out = run_attention (&c, q, k, v, NULL);
  for (int d = 0; d < 4; d++)
    g_assert_cmpfloat (out[d], ==, 0.0f);
  g_assert_cmpfloat_with_epsilon (out[4], 1.0, 1e-6); /* row 2 sees only key 0 */
  g_assert_cmpfloat_with_epsilon (out[5], 2.0, 1e-6);
  g_assert_true (isfinite (out[6]) && isfinite (out[7]));
  g_free (out);

  /* A -inf padding bias over a whole row. */
  attention_case m = { .B = 1, .Tq = 2, .Tk = 3, .H = 1, .Hkv = 1, .D = 1, .Dv = 1, .bias_b = 1, .bias_h = 1,
                       .scale = 1.0f };
  float q1[2] = { 1, 1 }, k1[3] = { 1, 2, 3 }, v1[3] = { 5, 6, 7 };
  float bias[6] = { -INFINITY, -INFINITY, -INFINITY, 0, -INFINITY, -INFINITY };
  out = run_attention (&m, q1, k1, v1, bias);
  g_assert_cmpfloat (out[0], ==, 0.0f);
  g_assert_cmpfloat_with_epsilon (out[1], 5.0, 1e-6);
  g_free (out);
}

static void
test_no_keys_gives_zeros (void)
{
  /* Tk = 0 (an empty cache): nothing to attend to, so zeros rather than NaN. */
  attention_case c = { .B = 1, .Tq = 2, .Tk = 0, .H = 2, .Hkv = 1, .D = 3, .Dv = 2, .scale = 1.0f };
  float q[12];
  for (int i = 0; i < 12; i++)
    q[i] = 1.0f;
  float *out = run_attention (&c, q, NULL, NULL, NULL);
  for (int i = 0; i < 8; i++)
    g_assert_cmpfloat (out[i], ==, 0.0f);
  g_free (out);
}

static void
check_against_naive (GRand *rng, const attention_case *c, double magnitude)
{
  size_t nq = c->B * c->Tq * c->H * c->D, nk = c->B * c->Tk * c->Hkv * c->D, nv = c->B * c->Tk * c->Hkv * c->Dv;
  float *q = test_random (rng, nq, -magnitude, magnitude);
  float *k = test_random (rng, nk, -magnitude, magnitude);
  float *v = test_random (rng, nv, -1, 1);
  test_round_to (c->kv_dtype, k, nk); /* the reference sees what the cache stores */
  test_round_to (c->kv_dtype, v, nv);
  float *bias = NULL;
  if (c->bias_b > 0)
    {
      size_t nb = c->bias_b * c->bias_h * c->Tq * c->Tk;
      bias = test_random (rng, nb, -2, 2);
      for (size_t i = 0; i < nb; i++) /* sprinkle padding-mask entries */
        if (g_rand_int_range (rng, 0, 7) == 0)
          bias[i] = -INFINITY;
    }
  float *got = run_attention (c, q, k, v, bias);
  double *want = naive_attention (c, q, k, v, bias);
  char what[160];
  g_snprintf (what, sizeof what, "attention B%lld Tq%lld Tk%lld H%lld/%lld D%lld Dv%lld bias %lldx%lld causal %d",
              (long long) c->B, (long long) c->Tq, (long long) c->Tk, (long long) c->H, (long long) c->Hkv,
              (long long) c->D, (long long) c->Dv, (long long) c->bias_b, (long long) c->bias_h, c->causal);
  test_assert_close (got, want, c->B * c->Tq * c->H * c->Dv, 1e-5, 1e-4, what);
  g_free (q);
  g_free (k);
  g_free (v);
  g_free (bias);
  g_free (got);
  g_free (want);
}

static void
test_random_against_naive (void)
{
  GRand *rng = g_rand_new_with_seed (1234);
  for (int trial = 0; trial < 40; trial++)
    {
      attention_case c = { 0 };
      c.B = g_rand_int_range (rng, 1, 3);
      c.Tq = g_rand_int_range (rng, 1, 40);
      c.Tk = trial % 4 == 0 ? c.Tq : g_rand_int_range (rng, 1, 150); /* crosses key tiles */
      c.Hkv = g_rand_int_range (rng, 1, 4);
      c.H = c.Hkv * g_rand_int_range (rng, 1, 4);
      c.D = g_rand_int_range (rng, 1, 40) | 1;
      c.Dv = g_rand_int_range (rng, 1, 24);
      c.scale = (float) (1.0 / sqrt ((double) c.D));
      c.causal = trial % 3 == 0;
      if (trial % 2 == 1)
        {
          c.bias_b = g_rand_boolean (rng) ? c.B : 1;
          c.bias_h = g_rand_boolean (rng) ? c.H : 1;
        }
      check_against_naive (rng, &c, 1.5);
    }
  g_rand_free (rng);
}

static void
test_long_rows_rescale (void)
{
  /* Many key tiles with large scores: the running max moves from tile to tile,
   * and an online softmax that rescaled wrongly would be far off. */
  GRand *rng = g_rand_new_with_seed (99);
  attention_case c = { .B = 1, .Tq = 37, .Tk = 333, .H = 2, .Hkv = 1, .D = 8, .Dv = 5, .scale = 1.0f };
  check_against_naive (rng, &c, 3.0);
  c.causal = true;
  check_against_naive (rng, &c, 3.0);
  g_rand_free (rng);
}

static void
test_16bit_kv_cache (void)
{
  /* Keys and values stored in f16 or bf16 (a decode cache), one query row and a
   * prefill block: the same result as f32 on the rounded values. */
  GRand *rng = g_rand_new_with_seed (7);
  const td_dtype dtypes[] = { TD_F16, TD_BF16 };
  for (size_t i = 0; i < G_N_ELEMENTS (dtypes); i++)
    {
      attention_case c = { .B = 2, .Tq = 1, .Tk = 1037, .H = 14, .Hkv = 2, .D = 64, .Dv = 64,
                           .scale = 0.125f, .causal = true, .kv_dtype = dtypes[i] };
      check_against_naive (rng, &c, 1.5);
      c.Tq = 19, c.Tk = 37, c.H = 6, c.Hkv = 3, c.D = 128, c.Dv = 128;
      check_against_naive (rng, &c, 1.5);
    }
  g_rand_free (rng);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops-spatial/attention/single-key-returns-v", test_single_key_returns_v);
  g_test_add_func ("/ops-spatial/attention/two-keys-by-hand", test_two_keys_by_hand);
  g_test_add_func ("/ops-spatial/attention/fully-masked-rows-are-zero", test_fully_masked_rows_are_zero);
  g_test_add_func ("/ops-spatial/attention/no-keys-gives-zeros", test_no_keys_gives_zeros);
  g_test_add_func ("/ops-spatial/attention/random-vs-naive", test_random_against_naive);
  g_test_add_func ("/ops-spatial/attention/long-rows-rescale", test_long_rows_rescale);
  g_test_add_func ("/ops-spatial/attention/16-bit-kv-cache", test_16bit_kv_cache);
  return g_test_run ();
}
