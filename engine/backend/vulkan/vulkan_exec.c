/* vulkan_exec.c — recording dispatches into command buffers and submitting them.
 *
 * Ops are recorded back to back; a barrier goes in only when the next command
 * reads or overwrites a range written (or overwrites one read) since the last
 * barrier. A submission is cut after TD_VK_MAX_DISPATCHES dispatches or about
 * TD_VK_MAX_WORK_PER_SUBMIT flops so no single submission trips a desktop
 * watchdog; TD_VK_FRAMES command buffers rotate so recording continues while the
 * GPU works. TD_VULKAN_PROFILE=1 wraps each dispatch in timestamps and prints
 * the per-op totals at each sync.
 *
 * Each submission gets a serial; a command recorded on a block stamps it with the
 * serial of the submission being recorded, so memory freed by the caller is
 * destroyed only once that submission has completed (vulkan_memory.c).
 *
 * Replay (vulkan_replay.c): a step between td_backend_capture_begin and _end —
 * the FLUX transformer's, resident — is recorded once per shape and resubmitted on
 * later steps. What made that possible:
 * - the same addresses each step: the step's intermediates come from a step arena
 *   (first fit from empty over blocks kept by the capture), so the same sequence of
 *   allocations gives the same offsets; weights uploaded on first use are marked
 *   lasting and stay out of it;
 * - fixed inputs: an upload into the arena (timestep and guidance features) is a
 *   copy from a fixed slot of a host-visible buffer; a replay writes the new bytes
 *   there. The latents, text and rotary tables stay in their own tensors;
 * - command buffers of its own: while capturing, td_vk_begin hands out segments
 *   that the capture keeps (each cut at TD_VK_MAX_DISPATCHES as usual and opening
 *   with a full barrier), submitted on the frame ring like any other; uploads
 *   outside the arena are recorded between segments;
 * - proof: a replaying step still runs the model code, and each dispatch is
 *   compared with the log (pipeline, push constants, grid, ranges); nothing is
 *   recorded unless something differs, in which case the log so far is recorded
 *   the ordinary way and the step goes on as usual (td_capture_stats counts it);
 * - ownership: arena blocks live as long as the capture; a destroyed block that a
 *   capture names makes it unusable. Streamed block weights are uploads outside
 *   the arena inside the step, so a streamed transformer never replays.
 * Barriers stay valid, since they follow from the recorded sequence. Profiling
 * (TD_VULKAN_PROFILE=1) turns replay off, as does TD_VULKAN_REPLAY=0.
 */
#include "backend/vulkan/vulkan_internal.h"
#include "backend/vulkan/vulkan_replay.h"

#include <stdio.h>
#include <string.h>

void
td_vulkan_inject_faults (td_backend *backend, int nth_allocation, int nth_submit)
{
  td_vk_context *ctx = backend->impl;
  ctx->fault_alloc_countdown = nth_allocation;
  ctx->fault_submit_countdown = nth_submit;
}

uint64_t
td_vulkan_max_storage_buffer_range (td_backend *backend)
{
  td_vk_context *ctx = backend->impl;
  return ctx->info.max_storage_buffer_range;
}

void
td_vk_grid (uint32_t groups, uint32_t *gx, uint32_t *gy)
{
  const uint32_t max_x = 65535; /* the minimum maxComputeWorkGroupCount every device offers */
  *gx = groups < max_x ? (groups ? groups : 1) : max_x;
  *gy = (groups + *gx - 1) / *gx;
  if (*gy == 0)
    *gy = 1;
}

td_status
td_vk_exec_init (td_vk_context *ctx, td_error *err)
{
  VkCommandPoolCreateInfo pool_info = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
    .queueFamilyIndex = ctx->queue_family,
  };
  VkResult result = vkCreateCommandPool (ctx->device, &pool_info, NULL, &ctx->command_pool);
  if (result != VK_SUCCESS)
    return td_vk_fail (ctx, result, "creating a command pool", err);
  for (int i = 0; i < TD_VK_FRAMES; i++)
    {
      td_vk_frame *frame = &ctx->frames[i];
      VkCommandBufferAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = ctx->command_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
      };
      result = vkAllocateCommandBuffers (ctx->device, &alloc, &frame->cmd);
      if (result != VK_SUCCESS)
        return td_vk_fail (ctx, result, "allocating a command buffer", err);
      VkFenceCreateInfo fence_info = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
      result = vkCreateFence (ctx->device, &fence_info, NULL, &frame->fence);
      if (result != VK_SUCCESS)
        return td_vk_fail (ctx, result, "creating a fence", err);
      if (ctx->timestamps)
        {
          VkQueryPoolCreateInfo query_info = {
            .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
            .queryType = VK_QUERY_TYPE_TIMESTAMP,
            .queryCount = 2 * TD_VK_MAX_DISPATCHES,
          };
          result = vkCreateQueryPool (ctx->device, &query_info, NULL, &frame->queries);
          if (result != VK_SUCCESS)
            return td_vk_fail (ctx, result, "creating a timestamp query pool", err);
        }
    }
  return TD_OK;
}

