/* The cooperative-matrix GEMM's workgroup shapes (vulkan_tile_table.h): the shapes
 * and their shared memory, the shape each invented device gets, TD_VULKAN_COOPMAT_TILE,
 * the small-matrix rule, every variant built, then every shape forced on the device
 * under test through the emulated kernels (lavapipe on CI; the real ones where the
 * device has cooperative matrices) against a double loop and the CPU backend: every
 * weight format with a coopmat variant, ragged M, N and K, batches with their own
 * weights and bias, activations beyond f16's range, and MATMUL_NORM_ROPE. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "op-check.h"
#include "backend/vulkan/vulkan_coopmat.h"
#include "backend/vulkan/vulkan_internal.h"
#include "backend/vulkan/vulkan_matmul.h"
#include "backend/vulkan/vulkan_shaders.h"
#include "backend/vulkan/vulkan_tile_table.h"
#include "../ops/quant-test-util.h"

/* Every weight format with a coopmat variant (shaders/meson.build). */
static const td_dtype coopmat_formats[] = {
  TD_F16, TD_BF16, TD_F8_E4M3, TD_F8_E5M2, TD_Q4_0, TD_Q4_1, TD_Q5_0, TD_Q5_1, TD_Q8_0,
  TD_Q2_K, TD_Q3_K, TD_Q4_K, TD_Q5_K, TD_Q6_K,
};

static void
test_shapes (void)
{
  size_t count = 0;
  const td_vk_coopmat_shape *shapes = td_vk_coopmat_shapes (&count);
  g_assert_cmpuint (count, >=, 3);
  g_assert_cmpstr (shapes[0].name, ==, "64x64");
  for (size_t i = 0; i < count; i++)
    {
      const td_vk_coopmat_shape *s = &shapes[i];
      char name[32];
      g_snprintf (name, sizeof name, "%ux%u", s->tile_m, s->tile_n);
      g_assert_cmpstr (s->name, ==, name);
      g_assert_true (td_vk_coopmat_shape_find (name) == s);
      g_assert_cmpuint (s->tile_m, ==, 16 * s->subgroups_m * s->frags_m);
      g_assert_cmpuint (s->tile_n, ==, 16 * s->subgroups_n * s->frags_n);
      g_assert_cmpuint (s->tile_k % 16, ==, 0);
      /* The shader's row scales want whole invocations per row of x and of w. */
      uint32_t wg = td_vk_coopmat_shape_invocations (s);
      g_assert_cmpuint (wg, <=, 256);
      g_assert_cmpuint (wg % s->tile_m, ==, 0);
      g_assert_cmpuint (wg % s->tile_n, ==, 0);
      /* Within the portable 48 KiB, and lavapipe's 32 KiB so that CI runs every shape. */
      g_assert_cmpuint (td_vk_coopmat_shape_shared_bytes (s), <=, 32768);
    }
  /* By hand from matmul_coopmat.comp's and head_epilogue.glsl's declarations:
   * (BM + BN)·40·2 of staged tiles, subgroups·16·20·4 of accumulator staging,
   * (BM + BN)·4 of row scales, invocations·4 for the head epilogue. The validation
   * layer checks the real sums when the pipelines are created below. */
  g_assert_cmpuint (td_vk_coopmat_shape_shared_bytes (td_vk_coopmat_shape_find ("64x64")), ==, 16384);
  g_assert_cmpuint (td_vk_coopmat_shape_shared_bytes (td_vk_coopmat_shape_find ("128x64")), ==, 21760);
  g_assert_cmpuint (td_vk_coopmat_shape_shared_bytes (td_vk_coopmat_shape_find ("128x128")), ==, 32768);
  g_assert_cmpuint (td_vk_coopmat_shape_invocations (td_vk_coopmat_shape_find ("128x128")), ==, 256);
  g_assert_null (td_vk_coopmat_shape_find ("32x32"));
  g_assert_null (td_vk_coopmat_shape_find ("128x128 "));
  g_assert_null (td_vk_coopmat_shape_find (""));
  /* Every table entry names a shape that exists. */
  const td_vk_tile_entry *table = td_vk_tile_table (&count);
  for (size_t i = 0; i < count; i++)
    {
      char name[32];
      g_snprintf (name, sizeof name, "%ux%u", table[i].coopmat_m, table[i].coopmat_n);
      if (td_vk_coopmat_shape_find (name) == NULL)
        g_error ("table entry %s names the coopmat shape %s, which is not built", table[i].name, name);
    }
}

