/* CONV2D on cooperative matrices (shaders/conv2d_coopmat.comp): when it is
 * chosen (on invented devices), and the kernel itself against a double-precision
 * reference and the CPU backend on odd shapes — through its emulated form on any
 * device with f16 arithmetic and 16-bit storage, on real cooperative matrices
 * where the device has them — and the scalar kernel in the tile table's shapes. */
#include <math.h>
#include <string.h>

#include "backend/vulkan/vulkan_conv2d.h"
#include "backend/vulkan/vulkan_coopmat.h"
#include "backend/vulkan/vulkan_internal.h"
#include "backend/vulkan/vulkan_shaders.h"
#include "op-check.h"

/* ---- the choice, on invented devices ---- */

static const char *const *invented_built;

static bool
invented_exists (const char *variant)
{
  for (size_t i = 0; invented_built[i] != NULL; i++)
    if (strcmp (invented_built[i], variant) == 0)
      return true;
  return false;
}

static void
test_choice (void)
{
  static const char *const all[] = { "conv2d_coopmat_f16", "conv2d_coopmat_khr_f16", "conv2d_coopmat_emu_f16",
                                     "conv2d_coopmat_bf16", "conv2d_coopmat_emu_bf16", "conv2d_f16_s16",
                                     "conv2d_f32_s16", "conv2d_f32_p32", "conv2d_f32_s16_t128x64", "conv2d_f16_p32", NULL };
  static const char *const scalar_only[] = { "conv2d_f16_s16", "conv2d_bf16_p32", NULL };
  invented_built = all;
  td_vk_conv2d_device nv = { .coopmat = true, .storage_16bit = true, .tile_m = 64, .tile_n = 64 };
  td_vk_conv2d_kernel k = td_vk_conv2d_choose (&nv, TD_F16, 512, 1 << 20, invented_exists);
  g_assert_cmpstr (k.variant, ==, "conv2d_coopmat_f16");
  g_assert_true (k.coopmat);
  g_assert_cmpuint (k.channels_per_group, ==, 64);
  g_assert_cmpuint (k.pixels_per_group, ==, 64);
  k = td_vk_conv2d_choose (&nv, TD_BF16, 3, 7, invented_exists);
  g_assert_cmpstr (k.variant, ==, "conv2d_coopmat_bf16");

  td_vk_conv2d_device khr = nv;
  khr.uses_khr = true;
  k = td_vk_conv2d_choose (&khr, TD_F16, 128, 4096, invented_exists);
  g_assert_cmpstr (k.variant, ==, "conv2d_coopmat_khr_f16");
  /* Emulation wins over the device's own API: it is what the tests ask for. */
  td_vk_conv2d_device emu = { .emulate = true, .uses_khr = true, .storage_16bit = true };
  k = td_vk_conv2d_choose (&emu, TD_BF16, 13, 99, invented_exists);
  g_assert_cmpstr (k.variant, ==, "conv2d_coopmat_emu_bf16");
  g_assert_true (k.coopmat);
  /* f32 weights stay on the exact kernel, as for MATMUL. */
  k = td_vk_conv2d_choose (&emu, TD_F32, 13, 99, invented_exists);
  g_assert_cmpstr (k.variant, ==, "conv2d_f32_s16");
  g_assert_false (k.coopmat);
  k = td_vk_conv2d_choose (&nv, TD_F32, 512, 1 << 20, invented_exists);
  g_assert_cmpstr (k.variant, ==, "conv2d_f32_s16");

  /* Without 16-bit storage, or without the variant built: the scalar kernel. */
  td_vk_conv2d_device no16 = { .emulate = true, .coopmat = true, .storage_16bit = false, .tile_m = 64, .tile_n = 64 };
  k = td_vk_conv2d_choose (&no16, TD_F16, 13, 99, invented_exists);
  g_assert_cmpstr (k.variant, ==, "conv2d_f16_p32");
  g_assert_false (k.coopmat);
  invented_built = scalar_only;
  k = td_vk_conv2d_choose (&nv, TD_F16, 512, 1 << 20, invented_exists);
  g_assert_cmpstr (k.variant, ==, "conv2d_f16_s16");
  g_assert_false (k.coopmat);

  /* The scalar kernel takes the device's tile where it is built and its grid fits. */
  invented_built = all;
  td_vk_conv2d_device tiled = { .storage_16bit = true, .tile_m = 128, .tile_n = 64 };
  k = td_vk_conv2d_choose (&tiled, TD_F32, 256, 4096, invented_exists);
  g_assert_cmpstr (k.variant, ==, "conv2d_f32_s16_t128x64");
  g_assert_cmpuint (k.channels_per_group, ==, 128);
  g_assert_cmpuint (k.pixels_per_group, ==, 64);
  k = td_vk_conv2d_choose (&tiled, TD_F16, 256, 4096, invented_exists); /* that shape not built for f16 */
  g_assert_cmpstr (k.variant, ==, "conv2d_f16_s16");
  g_assert_cmpuint (k.channels_per_group, ==, 64);
  k = td_vk_conv2d_choose (&tiled, TD_F32, 256, 64 * 70000LL, invented_exists); /* too many pixel tiles */
  g_assert_cmpstr (k.variant, ==, "conv2d_f32_s16");

  /* What this build made. */
  g_assert_true (td_vk_shader_exists ("conv2d_coopmat_emu_f16"));
  g_assert_true (td_vk_shader_exists ("conv2d_coopmat_emu_bf16"));
  g_assert_true (td_vk_shader_exists ("conv2d_f32_s16_t128x64"));
  g_assert_true (td_vk_shader_exists ("conv2d_bf16_p32_t128x128"));
  g_assert_true (td_vk_shader_exists ("conv2d_coopmat_f16") == td_vk_shader_compiler_features.nv_coopmat);
  g_assert_true (td_vk_shader_exists ("conv2d_coopmat_khr_bf16") == td_vk_shader_compiler_features.khr_coopmat);
}

