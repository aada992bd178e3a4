/* vulkan_transfer.c — uploads on a queue of their own, so weight copies run
 * beside compute instead of in its stream.
 *
 * Where the device offers a transfer-only queue family, one queue of it takes
 * the staging copies into large idle tensors (vulkan_upload.c picks which).
 * Copies are recorded into batches, each signalling a timeline semaphore with its
 * number when it finishes; a tensor remembers the batch that last copied into it,
 * and the compute submission that first uses it waits for that number
 * (td_vk_allocation_touch raises ctx->compute_wait). Buffers are shared
 * concurrently by both families, so no ownership transfers are needed; every
 * copy on the transfer queue follows a barrier so copies into the same range in
 * submission order land in that order. A freed tensor is destroyed only once its
 * last batch has finished too (vulkan_memory.c).
 *
 * TD_VULKAN_TRANSFER_QUEUE=0 keeps every copy in the compute stream;
 * TD_VULKAN_TRANSFER_QUEUE=shared makes separate transfer batches on the compute
 * queue itself, with the same semaphore waits, so the logic runs (and is tested)
 * on devices with one queue family, such as lavapipe.
 */
#include "backend/vulkan/vulkan_internal.h"

#include <stdlib.h>
#include <string.h>

void
td_vk_transfer_choose_family (td_vk_context *ctx, const VkQueueFamilyProperties *families, uint32_t count,
                              uint32_t compute)
{
  const char *env = getenv ("TD_VULKAN_TRANSFER_QUEUE");
  ctx->transfer_wanted = false;
  ctx->transfer_family = compute;
  if (env != NULL && strcmp (env, "0") == 0)
    return;
  if (env != NULL && strcmp (env, "shared") == 0)
    {
      ctx->transfer_wanted = true;
      return;
    }
  for (uint32_t i = 0; i < count; i++)
    if (i != compute && (families[i].queueFlags & VK_QUEUE_TRANSFER_BIT)
        && !(families[i].queueFlags & (VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT)) && families[i].queueCount > 0)
      {
        ctx->transfer_wanted = true;
        ctx->transfer_family = i;
        return;
      }
}

bool
td_vk_transfer_separate_family (const td_vk_context *ctx)
{
  return ctx->transfer_wanted && ctx->transfer_family != ctx->queue_family;
}

td_status
td_vk_transfer_init (td_vk_context *ctx, td_error *err)
{
  if (!ctx->transfer_wanted)
    return TD_OK;
  if (td_vk_transfer_separate_family (ctx))
    vkGetDeviceQueue (ctx->device, ctx->transfer_family, 0, &ctx->transfer_queue);
  else
    ctx->transfer_queue = ctx->queue;
  VkCommandPoolCreateInfo pool_info = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
    .queueFamilyIndex = ctx->transfer_family,
  };
  VkResult result = vkCreateCommandPool (ctx->device, &pool_info, NULL, &ctx->transfer_pool);
  if (result != VK_SUCCESS)
    return td_vk_fail (ctx, result, "creating the transfer command pool", err);
  VkCommandBufferAllocateInfo alloc = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
    .commandPool = ctx->transfer_pool,
    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
    .commandBufferCount = TD_VK_FRAMES,
  };
  result = vkAllocateCommandBuffers (ctx->device, &alloc, ctx->transfer_cmd);
  if (result != VK_SUCCESS)
    return td_vk_fail (ctx, result, "allocating transfer command buffers", err);
  VkSemaphoreTypeCreateInfo type = {
    .sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
    .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE,
    .initialValue = 0,
  };
  VkSemaphoreCreateInfo info = { .sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &type };
  result = vkCreateSemaphore (ctx->device, &info, NULL, &ctx->transfer_timeline);
  if (result != VK_SUCCESS)
    return td_vk_fail (ctx, result, "creating the transfer timeline semaphore", err);
  return TD_OK;
}

void
td_vk_transfer_destroy (td_vk_context *ctx)
{
  if (ctx->transfer_timeline != VK_NULL_HANDLE)
    vkDestroySemaphore (ctx->device, ctx->transfer_timeline, NULL);
  if (ctx->transfer_pool != VK_NULL_HANDLE)
    vkDestroyCommandPool (ctx->device, ctx->transfer_pool, NULL);
  ctx->transfer_timeline = VK_NULL_HANDLE;
  ctx->transfer_pool = VK_NULL_HANDLE;
  ctx->transfer_queue = VK_NULL_HANDLE;
}

