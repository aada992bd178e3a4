/* Dense ops on the Vulkan backend against double-precision references (and the
 * CPU backend where its kernels exist), on odd sizes that are not multiples of
 * the shaders' tiles, with guard sentinels around every output. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "op-check.h"
#include "backend/ops.h"
#include "backend/vulkan/vulkan_matmul.h"
#include "core/dtype.h"
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

/* y[b, M, N] = x[b, M, K] · w[b or shared][N, K]ᵀ + bias */
static void
check_matmul (td_dtype wdtype, td_dtype bias_dtype, bool with_bias, int batch, bool batched_w, int64_t m, int64_t k,
              int64_t n)
{
  td_backend *b = vk_test_backend ();
  int64_t xs[3] = { batch, m, k }, ws[3] = { batch, n, k }, bs[1] = { n }, ys[3] = { batch, m, n };
  float *x = random_values (batch * m * k, -1, 1, TD_F32);
  int64_t wcount = (batched_w ? batch : 1) * n * k;
  float *w = random_values (wcount, -1, 1, wdtype);
  float *bias = random_values (n, -1, 1, bias_dtype);
  td_tensor *tx = vk_tensor_from (b, TD_F32, 3, xs, x);
  td_tensor *tw = batched_w ? vk_tensor_from (b, wdtype, 3, ws, w) : vk_tensor_from (b, wdtype, 2, ws + 1, w);
  td_tensor *tb = with_bias ? vk_tensor_from (b, bias_dtype, 1, bs, bias) : NULL;
  vk_guarded g = vk_guarded_new (b, TD_F32, 3, ys);
  double *ref = g_new (double, batch * m * n);
  for (int z = 0; z < batch; z++)
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++)
        {
          double s = with_bias ? bias[j] : 0;
          const float *wrow = w + (batched_w ? z * n * k : 0) + j * k;
          for (int64_t c = 0; c < k; c++)
            s += (double) x[(z * m + i) * k + c] * wrow[c];
          ref[(z * m + i) * n + j] = s;
        }
  td_op op = { .type = TD_OP_MATMUL, .src = { tx, tw, tb } };
  char what[96];
  g_snprintf (what, sizeof what, "matmul %s w%s bias %s", td_dtype_name (wdtype), batched_w ? " batched" : "",
              with_bias ? td_dtype_name (bias_dtype) : "none");
  /* On cooperative matrices (real where offered, or TD_VULKAN_EMULATE_COOPMAT=1),
   * weights other than f32 meet activations rounded to f16 above GEMV's rows. */
  const td_vulkan_device_info *dev = td_vulkan_backend_device (b);
  bool coopmat = (dev->coopmat_enabled || dev->coopmat_emulated) && dev->storage_16bit && wdtype != TD_F32
                 && m > TD_VK_GEMV_MAX_M;
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

static void
test_matmul (void)
{
  check_matmul (TD_F32, TD_F32, true, 1, false, 67, 129, 33);
  check_matmul (TD_F16, TD_F32, true, 2, false, 67, 129, 33);
  check_matmul (TD_BF16, TD_BF16, true, 1, false, 67, 129, 33);
  check_matmul (TD_BF16, TD_F32, false, 1, false, 130, 70, 65);
  check_matmul (TD_F32, TD_F32, false, 3, true, 5, 37, 19);
  check_matmul (TD_BF16, TD_F16, true, 3, true, 17, 9, 70);
}

