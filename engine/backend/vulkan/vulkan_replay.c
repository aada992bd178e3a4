/* vulkan_replay.c — a step recorded once and resubmitted (td_backend_capture_begin).
 *
 * Capturing (the first step with a key): allocations of the step come from the
 * arena, a few device blocks that nothing else uses, where first fit from empty
 * gives the same offsets whenever the sequence of allocations and frees is the
 * same. Dispatches are recorded into segments — command buffers that the capture
 * keeps, each starting with a full barrier — and logged with their push constants
 * and ranges. An upload into the arena (a per-step input: timestep features) is
 * copied from a fixed slot of a host-visible buffer; any other upload (weights on
 * first use) is recorded outside the segments, which it splits. The step runs as it
 * is captured.
 *
 * Replaying (a later step with the same key, the arena empty again): the model
 * code runs as usual, but each dispatch is only compared with the log — pipeline,
 * push constants (tensor addresses included), grid and ranges — and an arena upload
 * only writes its bytes into its slot. At the end the segments are resubmitted.
 * At the first difference (another op, another tensor, an upload outside the
 * arena, a read back or a wait) the log up to there is recorded the ordinary way,
 * the rest of the step follows it, and the capture is dropped; the next step with
 * that key captures again. One capture is kept: a new key captures anew.
 *
 * Profiling (TD_VULKAN_PROFILE=1) and TD_VULKAN_REPLAY=0 turn capture off: every
 * step is recorded, so per-dispatch timestamps stay per step.
 */
#include "backend/vulkan/vulkan_replay.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK_SIZE ((VkDeviceSize) 256 << 20)
#define SLOTS_SIZE ((VkDeviceSize) 4 << 20) /* per-step inputs are small */
#define MAX_RANGES 8

typedef enum replay_mode {
  MODE_OFF,        /* nothing captured or replayed: ordinary recording */
  MODE_CAPTURING,
  MODE_REPLAYING,
  MODE_FELL_BACK,  /* a replay that stopped matching: ordinary recording, arena allocations */
} replay_mode;

typedef struct replay_entry {
  bool upload;             /* a copy from the input slots (writes[0] is its destination) */
  VkDeviceSize slot;       /* upload: offset of its bytes in the slots */
  const char *name;
  VkPipeline pipeline;
  unsigned char push[TD_VK_PUSH_CONSTANT_SIZE];
  size_t push_size;
  uint32_t gx, gy, gz;
  double work;
  td_vk_range reads[MAX_RANGES], writes[MAX_RANGES];
  int read_count, write_count;
} replay_entry;

typedef struct td_vk_replay {
  bool enabled;
  replay_mode mode;
  bool captured;           /* a capture for `key` exists */
  bool valid;              /* ... and may be replayed */
  bool side;               /* an upload outside the arena is being recorded outside the segments */
  uint64_t key;
  VkCommandBuffer *segments;
  int segment_count, segment_capacity;
  replay_entry *entries;
  int entry_count, entry_capacity;
  int position;            /* replaying: entries matched so far */
  uint64_t last_serial;    /* replaying: the serial the last segment will get */
  td_vk_block **arena;
  int arena_count;
  td_vk_block *slots;
  void *slots_map;
  VkDeviceSize slots_head;
  td_capture_stats stats;
} td_vk_replay;

static bool
env_off (const char *name)
{
  const char *value = getenv (name);
  return value != NULL && strcmp (value, "0") == 0;
}

static td_vk_replay *
replay_of (td_vk_context *ctx)
{
  if (ctx->replay == NULL)
    {
      ctx->replay = calloc (1, sizeof *ctx->replay);
      if (ctx->replay != NULL)
        ctx->replay->enabled = !env_off ("TD_VULKAN_REPLAY") && !ctx->profile;
    }
  return ctx->replay;
}

static bool
owns_block (const td_vk_replay *r, const td_vk_block *block)
{
  for (int i = 0; i < r->arena_count; i++)
    if (r->arena[i] == block)
      return true;
  return false;
}

static bool
arena_empty (const td_vk_replay *r)
{
  for (int i = 0; i < r->arena_count; i++)
    if (r->arena[i]->live > 0)
      return false;
  return true;
}

/* Forgets the recorded step; its segments must not be running. */
static void
discard_capture (td_vk_context *ctx, td_vk_replay *r)
{
  if (r->segment_count > 0)
    vkFreeCommandBuffers (ctx->device, ctx->command_pool, (uint32_t) r->segment_count, r->segments);
  r->segment_count = 0;
  r->entry_count = 0;
  r->slots_head = 0;
  r->captured = false;
  r->valid = false;
}

/* items with room for one more (reallocated when full), or NULL (items unchanged). */
static void *
grow (void *items, int *capacity, int count, size_t item_size)
{
  if (count < *capacity)
    return items;
  int larger = *capacity ? 2 * *capacity : 64;
  void *more = realloc (items, (size_t) larger * item_size);
  if (more != NULL)
    *capacity = larger;
  return more;
}