void
td_vk_exec_destroy (td_vk_context *ctx)
{
  td_vk_replay_destroy (ctx);
  for (int i = 0; i < TD_VK_FRAMES; i++)
    {
      td_vk_frame *frame = &ctx->frames[i];
      if (frame->queries != VK_NULL_HANDLE)
        vkDestroyQueryPool (ctx->device, frame->queries, NULL);
      if (frame->fence != VK_NULL_HANDLE)
        vkDestroyFence (ctx->device, frame->fence, NULL);
    }
  if (ctx->command_pool != VK_NULL_HANDLE)
    vkDestroyCommandPool (ctx->device, ctx->command_pool, NULL);
}

static void
profile_add (td_vk_context *ctx, const char *name, double ms)
{
  int i = 0;
  while (i < ctx->profile_count && strcmp (ctx->profile_entries[i].name, name) != 0)
    i++;
  if (i == ctx->profile_count)
    {
      if (i == (int) (sizeof ctx->profile_entries / sizeof ctx->profile_entries[0]))
        return;
      ctx->profile_entries[i] = (td_vk_profile_entry) { .name = name };
      ctx->profile_count++;
    }
  ctx->profile_entries[i].ms += ms;
  ctx->profile_entries[i].count++;
  /* The sums td_vulkan_profile_take hands over (the benchmarks' JSON). */
  int t = 0;
  while (t < ctx->profile_total_count && strcmp (ctx->profile_totals[t].name, name) != 0)
    t++;
  if (t == ctx->profile_total_count)
    {
      if (t == (int) (sizeof ctx->profile_totals / sizeof ctx->profile_totals[0]))
        return;
      ctx->profile_totals[t] = (td_vk_profile_entry) { .name = name };
      ctx->profile_total_count++;
    }
  ctx->profile_totals[t].ms += ms;
  ctx->profile_totals[t].count++;
}

int
td_vulkan_profile_take (td_backend *backend, const char **names, double *ms, int *dispatches, int max)
{
  td_vk_context *ctx = backend->impl;
  int n = ctx->profile_total_count < max ? ctx->profile_total_count : max;
  for (int i = 0; i < n; i++)
    {
      names[i] = ctx->profile_totals[i].name;
      ms[i] = ctx->profile_totals[i].ms;
      dispatches[i] = ctx->profile_totals[i].count;
    }
  ctx->profile_total_count = 0;
  return n;
}

uint64_t
td_vk_recording_serial (const td_vk_context *ctx)
{
  return ctx->submitted_serial + 1;
}

/* Every submission older than the oldest one still in flight has completed. */
static void
update_completed (td_vk_context *ctx)
{
  uint64_t completed = ctx->submitted_serial;
  for (int i = 0; i < TD_VK_FRAMES; i++)
    if (ctx->frames[i].in_flight && ctx->frames[i].serial - 1 < completed)
      completed = ctx->frames[i].serial - 1;
  ctx->completed_serial = completed;
}

/* Waits for a submitted frame, collects its timestamps and releases the memory
 * that waited for it. */
