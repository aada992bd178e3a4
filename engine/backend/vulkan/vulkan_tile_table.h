/* vulkan_tile_table.h — the tiled GEMM's tile shape per device: a table from vendor
 * and architecture (read from the queried properties) to the output tile one
 * workgroup of 256 invocations computes (shaders/mm_tile.glsl), with the portable
 * 64×64 tile as the fallback. TD_VULKAN_TILE=NAME (an entry's name) or =MxN (a
 * built shape) overrides the choice for experiments.
 *
 * Each entry also names the cooperative-matrix GEMM's workgroup shape
 * (shaders/matmul_coopmat.comp: subgroups of 32 with 16×16×16 fragments), one of
 * td_vk_coopmat_shapes: 64×64 on 4 subgroups (the portable one), 128×64 on 4 and
 * 128×128 on 8. A shape whose shared memory exceeds the device's limit is never
 * chosen; matrices too small to fill the device with the large shape's
 * workgroups take 64×64 (td_vk_coopmat_shape_for). TD_VULKAN_COOPMAT_TILE=MxN
 * (or an entry's name) overrides the device's shape.
 *
 * The GPU entries, tiled and cooperative-matrix alike, are first guesses from each
 * architecture's shared memory and register file, not measurements on those GPUs;
 * lavapipe's tiled shape is measured. These functions are pure so that tests can
 * feed them invented devices. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"

typedef struct td_vk_tile_entry {
  const char *name;        /* "nvidia", "amd-rdna", …, "portable" */
  const char *devices;     /* what it is for, in words */
  uint32_t tile_m, tile_n; /* outputs per workgroup: 16·thread_m × 16·thread_n */
  uint32_t thread_m, thread_n; /* outputs per invocation (its register block) */
  uint32_t coopmat_m, coopmat_n; /* the cooperative-matrix GEMM's shape (a td_vk_coopmat_shape) */
} td_vk_tile_entry;

/* A workgroup shape of the cooperative-matrix GEMM, as shaders/meson.build builds it
 * (CM_SG_M, CM_SG_N, CM_FRAG_M, CM_FRAG_N, CM_BK). */
typedef struct td_vk_coopmat_shape {
  const char *name;                  /* "128x64": tile_m x tile_n */
  uint32_t tile_m, tile_n, tile_k;   /* outputs per workgroup; k per shared-memory step */
  uint32_t subgroups_m, subgroups_n; /* subgroups of 32 along M and N */
  uint32_t frags_m, frags_n;         /* 16×16 accumulators per subgroup along M and N */
} td_vk_coopmat_shape;

/* What the choice reads of a device. */
typedef struct td_vk_tile_device {
  uint32_t vendor_id;
  const char *name;      /* deviceName */
  bool cpu;              /* VK_PHYSICAL_DEVICE_TYPE_CPU */
  bool discrete;         /* VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU */
  uint32_t min_subgroup_size, max_subgroup_size;
  uint32_t max_shared_memory;
  uint32_t compute_units; /* SMs / CUs where the driver says (VK_NV_shader_sm_builtins, VK_AMD_shader_core_properties); 0 unknown */
} td_vk_tile_device;

enum {
  TD_VK_VENDOR_AMD = 0x1002,
  TD_VK_VENDOR_APPLE = 0x106b,
  TD_VK_VENDOR_NVIDIA = 0x10de,
  TD_VK_VENDOR_INTEL = 0x8086,
  TD_VK_VENDOR_MESA = 0x10005, /* VK_VENDOR_ID_MESA: lavapipe */
};

/* Every entry, the portable one last. */
const td_vk_tile_entry *td_vk_tile_table (size_t *count);

/* The entry named so, or the first of that shape ("128x64"); NULL for neither. */
const td_vk_tile_entry *td_vk_tile_find (const char *name_or_shape);

/* The entry for a device; env_value is TD_VULKAN_TILE's value (NULL when unset).
 * *why (may be NULL) says how it was chosen; an override naming no entry or shape
 * keeps the table's choice and says so. */
const td_vk_tile_entry *td_vk_tile_choose (const td_vk_tile_device *device, const char *env_value, const char **why);

/* The tiled kernel's variant for a tile_m × tile_n tile: `base` (matmul_<dtype>_<s16|p32>)
 * with _t<M>x<N> appended for shapes other than 64×64. */
void td_vk_tile_variant (char *out, size_t size, const char *base, uint32_t tile_m, uint32_t tile_n);

/* Every cooperative-matrix shape built, smallest first (64x64, the portable one). */
const td_vk_coopmat_shape *td_vk_coopmat_shapes (size_t *count);

/* The shape named "MxN", or NULL. */
const td_vk_coopmat_shape *td_vk_coopmat_shape_find (const char *name);

/* Invocations per workgroup: 32 per subgroup. */
uint32_t td_vk_coopmat_shape_invocations (const td_vk_coopmat_shape *shape);

/* Shared memory the shader declares for a shape, in bytes (the same for f16 and
 * bf16 tiles): the staged x and w slices, each subgroup's staged f32 accumulator,
 * and the per-row scales. */
uint32_t td_vk_coopmat_shape_shared_bytes (const td_vk_coopmat_shape *shape);

/* The cooperative-matrix shape for a device: its table entry's, or
 * TD_VULKAN_COOPMAT_TILE's (env_value, NULL when unset: a shape "MxN" or an entry's
 * name), stepped down to the largest that fits the device's shared memory when
 * max_shared_memory is known. *forced says whether the override decided it; *why
 * (may be NULL) says how it was chosen. */
const td_vk_coopmat_shape *td_vk_coopmat_shape_choose (const td_vk_tile_device *device, const char *env_value,
                                                       bool *forced, const char **why);

/* The shape one MATMUL of batch × m × n outputs runs in, given the device's shape:
 * that shape when forced, else 64x64 where the device's shape would leave compute
 * units idle — fewer workgroups than compute_units when known, m ≤ 64 when not. */
const td_vk_coopmat_shape *td_vk_coopmat_shape_for (const td_vk_coopmat_shape *device_shape, bool forced, int64_t m,
                                                    int64_t n, int64_t batch, uint32_t compute_units);