static bool
grow_entries (td_vk_replay *r)
{
  replay_entry *entries = grow (r->entries, &r->entry_capacity, r->entry_count, sizeof *entries);
  if (entries != NULL)
    r->entries = entries;
  return entries != NULL;
}

bool
td_vk_replay_wants_segment (const td_vk_context *ctx)
{
  const td_vk_replay *r = ctx->replay;
  return r != NULL && r->mode == MODE_CAPTURING && !r->side;
}

td_status
td_vk_replay_new_segment (td_vk_context *ctx, VkCommandBuffer *out, td_error *err)
{
  td_vk_replay *r = ctx->replay;
  VkCommandBuffer *segments = grow (r->segments, &r->segment_capacity, r->segment_count, sizeof *segments);
  if (segments == NULL)
    return td_error_set (err, TD_ERR_NO_MEMORY, "out of host memory for a recorded step");
  r->segments = segments;
  VkCommandBufferAllocateInfo alloc = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
    .commandPool = ctx->command_pool,
    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
    .commandBufferCount = 1,
  };
  VkResult result = vkAllocateCommandBuffers (ctx->device, &alloc, out);
  if (result != VK_SUCCESS)
    return td_vk_fail (ctx, result, "allocating a command buffer for a recorded step", err);
  r->segments[r->segment_count++] = *out;
  return TD_OK;
}

bool
td_vk_replay_alloc (td_vk_context *ctx, VkDeviceSize size, td_vk_block **block, VkDeviceSize *offset)
{
  td_vk_replay *r = ctx->replay;
  if (r == NULL || r->mode == MODE_OFF || ctx->lasting_depth > 0)
    return false;
  for (int i = 0; i < r->arena_count; i++)
    if (td_vk_block_take (r->arena[i], size, offset))
      {
        *block = r->arena[i];
        return true;
      }
  td_vk_block **arena = realloc (r->arena, (size_t) (r->arena_count + 1) * sizeof *arena);
  if (arena == NULL)
    return false;
  r->arena = arena;
  td_vk_block *fresh;
  if (td_vk_arena_block_new (ctx, size > ARENA_BLOCK_SIZE ? size : ARENA_BLOCK_SIZE, &fresh, NULL) != TD_OK)
    {
      /* Served by the ordinary allocator, at an address a replay cannot count on. */
      if (r->mode == MODE_CAPTURING)
        r->valid = false;
      return false;
    }
  r->arena[r->arena_count++] = fresh;
  td_vk_block_take (fresh, size, offset);
  *block = fresh;
  return true;
}

static bool
same_ranges (const td_vk_range *a, const td_vk_range *b, int count)
{
  for (int i = 0; i < count; i++)
    if (a[i].block != b[i].block || a[i].buffer != b[i].buffer || a[i].offset != b[i].offset
        || a[i].size != b[i].size)
      return false;
  return true;
}

static void
stamp (const td_vk_range *ranges, int count, uint64_t serial)
{
  for (int i = 0; i < count; i++)
    ranges[i].block->last_use = serial;
}

/* Records an upload entry's copy from its slot into the command buffer being recorded. */
static td_status
record_upload (td_vk_context *ctx, const td_vk_range *dst, VkDeviceSize slot, td_error *err)
{
  VkCommandBuffer cmd;
  td_status status = td_vk_begin (ctx, &cmd, err);
  if (status != TD_OK)
    return status;
  td_vk_hazard (ctx, cmd, NULL, 0, dst, 1);
  VkBufferCopy region = { .srcOffset = slot, .dstOffset = dst->offset, .size = dst->size };
  vkCmdCopyBuffer (cmd, ctx->replay->slots->buffer, dst->buffer, 1, &region);
  return TD_OK;
}

/* The replay stops matching: what it skipped so far is recorded now, the ordinary way,
 * and the capture is dropped so that the next step with its key captures again. */
static td_status
fall_back (td_vk_context *ctx, td_vk_replay *r, td_error *err)
{
  r->mode = MODE_FELL_BACK;
  r->valid = false;
  r->stats.fallbacks++;
  td_status status = TD_OK;
  for (int i = 0; i < r->position && status == TD_OK; i++)
    {
      const replay_entry *e = &r->entries[i];
      status = e->upload ? record_upload (ctx, &e->writes[0], e->slot, err)
                         : td_vk_dispatch (ctx, e->name, e->pipeline, e->push, e->push_size, e->gx, e->gy, e->gz,
                                           e->work, e->reads, e->read_count, e->writes, e->write_count, err);
    }
  return status;
}

