/* vulkan_memory.c — device memory for tensors and the staging path.
 *
 * Tensors live in 256 MiB device-local blocks, each one VkBuffer that many
 * td_buffers sub-allocate (first fit, coalescing free list); buffers of 64 MiB or
 * more get a dedicated block. Shaders address memory through buffer device
 * addresses, so a tensor of any size up to maxMemoryAllocationSize is usable as
 * is, in its stored dtype, even beyond maxStorageBufferRange (no descriptor binds
 * it). Where the device has host-visible device-local memory on its main heap,
 * blocks are allocated there and mapped, so uploads can write them in place;
 * uploads otherwise go through the staging ring (vulkan_upload.c). Downloads wait
 * for the device and copy out through the staging buffer.
 *
 * Lifetime: a freed range of a shared block is reusable at once (the hazard
 * tracker puts a barrier between its last use and its next write); the free list
 * keeps the serial of its last use, so an in-place host write into a reused range
 * waits for nothing it cannot see (td_vk_allocation.reuse_serial). A freed
 * dedicated block is destroyed only when the last submission that recorded a
 * command on it (block->last_use) has completed; until then it waits in
 * ctx->deferred, and a new allocation first waits for old submissions when the
 * deferred blocks exceed ctx->deferred_limit or the device is out of memory.
 */
#include "backend/vulkan/vulkan_internal.h"
#include "backend/vulkan/vulkan_replay.h"

#include <stdlib.h>
#include <string.h>

#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((VkDeviceSize) (a) - 1))

VkResult
td_vk_allocate_memory (td_vk_context *ctx, const VkMemoryAllocateInfo *info, VkDeviceMemory *memory)
{
  if (ctx->fault_alloc_countdown > 0 && --ctx->fault_alloc_countdown == 0)
    return VK_ERROR_OUT_OF_DEVICE_MEMORY;
  return vkAllocateMemory (ctx->device, info, NULL, memory);
}

static int
find_memory_type (const td_vk_context *ctx, uint32_t type_bits, VkMemoryPropertyFlags want,
                  VkMemoryPropertyFlags avoid)
{
  const VkPhysicalDeviceMemoryProperties *mp = &ctx->memory_properties;
  for (uint32_t i = 0; i < mp->memoryTypeCount; i++)
    if ((type_bits & (1u << i)) && (mp->memoryTypes[i].propertyFlags & want) == want
        && (mp->memoryTypes[i].propertyFlags & avoid) == 0)
      return (int) i;
  return -1;
}

static void
block_free (td_vk_context *ctx, td_vk_block *block)
{
  if (block == NULL)
    return;
  td_vk_replay_forget_block (ctx, block);
  if (block->buffer != VK_NULL_HANDLE)
    vkDestroyBuffer (ctx->device, block->buffer, NULL);
  if (block->memory != VK_NULL_HANDLE)
    vkFreeMemory (ctx->device, block->memory, NULL);
  free (block->free_ranges);
  free (block);
}

