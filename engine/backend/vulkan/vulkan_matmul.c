/* vulkan_matmul.c — the kernel choice for MATMUL: (weight format × path). The
 * variants are built by shaders/meson.build under the names made here. */
#include "backend/vulkan/vulkan_matmul.h"
#include "backend/vulkan/vulkan_coopmat.h"
#include "backend/vulkan/vulkan_internal.h"
#include "backend/vulkan/vulkan_tile_table.h"

#include <stdio.h>

bool
td_vk_matmul_format_supported (td_dtype w_dtype)
{
  return w_dtype == TD_F32 || w_dtype == TD_F16 || w_dtype == TD_BF16 || w_dtype == TD_F8_E4M3
         || w_dtype == TD_F8_E5M2 || td_dtype_is_quantized (w_dtype);
}

td_vk_matmul_path
td_vk_matmul_kernel (char *out, size_t size, int64_t m, bool coopmat, bool emulate, td_dtype w_dtype,
                     bool storage_16bit)
{
  bool plain = w_dtype == TD_F32 || w_dtype == TD_F16 || w_dtype == TD_BF16;
  /* fp8 and block formats exist as word-reading (p32) variants only. */
  const char *storage = plain && storage_16bit ? "s16" : "p32";
  /* A few rows read each weight once: GEMV beats any tile there. */
  if (m <= TD_VK_GEMV_MAX_M)
    {
      snprintf (out, size, "matmul_vec_%s_%s", td_dtype_name (w_dtype), storage);
      return TD_VK_MATMUL_GEMV;
    }
  /* Every format but f32 (kept exact) has a coopmat variant; it reads 16-bit storage. */
  bool coopmat_path = (coopmat || emulate) && w_dtype != TD_F32 && storage_16bit;
  td_vk_matmul_variant (out, size, coopmat, emulate, w_dtype, storage_16bit);
  return coopmat_path ? TD_VK_MATMUL_COOPMAT : TD_VK_MATMUL_GEMM;
}

bool
td_vulkan_set_tile (td_backend *backend, const char *name_or_shape)
{
  td_vk_context *ctx = backend->impl;
  const td_vk_tile_entry *tile = td_vk_tile_find (name_or_shape);
  if (tile == NULL)
    return false;
  ctx->info.tile_name = tile->name;
  ctx->info.tile_why = "set by the program";
  ctx->info.tile_m = tile->tile_m;
  ctx->info.tile_n = tile->tile_n;
  return true;
}

bool
td_vulkan_set_coopmat_tile (td_backend *backend, const char *name)
{
  td_vk_context *ctx = backend->impl;
  if (name == NULL)
    {
      ctx->coopmat_shape_override = NULL;
      return true;
    }
  const td_vk_coopmat_shape *shape = td_vk_coopmat_shape_find (name);
  if (shape == NULL || td_vk_coopmat_shape_shared_bytes (shape) > ctx->info.max_shared_memory)
    return false;
  ctx->coopmat_shape_override = shape;
  return true;
}

const td_vk_coopmat_shape *
td_vk_matmul_coopmat_shape (const td_vk_context *ctx, int64_t m, int64_t n, int64_t batch)
{
  if (ctx->coopmat_shape_override != NULL)
    return ctx->coopmat_shape_override;
  char name[32];
  snprintf (name, sizeof name, "%ux%u", ctx->info.coopmat_tile_m, ctx->info.coopmat_tile_n);
  const td_vk_coopmat_shape *device_shape = td_vk_coopmat_shape_find (name);
  if (device_shape == NULL)
    {
      size_t count;
      device_shape = &td_vk_coopmat_shapes (&count)[0];
    }
  return td_vk_coopmat_shape_for (device_shape, ctx->info.coopmat_tile_forced, m, n, batch, ctx->info.compute_units);
}