static td_status
finish_frame (td_vk_context *ctx, td_vk_frame *frame, td_error *err)
{
  if (!frame->in_flight)
    return TD_OK;
  VkResult result = vkWaitForFences (ctx->device, 1, &frame->fence, VK_TRUE, UINT64_MAX);
  frame->in_flight = false;
  update_completed (ctx);
  if (result != VK_SUCCESS)
    return td_vk_fail (ctx, result, "waiting for the GPU", err);
  td_vk_memory_release_completed (ctx);
  if (ctx->profile && frame->query_count > 0)
    {
      uint64_t stamps[2 * TD_VK_MAX_DISPATCHES];
      result = vkGetQueryPoolResults (ctx->device, frame->queries, 0, (uint32_t) (2 * frame->query_count),
                                      sizeof stamps, stamps, sizeof stamps[0],
                                      VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
      if (result == VK_SUCCESS)
        for (int i = 0; i < frame->query_count; i++)
          profile_add (ctx, frame->query_names[i],
                       (double) (stamps[2 * i + 1] - stamps[2 * i]) * ctx->timestamp_period * 1e-6);
    }
  frame->query_count = 0;
  return TD_OK;
}

void
td_vk_poll (td_vk_context *ctx)
{
  if (ctx->lost)
    return;
  for (int i = 0; i < TD_VK_FRAMES; i++)
    if (ctx->frames[i].in_flight && vkGetFenceStatus (ctx->device, ctx->frames[i].fence) == VK_SUCCESS)
      finish_frame (ctx, &ctx->frames[i], NULL);
}

bool
td_vk_wait_oldest (td_vk_context *ctx, td_status *status, td_error *err)
{
  td_vk_frame *oldest = NULL;
  for (int i = 0; i < TD_VK_FRAMES; i++)
    if (ctx->frames[i].in_flight && (oldest == NULL || ctx->frames[i].serial < oldest->serial))
      oldest = &ctx->frames[i];
  if (oldest == NULL)
    return false;
  *status = finish_frame (ctx, oldest, err);
  return true;
}

void
td_vk_forget_buffer (td_vk_context *ctx, VkBuffer buffer)
{
  int kept = 0;
  for (int i = 0; i < ctx->pending_write_count; i++)
    if (ctx->pending_writes[i].buffer != buffer)
      ctx->pending_writes[kept++] = ctx->pending_writes[i];
  ctx->pending_write_count = kept;
  kept = 0;
  for (int i = 0; i < ctx->pending_read_count; i++)
    if (ctx->pending_reads[i].buffer != buffer)
      ctx->pending_reads[kept++] = ctx->pending_reads[i];
  ctx->pending_read_count = kept;
}

td_status
td_vk_begin (td_vk_context *ctx, VkCommandBuffer *out, td_error *err)
{
  td_status status = td_vk_check_alive (ctx, err);
  if (status != TD_OK)
    return status;
  td_vk_frame *frame = &ctx->frames[ctx->current];
  bool segment = td_vk_replay_wants_segment (ctx);
  /* A capture's segments hold only its own commands: what else was recorded goes first. */
  if (frame->recording && segment != (frame->active != frame->cmd))
    {
      if ((status = td_vk_flush (ctx, err)) != TD_OK)
        return status;
      frame = &ctx->frames[ctx->current];
    }
  if (!frame->recording)
    {
      status = finish_frame (ctx, frame, err);
      if (status != TD_OK)
        return status;
      VkResult result = VK_SUCCESS;
      VkCommandBuffer cmd = frame->cmd;
      if (segment)
        status = td_vk_replay_new_segment (ctx, &cmd, err);
      else
        result = vkResetCommandBuffer (cmd, 0);
      if (status != TD_OK)
        return status;
      /* Segments are submitted again on every replay. */
      VkCommandBufferBeginInfo begin = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = segment ? 0 : VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
      };
      if (result == VK_SUCCESS)
        result = vkBeginCommandBuffer (cmd, &begin);
      if (result != VK_SUCCESS)
        return td_vk_fail (ctx, result, "starting a command buffer", err);
      if (ctx->profile)
        vkCmdResetQueryPool (cmd, frame->queries, 0, 2 * TD_VK_MAX_DISPATCHES);
      /* A segment may run after anything: it starts by making every earlier write visible. */
      if (segment)
        td_vk_full_barrier (ctx, cmd);
      frame->active = cmd;
      frame->recording = true;
      frame->dispatches = 0;
      frame->work = 0;
      frame->query_count = 0;
    }
  *out = frame->active;
  return TD_OK;
}

static bool
overlaps (const td_vk_range *a, const td_vk_range *b)
{
  return a->buffer == b->buffer && a->offset < b->offset + b->size && b->offset < a->offset + a->size;
}

static bool
overlaps_any (const td_vk_range *r, const td_vk_range *list, int count)
{
  for (int i = 0; i < count; i++)
    if (overlaps (r, &list[i]))
      return true;
  return false;
}