/* A VkBuffer of `size` bytes with its own memory; host_visible for staging. */
static td_status
block_new (td_vk_context *ctx, VkDeviceSize size, bool host_visible, td_vk_block **out, td_error *err)
{
  td_vk_block *block = calloc (1, sizeof *block);
  if (block == NULL)
    return td_error_set (err, TD_ERR_NO_MEMORY, "out of host memory for a GPU block");
  block->size = size;
  VkBufferCreateInfo buffer_info = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
    .size = size,
    .usage = host_visible ? VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT
                          : VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT
                              | VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT,
    .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };
  uint32_t families[2] = { ctx->queue_family, ctx->transfer_family };
  if (td_vk_transfer_separate_family (ctx))
    {
      /* Uploads copy on the transfer queue, ops run on the compute one. */
      buffer_info.sharingMode = VK_SHARING_MODE_CONCURRENT;
      buffer_info.queueFamilyIndexCount = 2;
      buffer_info.pQueueFamilyIndices = families;
    }
  VkResult result = vkCreateBuffer (ctx->device, &buffer_info, NULL, &block->buffer);
  if (result != VK_SUCCESS)
    {
      block_free (ctx, block);
      return td_vk_fail (ctx, result, "creating a GPU buffer", err);
    }
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements (ctx->device, block->buffer, &req);
  int type = host_visible
               ? find_memory_type (ctx, req.memoryTypeBits,
                                   VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, 0)
               : find_memory_type (ctx, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
  bool direct = !host_visible && ctx->direct_upload && ctx->direct_memory_type >= 0
                && (req.memoryTypeBits & (1u << ctx->direct_memory_type));
  if (direct)
    type = ctx->direct_memory_type;
  if (type < 0)
    {
      block_free (ctx, block);
      return td_error_set (err, TD_ERR_UNSUPPORTED, "%s has no suitable %s memory type", ctx->info.name,
                           host_visible ? "host-visible" : "device-local");
    }
  VkMemoryAllocateFlagsInfo flags = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO,
    .flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT,
  };
  VkMemoryAllocateInfo alloc = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
    .pNext = host_visible ? NULL : &flags,
    .allocationSize = req.size,
    .memoryTypeIndex = (uint32_t) type,
  };
  result = td_vk_allocate_memory (ctx, &alloc, &block->memory);
  if (result == VK_SUCCESS)
    result = vkBindBufferMemory (ctx->device, block->buffer, block->memory, 0);
  if (result == VK_SUCCESS && direct)
    result = vkMapMemory (ctx->device, block->memory, 0, VK_WHOLE_SIZE, 0, &block->map);
  if (result != VK_SUCCESS)
    {
      block_free (ctx, block);
      td_status status = td_vk_fail (ctx, result, "allocating GPU memory", err);
      td_error_prefix (err, "%llu bytes", (unsigned long long) size);
      return status;
    }
  if (!host_visible)
    {
      VkBufferDeviceAddressInfo address_info = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO,
        .buffer = block->buffer,
      };
      block->address = vkGetBufferDeviceAddress (ctx->device, &address_info);
    }
  *out = block;
  return TD_OK;
}

static bool
add_block (td_vk_context *ctx, td_vk_block *block)
{
  if (ctx->block_count == ctx->block_capacity)
    {
      int capacity = ctx->block_capacity ? 2 * ctx->block_capacity : 16;
      td_vk_block **blocks = realloc (ctx->blocks, (size_t) capacity * sizeof *blocks);
      if (blocks == NULL)
        return false;
      ctx->blocks = blocks;
      ctx->block_capacity = capacity;
    }
  ctx->blocks[ctx->block_count++] = block;
  return true;
}

static void
remove_block (td_vk_context *ctx, td_vk_block *block)
{
  for (int i = 0; i < ctx->block_count; i++)
    if (ctx->blocks[i] == block)
      {
        ctx->blocks[i] = ctx->blocks[--ctx->block_count];
        return;
      }
}

/* First fit in a shared block's free list; *serial: the range's last use. */
static bool
block_take (td_vk_block *block, VkDeviceSize size, VkDeviceSize *offset, uint64_t *serial)
{
  for (int i = 0; i < block->free_count; i++)
    if (block->free_ranges[i].size >= size)
      {
        *offset = block->free_ranges[i].offset;
        *serial = block->free_ranges[i].serial;
        block->free_ranges[i].offset += size;
        block->free_ranges[i].size -= size;
        if (block->free_ranges[i].size == 0)
          {
            memmove (&block->free_ranges[i], &block->free_ranges[i + 1],
                     (size_t) (block->free_count - i - 1) * sizeof block->free_ranges[0]);
            block->free_count--;
          }
        block->live++;
        return true;
      }
  return false;
}

bool
td_vk_block_take (td_vk_block *block, VkDeviceSize size, VkDeviceSize *offset)
{
  uint64_t serial;
  return block_take (block, size, offset, &serial);
}

/* Returns a range last used by submission `serial` to the sorted free list,
 * merging with its neighbours (a merged range keeps the latest serial). */
