/* vulkan_coopmat.h — when MATMUL runs on cooperative matrices
 * (shaders/matmul_coopmat.comp, GL_NV_cooperative_matrix) instead of the tiled
 * shared-memory kernel: for inputs of more than TD_VK_GEMV_MAX_M rows and weights
 * of any format but f32.
 *
 * The fast path needs VK_NV_cooperative_matrix with its feature on for compute
 * shaders, the exact f16 · f16 + f32 → f32 16×16×16 subgroup configuration,
 * subgroups of 32, shaderFloat16, 16-bit storage, the Vulkan memory model, and a
 * glslang that compiled the shader. It is the default wherever all of that is
 * there; TD_VULKAN_COOPMAT=0 turns it off. TD_VULKAN_EMULATE_COOPMAT=1 runs the
 * same shader with its fragment operations in plain GLSL on devices without it
 * (tests and CI on lavapipe check its indexing and edges that way). Validation
 * on NVIDIA hardware: tests/vulkan/gpu-check.sh.
 * These functions are pure so that tests can feed them invented devices. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <vulkan/vulkan.h>

#include "backend/vulkan/vulkan_khr_coopmat.h"
#include "core/dtype.h"

typedef struct td_vk_coopmat_caps {
  bool extension;            /* VK_NV_cooperative_matrix is offered */
  bool feature;              /* VkPhysicalDeviceCooperativeMatrixFeaturesNV::cooperativeMatrix */
  bool compute_stage;        /* cooperativeMatrixSupportedStages has the compute stage */
  bool shader_float16;
  bool storage_16bit;
  bool vulkan_memory_model;
  uint32_t subgroup_size;
  const VkCooperativeMatrixPropertiesNV *configs; /* vkGetPhysicalDeviceCooperativeMatrixPropertiesNV */
  uint32_t config_count;
  bool shaders_built;        /* matmul_coopmat_* exist in this build */
} td_vk_coopmat_caps;

typedef struct td_vk_coopmat_choice {
  bool available;            /* the device and the build can run the fast path */
  bool enabled;              /* available and not turned off: the device gets it and MATMUL uses it */
  const char *reason;        /* why not available, or why not enabled */
} td_vk_coopmat_choice;

/* True when one entry is the shader's configuration: M = N = K = 16, A and B
 * f16, C and D f32, subgroup scope. */
bool td_vk_coopmat_config_offered (const VkCooperativeMatrixPropertiesNV *configs, uint32_t count);

/* Decides from a device's capabilities and the value of TD_VULKAN_COOPMAT (NULL
 * when unset): enabled when available, unless the value is "0". */
td_vk_coopmat_choice td_vk_coopmat_decide (const td_vk_coopmat_caps *caps, const char *env_value);

/* True when TD_VULKAN_EMULATE_COOPMAT's value (NULL when unset) asks for the
 * emulated cooperative-matrix kernels: anything but unset, "" and "0". */
bool td_vk_coopmat_env_emulate (const char *env_value);

/* Writes the shader variant that runs a tiled MATMUL with weights of `w_dtype`:
 * matmul_coopmat[_emu]_<dtype> for every format but f32 when `coopmat` (or
 * `emulate`) is set and the device has 16-bit storage, else the tiled
 * matmul_<dtype>_<s16|p32> (p32 only for fp8 and block formats). */
void td_vk_matmul_variant (char *out, size_t size, bool coopmat, bool emulate, td_dtype w_dtype, bool storage_16bit);

/* Which cooperative-matrix kernels a device would run, from what it offers and
 * what this build compiled. NV first (the kernels the device setup enables
 * today), then KHR (first with prefer_khr); bf16 tiles for bf16 weights only on KHR devices that report
 * a bf16 · bf16 + f32 16×16×16 subgroup configuration and VK_KHR_shader_bfloat16,
 * with the bf16 kernel built. The device setup (vulkan_device.c) fills the offer
 * from the queried properties and enables the extension the pick names. */
typedef enum {
  TD_VK_COOPMAT_API_NONE,
  TD_VK_COOPMAT_API_NV,
  TD_VK_COOPMAT_API_KHR,
} td_vk_coopmat_api;

/* How a kernel that indexes by subgroups of `wanted` invocations (the KHR kernels:
 * 4 or 8 subgroups of 32 per workgroup, by shape) gets them: natively when the
 * device's only size is that, else by asking each pipeline for it through
 * VkPipelineShaderStageRequiredSubgroupSizeCreateInfo (VK_EXT_subgroup_size_control,
 * core in Vulkan 1.3), on devices whose default differs (RDNA3 reports 64) or
 * varies per pipeline (Intel, 8 to 32). */
typedef struct td_vk_subgroup_caps {
  uint32_t size;               /* subgroupSize */
  uint32_t min_size, max_size; /* minSubgroupSize, maxSubgroupSize; 0 when not reported (= size) */
  bool size_control;           /* the subgroupSizeControl feature */
  bool compute_required;       /* requiredSubgroupSizeStages has the compute stage */
  bool full_subgroups;         /* the computeFullSubgroups feature */
} td_vk_subgroup_caps;

