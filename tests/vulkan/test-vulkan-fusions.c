/* The fused ops on the Vulkan backend against double-precision references and the
 * CPU backend, on odd sizes: the matmul family's activation epilogue on every path
 * the device takes (GEMV, tiled, cooperative matrices when TD_VULKAN_EMULATE_COOPMAT=1
 * or real), ADA_LAYER_NORM, RMS_NORM_ROPE (both pairings, partial rotation, tables
 * that are row slices of a larger table) and MATMUL_NORM_ROPE (the same on each
 * path of the matmul family, plain and block weight formats). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "op-check.h"
#include "backend/vulkan/vulkan_matmul.h"
#include "../ops/quant-test-util.h"

#define TOL_F32 1e-4

static float *
random_values (int64_t n, float lo, float hi, td_dtype dtype)
{
  float *v = g_new (float, n);
  vk_random_fill (v, n, lo, hi);
  vk_round_to_dtype (v, n, dtype);
  return v;
}

static double
activation_ref (td_unary_kind kind, double x)
{
  switch (kind)
    {
    case TD_UNARY_GELU: return 0.5 * x * (1 + erf (x / sqrt (2.0)));
    case TD_UNARY_GELU_TANH: return 0.5 * x * (1 + tanh (sqrt (2 / M_PI) * (x + 0.044715 * x * x * x)));
    case TD_UNARY_SILU: return x / (1 + exp (-x));
    case TD_UNARY_QUICK_GELU: return x / (1 + exp (-1.702 * x));
    case TD_UNARY_RELU: return x > 0 ? x : 0;
    case TD_UNARY_TANH: return tanh (x);
    case TD_UNARY_SIGMOID: return 1 / (1 + exp (-x));
    default: g_assert_not_reached ();
    }
}

/* y = activation (x [m, k] · w [n, k]ᵀ + bias) */
static void
check_matmul_epilogue (td_dtype wdtype, td_unary_kind kind, int64_t m, int64_t k, int64_t n)
{
  td_backend *b = vk_test_backend ();
  int64_t xs[2] = { m, k }, ws[2] = { n, k }, bs[1] = { n }, ys[2] = { m, n };
  float *x = random_values (m * k, -1, 1, TD_F32), *w = random_values (n * k, -1, 1, wdtype);
  float *bias = random_values (n, -1, 1, TD_F32);
  td_tensor *tx = vk_tensor_from (b, TD_F32, 2, xs, x), *tw = vk_tensor_from (b, wdtype, 2, ws, w);
  td_tensor *tb = vk_tensor_from (b, TD_F32, 1, bs, bias);
  double *ref = g_new (double, m * n);
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++)
      {
        double s = bias[j];
        for (int64_t c = 0; c < k; c++)
          s += (double) x[i * k + c] * w[j * k + c];
        ref[i * n + j] = activation_ref (kind, s);
      }
  vk_guarded g = vk_guarded_new (b, TD_F32, 2, ys);
  td_op op = { .type = TD_OP_MATMUL, .src = { tx, tw, tb }, .p.matmul = { true, kind } };
  const td_vulkan_device_info *dev = td_vulkan_backend_device (b);
  bool coopmat = (dev->coopmat_enabled || dev->coopmat_emulated) && dev->storage_16bit && wdtype != TD_F32
                 && m > TD_VK_GEMV_MAX_M;
  char what[96];
  g_snprintf (what, sizeof what, "matmul %s m=%lld epilogue %d%s", td_dtype_name (wdtype), (long long) m, (int) kind,
              coopmat ? " (coopmat)" : "");
  op_check (&op, &g, ref, coopmat ? 3e-3 : TOL_F32, what);
  vk_guarded_free (&g);
  td_tensor_free (tx);
  td_tensor_free (tw);
  td_tensor_free (tb);
  g_free (x);
  g_free (w);
  g_free (bias);
  g_free (ref);
}

/* Every activation on f32 weights (GEMV and tiled); on 16-bit weights, which take
 * the cooperative-matrix path where it runs, the activations the models use (each
 * is a pipeline of its own, and emulated ones are slow to build on lavapipe). */
