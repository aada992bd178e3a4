/* Spatial ops and sampling on the Vulkan backend against double-precision
 * references (and the CPU backend where its kernels exist): rope, fused
 * attention (GQA, causal with offset, broadcast bias), conv2d with strides and
 * odd padding, resampling, and the nucleus sampler's token choice. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "op-check.h"
#include "backend/vulkan/vulkan_coopmat.h"

#define TOL_F32 1e-4

static float *
random_values (int64_t n, float lo, float hi, td_dtype dtype)
{
  float *v = g_new (float, n);
  vk_random_fill (v, n, lo, hi);
  vk_round_to_dtype (v, n, dtype);
  return v;
}

static void
check_rope (td_rope_mode mode)
{
  td_backend *b = vk_test_backend ();
  int64_t bsz = 2, t = 7, h = 3, d = 10, r = 8;
  int64_t xs[4] = { bsz, t, h, d }, cs[2] = { t, r / 2 }, n = bsz * t * h * d;
  float *x = random_values (n, -2, 2, TD_F32);
  float *c = random_values (t * r / 2, -1, 1, TD_F32), *s = random_values (t * r / 2, -1, 1, TD_F32);
  td_tensor *tx = vk_tensor_from (b, TD_F32, 4, xs, x);
  td_tensor *tc = vk_tensor_from (b, TD_F32, 2, cs, c), *ts = vk_tensor_from (b, TD_F32, 2, cs, s);
  double *ref = g_new (double, n);
  for (int64_t row = 0; row < bsz * t * h; row++)
    {
      int64_t pos = (row / h) % t;
      const float *xr = x + row * d;
      double *yr = ref + row * d;
      for (int64_t i = r; i < d; i++)
        yr[i] = xr[i];
      for (int64_t i = 0; i < r / 2; i++)
        {
          int64_t a = mode == TD_ROPE_HALF_SPLIT ? i : 2 * i, bb = mode == TD_ROPE_HALF_SPLIT ? i + r / 2 : 2 * i + 1;
          double cv = c[pos * r / 2 + i], sv = s[pos * r / 2 + i];
          yr[a] = xr[a] * cv - xr[bb] * sv;
          yr[bb] = xr[bb] * cv + xr[a] * sv;
        }
    }
  vk_guarded g = vk_guarded_new (b, TD_F32, 4, xs);
  td_op op = { .type = TD_OP_ROPE, .src = { tx, tc, ts }, .p.rope.mode = mode };
  op_check (&op, &g, ref, TOL_F32, mode == TD_ROPE_HALF_SPLIT ? "rope half-split" : "rope interleaved");
  vk_guarded_free (&g);
  td_tensor_free (tx);
  td_tensor_free (tc);
  td_tensor_free (ts);
  g_free (x);
  g_free (c);
  g_free (s);
  g_free (ref);
}

static void
test_rope (void)
{
  check_rope (TD_ROPE_HALF_SPLIT);
  check_rope (TD_ROPE_INTERLEAVED);
}

typedef struct attention_case {
  int64_t batch, tq, tk, heads, kv_heads, d, dv;
  bool causal;
  int64_t bias_b, bias_h; /* 0: no bias */
  td_dtype kv_dtype;      /* 0 (f32), or a 16-bit key/value cache */
} attention_case;