typedef struct td_vk_subgroup_plan {
  bool usable;
  uint32_t required_size; /* what pipelines ask for; 0 when the device's only size is the wanted one */
  bool require_full;      /* pipelines also ask for full subgroups (computeFullSubgroups) */
  const char *reason;     /* why not usable, else NULL */
} td_vk_subgroup_plan;

td_vk_subgroup_plan td_vk_subgroup_plan_for (const td_vk_subgroup_caps *caps, uint32_t wanted);

typedef struct td_vk_coopmat_offer {
  bool nv_usable;     /* td_vk_coopmat_decide found the NV path available */
  bool khr_usable;    /* VK_KHR_cooperative_matrix with the f16 configuration, compute stage, subgroups of 32 */
  td_vk_subgroup_plan khr_subgroups; /* how the KHR kernels get subgroups of 32 (td_vk_coopmat_khr_assess) */
  bool khr_bf16;      /* ... and the bf16 configuration and VK_KHR_shader_bfloat16 */
  bool nv_built, khr_built, khr_bf16_built; /* td_vk_shader_compiler_features */
  bool prefer_khr;    /* TD_VULKAN_COOPMAT_API=khr: KHR even where NV could run (td_vk_coopmat_env_prefer_khr) */
} td_vk_coopmat_offer;

typedef struct td_vk_coopmat_pick {
  td_vk_coopmat_api api;
  bool bf16_tiles; /* bf16 weights staged as bf16 (matmul_coopmat_khr_bf16in_bf16) */
  uint32_t required_subgroup_size; /* KHR: what its pipelines ask for (0: none) */
  bool require_full_subgroups;
  uint32_t tile_m, tile_n, tile_k; /* the fragment shape the kernels use; 0 for NONE */
} td_vk_coopmat_pick;

/* What a device offers of VK_KHR_cooperative_matrix (and VK_KHR_shader_bfloat16),
 * as queried at device creation. */
typedef struct td_vk_coopmat_khr_caps {
  bool extension;            /* VK_KHR_cooperative_matrix is offered */
  bool feature;              /* VkPhysicalDeviceCooperativeMatrixFeaturesKHR::cooperativeMatrix */
  bool compute_stage;        /* cooperativeMatrixSupportedStages has the compute stage */
  bool vulkan_1_3;           /* the KHR kernels are SPIR-V 1.6 */
  bool shader_float16;
  bool storage_16bit;
  bool vulkan_memory_model;
  uint32_t subgroup_size;
  /* VK_EXT_subgroup_size_control (Vulkan 1.3): the size range, the feature, whether
   * compute pipelines may require a size, full subgroups; zeros where not reported. */
  uint32_t min_subgroup_size, max_subgroup_size;
  bool subgroup_size_control, required_size_compute, full_subgroups;
  bool bf16_extension;       /* VK_KHR_shader_bfloat16 is offered */
  bool bf16_feature;         /* shaderBFloat16Type and shaderBFloat16CooperativeMatrix */
  const VkCooperativeMatrixPropertiesKHR *configs; /* vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR */
  uint32_t config_count;
} td_vk_coopmat_khr_caps;

/* True when one entry is M = N = K = 16, A and B of `ab`, C and result f32,
 * subgroup scope. */
bool td_vk_coopmat_khr_config_offered (const VkCooperativeMatrixPropertiesKHR *configs, uint32_t count,
                                       VkComponentTypeKHR ab);

/* Fills offer->khr_usable, offer->khr_bf16 and offer->khr_subgroups from caps;
 * returns why the KHR path is not usable, or NULL. */
const char *td_vk_coopmat_khr_assess (const td_vk_coopmat_khr_caps *caps, td_vk_coopmat_offer *offer);

td_vk_coopmat_pick td_vk_coopmat_pick_kernels (const td_vk_coopmat_offer *offer);

/* True when TD_VULKAN_COOPMAT_API's value (NULL when unset) asks for the KHR
 * kernels on devices where the NV ones could run too: "khr". NVIDIA GPUs offer
 * both, so this is how the KHR kernels (and their bf16 tiles) get run on one. */
bool td_vk_coopmat_env_prefer_khr (const char *env_value);

/* The matmul variant of a pick for weights of w_dtype (a format with a coopmat
 * variant): matmul_coopmat_<dtype>, matmul_coopmat_khr_<dtype>, or
 * matmul_coopmat_khr_bf16in_bf16. Empty for TD_VK_COOPMAT_API_NONE. */
void td_vk_coopmat_pick_variant (char *out, size_t size, td_vk_coopmat_pick pick, td_dtype w_dtype);

/* The subgroup size a pipeline of `shader` asks for on a device whose KHR kernels
 * need `required` (0: none): the KHR cooperative-matrix kernels (names with
 * "coopmat_khr") ask, every other kernel runs at the device's default. */
uint32_t td_vk_pipeline_subgroup_size (const char *shader, uint32_t required);

/* The ATTENTION kernel for head sizes d (Q, K) and dv (V) and its query rows per
 * workgroup: attention_coopmat[_emu] (shaders/attention_coopmat.comp) for d, dv
 * ≤ 128 when `coopmat` or `emulate` is set, else the scalar attention_d128 or,
 * above 128, attention_d512. */
const char *td_vk_attention_kernel (uint32_t d, uint32_t dv, bool coopmat, bool emulate, uint32_t *rows_per_group);
