/* The matmul family on Vulkan: every weight format × path (GEMV for M ≤ 4, with
 * both reductions and split-K,
 * tiled GEMM above, on cooperative matrices, real or emulated, where the device
 * runs them) against a double loop over the CPU decoder's values and
 * against the CPU backend, on odd sizes with guard sentinels around y. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "op-check.h"
#include "backend/vulkan/vulkan_coopmat.h"
#include "backend/vulkan/vulkan_internal.h"
#include "backend/vulkan/vulkan_matmul.h"
#include "backend/vulkan/vulkan_shaders.h"
#include "../ops/quant-test-util.h"

static td_tensor *
raw_tensor (td_backend *b, td_dtype dtype, int ndim, const int64_t *shape, const void *raw, size_t bytes)
{
  td_error err = { 0 };
  td_tensor *t = td_tensor_new (b, dtype, ndim, shape, &err);
  g_assert_nonnull (t);
  g_assert_cmpint (td_tensor_upload (t, raw, bytes, &err), ==, TD_OK);
  return t;
}

#define NO_ACTIVATION (-1)

static double
activation_ref (int kind, double x)
{
  switch (kind)
    {
    case NO_ACTIVATION: return x;
    case TD_UNARY_SILU: return x / (1 + exp (-x));
    case TD_UNARY_GELU_TANH: return 0.5 * x * (1 + tanh (sqrt (2 / M_PI) * (x + 0.044715 * x * x * x)));
    default: g_assert_not_reached ();
    }
}

/* y[z, M, N] = activation (x[z, M, K] · w[z or shared][N, K]ᵀ + bias) with K = blocks
 * whole blocks; activation a td_unary_kind or NO_ACTIVATION. */
static void
check_pair_activated (td_dtype dtype, int batch, bool batched_w, int64_t m, int64_t n, int64_t blocks, int activation,
                      GRand *rng)
{
  td_backend *b = vk_test_backend ();
  int64_t k = blocks * td_dtype_block_elems (dtype);
  int64_t w_count = (batched_w ? batch : 1) * n * k;
  float *w = g_new (float, w_count), *x = g_new (float, batch * m * k), *bias = g_new (float, n);
  size_t bytes;
  guint8 *raw;
  if (td_dtype_is_quantized (dtype) || dtype == TD_F8_E4M3 || dtype == TD_F8_E5M2)
    raw = quant_test_random_weights (dtype, w_count, rng, &bytes);
  else
    {
      for (int64_t i = 0; i < w_count; i++)
        w[i] = (float) g_rand_double_range (rng, -1, 1);
      td_dtype_nbytes (dtype, w_count, &bytes);
      raw = g_malloc (bytes);
      td_convert_from_f32 (raw, dtype, w, (size_t) w_count);
    }
  td_convert_to_f32 (w, raw, dtype, (size_t) w_count);
  for (int64_t i = 0; i < batch * m * k; i++)
    x[i] = (float) g_rand_double_range (rng, -1, 1);
  for (int64_t i = 0; i < n; i++)
    bias[i] = (float) g_rand_double_range (rng, -1, 1);

  int64_t xs[3] = { batch, m, k }, ws[3] = { batch, n, k }, bs[1] = { n }, ys[3] = { batch, m, n };
  td_tensor *tx = vk_tensor_from (b, TD_F32, 3, xs, x);
  td_tensor *tw = batched_w ? raw_tensor (b, dtype, 3, ws, raw, bytes) : raw_tensor (b, dtype, 2, ws + 1, raw, bytes);
  td_tensor *tb = vk_tensor_from (b, TD_F32, 1, bs, bias);
  vk_guarded g = vk_guarded_new (b, TD_F32, 3, ys);
  double *ref = g_new (double, batch * m * n);
  for (int z = 0; z < batch; z++)
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++)
        {
          double s = bias[j];
          const float *wrow = w + (batched_w ? z * n * k : 0) + j * k;
          for (int64_t c = 0; c < k; c++)
            s += (double) x[(z * m + i) * k + c] * wrow[c];
          ref[(z * m + i) * n + j] = activation_ref (activation, s);
        }

  char variant[64], what[128];
  const td_vulkan_device_info *d = td_vulkan_backend_device (b);
  td_vk_matmul_path path = td_vk_matmul_kernel (variant, sizeof variant, m, d->coopmat_enabled, d->coopmat_emulated,
                                                dtype, d->storage_16bit);
  bool coopmat = (d->coopmat_enabled || d->coopmat_emulated) && d->storage_16bit && dtype != TD_F32;
  g_assert_cmpint (path, ==, m <= TD_VK_GEMV_MAX_M ? TD_VK_MATMUL_GEMV : coopmat ? TD_VK_MATMUL_COOPMAT : TD_VK_MATMUL_GEMM);
  g_snprintf (what, sizeof what, "%s (%s) batch %d%s M %lld N %lld K %lld activation %d", td_dtype_name (dtype),
              variant, batch, batched_w ? " batched w" : "", (long long) m, (long long) n, (long long) k, activation);
  td_op op = { .type = TD_OP_MATMUL, .src = { tx, tw, tb } };
  if (activation != NO_ACTIVATION)
    {
      op.p.matmul.activate = true;
      op.p.matmul.activation = (td_unary_kind) activation;
    }
  /* Cooperative matrices round x (scaled per row) to f16: 11 significant bits. */
  op_check (&op, &g, ref, path == TD_VK_MATMUL_COOPMAT ? 3e-3 : 1e-5, what);
  vk_guarded_free (&g);
  td_tensor_free (tx);
  td_tensor_free (tw);
  td_tensor_free (tb);
  g_free (raw);
  g_free (w);
  g_free (x);
  g_free (bias);
  g_free (ref);
}