static void
check_binary (td_op_type type, int nd_a, const int64_t *sa, int nd_b, const int64_t *sb, bool in_place)
{
  td_backend *b = vk_test_backend ();
  int64_t na = 1, nb = 1;
  for (int i = 0; i < nd_a; i++)
    na *= sa[i];
  for (int i = 0; i < nd_b; i++)
    nb *= sb[i];
  float *a = random_values (na, -2, 2, TD_F32), *bv = random_values (nb, -2, 2, TD_F32);
  double *ref = g_new (double, na);
  for (int64_t i = 0; i < na; i++)
    {
      /* Index of b by right-aligned broadcasting. */
      int64_t rest = i, bi = 0, stride = 1;
      for (int d = 0; d < nd_a; d++)
        {
          int ad = nd_a - 1 - d, bd = nd_b - 1 - d;
          int64_t coord = rest % sa[ad];
          rest /= sa[ad];
          if (bd >= 0)
            {
              if (sb[bd] != 1)
                bi += coord * stride;
              stride *= sb[bd];
            }
        }
      ref[i] = type == TD_OP_ADD ? (double) a[i] + bv[bi] : (double) a[i] * bv[bi];
    }
  vk_guarded g = vk_guarded_new (b, TD_F32, nd_a, sa);
  td_tensor *tb = vk_tensor_from (b, TD_F32, nd_b, sb, bv);
  td_tensor *ta = NULL;
  td_error err;
  if (in_place)
    g_assert_cmpint (td_tensor_upload (g.t, a, na * sizeof (float), &err), ==, TD_OK);
  else
    ta = vk_tensor_from (b, TD_F32, nd_a, sa, a);
  td_op op = { .type = type, .src = { in_place ? g.t : ta, tb } };
  op_check (&op, &g, ref, TOL_F32, type == TD_OP_ADD ? "add" : "mul");
  vk_guarded_free (&g);
  td_tensor_free (ta);
  td_tensor_free (tb);
  g_free (a);
  g_free (bv);
  g_free (ref);
}

static void
test_binary (void)
{
  int64_t a4[4] = { 2, 3, 5, 7 }, b1[2] = { 5, 1 }, b2[1] = { 7 }, b3[3] = { 3, 1, 7 };
  check_binary (TD_OP_ADD, 4, a4, 4, a4, false);
  check_binary (TD_OP_ADD, 4, a4, 2, b1, false);
  check_binary (TD_OP_MUL, 4, a4, 1, b2, true);
  check_binary (TD_OP_MUL, 4, a4, 3, b3, false);
}

static double
unary_ref (td_unary_kind kind, double x)
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

static void
test_unary_scale (void)
{
  td_backend *b = vk_test_backend ();
  int64_t shape[2] = { 13, 77 }, n = 13 * 77;
  float *x = random_values (n, -6, 6, TD_F32);
  td_tensor *tx = vk_tensor_from (b, TD_F32, 2, shape, x);
  double *ref = g_new (double, n);
  for (int kind = 0; kind < TD_UNARY_COUNT; kind++)
    {
      for (int64_t i = 0; i < n; i++)
        ref[i] = unary_ref (kind, x[i]);
      vk_guarded g = vk_guarded_new (b, TD_F32, 2, shape);
      td_op op = { .type = TD_OP_UNARY, .src = { tx }, .p.unary.kind = kind };
      char what[32];
      g_snprintf (what, sizeof what, "unary kind %d", kind);
      op_check (&op, &g, ref, TOL_F32, what);
      vk_guarded_free (&g);
    }
  for (int64_t i = 0; i < n; i++)
    ref[i] = (double) x[i] * 0.37 - 1.25;
  vk_guarded g = vk_guarded_new (b, TD_F32, 2, shape);
  td_op op = { .type = TD_OP_SCALE, .src = { tx }, .p.scale = { 0.37f, -1.25f } };
  op_check (&op, &g, ref, TOL_F32, "scale");
  vk_guarded_free (&g);
  td_tensor_free (tx);
  g_free (x);
  g_free (ref);
}

static void
check_row_norm (td_op_type type, td_dtype wdtype, bool with_w, bool with_b, int64_t rows, int64_t cols)
{
  td_backend *b = vk_test_backend ();
  int64_t shape[2] = { rows, cols }, ps[1] = { cols };
  float *x = random_values (rows * cols, -3, 5, TD_F32);
  float *w = random_values (cols, 0.5, 1.5, wdtype), *bias = random_values (cols, -1, 1, wdtype);
  td_tensor *tx = vk_tensor_from (b, TD_F32, 2, shape, x);
  td_tensor *tw = with_w ? vk_tensor_from (b, wdtype, 1, ps, w) : NULL;
  td_tensor *tb = with_b ? vk_tensor_from (b, wdtype, 1, ps, bias) : NULL;
  double *ref = g_new (double, rows * cols);
  float eps = 1e-5f;
  for (int64_t r = 0; r < rows; r++)
    {
      const float *row = x + r * cols;
      double mean = 0, var = 0;
      if (type == TD_OP_LAYER_NORM)
        {
          for (int64_t c = 0; c < cols; c++)
            mean += row[c];
          mean /= cols;
        }
      for (int64_t c = 0; c < cols; c++)
        var += (row[c] - mean) * (row[c] - mean);
      double inv = 1 / sqrt (var / cols + eps);
      for (int64_t c = 0; c < cols; c++)
        ref[r * cols + c] = (row[c] - mean) * inv * (with_w ? w[c] : 1) + (with_b ? bias[c] : 0);
    }
  vk_guarded g = vk_guarded_new (b, TD_F32, 2, shape);
  td_op op = { .type = type, .src = { tx, tw, tb }, .p.norm.eps = eps };
  op_check (&op, &g, ref, TOL_F32, type == TD_OP_LAYER_NORM ? "layer_norm" : "rms_norm");
  vk_guarded_free (&g);
  td_tensor_free (tx);
  td_tensor_free (tw);
  td_tensor_free (tb);
  g_free (x);
  g_free (w);
  g_free (bias);
  g_free (ref);
}

