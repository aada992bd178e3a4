/* vulkan_upload.c — host-to-device uploads: written in place into mapped tensor
 * memory when no submission can still touch it, otherwise copied through a
 * staging ring in the command stream.
 *
 * The ring is cut into TD_VK_STAGING_SEGMENTS segments, each remembering the last
 * submission whose copies read it. Filling a segment submits what is recorded,
 * so the device copies (and computes) while the host fills the next segment;
 * entering a segment waits only for the submission that last read it, never for
 * the whole device. Its size comes from the device: 2 × 64 MiB on GPUs with
 * plenty of memory, less on small ones and where tensors are written in place.
 *
 * In place: on devices with host-visible device-local memory on their main heap
 * (UMA, resizable BAR, lavapipe) tensor blocks are allocated there and mapped
 * (vulkan_memory.c). An allocation whose own commands (last_use) and whose
 * range's previous owners (reuse_serial) have all completed is written with a
 * memcpy; coherent memory written before vkQueueSubmit is visible to that
 * submission, so later commands see it without a barrier. A busy allocation goes
 * through the ring instead, ordered by the hazard tracker like any copy, so an
 * upload never waits for a tensor's users.
 *
 * Transfer queue: where there is one (vulkan_transfer.c), staging copies into a
 * large (dedicated) tensor that nothing recorded or running uses go on it, and
 * the ring segments they read wait for their transfer batch as well.
 */
#include "backend/vulkan/vulkan_internal.h"
#include "backend/vulkan/vulkan_replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB ((VkDeviceSize) 1 << 20)
#define GIB ((VkDeviceSize) 1 << 30)

/* The first host-visible, coherent, device-local memory type on a heap as large
 * as the largest device-local one (so not a 256 MiB BAR window), or -1. */
static int
find_direct_type (const td_vk_context *ctx, VkDeviceSize device_heap)
{
  const VkPhysicalDeviceMemoryProperties *mp = &ctx->memory_properties;
  VkMemoryPropertyFlags want = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
                               | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  for (uint32_t i = 0; i < mp->memoryTypeCount; i++)
    if ((mp->memoryTypes[i].propertyFlags & want) == want
        && mp->memoryHeaps[mp->memoryTypes[i].heapIndex].size >= device_heap)
      return (int) i;
  return -1;
}

/* Whether the memory the staging block gets (the first host-visible coherent type,
 * as block_new picks it) is device-local. */
static bool
staging_is_device_local (const td_vk_context *ctx)
{
  const VkPhysicalDeviceMemoryProperties *mp = &ctx->memory_properties;
  VkMemoryPropertyFlags want = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  for (uint32_t i = 0; i < mp->memoryTypeCount; i++)
    if ((mp->memoryTypes[i].propertyFlags & want) == want)
      return (mp->memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) != 0;
  return false;
}

static VkDeviceSize
staging_size_for (const td_vk_context *ctx, VkDeviceSize device_heap)
{
  VkDeviceSize size = ctx->direct_upload ? 32 * MIB    /* the ring only takes busy tensors' uploads */
                      : device_heap >= 8 * GIB ? 128 * MIB
                      : device_heap >= 2 * GIB ? 64 * MIB
                                               : 32 * MIB;
  const char *env = getenv ("TD_VULKAN_STAGING_MIB");
  if (env != NULL && env[0] != '\0')
    {
      char *end;
      long mib = strtol (env, &end, 10);
      if (*end == '\0' && mib >= 1 && mib <= 4096)
        size = (VkDeviceSize) mib * MIB;
      else
        fprintf (stderr, "vulkan: TD_VULKAN_STAGING_MIB=%s ignored (a number of MiB from 1 to 4096)\n", env);
    }
  return size;
}

static bool
env_off (const char *name)
{
  const char *value = getenv (name);
  return value != NULL && strcmp (value, "0") == 0;
}

td_status
td_vk_upload_init (td_vk_context *ctx, VkDeviceSize device_heap, td_error *err)
{
  ctx->direct_memory_type = find_direct_type (ctx, device_heap);
  ctx->direct_upload = ctx->direct_memory_type >= 0 && !env_off ("TD_VULKAN_DIRECT_UPLOAD");
  ctx->staging_size = staging_size_for (ctx, device_heap);
  ctx->staging_head = 0;
  memset (ctx->staging_serial, 0, sizeof ctx->staging_serial);
  td_status status = td_vk_host_block_new (ctx, ctx->staging_size, &ctx->staging, &ctx->staging_map, err);
  if (status != TD_OK)
    {
      td_error_prefix (err, "staging buffer");
      return status;
    }
  ctx->staging_device_local = staging_is_device_local (ctx);
  return TD_OK;
}

