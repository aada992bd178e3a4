/* The VK_NV_cooperative_matrix2 matmul: when it is chosen (on invented devices),
 * where MATMUL sends a call, the self-test's comparison, and the self-test run on
 * this device with a substituted kernel — matmul_coopmat2.comp with its matrix
 * operations emulated (it must pass), one decoding the wrong format, one
 * launched on the wrong grid and one that does not exist (each must turn NV2 off
 * with its reason). On a device
 * with NV2 the real kernel's self-test must pass (tests/vulkan/gpu-check.sh). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/vulkan/vulkan_coopmat2.h"
#include "backend/vulkan/vulkan_internal.h"
#include "backend/vulkan/vulkan_matmul.h"
#include "backend/ops.h"
#include "backend/vulkan/vulkan_shaders.h"
#include "core/quant_encode.h"
#include "op-check.h"
#include "thinkdiff-engine.h"

#define F16 VK_COMPONENT_TYPE_FLOAT16_KHR
#define F32 VK_COMPONENT_TYPE_FLOAT32_KHR

static VkCooperativeMatrixFlexibleDimensionsPropertiesNV
flexible (uint32_t mg, uint32_t ng, uint32_t kg, VkComponentTypeKHR ab, VkComponentTypeKHR cd, VkScopeKHR scope,
          uint32_t invocations)
{
  return (VkCooperativeMatrixFlexibleDimensionsPropertiesNV) {
    .sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_FLEXIBLE_DIMENSIONS_PROPERTIES_NV,
    .MGranularity = mg, .NGranularity = ng, .KGranularity = kg, .AType = ab, .BType = ab, .CType = cd,
    .ResultType = cd, .scope = scope, .workgroupInvocations = invocations,
  };
}

/* An invented NVIDIA-like device: f16 workgroup-scope configurations for 128 and
 * 256 invocations in granules of 16, everything the kernel needs. */
static td_vk_coopmat2_caps
nvidia_like (void)
{
  static VkCooperativeMatrixFlexibleDimensionsPropertiesNV configs[3];
  configs[0] = flexible (16, 16, 16, F16, F16, VK_SCOPE_WORKGROUP_KHR, 128);
  configs[1] = flexible (16, 16, 16, F16, F32, VK_SCOPE_WORKGROUP_KHR, 128);
  configs[2] = flexible (16, 16, 16, F16, F32, VK_SCOPE_WORKGROUP_KHR, 256);
  return (td_vk_coopmat2_caps) {
    .extension = true, .workgroup_scope = true, .flexible_dimensions = true, .per_element = true,
    .tensor_addressing = true, .block_loads = true, .max_workgroup_size = 1024, .max_dimension = 256,
    .reserved_shared_memory = 8192, .max_shared_memory = 49152, .khr_extension = true, .vulkan_1_3 = true,
    .coopmat_enabled = true, .configs = configs, .config_count = 3, .shaders_built = true,
  };
}

static void
assert_unavailable (const td_vk_coopmat2_caps *caps, const char *reason_part)
{
  td_vk_coopmat2_choice choice = td_vk_coopmat2_decide (caps, TD_VK_COOPMAT2_DEFAULT);
  g_assert_false (choice.available);
  g_assert_false (choice.enabled);
  g_assert_nonnull (choice.reason);
  g_assert_nonnull (strstr (choice.reason, reason_part));
}