static void
test_norms (void)
{
  check_row_norm (TD_OP_LAYER_NORM, TD_F32, true, true, 7, 301);
  check_row_norm (TD_OP_LAYER_NORM, TD_BF16, true, true, 5, 1000);
  check_row_norm (TD_OP_LAYER_NORM, TD_F32, false, false, 3, 33);
  check_row_norm (TD_OP_RMS_NORM, TD_F16, true, false, 9, 129);
  check_row_norm (TD_OP_RMS_NORM, TD_F32, false, false, 4, 513);
}

static void
test_group_norm (void)
{
  td_backend *b = vk_test_backend ();
  int64_t bsz = 2, c = 6, h = 5, w = 7, groups = 3;
  int64_t shape[4] = { bsz, c, h, w }, ps[1] = { c }, n = bsz * c * h * w;
  float *x = random_values (n, -2, 4, TD_F32);
  float *gw = random_values (c, 0.5, 1.5, TD_BF16), *gb = random_values (c, -1, 1, TD_BF16);
  td_tensor *tx = vk_tensor_from (b, TD_F32, 4, shape, x);
  td_tensor *tw = vk_tensor_from (b, TD_BF16, 1, ps, gw), *tb = vk_tensor_from (b, TD_BF16, 1, ps, gb);
  double *ref = g_new (double, n);
  int64_t per = (c / groups) * h * w;
  for (int64_t bg = 0; bg < bsz * groups; bg++)
    {
      const float *v = x + bg * per;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < per; i++)
        mean += v[i];
      mean /= per;
      for (int64_t i = 0; i < per; i++)
        var += (v[i] - mean) * (v[i] - mean);
      double inv = 1 / sqrt (var / per + 1e-6);
      for (int64_t i = 0; i < per; i++)
        {
          int64_t ch = (bg % groups) * (c / groups) + i / (h * w);
          ref[bg * per + i] = (v[i] - mean) * inv * gw[ch] + gb[ch];
        }
    }
  vk_guarded g = vk_guarded_new (b, TD_F32, 4, shape);
  td_op op = { .type = TD_OP_GROUP_NORM, .src = { tx, tw, tb }, .p.norm = { .eps = 1e-6f, .groups = (int) groups } };
  op_check (&op, &g, ref, TOL_F32, "group_norm");
  vk_guarded_free (&g);
  td_tensor_free (tx);
  td_tensor_free (tw);
  td_tensor_free (tb);
  g_free (x);
  g_free (gw);
  g_free (gb);
  g_free (ref);
}

static void
test_softmax (void)
{
  td_backend *b = vk_test_backend ();
  int64_t rows = 13, cols = 301, shape[2] = { rows, cols };
  float *x = random_values (rows * cols, -5, 5, TD_F32);
  x[3] = -INFINITY; /* a masked entry */
  td_tensor *tx = vk_tensor_from (b, TD_F32, 2, shape, x);
  double *ref = g_new (double, rows * cols);
  double scale = 0.7;
  for (int64_t r = 0; r < rows; r++)
    {
      double m = -INFINITY, s = 0;
      for (int64_t c = 0; c < cols; c++)
        m = fmax (m, x[r * cols + c] * scale);
      for (int64_t c = 0; c < cols; c++)
        s += exp (x[r * cols + c] * scale - m);
      for (int64_t c = 0; c < cols; c++)
        ref[r * cols + c] = exp (x[r * cols + c] * scale - m) / s;
    }
  vk_guarded g = vk_guarded_new (b, TD_F32, 2, shape);
  td_op op = { .type = TD_OP_SOFTMAX, .src = { tx }, .p.softmax.scale = (float) scale };
  op_check (&op, &g, ref, TOL_F32, "softmax");
  vk_guarded_free (&g);
  td_tensor_free (tx);
  g_free (x);
  g_free (ref);
}