static const char *
choose (uint32_t vendor, const char *name, bool cpu, bool discrete, uint32_t min_sg, uint32_t max_sg,
        uint32_t shared, const char *env, bool *forced, const char **why)
{
  const td_vk_tile_device d = { .vendor_id = vendor, .name = name, .cpu = cpu, .discrete = discrete,
                                .min_subgroup_size = min_sg, .max_subgroup_size = max_sg,
                                .max_shared_memory = shared };
  const td_vk_coopmat_shape *s = td_vk_coopmat_shape_choose (&d, env, forced, why);
  g_assert_nonnull (s);
  g_assert_nonnull (*why);
  return s->name;
}

/* Invented devices with the properties their drivers report (the H200's from
 * reference/h200_vulkan_caps.txt); the GPU entries are guesses, not measurements. */
static void
test_choose (void)
{
  const uint32_t nv = TD_VK_VENDOR_NVIDIA, amd = TD_VK_VENDOR_AMD, intel = TD_VK_VENDOR_INTEL;
  bool forced = true;
  const char *why = NULL;
  g_assert_cmpstr (choose (nv, "NVIDIA H200", false, true, 32, 32, 49152, NULL, &forced, &why), ==, "128x128");
  g_assert_false (forced);
  g_assert_nonnull (strstr (why, "vendor and architecture"));
  g_assert_cmpstr (choose (nv, "NVIDIA GeForce RTX 4090", false, true, 32, 32, 49152, NULL, &forced, &why), ==,
                   "128x128");
  g_assert_cmpstr (choose (nv, "NVIDIA GeForce GTX 1080", false, true, 32, 32, 49152, NULL, &forced, &why), ==,
                   "64x64");
  g_assert_cmpstr (choose (amd, "AMD Radeon RX 7900 XTX (RADV NAVI31)", false, true, 32, 64, 65536, NULL, &forced,
                           &why), ==, "128x64");
  g_assert_cmpstr (choose (intel, "Intel(R) Arc(tm) A770 Graphics (DG2)", false, true, 8, 32, 65536, NULL, &forced,
                           &why), ==, "128x64");
  g_assert_cmpstr (choose (TD_VK_VENDOR_MESA, "llvmpipe (LLVM 15.0.6, 256 bits)", true, false, 8, 8, 32768, NULL,
                           &forced, &why), ==, "64x64");
  g_assert_cmpstr (choose (0x5143, "Adreno (TM) 740", false, false, 64, 128, 32768, NULL, &forced, &why), ==, "64x64");
  g_assert_cmpstr (choose (0, NULL, false, false, 0, 0, 0, NULL, &forced, &why), ==, "64x64");

  /* A shape that does not fit the device's shared memory is never chosen: stepped
   * down to the largest that does. */
  g_assert_cmpstr (choose (nv, "NVIDIA H200", false, true, 32, 32, 24576, NULL, &forced, &why), ==, "128x64");
  g_assert_nonnull (strstr (why, "stepped down"));
  g_assert_cmpstr (choose (nv, "NVIDIA H200", false, true, 32, 32, 32767, NULL, &forced, &why), ==, "128x64");
  g_assert_cmpstr (choose (nv, "NVIDIA H200", false, true, 32, 32, 32768, NULL, &forced, &why), ==, "128x128");
  g_assert_cmpstr (choose (nv, "NVIDIA H200", false, true, 32, 32, 16384, NULL, &forced, &why), ==, "64x64");

  /* TD_VULKAN_COOPMAT_TILE: a shape or an entry's name, refused where it does not fit. */
  g_assert_cmpstr (choose (TD_VK_VENDOR_MESA, "llvmpipe", true, false, 8, 8, 32768, "128x128", &forced, &why), ==,
                   "128x128");
  g_assert_true (forced);
  g_assert_nonnull (strstr (why, "forced with TD_VULKAN_COOPMAT_TILE"));
  g_assert_cmpstr (choose (nv, "NVIDIA H200", false, true, 32, 32, 49152, "64x64", &forced, &why), ==, "64x64");
  g_assert_true (forced);
  g_assert_cmpstr (choose (TD_VK_VENDOR_MESA, "llvmpipe", true, false, 8, 8, 32768, "amd-rdna", &forced, &why), ==,
                   "128x64");
  g_assert_true (forced);
  g_assert_cmpstr (choose (amd, "AMD Radeon RX 7900 XTX", false, true, 32, 64, 24576, "128x128", &forced, &why), ==,
                   "128x64");
  g_assert_false (forced);
  g_assert_nonnull (strstr (why, "more shared memory"));
  const char *bad[] = { "99x99", "128x128x1", "fast", "32x32" };
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_cmpstr (choose (nv, "NVIDIA H200", false, true, 32, 32, 49152, bad[i], &forced, &why), ==, "128x128");
      g_assert_false (forced);
      g_assert_nonnull (strstr (why, "names no shape"));
    }
  g_assert_cmpstr (choose (nv, "NVIDIA H200", false, true, 32, 32, 49152, "", &forced, &why), ==, "128x128");
  g_assert_false (forced);
}