static void
test_decide (void)
{
  td_vk_coopmat2_caps caps = nvidia_like ();
  td_vk_coopmat2_choice choice = td_vk_coopmat2_decide (&caps, TD_VK_COOPMAT2_DEFAULT);
  g_assert_true (choice.available);
  g_assert_true (choice.enabled);
  g_assert_null (choice.reason);
  choice = td_vk_coopmat2_decide (&caps, TD_VK_COOPMAT2_REQUIRE);
  g_assert_true (choice.enabled);
  choice = td_vk_coopmat2_decide (&caps, TD_VK_COOPMAT2_OFF);
  g_assert_true (choice.available);
  g_assert_false (choice.enabled);
  g_assert_nonnull (strstr (choice.reason, "TD_VULKAN_COOPMAT2=0"));

  caps = nvidia_like (), caps.shaders_built = false;
  assert_unavailable (&caps, "glslang");
  caps = nvidia_like (), caps.extension = false;
  assert_unavailable (&caps, "no VK_NV_cooperative_matrix2");
  /* The subgroup-scope path's own reason comes through (e.g. TD_VULKAN_COOPMAT=0). */
  caps = nvidia_like (), caps.coopmat_enabled = false, caps.coopmat_reason = "turned off with TD_VULKAN_COOPMAT=0";
  assert_unavailable (&caps, "TD_VULKAN_COOPMAT=0");
  caps = nvidia_like (), caps.coopmat_enabled = false;
  assert_unavailable (&caps, "falls back to is off");
  caps = nvidia_like (), caps.khr_extension = false;
  assert_unavailable (&caps, "no VK_KHR_cooperative_matrix");
  caps = nvidia_like (), caps.vulkan_1_3 = false;
  assert_unavailable (&caps, "Vulkan 1.3");
  caps = nvidia_like (), caps.workgroup_scope = false;
  assert_unavailable (&caps, "workgroup-scope");
  caps = nvidia_like (), caps.flexible_dimensions = false;
  assert_unavailable (&caps, "flexible-dimension");
  caps = nvidia_like (), caps.per_element = false;
  assert_unavailable (&caps, "per-element");
  caps = nvidia_like (), caps.tensor_addressing = false;
  assert_unavailable (&caps, "tensor addressing");
  caps = nvidia_like (), caps.block_loads = false;
  assert_unavailable (&caps, "block loads");
  caps = nvidia_like (), caps.max_workgroup_size = 128;
  assert_unavailable (&caps, "fewer than 256 invocations");
  caps = nvidia_like (), caps.max_dimension = 64;
  assert_unavailable (&caps, "128x128 tile");
  caps = nvidia_like (), caps.reserved_shared_memory = 49152 - TD_VK_COOPMAT2_SHARED_BYTES + 1;
  assert_unavailable (&caps, "shared memory");
  caps = nvidia_like (), caps.reserved_shared_memory = 49152 - TD_VK_COOPMAT2_SHARED_BYTES;
  g_assert_true (td_vk_coopmat2_decide (&caps, TD_VK_COOPMAT2_DEFAULT).available);
  caps = nvidia_like (), caps.config_count = 2; /* only 128-invocation configurations */
  assert_unavailable (&caps, "256 invocations");
  caps = nvidia_like (), caps.configs = NULL, caps.config_count = 0;
  assert_unavailable (&caps, "configuration");
}

static void
test_config_offered (void)
{
  VkCooperativeMatrixFlexibleDimensionsPropertiesNV c[1];
  c[0] = flexible (16, 16, 16, F16, F32, VK_SCOPE_WORKGROUP_KHR, 256);
  g_assert_true (td_vk_coopmat2_config_offered (c, 1, 256, 128, 128, 32));
  g_assert_false (td_vk_coopmat2_config_offered (c, 0, 256, 128, 128, 32));
  g_assert_false (td_vk_coopmat2_config_offered (c, 1, 128, 128, 128, 32));
  /* Granularities must divide the tile. */
  g_assert_false (td_vk_coopmat2_config_offered (c, 1, 256, 120, 128, 32));
  c[0] = flexible (16, 16, 64, F16, F32, VK_SCOPE_WORKGROUP_KHR, 256);
  g_assert_false (td_vk_coopmat2_config_offered (c, 1, 256, 128, 128, 32));
  c[0] = flexible (0, 16, 16, F16, F32, VK_SCOPE_WORKGROUP_KHR, 256);
  g_assert_false (td_vk_coopmat2_config_offered (c, 1, 256, 128, 128, 32));
  c[0] = flexible (16, 16, 16, F16, F16, VK_SCOPE_WORKGROUP_KHR, 256);
  g_assert_false (td_vk_coopmat2_config_offered (c, 1, 256, 128, 128, 32));
  c[0] = flexible (16, 16, 16, F16, F32, VK_SCOPE_SUBGROUP_KHR, 256);
  g_assert_false (td_vk_coopmat2_config_offered (c, 1, 256, 128, 128, 32));
  c[0] = flexible (16, 16, 16, VK_COMPONENT_TYPE_BFLOAT16_KHR, F32, VK_SCOPE_WORKGROUP_KHR, 256);
  g_assert_false (td_vk_coopmat2_config_offered (c, 1, 256, 128, 128, 32));
}

