/* vulkan_conv2d.h — which kernel runs a CONV2D op: conv2d_coopmat.comp (the
 * implicit GEMM on cooperative matrices, 64×64 outputs per workgroup) for f16 and
 * bf16 weights where the matmul family's coopmat path is enabled or emulated and
 * the device has 16-bit storage (f32 weights stay exact, as for MATMUL), else the scalar conv2d.comp in the device's tile (vulkan_tile_table.h)
 * where that shape is built and its grid fits, else its 64×64 tile.
 * Pure so that tests can feed it invented devices. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"

/* What the choice reads of a device. */
typedef struct td_vk_conv2d_device {
  bool coopmat;       /* the coopmat path is enabled (info.coopmat_enabled) */
  bool emulate;       /* TD_VULKAN_EMULATE_COOPMAT: the emulated kernel */
  bool uses_khr;      /* the device runs the KHR kernels rather than the NV ones */
  bool storage_16bit;
  uint32_t tile_m, tile_n; /* the tiled GEMM's tile (tile_m output channels × tile_n pixels) */
} td_vk_conv2d_device;

typedef struct td_vk_conv2d_kernel {
  char variant[64];
  bool coopmat;
  uint32_t channels_per_group, pixels_per_group; /* grid: (pixel tiles, channel tiles, 1) */
} td_vk_conv2d_kernel;

/* The kernel for weights of w_dtype (f32, f16 or bf16), cout output channels and
 * `pixels` output pixels over the batch; `exists` says whether a variant was built. */
td_vk_conv2d_kernel td_vk_conv2d_choose (const td_vk_conv2d_device *device, td_dtype w_dtype, int64_t cout,
                                         int64_t pixels, bool (*exists) (const char *variant));