/* Large shapes only where they fill the device: FLUX-sized GEMMs keep 128x128 on 132
 * SMs, a few hundred rows do not; without an SM count, M decides. */
static void
test_small_matrices (void)
{
  const td_vk_coopmat_shape *small = td_vk_coopmat_shape_find ("64x64");
  const td_vk_coopmat_shape *large = td_vk_coopmat_shape_find ("128x128");
  const td_vk_coopmat_shape *medium = td_vk_coopmat_shape_find ("128x64");
  g_assert_true (td_vk_coopmat_shape_for (large, false, 4608, 3072, 1, 132) == large);
  g_assert_true (td_vk_coopmat_shape_for (large, false, 4608, 12288, 1, 132) == large);
  /* 2 × 24 = 48 workgroups of 128x128 for 132 SMs; 4 × 48 = 192 of 64x64. */
  g_assert_true (td_vk_coopmat_shape_for (large, false, 256, 3072, 1, 132) == small);
  /* A batch fills the device as well as rows do: 2 × 24 × 3 = 144. */
  g_assert_true (td_vk_coopmat_shape_for (large, false, 256, 3072, 3, 132) == large);
  /* 8 × 16 = 128 workgroups of 128x64 for 96 CUs, then 4 × 16 = 64. */
  g_assert_true (td_vk_coopmat_shape_for (medium, false, 1024, 1024, 1, 96) == medium);
  g_assert_true (td_vk_coopmat_shape_for (medium, false, 512, 1024, 1, 96) == small);
  g_assert_true (td_vk_coopmat_shape_for (medium, false, 128, 1024, 1, 96) == small);
  /* Compute units unknown: at most 64 rows take 64x64. */
  g_assert_true (td_vk_coopmat_shape_for (large, false, 64, 3072, 1, 0) == small);
  g_assert_true (td_vk_coopmat_shape_for (large, false, 65, 3072, 1, 0) == large);
  /* Forced shapes stay forced; 64x64 stays 64x64. */
  g_assert_true (td_vk_coopmat_shape_for (large, true, 5, 7, 1, 132) == large);
  g_assert_true (td_vk_coopmat_shape_for (small, false, 4608, 3072, 1, 132) == small);
}

