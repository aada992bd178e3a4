/* Attention of one query row over a key/value cache (attention_decode.comp and its
 * reduction pass) against a double-precision reference and the CPU backend: cache
 * lengths from 1 key to more than a thousand (one chunk to many), head dims 64, 128
 * and odd ones, GQA ratios from 1 to more query heads than one workgroup takes,
 * and caches in f32, f16 and bf16. */
#include <math.h>

#include "op-check.h"

typedef struct decode_case {
  int64_t batch, tk, heads, kv_heads, d, dv;
  td_dtype kv_dtype;
  bool causal;
} decode_case;

static float *
random_values (int64_t n, float lo, float hi, td_dtype dtype)
{
  float *v = g_new (float, n > 0 ? n : 1);
  vk_random_fill (v, n, lo, hi);
  vk_round_to_dtype (v, n, dtype);
  return v;
}

/* softmax(q · kᵀ · scale) · v in double for the one query row of every (batch, head). */
static double *
reference (const decode_case *dc, const float *q, const float *k, const float *v, double scale)
{
  double *out = g_new0 (double, dc->batch * dc->heads * dc->dv);
  double *scores = g_new (double, dc->tk);
  int64_t group = dc->heads / dc->kv_heads;
  for (int64_t b = 0; b < dc->batch; b++)
    for (int64_t h = 0; h < dc->heads; h++)
      {
        int64_t g = h / group;
        double max = -INFINITY, sum = 0;
        for (int64_t j = 0; j < dc->tk; j++)
          {
            double s = 0;
            for (int64_t c = 0; c < dc->d; c++)
              s += (double) q[(b * dc->heads + h) * dc->d + c] * k[((b * dc->tk + j) * dc->kv_heads + g) * dc->d + c];
            scores[j] = s * scale;
            max = fmax (max, scores[j]);
          }
        for (int64_t j = 0; j < dc->tk; j++)
          sum += scores[j] = exp (scores[j] - max);
        double *o = out + (b * dc->heads + h) * dc->dv;
        for (int64_t j = 0; j < dc->tk; j++)
          for (int64_t c = 0; c < dc->dv; c++)
            o[c] += scores[j] / sum * v[((b * dc->tk + j) * dc->kv_heads + g) * dc->dv + c];
      }
  g_free (scores);
  return out;
}

static void
check_decode (const decode_case *dc)
{
  td_backend *b = vk_test_backend ();
  int64_t qs[4] = { dc->batch, 1, dc->heads, dc->d }, ks[4] = { dc->batch, dc->tk, dc->kv_heads, dc->d };
  int64_t vs[4] = { dc->batch, dc->tk, dc->kv_heads, dc->dv }, ys[4] = { dc->batch, 1, dc->heads, dc->dv };
  int64_t nq = dc->batch * dc->heads * dc->d, nk = dc->batch * dc->tk * dc->kv_heads * dc->d;
  int64_t nv = dc->batch * dc->tk * dc->kv_heads * dc->dv;
  /* Scores up to about ±6: the running max moves between chunks and within them. */
  float *q = random_values (nq, -2, 2, TD_F32), *k = random_values (nk, -2, 2, dc->kv_dtype);
  float *v = random_values (nv, -1, 1, dc->kv_dtype);
  td_tensor *tq = vk_tensor_from (b, TD_F32, 4, qs, q), *tk = vk_tensor_from (b, dc->kv_dtype, 4, ks, k);
  td_tensor *tv = vk_tensor_from (b, dc->kv_dtype, 4, vs, v);
  double scale = 1 / sqrt ((double) dc->d);
  double *ref = reference (dc, q, k, v, scale);
  vk_guarded g = vk_guarded_new (b, TD_F32, 4, ys);
  td_op op = { .type = TD_OP_ATTENTION, .src = { tq, tk, tv },
               .p.attention = { .scale = (float) scale, .causal = dc->causal } };
  char what[128];
  g_snprintf (what, sizeof what, "decode attention B%lld Tk%lld H%lld/%lld D%lld/%lld %s%s", (long long) dc->batch,
              (long long) dc->tk, (long long) dc->heads, (long long) dc->kv_heads, (long long) dc->d,
              (long long) dc->dv, td_dtype_name (dc->kv_dtype), dc->causal ? " causal" : "");
  op_check (&op, &g, ref, 1e-4, what);
  vk_guarded_free (&g);
  td_tensor_free (tq);
  td_tensor_free (tk);
  td_tensor_free (tv);
  g_free (q);
  g_free (k);
  g_free (v);
  g_free (ref);
}

static void
test_cache_lengths (void)
{
  /* 1 key; 37 (one partial chunk); 64 and 65 (around a chunk's edge); 1000+ (many chunks,
   * the last one partial); 4099 (chunks longer than the minimum). */
  const int64_t lengths[] = { 1, 37, 64, 65, 1031, 4099 };
  for (size_t i = 0; i < G_N_ELEMENTS (lengths); i++)
    check_decode (&(decode_case) { 1, lengths[i], 4, 2, 128, 128, TD_F32, true });
}

static void
test_head_dims (void)
{
  check_decode (&(decode_case) { 1, 300, 4, 4, 64, 64, TD_F32, true });
  check_decode (&(decode_case) { 2, 77, 6, 3, 40, 24, TD_F32, false }); /* odd dims, batch 2 */
  check_decode (&(decode_case) { 1, 129, 2, 1, 96, 128, TD_F32, true }); /* D ≠ Dv */
  check_decode (&(decode_case) { 1, 53, 3, 1, 256, 200, TD_F32, true }); /* the widest variant */
}

static void
test_gqa_ratios (void)
{
  /* 1 (multi-head), 7 (Qwen2-VL-7B: 28 / 4), 6 (Qwen2-VL-2B: 12 / 2), 12 (two workgroups
   * per key/value head) and 11 (the second of them partly empty). */
  const int64_t ratios[][2] = { { 5, 5 }, { 28, 4 }, { 12, 2 }, { 12, 1 }, { 22, 2 } };
  for (size_t i = 0; i < G_N_ELEMENTS (ratios); i++)
    check_decode (&(decode_case) { 1, 1003, ratios[i][0], ratios[i][1], 128, 128, TD_F32, true });
}

static void
test_16bit_caches (void)
{
  check_decode (&(decode_case) { 1, 1031, 28, 4, 128, 128, TD_F16, true });
  check_decode (&(decode_case) { 2, 37, 12, 2, 64, 64, TD_BF16, true });
  check_decode (&(decode_case) { 1, 1, 6, 3, 128, 128, TD_F16, false });
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vulkan/decode-attention/cache-lengths", test_cache_lengths);
  g_test_add_func ("/vulkan/decode-attention/head-dims", test_head_dims);
  g_test_add_func ("/vulkan/decode-attention/gqa-ratios", test_gqa_ratios);
  g_test_add_func ("/vulkan/decode-attention/16-bit-caches", test_16bit_caches);
  return g_test_run ();
}