static bool
block_give_back (td_vk_block *block, VkDeviceSize offset, VkDeviceSize size, uint64_t serial)
{
  int i = 0;
  while (i < block->free_count && block->free_ranges[i].offset < offset)
    i++;
  bool merge_prev = i > 0 && block->free_ranges[i - 1].offset + block->free_ranges[i - 1].size == offset;
  bool merge_next = i < block->free_count && offset + size == block->free_ranges[i].offset;
  block->live--;
  if (merge_prev && block->free_ranges[i - 1].serial < serial)
    block->free_ranges[i - 1].serial = serial;
  if (merge_next && block->free_ranges[i].serial < serial)
    block->free_ranges[i].serial = serial;
  if (merge_prev && merge_next)
    {
      if (block->free_ranges[i - 1].serial < block->free_ranges[i].serial)
        block->free_ranges[i - 1].serial = block->free_ranges[i].serial;
      block->free_ranges[i - 1].size += size + block->free_ranges[i].size;
      memmove (&block->free_ranges[i], &block->free_ranges[i + 1],
               (size_t) (block->free_count - i - 1) * sizeof block->free_ranges[0]);
      block->free_count--;
      return true;
    }
  if (merge_prev)
    {
      block->free_ranges[i - 1].size += size;
      return true;
    }
  if (merge_next)
    {
      block->free_ranges[i].offset = offset;
      block->free_ranges[i].size += size;
      return true;
    }
  if (block->free_count == block->free_capacity)
    {
      int capacity = block->free_capacity ? 2 * block->free_capacity : 16;
      void *ranges = realloc (block->free_ranges, (size_t) capacity * sizeof block->free_ranges[0]);
      if (ranges == NULL)
        return false; /* the range leaks inside the block until it is freed */
      block->free_ranges = ranges;
      block->free_capacity = capacity;
    }
  memmove (&block->free_ranges[i + 1], &block->free_ranges[i],
           (size_t) (block->free_count - i) * sizeof block->free_ranges[0]);
  block->free_ranges[i].offset = offset;
  block->free_ranges[i].size = size;
  block->free_ranges[i].serial = serial;
  block->free_count++;
  return true;
}

/* Destroys a block none of whose commands can still run. */
static void
block_destroy_unused (td_vk_context *ctx, td_vk_block *block)
{
  td_vk_forget_buffer (ctx, block->buffer);
  block_free (ctx, block);
}

/* No recorded or running command, compute or upload, uses the block. */
static bool
block_idle (const td_vk_context *ctx, const td_vk_block *block)
{
  return block->last_use <= ctx->completed_serial && block->upload_value <= ctx->transfer_completed;
}

void
td_vk_memory_release_completed (td_vk_context *ctx)
{
  td_vk_transfer_poll (ctx);
  td_vk_block **link = &ctx->deferred;
  while (*link != NULL)
    {
      td_vk_block *block = *link;
      if (block_idle (ctx, block))
        {
          *link = block->next_deferred;
          ctx->deferred_bytes -= block->size;
          block_destroy_unused (ctx, block);
        }
      else
        link = &block->next_deferred;
    }
}

static void
release_allocation (td_buffer *buffer)
{
  td_vk_allocation *a = buffer->impl;
  td_vk_context *ctx = a->ctx;
  td_vk_block *block = a->block;
  ctx->bytes_in_use -= a->size;
  if (block->dedicated)
    {
      remove_block (ctx, block);
      td_vk_transfer_poll (ctx);
      if (block_idle (ctx, block))
        block_destroy_unused (ctx, block);
      else
        {
          /* A recorded or running command may still use it: never wait here. */
          block->next_deferred = ctx->deferred;
          ctx->deferred = block;
          ctx->deferred_bytes += block->size;
        }
    }
  else
    /* Reuse of the range is ordered after earlier commands by the hazard tracker. */
    block_give_back (block, a->offset, a->size, a->last_use > a->reuse_serial ? a->last_use : a->reuse_serial);
  free (a);
  td_vk_context_unref (ctx);
}