/* Every shape of every format for every API this build compiled, and their _rope forms. */
static void
test_variants_built (void)
{
  size_t count = 0;
  const td_vk_coopmat_shape *shapes = td_vk_coopmat_shapes (&count);
  const td_vk_shader_compiler *built = &td_vk_shader_compiler_features;
  for (size_t s = 0; s < count; s++)
    for (size_t f = 0; f <= G_N_ELEMENTS (coopmat_formats); f++)
      {
        /* The last round is the KHR bf16-tile kernel. */
        const char *dtype = f < G_N_ELEMENTS (coopmat_formats) ? td_dtype_name (coopmat_formats[f]) : NULL;
        char base[64], v[80], rope[88];
        const char *apis[] = { "emu_", "", "khr_" };
        const bool want[] = { dtype != NULL, dtype != NULL && built->nv_coopmat,
                              dtype != NULL ? built->khr_coopmat : built->khr_coopmat_bf16 };
        for (size_t a = 0; a < G_N_ELEMENTS (apis); a++)
          {
            if (dtype != NULL)
              g_snprintf (base, sizeof base, "matmul_coopmat_%s%s", apis[a], dtype);
            else if (a == 2)
              g_snprintf (base, sizeof base, "matmul_coopmat_khr_bf16in_bf16");
            else
              continue;
            td_vk_tile_variant (v, sizeof v, base, shapes[s].tile_m, shapes[s].tile_n);
            g_snprintf (rope, sizeof rope, "%s_rope", v);
            if (td_vk_shader_exists (v) != want[a] || td_vk_shader_exists (rope) != want[a])
              g_error ("%s (or its _rope form): built %d, expected %d", v, td_vk_shader_exists (v), want[a]);
          }
      }
}

/* y[z] = x[z] · w[z or shared]ᵀ + bias against a double loop (and the CPU backend). */
static void
check_matmul (td_dtype dtype, int64_t batch, bool batched_w, bool with_bias, int64_t m, int64_t n, int64_t k,
              double x_scale, GRand *rng, const char *shape)
{
  td_backend *b = vk_test_backend ();
  const int64_t wcount = (batched_w ? batch : 1) * n * k;
  float *w = g_new (float, wcount), *x = g_new (float, batch * m * k), *bias = g_new (float, n);
  size_t bytes;
  guint8 *raw;
  if (td_dtype_is_quantized (dtype) || dtype == TD_F8_E4M3 || dtype == TD_F8_E5M2)
    raw = quant_test_random_weights (dtype, wcount, rng, &bytes);
  else
    {
      for (int64_t i = 0; i < wcount; i++)
        w[i] = (float) g_rand_double_range (rng, -1, 1);
      td_dtype_nbytes (dtype, wcount, &bytes);
      raw = g_malloc (bytes);
      td_convert_from_f32 (raw, dtype, w, (size_t) wcount);
    }
  td_convert_to_f32 (w, raw, dtype, (size_t) wcount);
  /* Rows of x scaled by x_scale in turn with 1, so that rows beyond f16's range sit
   * beside ordinary ones in the same tile. */
  for (int64_t i = 0; i < batch * m * k; i++)
    x[i] = (float) (g_rand_double_range (rng, -1, 1) * ((i / k) % 2 == 0 ? x_scale : 1.0));
  for (int64_t i = 0; i < n; i++)
    bias[i] = (float) g_rand_double_range (rng, -1, 1);
  double *ref = g_new (double, batch * m * n), *magnitude = g_new (double, batch * m * n);
  for (int64_t z = 0; z < batch; z++)
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++)
        {
          double s = with_bias ? bias[j] : 0, size = 0;
          const float *wrow = w + (batched_w ? z * n * k : 0) + j * k;
          for (int64_t c = 0; c < k; c++)
            {
              s += (double) x[(z * m + i) * k + c] * wrow[c];
              size += fabs ((double) x[(z * m + i) * k + c] * wrow[c]);
            }
          ref[(z * m + i) * n + j] = s;
          magnitude[(z * m + i) * n + j] = size;
        }
  td_error err = { 0 };
  const int64_t xs[3] = { batch, m, k }, ws[3] = { batch, n, k }, bs[1] = { n }, ys[3] = { batch, m, n };
  td_tensor *tx = vk_tensor_from (b, TD_F32, 3, xs, x);
  td_tensor *tw = td_tensor_new (b, dtype, batched_w ? 3 : 2, batched_w ? ws : ws + 1, &err);
  g_assert_nonnull (tw);
  g_assert_cmpint (td_tensor_upload (tw, raw, bytes, &err), ==, TD_OK);
  td_tensor *tb = with_bias ? vk_tensor_from (b, TD_F32, 1, bs, bias) : NULL;
  vk_guarded g = vk_guarded_new (b, TD_F32, 3, ys);
  char what[160];
  g_snprintf (what, sizeof what, "coopmat %s, %s weights, %lldx%lldx%lldx%lld%s%s, x scale %g", shape,
              td_dtype_name (dtype), (long long) batch, (long long) m, (long long) n, (long long) k,
              batched_w ? " batched w" : "", with_bias ? " bias" : "", x_scale);
  td_op op = { .type = TD_OP_MATMUL, .src = { tx, tw, tb } };
  g_test_message ("%s", what);
  if (x_scale == 1.0)
    /* x rounded to f16's 11 significant bits: a normalised error. */
    op_check (&op, &g, ref, 3e-3, what);
  else
    {
      /* Rows of very different sizes: each output within the f16 rounding bound of
       * its own terms, 2^-10 · Σ|x||w| (both operands keep 11 significant bits after
       * their row's power-of-two scaling), which a shared scale or none would break. */
      op.dst = g.t;
      g_assert_cmpint (vk_run (b, &op, &err), ==, TD_OK);
      vk_guarded_check (&g);
      float *y = td_tensor_to_f32 (g.t, &err);
      g_assert_nonnull (y);
      for (int64_t i = 0; i < batch * m * n; i++)
        {
          double bound = magnitude[i] * (1.0 / 1024 + (double) k * 6e-8) + 1e-6 * fabs (ref[i]);
          if (!(fabs (y[i] - ref[i]) <= bound))
            g_error ("%s: output %lld is %.9g, want %.9g (bound %.3g)", what, (long long) i, y[i], ref[i], bound);
        }
      free (y);
    }
  vk_guarded_free (&g);
  td_tensor_free (tx);
  td_tensor_free (tw);
  td_tensor_free (tb);
  g_free (raw);
  g_free (w);
  g_free (x);
  g_free (bias);
  g_free (ref);
  g_free (magnitude);
}

