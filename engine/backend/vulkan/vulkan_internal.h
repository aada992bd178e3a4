/* vulkan_internal.h — state shared by the Vulkan backend's files: device
 * (vulkan_device.c), memory (vulkan_memory.c), pipelines (vulkan_pipeline.c),
 * command recording and submission (vulkan_exec.c) and ops (vulkan_ops.c). */
#pragma once

#include <vulkan/vulkan.h>

#include "backend/vulkan/vulkan_backend.h"

#define TD_VK_FRAMES 3                  /* command buffers in flight */
#define TD_VK_MAX_DISPATCHES 128        /* per submission */
#define TD_VK_MAX_WORK_PER_SUBMIT 2e11  /* estimated flops per submission (watchdogs) */
#define TD_VK_BLOCK_SIZE ((VkDeviceSize) 256 << 20)
#define TD_VK_DEDICATED_MIN ((VkDeviceSize) 64 << 20) /* larger buffers get their own memory */
#define TD_VK_ALIGNMENT 256
#define TD_VK_STAGING_SEGMENTS 8        /* parts of the staging ring, each waited for on its own */
#define TD_VK_MAX_HAZARDS 64
/* Freed dedicated blocks still used by unfinished submissions may hold up to an
 * eighth of the device-local heap, within these bounds, before a new allocation
 * first waits for the oldest submissions to finish. */
#define TD_VK_DEFERRED_LIMIT_MIN ((VkDeviceSize) 256 << 20)
#define TD_VK_DEFERRED_LIMIT_MAX ((VkDeviceSize) 4 << 30)
#define TD_VK_PUSH_CONSTANT_SIZE 128
#define TD_VK_READBACK_SLOTS 64          /* asynchronous reads in flight, TD_READBACK_MAX bytes each */

typedef struct td_vk_context td_vk_context;

/* A device-local VkBuffer with its memory: a 256 MiB block shared by many
 * sub-allocations, or a dedicated one for a large tensor. Never bound as a
 * descriptor: shaders reach it through its device address. */
typedef struct td_vk_block {
  VkDeviceMemory memory;
  VkBuffer buffer;
  VkDeviceAddress address;
  VkDeviceSize size;
  bool dedicated;
  int live;              /* sub-allocations in it */
  uint64_t last_use;     /* serial of the last submission recording a command on it */
  void *map;             /* persistently mapped when in host-visible memory (direct uploads) */
  uint64_t upload_value; /* the transfer batch that last copied into it (vulkan_transfer.c) */
  struct td_vk_block *next_deferred; /* in td_vk_context.deferred once freed */
  int free_count, free_capacity;
  /* Sorted, coalesced; serial: the last submission that used any of the range. */
  struct { VkDeviceSize offset, size; uint64_t serial; } *free_ranges;
} td_vk_block;

/* td_buffer->impl for Vulkan buffers. */
typedef struct td_vk_allocation {
  td_vk_context *ctx;
  td_vk_block *block;
  VkDeviceSize offset, size;
  /* The last submission recording a command on this allocation, and the last one
   * that used its range before it was allocated (a reused range of a shared block):
   * once both have completed, the host may write it in place. */
  uint64_t last_use, reuse_serial;
  uint64_t upload_value;  /* the transfer batch that last copied into it (vulkan_transfer.c) */
} td_vk_allocation;

typedef struct td_vk_range {
  td_vk_block *block;
  VkBuffer buffer;
  VkDeviceSize offset, size;
} td_vk_range;

typedef struct td_vk_frame {
  VkCommandBuffer cmd;
  VkCommandBuffer active;  /* what is recorded and submitted: cmd, or a replay segment */
  VkFence fence;
  uint64_t serial;       /* of its last submission */
  bool recording, in_flight;
  int dispatches;
  double work;
  VkQueryPool queries;
  const char *query_names[TD_VK_MAX_DISPATCHES];
  int query_count;
} td_vk_frame;

typedef struct td_vk_pipeline {
  int shader;            /* index into td_vk_shader_table */
  uint32_t spec[4];
  int spec_count;
  VkPipeline pipeline;
} td_vk_pipeline;

typedef struct td_vk_profile_entry {
  const char *name;
  double ms;
  int count;
} td_vk_profile_entry;

struct td_vk_context {
  int refcount;          /* the backend plus every live allocation */
  td_backend *backend;
  td_vulkan_device_info info;

  VkInstance instance;
  VkDebugUtilsMessengerEXT messenger;
  VkPhysicalDevice physical;
  VkDevice device;
  VkQueue queue;
  uint32_t queue_family;
  VkPhysicalDeviceMemoryProperties memory_properties;
  uint32_t device_memory_type, staging_memory_type;
  VkDeviceSize max_allocation;
  float timestamp_period;
  bool timestamps;

  PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger;