/* Submits what is recorded and waits for the oldest submissions until the freed
 * blocks still waiting for them total at most `limit` bytes. */
static td_status
wait_for_deferred (td_vk_context *ctx, VkDeviceSize limit, td_error *err)
{
  td_status status = TD_OK;
  if (ctx->deferred_bytes > limit)
    status = td_vk_flush (ctx, err);
  while (status == TD_OK && ctx->deferred_bytes > limit && td_vk_wait_oldest (ctx, &status, err))
    ;
  if (status == TD_OK && ctx->deferred_bytes > limit && ctx->transfer_queue != VK_NULL_HANDLE)
    status = td_vk_transfer_wait (ctx, ctx->transfer_submitted + (ctx->transfer_recording ? 1 : 0), err);
  return status;
}

/* block_new for a tensor: first gives back what finished submissions held, and
 * on running out of device memory waits for the rest and tries once more. */
static td_status
device_block_new (td_vk_context *ctx, VkDeviceSize size, td_vk_block **out, td_error *err)
{
  td_vk_poll (ctx);
  td_status status = wait_for_deferred (ctx, ctx->deferred_limit, err);
  if (status != TD_OK)
    return status;
  status = block_new (ctx, size, false, out, err);
  if (status == TD_ERR_DEVICE_OOM && ctx->deferred != NULL)
    {
      status = wait_for_deferred (ctx, 0, err);
      if (status == TD_OK)
        status = block_new (ctx, size, false, out, err);
    }
  return status;
}

/* A device block with a free list covering all of it, for sub-allocation. */
static td_status
shared_block_new (td_vk_context *ctx, VkDeviceSize size, td_vk_block **out, td_error *err)
{
  td_vk_block *block;
  td_status status = device_block_new (ctx, size, &block, err);
  if (status != TD_OK)
    return status;
  block->free_ranges = malloc (16 * sizeof block->free_ranges[0]);
  if (block->free_ranges == NULL)
    {
      block_free (ctx, block);
      return td_error_set (err, TD_ERR_NO_MEMORY, "out of host memory");
    }
  block->free_capacity = 16;
  block->free_count = 1;
  block->free_ranges[0].offset = 0;
  block->free_ranges[0].size = size;
  block->free_ranges[0].serial = 0;
  *out = block;
  return TD_OK;
}

td_status
td_vk_arena_block_new (td_vk_context *ctx, VkDeviceSize size, td_vk_block **out, td_error *err)
{
  return shared_block_new (ctx, ALIGN_UP (size, TD_VK_ALIGNMENT), out, err);
}

td_status
td_vk_host_block_new (td_vk_context *ctx, VkDeviceSize size, td_vk_block **out, void **map, td_error *err)
{
  td_status status = block_new (ctx, size, true, out, err);
  if (status != TD_OK)
    return status;
  VkResult result = vkMapMemory (ctx->device, (*out)->memory, 0, VK_WHOLE_SIZE, 0, map);
  if (result != VK_SUCCESS)
    {
      block_free (ctx, *out);
      *out = NULL;
      return td_vk_fail (ctx, result, "mapping a host-visible buffer", err);
    }
  return TD_OK;
}

void
td_vk_block_destroy (td_vk_context *ctx, td_vk_block *block, bool mapped)
{
  if (block == NULL)
    return;
  if (mapped)
    vkUnmapMemory (ctx->device, block->memory);
  td_vk_forget_buffer (ctx, block->buffer);
  block_free (ctx, block);
}

bool
td_vk_block_adopt (td_vk_context *ctx, td_vk_block *block)
{
  return add_block (ctx, block);
}

void
td_vk_memory_collect (td_vk_context *ctx)
{
  td_vk_memory_release_completed (ctx);
  /* Keep one empty shared block around for the next stage. */
  bool kept_one = false;
  for (int i = ctx->block_count - 1; i >= 0; i--)
    {
      td_vk_block *block = ctx->blocks[i];
      if (block->dedicated || block->live > 0)
        continue;
      if (!kept_one)
        {
          kept_one = true;
          continue;
        }
      remove_block (ctx, block);
      block_free (ctx, block);
    }
}