/* MATMUL_NORM_ROPE [1, t, heads, d] on the coopmat path against the CPU backend. */
static void
check_norm_rope (td_dtype dtype, td_rope_mode mode, int64_t t, int64_t k, int64_t heads, int64_t d, GRand *rng,
                 const char *shape)
{
  td_backend *b = vk_test_backend ();
  const int64_t n = heads * d, half = d / 2;
  float *w = g_new (float, n * k), *x = g_new (float, t * k), *bias = g_new (float, n), *norm = g_new (float, d);
  float *cos_v = g_new (float, t * half), *sin_v = g_new (float, t * half);
  for (int64_t i = 0; i < n * k; i++)
    w[i] = (float) g_rand_double_range (rng, -1, 1);
  vk_round_to_dtype (w, n * k, dtype);
  for (int64_t i = 0; i < t * k; i++)
    x[i] = (float) g_rand_double_range (rng, -1, 1);
  for (int64_t i = 0; i < n; i++)
    bias[i] = (float) g_rand_double_range (rng, -1, 1);
  for (int64_t i = 0; i < d; i++)
    norm[i] = (float) g_rand_double_range (rng, 0.5, 1.5);
  for (int64_t i = 0; i < t * half; i++)
    {
      double angle = g_rand_double_range (rng, -3, 3);
      cos_v[i] = (float) cos (angle);
      sin_v[i] = (float) sin (angle);
    }
  const int64_t xs[3] = { 1, t, k }, ws[2] = { n, k }, bs[1] = { n }, ns[1] = { d }, ts[2] = { t, half };
  const int64_t ys[4] = { 1, t, heads, d };
  td_tensor *tx = vk_tensor_from (b, TD_F32, 3, xs, x), *tw = vk_tensor_from (b, dtype, 2, ws, w);
  td_tensor *tb = vk_tensor_from (b, TD_F32, 1, bs, bias), *tn = vk_tensor_from (b, TD_F32, 1, ns, norm);
  td_tensor *tcos = vk_tensor_from (b, TD_F32, 2, ts, cos_v), *tsin = vk_tensor_from (b, TD_F32, 2, ts, sin_v);
  vk_guarded g = vk_guarded_new (b, TD_F32, 4, ys);
  td_op op = { .type = TD_OP_MATMUL_NORM_ROPE, .src = { tx, tw, tb, tn, tcos, tsin },
               .p.matmul_rope = { 1e-6f, mode, true } };
  char what[160];
  g_snprintf (what, sizeof what, "coopmat %s matmul_norm_rope, %s weights, mode %d, T %lld K %lld H %lld D %lld",
              shape, td_dtype_name (dtype), (int) mode, (long long) t, (long long) k, (long long) heads,
              (long long) d);
  g_test_message ("%s", what);
  op_check (&op, &g, NULL, 3e-3, what);
  vk_guarded_free (&g);
  td_tensor *all[] = { tx, tw, tb, tn, tcos, tsin };
  for (size_t i = 0; i < G_N_ELEMENTS (all); i++)
    td_tensor_free (all[i]);
  g_free (w);
  g_free (x);
  g_free (bias);
  g_free (norm);
  g_free (cos_v);
  g_free (sin_v);
}