static void
test_env_and_variant (void)
{
  g_assert_cmpint (td_vk_coopmat2_env_mode (NULL), ==, TD_VK_COOPMAT2_DEFAULT);
  g_assert_cmpint (td_vk_coopmat2_env_mode ("1"), ==, TD_VK_COOPMAT2_DEFAULT);
  g_assert_cmpint (td_vk_coopmat2_env_mode (""), ==, TD_VK_COOPMAT2_DEFAULT);
  g_assert_cmpint (td_vk_coopmat2_env_mode ("0"), ==, TD_VK_COOPMAT2_OFF);
  g_assert_cmpint (td_vk_coopmat2_env_mode ("require"), ==, TD_VK_COOPMAT2_REQUIRE);
  char name[64];
  td_vk_coopmat2_variant (name, sizeof name, TD_Q4_K);
  g_assert_cmpstr (name, ==, "matmul_coopmat2_q4_K");
  td_vk_coopmat2_variant (name, sizeof name, TD_BF16);
  g_assert_cmpstr (name, ==, "matmul_coopmat2_bf16");
  /* Built together or not at all, as the compiler allows. */
  for (int i = 0; i < td_vk_coopmat2_format_count; i++)
    {
      td_vk_coopmat2_variant (name, sizeof name, td_vk_coopmat2_formats[i]);
      g_assert_cmpint (td_vk_shader_exists (name), ==, td_vk_shader_compiler_features.nv_coopmat2);
      g_snprintf (name, sizeof name, "matmul_coopmat2_emu_%s", td_dtype_name (td_vk_coopmat2_formats[i]));
      g_assert_true (td_vk_shader_exists (name));
    }
}

static void
test_applies (void)
{
  const uint64_t a = 0x10000;
  g_assert_true (td_vk_coopmat2_applies (true, TD_VK_GEMV_MAX_M + 1, TD_BF16, a, a + 256, a + 512));
  g_assert_false (td_vk_coopmat2_applies (false, 4096, TD_BF16, a, a, a));
  g_assert_false (td_vk_coopmat2_applies (true, TD_VK_GEMV_MAX_M, TD_BF16, a, a, a));
  g_assert_false (td_vk_coopmat2_applies (true, 4096, TD_F32, a, a, a));
  g_assert_false (td_vk_coopmat2_applies (true, 4096, TD_Q4_K, a + 4, a, a));
  g_assert_false (td_vk_coopmat2_applies (true, 4096, TD_Q4_K, a, a + 8, a));
  g_assert_false (td_vk_coopmat2_applies (true, 4096, TD_Q4_K, a, a, a + 12));
  g_assert_true (td_vk_coopmat2_applies (true, 4096, TD_Q4_K, a + 16, a + 32, a + 48));
}

static void
test_outputs_agree (void)
{
  /* Row 0's largest |ref| is 64: tolerance 1 + 1e-6. Row 1's is 1: 1/64. */
  float ref[2][3] = { { 64, -3, 0.5f }, { 1, 0.25f, -0.5f } };
  float cand[2][3];
  int64_t row = -1, col = -1;
  memcpy (cand, ref, sizeof cand);
  g_assert_true (td_vk_coopmat2_outputs_agree (&cand[0][0], &ref[0][0], 2, 3, &row, &col));
  cand[0][1] = -3 + 0.99f;
  g_assert_true (td_vk_coopmat2_outputs_agree (&cand[0][0], &ref[0][0], 2, 3, &row, &col));
  cand[0][1] = -3 + 1.01f;
  g_assert_false (td_vk_coopmat2_outputs_agree (&cand[0][0], &ref[0][0], 2, 3, &row, &col));
  g_assert_cmpint (row, ==, 0);
  g_assert_cmpint (col, ==, 1);
  memcpy (cand, ref, sizeof cand);
  cand[1][2] = -0.5f + 0.02f;
  g_assert_false (td_vk_coopmat2_outputs_agree (&cand[0][0], &ref[0][0], 2, 3, &row, &col));
  g_assert_cmpint (row, ==, 1);
  g_assert_cmpint (col, ==, 2);
  /* An output left unwritten (NaN) or infinite fails; the same Inf or NaN on both passes. */
  memcpy (cand, ref, sizeof cand);
  cand[1][0] = NAN;
  g_assert_false (td_vk_coopmat2_outputs_agree (&cand[0][0], &ref[0][0], 2, 3, &row, &col));
  cand[1][0] = INFINITY;
  g_assert_false (td_vk_coopmat2_outputs_agree (&cand[0][0], &ref[0][0], 2, 3, &row, &col));
  ref[1][0] = cand[1][0] = INFINITY;
  g_assert_true (td_vk_coopmat2_outputs_agree (&cand[0][0], &ref[0][0], 2, 3, &row, &col));
  ref[1][0] = cand[1][0] = NAN;
  g_assert_true (td_vk_coopmat2_outputs_agree (&cand[0][0], &ref[0][0], 2, 3, &row, &col));
  cand[1][0] = INFINITY;
  g_assert_false (td_vk_coopmat2_outputs_agree (&cand[0][0], &ref[0][0], 2, 3, &row, &col));
}