td_status
td_vk_buffer_new (td_backend *backend, size_t size, td_buffer **out, td_error *err)
{
  td_vk_context *ctx = backend->impl;
  if (td_vk_check_alive (ctx, err) != TD_OK)
    return TD_ERR_DEVICE_LOST;
  VkDeviceSize rounded = ALIGN_UP ((VkDeviceSize) (size ? size : 1), TD_VK_ALIGNMENT);
  if (rounded < size || (ctx->max_allocation > 0 && rounded > ctx->max_allocation))
    return td_error_set (err, TD_ERR_LIMIT, "a GPU buffer of %zu bytes is larger than %s allows in one allocation "
                         "(%llu bytes)", size, ctx->info.name, (unsigned long long) ctx->max_allocation);
  td_vk_allocation *a = calloc (1, sizeof *a);
  if (a == NULL)
    return td_error_set (err, TD_ERR_NO_MEMORY, "out of host memory");
  a->ctx = ctx;
  a->size = rounded;
  if (td_vk_replay_alloc (ctx, rounded, &a->block, &a->offset))
    a->reuse_serial = UINT64_MAX; /* a step arena's range, reused every step: never written in place */
  else if (rounded >= TD_VK_DEDICATED_MIN)
    {
      td_vk_block *block;
      td_status status = device_block_new (ctx, rounded, &block, err);
      if (status != TD_OK)
        {
          free (a);
          return status;
        }
      block->dedicated = true;
      block->live = 1;
      if (!add_block (ctx, block))
        {
          block_free (ctx, block);
          free (a);
          return td_error_set (err, TD_ERR_NO_MEMORY, "out of host memory");
        }
      a->block = block;
    }
  else
    {
      for (int i = 0; i < ctx->block_count && a->block == NULL; i++)
        if (!ctx->blocks[i]->dedicated && block_take (ctx->blocks[i], rounded, &a->offset, &a->reuse_serial))
          a->block = ctx->blocks[i];
      if (a->block == NULL)
        {
          td_vk_block *block = NULL;
          td_status status = shared_block_new (ctx, TD_VK_BLOCK_SIZE, &block, err);
          if (status == TD_OK && !add_block (ctx, block))
            {
              block_free (ctx, block);
              status = td_error_set (err, TD_ERR_NO_MEMORY, "out of host memory");
            }
          if (status != TD_OK)
            {
              free (a);
              return status;
            }
          block_take (block, rounded, &a->offset, &a->reuse_serial);
          a->block = block;
        }
    }
  td_buffer *buffer = calloc (1, sizeof *buffer);
  if (buffer == NULL)
    {
      td_buffer tmp = { .impl = a };
      ctx->refcount++;
      ctx->bytes_in_use += rounded;
      release_allocation (&tmp);
      return td_error_set (err, TD_ERR_NO_MEMORY, "out of host memory");
    }
  buffer->backend = backend;
  buffer->size = size;
  buffer->refcount = 1;
  buffer->release = release_allocation;
  buffer->impl = a;
  ctx->refcount++;
  ctx->bytes_in_use += rounded;
  *out = buffer;
  return TD_OK;
}

static td_status
check_span (td_buffer *buffer, size_t offset, size_t size, const char *what, td_error *err)
{
  if (offset > buffer->size || size > buffer->size - offset)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s of %zu bytes at %zu past a %zu-byte GPU buffer", what, size,
                         offset, buffer->size);
  return TD_OK;
}