static void
check_attention (const attention_case *ac)
{
  td_backend *b = vk_test_backend ();
  int64_t qs[4] = { ac->batch, ac->tq, ac->heads, ac->d }, ks[4] = { ac->batch, ac->tk, ac->kv_heads, ac->d };
  int64_t vs[4] = { ac->batch, ac->tk, ac->kv_heads, ac->dv }, ys[4] = { ac->batch, ac->tq, ac->heads, ac->dv };
  int64_t bs[4] = { ac->bias_b, ac->bias_h, ac->tq, ac->tk };
  int64_t nq = qs[0] * qs[1] * qs[2] * qs[3], nk = ks[0] * ks[1] * ks[2] * ks[3];
  int64_t nv = vs[0] * vs[1] * vs[2] * vs[3], ny = ys[0] * ys[1] * ys[2] * ys[3];
  int64_t nb = ac->bias_b * ac->bias_h * ac->tq * ac->tk;
  float *q = random_values (nq, -1, 1, TD_F32), *k = random_values (nk, -1, 1, ac->kv_dtype);
  float *v = random_values (nv, -1, 1, ac->kv_dtype), *bias = random_values (nb > 0 ? nb : 1, -2, 2, TD_F32);
  if (nb > 0)
    bias[1] = -INFINITY; /* a padding mask entry */
  td_tensor *tq = vk_tensor_from (b, TD_F32, 4, qs, q), *tk = vk_tensor_from (b, ac->kv_dtype, 4, ks, k);
  td_tensor *tv = vk_tensor_from (b, ac->kv_dtype, 4, vs, v);
  td_tensor *tb = nb > 0 ? vk_tensor_from (b, TD_F32, 4, bs, bias) : NULL;
  double scale = 1 / sqrt ((double) ac->d);
  double *ref = g_new (double, ny), *scores = g_new (double, ac->tk);
  for (int64_t z = 0; z < ac->batch; z++)
    for (int64_t hh = 0; hh < ac->heads; hh++)
      for (int64_t i = 0; i < ac->tq; i++)
        {
          int64_t hk = hh / (ac->heads / ac->kv_heads);
          double m = -INFINITY, sum = 0;
          for (int64_t j = 0; j < ac->tk; j++)
            {
              double s = 0;
              for (int64_t c = 0; c < ac->d; c++)
                s += (double) q[((z * ac->tq + i) * ac->heads + hh) * ac->d + c]
                     * k[((z * ac->tk + j) * ac->kv_heads + hk) * ac->d + c];
              s *= scale;
              if (nb > 0)
                s += bias[(((ac->bias_b == 1 ? 0 : z) * ac->bias_h + (ac->bias_h == 1 ? 0 : hh)) * ac->tq + i) * ac->tk + j];
              if (ac->causal && j > i + (ac->tk - ac->tq))
                s = -INFINITY;
              scores[j] = s;
              m = fmax (m, s);
            }
          for (int64_t j = 0; j < ac->tk; j++)
            sum += scores[j] == -INFINITY ? 0 : exp (scores[j] - m);
          for (int64_t c = 0; c < ac->dv; c++)
            {
              double o = 0;
              for (int64_t j = 0; j < ac->tk; j++)
                if (scores[j] != -INFINITY)
                  o += exp (scores[j] - m) / sum * v[((z * ac->tk + j) * ac->kv_heads + hk) * ac->dv + c];
              ref[((z * ac->tq + i) * ac->heads + hh) * ac->dv + c] = o;
            }
        }
  vk_guarded g = vk_guarded_new (b, TD_F32, 4, ys);
  td_op op = { .type = TD_OP_ATTENTION, .src = { tq, tk, tv, tb },
               .p.attention = { .scale = (float) scale, .causal = ac->causal } };
  char what[128];
  g_snprintf (what, sizeof what, "attention B%lld Tq%lld Tk%lld H%lld/%lld D%lld/%lld%s bias[%lld,%lld]",
              (long long) ac->batch, (long long) ac->tq, (long long) ac->tk, (long long) ac->heads,
              (long long) ac->kv_heads, (long long) ac->d, (long long) ac->dv, ac->causal ? " causal" : "",
              (long long) ac->bias_b, (long long) ac->bias_h);
  /* On cooperative matrices Q, K, P and V are rounded to f16 (11 bits). */
  const td_vulkan_device_info *dev = td_vulkan_backend_device (b);
  uint32_t rows;
  const char *kernel = td_vk_attention_kernel ((uint32_t) ac->d, (uint32_t) ac->dv, dev->coopmat_enabled,
                                               dev->coopmat_emulated, &rows);
  op_check (&op, &g, ref, g_str_has_prefix (kernel, "attention_coopmat") ? 2e-3 : TOL_F32, what);
  vk_guarded_free (&g);
  td_tensor_free (tq);
  td_tensor_free (tk);
  td_tensor_free (tv);
  td_tensor_free (tb);
  g_free (q);
  g_free (k);
  g_free (v);
  g_free (bias);
  g_free (ref);
  g_free (scores);
}