static void
test_matmul_epilogue (void)
{
  for (int kind = 0; kind < TD_UNARY_COUNT; kind++)
    {
      check_matmul_epilogue (TD_F32, kind, 3, 129, 33);  /* GEMV */
      check_matmul_epilogue (TD_F32, kind, 67, 129, 70); /* tiled, ragged tiles */
    }
  const td_unary_kind used[] = { TD_UNARY_GELU_TANH, TD_UNARY_SILU, TD_UNARY_GELU };
  for (size_t i = 0; i < G_N_ELEMENTS (used); i++)
    {
      check_matmul_epilogue (TD_BF16, used[i], 3, 129, 33);
      check_matmul_epilogue (TD_BF16, used[i], 67, 129, 70);
    }
  check_matmul_epilogue (TD_F16, TD_UNARY_GELU_TANH, 2, 77, 41);
  check_matmul_epilogue (TD_F16, TD_UNARY_GELU_TANH, 130, 70, 65);
}

/* Without an epilogue a pipeline specialised for one must not be reused. */
static void
test_matmul_epilogue_then_plain (void)
{
  td_backend *b = vk_test_backend ();
  int64_t xs[2] = { 9, 31 }, ws[2] = { 17, 31 }, ys[2] = { 9, 17 };
  float *x = random_values (9 * 31, -2, 2, TD_F32), *w = random_values (17 * 31, -2, 2, TD_F32);
  td_tensor *tx = vk_tensor_from (b, TD_F32, 2, xs, x), *tw = vk_tensor_from (b, TD_F32, 2, ws, w);
  double *ref = g_new (double, 9 * 17);
  for (int relu = 1; relu >= 0; relu--)
    {
      for (int64_t i = 0; i < 9; i++)
        for (int64_t j = 0; j < 17; j++)
          {
            double s = 0;
            for (int64_t c = 0; c < 31; c++)
              s += (double) x[i * 31 + c] * w[j * 31 + c];
            ref[i * 17 + j] = relu && s < 0 ? 0 : s;
          }
      vk_guarded g = vk_guarded_new (b, TD_F32, 2, ys);
      td_op op = { .type = TD_OP_MATMUL, .src = { tx, tw }, .p.matmul = { relu, TD_UNARY_RELU } };
      op_check (&op, &g, ref, TOL_F32, relu ? "matmul relu" : "matmul plain after relu");
      vk_guarded_free (&g);
    }
  td_tensor_free (tx);
  td_tensor_free (tw);
  g_free (x);
  g_free (w);
  g_free (ref);
}

static void
check_ada_layer_norm (int64_t rows, int64_t cols)
{
  td_backend *b = vk_test_backend ();
  int64_t shape[2] = { rows, cols }, ps[1] = { cols };
  float *x = random_values (rows * cols, -3, 5, TD_F32);
  float *scale = random_values (cols, -1, 1, TD_F32), *shift = random_values (cols, -1, 1, TD_F32);
  td_tensor *tx = vk_tensor_from (b, TD_F32, 2, shape, x);
  td_tensor *tscale = vk_tensor_from (b, TD_F32, 1, ps, scale), *tshift = vk_tensor_from (b, TD_F32, 1, ps, shift);
  double *ref = g_new (double, rows * cols);
  float eps = 1e-6f;
  for (int64_t r = 0; r < rows; r++)
    {
      const float *row = x + r * cols;
      double mean = 0, var = 0;
      for (int64_t c = 0; c < cols; c++)
        mean += row[c];
      mean /= cols;
      for (int64_t c = 0; c < cols; c++)
        var += (row[c] - mean) * (row[c] - mean);
      double inv = 1 / sqrt (var / cols + eps);
      for (int64_t c = 0; c < cols; c++)
        ref[r * cols + c] = (row[c] - mean) * inv * (1.0 + scale[c]) + shift[c];
    }
  vk_guarded g = vk_guarded_new (b, TD_F32, 2, shape);
  td_op op = { .type = TD_OP_ADA_LAYER_NORM, .src = { tx, tscale, tshift }, .p.norm.eps = eps };
  op_check (&op, &g, ref, TOL_F32, "ada_layer_norm");
  vk_guarded_free (&g);
  td_tensor_free (tx);
  td_tensor_free (tscale);
  td_tensor_free (tshift);
  g_free (x);
  g_free (scale);
  g_free (shift);
  g_free (ref);
}

static void
test_ada_layer_norm (void)
{
  check_ada_layer_norm (7, 301);
  check_ada_layer_norm (3, 1000);
  check_ada_layer_norm (11, 5);
}