void
td_vk_upload_destroy (td_vk_context *ctx)
{
  if (ctx->staging == NULL)
    return;
  td_vk_block_destroy (ctx, ctx->staging, ctx->staging_map != NULL);
  ctx->staging = NULL;
  ctx->staging_map = NULL;
}

bool
td_vulkan_set_direct_upload (td_backend *backend, bool on)
{
  td_vk_context *ctx = backend->impl;
  if (on && ctx->direct_memory_type < 0)
    return false;
  ctx->direct_upload = on;
  return true;
}

void
td_vulkan_upload_stats_get (td_backend *backend, td_vulkan_upload_stats *out)
{
  td_vk_context *ctx = backend->impl;
  *out = ctx->upload_stats;
  out->staging_size = ctx->staging_size;
  out->staging_device_local = ctx->staging_device_local;
  out->direct_available = ctx->direct_memory_type >= 0;
  out->direct_enabled = ctx->direct_upload;
  out->transfer_queue = ctx->transfer_queue != VK_NULL_HANDLE;
  out->transfer_separate_family = out->transfer_queue && td_vk_transfer_separate_family (ctx);
  out->transfer_batches = ctx->transfer_submitted;
}

/* Waits until the last submission that read ring segment `segment` has
 * completed: the older submissions with it, the newer ones keep running. */
static td_status
wait_for_segment (td_vk_context *ctx, int segment, td_error *err)
{
  uint64_t serial = ctx->staging_serial[segment], value = ctx->staging_transfer[segment];
  td_vk_poll (ctx);
  td_vk_transfer_poll (ctx);
  if (serial <= ctx->completed_serial && value <= ctx->transfer_completed)
    return TD_OK;
  ctx->upload_stats.staging_waits++;
  td_status status = td_vk_transfer_wait (ctx, value, err);
  if (status == TD_OK && serial > ctx->submitted_serial) /* still being recorded */
    status = td_vk_flush (ctx, err);
  while (status == TD_OK && ctx->completed_serial < serial)
    if (!td_vk_wait_oldest (ctx, &status, err))
      break;
  if (status == TD_OK && ctx->completed_serial < serial)
    return td_error_set (err, TD_ERR_DEVICE, "the staging ring waited for a submission that is not running");
  return status;
}

/* Up to `want` bytes of the ring at *at (*got of them), within one segment. */
static td_status
staging_take (td_vk_context *ctx, VkDeviceSize want, VkDeviceSize *at, VkDeviceSize *got, td_error *err)
{
  VkDeviceSize segment = ctx->staging_size / TD_VK_STAGING_SEGMENTS;
  if (ctx->staging_head >= ctx->staging_size)
    {
      ctx->staging_head = 0;
      ctx->upload_stats.staging_wraps++;
    }
  if (ctx->staging_head % segment == 0)
    {
      td_status status = wait_for_segment (ctx, (int) (ctx->staging_head / segment), err);
      if (status != TD_OK)
        return status;
    }
  VkDeviceSize end = (ctx->staging_head / segment + 1) * segment;
  *at = ctx->staging_head;
  *got = want < end - *at ? want : end - *at;
  /* Copies start 16-byte aligned; a segment is a multiple of 16 bytes. */
  ctx->staging_head = (*at + *got + 15) & ~(VkDeviceSize) 15;
  return TD_OK;
}

/* Whether no compute command recorded or running uses allocation `a`. */
static bool
compute_idle (td_vk_context *ctx, const td_vk_allocation *a)
{
  td_vk_poll (ctx);
  uint64_t busy = a->last_use > a->reuse_serial ? a->last_use : a->reuse_serial;
  /* Replayed steps stamp blocks, not allocations (vulkan_replay.c). */
  if (ctx->replay != NULL && a->block->last_use > busy)
    busy = a->block->last_use;
  return busy <= ctx->completed_serial;
}

/* Whether the host may write allocation `a` now: nothing recorded or running uses it. */
static bool
writable_in_place (td_vk_context *ctx, const td_vk_allocation *a)
{
  if (a->block->map == NULL || !compute_idle (ctx, a))
    return false;
  td_vk_transfer_poll (ctx);
  return a->upload_value <= ctx->transfer_completed;
}

