/* vulkan_tile_table.h — the tiled GEMM's tile shape per device: a table from vendor
 * and architecture (read from the queried properties) to the output tile one
 * workgroup of 256 invocations computes (shaders/mm_tile.glsl), with the portable
 * 64×64 tile as the fallback. TD_VULKAN_TILE=NAME (an entry's name) or =MxN (a
 * built shape) overrides the choice for experiments. The cooperative-matrix kernel
 * has one shape (64×64 outputs, 16×16×16 fragments) on every device; the table
 * does not vary it. The GPU entries are first guesses from each architecture's shared
 * memory and register file, not measurements on those GPUs; lavapipe's is measured.
 * These functions are pure so that tests can feed them invented devices. */
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
} td_vk_tile_entry;

/* What the choice reads of a device. */
typedef struct td_vk_tile_device {
  uint32_t vendor_id;
  const char *name;      /* deviceName */
  bool cpu;              /* VK_PHYSICAL_DEVICE_TYPE_CPU */
  bool discrete;         /* VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU */
  uint32_t min_subgroup_size, max_subgroup_size;
  uint32_t max_shared_memory;
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
