/* vulkan_pipeline.c — compute pipelines, created on first use and cached per
 * (shader variant, specialization constants). Shaders take everything through
 * push constants (tensor device addresses and sizes), so one pipeline layout
 * without descriptor sets serves them all. */
#include "backend/vulkan/vulkan_coopmat.h"
#include "backend/vulkan/vulkan_internal.h"
#include "backend/vulkan/vulkan_shaders.h"

#include <stdlib.h>
#include <string.h>

static int
shader_index (const char *name)
{
  for (size_t i = 0; i < td_vk_shader_table_size; i++)
    if (strcmp (td_vk_shader_table[i].name, name) == 0)
      return (int) i;
  return -1;
}

bool
td_vk_shader_exists (const char *name)
{
  return shader_index (name) >= 0;
}

td_status
td_vk_pipelines_init (td_vk_context *ctx, td_error *err)
{
  VkPushConstantRange range = {
    .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    .offset = 0,
    .size = TD_VK_PUSH_CONSTANT_SIZE,
  };
  VkPipelineLayoutCreateInfo layout_info = {
    .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
    .pushConstantRangeCount = 1,
    .pPushConstantRanges = &range,
  };
  VkResult result = vkCreatePipelineLayout (ctx->device, &layout_info, NULL, &ctx->pipeline_layout);
  if (result != VK_SUCCESS)
    return td_vk_fail (ctx, result, "creating the pipeline layout", err);
  VkPipelineCacheCreateInfo cache_info = { .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO };
  result = vkCreatePipelineCache (ctx->device, &cache_info, NULL, &ctx->pipeline_cache);
  if (result != VK_SUCCESS)
    return td_vk_fail (ctx, result, "creating the pipeline cache", err);
  return TD_OK;
}

void
td_vk_pipelines_destroy (td_vk_context *ctx)
{
  for (int i = 0; i < ctx->pipeline_count; i++)
    vkDestroyPipeline (ctx->device, ctx->pipelines[i].pipeline, NULL);
  free (ctx->pipelines);
  ctx->pipelines = NULL;
  ctx->pipeline_count = 0;
  if (ctx->pipeline_cache != VK_NULL_HANDLE)
    vkDestroyPipelineCache (ctx->device, ctx->pipeline_cache, NULL);
  if (ctx->pipeline_layout != VK_NULL_HANDLE)
    vkDestroyPipelineLayout (ctx->device, ctx->pipeline_layout, NULL);
}

static td_status
create_pipeline (td_vk_context *ctx, int shader, const uint32_t *spec, int spec_count, VkPipeline *out,
                 td_error *err)
{
  const td_vk_shader_code *code = &td_vk_shader_table[shader];
  VkShaderModuleCreateInfo module_info = {
    .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
    .codeSize = code->size,
    .pCode = code->code,
  };
  VkShaderModule module;
  VkResult result = vkCreateShaderModule (ctx->device, &module_info, NULL, &module);
  if (result != VK_SUCCESS)
    return td_vk_fail (ctx, result, code->name, err);
  VkSpecializationMapEntry entries[4];
  for (int i = 0; i < spec_count; i++)
    entries[i] = (VkSpecializationMapEntry) { .constantID = (uint32_t) i, .offset = (uint32_t) (i * 4), .size = 4 };
  VkSpecializationInfo spec_info = {
    .mapEntryCount = (uint32_t) spec_count,
    .pMapEntries = entries,
    .dataSize = (size_t) spec_count * 4,
    .pData = spec,
  };
  const uint32_t subgroup_size = td_vk_pipeline_subgroup_size (code->name, ctx->info.coopmat_subgroup_size);
  VkPipelineShaderStageRequiredSubgroupSizeCreateInfo required_size = {
    .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO,
    .requiredSubgroupSize = subgroup_size,
  };
  VkComputePipelineCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
    .stage = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
      .pNext = subgroup_size != 0 ? &required_size : NULL,
      .flags = subgroup_size != 0 && ctx->info.coopmat_full_subgroups
                 ? VK_PIPELINE_SHADER_STAGE_CREATE_REQUIRE_FULL_SUBGROUPS_BIT
                 : 0,
      .stage = VK_SHADER_STAGE_COMPUTE_BIT,
      .module = module,
      .pName = "main",
      .pSpecializationInfo = spec_count > 0 ? &spec_info : NULL,
    },
    .layout = ctx->pipeline_layout,
  };
  result = vkCreateComputePipelines (ctx->device, ctx->pipeline_cache, 1, &info, NULL, out);
  vkDestroyShaderModule (ctx->device, module, NULL);
  if (result != VK_SUCCESS)
    return td_vk_fail (ctx, result, code->name, err);
  return TD_OK;
}

td_status
td_vk_pipeline_get (td_vk_context *ctx, const char *name, const uint32_t *spec, int spec_count, VkPipeline *out,
                    td_error *err)
{
  int shader = shader_index (name);
  if (shader < 0)
    return td_error_set (err, TD_ERR_UNSUPPORTED, "shader variant %s was not built", name);
  if (spec_count > 4)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: too many specialization constants", name);
  for (int i = 0; i < ctx->pipeline_count; i++)
    {
      td_vk_pipeline *p = &ctx->pipelines[i];
      if (p->shader == shader && p->spec_count == spec_count
          && (spec_count == 0 || memcmp (p->spec, spec, (size_t) spec_count * 4) == 0))
        {
          *out = p->pipeline;
          return TD_OK;
        }
    }
  if (ctx->pipeline_count == ctx->pipeline_capacity)
    {
      int capacity = ctx->pipeline_capacity ? 2 * ctx->pipeline_capacity : 32;
      td_vk_pipeline *pipelines = realloc (ctx->pipelines, (size_t) capacity * sizeof *pipelines);
      if (pipelines == NULL)
        return td_error_set (err, TD_ERR_NO_MEMORY, "out of memory caching pipelines");
      ctx->pipelines = pipelines;
      ctx->pipeline_capacity = capacity;
    }
  td_vk_pipeline *p = &ctx->pipelines[ctx->pipeline_count];
  memset (p, 0, sizeof *p);
  p->shader = shader;
  p->spec_count = spec_count;
  if (spec_count > 0)
    memcpy (p->spec, spec, (size_t) spec_count * 4);
  td_status status = create_pipeline (ctx, shader, spec, spec_count, &p->pipeline, err);
  if (status != TD_OK)
    return status;
  ctx->pipeline_count++;
  *out = p->pipeline;
  return TD_OK;
}