/* ---- the kernels on the device ---- */

/* Rounds to 11 significant bits (f16's precision) at any magnitude: such values
 * pass the kernel's power-of-two row scaling into f16 exactly. */
static void
round_to_11_bits (float *values, int64_t n)
{
  for (int64_t i = 0; i < n; i++)
    {
      int e;
      double m = frexp (values[i], &e);
      values[i] = (float) ldexp (nearbyint (ldexp (m, 11)), e - 11);
    }
}

typedef struct conv_case {
  td_dtype wdtype;
  int64_t cin, h, w, cout, kh, kw;
  int sh, sw, ph, pw;
  bool with_bias;
  float x_range;   /* x in [-x_range, x_range) */
  bool f16_exact;  /* x and weights rounded to 11 significant bits */
  double tol;
} conv_case;

static void
check_conv (const conv_case *c)
{
  td_backend *b = vk_test_backend ();
  int64_t bsz = 2, ho = (c->h + 2 * c->ph - c->kh) / c->sh + 1, wo = (c->w + 2 * c->pw - c->kw) / c->sw + 1;
  int64_t xs[4] = { bsz, c->cin, c->h, c->w }, ws[4] = { c->cout, c->cin, c->kh, c->kw }, bs[1] = { c->cout };
  int64_t ys[4] = { bsz, c->cout, ho, wo };
  int64_t nx = bsz * c->cin * c->h * c->w, nw = c->cout * c->cin * c->kh * c->kw, ny = bsz * c->cout * ho * wo;
  float *x = g_new (float, nx), *wt = g_new (float, nw), *bias = g_new (float, c->cout);
  vk_random_fill (x, nx, -c->x_range, c->x_range);
  vk_random_fill (wt, nw, -1, 1);
  vk_random_fill (bias, c->cout, -1, 1);
  vk_round_to_dtype (wt, nw, c->wdtype);
  if (c->f16_exact)
    {
      round_to_11_bits (x, nx);
      round_to_11_bits (wt, nw);
    }
  td_tensor *tx = vk_tensor_from (b, TD_F32, 4, xs, x), *tw = vk_tensor_from (b, c->wdtype, 4, ws, wt);
  td_tensor *tb = c->with_bias ? vk_tensor_from (b, TD_F32, 1, bs, bias) : NULL;
  double *ref = g_new (double, ny);
  for (int64_t z = 0; z < bsz; z++)
    for (int64_t co = 0; co < c->cout; co++)
      for (int64_t oy = 0; oy < ho; oy++)
        for (int64_t ox = 0; ox < wo; ox++)
          {
            double s = c->with_bias ? bias[co] : 0;
            for (int64_t ci = 0; ci < c->cin; ci++)
              for (int64_t ky = 0; ky < c->kh; ky++)
                for (int64_t kx = 0; kx < c->kw; kx++)
                  {
                    int64_t iy = oy * c->sh - c->ph + ky, ix = ox * c->sw - c->pw + kx;
                    if (iy >= 0 && iy < c->h && ix >= 0 && ix < c->w)
                      s += (double) x[((z * c->cin + ci) * c->h + iy) * c->w + ix]
                           * wt[((co * c->cin + ci) * c->kh + ky) * c->kw + kx];
                  }
            ref[((z * c->cout + co) * ho + oy) * wo + ox] = s;
          }
  vk_guarded g = vk_guarded_new (b, TD_F32, 4, ys);
  td_op op = { .type = TD_OP_CONV2D, .src = { tx, tw, tb }, .p.conv2d = { c->sh, c->sw, c->ph, c->pw } };
  char what[128];
  g_snprintf (what, sizeof what, "conv2d %s %lld->%lld %lldx%lld k%lldx%lld s%d,%d p%d,%d |x|<%g",
              td_dtype_name (c->wdtype), (long long) c->cin, (long long) c->cout, (long long) c->h,
              (long long) c->w, (long long) c->kh, (long long) c->kw, c->sh, c->sw, c->ph, c->pw, c->x_range);
  op_check (&op, &g, ref, c->tol, what);
  vk_guarded_free (&g);
  td_tensor_free (tx);
  td_tensor_free (tw);
  td_tensor_free (tb);
  g_free (x);
  g_free (wt);
  g_free (bias);
  g_free (ref);
}