void
td_vk_transfer_poll (td_vk_context *ctx)
{
  uint64_t value;
  if (ctx->transfer_queue != VK_NULL_HANDLE && !ctx->lost
      && vkGetSemaphoreCounterValue (ctx->device, ctx->transfer_timeline, &value) == VK_SUCCESS
      && value > ctx->transfer_completed)
    ctx->transfer_completed = value;
}

td_status
td_vk_transfer_flush (td_vk_context *ctx, td_error *err)
{
  if (!ctx->transfer_recording)
    return td_vk_check_alive (ctx, err);
  int slot = ctx->transfer_current;
  ctx->transfer_recording = false;
  ctx->transfer_current = (slot + 1) % TD_VK_FRAMES;
  uint64_t value = ++ctx->transfer_submitted;
  ctx->transfer_value[slot] = value;
  VkResult result = vkEndCommandBuffer (ctx->transfer_cmd[slot]);
  if (result == VK_SUCCESS)
    {
      VkTimelineSemaphoreSubmitInfo timeline = {
        .sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
        .signalSemaphoreValueCount = 1,
        .pSignalSemaphoreValues = &value,
      };
      VkSubmitInfo submit = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .pNext = &timeline,
        .commandBufferCount = 1,
        .pCommandBuffers = &ctx->transfer_cmd[slot],
        .signalSemaphoreCount = 1,
        .pSignalSemaphores = &ctx->transfer_timeline,
      };
      result = vkQueueSubmit (ctx->transfer_queue, 1, &submit, VK_NULL_HANDLE);
    }
  if (result != VK_SUCCESS)
    {
      /* It never runs: signalled from the host so nothing waits for it forever. */
      VkSemaphoreSignalInfo signal = {
        .sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO,
        .semaphore = ctx->transfer_timeline,
        .value = value,
      };
      if (result != VK_ERROR_DEVICE_LOST)
        vkSignalSemaphore (ctx->device, &signal);
      return td_vk_fail (ctx, result, "submitting GPU uploads", err);
    }
  return TD_OK;
}

td_status
td_vk_transfer_wait (td_vk_context *ctx, uint64_t value, td_error *err)
{
  if (value <= ctx->transfer_completed)
    return TD_OK;
  td_status status = TD_OK;
  if (value > ctx->transfer_submitted && (status = td_vk_transfer_flush (ctx, err)) != TD_OK)
    return status;
  VkSemaphoreWaitInfo wait = {
    .sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
    .semaphoreCount = 1,
    .pSemaphores = &ctx->transfer_timeline,
    .pValues = &value,
  };
  VkResult result = vkWaitSemaphores (ctx->device, &wait, UINT64_MAX);
  if (result != VK_SUCCESS)
    return td_vk_fail (ctx, result, "waiting for GPU uploads", err);
  td_vk_transfer_poll (ctx);
  td_vk_memory_release_completed (ctx);
  return TD_OK;
}

td_status
td_vk_transfer_begin (td_vk_context *ctx, VkCommandBuffer *out, td_error *err)
{
  int slot = ctx->transfer_current;
  if (!ctx->transfer_recording)
    {
      /* The command buffer's previous batch must have finished before it is reset. */
      td_status status = td_vk_transfer_wait (ctx, ctx->transfer_value[slot], err);
      if (status != TD_OK)
        return status;
      VkResult result = vkResetCommandBuffer (ctx->transfer_cmd[slot], 0);
      VkCommandBufferBeginInfo begin = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
      };
      if (result == VK_SUCCESS)
        result = vkBeginCommandBuffer (ctx->transfer_cmd[slot], &begin);
      if (result != VK_SUCCESS)
        return td_vk_fail (ctx, result, "starting a transfer command buffer", err);
      ctx->transfer_recording = true;
    }
  *out = ctx->transfer_cmd[slot];
  return TD_OK;
}

td_status
td_vk_transfer_before_compute (td_vk_context *ctx, VkTimelineSemaphoreSubmitInfo *wait, bool *waits, td_error *err)
{
  *waits = false;
  if (ctx->transfer_queue == VK_NULL_HANDLE)
    return TD_OK;
  /* Whatever is recorded goes now, so the copies run while compute does. */
  td_status status = td_vk_transfer_flush (ctx, err);
  if (status != TD_OK)
    return status;
  td_vk_transfer_poll (ctx);
  if (ctx->compute_wait <= ctx->transfer_completed)
    return TD_OK;
  *wait = (VkTimelineSemaphoreSubmitInfo) {
    .sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
    .waitSemaphoreValueCount = 1,
    .pWaitSemaphoreValues = &ctx->compute_wait,
  };
  *waits = true;
  ctx->upload_stats.transfer_waits++;
  return TD_OK;
}