td_status
td_vk_read (td_backend *backend, td_buffer *buffer, size_t offset, void *dst, size_t size, td_error *err)
{
  td_vk_context *ctx = backend->impl;
  td_vk_allocation *a = buffer->impl;
  td_status status = check_span (buffer, offset, size, "read", err);
  if (status == TD_OK)
    status = td_vk_check_alive (ctx, err);
  if (status == TD_OK)
    status = td_vk_replay_interrupt (ctx, true, err);
  if (status == TD_OK)
    status = td_vk_sync (ctx, err);
  unsigned char *bytes = dst;
  while (status == TD_OK && size > 0)
    {
      VkDeviceSize chunk = size < ctx->staging_size ? size : ctx->staging_size;
      VkCommandBuffer cmd;
      status = td_vk_begin (ctx, &cmd, err);
      if (status != TD_OK)
        break;
      td_vk_allocation_touch (a);
      td_vk_range src = { a->block, a->block->buffer, a->offset + offset, chunk };
      td_vk_hazard (ctx, cmd, &src, 1, NULL, 0);
      VkBufferCopy region = { .srcOffset = src.offset, .dstOffset = 0, .size = chunk };
      vkCmdCopyBuffer (cmd, a->block->buffer, ctx->staging->buffer, 1, &region);
      VkMemoryBarrier to_host = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
      };
      vkCmdPipelineBarrier (cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0, NULL,
                            0, NULL);
      status = td_vk_sync (ctx, err);
      if (status != TD_OK)
        break;
      memcpy (bytes, ctx->staging_map, chunk);
      bytes += chunk;
      offset += chunk;
      size -= chunk;
    }
  return status;
}

/* The slots of asynchronous reads, made on first use. */
static td_status
readback_init (td_vk_context *ctx, td_error *err)
{
  if (ctx->readback != NULL)
    return TD_OK;
  td_status status = block_new (ctx, (VkDeviceSize) TD_VK_READBACK_SLOTS * TD_READBACK_MAX, true, &ctx->readback, err);
  if (status != TD_OK)
    {
      td_error_prefix (err, "readback buffer");
      return status;
    }
  VkResult result = vkMapMemory (ctx->device, ctx->readback->memory, 0, VK_WHOLE_SIZE, 0, &ctx->readback_map);
  if (result != VK_SUCCESS)
    {
      block_free (ctx, ctx->readback);
      ctx->readback = NULL;
      return td_vk_fail (ctx, result, "mapping the readback buffer", err);
    }
  return TD_OK;
}

td_status
td_vk_read_begin (td_backend *backend, td_buffer *buffer, size_t offset, size_t size, uint64_t *ticket, td_error *err)
{
  td_vk_context *ctx = backend->impl;
  td_vk_allocation *a = buffer->impl;
  td_status status = check_span (buffer, offset, size, "read", err);
  if (status == TD_OK)
    status = td_vk_check_alive (ctx, err);
  if (status == TD_OK)
    status = td_vk_replay_interrupt (ctx, true, err);
  if (status == TD_OK)
    status = readback_init (ctx, err);
  if (status != TD_OK)
    return status;
  int slot = 0;
  while (slot < TD_VK_READBACK_SLOTS && ctx->readback_busy[slot])
    slot++;
  if (slot == TD_VK_READBACK_SLOTS)
    return td_error_set (err, TD_ERR_NO_MEMORY, "%d asynchronous reads are already in flight", TD_VK_READBACK_SLOTS);
  VkCommandBuffer cmd;
  if ((status = td_vk_begin (ctx, &cmd, err)) != TD_OK)
    return status;
  td_vk_range src = { a->block, a->block->buffer, a->offset + offset, size };
  td_vk_hazard (ctx, cmd, &src, 1, NULL, 0);
  VkBufferCopy region = { .srcOffset = src.offset, .dstOffset = (VkDeviceSize) slot * TD_READBACK_MAX, .size = size };
  vkCmdCopyBuffer (cmd, a->block->buffer, ctx->readback->buffer, 1, &region);
  VkMemoryBarrier to_host = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
    .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
  };
  vkCmdPipelineBarrier (cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0, NULL, 0,
                        NULL);
  a->block->last_use = td_vk_recording_serial (ctx);
  td_vk_allocation_touch (a);
  ctx->readback_serial[slot] = td_vk_recording_serial (ctx);
  /* Submitted now, so the device works while the host records what comes next. */
  if ((status = td_vk_flush (ctx, err)) != TD_OK)
    return status;
  ctx->readback_busy[slot] = true;
  *ticket = (uint64_t) slot;
  return TD_OK;
}