td_status
td_vk_replay_dispatch (td_vk_context *ctx, const char *name, VkPipeline pipeline, const void *push, size_t push_size,
                       uint32_t gx, uint32_t gy, uint32_t gz, double work, const td_vk_range *reads, int read_count,
                       const td_vk_range *writes, int write_count, bool *skip, td_error *err)
{
  td_vk_replay *r = ctx->replay;
  *skip = false;
  if (r == NULL)
    return TD_OK;
  if (r->mode == MODE_CAPTURING)
    {
      r->side = false;
      if (!r->valid)
        return TD_OK;
      if (read_count > MAX_RANGES || write_count > MAX_RANGES || push_size > TD_VK_PUSH_CONSTANT_SIZE
          || !grow_entries (r))
        {
          r->valid = false;
          return TD_OK;
        }
      replay_entry *e = &r->entries[r->entry_count++];
      *e = (replay_entry) { .name = name, .pipeline = pipeline, .push_size = push_size, .gx = gx, .gy = gy,
                            .gz = gz, .work = work, .read_count = read_count, .write_count = write_count };
      memcpy (e->push, push, push_size);
      memcpy (e->reads, reads, (size_t) read_count * sizeof *reads);
      memcpy (e->writes, writes, (size_t) write_count * sizeof *writes);
      return TD_OK;
    }
  if (r->mode != MODE_REPLAYING)
    return TD_OK;
  const replay_entry *e = r->position < r->entry_count ? &r->entries[r->position] : NULL;
  if (e != NULL && !e->upload && e->pipeline == pipeline && e->push_size == push_size
      && memcmp (e->push, push, push_size) == 0 && e->gx == gx && e->gy == gy && e->gz == gz
      && e->read_count == read_count && e->write_count == write_count && same_ranges (e->reads, reads, read_count)
      && same_ranges (e->writes, writes, write_count))
    {
      stamp (reads, read_count, r->last_serial);
      stamp (writes, write_count, r->last_serial);
      r->position++;
      *skip = true;
      return TD_OK;
    }
  return fall_back (ctx, r, err);
}

td_status
td_vk_replay_write (td_vk_context *ctx, td_vk_block *block, VkDeviceSize offset, const void *src, VkDeviceSize size,
                    bool *handled, td_error *err)
{
  td_vk_replay *r = ctx->replay;
  *handled = false;
  if (r == NULL || (r->mode != MODE_CAPTURING && r->mode != MODE_REPLAYING))
    return TD_OK;
  const td_vk_range dst = { block, block->buffer, offset, size };
  bool input = owns_block (r, block);
  if (r->mode == MODE_REPLAYING)
    {
      const replay_entry *e = r->position < r->entry_count ? &r->entries[r->position] : NULL;
      if (!input || e == NULL || !e->upload || !same_ranges (&e->writes[0], &dst, 1))
        return fall_back (ctx, r, err);
      memcpy ((unsigned char *) r->slots_map + e->slot, src, size);
      stamp (&dst, 1, r->last_serial);
      r->position++;
      *handled = true;
      return TD_OK;
    }
  /* Capturing: anything but a step input is uploaded outside the segments. */
  VkDeviceSize slot = (r->slots_head + 15) & ~(VkDeviceSize) 15;
  if (!input || !r->valid || slot + size > SLOTS_SIZE)
    {
      if (input)
        r->valid = false; /* an input too large for the slots */
      r->side = true;
      return TD_OK;
    }
  if (r->slots == NULL)
    {
      td_status status = td_vk_host_block_new (ctx, SLOTS_SIZE, &r->slots, &r->slots_map, err);
      if (status != TD_OK)
        return status;
    }
  if (!grow_entries (r))
    {
      r->valid = false;
      r->side = true;
      return TD_OK;
    }
  r->side = false;
  memcpy ((unsigned char *) r->slots_map + slot, src, size);
  r->slots_head = slot + size;
  r->entries[r->entry_count++] = (replay_entry) { .upload = true, .slot = slot, .name = "upload", .writes = { dst },
                                                  .write_count = 1 };
  *handled = true;
  return record_upload (ctx, &dst, slot, err);
}

td_status
td_vk_replay_interrupt (td_vk_context *ctx, bool reading, td_error *err)
{
  td_vk_replay *r = ctx->replay;
  if (r == NULL)
    return TD_OK;
  if (r->mode == MODE_CAPTURING && reading)
    r->valid = false;
  return r->mode == MODE_REPLAYING ? fall_back (ctx, r, err) : TD_OK;
}

void
td_vk_replay_forget_block (td_vk_context *ctx, const td_vk_block *block)
{
  td_vk_replay *r = ctx->replay;
  if (r == NULL || !r->valid)
    return;
  for (int i = 0; i < r->entry_count && r->valid; i++)
    {
      const replay_entry *e = &r->entries[i];
      for (int k = 0; k < e->read_count; k++)
        r->valid &= e->reads[k].block != block;
      for (int k = 0; k < e->write_count; k++)
        r->valid &= e->writes[k].block != block;
    }
}