static void
test_embedding (void)
{
  td_backend *b = vk_test_backend ();
  int64_t vocab = 53, dim = 37, ts[2] = { vocab, dim }, is[2] = { 3, 5 }, ys[3] = { 3, 5, dim };
  float *table = random_values (vocab * dim, -1, 1, TD_BF16);
  int32_t ids[15];
  for (int i = 0; i < 15; i++)
    ids[i] = (i * 17 + 3) % (int) vocab;
  td_tensor *tt = vk_tensor_from (b, TD_BF16, 2, ts, table);
  td_tensor *ti = vk_tensor_i32 (b, 2, is, ids);
  double *ref = g_new (double, 15 * dim);
  for (int i = 0; i < 15; i++)
    for (int64_t c = 0; c < dim; c++)
      ref[i * dim + c] = table[ids[i] * dim + c];
  vk_guarded g = vk_guarded_new (b, TD_F32, 3, ys);
  td_op op = { .type = TD_OP_EMBEDDING, .src = { ti, tt } };
  op_check (&op, &g, ref, 0, "embedding bf16");
  vk_guarded_free (&g);
  td_tensor_free (tt);
  td_tensor_free (ti);
  g_free (table);
  g_free (ref);
}

/* 16-bit tensors move as halves of 32-bit words without 16-bit storage; the
 * guards (an odd number of elements) share words with the output's ends. */
static void
check_concat (int dim, td_dtype dtype)
{
  td_backend *b = vk_test_backend ();
  int64_t sa[3] = { 3, 4, 5 }, sb[3] = { 3, 4, 5 };
  sb[dim] = 2;
  int64_t sy[3] = { 3, 4, 5 };
  sy[dim] = sa[dim] + sb[dim];
  int64_t na = 60, nb = sb[0] * sb[1] * sb[2], ny = na + nb;
  float *a = random_values (na, -1, 1, dtype), *bv = random_values (nb, -1, 1, dtype);
  td_tensor *ta = vk_tensor_from (b, dtype, 3, sa, a), *tb = vk_tensor_from (b, dtype, 3, sb, bv);
  double *ref = g_new (double, ny);
  for (int64_t i = 0; i < ny; i++)
    {
      int64_t c[3] = { i / (sy[1] * sy[2]), i / sy[2] % sy[1], i % sy[2] };
      if (c[dim] < sa[dim])
        ref[i] = a[(c[0] * sa[1] + c[1]) * sa[2] + c[2]];
      else
        {
          c[dim] -= sa[dim];
          ref[i] = bv[(c[0] * sb[1] + c[1]) * sb[2] + c[2]];
        }
    }
  vk_guarded g = vk_guarded_new (b, dtype, 3, sy);
  td_op op = { .type = TD_OP_CONCAT, .src = { ta, tb }, .p.concat.dim = dim };
  char what[64];
  g_snprintf (what, sizeof what, "concat %s on dim %d", td_dtype_name (dtype), dim);
  op_check (&op, &g, ref, 0, what);
  vk_guarded_free (&g);
  td_tensor_free (ta);
  td_tensor_free (tb);
  g_free (a);
  g_free (bv);
  g_free (ref);
}

/* A table of every ggml block type read as stored: odd vocab, odd id count, rows of
 * an odd number of blocks; the reference is the CPU decoder run over the whole table. */