/* Every listed device says what NV2 does there and why; TD_VULKAN_COOPMAT2=0 and
 * TD_VULKAN_COOPMAT=0 turn it off where it was available. */
static void
test_device_listing (void)
{
  vk_test_backend (); /* skips the test program on a machine without Vulkan */
  char *saved = g_strdup (g_getenv ("TD_VULKAN_COOPMAT2")), *saved_coopmat = g_strdup (g_getenv ("TD_VULKAN_COOPMAT"));
  for (int pass = 0; pass < 3; pass++)
    {
      g_unsetenv ("TD_VULKAN_COOPMAT2");
      g_unsetenv ("TD_VULKAN_COOPMAT");
      if (pass == 1)
        g_setenv ("TD_VULKAN_COOPMAT2", "0", TRUE);
      if (pass == 2)
        g_setenv ("TD_VULKAN_COOPMAT", "0", TRUE);
      td_vulkan_device_info *devices;
      int count;
      td_error err;
      g_assert_cmpint (td_vulkan_list_devices (&devices, &count, &err), ==, TD_OK);
      for (int i = 0; i < count; i++)
        {
          const td_vulkan_device_info *d = &devices[i];
          g_test_message ("%s: NV2 available %d enabled %d (%s)", d->name, d->coopmat2_available,
                          d->coopmat2_enabled, d->coopmat2_why);
          g_assert_cmpuint (strlen (d->coopmat2_why), >, 0);
          g_assert_true (!d->coopmat2_enabled || d->coopmat2_available);
          g_assert_true (!d->coopmat2_available || d->coopmat2_nv);
          g_assert_false (d->coopmat2_checked); /* the self-test runs on backends only */
          if (pass == 1 && d->coopmat2_available)
            g_assert_nonnull (strstr (d->coopmat2_why, "TD_VULKAN_COOPMAT2=0"));
          if (pass >= 1)
            g_assert_false (d->coopmat2_enabled);
        }
      free (devices);
    }
  saved != NULL ? g_setenv ("TD_VULKAN_COOPMAT2", saved, TRUE) : g_unsetenv ("TD_VULKAN_COOPMAT2");
  saved_coopmat != NULL ? g_setenv ("TD_VULKAN_COOPMAT", saved_coopmat, TRUE) : g_unsetenv ("TD_VULKAN_COOPMAT");
  g_free (saved);
  g_free (saved_coopmat);

  /* `thinkdiff devices` prints one NV2 line per usable device. */
  char *report = NULL;
  td_error err;
  g_assert_cmpint (td_devices_report (&report, &err), ==, TD_OK);
  g_assert_nonnull (strstr (report, "NV cooperative matrix 2 matmul: "));
  td_free (report);
}

/* Candidates for the self-test on devices without NV2: matmul_coopmat2.comp with its
 * matrix operations emulated (128×128 tiles), and the subgroup-scope kernel's
 * emulated form (64×64). */
static void
emulated_nv2_kernel (char *out, size_t size, td_dtype w_dtype)
{
  g_snprintf (out, size, "matmul_coopmat2_emu_%s", td_dtype_name (w_dtype));
}

