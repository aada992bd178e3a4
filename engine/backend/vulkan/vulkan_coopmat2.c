/* vulkan_coopmat2.c — the choice of the VK_NV_cooperative_matrix2 matmul kernel
 * (see vulkan_coopmat2.h). */
#include "backend/vulkan/vulkan_coopmat2.h"
#include "backend/vulkan/vulkan_matmul.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const td_dtype td_vk_coopmat2_formats[] = {
  TD_F16, TD_BF16, TD_F8_E4M3, TD_F8_E5M2, TD_Q4_0, TD_Q4_1, TD_Q5_0,
  TD_Q5_1, TD_Q8_0, TD_Q2_K, TD_Q3_K, TD_Q4_K, TD_Q5_K, TD_Q6_K,
};
const int td_vk_coopmat2_format_count = (int) (sizeof td_vk_coopmat2_formats / sizeof td_vk_coopmat2_formats[0]);

td_vk_coopmat2_mode
td_vk_coopmat2_env_mode (const char *env_value)
{
  if (env_value == NULL)
    return TD_VK_COOPMAT2_DEFAULT;
  if (strcmp (env_value, "0") == 0)
    return TD_VK_COOPMAT2_OFF;
  if (strcmp (env_value, "require") == 0)
    return TD_VK_COOPMAT2_REQUIRE;
  return TD_VK_COOPMAT2_DEFAULT;
}

bool
td_vk_coopmat2_config_offered (const VkCooperativeMatrixFlexibleDimensionsPropertiesNV *configs, uint32_t count,
                               uint32_t invocations, uint32_t tile_m, uint32_t tile_n, uint32_t tile_k)
{
  for (uint32_t i = 0; i < count; i++)
    {
      const VkCooperativeMatrixFlexibleDimensionsPropertiesNV *c = &configs[i];
      /* A granularity of 0 would be a driver bug; it divides nothing. */
      bool fits = c->MGranularity != 0 && c->NGranularity != 0 && c->KGranularity != 0
                  && tile_m % c->MGranularity == 0 && tile_n % c->NGranularity == 0 && tile_k % c->KGranularity == 0;
      if (fits && c->AType == VK_COMPONENT_TYPE_FLOAT16_KHR && c->BType == VK_COMPONENT_TYPE_FLOAT16_KHR
          && c->CType == VK_COMPONENT_TYPE_FLOAT32_KHR && c->ResultType == VK_COMPONENT_TYPE_FLOAT32_KHR
          && c->scope == VK_SCOPE_WORKGROUP_KHR && c->workgroupInvocations == invocations)
        return true;
    }
  return false;
}

static const char *
missing_capability (const td_vk_coopmat2_caps *caps)
{
  if (!caps->shaders_built)
    return "this build's glslang cannot compile GL_NV_cooperative_matrix2";
  if (!caps->extension)
    return "no VK_NV_cooperative_matrix2";
  if (!caps->coopmat_enabled)
    return caps->coopmat_reason != NULL ? caps->coopmat_reason
                                        : "the subgroup-scope cooperative-matrix path it falls back to is off";
  if (!caps->khr_extension)
    return "no VK_KHR_cooperative_matrix (the NV2 kernel's matrix types)";
  if (!caps->vulkan_1_3)
    return "the NV2 kernel needs Vulkan 1.3";
  if (!caps->workgroup_scope || !caps->flexible_dimensions)
    return "no workgroup-scope or flexible-dimension cooperative matrices";
  if (!caps->per_element || !caps->tensor_addressing || !caps->block_loads)
    return "no per-element operations, tensor addressing or block loads";
  if (caps->max_workgroup_size < TD_VK_COOPMAT2_INVOCATIONS)
    return "workgroup-scope matrices are limited to fewer than 256 invocations";
  if (caps->max_dimension < TD_VK_COOPMAT2_TILE_M || caps->max_dimension < TD_VK_COOPMAT2_TILE_N)
    return "flexible dimensions are limited below the 128x128 tile";
  if ((uint64_t) caps->reserved_shared_memory + TD_VK_COOPMAT2_SHARED_BYTES > caps->max_shared_memory)
    return "not enough shared memory beside what workgroup-scope matrices reserve";
  if (!td_vk_coopmat2_config_offered (caps->configs, caps->config_count, TD_VK_COOPMAT2_INVOCATIONS,
                                      TD_VK_COOPMAT2_TILE_M, TD_VK_COOPMAT2_TILE_N, TD_VK_COOPMAT2_TILE_K))
    return "no f16 x f16 + f32 workgroup-scope configuration for 256 invocations fitting 128x128x32";
  return NULL;
}

td_vk_coopmat2_choice
td_vk_coopmat2_decide (const td_vk_coopmat2_caps *caps, td_vk_coopmat2_mode mode)
{
  td_vk_coopmat2_choice choice = { 0 };
  choice.reason = missing_capability (caps);
  choice.available = choice.reason == NULL;
  if (!choice.available)
    return choice;
  choice.enabled = mode != TD_VK_COOPMAT2_OFF;
  choice.reason = choice.enabled ? NULL : "turned off with TD_VULKAN_COOPMAT2=0";
  return choice;
}

void
td_vk_coopmat2_variant (char *out, size_t size, td_dtype w_dtype)
{
  snprintf (out, size, "matmul_coopmat2_%s", td_dtype_name (w_dtype));
}

bool
td_vk_coopmat2_applies (bool enabled, int64_t m, td_dtype w_dtype, uint64_t x, uint64_t w, uint64_t y)
{
  return enabled && m > TD_VK_GEMV_MAX_M && w_dtype != TD_F32 && x % 16 == 0 && w % 16 == 0 && y % 16 == 0;
}

bool
td_vk_coopmat2_outputs_agree (const float *cand, const float *ref, int64_t rows, int64_t cols, int64_t *bad_row,
                              int64_t *bad_col)
{
  for (int64_t r = 0; r < rows; r++)
    {
      double largest = 0;
      for (int64_t c = 0; c < cols; c++)
        if (isfinite (ref[r * cols + c]) && fabs (ref[r * cols + c]) > largest)
          largest = fabs (ref[r * cols + c]);
      const double tolerance = largest / 64.0 + 1e-6;
      for (int64_t c = 0; c < cols; c++)
        {
          double want = ref[r * cols + c], got = cand[r * cols + c];
          bool same_special = !isfinite (want) && (got == want || (isnan (want) && isnan (got)));
          /* Written so that a NaN fails the comparison. */
          if (!same_special && !(fabs (got - want) <= tolerance))
            {
              *bad_row = r;
              *bad_col = c;
              return false;
            }
        }
    }
  return true;
}
