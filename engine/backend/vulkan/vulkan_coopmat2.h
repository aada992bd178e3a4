/* vulkan_coopmat2.h — when MATMUL runs on the workgroup-scope cooperative-matrix
 * kernel (shaders/matmul_coopmat2.comp, GL_NV_cooperative_matrix2) instead of
 * the subgroup-scope one (matmul_coopmat.comp, NV or KHR).
 *
 * NV2 sits on top of the cooperative-matrix path: it needs that path on (it is
 * the fallback and the self-test's reference), VK_NV_cooperative_matrix2 with the
 * workgroup-scope, flexible-dimension, per-element, tensor-addressing and
 * block-load features, VK_KHR_cooperative_matrix (its matrix types), Vulkan 1.3,
 * an f16 · f16 + f32 workgroup-scope flexible configuration for 256 invocations
 * whose granularities divide the 128×128×32 tile, and a glslang that compiled
 * the kernel. It is the default wherever all of that is there;
 * TD_VULKAN_COOPMAT2=0 (or TD_VULKAN_COOPMAT=0) turns it off, and
 * TD_VULKAN_COOPMAT2=require makes a backend on a device without it, or whose
 * self-test fails, an error (tests/vulkan/gpu-check.sh).
 *
 * Because no device here runs it, the backend checks the kernel when it is set up
 * (td_vk_coopmat2_self_test): a small odd-size GEMM per weight format on NV2 and
 * on the subgroup-scope kernel; any disagreement or error turns NV2 off for that
 * device, with the reason in td_vulkan_device_info::coopmat2_why (shown by
 * `thinkdiff devices`) and on stderr. The pure functions take invented devices
 * in tests. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/vulkan/vulkan_nv_coopmat2.h"
#include "core/dtype.h"

struct td_backend;

/* The kernel's tile and workgroup (shaders/matmul_coopmat2.comp). */
#define TD_VK_COOPMAT2_TILE_M 128u
#define TD_VK_COOPMAT2_TILE_N 128u
#define TD_VK_COOPMAT2_TILE_K 32u
#define TD_VK_COOPMAT2_INVOCATIONS 256u
/* Shared memory the kernel declares itself (row maxima and exponents). */
#define TD_VK_COOPMAT2_SHARED_BYTES (4u * 4u * 128u)

typedef struct td_vk_coopmat2_caps {
  bool extension;              /* VK_NV_cooperative_matrix2 is offered */
  /* VkPhysicalDeviceCooperativeMatrix2FeaturesNV */
  bool workgroup_scope, flexible_dimensions, per_element, tensor_addressing, block_loads;
  /* VkPhysicalDeviceCooperativeMatrix2PropertiesNV */
  uint32_t max_workgroup_size, max_dimension, reserved_shared_memory;
  uint32_t max_shared_memory;  /* maxComputeSharedMemorySize */
  bool khr_extension;          /* VK_KHR_cooperative_matrix, whose types the kernel uses */
  bool vulkan_1_3;             /* the kernel is SPIR-V 1.6 */
  bool coopmat_enabled;        /* the subgroup-scope path is on (td_vulkan_device_info::coopmat_enabled) */
  const char *coopmat_reason;  /* why it is not */
  const VkCooperativeMatrixFlexibleDimensionsPropertiesNV *configs; /* vkGetPhysicalDeviceCooperativeMatrixFlexibleDimensionsPropertiesNV */
  uint32_t config_count;
  bool shaders_built;          /* matmul_coopmat2_* exist in this build */
} td_vk_coopmat2_caps;

typedef enum {
  TD_VK_COOPMAT2_DEFAULT, /* on where available */
  TD_VK_COOPMAT2_OFF,     /* TD_VULKAN_COOPMAT2=0 */
  TD_VK_COOPMAT2_REQUIRE, /* TD_VULKAN_COOPMAT2=require */
} td_vk_coopmat2_mode;

typedef struct td_vk_coopmat2_choice {
  bool available;     /* the device and the build can run the kernel */
  bool enabled;       /* available and not turned off */
  const char *reason; /* why not available, or why not enabled */
} td_vk_coopmat2_choice;

/* TD_VULKAN_COOPMAT2's value (NULL when unset): "0" off, "require" require, else default. */
td_vk_coopmat2_mode td_vk_coopmat2_env_mode (const char *env_value);

/* True when one entry is f16 A and B, f32 C and result, workgroup scope, for
 * `invocations` invocations, with granularities dividing tile_m × tile_n × tile_k. */
bool td_vk_coopmat2_config_offered (const VkCooperativeMatrixFlexibleDimensionsPropertiesNV *configs, uint32_t count,
                                    uint32_t invocations, uint32_t tile_m, uint32_t tile_n, uint32_t tile_k);

td_vk_coopmat2_choice td_vk_coopmat2_decide (const td_vk_coopmat2_caps *caps, td_vk_coopmat2_mode mode);

/* The kernel for weights of w_dtype: matmul_coopmat2_<dtype>. */
void td_vk_coopmat2_variant (char *out, size_t size, td_dtype w_dtype);

/* Whether a MATMUL goes to the NV2 kernel: NV2 on, not the GEMV path (m above
 * TD_VK_GEMV_MAX_M), weights of any format but f32, and x, w and y at 16-byte
 * aligned addresses (tensor loads and stores need an aligned base). */
bool td_vk_coopmat2_applies (bool enabled, int64_t m, td_dtype w_dtype, uint64_t x, uint64_t w, uint64_t y);

/* What the self-test runs as "the NV2 kernel": the built one (NULL), or, in tests,
 * another kernel named by variant_for with its output tile. */
typedef struct td_vk_coopmat2_candidate {
  void (*variant_for) (char *out, size_t size, td_dtype w_dtype);
  uint32_t tile_m, tile_n;
} td_vk_coopmat2_candidate;

/* The weight formats the self-test checks (every format with a coopmat kernel). */
extern const td_dtype td_vk_coopmat2_formats[];
extern const int td_vk_coopmat2_format_count;

/* The self-test's verdict for one format's outputs: cand and ref are rows × cols;
 * an element passes when |cand − ref| ≤ 2⁻⁶ · (largest |ref| in its row) + 1e-6
 * (f16 operands, any K up to a few thousand); NaN or Inf in cand where ref is
 * finite fails. Returns true when every element passes, else false with the first
 * failing element in *bad_row, *bad_col. */
bool td_vk_coopmat2_outputs_agree (const float *cand, const float *ref, int64_t rows, int64_t cols, int64_t *bad_row,
                                   int64_t *bad_col);

/* Runs the self-test on a backend whose device has NV2 enabled; sets
 * coopmat2_enabled, coopmat2_checked and coopmat2_why, and says on stderr when it
 * turns NV2 off. Returns whether NV2 passed. */
bool td_vk_coopmat2_self_test (struct td_backend *backend);

/* Test hook: marks NV2 on with `candidate` as its kernel (which must outlive the
 * backend's use of it), then runs the self-test as the device setup does, so that
 * devices without NV2 exercise the comparison and the turning off. False (nothing
 * run) on devices without 16-bit storage. */
bool td_vulkan_coopmat2_check_with (struct td_backend *backend, const td_vk_coopmat2_candidate *candidate);
