/* vulkan_backend.h — the Vulkan compute backend: every op of op.h as a GLSL
 * compute shader on any Vulkan 1.2 device with buffer device addresses.
 *
 * TD_VULKAN_DEVICE picks a device by index or by a substring of its name when
 * td_backend_vulkan_new gets -1; otherwise the best discrete GPU, then an
 * integrated one, then anything else (lavapipe). TD_VULKAN_PROFILE=1 prints GPU
 * times per op at each sync; TD_VULKAN_VALIDATION=1 enables the Khronos validation
 * layer and counts its messages (see td_vulkan_validation_message_count); when the
 * layer is missing that is said on stderr, and TD_REQUIRE_VALIDATION=1 makes it an
 * error (CI sets both). TD_VULKAN_NO_16BIT_STORAGE=1 runs the
 * device as one without 16-bit storage (the _p32 shader variants).
 * MATMUL runs on cooperative matrices where the device offers them
 * (TD_VULKAN_COOPMAT=0 turns that off); TD_VULKAN_EMULATE_COOPMAT=1 runs the
 * same kernels emulated on devices without them (see vulkan_coopmat.h).
 * Uploads go through a staging ring sized from the device (TD_VULKAN_STAGING_MIB
 * overrides it) or, where tensors live in host-visible device-local memory, are
 * written in place (TD_VULKAN_DIRECT_UPLOAD=0 turns that off); see vulkan_upload.c.
 * Large uploads copy on a transfer-only queue where the device has one
 * (TD_VULKAN_TRANSFER_QUEUE=0 turns that off; =shared runs the same separate
 * batches on the compute queue); see vulkan_transfer.c.
 */
#pragma once

#include "backend/backend.h"

#define TD_VULKAN_MAX_HEAPS 16

typedef struct td_vulkan_device_info {
  int index;
  char name[256];
  const char *type;            /* "discrete", "integrated", "virtual", "cpu", "other" */
  uint32_t api_version;        /* VK_MAKE_API_VERSION */
  uint32_t vendor_id, device_id;
  bool usable;                 /* has what the backend needs (Vulkan 1.2, device addresses, int64) */
  const char *unusable_reason; /* why not, when !usable */
  int heap_count;
  uint64_t heap_size[TD_VULKAN_MAX_HEAPS];
  bool heap_device_local[TD_VULKAN_MAX_HEAPS];
  uint32_t subgroup_size, min_subgroup_size, max_subgroup_size;
  bool subgroup_size_control;
  bool subgroup_size_compute;  /* compute pipelines may require a subgroup size */
  bool compute_full_subgroups; /* computeFullSubgroups */
  bool fp16_arithmetic;        /* shaderFloat16 */
  bool storage_16bit;          /* storageBuffer16BitAccess */
  bool coopmat_khr, coopmat_nv, coopmat2_nv;
  bool bfloat16;               /* VK_KHR_shader_bfloat16 */
  bool memory_budget;          /* VK_EXT_memory_budget */
  uint64_t max_storage_buffer_range;
  uint32_t max_shared_memory;
  bool vulkan_memory_model;    /* vulkanMemoryModel */
  /* The cooperative-matrix matmul (VK_NV_cooperative_matrix): whether this device
   * and build can run it, whether it is on (TD_VULKAN_COOPMAT=0 turns it off),
   * and why not; whether TD_VULKAN_EMULATE_COOPMAT=1 runs it emulated instead. */
  bool coopmat_available, coopmat_enabled, coopmat_emulated;
  const char *coopmat_reason;
  /* Which kernels the cooperative-matrix path runs: the KHR ones (VK_KHR_cooperative_matrix,
   * enabled at device creation) instead of the NV ones, and bf16 tiles for bf16 weights. */
  bool coopmat_uses_khr, coopmat_bf16_tiles;
  /* The subgroup size the KHR kernels' pipelines require (0: the device's default is
   * 32 already) and whether they require full subgroups. */
  uint32_t coopmat_subgroup_size;
  bool coopmat_full_subgroups;
  bool coopmat_khr_preferred; /* the KHR kernels although the NV ones could run (TD_VULKAN_COOPMAT_API=khr) */
  /* The tiled GEMM's output tile per workgroup from the per-device table
   * (vulkan_tile_table.h): the entry's name, its shape, and how it was chosen. */
  const char *tile_name, *tile_why;
  uint32_t tile_m, tile_n;
  /* The cooperative-matrix GEMM's workgroup shape for large matrices (a
   * td_vk_coopmat_shape of the same table), how it was chosen, and whether
   * TD_VULKAN_COOPMAT_TILE forced it (then small matrices keep it too). */
  uint32_t coopmat_tile_m, coopmat_tile_n;
  const char *coopmat_tile_why;
  bool coopmat_tile_forced;
  uint32_t compute_units; /* SMs or CUs where the driver reports them; 0 unknown */
  /* What the device offers of the KHR path: the f16 and bf16 16x16x16 subgroup
   * configurations (with VK_KHR_shader_bfloat16 for bf16), and why it is not usable. */
  bool coopmat_khr_f16, coopmat_khr_bf16;
  const char *coopmat_khr_reason;
} td_vulkan_device_info;