/* Makes every pending write visible to later compute and transfer commands. */
static void
record_barrier (td_vk_context *ctx, VkCommandBuffer cmd)
{
  VkBufferMemoryBarrier barriers[TD_VK_MAX_HAZARDS];
  for (int i = 0; i < ctx->pending_write_count; i++)
    barriers[i] = (VkBufferMemoryBarrier) {
      .sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT
                       | VK_ACCESS_TRANSFER_WRITE_BIT,
      .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
      .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
      .buffer = ctx->pending_writes[i].buffer,
      .offset = ctx->pending_writes[i].offset,
      .size = ctx->pending_writes[i].size,
    };
  VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  vkCmdPipelineBarrier (cmd, stages, stages, 0, 0, NULL, (uint32_t) ctx->pending_write_count, barriers, 0, NULL);
  ctx->pending_write_count = 0;
  ctx->pending_read_count = 0;
}

/* Work completed before a sync is made visible to what follows it; the hazard
 * lists were emptied then, since their buffers may since have been destroyed. */
static void
record_sync_barrier (td_vk_context *ctx, VkCommandBuffer cmd)
{
  VkMemoryBarrier barrier = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
    .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT
                     | VK_ACCESS_TRANSFER_WRITE_BIT,
  };
  VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  vkCmdPipelineBarrier (cmd, stages, stages, 0, 1, &barrier, 0, NULL, 0, NULL);
  ctx->barrier_after_sync = false;
}

void
td_vk_full_barrier (td_vk_context *ctx, VkCommandBuffer cmd)
{
  record_sync_barrier (ctx, cmd);
  ctx->pending_write_count = 0;
  ctx->pending_read_count = 0;
}

void
td_vk_hazard (td_vk_context *ctx, VkCommandBuffer cmd, const td_vk_range *reads, int read_count,
              const td_vk_range *writes, int write_count)
{
  uint64_t serial = td_vk_recording_serial (ctx);
  for (int i = 0; i < read_count; i++)
    reads[i].block->last_use = serial;
  for (int i = 0; i < write_count; i++)
    writes[i].block->last_use = serial;
  if (ctx->barrier_after_sync)
    record_sync_barrier (ctx, cmd);
  bool needed = ctx->pending_write_count + write_count > TD_VK_MAX_HAZARDS
                || ctx->pending_read_count + read_count > TD_VK_MAX_HAZARDS;
  for (int i = 0; i < read_count && !needed; i++)
    needed = overlaps_any (&reads[i], ctx->pending_writes, ctx->pending_write_count);
  for (int i = 0; i < write_count && !needed; i++)
    needed = overlaps_any (&writes[i], ctx->pending_writes, ctx->pending_write_count)
             || overlaps_any (&writes[i], ctx->pending_reads, ctx->pending_read_count);
  if (needed)
    record_barrier (ctx, cmd);
  for (int i = 0; i < read_count; i++)
    ctx->pending_reads[ctx->pending_read_count++] = reads[i];
  for (int i = 0; i < write_count; i++)
    ctx->pending_writes[ctx->pending_write_count++] = writes[i];
}

/* Submits frame->active (ended) as the next serial on the frame being recorded. */
static td_status
submit_frame (td_vk_context *ctx, td_vk_frame *frame, VkResult result, td_error *err)
{
  /* Uploads on the transfer queue that this submission may read (vulkan_transfer.c). */
  VkTimelineSemaphoreSubmitInfo transfer_wait;
  bool waits;
  td_status status = td_vk_transfer_before_compute (ctx, &transfer_wait, &waits, err);
  if (status != TD_OK)
    return status;
  static const VkPipelineStageFlags wait_stages
    = VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
  /* A submission that fails never runs: what it used is free once older ones finish. */
  frame->serial = ++ctx->submitted_serial;
  if (result == VK_SUCCESS)
    result = vkResetFences (ctx->device, 1, &frame->fence);
  if (result == VK_SUCCESS && ctx->fault_submit_countdown > 0 && --ctx->fault_submit_countdown == 0)
    result = VK_ERROR_DEVICE_LOST; /* injected by a test */
  if (result == VK_SUCCESS)
    {
      VkSubmitInfo submit = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .pNext = waits ? &transfer_wait : NULL,
        .waitSemaphoreCount = waits ? 1 : 0,
        .pWaitSemaphores = &ctx->transfer_timeline,
        .pWaitDstStageMask = &wait_stages,
        .commandBufferCount = 1,
        .pCommandBuffers = &frame->active,
      };
      result = vkQueueSubmit (ctx->queue, 1, &submit, frame->fence);
    }
  if (result != VK_SUCCESS)
    {
      update_completed (ctx);
      return td_vk_fail (ctx, result, "submitting GPU work", err);
    }
  frame->in_flight = true;
  ctx->current = (ctx->current + 1) % TD_VK_FRAMES;
  td_vk_poll (ctx);
  return TD_OK;
}