static void
check_pair (td_dtype dtype, int batch, bool batched_w, int64_t m, int64_t n, int64_t blocks, GRand *rng)
{
  check_pair_activated (dtype, batch, batched_w, m, n, blocks, NO_ACTIVATION, rng);
}

static void
check_format (td_dtype dtype, GRand *rng)
{
  check_pair (dtype, 1, false, 1, 37, 3, rng);  /* GEMV, one row (decode) */
  check_pair (dtype, 1, false, 3, 5, 2, rng);   /* GEMV, N odd and below a workgroup's rows */
  check_pair (dtype, 2, true, 4, 9, 1, rng);    /* GEMV, batched weights */
  check_pair (dtype, 1, false, 67, 33, 3, rng); /* tiled GEMM, partial tiles */
  check_pair (dtype, 2, true, 5, 65, 1, rng);   /* tiled GEMM, batched weights */
}

/* More weight rows than one grid dimension of GEMV workgroups holds (a
 * vocabulary projection at decode): the grid wraps into y. */
static void
test_gemv_wide (void)
{
  GRand *rng = g_rand_new_with_seed (9);
  check_pair (TD_Q8_0, 1, false, 1, 2 * 65535 + 9, 1, rng);
  g_rand_free (rng);
  vk_test_assert_no_validation_messages ();
}

/* The split-K choice on invented devices and shapes. */
static void
test_gemv_split_choice (void)
{
  /* Qwen2-VL-7B's k/v projections at decode (N 512: 128 row groups) on a 132-unit GPU:
   * three slices reach two workgroups per unit, and K = 3584 allows three. */
  g_assert_cmpuint (td_vk_gemv_splits (512, 3584, 1, 132), ==, 3);
  /* Its q/o projections (896 row groups) fill the device already. */
  g_assert_cmpuint (td_vk_gemv_splits (3584, 3584, 1, 132), ==, 1);
  /* Batches count as workgroups. */
  g_assert_cmpuint (td_vk_gemv_splits (512, 3584, 2, 132), ==, 2);
  g_assert_cmpuint (td_vk_gemv_splits (512, 3584, 4, 132), ==, 1);
  /* K too short to cut (one TD_VK_GEMV_MIN_SPLIT_K slice). */
  g_assert_cmpuint (td_vk_gemv_splits (64, 1500, 1, 132), ==, 1);
  g_assert_cmpuint (td_vk_gemv_splits (64, 2048, 1, 132), ==, 2);
  /* Very few rows over a long K: capped at TD_VK_GEMV_MAX_SPLITS. */
  g_assert_cmpuint (td_vk_gemv_splits (8, 18944, 1, 132), ==, TD_VK_GEMV_MAX_SPLITS);
  /* A small device is filled by the same projection. */
  g_assert_cmpuint (td_vk_gemv_splits (512, 3584, 1, 4), ==, 1);
  g_assert_cmpuint (td_vk_gemv_splits (4, 3584, 1, 4), ==, 3);
  /* Nothing to compute. */
  g_assert_cmpuint (td_vk_gemv_splits (0, 3584, 1, 132), ==, 1);
  g_assert_cmpuint (td_vk_gemv_splits (512, 0, 1, 132), ==, 1);
  g_assert_cmpuint (td_vk_gemv_compute_units ("discrete"), >, td_vk_gemv_compute_units ("integrated"));
  g_assert_cmpuint (td_vk_gemv_compute_units ("integrated"), >, td_vk_gemv_compute_units ("cpu"));
  g_assert_cmpuint (td_vk_gemv_compute_units (NULL), >, 0);
}