/* x [B, T, H, D] with tables [first + T + 2, R/2] of which rows [first, first + T) are used. */
static void
check_rms_norm_rope (td_rope_mode mode, td_dtype wdtype, bool with_w, int64_t batch, int64_t t, int64_t h, int64_t d,
                     int64_t rotary, int64_t first)
{
  td_backend *b = vk_test_backend ();
  int64_t half = rotary / 2, table_rows = first + t + 2;
  int64_t xs[4] = { batch, t, h, d }, ws[1] = { d }, ts[2] = { table_rows, half };
  int64_t n = batch * t * h * d;
  float *x = random_values (n, -2, 3, TD_F32), *w = random_values (d, 0.5, 1.5, wdtype);
  float *angles = random_values (table_rows * half, -3, 3, TD_F32);
  float *cos_v = g_new (float, table_rows * half), *sin_v = g_new (float, table_rows * half);
  for (int64_t i = 0; i < table_rows * half; i++)
    {
      cos_v[i] = cosf (angles[i]);
      sin_v[i] = sinf (angles[i]);
    }
  td_tensor *tx = vk_tensor_from (b, TD_F32, 4, xs, x);
  td_tensor *tw = with_w ? vk_tensor_from (b, wdtype, 1, ws, w) : NULL;
  td_tensor *cos_all = vk_tensor_from (b, TD_F32, 2, ts, cos_v), *sin_all = vk_tensor_from (b, TD_F32, 2, ts, sin_v);
  td_error err = { 0 };
  td_tensor *tcos = td_tensor_slice (cos_all, 0, first, t, &err), *tsin = td_tensor_slice (sin_all, 0, first, t, &err);
  g_assert_nonnull (tcos);
  g_assert_nonnull (tsin);

  float eps = 1e-6f;
  double *ref = g_new (double, n), *normed = g_new (double, d);
  for (int64_t row = 0; row < n / d; row++)
    {
      const float *xr = x + row * d;
      double squares = 0;
      for (int64_t i = 0; i < d; i++)
        squares += (double) xr[i] * xr[i];
      double inv = 1 / sqrt (squares / d + eps);
      for (int64_t i = 0; i < d; i++)
        normed[i] = xr[i] * inv * (with_w ? w[i] : 1.0);
      int64_t pos = first + (row / h) % t;
      for (int64_t i = 0; i < d; i++)
        ref[row * d + i] = normed[i];
      for (int64_t i = 0; i < half; i++)
        {
          int64_t ia = mode == TD_ROPE_INTERLEAVED ? 2 * i : i, ib = mode == TD_ROPE_INTERLEAVED ? 2 * i + 1 : i + half;
          double c = cos_v[pos * half + i], s = sin_v[pos * half + i];
          ref[row * d + ia] = normed[ia] * c - normed[ib] * s;
          ref[row * d + ib] = normed[ib] * c + normed[ia] * s;
        }
    }
  vk_guarded g = vk_guarded_new (b, TD_F32, 4, xs);
  td_op op = { .type = TD_OP_RMS_NORM_ROPE, .src = { tx, tw, tcos, tsin }, .p.rope_norm = { eps, mode } };
  char what[96];
  g_snprintf (what, sizeof what, "rms_norm_rope mode %d D=%lld R=%lld weight %s", (int) mode, (long long) d,
              (long long) rotary, with_w ? td_dtype_name (wdtype) : "none");
  op_check (&op, &g, ref, TOL_F32, what);
  vk_guarded_free (&g);
  td_tensor_free (tx);
  td_tensor_free (tw);
  td_tensor_free (tcos);
  td_tensor_free (tsin);
  td_tensor_free (cos_all);
  td_tensor_free (sin_all);
  g_free (x);
  g_free (w);
  g_free (angles);
  g_free (cos_v);
  g_free (sin_v);
  g_free (ref);
  g_free (normed);
}

static void
test_rms_norm_rope (void)
{
  check_rms_norm_rope (TD_ROPE_HALF_SPLIT, TD_F32, true, 2, 5, 3, 22, 16, 0);
  check_rms_norm_rope (TD_ROPE_INTERLEAVED, TD_BF16, true, 1, 9, 4, 128, 128, 3);
  check_rms_norm_rope (TD_ROPE_INTERLEAVED, TD_F16, true, 1, 7, 5, 70, 54, 1);
  check_rms_norm_rope (TD_ROPE_HALF_SPLIT, TD_F32, false, 3, 3, 2, 10, 10, 4);
}