static void
emulated_kernel (char *out, size_t size, td_dtype w_dtype)
{
  g_snprintf (out, size, "matmul_coopmat_emu_%s", td_dtype_name (w_dtype));
}

/* Right for every format but bf16, whose bytes it decodes as fp8. */
static void
wrong_decode (char *out, size_t size, td_dtype w_dtype)
{
  emulated_nv2_kernel (out, size, w_dtype == TD_BF16 ? TD_F8_E4M3 : w_dtype);
}

static void
missing_kernel (char *out, size_t size, td_dtype w_dtype)
{
  g_snprintf (out, size, "matmul_coopmat_emu_%s_missing", td_dtype_name (w_dtype));
}

/* A fresh backend per case: the self-test changes the device's NV2 state. */
static td_backend *
fresh_backend (void)
{
  vk_test_backend (); /* skips the test program on a machine without Vulkan */
  td_error err = { 0 };
  td_backend *b = td_backend_vulkan_new (-1, &err);
  if (b == NULL)
    g_error ("creating a Vulkan backend: %s", err.message);
  return b;
}

/* Runs the self-test with `candidate`; false (test skipped) where the emulated kernels cannot run. */
static bool
self_test_with (td_backend *b, const td_vk_coopmat2_candidate *candidate)
{
  if (td_vk_coopmat2_applies (td_vulkan_backend_device (b)->coopmat2_enabled, 1000, TD_BF16, 0, 0, 0))
    {
      /* A device with NV2: its own kernel was checked at setup (hardware test). */
      g_test_skip ("the device runs NV2 itself");
      return false;
    }
  if (!td_vulkan_coopmat2_check_with (b, candidate))
    {
      g_test_skip ("no 16-bit storage: the emulated kernels cannot run");
      return false;
    }
  return true;
}

static void
test_self_test_passes (void)
{
  td_backend *b = fresh_backend ();
  const td_vk_coopmat2_candidate emulated = { .variant_for = emulated_nv2_kernel, .tile_m = 128, .tile_n = 128 };
  if (self_test_with (b, &emulated))
    {
      const td_vulkan_device_info *d = td_vulkan_backend_device (b);
      g_assert_true (d->coopmat2_checked);
      if (!d->coopmat2_enabled)
        g_error ("the self-test failed on the emulated kernel: %s", d->coopmat2_why);
      g_assert_nonnull (strstr (d->coopmat2_why, "self-test passed"));
    }
  td_backend_free (b);
  vk_test_assert_no_validation_messages ();
}

static void
check_turned_off (const td_vk_coopmat2_candidate *candidate, const char *const *why_parts)
{
  td_backend *b = fresh_backend ();
  if (self_test_with (b, candidate))
    {
      const td_vulkan_device_info *d = td_vulkan_backend_device (b);
      g_assert_true (d->coopmat2_checked);
      g_assert_false (d->coopmat2_enabled);
      for (int i = 0; why_parts[i] != NULL; i++)
        if (strstr (d->coopmat2_why, why_parts[i]) == NULL)
          g_error ("'%s' is not in the self-test's reason: %s", why_parts[i], d->coopmat2_why);
      /* Off means MATMUL no longer goes there. */
      g_assert_false (td_vk_coopmat2_applies (d->coopmat2_enabled, 1000, TD_BF16, 0, 0, 0));
    }
  td_backend_free (b);
  vk_test_assert_no_validation_messages ();
}

static void
test_self_test_wrong_decode (void)
{
  const td_vk_coopmat2_candidate wrong = { .variant_for = wrong_decode, .tile_m = 128, .tile_n = 128 };
  const char *const parts[] = { "matmul_coopmat2_emu_f8_e4m3", "bf16 weights", "differs", NULL };
  check_turned_off (&wrong, parts);
}

/* The right 64×64 kernel launched on a grid for 128×128 tiles leaves y's ragged edges unwritten (NaN). */
static void
test_self_test_wrong_grid (void)
{
  const td_vk_coopmat2_candidate wrong = { .variant_for = emulated_kernel, .tile_m = 128, .tile_n = 128 };
  const char *const parts[] = { "f16 weights", "differs", "nan", NULL };
  check_turned_off (&wrong, parts);
}