  /* Memory. */
  td_vk_block **blocks;
  int block_count, block_capacity;
  VkDeviceSize bytes_in_use;
  /* Dedicated blocks freed while a submission that used them may still run:
   * destroyed once completed_serial reaches their last_use. */
  td_vk_block *deferred;
  VkDeviceSize deferred_bytes, deferred_limit;
  td_vk_block *staging;                /* host-visible, coherent, mapped (vulkan_upload.c) */
  void *staging_map;
  VkDeviceSize staging_size, staging_head; /* ring position; reset when the device is idle */
  uint64_t staging_serial[TD_VK_STAGING_SEGMENTS]; /* the last submission reading each segment */
  bool staging_device_local;           /* counted in the memory meter */
  /* Tensors in a host-visible device-local memory type on the main device heap (UMA,
   * resizable BAR, lavapipe) are mapped and written in place when no submission
   * uses them; -1 when the device has no such type. */
  int direct_memory_type;
  bool direct_upload;
  td_vulkan_upload_stats upload_stats;
  /* Uploads on a queue of their own (vulkan_transfer.c): batches numbered from 1
   * signal transfer_timeline with their number; compute submissions wait for
   * compute_wait, the latest batch whose copies they may read. */
  bool transfer_wanted;                /* chosen with the queue families */
  VkQueue transfer_queue;              /* VK_NULL_HANDLE: uploads go in the compute stream */
  uint32_t transfer_family;
  VkCommandPool transfer_pool;
  VkSemaphore transfer_timeline;
  VkCommandBuffer transfer_cmd[TD_VK_FRAMES];
  uint64_t transfer_value[TD_VK_FRAMES];  /* the batch each command buffer last held */
  int transfer_current;
  bool transfer_recording;
  uint64_t transfer_submitted, transfer_completed, compute_wait;
  uint64_t staging_transfer[TD_VK_STAGING_SEGMENTS]; /* the last transfer batch reading each segment */
  /* Asynchronous reads: slots of a mapped host-visible block, made on first use; a slot
   * holds its values once completed_serial reaches its serial. */
  td_vk_block *readback;
  void *readback_map;
  uint64_t readback_serial[TD_VK_READBACK_SLOTS];
  bool readback_busy[TD_VK_READBACK_SLOTS];

  /* Execution. */
  VkCommandPool command_pool;
  td_vk_frame frames[TD_VK_FRAMES];
  int current;                         /* frame being recorded */
  /* Submissions are numbered from 1; the one being recorded will be submitted_serial + 1.
   * Every submission up to completed_serial has finished on the device. */
  uint64_t submitted_serial, completed_serial;
  bool barrier_after_sync;             /* next command first makes earlier writes visible */
  td_vk_range pending_writes[TD_VK_MAX_HAZARDS];
  td_vk_range pending_reads[TD_VK_MAX_HAZARDS];
  int pending_write_count, pending_read_count;
  bool lost;                           /* after VK_ERROR_DEVICE_LOST every call fails */
  bool profile;
  td_vk_profile_entry profile_entries[32];
  int profile_count;
  td_vk_profile_entry profile_totals[32]; /* since the last td_vulkan_profile_take */
  int profile_total_count;

  /* Pipelines, created on first use. */
  VkPipelineLayout pipeline_layout;
  VkPipelineCache pipeline_cache;
  td_vk_pipeline *pipelines;
  int pipeline_count, pipeline_capacity;

  /* Fault injection for tests: the Nth allocation / submission fails (0 = off). */
  int fault_alloc_countdown, fault_submit_countdown;
  /* MATMUL runs the emulated cooperative-matrix shader (TD_VULKAN_EMULATE_COOPMAT=1, tests). */
  bool coopmat_emulate;
  /* The cooperative-matrix GEMM's shape for every size, set by td_vulkan_set_coopmat_tile
   * (tests); NULL: the device's (info.coopmat_tile_*) with the small-matrix rule. */
  const struct td_vk_coopmat_shape *coopmat_shape_override;

  /* Recorded steps replayed (vulkan_replay.c); NULL until the first capture. */
  struct td_vk_replay *replay;
  int lasting_depth;                   /* > 0: allocations outlive the step being captured */
};

/* vulkan_device.c */
td_vk_context *td_vk_context_new (int device_index, td_error *err);
void td_vk_context_unref (td_vk_context *ctx);
/* Maps a failed VkResult to a td_status with a message naming `what`; marks the
 * context lost on VK_ERROR_DEVICE_LOST. */
td_status td_vk_fail (td_vk_context *ctx, VkResult result, const char *what, td_error *err);
/* TD_ERR_DEVICE_LOST when the device is gone, else TD_OK. */
td_status td_vk_check_alive (td_vk_context *ctx, td_error *err);