static void
test_embedding_quantized (void)
{
  td_backend *b = vk_test_backend ();
  GRand *rng = g_rand_new_with_seed (13);
  const int64_t vocab = 23, is[2] = { 3, 7 }, n_ids = 21;
  int32_t ids[21];
  for (int i = 0; i < n_ids; i++)
    ids[i] = (i * 5 + 22) % (int) vocab; /* 22, 4, 9, …: the last row, row 0 and repeats */
  for (size_t f = 0; f < G_N_ELEMENTS (quant_test_formats); f++)
    {
      td_dtype dtype = quant_test_formats[f];
      if (!td_dtype_is_quantized (dtype))
        continue;
      for (int64_t blocks = 1; blocks <= 3; blocks += 2)
        {
          int64_t dim = blocks * td_dtype_block_elems (dtype), ts[2] = { vocab, dim }, ys[3] = { 3, 7, dim };
          size_t bytes;
          guint8 *raw = quant_test_random_weights (dtype, vocab * dim, rng, &bytes);
          float *table = g_new (float, vocab * dim);
          td_convert_to_f32 (table, raw, dtype, (size_t) (vocab * dim));
          td_error err = { 0 };
          td_tensor *tt = td_tensor_new (b, dtype, 2, ts, &err);
          g_assert_nonnull (tt);
          g_assert_cmpint (td_tensor_upload (tt, raw, bytes, &err), ==, TD_OK);
          td_tensor *ti = vk_tensor_i32 (b, 2, is, ids);
          double *ref = g_new (double, n_ids * dim);
          for (int64_t i = 0; i < n_ids; i++)
            for (int64_t c = 0; c < dim; c++)
              ref[i * dim + c] = table[ids[i] * dim + c];
          char what[64];
          g_snprintf (what, sizeof what, "embedding %s D %lld", td_dtype_name (dtype), (long long) dim);
          vk_guarded g = vk_guarded_new (b, TD_F32, 3, ys);
          td_op op = { .type = TD_OP_EMBEDDING, .src = { ti, tt } };
          op_check (&op, &g, ref, 0, what); /* the same float32 evaluation as the CPU decoder */
          vk_guarded_free (&g);
          td_tensor_free (tt);
          td_tensor_free (ti);
          g_free (raw);
          g_free (table);
          g_free (ref);
        }
    }
  g_rand_free (rng);
}

static void
test_concat (void)
{
  td_dtype types[3] = { TD_F32, TD_F16, TD_BF16 };
  for (int i = 0; i < 3; i++)
    for (int dim = 0; dim < 3; dim++)
      check_concat (dim, types[i]);
}

/* A permuted and sliced view of [3, 5, 7] copied into a contiguous tensor of `to`. */
static void
check_copy (td_dtype from, td_dtype to)
{
  td_backend *b = vk_test_backend ();
  td_error err;
  int64_t shape[3] = { 3, 5, 7 };
  float *x = random_values (105, -3, 3, from);
  td_tensor *tx = vk_tensor_from (b, from, 3, shape, x);
  int perm[3] = { 2, 0, 1 };
  td_tensor *permuted = td_tensor_permute (tx, perm, &err);
  td_tensor *view = td_tensor_slice (permuted, 2, 1, 3, &err); /* [7, 3, 3] */
  int64_t ys[3] = { 7, 3, 3 };
  double *ref = g_new (double, 63);
  for (int i = 0; i < 7; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 3; k++)
        {
          float v = x[(j * 5 + (k + 1)) * 7 + i];
          vk_round_to_dtype (&v, 1, to);
          ref[(i * 3 + j) * 3 + k] = v;
        }
  vk_guarded g = vk_guarded_new (b, to, 3, ys);
  td_op op = { .type = TD_OP_COPY, .src = { view } };
  char what[64];
  g_snprintf (what, sizeof what, "copy %s -> %s", td_dtype_name (from), td_dtype_name (to));
  op_check (&op, &g, ref, 0, what);
  vk_guarded_free (&g);
  td_tensor_free (view);
  td_tensor_free (permuted);
  td_tensor_free (tx);
  g_free (x);
  g_free (ref);
}

static void
test_copy (void)
{
  td_dtype types[3] = { TD_F32, TD_F16, TD_BF16 };
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++)
      check_copy (types[i], types[j]);
}

/* f32 → f16 saturates as on the CPU: a transposed view of [37, 3] (odd sizes) holding
 * values up to ±2e5, ±inf and NaN gives the same 16-bit patterns on both backends,
 * every one finite but the NaNs. */
