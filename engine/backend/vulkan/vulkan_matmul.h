/* vulkan_matmul.h — which kernel of the matmul family runs a MATMUL op
 * (shaders/matmul_vec.comp describes the family). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"

/* Inputs of at most this many rows (per batch) take the GEMV path. */
#define TD_VK_GEMV_MAX_M 4
/* Weight rows per GEMV workgroup (VEC_ROWS in matmul_vec.comp). */
#define TD_VK_GEMV_ROWS 2

typedef enum td_vk_matmul_path {
  TD_VK_MATMUL_GEMM,    /* tiled, 64×64 outputs per workgroup */
  TD_VK_MATMUL_COOPMAT, /* cooperative-matrix GEMM (every format but f32), its shape's grid (vulkan_tile_table.h) */
  TD_VK_MATMUL_GEMV,    /* VEC_ROWS outputs per workgroup, all rows of x */
} td_vk_matmul_path;

/* True for the weight formats the family decodes. */
bool td_vk_matmul_format_supported (td_dtype w_dtype);
/* The path for m rows per batch, and the shader variant's name. */
td_vk_matmul_path td_vk_matmul_kernel (char *out, size_t size, int64_t m, bool coopmat, bool emulate, td_dtype w_dtype,
                                       bool storage_16bit);
