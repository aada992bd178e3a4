/* vulkan_matmul.c — the kernel choice for MATMUL: (weight format × path). The
 * variants are built by shaders/meson.build under the names made here. */
#include "backend/vulkan/vulkan_matmul.h"
#include "backend/vulkan/vulkan_coopmat.h"

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
  bool coopmat_path = (coopmat || emulate) && (w_dtype == TD_F16 || w_dtype == TD_BF16);
  /* fp8 and block formats exist as word-reading (p32) variants only. */
  const char *storage = plain && storage_16bit ? "s16" : "p32";
  if (m <= TD_VK_GEMV_MAX_M && !coopmat_path)
    {
      snprintf (out, size, "matmul_vec_%s_%s", td_dtype_name (w_dtype), storage);
      return TD_VK_MATMUL_GEMV;
    }
  if (plain)
    {
      td_vk_matmul_variant (out, size, coopmat, emulate, w_dtype, storage_16bit);
      return coopmat_path ? TD_VK_MATMUL_COOPMAT : TD_VK_MATMUL_GEMM;
    }
  snprintf (out, size, "matmul_%s_p32", td_dtype_name (w_dtype));
  return TD_VK_MATMUL_GEMM;
}
