/* vulkan_replay.h — recording a repeated step once and resubmitting it
 * (vulkan_replay.c), and the hooks the recording and memory code call. */
#pragma once

#include "backend/vulkan/vulkan_internal.h"

/* The td_backend_vtable entries (see td_backend_capture_begin in backend.h). */
td_status td_vk_capture_begin (td_backend *backend, uint64_t key, td_error *err);
td_status td_vk_capture_end (td_backend *backend, td_error *err);
void td_vk_capture_drop (td_backend *backend);
td_capture_stats td_vk_capture_stats (td_backend *backend);
void td_vk_set_lasting (td_backend *backend, bool lasting);

/* Frees everything the replay holds (the context is going away, nothing runs). */
void td_vk_replay_destroy (td_vk_context *ctx);

/* Hooks. Each does nothing unless a step is being captured or replayed. */

/* True when the next command buffer begun should be a new replay segment. */
bool td_vk_replay_wants_segment (const td_vk_context *ctx);
/* A new segment, allocated and kept by the capture (begun by the caller). */
td_status td_vk_replay_new_segment (td_vk_context *ctx, VkCommandBuffer *out, td_error *err);
/* Sets *block and *offset from the step arena when the allocation belongs to the step;
 * returns false to let the ordinary allocator serve it. */
bool td_vk_replay_alloc (td_vk_context *ctx, VkDeviceSize size, td_vk_block **block, VkDeviceSize *offset);
/* Before a dispatch is recorded: capturing logs it; replaying compares it with the
 * capture and sets *skip when it matches (nothing to record), else falls back. */
td_status td_vk_replay_dispatch (td_vk_context *ctx, const char *name, VkPipeline pipeline, const void *push,
                                 size_t push_size, uint32_t gx, uint32_t gy, uint32_t gz, double work,
                                 const td_vk_range *reads, int read_count, const td_vk_range *writes,
                                 int write_count, bool *skip, td_error *err);
/* A write into device memory: a step input goes through its fixed slot (*handled);
 * any other write is left to the staging path, outside the captured segments. */
td_status td_vk_replay_write (td_vk_context *ctx, td_vk_block *block, VkDeviceSize offset, const void *src,
                              VkDeviceSize size, bool *handled, td_error *err);
/* The host is about to wait for the device (and read back when `reading`): replaying
 * falls back, since nothing is submitted yet; capturing gives up on a read, which the
 * segments cannot hold. */
td_status td_vk_replay_interrupt (td_vk_context *ctx, bool reading, td_error *err);
/* A block is being destroyed: a capture whose commands name it can never be replayed. */
void td_vk_replay_forget_block (td_vk_context *ctx, const td_vk_block *block);
/* Bytes held by the step arena. */
VkDeviceSize td_vk_replay_arena_bytes (const td_vk_context *ctx);