static void
test_self_test_missing_kernel (void)
{
  const td_vk_coopmat2_candidate missing = { .variant_for = missing_kernel, .tile_m = 64, .tile_n = 64 };
  const char *const parts[] = { "no kernel matmul_coopmat_emu_f16_missing", NULL };
  check_turned_off (&missing, parts);
}

/* y = act(x · wᵀ + bias) on the emulated NV2 kernel (set by a passing self-test) against
 * a double-precision reference, y placed 256 bytes into a buffer whose other
 * elements are sentinels (aligned, so the NV2 kernel takes it; the sentinels catch
 * stores past the ragged edges). */
#define SENTINEL 12345.0f
#define GUARD 64

static double
gelu (double v)
{
  return 0.5 * v * (1.0 + erf (v / sqrt (2.0)));
}

static void
check_emulated_case (td_dtype dtype, int64_t batch, int64_t m, int64_t n, int64_t k, bool bias, bool activate,
                     float wide_scale)
{
  td_backend *b = vk_test_backend ();
  td_error err = { 0 };
  float *x = g_new (float, batch * m * k), *w = g_new (float, batch * n * k), *bv = g_new (float, n);
  vk_random_fill (x, batch * m * k, -1, 1);
  vk_random_fill (w, batch * n * k, -1, 1);
  vk_random_fill (bv, n, -1, 1);
  for (int64_t i = 0; i < k; i++)
    x[1 * k + i] *= wide_scale; /* row 1 of batch entry 0 */
  size_t w_bytes;
  g_assert_true (td_dtype_nbytes (dtype, batch * n * k, &w_bytes));
  guint8 *raw = g_malloc (w_bytes);
  if (td_quantize_supported (dtype))
    for (int64_t r = 0; r < batch * n; r++)
      td_quantize_row (raw + (size_t) r * (w_bytes / (size_t) (batch * n)), w + r * k, dtype, (size_t) k);
  else
    g_assert_true (td_convert_from_f32 (raw, dtype, w, (size_t) (batch * n * k)));
  td_convert_to_f32 (w, raw, dtype, (size_t) (batch * n * k)); /* the values the kernel reads */
  vk_round_to_dtype (bv, n, TD_F16);

  int64_t xs[3] = { batch, m, k }, ws[3] = { batch, n, k }, bs[1] = { n }, ys[3] = { batch, m, n };
  td_tensor *tx = vk_tensor_from (b, TD_F32, 3, xs, x);
  td_tensor *tw = td_tensor_new (b, dtype, 3, ws, &err);
  g_assert_nonnull (tw);
  g_assert_cmpint (td_tensor_upload (tw, raw, w_bytes, &err), ==, TD_OK);
  td_tensor *tb = bias ? vk_tensor_from (b, TD_F16, 1, bs, bv) : NULL;
  int64_t y_count = batch * m * n, whole_shape[1] = { y_count + 2 * GUARD };
  float *whole = g_new (float, whole_shape[0]);
  for (int64_t i = 0; i < whole_shape[0]; i++)
    whole[i] = SENTINEL;
  td_tensor *tall = vk_tensor_from (b, TD_F32, 1, whole_shape, whole);
  td_tensor *ty = td_tensor_new_in (tall->buffer, tall->offset + GUARD * sizeof (float), TD_F32, 3, ys, &err);
  g_assert_nonnull (ty);

  td_status status = activate ? td_matmul_act (b, ty, tx, tw, tb, TD_UNARY_GELU, &err)
                              : td_matmul (b, ty, tx, tw, tb, &err);
  if (status != TD_OK)
    g_error ("%s matmul on the emulated NV2 kernel: %s", td_dtype_name (dtype), err.message);
  g_assert_cmpint (td_tensor_download (tall, whole, (size_t) whole_shape[0] * sizeof (float), &err), ==, TD_OK);
  for (int64_t i = 0; i < GUARD; i++)
    {
      g_assert_cmpfloat (whole[i], ==, SENTINEL);
      g_assert_cmpfloat (whole[GUARD + y_count + i], ==, SENTINEL);
    }
  /* Per row, relative to the row's largest reference (row 1 is wide-range). */
  for (int64_t z = 0; z < batch; z++)
    for (int64_t i = 0; i < m; i++)
      {
        double row_max = 0, *ref = g_new (double, n);
        for (int64_t j = 0; j < n; j++)
          {
            double sum = bias ? bv[j] : 0;
            for (int64_t l = 0; l < k; l++)
              sum += (double) x[(z * m + i) * k + l] * w[(z * n + j) * k + l];
            ref[j] = activate ? gelu (sum) : sum;
            row_max = fmax (row_max, fabs (ref[j]));
          }
        for (int64_t j = 0; j < n; j++)
          {
            double got = whole[GUARD + (z * m + i) * n + j];
            if (!(fabs (got - ref[j]) <= 4e-3 * row_max + 1e-5))
              g_error ("%s [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]: %g, want %g",
                       td_dtype_name (dtype), z, i, j, got, ref[j]);
          }
        g_free (ref);
      }
  td_tensor_free (ty);
  td_tensor_free (tall);
  td_tensor_free (tx);
  td_tensor_free (tw);
  td_tensor_free (tb);
  g_free (whole);
  g_free (raw);
  g_free (x);
  g_free (w);
  g_free (bv);
}

