/* vulkan_coopmat2_check.c — the self-test of the VK_NV_cooperative_matrix2 matmul
 * kernel at backend setup (see vulkan_coopmat2.h): per weight format, one GEMM on
 * NV2 and one on the subgroup-scope path, compared; NV2 stays on only when all
 * agree. */
#include "backend/ops.h"
#include "backend/vulkan/vulkan_coopmat2.h"
#include "backend/vulkan/vulkan_internal.h"
#include "core/quant_encode.h"
#include "core/tensor.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Odd sizes past one 128×128 tile (and two 64×64 ones), a batch of two with
 * weights per batch entry, K a whole number of the largest blocks (256). */
enum { CHECK_BATCH = 2, CHECK_M = 131, CHECK_N = 135, CHECK_K = 256 };
/* One row of x is scaled past f16's range (65504), as T5-XXL's activations are. */
#define CHECK_WIDE_ROW 7
#define CHECK_WIDE_SCALE 1.0e5f

static uint32_t
next_random (uint64_t *state)
{
  *state = *state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t) (*state >> 33);
}

/* Uniform in [-1, 1). */
static float
uniform (uint64_t *state)
{
  return (float) (next_random (state) / 1073741824.0 - 1.0);
}

/* A finite fp8 byte (e4m3's 0x7f/0xff and e5m2's all-ones exponent are NaN or Inf). */
static uint8_t
finite_fp8 (td_dtype dtype, uint8_t byte)
{
  if (dtype == TD_F8_E4M3 && (byte & 0x7f) == 0x7f)
    return byte ^ 1;
  if (dtype == TD_F8_E5M2 && ((byte >> 2) & 0x1f) == 0x1f)
    return byte & ~0x40;
  return byte;
}

/* n weights of dtype as stored (rows of CHECK_K), near uniform [-1, 1]; NULL when out of memory. */
static void *
random_weights (td_dtype dtype, size_t n, uint64_t *state, size_t *bytes)
{
  if (!td_dtype_nbytes (dtype, (int64_t) n, bytes))
    return NULL;
  uint8_t *raw = malloc (*bytes);
  float *values = malloc (n * sizeof *values);
  if (raw == NULL || values == NULL)
    {
      free (raw);
      free (values);
      return NULL;
    }
  for (size_t i = 0; i < n; i++)
    values[i] = uniform (state);
  if (dtype == TD_F8_E4M3 || dtype == TD_F8_E5M2)
    for (size_t i = 0; i < n; i++)
      raw[i] = finite_fp8 (dtype, (uint8_t) next_random (state));
  else if (td_quantize_supported (dtype))
    for (size_t row = 0; row < n / CHECK_K; row++)
      td_quantize_row (raw + row * (*bytes / (n / CHECK_K)), values + row * CHECK_K, dtype, CHECK_K);
  else
    td_convert_from_f32 (raw, dtype, values, n);
  free (values);
  return raw;
}

static uint64_t
tensor_address (const td_tensor *t)
{
  const td_vk_allocation *a = t->buffer->impl;
  return a->block->address + a->offset + t->offset;
}

typedef struct check_tensors {
  td_tensor *x, *w, *bias, *y;
  float *ref, *cand, *poison;
} check_tensors;

static void
check_tensors_free (check_tensors *t)
{
  td_tensor_free (t->x);
  td_tensor_free (t->w);
  td_tensor_free (t->bias);
  td_tensor_free (t->y);
  free (t->ref);
  free (t->cand);
  free (t->poison);
}

static td_status
check_tensors_new (td_backend *b, td_dtype dtype, uint64_t *state, check_tensors *t, td_error *err)
{
  memset (t, 0, sizeof *t);
  const size_t x_count = (size_t) CHECK_BATCH * CHECK_M * CHECK_K, w_count = (size_t) CHECK_BATCH * CHECK_N * CHECK_K;
  const size_t y_count = (size_t) CHECK_BATCH * CHECK_M * CHECK_N;
  const int64_t xs[3] = { CHECK_BATCH, CHECK_M, CHECK_K }, ws[3] = { CHECK_BATCH, CHECK_N, CHECK_K };
  const int64_t ys[3] = { CHECK_BATCH, CHECK_M, CHECK_N }, bs[1] = { CHECK_N };
  float *x = malloc (x_count * sizeof *x), bias[CHECK_N];
  size_t w_bytes = 0;
  void *w = random_weights (dtype, w_count, state, &w_bytes);
  t->ref = malloc (y_count * sizeof (float));
  t->cand = malloc (y_count * sizeof (float));
  t->poison = malloc (y_count * sizeof (float));
  td_status status = TD_OK;
  if (x == NULL || w == NULL || t->ref == NULL || t->cand == NULL || t->poison == NULL)
    status = td_error_set (err, TD_ERR_NO_MEMORY, "out of memory");
  if (status == TD_OK)
    {
      for (size_t i = 0; i < x_count; i++)
        x[i] = uniform (state) * ((i / CHECK_K) % CHECK_M == CHECK_WIDE_ROW ? CHECK_WIDE_SCALE : 1.0f);
      for (int i = 0; i < CHECK_N; i++)
        bias[i] = uniform (state);
      /* Outputs the kernel does not write stay NaN and fail the comparison. */
      for (size_t i = 0; i < y_count; i++)
        t->poison[i] = NAN;
      if ((t->x = td_tensor_new (b, TD_F32, 3, xs, err)) == NULL || (t->w = td_tensor_new (b, dtype, 3, ws, err)) == NULL
          || (t->bias = td_tensor_new (b, TD_F32, 1, bs, err)) == NULL
          || (t->y = td_tensor_new (b, TD_F32, 3, ys, err)) == NULL)
        status = err != NULL && err->status != TD_OK ? err->status : TD_ERR_DEVICE;
    }
  if (status == TD_OK)
    status = td_tensor_upload (t->x, x, x_count * sizeof *x, err);
  if (status == TD_OK)
    status = td_tensor_upload (t->w, w, w_bytes, err);
  if (status == TD_OK)
    status = td_tensor_upload (t->bias, bias, sizeof bias, err);
  free (x);
  free (w);
  return status;
}