/* vulkan_memory.c */
td_status td_vk_memory_init (td_vk_context *ctx, td_error *err);
void td_vk_memory_destroy (td_vk_context *ctx);
td_status td_vk_buffer_new (td_backend *backend, size_t size, td_buffer **out, td_error *err);
td_status td_vk_write (td_backend *backend, td_buffer *buffer, size_t offset, const void *src, size_t size,
                       td_error *err);
td_status td_vk_read (td_backend *backend, td_buffer *buffer, size_t offset, void *dst, size_t size, td_error *err);
/* The asynchronous reads of td_backend_read_begin (see td_backend_vtable). */
td_status td_vk_read_begin (td_backend *backend, td_buffer *buffer, size_t offset, size_t size, uint64_t *ticket,
                            td_error *err);
td_status td_vk_read_poll (td_backend *backend, uint64_t ticket, bool wait, void *dst, size_t size, bool *ready,
                           td_error *err);
void td_vk_read_end (td_backend *backend, uint64_t ticket);
/* Destroys the freed dedicated blocks whose last submission has completed. */
void td_vk_memory_release_completed (td_vk_context *ctx);
/* After a full sync: also frees empty shared blocks but one. */
void td_vk_memory_collect (td_vk_context *ctx);
/* vkAllocateMemory through the fault-injection hook. */
VkResult td_vk_allocate_memory (td_vk_context *ctx, const VkMemoryAllocateInfo *info, VkDeviceMemory *memory);

/* Notes that a command being recorded uses allocation `a`: in-place writes wait
 * for it, and it waits for the transfer batch that last copied into it. */
static inline void
td_vk_allocation_touch (td_vk_allocation *a)
{
  td_vk_context *ctx = a->ctx;
  uint64_t serial = ctx->submitted_serial + 1;
  if (a->last_use < serial)
    a->last_use = serial;
  if (ctx->compute_wait < a->upload_value)
    ctx->compute_wait = a->upload_value;
}

/* vulkan_upload.c */
td_status td_vk_upload_init (td_vk_context *ctx, VkDeviceSize device_heap, td_error *err);
void td_vk_upload_destroy (td_vk_context *ctx);

/* vulkan_transfer.c */
/* Picks a queue family for uploads next to compute family `compute` (or none); the
 * caller creates one queue of ctx->transfer_family when it differs. */
void td_vk_transfer_choose_family (td_vk_context *ctx, const VkQueueFamilyProperties *families, uint32_t count,
                                   uint32_t compute);
td_status td_vk_transfer_init (td_vk_context *ctx, td_error *err);
void td_vk_transfer_destroy (td_vk_context *ctx);
bool td_vk_transfer_separate_family (const td_vk_context *ctx);
/* The transfer batch being recorded (begun on demand). */
td_status td_vk_transfer_begin (td_vk_context *ctx, VkCommandBuffer *out, td_error *err);
/* Submits the batch being recorded, signalling its number. */
td_status td_vk_transfer_flush (td_vk_context *ctx, td_error *err);
/* Waits until batch `value` has finished (submitting it first when recorded). */
td_status td_vk_transfer_wait (td_vk_context *ctx, uint64_t value, td_error *err);
/* Notes finished batches without waiting. */
void td_vk_transfer_poll (td_vk_context *ctx);
/* For td_vk_flush: submits the batches the next compute submission waits for and
 * fills *wait (chained into its VkSubmitInfo); false when it waits for none. */
td_status td_vk_transfer_before_compute (td_vk_context *ctx, VkTimelineSemaphoreSubmitInfo *wait,
                                         bool *waits, td_error *err);

/* vulkan_pipeline.c */
td_status td_vk_pipelines_init (td_vk_context *ctx, td_error *err);
void td_vk_pipelines_destroy (td_vk_context *ctx);
/* The pipeline of shader variant `name` with specialization constants `spec`. */
td_status td_vk_pipeline_get (td_vk_context *ctx, const char *name, const uint32_t *spec, int spec_count,
                              VkPipeline *out, td_error *err);
bool td_vk_shader_exists (const char *name);

/* Blocks for the replay arena and its input slots (vulkan_memory.c). */
/* A device-local block of `size` bytes sub-allocated like the shared ones, kept out of ctx->blocks. */
td_status td_vk_arena_block_new (td_vk_context *ctx, VkDeviceSize size, td_vk_block **out, td_error *err);
/* A host-visible, coherent block, mapped at *map. */
td_status td_vk_host_block_new (td_vk_context *ctx, VkDeviceSize size, td_vk_block **out, void **map, td_error *err);
/* Destroys a block made by one of the two above (unmapping it when mapped). */
void td_vk_block_destroy (td_vk_context *ctx, td_vk_block *block, bool mapped);
/* First fit in a sub-allocated block's free list; false when nothing fits. */
bool td_vk_block_take (td_vk_block *block, VkDeviceSize size, VkDeviceSize *offset);
/* Hands a block with live sub-allocations over to ctx->blocks, as a shared one. */
bool td_vk_block_adopt (td_vk_context *ctx, td_vk_block *block);

