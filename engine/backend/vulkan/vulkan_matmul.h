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
#define TD_VK_GEMV_ROWS 4
/* Split-K: at most this many slices of K, each of at least TD_VK_GEMV_MIN_SPLIT_K
 * elements (a few units per invocation, so the second pass stays small). */
#define TD_VK_GEMV_MAX_SPLITS 16
#define TD_VK_GEMV_MIN_SPLIT_K 1024
/* Workgroups the split-K choice aims for per compute unit. */
#define TD_VK_GEMV_GROUPS_PER_CU 2

typedef enum td_vk_matmul_path {
  TD_VK_MATMUL_GEMM,    /* tiled, 64×64 outputs per workgroup */
  TD_VK_MATMUL_COOPMAT, /* cooperative-matrix GEMM (every format but f32), its shape's grid (vulkan_tile_table.h) */
  TD_VK_MATMUL_GEMV,    /* VEC_ROWS outputs per workgroup, all rows of x */
} td_vk_matmul_path;

/* True for the weight formats the family decodes. */
bool td_vk_matmul_format_supported (td_dtype w_dtype);
/* Slices of K for a GEMV of n weight rows of k over `batch` batches on a device of
 * about compute_units compute units: 1 (no split) when the row groups already
 * fill the device, else enough to reach TD_VK_GEMV_GROUPS_PER_CU workgroups per
 * unit within the limits above. The input's row count does not change the
 * weight traffic, so it takes no part. */
uint32_t td_vk_gemv_splits (int64_t n, int64_t k, int64_t batch, uint32_t compute_units);
/* A guess at the compute units of a device of that type ("discrete", "integrated",
 * "cpu", …), for drivers that do not report them (td_vulkan_device_info.compute_units 0). */
uint32_t td_vk_gemv_compute_units (const char *device_type);
/* The GEMV variant of `base` (td_vk_matmul_kernel's name) reducing with subgroup
 * arithmetic or the shared-memory tree. */
void td_vk_gemv_variant (char *out, size_t size, const char *base, bool subgroup);
/* The path for m rows per batch, and the shader variant's name. */
td_vk_matmul_path td_vk_matmul_kernel (char *out, size_t size, int64_t m, bool coopmat, bool emulate, td_dtype w_dtype,
                                       bool storage_16bit);