/* Exactly representable inputs leave only f32 summation order: 1e-4 checks the
 * indexing. Unrounded inputs carry f16's 11 bits: 2e-3. */
static const conv_case conv_cases[] = {
  { TD_F16, 3, 11, 13, 13, 3, 3, 1, 1, 1, 1, true, 1, true, 1e-4 },
  { TD_F16, 37, 9, 10, 19, 3, 3, 2, 2, 1, 1, true, 1, true, 1e-4 },
  { TD_BF16, 16, 17, 15, 70, 1, 1, 1, 1, 0, 0, false, 1, true, 1e-4 },
  { TD_BF16, 5, 31, 29, 33, 3, 3, 2, 2, 0, 0, true, 1, true, 1e-4 },
  { TD_F16, 64, 8, 8, 64, 3, 3, 1, 1, 1, 1, true, 1, true, 1e-4 },
  { TD_BF16, 7, 12, 9, 6, 3, 1, 1, 2, 1, 0, false, 1, true, 1e-4 },
  { TD_BF16, 2, 10, 11, 3, 4, 2, 1, 3, 2, 0, true, 1, true, 1e-4 },
  /* Activations past f16's 65504. */
  { TD_F16, 13, 9, 11, 17, 3, 3, 1, 1, 1, 1, true, 1e6f, true, 1e-4 },
  { TD_BF16, 21, 7, 5, 35, 3, 3, 2, 1, 1, 1, true, 3e5f, true, 1e-4 },
  /* Unrounded f32 activations: f16's 11 bits. */
  { TD_BF16, 37, 13, 11, 19, 3, 3, 1, 1, 1, 1, true, 1, false, 2e-3 },
  { TD_F16, 9, 15, 13, 21, 3, 3, 1, 1, 1, 1, true, 2e5f, false, 2e-3 },
};

/* f32 weights with the coopmat path on: the exact scalar kernel, so f32's
 * tolerance holds on unrounded inputs (f16 staging would miss it by far). */
static const conv_case exact_f32_case = { TD_F32, 37, 13, 11, 19, 3, 3, 1, 1, 1, 1, true, 1, false, 1e-5 };

static void
check_conv_cases (void)
{
  for (size_t i = 0; i < G_N_ELEMENTS (conv_cases); i++)
    check_conv (&conv_cases[i]);
}

static void
test_emulated (void)
{
  td_backend *b = vk_test_backend ();
  if (!td_vulkan_set_coopmat_emulation (b, true))
    {
      g_test_skip ("the device has no f16 arithmetic or 16-bit storage");
      return;
    }
  check_conv_cases ();
  check_conv (&exact_f32_case);
  g_assert_true (td_vulkan_set_coopmat_emulation (b, td_vk_coopmat_env_emulate (g_getenv ("TD_VULKAN_EMULATE_COOPMAT"))));
  vk_test_assert_no_validation_messages ();
}

static void
test_hardware (void)
{
  const td_vulkan_device_info *d = td_vulkan_backend_device (vk_test_backend ());
  if (!d->coopmat_enabled)
    {
      g_test_skip (d->coopmat_available ? "cooperative matrices are turned off (TD_VULKAN_COOPMAT=0)"
                                        : "the device has no cooperative matrices that the shader can use");
      return;
    }
  check_conv_cases ();
  check_conv (&exact_f32_case);
  vk_test_assert_no_validation_messages ();
}

/* The scalar kernel in every tile shape of the table (coopmat off). */
static void
test_scalar_tiles (void)
{
  td_backend *b = vk_test_backend ();
  const td_vulkan_device_info *d = td_vulkan_backend_device (b);
  if (d->coopmat_enabled)
    {
      g_test_skip ("the device runs CONV2D on cooperative matrices");
      return;
    }
  bool emulated = d->coopmat_emulated;
  if (emulated)
    g_assert_true (td_vulkan_set_coopmat_emulation (b, false));
  const char *saved = d->tile_name;
  for (const char *shape = "64x64"; shape != NULL; shape = strcmp (shape, "64x64") == 0 ? "128x64"
                                                         : strcmp (shape, "128x64") == 0 ? "128x128"
                                                                                        : NULL)
    {
      g_assert_true (td_vulkan_set_tile (b, shape));
      check_conv (&conv_cases[1]);
      check_conv (&conv_cases[2]);
      check_conv (&conv_cases[9]);
      check_conv (&exact_f32_case);
    }
  g_assert_true (td_vulkan_set_tile (b, saved));
  if (emulated)
    g_assert_true (td_vulkan_set_coopmat_emulation (b, true));
  vk_test_assert_no_validation_messages ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vulkan/conv2d-coopmat/choice", test_choice);
  g_test_add_func ("/vulkan/conv2d-coopmat/emulated", test_emulated);
  g_test_add_func ("/vulkan/conv2d-coopmat/hardware", test_hardware);
  g_test_add_func ("/vulkan/conv2d-coopmat/scalar-tiles", test_scalar_tiles);
  return g_test_run ();
}
