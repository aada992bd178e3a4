/* vulkan_coopmat.c — the choice between the cooperative-matrix and the tiled
 * matmul (see vulkan_coopmat.h). */
#include "backend/vulkan/vulkan_coopmat.h"
#include "backend/vulkan/vulkan_internal.h"

#include <stdio.h>
#include <string.h>

bool
td_vk_coopmat_config_offered (const VkCooperativeMatrixPropertiesNV *configs, uint32_t count)
{
  for (uint32_t i = 0; i < count; i++)
    {
      const VkCooperativeMatrixPropertiesNV *c = &configs[i];
      if (c->MSize == 16 && c->NSize == 16 && c->KSize == 16 && c->AType == VK_COMPONENT_TYPE_FLOAT16_NV
          && c->BType == VK_COMPONENT_TYPE_FLOAT16_NV && c->CType == VK_COMPONENT_TYPE_FLOAT32_NV
          && c->DType == VK_COMPONENT_TYPE_FLOAT32_NV && c->scope == VK_SCOPE_SUBGROUP_NV)
        return true;
    }
  return false;
}

static const char *
missing_capability (const td_vk_coopmat_caps *caps)
{
  if (!caps->shaders_built)
    return "this build's glslang cannot compile GL_NV_cooperative_matrix";
  if (!caps->extension)
    return "no VK_NV_cooperative_matrix";
  if (!caps->feature || !caps->compute_stage)
    return "cooperative matrices are not enabled for compute shaders";
  if (!td_vk_coopmat_config_offered (caps->configs, caps->config_count))
    return "no f16 x f16 + f32 16x16x16 subgroup configuration";
  if (caps->subgroup_size != 32)
    return "the shader needs subgroups of 32";
  if (!caps->shader_float16 || !caps->storage_16bit)
    return "no f16 arithmetic or 16-bit storage";
  if (!caps->vulkan_memory_model)
    return "no Vulkan memory model";
  return NULL;
}

td_vk_coopmat_choice
td_vk_coopmat_decide (const td_vk_coopmat_caps *caps, const char *env_value)
{
  td_vk_coopmat_choice choice = { 0 };
  choice.reason = missing_capability (caps);
  choice.available = choice.reason == NULL;
  if (!choice.available)
    return choice;
  /* On by default; only "0" turns it off (any other value keeps the default). */
  bool off = env_value != NULL && strcmp (env_value, "0") == 0;
  choice.enabled = !off;
  choice.reason = off ? "turned off with TD_VULKAN_COOPMAT=0" : NULL;
  return choice;
}

bool
td_vk_coopmat_env_emulate (const char *env_value)
{
  return env_value != NULL && env_value[0] != '\0' && strcmp (env_value, "0") != 0;
}

void
td_vk_matmul_variant (char *out, size_t size, bool coopmat, bool emulate, td_dtype w_dtype, bool storage_16bit)
{
  bool plain = w_dtype == TD_F32 || w_dtype == TD_F16 || w_dtype == TD_BF16;
  if ((coopmat || emulate) && w_dtype != TD_F32 && storage_16bit)
    snprintf (out, size, "matmul_coopmat_%s%s", emulate ? "emu_" : "", td_dtype_name (w_dtype));
  else
    snprintf (out, size, "matmul_%s_%s", td_dtype_name (w_dtype), plain && storage_16bit ? "s16" : "p32");
}

td_vk_coopmat_pick
td_vk_coopmat_pick_kernels (const td_vk_coopmat_offer *offer)
{
  td_vk_coopmat_pick pick = { .api = TD_VK_COOPMAT_API_NONE };
  const bool nv = offer->nv_usable && offer->nv_built, khr = offer->khr_usable && offer->khr_built;
  if (nv && !(khr && offer->prefer_khr))
    pick.api = TD_VK_COOPMAT_API_NV;
  else if (khr)
    {
      pick.api = TD_VK_COOPMAT_API_KHR;
      pick.bf16_tiles = offer->khr_bf16 && offer->khr_bf16_built;
      pick.required_subgroup_size = offer->khr_subgroups.required_size;
      pick.require_full_subgroups = offer->khr_subgroups.require_full;
    }
  if (pick.api != TD_VK_COOPMAT_API_NONE)
    pick.tile_m = pick.tile_n = pick.tile_k = 16;
  return pick;
}

bool
td_vk_coopmat_env_prefer_khr (const char *env_value)
{
  return env_value != NULL && (strcmp (env_value, "khr") == 0 || strcmp (env_value, "KHR") == 0);
}

void
td_vk_coopmat_pick_variant (char *out, size_t size, td_vk_coopmat_pick pick, td_dtype w_dtype)
{
  if (pick.api == TD_VK_COOPMAT_API_NONE)
    snprintf (out, size, "%s", "");
  else if (pick.api == TD_VK_COOPMAT_API_NV)
    snprintf (out, size, "matmul_coopmat_%s", td_dtype_name (w_dtype));
  else if (pick.bf16_tiles && w_dtype == TD_BF16)
    snprintf (out, size, "%s", "matmul_coopmat_khr_bf16in_bf16");
  else
    snprintf (out, size, "matmul_coopmat_khr_%s", td_dtype_name (w_dtype));
}

