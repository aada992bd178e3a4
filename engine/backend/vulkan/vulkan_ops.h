/* vulkan_ops.h — op dispatch for the Vulkan backend (vulkan_ops.c). */
#pragma once

#include "backend/vulkan/vulkan_internal.h"

/* True when a shader implements this op with these dtypes and sizes. */
bool td_vk_supports_op (td_vk_context *ctx, const td_op *op);
/* Records a supported, validated op. */
td_status td_vk_run_op (td_vk_context *ctx, const td_op *op, td_error *err);
