/* vulkan_tile_table.c — the tiled GEMM's tile shape per device (see vulkan_tile_table.h). */
#include "backend/vulkan/vulkan_tile_table.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

/* Register blocks of 8×8 want 64 accumulators per invocation and 16.5 KiB of shared
 * tiles: for GPUs with large register files. lavapipe runs each invocation as a SIMD
 * lane and gains most from the larger blocks: 128×128 ran a 256×512×512 bf16 matmul
 * 2.5–3× faster than 64×64 there, and 32×32 2× slower (bench ops --small). */
static const td_vk_tile_entry table[] = {
  { "nvidia", "NVIDIA (Ampere, Hopper and later)", 128, 128, 8, 8 },
  { "amd-rdna", "AMD RDNA (wave32 capable)", 128, 64, 8, 4 },
  { "intel-arc", "Intel Arc (discrete Xe)", 128, 64, 8, 4 },
  { "apple", "Apple GPUs through MoltenVK", 64, 64, 4, 4 },
  { "lavapipe", "Mesa lavapipe (CPU)", 128, 128, 8, 8 },
  { "portable", "any other device", 64, 64, 4, 4 },
};

const td_vk_tile_entry *
td_vk_tile_table (size_t *count)
{
  *count = G_N_ELEMENTS (table);
  return table;
}

static const td_vk_tile_entry *
find (const char *name)
{
  for (size_t i = 0; i < G_N_ELEMENTS (table); i++)
    if (strcmp (table[i].name, name) == 0)
      return &table[i];
  return NULL;
}

static const td_vk_tile_entry *
find_shape (const char *text)
{
  unsigned m = 0, n = 0;
  char end = 0;
  if (sscanf (text, "%ux%u%c", &m, &n, &end) != 2)
    return NULL;
  for (size_t i = 0; i < G_N_ELEMENTS (table); i++)
    if (table[i].tile_m == m && table[i].tile_n == n)
      return &table[i];
  return NULL;
}

const td_vk_tile_entry *
td_vk_tile_find (const char *name_or_shape)
{
  const td_vk_tile_entry *entry = find (name_or_shape);
  return entry != NULL ? entry : find_shape (name_or_shape);
}

/* The table's entry for a device's vendor and architecture. */
static const td_vk_tile_entry *
by_architecture (const td_vk_tile_device *d)
{
  const char *name = d->name != NULL ? d->name : "";
  if (d->cpu && (d->vendor_id == TD_VK_VENDOR_MESA || strstr (name, "llvmpipe") != NULL))
    return find ("lavapipe");
  switch (d->vendor_id)
    {
    case TD_VK_VENDOR_NVIDIA:
      /* Ampere and later have at least 99 KiB of shared memory per workgroup; older
       * NVIDIA GPUs and their 48 KiB get the portable tile. Drivers report 48 KiB
       * for the static limit on some of them, so the name decides too. */
      if (d->max_shared_memory >= 99 * 1024 || strstr (name, "RTX 30") || strstr (name, "RTX 40")
          || strstr (name, "RTX 50") || strstr (name, "A100") || strstr (name, "H100") || strstr (name, "H200")
          || strstr (name, "L40") || strstr (name, "GH200") || strstr (name, "B200"))
        return find ("nvidia");
      return find ("portable");
    case TD_VK_VENDOR_AMD:
      /* RDNA runs waves of 32 or 64; GCN only 64. */
      return d->min_subgroup_size == 32 && d->max_subgroup_size == 64 ? find ("amd-rdna") : find ("portable");
    case TD_VK_VENDOR_INTEL:
      return d->discrete ? find ("intel-arc") : find ("portable");
    case TD_VK_VENDOR_APPLE:
      return find ("apple");
    default:
      return find ("portable");
    }
}

const td_vk_tile_entry *
td_vk_tile_choose (const td_vk_tile_device *device, const char *env_value, const char **why)
{
  const td_vk_tile_entry *chosen = by_architecture (device);
  const char *how = "from the device's vendor and architecture";
  if (env_value != NULL && env_value[0] != '\0')
    {
      const td_vk_tile_entry *forced = td_vk_tile_find (env_value);
      if (forced != NULL)
        {
          chosen = forced;
          how = "forced with TD_VULKAN_TILE";
        }
      else
        how = "TD_VULKAN_TILE names no entry or built shape; from the device";
    }
  if (why != NULL)
    *why = how;
  return chosen;
}

void
td_vk_tile_variant (char *out, size_t size, const char *base, uint32_t tile_m, uint32_t tile_n)
{
  if (tile_m == 64 && tile_n == 64)
    snprintf (out, size, "%s", base);
  else
    snprintf (out, size, "%s_t%ux%u", base, tile_m, tile_n);
}