/* Each shape forced on the device under test: emulated unless the device runs
 * cooperative matrices itself. */
static void
test_every_shape_computes (void)
{
  td_backend *b = vk_test_backend ();
  const td_vulkan_device_info *d = td_vulkan_backend_device (b);
  if (!d->coopmat_enabled && !td_vulkan_set_coopmat_emulation (b, true))
    {
      g_test_skip ("the device has no f16 arithmetic or 16-bit storage");
      return;
    }
  td_vk_context *ctx = b->impl;
  size_t count = 0;
  const td_vk_coopmat_shape *shapes = td_vk_coopmat_shapes (&count);
  GRand *rng = g_rand_new_with_seed (2026);
  for (size_t s = 0; s < count; s++)
    {
      const td_vk_coopmat_shape *shape = &shapes[s];
      if (!td_vulkan_set_coopmat_tile (b, shape->name))
        {
          /* Refused only where the device's shared memory is too small for it. */
          g_assert_cmpuint (td_vk_coopmat_shape_shared_bytes (shape), >, d->max_shared_memory);
          g_test_message ("%s needs more shared memory than the device has", shape->name);
          continue;
        }
      /* The dispatch takes this shape at every size. */
      g_assert_true (td_vk_matmul_coopmat_shape (ctx, 5, 7, 1) == shape);
      g_assert_true (td_vk_matmul_coopmat_shape (ctx, 4608, 3072, 1) == shape);
      const int64_t tm = shape->tile_m, tn = shape->tile_n;
      for (size_t f = 0; f < G_N_ELEMENTS (coopmat_formats); f++)
        {
          const td_dtype dtype = coopmat_formats[f];
          char variant[64];
          g_assert_cmpint (td_vk_matmul_kernel (variant, sizeof variant, tm + 5, d->coopmat_enabled,
                                                !d->coopmat_enabled, dtype, d->storage_16bit),
                           ==, TD_VK_MATMUL_COOPMAT);
          /* K: ragged against CM_BK (32) where the format allows, whole blocks otherwise. */
          const int64_t block = td_dtype_block_elems (dtype);
          const int64_t k = block == 1 ? 70 : block == 32 ? 96 : 256;
          /* One tile and a ragged one in M and N. */
          check_matmul (dtype, 1, false, true, tm + 5, tn + 3, k, 1.0, rng, shape->name);
        }
      /* bf16 weights (scaled per row too) at every shape: below one tile, batches
       * with their own weights, K = 1, activations far beyond 65504 (T5-XXL's reach
       * 1e6) and far below f16's smallest normal beside rows of ordinary size. */
      check_matmul (TD_BF16, 1, false, false, 5, 9, 33, 1.0, rng, shape->name);
      check_matmul (TD_BF16, 3, true, true, 37, tn + 9, 47, 1.0, rng, shape->name);
      check_matmul (TD_BF16, 2, false, true, tm + 1, 19, 64, 1.0, rng, shape->name);
      check_matmul (TD_BF16, 1, false, true, 17, 21, 1, 1.0, rng, shape->name);
      check_matmul (TD_BF16, 1, false, true, tm + 7, tn + 5, 75, 1e6, rng, shape->name);
      check_matmul (TD_BF16, 2, false, false, 23, 17, 40, 1e-7, rng, shape->name);
      /* MATMUL_NORM_ROPE: FLUX's head size (wider than 64-wide tiles, rows past one
       * tile), and a head narrower than the 128-wide tile. */
      check_norm_rope (TD_BF16, TD_ROPE_INTERLEAVED, tm + 3, 70, 3, 128, rng, shape->name);
      check_norm_rope (TD_BF16, TD_ROPE_HALF_SPLIT, 21, 33, 2, 64, rng, shape->name);
    }
  g_assert_false (td_vulkan_set_coopmat_tile (b, "99x99"));
  g_assert_true (td_vulkan_set_coopmat_tile (b, NULL));
  if (!d->coopmat_enabled)
    g_assert_true (td_vulkan_set_coopmat_emulation (b, td_vk_coopmat_env_emulate (g_getenv ("TD_VULKAN_EMULATE_COOPMAT"))));
  g_rand_free (rng);
  vk_test_assert_no_validation_messages ();
}