static void
test_copy_f16_saturates (void)
{
  td_backend *b = vk_test_backend ();
  td_backend *cpu = td_backend_cpu_new (NULL);
  td_error err = { 0 };
  enum { ROWS = 37, COLS = 3, N = ROWS * COLS };
  float x[N];
  vk_random_fill (x, N, -2e5f, 2e5f);
  x[5] = INFINITY;
  x[17] = -INFINITY;
  x[29] = NAN;
  x[40] = 65504.0f;
  x[41] = 65519.0f;
  x[42] = -65520.0f;
  const int64_t shape[2] = { ROWS, COLS }, view_shape[2] = { COLS, ROWS };
  const int perm[2] = { 1, 0 };
  uint16_t got[2][N];
  td_backend *backends[2] = { b, cpu };
  for (int k = 0; k < 2; k++)
    {
      td_tensor *tx = k == 0 ? vk_tensor_from (b, TD_F32, 2, shape, x) : td_tensor_new (cpu, TD_F32, 2, shape, &err);
      if (k == 1)
        g_assert_cmpint (td_tensor_upload (tx, x, sizeof x, &err), ==, TD_OK);
      td_tensor *view = td_tensor_permute (tx, perm, &err);
      td_tensor *y = td_tensor_new (backends[k], TD_F16, 2, view_shape, &err);
      g_assert_cmpint (td_copy (backends[k], y, view, &err), ==, TD_OK);
      g_assert_cmpint (td_backend_sync (backends[k], &err), ==, TD_OK);
      g_assert_cmpint (td_tensor_download (y, got[k], sizeof got[k], &err), ==, TD_OK);
      td_tensor_free (y);
      td_tensor_free (view);
      td_tensor_free (tx);
    }
  int saturated = 0;
  for (int c = 0; c < COLS; c++)
    for (int r = 0; r < ROWS; r++)
      {
        const int i = c * ROWS + r;
        const float source = x[r * COLS + c], v = td_f16_to_f32 (got[0][i]);
        g_assert_cmphex (got[0][i], ==, got[1][i]);
        g_assert_cmphex (got[0][i], ==, td_f32_to_f16_saturate (source));
        g_assert_true (isnan (source) ? isnan (v) : isfinite (v));
        saturated += fabsf (source) > 65504.0f;
      }
  g_assert_cmpint (saturated, >, N / 2);
  td_backend_free (cpu);
}

static void
test_argmax (void)
{
  td_backend *b = vk_test_backend ();
  int64_t rows = 5, cols = 1001, shape[2] = { rows, cols }, ys[1] = { rows };
  float *x = random_values (rows * cols, -4, 4, TD_F32);
  x[0 * cols + 700] = 9;
  x[0 * cols + 300] = 9;            /* tie: the first wins */
  x[1 * cols + 5] = NAN;            /* NaN counts as the largest */
  x[1 * cols + 1000] = 100;
  for (int64_t c = 0; c < cols; c++)
    x[2 * cols + c] = -1;           /* all equal: index 0 */
  x[3 * cols + 1000] = 50;          /* the very last */
  td_tensor *tx = vk_tensor_from (b, TD_F32, 2, shape, x);
  double ref[5];
  for (int64_t r = 0; r < rows; r++)
    {
      int64_t best = 0;
      for (int64_t c = 1; c < cols && !isnan (x[r * cols + best]); c++)
        if (x[r * cols + c] > x[r * cols + best] || isnan (x[r * cols + c]))
          best = c;
      ref[r] = (double) best;
    }
  g_assert_cmpfloat (ref[0], ==, 300);
  g_assert_cmpfloat (ref[1], ==, 5);
  vk_guarded g = vk_guarded_new (b, TD_I32, 1, ys);
  td_op op = { .type = TD_OP_ARGMAX, .src = { tx } };
  op_check (&op, &g, ref, 0, "argmax");
  vk_guarded_free (&g);
  td_tensor_free (tx);
  g_free (x);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  vk_test_backend ();
  g_test_add_func ("/vulkan/ops/matmul", test_matmul);
  g_test_add_func ("/vulkan/ops/binary", test_binary);
  g_test_add_func ("/vulkan/ops/unary-scale", test_unary_scale);
  g_test_add_func ("/vulkan/ops/norms", test_norms);
  g_test_add_func ("/vulkan/ops/group-norm", test_group_norm);
  g_test_add_func ("/vulkan/ops/softmax", test_softmax);
  g_test_add_func ("/vulkan/ops/embedding", test_embedding);
  g_test_add_func ("/vulkan/ops/embedding-quantized", test_embedding_quantized);
  g_test_add_func ("/vulkan/ops/concat", test_concat);
  g_test_add_func ("/vulkan/ops/copy", test_copy);
  g_test_add_func ("/vulkan/ops/copy-f16-saturates", test_copy_f16_saturates);
  g_test_add_func ("/vulkan/ops/argmax", test_argmax);
  int result = g_test_run ();
  td_backend_free (vk_test_backend ());
  return result;
}