/* y = x · wᵀ + bias on the path NV2's state chooses, y first filled with NaN. */
static td_status
run_into (td_backend *b, check_tensors *t, bool nv2, float *out, td_error *err)
{
  td_vk_context *ctx = b->impl;
  const size_t y_bytes = (size_t) CHECK_BATCH * CHECK_M * CHECK_N * sizeof (float);
  ctx->info.coopmat2_enabled = nv2;
  td_status status = td_tensor_upload (t->y, t->poison, y_bytes, err);
  if (status == TD_OK)
    status = td_matmul (b, t->y, t->x, t->w, t->bias, err);
  if (status == TD_OK)
    status = td_tensor_download (t->y, out, y_bytes, err);
  return status;
}

static void
set_why (td_vk_context *ctx, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  vsnprintf (ctx->info.coopmat2_why, sizeof ctx->info.coopmat2_why, format, args);
  va_end (args);
}

/* One format: true when NV2 agrees with the subgroup-scope path, else false with
 * the reason in coopmat2_why. */
static bool
check_format (td_backend *b, td_dtype dtype, uint64_t *state)
{
  td_vk_context *ctx = b->impl;
  const char *name = td_dtype_name (dtype);
  char variant[64];
  if (ctx->coopmat2_candidate != NULL)
    ctx->coopmat2_candidate->variant_for (variant, sizeof variant, dtype);
  else
    td_vk_coopmat2_variant (variant, sizeof variant, dtype);
  if (!td_vk_shader_exists (variant))
    {
      set_why (ctx, "self-test: no kernel %s in this build", variant);
      return false;
    }
  check_tensors t;
  td_error err = { 0 };
  td_status status = check_tensors_new (b, dtype, state, &t, &err);
  bool aligned = status == TD_OK
                 && td_vk_coopmat2_applies (true, CHECK_M, dtype, tensor_address (t.x), tensor_address (t.w),
                                            tensor_address (t.y));
  if (status == TD_OK && !aligned)
    {
      set_why (ctx, "self-test: its tensors are not 16-byte aligned, so %s would not run", variant);
      check_tensors_free (&t);
      return false;
    }
  if (status == TD_OK)
    status = run_into (b, &t, false, t.ref, &err);
  if (status == TD_OK)
    status = run_into (b, &t, true, t.cand, &err);
  bool agree = false;
  int64_t row = 0, col = 0;
  if (status != TD_OK)
    set_why (ctx, "self-test: %s weights failed: %s", name, err.message);
  else if (!(agree = td_vk_coopmat2_outputs_agree (t.cand, t.ref, CHECK_BATCH * CHECK_M, CHECK_N, &row, &col)))
    set_why (ctx, "self-test: %s differs from the kernel it replaces for %s weights at [%lld, %lld, %lld]: %g, not %g",
             variant, name, (long long) (row / CHECK_M), (long long) (row % CHECK_M), (long long) col,
             (double) t.cand[row * CHECK_N + col], (double) t.ref[row * CHECK_N + col]);
  check_tensors_free (&t);
  return agree;
}

bool
td_vk_coopmat2_self_test (td_backend *backend)
{
  td_vk_context *ctx = backend->impl;
  uint64_t state = 0x7464636d32ull; /* fixed: the same inputs on every run */
  bool passed = true;
  for (int i = 0; i < td_vk_coopmat2_format_count && passed; i++)
    passed = check_format (backend, td_vk_coopmat2_formats[i], &state);
  ctx->info.coopmat2_enabled = passed;
  ctx->info.coopmat2_checked = true;
  if (passed)
    set_why (ctx, "self-test passed (%d weight formats)", td_vk_coopmat2_format_count);
  else
    fprintf (stderr, "vulkan: %s: VK_NV_cooperative_matrix2 kernel turned off: %s\n", ctx->info.name,
             ctx->info.coopmat2_why);
  return passed;
}

bool
td_vulkan_coopmat2_check_with (td_backend *backend, const td_vk_coopmat2_candidate *candidate)
{
  td_vk_context *ctx = backend->impl;
  if (!ctx->info.storage_16bit)
    return false;
  ctx->coopmat2_candidate = candidate;
  ctx->info.coopmat2_available = true;
  td_vk_coopmat2_self_test (backend);
  return true;
}