td_status
td_vk_flush (td_vk_context *ctx, td_error *err)
{
  td_vk_frame *frame = &ctx->frames[ctx->current];
  if (!frame->recording)
    return td_vk_check_alive (ctx, err);
  frame->recording = false;
  return submit_frame (ctx, frame, vkEndCommandBuffer (frame->active), err);
}

td_status
td_vk_submit_recorded (td_vk_context *ctx, VkCommandBuffer cmd, td_error *err)
{
  td_vk_frame *frame = &ctx->frames[ctx->current];
  td_status status = td_vk_check_alive (ctx, err);
  if (status == TD_OK && frame->recording)
    status = td_vk_flush (ctx, err);
  frame = &ctx->frames[ctx->current];
  if (status == TD_OK)
    status = finish_frame (ctx, frame, err);
  if (status != TD_OK)
    return status;
  frame->active = cmd;
  return submit_frame (ctx, frame, VK_SUCCESS, err);
}

td_status
td_vk_dispatch (td_vk_context *ctx, const char *name, VkPipeline pipeline, const void *push, size_t push_size,
                uint32_t gx, uint32_t gy, uint32_t gz, double work, const td_vk_range *reads, int read_count,
                const td_vk_range *writes, int write_count, td_error *err)
{
  bool replayed = false;
  td_status status = td_vk_replay_dispatch (ctx, name, pipeline, push, push_size, gx, gy, gz, work, reads, read_count,
                                            writes, write_count, &replayed, err);
  if (status != TD_OK || replayed)
    return status;
  VkCommandBuffer cmd;
  status = td_vk_begin (ctx, &cmd, err);
  if (status != TD_OK)
    return status;
  td_vk_frame *frame = &ctx->frames[ctx->current];
  td_vk_hazard (ctx, cmd, reads, read_count, writes, write_count);
  vkCmdBindPipeline (cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
  vkCmdPushConstants (cmd, ctx->pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, (uint32_t) push_size, push);
  bool timed = ctx->profile && frame->query_count < TD_VK_MAX_DISPATCHES;
  if (timed)
    vkCmdWriteTimestamp (cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, frame->queries, (uint32_t) (2 * frame->query_count));
  vkCmdDispatch (cmd, gx, gy, gz);
  if (timed)
    {
      vkCmdWriteTimestamp (cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, frame->queries,
                           (uint32_t) (2 * frame->query_count + 1));
      frame->query_names[frame->query_count++] = name;
    }
  frame->dispatches++;
  frame->work += work;
  if (frame->dispatches >= TD_VK_MAX_DISPATCHES || frame->work >= TD_VK_MAX_WORK_PER_SUBMIT)
    return td_vk_flush (ctx, err);
  return TD_OK;
}

static void
print_profile (td_vk_context *ctx)
{
  if (ctx->profile_count == 0)
    return;
  double total = 0;
  for (int i = 0; i < ctx->profile_count; i++)
    total += ctx->profile_entries[i].ms;
  fprintf (stderr, "vulkan profile (%s): %.3f ms GPU\n", ctx->info.name, total);
  for (int i = 0; i < ctx->profile_count; i++)
    fprintf (stderr, "  %-20s %9.3f ms  %5d dispatches\n", ctx->profile_entries[i].name,
             ctx->profile_entries[i].ms, ctx->profile_entries[i].count);
  ctx->profile_count = 0;
}

td_status
td_vk_sync (td_vk_context *ctx, td_error *err)
{
  ctx->upload_stats.full_syncs++;
  td_status status = td_vk_replay_interrupt (ctx, false, err);
  if (status == TD_OK)
    status = td_vk_flush (ctx, err);
  for (int i = 0; i < TD_VK_FRAMES; i++)
    {
      td_status s = finish_frame (ctx, &ctx->frames[i], err);
      if (status == TD_OK)
        status = s;
    }
  if (status == TD_OK && ctx->transfer_queue != VK_NULL_HANDLE)
    status = td_vk_transfer_wait (ctx, ctx->transfer_submitted + (ctx->transfer_recording ? 1 : 0), err);
  if (status != TD_OK)
    return status;
  ctx->staging_head = 0;
  ctx->pending_write_count = 0;
  ctx->pending_read_count = 0;
  ctx->barrier_after_sync = true;
  td_vk_memory_collect (ctx);
  if (ctx->profile)
    print_profile (ctx);
  return TD_OK;
}