/* `thinkdiff devices` shows each device's coopmat shape and how it was chosen. */
static void
test_listing (void)
{
  vk_test_backend (); /* skips without a Vulkan device */
  g_autofree char *saved = g_strdup (g_getenv ("TD_VULKAN_COOPMAT_TILE"));
  g_unsetenv ("TD_VULKAN_COOPMAT_TILE");
  td_error err = { 0 };
  char *text = NULL;
  g_assert_cmpint (td_devices_report (&text, &err), ==, TD_OK);
  g_assert_nonnull (strstr (text, "cooperative-matrix matmul tile: "));
  if (strstr (text, "llvmpipe") != NULL)
    g_assert_nonnull (strstr (text, "cooperative-matrix matmul tile: 64x64 outputs per workgroup, 4 subgroups of 32, "
                                    "16.0 KiB shared memory (from the device's vendor and architecture)"));
  g_free (text);
  g_setenv ("TD_VULKAN_COOPMAT_TILE", "128x64", TRUE);
  g_assert_cmpint (td_devices_report (&text, &err), ==, TD_OK);
  g_assert_nonnull (strstr (text, "cooperative-matrix matmul tile: 128x64 outputs per workgroup, 4 subgroups of 32, "
                                  "21.2 KiB shared memory (forced with TD_VULKAN_COOPMAT_TILE)"));
  g_free (text);
  if (saved != NULL)
    g_setenv ("TD_VULKAN_COOPMAT_TILE", saved, TRUE);
  else
    g_unsetenv ("TD_VULKAN_COOPMAT_TILE");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vulkan/coopmat-tiles/shapes", test_shapes);
  g_test_add_func ("/vulkan/coopmat-tiles/choose", test_choose);
  g_test_add_func ("/vulkan/coopmat-tiles/small-matrices", test_small_matrices);
  g_test_add_func ("/vulkan/coopmat-tiles/variants-built", test_variants_built);
  g_test_add_func ("/vulkan/coopmat-tiles/every-shape-computes", test_every_shape_computes);
  g_test_add_func ("/vulkan/coopmat-tiles/listing", test_listing);
  int result = g_test_run ();
  td_backend_free (vk_test_backend ());
  return result;
}