/* A weight [n, k] of `dtype` with random contents; *values gets what it decodes to. */
static td_tensor *
random_weight (td_backend *b, td_dtype dtype, int64_t n, int64_t k, GRand *rng, float **values)
{
  int64_t shape[2] = { n, k };
  *values = g_new (float, n * k);
  if (!td_dtype_is_quantized (dtype))
    {
      vk_random_fill (*values, n * k, -1, 1);
      vk_round_to_dtype (*values, n * k, dtype);
      return vk_tensor_from (b, dtype, 2, shape, *values);
    }
  size_t bytes;
  guint8 *raw = quant_test_random_weights (dtype, n * k, rng, &bytes);
  td_convert_to_f32 (*values, raw, dtype, (size_t) (n * k));
  td_error err;
  td_tensor *t = td_tensor_new (b, dtype, 2, shape, &err);
  g_assert_nonnull (t);
  g_assert_cmpint (td_tensor_upload (t, raw, bytes, &err), ==, TD_OK);
  g_free (raw);
  return t;
}

/* y [B, T, H, D] = rope (rms_norm? (x [B, T, K] · w [H·D, K]ᵀ + bias)), the norm weight
 * of norm_dtype (TD_DTYPE_COUNT: none), with tables
 * [first + T + 1, R/2] of which rows [first, first + T) are used. */
static void
check_matmul_norm_rope (td_rope_mode mode, td_dtype wdtype, bool normalise, td_dtype norm_dtype, int64_t batch,
                        int64_t t, int64_t k, int64_t heads, int64_t d, int64_t rotary, int64_t first)
{
  td_backend *b = vk_test_backend ();
  GRand *rng = g_rand_new_with_seed ((guint32) (t * 7919 + k * 31 + d));
  int64_t m = batch * t, n = heads * d, half = rotary / 2, table_rows = first + t + 1;
  int64_t xs[3] = { batch, t, k }, bs[1] = { n }, ns[1] = { d }, ts[2] = { table_rows, half };
  int64_t ys[4] = { batch, t, heads, d };
  float *w;
  td_tensor *tw = random_weight (b, wdtype, n, k, rng, &w);
  float *x = random_values (m * k, -1, 1, TD_F32), *bias = random_values (n, -1, 1, TD_F32);
  float *norm = random_values (d, 0.5, 1.5, norm_dtype == TD_DTYPE_COUNT ? TD_F32 : norm_dtype);
  float *angles = random_values (table_rows * half, -3, 3, TD_F32);
  float *cos_v = g_new (float, table_rows * half), *sin_v = g_new (float, table_rows * half);
  for (int64_t i = 0; i < table_rows * half; i++)
    {
      cos_v[i] = cosf (angles[i]);
      sin_v[i] = sinf (angles[i]);
    }
  bool with_norm_w = normalise && norm_dtype != TD_DTYPE_COUNT;
  td_tensor *tx = vk_tensor_from (b, TD_F32, 3, xs, x), *tb = vk_tensor_from (b, TD_F32, 1, bs, bias);
  td_tensor *tn = with_norm_w ? vk_tensor_from (b, norm_dtype, 1, ns, norm) : NULL;
  td_tensor *cos_all = vk_tensor_from (b, TD_F32, 2, ts, cos_v), *sin_all = vk_tensor_from (b, TD_F32, 2, ts, sin_v);
  td_error err = { 0 };
  td_tensor *tcos = td_tensor_slice (cos_all, 0, first, t, &err), *tsin = td_tensor_slice (sin_all, 0, first, t, &err);
  g_assert_nonnull (tcos);
  g_assert_nonnull (tsin);

  float eps = 1e-6f;
  double *ref = g_new (double, m * n), *head = g_new (double, d);
  for (int64_t row = 0; row < m; row++)
    for (int64_t h = 0; h < heads; h++)
      {
        double squares = 0;
        for (int64_t i = 0; i < d; i++)
          {
            double s = bias[h * d + i];
            for (int64_t c = 0; c < k; c++)
              s += (double) x[row * k + c] * w[(h * d + i) * k + c];
            head[i] = s;
            squares += s * s;
          }
        double inv = normalise ? 1 / sqrt (squares / d + eps) : 1;
        for (int64_t i = 0; i < d; i++)
          head[i] *= inv * (with_norm_w ? norm[i] : 1.0);
        double *out = ref + row * n + h * d;
        memcpy (out, head, sizeof (double) * (size_t) d);
        int64_t pos = first + row % t;
        for (int64_t i = 0; i < half; i++)
          {
            int64_t ia = mode == TD_ROPE_INTERLEAVED ? 2 * i : i, ib = mode == TD_ROPE_INTERLEAVED ? 2 * i + 1 : i + half;
            double c = cos_v[pos * half + i], s = sin_v[pos * half + i];
            out[ia] = head[ia] * c - head[ib] * s;
            out[ib] = head[ib] * c + head[ia] * s;
          }
      }
  vk_guarded g = vk_guarded_new (b, TD_F32, 4, ys);
  td_op op = { .type = TD_OP_MATMUL_NORM_ROPE, .src = { tx, tw, tb, tn, tcos, tsin },
               .p.matmul_rope = { eps, mode, normalise } };
  char variant[64], what[160];
  const td_vulkan_device_info *dev = td_vulkan_backend_device (b);
  td_vk_matmul_path path = td_vk_matmul_kernel (variant, sizeof variant, m, dev->coopmat_enabled,
                                                dev->coopmat_emulated, wdtype, dev->storage_16bit);
  g_snprintf (what, sizeof what, "matmul_norm_rope %s (%s_rope) mode %d M=%lld K=%lld H=%lld D=%lld R=%lld norm %s",
              td_dtype_name (wdtype), variant, (int) mode, (long long) m, (long long) k, (long long) heads,
              (long long) d, (long long) rotary,
              !normalise ? "off" : with_norm_w ? td_dtype_name (norm_dtype) : "no weight");
  /* Cooperative matrices round x (scaled per row) to f16: 11 significant bits. */
  op_check (&op, &g, ref, path == TD_VK_MATMUL_COOPMAT ? 3e-3 : TOL_F32, what);
  vk_guarded_free (&g);
  td_tensor *all[] = { tx, tw, tb, tn, tcos, tsin, cos_all, sin_all };
  for (size_t i = 0; i < G_N_ELEMENTS (all); i++)
    td_tensor_free (all[i]);
  g_free (x);
  g_free (w);
  g_free (bias);
  g_free (norm);
  g_free (angles);
  g_free (cos_v);
  g_free (sin_v);
  g_free (ref);
  g_free (head);
  g_rand_free (rng);
}