/* Records a copy from the ring into `a` on the transfer queue. */
static td_status
copy_on_transfer_queue (td_vk_context *ctx, td_vk_allocation *a, VkDeviceSize at, VkDeviceSize dst_offset,
                        VkDeviceSize size, td_error *err)
{
  VkCommandBuffer cmd;
  td_status status = td_vk_transfer_begin (ctx, &cmd, err);
  if (status != TD_OK)
    return status;
  uint64_t value = ctx->transfer_submitted + 1;
  ctx->staging_transfer[at / (ctx->staging_size / TD_VK_STAGING_SEGMENTS)] = value;
  a->upload_value = value;
  a->block->upload_value = value;
  /* Earlier copies on this queue into the same range land first. */
  VkMemoryBarrier order = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
    .dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
  };
  vkCmdPipelineBarrier (cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &order, 0, NULL,
                        0, NULL);
  VkBufferCopy region = { .srcOffset = at, .dstOffset = dst_offset, .size = size };
  vkCmdCopyBuffer (cmd, ctx->staging->buffer, a->block->buffer, 1, &region);
  ctx->upload_stats.transfer_bytes += size;
  return TD_OK;
}

/* Records a copy from the ring into `a` in the compute stream. */
static td_status
copy_on_compute_queue (td_vk_context *ctx, td_vk_allocation *a, VkDeviceSize at, VkDeviceSize dst_offset,
                       VkDeviceSize size, td_error *err)
{
  VkCommandBuffer cmd;
  td_status status = td_vk_begin (ctx, &cmd, err);
  if (status != TD_OK)
    return status;
  ctx->staging_serial[at / (ctx->staging_size / TD_VK_STAGING_SEGMENTS)] = td_vk_recording_serial (ctx);
  td_vk_allocation_touch (a);
  td_vk_range dst = { a->block, a->block->buffer, dst_offset, size };
  td_vk_hazard (ctx, cmd, NULL, 0, &dst, 1);
  VkBufferCopy region = { .srcOffset = at, .dstOffset = dst_offset, .size = size };
  vkCmdCopyBuffer (cmd, ctx->staging->buffer, a->block->buffer, 1, &region);
  ctx->upload_stats.staged_bytes += size;
  return TD_OK;
}

td_status
td_vk_write (td_backend *backend, td_buffer *buffer, size_t offset, const void *src, size_t size, td_error *err)
{
  td_vk_context *ctx = backend->impl;
  td_vk_allocation *a = buffer->impl;
  if (offset > buffer->size || size > buffer->size - offset)
    return td_error_set (err, TD_ERR_INVALID_ARG, "write of %zu bytes at %zu past a %zu-byte GPU buffer", size,
                         offset, buffer->size);
  td_status status = td_vk_check_alive (ctx, err);
  if (status != TD_OK || size == 0)
    return status;
  bool handled = false; /* a captured step's input (vulkan_replay.c) */
  status = td_vk_replay_write (ctx, a->block, a->offset + offset, src, size, &handled, err);
  if (status != TD_OK || handled)
    return status;
  if (writable_in_place (ctx, a))
    {
      memcpy ((unsigned char *) a->block->map + a->offset + offset, src, size);
      ctx->upload_stats.direct_bytes += size;
      return TD_OK;
    }
  VkDeviceSize segment = ctx->staging_size / TD_VK_STAGING_SEGMENTS;
  bool on_transfer = ctx->transfer_queue != VK_NULL_HANDLE && a->block->dedicated && compute_idle (ctx, a);
  const unsigned char *bytes = src;
  while (size > 0)
    {
      VkDeviceSize at, chunk;
      status = staging_take (ctx, size, &at, &chunk, err);
      if (status != TD_OK)
        return status;
      memcpy ((unsigned char *) ctx->staging_map + at, bytes, chunk);
      status = on_transfer ? copy_on_transfer_queue (ctx, a, at, a->offset + offset, chunk, err)
                           : copy_on_compute_queue (ctx, a, at, a->offset + offset, chunk, err);
      if (status != TD_OK)
        return status;
      bytes += chunk;
      offset += chunk;
      size -= chunk;
      /* A full segment goes to the device now, so its copies overlap the host
       * filling the next one. */
      if (ctx->staging_head % segment == 0)
        status = on_transfer ? td_vk_transfer_flush (ctx, err) : td_vk_flush (ctx, err);
      if (status != TD_OK)
        return status;
    }
  return TD_OK;
}