static void
test_emulated_kernel_cases (void)
{
  td_backend *b = vk_test_backend ();
  /* Static: the shared backend keeps the candidate for the rest of the program. */
  static const td_vk_coopmat2_candidate emulated = { .variant_for = emulated_nv2_kernel, .tile_m = 128,
                                                     .tile_n = 128 };
  if (!self_test_with (b, &emulated))
    return;
  g_assert_true (td_vulkan_backend_device (b)->coopmat2_enabled);
  /* Ragged M, N and K (K not a multiple of 32), activation and f16 bias. */
  check_emulated_case (TD_F16, 1, 130, 131, 96, true, true, 1);
  /* Batched weights, a few rows past the GEMV limit, a block format. */
  check_emulated_case (TD_Q8_0, 3, 5, 129, 64, false, false, 1);
  /* bf16 weights (scaled per row) and an activation row past f16's range. */
  check_emulated_case (TD_BF16, 2, 67, 45, 40, true, false, 3.0e5f);
  check_emulated_case (TD_Q4_K, 1, 129, 17, 256, true, true, 1);
  vk_test_assert_no_validation_messages ();
}

/* On a device with NV2, the real kernel's self-test passed at setup and passes again. */
static void
test_hardware_self_test (void)
{
  const td_vulkan_device_info *d = td_vulkan_backend_device (vk_test_backend ());
  if (!d->coopmat2_nv)
    {
      g_test_skip ("the device has no VK_NV_cooperative_matrix2");
      return;
    }
  if (!d->coopmat2_available)
    {
      g_test_skip (d->coopmat2_why); /* gpu-check.sh requires this case where the listing says available */
      return;
    }
  g_assert_true (d->coopmat2_checked);
  if (!d->coopmat2_enabled)
    g_error ("NV2 is available but off: %s", d->coopmat2_why);
  g_assert_true (td_vk_coopmat2_self_test (vk_test_backend ()));
  vk_test_assert_no_validation_messages ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vulkan/coopmat2/decide", test_decide);
  g_test_add_func ("/vulkan/coopmat2/config-offered", test_config_offered);
  g_test_add_func ("/vulkan/coopmat2/env-and-variant", test_env_and_variant);
  g_test_add_func ("/vulkan/coopmat2/applies", test_applies);
  g_test_add_func ("/vulkan/coopmat2/outputs-agree", test_outputs_agree);
  g_test_add_func ("/vulkan/coopmat2/device-listing", test_device_listing);
  g_test_add_func ("/vulkan/coopmat2/self-test-passes", test_self_test_passes);
  g_test_add_func ("/vulkan/coopmat2/self-test-wrong-decode", test_self_test_wrong_decode);
  g_test_add_func ("/vulkan/coopmat2/self-test-wrong-grid", test_self_test_wrong_grid);
  g_test_add_func ("/vulkan/coopmat2/self-test-missing-kernel", test_self_test_missing_kernel);
  g_test_add_func ("/vulkan/coopmat2/emulated-kernel-cases", test_emulated_kernel_cases);
  g_test_add_func ("/vulkan/coopmat2/hardware-self-test", test_hardware_self_test);
  int result = g_test_run ();
  td_backend_free (vk_test_backend ());
  return result;
}