/* FLUX (interleaved pairs, normed, D 128) and Qwen2-VL (half split, D 128, one-row
 * decode) shapes, other head sizes, partial rotation, several heads, M off the tile,
 * on the GEMV path (M ≤ 4) and the tiled or cooperative-matrix one. */
static void
test_matmul_norm_rope (void)
{
  check_matmul_norm_rope (TD_ROPE_INTERLEAVED, TD_BF16, true, TD_BF16, 1, 67, 129, 3, 128, 128, 5);
  check_matmul_norm_rope (TD_ROPE_INTERLEAVED, TD_F32, true, TD_F32, 1, 3, 100, 2, 128, 128, 0);
  check_matmul_norm_rope (TD_ROPE_HALF_SPLIT, TD_F16, false, TD_DTYPE_COUNT, 2, 37, 70, 2, 64, 64, 2);
  check_matmul_norm_rope (TD_ROPE_HALF_SPLIT, TD_F32, false, TD_DTYPE_COUNT, 1, 1, 65, 5, 128, 128, 9);
  check_matmul_norm_rope (TD_ROPE_HALF_SPLIT, TD_Q8_0, false, TD_DTYPE_COUNT, 1, 70, 64, 2, 128, 128, 1);
  check_matmul_norm_rope (TD_ROPE_HALF_SPLIT, TD_Q8_0, false, TD_DTYPE_COUNT, 1, 1, 96, 3, 128, 128, 4);
  check_matmul_norm_rope (TD_ROPE_INTERLEAVED, TD_Q4_K, true, TD_F16, 1, 5, 256, 2, 128, 128, 0);
  check_matmul_norm_rope (TD_ROPE_HALF_SPLIT, TD_Q4_K, false, TD_DTYPE_COUNT, 1, 2, 256, 3, 64, 64, 3);
  check_matmul_norm_rope (TD_ROPE_HALF_SPLIT, TD_F32, true, TD_DTYPE_COUNT, 1, 66, 33, 2, 96, 64, 0);
  check_matmul_norm_rope (TD_ROPE_INTERLEAVED, TD_F16, true, TD_F32, 1, 2, 40, 2, 256, 200, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  vk_test_backend ();
  g_test_add_func ("/vulkan/fusions/matmul-epilogue", test_matmul_epilogue);
  g_test_add_func ("/vulkan/fusions/matmul-epilogue-then-plain", test_matmul_epilogue_then_plain);
  g_test_add_func ("/vulkan/fusions/ada-layer-norm", test_ada_layer_norm);
  g_test_add_func ("/vulkan/fusions/rms-norm-rope", test_rms_norm_rope);
  g_test_add_func ("/vulkan/fusions/matmul-norm-rope", test_matmul_norm_rope);
  int result = g_test_run ();
  td_backend_free (vk_test_backend ());
  return result;
}