td_status
td_vk_read_poll (td_backend *backend, uint64_t ticket, bool wait, void *dst, size_t size, bool *ready, td_error *err)
{
  td_vk_context *ctx = backend->impl;
  int slot = (int) ticket;
  *ready = false;
  td_status status = td_vk_check_alive (ctx, err);
  td_vk_poll (ctx);
  while (status == TD_OK && wait && ctx->completed_serial < ctx->readback_serial[slot])
    if (!td_vk_wait_oldest (ctx, &status, err))
      break;
  if (status != TD_OK || ctx->completed_serial < ctx->readback_serial[slot])
    return status;
  memcpy (dst, (const unsigned char *) ctx->readback_map + (size_t) slot * TD_READBACK_MAX, size);
  *ready = true;
  return TD_OK;
}

void
td_vk_read_end (td_backend *backend, uint64_t ticket)
{
  td_vk_context *ctx = backend->impl;
  ctx->readback_busy[(int) ticket] = false;
}

td_status
td_vk_memory_init (td_vk_context *ctx, td_error *err)
{
  vkGetPhysicalDeviceMemoryProperties (ctx->physical, &ctx->memory_properties);
  VkDeviceSize heap = 0;
  for (uint32_t i = 0; i < ctx->memory_properties.memoryHeapCount; i++)
    if ((ctx->memory_properties.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
        && ctx->memory_properties.memoryHeaps[i].size > heap)
      heap = ctx->memory_properties.memoryHeaps[i].size;
  ctx->deferred_limit = heap / 8 < TD_VK_DEFERRED_LIMIT_MIN   ? TD_VK_DEFERRED_LIMIT_MIN
                        : heap / 8 > TD_VK_DEFERRED_LIMIT_MAX ? TD_VK_DEFERRED_LIMIT_MAX
                                                              : heap / 8;
  return td_vk_upload_init (ctx, heap, err);
}

void
td_vk_memory_destroy (td_vk_context *ctx)
{
  while (ctx->deferred != NULL)
    {
      td_vk_block *block = ctx->deferred;
      ctx->deferred = block->next_deferred;
      block_free (ctx, block);
    }
  ctx->deferred_bytes = 0;
  for (int i = 0; i < ctx->block_count; i++)
    block_free (ctx, ctx->blocks[i]);
  free (ctx->blocks);
  ctx->blocks = NULL;
  ctx->block_count = 0;
  td_vk_upload_destroy (ctx);
  if (ctx->readback != NULL)
    {
      if (ctx->readback_map != NULL)
        vkUnmapMemory (ctx->device, ctx->readback->memory);
      block_free (ctx, ctx->readback);
      ctx->readback = NULL;
    }
}

void
td_vulkan_memory_usage (td_backend *backend, uint64_t *used, uint64_t *budget)
{
  td_vk_context *ctx = backend->impl;
  uint64_t total = 0, allocated = ctx->deferred_bytes + td_vk_replay_arena_bytes (ctx);
  for (int i = 0; i < ctx->block_count; i++)
    allocated += ctx->blocks[i]->size;
  if (ctx->staging_device_local)
    allocated += ctx->staging_size;
  VkPhysicalDeviceMemoryBudgetPropertiesEXT budgets = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT,
  };
  VkPhysicalDeviceMemoryProperties2 props = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2,
    .pNext = ctx->info.memory_budget ? &budgets : NULL,
  };
  vkGetPhysicalDeviceMemoryProperties2 (ctx->physical, &props);
  for (uint32_t i = 0; i < props.memoryProperties.memoryHeapCount; i++)
    if (props.memoryProperties.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      total += ctx->info.memory_budget ? budgets.heapBudget[i] : props.memoryProperties.memoryHeaps[i].size;
  if (used != NULL)
    *used = allocated;
  if (budget != NULL)
    *budget = total;
}