static void
test_attention (void)
{
  const attention_case cases[] = {
    { 2, 37, 53, 6, 2, 40, 40, false, 0, 0 },
    { 2, 37, 53, 6, 2, 40, 40, true, 0, 0 },
    { 1, 37, 53, 6, 6, 40, 24, true, 1, 6 },
    { 2, 19, 19, 4, 1, 64, 64, false, 2, 1 },
    { 1, 9, 21, 2, 1, 200, 160, true, 0, 0 }, /* the wide-head variant */
    { 1, 23, 61, 6, 2, 64, 64, true, 0, 0, TD_F16 }, /* prefill over a 16-bit cache */
    { 1, 5, 40, 4, 4, 128, 128, true, 0, 0, TD_BF16 },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    check_attention (&cases[i]);
}

static void
check_conv2d (td_dtype wdtype, int64_t cin, int64_t h, int64_t w, int64_t cout, int64_t kh, int64_t kw, int sh,
              int sw, int ph, int pw, bool with_bias)
{
  td_backend *b = vk_test_backend ();
  int64_t bsz = 2, ho = (h + 2 * ph - kh) / sh + 1, wo = (w + 2 * pw - kw) / sw + 1;
  int64_t xs[4] = { bsz, cin, h, w }, ws[4] = { cout, cin, kh, kw }, bs[1] = { cout }, ys[4] = { bsz, cout, ho, wo };
  float *x = random_values (bsz * cin * h * w, -1, 1, TD_F32);
  float *wt = random_values (cout * cin * kh * kw, -1, 1, wdtype), *bias = random_values (cout, -1, 1, TD_BF16);
  td_tensor *tx = vk_tensor_from (b, TD_F32, 4, xs, x), *tw = vk_tensor_from (b, wdtype, 4, ws, wt);
  td_tensor *tb = with_bias ? vk_tensor_from (b, TD_BF16, 1, bs, bias) : NULL;
  int64_t ny = bsz * cout * ho * wo;
  double *ref = g_new (double, ny);
  for (int64_t z = 0; z < bsz; z++)
    for (int64_t co = 0; co < cout; co++)
      for (int64_t oy = 0; oy < ho; oy++)
        for (int64_t ox = 0; ox < wo; ox++)
          {
            double s = with_bias ? bias[co] : 0;
            for (int64_t ci = 0; ci < cin; ci++)
              for (int64_t ky = 0; ky < kh; ky++)
                for (int64_t kx = 0; kx < kw; kx++)
                  {
                    int64_t iy = oy * sh - ph + ky, ix = ox * sw - pw + kx;
                    if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                      s += (double) x[((z * cin + ci) * h + iy) * w + ix] * wt[((co * cin + ci) * kh + ky) * kw + kx];
                  }
            ref[((z * cout + co) * ho + oy) * wo + ox] = s;
          }
  vk_guarded g = vk_guarded_new (b, TD_F32, 4, ys);
  td_op op = { .type = TD_OP_CONV2D, .src = { tx, tw, tb }, .p.conv2d = { sh, sw, ph, pw } };
  char what[96];
  g_snprintf (what, sizeof what, "conv2d %s k%lldx%lld s%d,%d p%d,%d", td_dtype_name (wdtype), (long long) kh,
              (long long) kw, sh, sw, ph, pw);
  op_check (&op, &g, ref, TOL_F32, what);
  vk_guarded_free (&g);
  td_tensor_free (tx);
  td_tensor_free (tw);
  td_tensor_free (tb);
  g_free (x);
  g_free (wt);
  g_free (bias);
  g_free (ref);
}

static void
test_conv2d (void)
{
  check_conv2d (TD_F32, 3, 11, 13, 5, 3, 3, 2, 2, 1, 1, true);
  check_conv2d (TD_BF16, 7, 9, 10, 67, 3, 3, 1, 1, 1, 1, true);
  check_conv2d (TD_F16, 4, 12, 9, 6, 1, 1, 1, 1, 0, 0, false);
  check_conv2d (TD_F32, 2, 10, 11, 3, 4, 2, 1, 3, 2, 0, true);
}

static double
cubic (double x)
{
  const double a = -0.5;
  x = fabs (x);
  if (x < 1)
    return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2)
    return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/* PIL's separable weights for one axis: weights[o * in + i]. */
static double *
pil_weights (int64_t in, int64_t out)
{
  double *wts = g_new0 (double, out * in);
  double scale = (double) in / out, fs = fmax (scale, 1), support = 2 * fs;
  for (int64_t o = 0; o < out; o++)
    {
      double center = (o + 0.5) * scale, sum = 0;
      int64_t lo = (int64_t) fmax ((double) (int64_t) (center - support + 0.5), 0);
      int64_t hi = (int64_t) fmin ((double) (int64_t) (center + support + 0.5), (double) in);
      for (int64_t i = lo; i < hi; i++)
        sum += wts[o * in + i] = cubic ((i - center + 0.5) / fs);
      for (int64_t i = lo; i < hi; i++)
        wts[o * in + i] /= sum;
    }
  return wts;
}

static double
linear_source (int64_t o, int64_t in, int64_t out, int64_t *i0, int64_t *i1)
{
  double src = fmax ((o + 0.5) * ((double) in / out) - 0.5, 0);
  *i0 = (int64_t) src < in - 1 ? (int64_t) src : in - 1;
  *i1 = *i0 + 1 < in ? *i0 + 1 : in - 1;
  return src - *i0;
}

static void
check_resize (td_op_type type, int64_t h, int64_t w, int64_t ho, int64_t wo)
{
  td_backend *b = vk_test_backend ();
  int64_t planes = 2 * 3, xs[4] = { 2, 3, h, w }, ys[4] = { 2, 3, ho, wo };
  float *x = random_values (planes * h * w, -1, 1, TD_F32);
  td_tensor *tx = vk_tensor_from (b, TD_F32, 4, xs, x);
  double *ref = g_new (double, planes * ho * wo);
  double *wy = pil_weights (h, ho), *wx = pil_weights (w, wo);
  for (int64_t p = 0; p < planes; p++)
    for (int64_t oy = 0; oy < ho; oy++)
      for (int64_t ox = 0; ox < wo; ox++)
        {
          const float *plane = x + p * h * w;
          double v = 0;
          if (type == TD_OP_UPSAMPLE_NEAREST2X)
            v = plane[(oy / 2) * w + ox / 2];
          else if (type == TD_OP_RESIZE_BILINEAR)
            {
              int64_t y0, y1, x0, x1;
              double fy = linear_source (oy, h, ho, &y0, &y1), fx = linear_source (ox, w, wo, &x0, &x1);
              v = (1 - fy) * ((1 - fx) * plane[y0 * w + x0] + fx * plane[y0 * w + x1])
                  + fy * ((1 - fx) * plane[y1 * w + x0] + fx * plane[y1 * w + x1]);
            }
          else
            for (int64_t iy = 0; iy < h; iy++)
              for (int64_t ix = 0; ix < w; ix++)
                v += wy[oy * h + iy] * wx[ox * w + ix] * plane[iy * w + ix];
          ref[(p * ho + oy) * wo + ox] = v;
        }
  vk_guarded g = vk_guarded_new (b, TD_F32, 4, ys);
  td_op op = { .type = type, .src = { tx } };
  char what[96];
  g_snprintf (what, sizeof what, "%s %lldx%lld -> %lldx%lld", td_op_name (type), (long long) h, (long long) w,
              (long long) ho, (long long) wo);
  op_check (&op, &g, ref, TOL_F32, what);
  vk_guarded_free (&g);
  td_tensor_free (tx);
  g_free (x);
  g_free (ref);
  g_free (wy);
  g_free (wx);
}

static void
test_resize (void)
{
  check_resize (TD_OP_UPSAMPLE_NEAREST2X, 5, 7, 10, 14);
  check_resize (TD_OP_RESIZE_BILINEAR, 11, 13, 7, 20);
  check_resize (TD_OP_RESIZE_BILINEAR, 4, 4, 9, 9);
  check_resize (TD_OP_RESIZE_BICUBIC, 11, 13, 23, 17);
  check_resize (TD_OP_RESIZE_BICUBIC, 40, 50, 9, 13);
}

typedef struct ranked {
  float logit;
  int token;
} ranked;

static int
by_logit (const void *pa, const void *pb)
{
  const ranked *a = pa, *b = pb;
  if (a->logit != b->logit)
    return a->logit > b->logit ? -1 : 1;
  return a->token - b->token;
}

/* The sampler as op.h specifies it: sort by logit (ties by index), keep the
 * smallest prefix reaching top_p, inverse CDF with td_rng_uniform. */
static int
reference_sample (const float *logits, int n, float temperature, float top_p, uint64_t seed, uint64_t counter)
{
  ranked *order = g_new (ranked, n);
  for (int i = 0; i < n; i++)
    order[i] = (ranked) { isnan (logits[i]) ? -INFINITY : logits[i], i };
  qsort (order, n, sizeof *order, by_logit);
  if (!(temperature > 0))
    {
      int best = order[0].token;
      g_free (order);
      return best;
    }
  double total = 0, kept_mass = 0, *w = g_new (double, n);
  for (int i = 0; i < n; i++)
    total += w[i] = exp ((order[i].logit - order[0].logit) / temperature);
  int kept = 0;
  while (kept < n)
    {
      kept_mass += w[kept++];
      if (kept_mass >= top_p * total)
        break;
    }
  double target = td_rng_uniform (seed, counter) * kept_mass, cumulative = 0;
  int token = order[kept - 1].token;
  for (int i = 0; i < kept; i++)
    if (target < (cumulative += w[i]))
      {
        token = order[i].token;
        break;
      }
  g_free (order);
  g_free (w);
  return token;
}

static void
check_sample (int rows, int n, float temperature, float top_p, bool ties)
{
  td_backend *b = vk_test_backend ();
  int64_t xs[2] = { rows, n }, ys[1] = { rows };
  float *x = random_values ((int64_t) rows * n, -3, 3, TD_F32);
  if (ties)
    for (int64_t i = 0; i < (int64_t) rows * n; i++)
      x[i] = roundf (x[i]); /* many equal logits */
  td_tensor *tx = vk_tensor_from (b, TD_F32, 2, xs, x);
  uint64_t seed = 0x1234567890abcdefull, counter = 1000;
  double *ref = g_new (double, rows);
  for (int r = 0; r < rows; r++)
    ref[r] = reference_sample (x + (int64_t) r * n, n, temperature, top_p, seed, counter + r);
  vk_guarded g = vk_guarded_new (b, TD_I32, 1, ys);
  td_op op = { .type = TD_OP_SAMPLE, .src = { tx }, .p.sample = { temperature, top_p, seed, counter } };
  char what[96];
  g_snprintf (what, sizeof what, "sample T=%g top_p=%g n=%d%s", temperature, top_p, n, ties ? " ties" : "");
  op_check (&op, &g, ref, 0, what);
  vk_guarded_free (&g);
  td_tensor_free (tx);
  g_free (x);
  g_free (ref);
}

static void
test_sample (void)
{
  check_sample (24, 1000, 0.6f, 0.9f, false);
  check_sample (16, 3001, 1.0f, 1.0f, false);
  check_sample (16, 777, 0.8f, 0.5f, true);
  check_sample (8, 500, 0.0f, 0.9f, false); /* temperature 0: argmax */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  vk_test_backend ();
  g_test_add_func ("/vulkan/ops/rope", test_rope);
  g_test_add_func ("/vulkan/ops/attention", test_attention);
  g_test_add_func ("/vulkan/ops/conv2d", test_conv2d);
  g_test_add_func ("/vulkan/ops/resize", test_resize);
  g_test_add_func ("/vulkan/ops/sample", test_sample);
  int result = g_test_run ();
  td_backend_free (vk_test_backend ());
  return result;
}