/* K for about a thousand elements of `dtype`, +`extra` elements for the plain formats
 * (block formats hold whole blocks): check_pair's blocks. */
static int64_t
gemv_blocks (td_dtype dtype, int64_t extra)
{
  int64_t block = td_dtype_block_elems (dtype);
  return block == 1 ? 1032 + extra : 1100 / block + 1;
}

/* The GEMV with each reduction (subgroup arithmetic where the device has it, the
 * shared-memory tree) and split-K forced off and on (3 slices, ragged), on every
 * format: M = 1 … 8 (5 … 8 on the tiled GEMM), N not a multiple of TD_VK_GEMV_ROWS,
 * K a multiple of the 16-byte unit (every row aligned) and not (rows alternate
 * between 16-byte and element loads, and the last unit is partial), batched weights,
 * bias and activation epilogues. */
static void
test_gemv_variants (void)
{
  td_backend *b = vk_test_backend ();
  const char *env = g_getenv ("TD_VULKAN_GEMV_SUBGROUP");
  bool has_subgroup = td_vulkan_backend_device (b)->subgroup_arithmetic;
  bool default_subgroup = has_subgroup && g_strcmp0 (env, "0") != 0;
  g_assert_false (td_vulkan_set_gemv (b, false, TD_VK_GEMV_MAX_SPLITS + 1));
  if (!has_subgroup)
    {
      g_assert_false (td_vulkan_set_gemv (b, true, 0));
      g_test_message ("the device has no subgroup arithmetic: the tree reduction only");
    }
  GRand *rng = g_rand_new_with_seed (13);
  for (int subgroup = 0; subgroup < 2; subgroup++)
    for (int s = 0; s < 2; s++)
      {
        if (subgroup && !has_subgroup)
          continue;
        uint32_t splits = s == 0 ? 1 : 3;
        g_assert_true (td_vulkan_set_gemv (b, subgroup, splits));
        for (int d = 0; d < TD_DTYPE_COUNT; d++)
          {
            td_dtype dtype = (td_dtype) d;
            if (!td_vk_matmul_format_supported (dtype))
              continue;
            bool plain = td_dtype_block_elems (dtype) == 1;
            for (int64_t m = 1; m <= TD_VK_GEMV_MAX_M; m++)
              check_pair (dtype, 1, false, m, 4 * TD_VK_GEMV_ROWS + 1, gemv_blocks (dtype, 0), rng);
            if (plain)
              check_pair (dtype, 1, false, 2, 7, gemv_blocks (dtype, 5), rng);
            check_pair (dtype, 2, true, 3, 9, gemv_blocks (dtype, plain ? 3 : 0), rng);
            check_pair_activated (dtype, 1, false, 1, 11, gemv_blocks (dtype, plain ? 1 : 0), TD_UNARY_SILU, rng);
          }
        check_pair_activated (TD_F32, 1, false, 4, 6, 37, TD_UNARY_GELU_TANH, rng);
      }
  g_assert_true (td_vulkan_set_gemv (b, default_subgroup, 0));
  /* Above TD_VK_GEMV_MAX_M rows the tiled GEMM takes the same shapes. */
  for (int64_t m = TD_VK_GEMV_MAX_M + 1; m <= 8; m++)
    {
      check_pair (TD_F16, 1, false, m, 4 * TD_VK_GEMV_ROWS + 1, gemv_blocks (TD_F16, 5), rng);
      check_pair (TD_Q4_K, 1, false, m, 4 * TD_VK_GEMV_ROWS + 1, gemv_blocks (TD_Q4_K, 0), rng);
    }
  g_rand_free (rng);
  vk_test_assert_no_validation_messages ();
}

static void
test_plain_formats (void)
{
  GRand *rng = g_rand_new_with_seed (5);
  check_format (TD_F32, rng);
  check_format (TD_F16, rng);
  check_format (TD_BF16, rng);
  g_rand_free (rng);
  vk_test_assert_no_validation_messages ();
}