bool
td_vk_coopmat_khr_config_offered (const VkCooperativeMatrixPropertiesKHR *configs, uint32_t count,
                                  VkComponentTypeKHR ab)
{
  for (uint32_t i = 0; i < count; i++)
    {
      const VkCooperativeMatrixPropertiesKHR *c = &configs[i];
      if (c->MSize == 16 && c->NSize == 16 && c->KSize == 16 && c->AType == ab && c->BType == ab
          && c->CType == VK_COMPONENT_TYPE_FLOAT32_KHR && c->ResultType == VK_COMPONENT_TYPE_FLOAT32_KHR
          && c->scope == VK_SCOPE_SUBGROUP_KHR)
        return true;
    }
  return false;
}

const char *
td_vk_coopmat_khr_assess (const td_vk_coopmat_khr_caps *caps, td_vk_coopmat_offer *offer)
{
  const char *reason = NULL;
  if (!caps->extension)
    reason = "no VK_KHR_cooperative_matrix";
  else if (!caps->feature || !caps->compute_stage)
    reason = "KHR cooperative matrices are not enabled for compute shaders";
  else if (!caps->vulkan_1_3)
    reason = "the KHR kernels need Vulkan 1.3";
  else if (!td_vk_coopmat_khr_config_offered (caps->configs, caps->config_count, VK_COMPONENT_TYPE_FLOAT16_KHR))
    reason = "no KHR f16 x f16 + f32 16x16x16 subgroup configuration";
  else if (!caps->shader_float16 || !caps->storage_16bit)
    reason = "no f16 arithmetic or 16-bit storage";
  else if (!caps->vulkan_memory_model)
    reason = "no Vulkan memory model";
  const td_vk_subgroup_caps subgroups = {
    .size = caps->subgroup_size, .min_size = caps->min_subgroup_size, .max_size = caps->max_subgroup_size,
    .size_control = caps->subgroup_size_control, .compute_required = caps->required_size_compute,
    .full_subgroups = caps->full_subgroups,
  };
  offer->khr_subgroups = td_vk_subgroup_plan_for (&subgroups, 32);
  if (reason == NULL && !offer->khr_subgroups.usable)
    reason = offer->khr_subgroups.reason;
  offer->khr_usable = reason == NULL;
  offer->khr_bf16 = offer->khr_usable && caps->bf16_extension && caps->bf16_feature
                    && td_vk_coopmat_khr_config_offered (caps->configs, caps->config_count,
                                                         VK_COMPONENT_TYPE_BFLOAT16_KHR);
  return reason;
}

td_vk_subgroup_plan
td_vk_subgroup_plan_for (const td_vk_subgroup_caps *caps, uint32_t wanted)
{
  const uint32_t low = caps->min_size ? caps->min_size : caps->size;
  const uint32_t high = caps->max_size ? caps->max_size : caps->size;
  td_vk_subgroup_plan plan = { 0 };
  /* A fixed size: nothing to ask for, nothing that could be asked. */
  if (low == high && caps->size == wanted)
    {
      plan.usable = true;
      return plan;
    }
  if (wanted < low || wanted > high)
    plan.reason = low == high ? "the kernels need subgroups of 32 and the device has only its own size"
                              : "the kernels need subgroups of 32, outside the device's range";
  else if (!caps->size_control || !caps->compute_required)
    plan.reason = "the kernels need subgroups of 32 and the device cannot be asked for them "
                  "(no subgroup size control for compute shaders)";
  if (plan.reason != NULL)
    return plan;
  plan.usable = true;
  plan.required_size = wanted;
  plan.require_full = caps->full_subgroups;
  return plan;
}

uint32_t
td_vk_pipeline_subgroup_size (const char *shader, uint32_t required)
{
  return required != 0 && strstr (shader, "coopmat_khr") != NULL ? required : 0;
}

const char *
td_vk_attention_kernel (uint32_t d, uint32_t dv, bool coopmat, bool emulate, uint32_t *rows_per_group)
{
  bool small = d <= 128 && dv <= 128;
  if (small && (coopmat || emulate))
    {
      *rows_per_group = 32;
      return emulate ? "attention_coopmat_emu" : "attention_coopmat";
    }
  *rows_per_group = small ? 8 : 4;
  return small ? "attention_d128" : "attention_d512";
}

bool
td_vulkan_set_coopmat_emulation (td_backend *backend, bool on)
{
  td_vk_context *ctx = backend->impl;
  if (on && !(ctx->info.fp16_arithmetic && ctx->info.storage_16bit))
    return false;
  ctx->coopmat_emulate = on;
  ctx->info.coopmat_emulated = on && !ctx->info.coopmat_enabled;
  return true;
}