/* vulkan_exec.c */
td_status td_vk_exec_init (td_vk_context *ctx, td_error *err);
void td_vk_exec_destroy (td_vk_context *ctx);
/* The command buffer being recorded (begun on demand). */
td_status td_vk_begin (td_vk_context *ctx, VkCommandBuffer *out, td_error *err);
/* Declares what the next command reads and writes; records a barrier first when it
 * depends on (or overwrites) a range written or read since the last barrier. */
void td_vk_hazard (td_vk_context *ctx, VkCommandBuffer cmd, const td_vk_range *reads, int read_count,
                   const td_vk_range *writes, int write_count);
/* Records one dispatch of `pipeline` with push constants; `work` estimates flops
 * for the submission bound; `name` labels it in profiles. */
td_status td_vk_dispatch (td_vk_context *ctx, const char *name, VkPipeline pipeline, const void *push,
                          size_t push_size, uint32_t gx, uint32_t gy, uint32_t gz, double work,
                          const td_vk_range *reads, int read_count, const td_vk_range *writes,
                          int write_count, td_error *err);
/* Submits what is recorded (without waiting). */
td_status td_vk_flush (td_vk_context *ctx, td_error *err);
/* Submits a command buffer recorded earlier (a replay segment) on the frame ring. */
td_status td_vk_submit_recorded (td_vk_context *ctx, VkCommandBuffer cmd, td_error *err);
/* A barrier making every earlier write visible; the hazard lists start empty after it. */
void td_vk_full_barrier (td_vk_context *ctx, VkCommandBuffer cmd);
/* Submits and waits for everything; prints the profile when enabled. */
td_status td_vk_sync (td_vk_context *ctx, td_error *err);
/* Notes submissions that finished (without waiting) and releases what they held. */
void td_vk_poll (td_vk_context *ctx);
/* Waits for the oldest submission still running; false when none is. */
bool td_vk_wait_oldest (td_vk_context *ctx, td_status *status, td_error *err);
/* The serial the submission being recorded will get. */
uint64_t td_vk_recording_serial (const td_vk_context *ctx);
/* Drops a buffer about to be destroyed from the hazard lists, so no later
 * barrier names it (its commands have all completed). */
void td_vk_forget_buffer (td_vk_context *ctx, VkBuffer buffer);
/* Splits a count of workgroups into a 2-D grid within maxComputeWorkGroupCount. */
void td_vk_grid (uint32_t groups, uint32_t *gx, uint32_t *gy);

/* Test hooks (vulkan_exec.c): the nth vkAllocateMemory returns
 * VK_ERROR_OUT_OF_DEVICE_MEMORY, the nth submission VK_ERROR_DEVICE_LOST (0 = off). */
void td_vulkan_inject_faults (td_backend *backend, int nth_allocation, int nth_submit);
/* Test hook (vulkan_coopmat.c): MATMUL with weights other than f32 runs matmul_coopmat.comp
 * with its fragment operations emulated in plain GLSL (needs shaderFloat16 and
 * 16-bit storage), so that its tiling is tested on devices without cooperative
 * matrices. Returns false (and changes nothing) when the device cannot. */
bool td_vulkan_set_coopmat_emulation (td_backend *backend, bool on);
/* Test hook (vulkan_upload.c): whether tensors allocated from now on live in mapped
 * host-visible device-local memory and are written in place. Returns false (and
 * changes nothing) when `on` is asked of a device without such memory. */
bool td_vulkan_set_direct_upload (td_backend *backend, bool on);
/* Test hook (vulkan_matmul.c): the tiled GEMM's tile from then on, a table entry's name or a built shape ("128x64"),
 * as TD_VULKAN_TILE takes them; false (nothing changed) for anything else. */
bool td_vulkan_set_tile (td_backend *backend, const char *name_or_shape);
/* Test hook (vulkan_matmul.c): the cooperative-matrix GEMM's shape ("128x64") for every
 * MATMUL from then on, or NULL for the device's choice again; false (nothing changed)
 * for a name that is no shape or a shape that needs more shared memory than the device has. */
bool td_vulkan_set_coopmat_tile (td_backend *backend, const char *shape);
/* vulkan_matmul.c: the cooperative-matrix GEMM's shape for batch × m × n outputs. */
const struct td_vk_coopmat_shape *td_vk_matmul_coopmat_shape (const td_vk_context *ctx, int64_t m, int64_t n,
                                                              int64_t batch);
/* The largest buffer range one descriptor may bind on this device. */
uint64_t td_vulkan_max_storage_buffer_range (td_backend *backend);