/* Lists every Vulkan device (an empty list when there is no loader or driver).
 * *out is an array of *count entries for free(). */
td_status td_vulkan_list_devices (td_vulkan_device_info **out, int *count, td_error *err);

/* A backend on device `device_index` (as listed), or the default pick when -1.
 * Returns NULL with err set (TD_ERR_NOT_FOUND when there is no usable device). */
td_backend *td_backend_vulkan_new (int device_index_or_minus1, td_error *err);

/* The backend's device, as listed. */
const td_vulkan_device_info *td_vulkan_backend_device (td_backend *backend);

/* Bytes this backend holds in device memory, and the device-local heap budget
 * (VK_EXT_memory_budget when present, else the heap size). */
void td_vulkan_memory_usage (td_backend *backend, uint64_t *used, uint64_t *budget);

/* How uploads went since the backend was made. */
typedef struct td_vulkan_upload_stats {
  uint64_t staging_size;       /* bytes in the staging ring */
  bool staging_device_local;   /* the ring is device memory (counted in td_vulkan_memory_usage) */
  bool direct_available;       /* tensors can live in host-visible device-local memory */
  bool direct_enabled;         /* and new tensors do (TD_VULKAN_DIRECT_UPLOAD=0 turns it off) */
  uint64_t staged_bytes;       /* copied through the staging ring */
  uint64_t direct_bytes;       /* written in place into mapped tensor memory */
  uint64_t staging_wraps;      /* times the ring went back to its start */
  uint64_t staging_waits;      /* waits for the submission that last read a ring segment */
  uint64_t full_syncs;         /* waits for the whole device (syncs and reads) */
  /* Uploads on a queue of their own: whether there is one, whether it is of
   * another queue family than compute (else TD_VULKAN_TRANSFER_QUEUE=shared), and
   * the bytes and batches copied on it. */
  bool transfer_queue, transfer_separate_family;
  uint64_t transfer_bytes, transfer_batches;
  uint64_t transfer_waits;     /* compute submissions that waited for a transfer batch */
} td_vulkan_upload_stats;

void td_vulkan_upload_stats_get (td_backend *backend, td_vulkan_upload_stats *out);

/* Validation-layer messages (warnings and errors) seen by every Vulkan backend of
 * this process since it started (0 unless TD_VULKAN_VALIDATION=1). */
int td_vulkan_validation_message_count (void);

/* Whether the validation layer, with a messenger counting its findings, is on for
 * the Vulkan instances of this process. */
bool td_vulkan_validation_active (void);

/* GPU time per kernel class (with TD_VULKAN_PROFILE=1 on a device with timestamps),
 * summed since the last call, which starts new sums: up to max classes into names
 * (static strings), ms and dispatches; returns how many. */
int td_vulkan_profile_take (td_backend *backend, const char **names, double *ms, int *dispatches, int max);