/* Every other format the family supports, so a new one is covered by adding it. */
static void
test_quantized_formats (void)
{
  GRand *rng = g_rand_new_with_seed (7);
  int count = 0;
  for (int d = 0; d < TD_DTYPE_COUNT; d++)
    if (td_vk_matmul_format_supported ((td_dtype) d) && d != TD_F32 && d != TD_F16 && d != TD_BF16)
      {
        check_format ((td_dtype) d, rng);
        count++;
      }
  g_assert_cmpint (count, ==, (int) G_N_ELEMENTS (quant_test_formats));
  g_rand_free (rng);
  vk_test_assert_no_validation_messages ();
}

/* The same cases with the tiled GEMM on the emulated cooperative-matrix kernel
 * (TD_VULKAN_EMULATE_COOPMAT=1 does the same for a whole process). */
static void
test_coopmat_emulated (void)
{
  td_backend *b = vk_test_backend ();
  if (td_vulkan_backend_device (b)->coopmat_enabled)
    {
      g_test_skip ("the device runs cooperative matrices itself (the plain and quantized cases cover them)");
      return;
    }
  if (!td_vulkan_set_coopmat_emulation (b, true))
    {
      g_test_skip ("the device has no f16 arithmetic or 16-bit storage");
      return;
    }
  GRand *rng = g_rand_new_with_seed (11);
  check_format (TD_F16, rng);
  check_format (TD_BF16, rng);
  for (size_t f = 0; f < G_N_ELEMENTS (quant_test_formats); f++)
    check_format (quant_test_formats[f], rng);
  g_rand_free (rng);
  bool was_on_by_env = td_vk_coopmat_env_emulate (g_getenv ("TD_VULKAN_EMULATE_COOPMAT"));
  g_assert_true (td_vulkan_set_coopmat_emulation (b, was_on_by_env));
  vk_test_assert_no_validation_messages ();
}

static bool
shader_exists (const char *name)
{
  for (size_t i = 0; i < td_vk_shader_table_size; i++)
    if (strcmp (td_vk_shader_table[i].name, name) == 0)
      return true;
  return false;
}

/* Every (format, path) pair names a shader the build made, and its '_rope' twin. */
static void
test_every_variant_exists (void)
{
  static const int64_t rows[] = { 1, 64 };
  for (int d = 0; d < TD_DTYPE_COUNT; d++)
    {
      if (!td_vk_matmul_format_supported ((td_dtype) d))
        continue;
      for (int r = 0; r < 2; r++)
        for (int storage16 = 0; storage16 < 2; storage16++)
          {
            for (int path = 0; path < 3; path++)
              {
                /* tiled, emulated cooperative matrices, real ones where this build has them */
                bool emulate = path == 1, coopmat = path == 2;
                if (coopmat && !td_vk_shader_compiler_features.nv_coopmat)
                  continue;
                char variant[64];
                td_vk_matmul_kernel (variant, sizeof variant, rows[r], coopmat, emulate, (td_dtype) d, storage16);
                if (!shader_exists (variant))
                  g_error ("no shader variant %s", variant);
                /* MATMUL_NORM_ROPE runs the same variant with the head epilogue. */
                char rope[80];
                g_snprintf (rope, sizeof rope, "%s_rope", variant);
                if (!shader_exists (rope))
                  g_error ("no shader variant %s", rope);
                /* The GEMV also reduces with subgroup arithmetic. */
                if (rows[r] <= TD_VK_GEMV_MAX_M)
                  {
                    char subgroup[80];
                    td_vk_gemv_variant (subgroup, sizeof subgroup, variant, true);
                    if (!shader_exists (subgroup))
                      g_error ("no shader variant %s", subgroup);
                  }
              }
          }
    }
  g_assert_true (shader_exists ("matmul_vec_reduce"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vulkan/matmul-family/variants", test_every_variant_exists);
  g_test_add_func ("/vulkan/matmul-family/plain", test_plain_formats);
  g_test_add_func ("/vulkan/matmul-family/quantized", test_quantized_formats);
  g_test_add_func ("/vulkan/matmul-family/gemv-wide", test_gemv_wide);
  g_test_add_func ("/vulkan/matmul-family/gemv-split-choice", test_gemv_split_choice);
  g_test_add_func ("/vulkan/matmul-family/gemv-variants", test_gemv_variants);
  g_test_add_func ("/vulkan/matmul-family/coopmat-emulated", test_coopmat_emulated);
  return g_test_run ();
}