VkDeviceSize
td_vk_replay_arena_bytes (const td_vk_context *ctx)
{
  VkDeviceSize bytes = 0;
  for (int i = 0; ctx->replay != NULL && i < ctx->replay->arena_count; i++)
    bytes += ctx->replay->arena[i]->size;
  return bytes;
}

td_status
td_vk_capture_begin (td_backend *backend, uint64_t key, td_error *err)
{
  td_vk_context *ctx = backend->impl;
  td_vk_replay *r = replay_of (ctx);
  if (r == NULL)
    return td_error_set (err, TD_ERR_NO_MEMORY, "out of host memory for recorded steps");
  if (r->mode != MODE_OFF)
    return td_error_set (err, TD_ERR_INVALID_ARG, "a captured step began inside another");
  if (!r->enabled)
    return TD_OK;
  /* The previous submissions finish first: they may read the arena or the slots. */
  td_status status = td_vk_sync (ctx, err);
  if (status != TD_OK)
    return status;
  if (!arena_empty (r))
    return TD_OK; /* a tensor of an earlier step is still held: this one runs as it comes */
  if (r->captured && r->valid && r->key == key)
    {
      r->mode = MODE_REPLAYING;
      r->position = 0;
      r->last_serial = ctx->submitted_serial + (uint64_t) r->segment_count;
      return TD_OK;
    }
  discard_capture (ctx, r);
  r->key = key;
  r->valid = true;
  r->side = false;
  r->mode = MODE_CAPTURING;
  return TD_OK;
}

td_status
td_vk_capture_end (td_backend *backend, td_error *err)
{
  td_vk_context *ctx = backend->impl;
  td_vk_replay *r = ctx->replay;
  if (r == NULL || r->mode == MODE_OFF)
    return TD_OK;
  td_status status = TD_OK;
  if (r->mode == MODE_CAPTURING)
    {
      r->mode = MODE_OFF;
      r->side = false;
      status = td_vk_flush (ctx, err);
      r->captured = status == TD_OK;
      if (r->captured && r->valid)
        r->stats.captures++;
      return status;
    }
  if (r->mode == MODE_REPLAYING && (r->position != r->entry_count || !r->valid))
    status = fall_back (ctx, r, err); /* the step stopped short of the capture */
  if (r->mode == MODE_REPLAYING)
    {
      for (int i = 0; i < r->segment_count && status == TD_OK; i++)
        status = td_vk_submit_recorded (ctx, r->segments[i], err);
      /* What follows comes after the whole step, which the hazard lists do not describe. */
      ctx->pending_write_count = 0;
      ctx->pending_read_count = 0;
      ctx->barrier_after_sync = true;
      if (status == TD_OK)
        r->stats.replays++;
    }
  r->mode = MODE_OFF;
  return status;
}

/* Frees the arena's blocks; one still holding tensors becomes an ordinary shared block. */
static void
release_arena (td_vk_context *ctx, td_vk_replay *r)
{
  for (int i = 0; i < r->arena_count; i++)
    if (r->arena[i]->live == 0 || !td_vk_block_adopt (ctx, r->arena[i]))
      td_vk_block_destroy (ctx, r->arena[i], false);
  free (r->arena);
  r->arena = NULL;
  r->arena_count = 0;
}

void
td_vk_capture_drop (td_backend *backend)
{
  td_vk_context *ctx = backend->impl;
  td_vk_replay *r = ctx->replay;
  if (r == NULL || r->mode != MODE_OFF)
    return;
  if (!ctx->lost)
    td_vk_sync (ctx, NULL);
  discard_capture (ctx, r);
  release_arena (ctx, r);
  td_vk_block_destroy (ctx, r->slots, true);
  r->slots = NULL;
  r->slots_map = NULL;
}

td_capture_stats
td_vk_capture_stats (td_backend *backend)
{
  td_vk_context *ctx = backend->impl;
  return ctx->replay != NULL ? ctx->replay->stats : (td_capture_stats) { 0 };
}

void
td_vk_set_lasting (td_backend *backend, bool lasting)
{
  td_vk_context *ctx = backend->impl;
  ctx->lasting_depth += lasting ? 1 : -1;
}

void
td_vk_replay_destroy (td_vk_context *ctx)
{
  td_vk_replay *r = ctx->replay;
  if (r == NULL)
    return;
  discard_capture (ctx, r);
  ctx->replay = NULL; /* no hook runs from here on */
  for (int i = 0; i < r->arena_count; i++)
    td_vk_block_destroy (ctx, r->arena[i], false);
  free (r->arena);
  td_vk_block_destroy (ctx, r->slots, true);
  free (r->segments);
  free (r->entries);
  free (r);
}
