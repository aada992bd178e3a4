/* vulkan_tile_table.c — the tiled and cooperative-matrix GEMMs' tile shapes per device
 * (see vulkan_tile_table.h). */
#include "backend/vulkan/vulkan_tile_table.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

/* Register blocks of 8×8 want 64 accumulators per invocation and 16.5 KiB of shared
 * tiles: for GPUs with large register files. lavapipe runs each invocation as a SIMD
 * lane and gains most from the larger blocks: 128×128 ran a 256×512×512 bf16 matmul
 * 2.5–3× faster than 64×64 there, and 32×32 2× slower (bench ops --small).
 * Cooperative matrices: 8 subgroups of 64×32 outputs each for the large tensor-core
 * GPUs (FLUX's 4608×3072×3072 GEMMs make 36×24 such workgroups, enough for 132 SMs),
 * 128×64 on 4 subgroups where 8 would crowd the register file; lavapipe only ever
 * emulates them, where the shape does not matter. Unmeasured guesses all. */
static const td_vk_tile_entry table[] = {
  { "nvidia", "NVIDIA (Ampere, Hopper and later)", 128, 128, 8, 8, 128, 128 },
  { "amd-rdna", "AMD RDNA (wave32 capable)", 128, 64, 8, 4, 128, 64 },
  { "intel-arc", "Intel Arc (discrete Xe)", 128, 64, 8, 4, 128, 64 },
  { "apple", "Apple GPUs through MoltenVK", 64, 64, 4, 4, 64, 64 },
  { "lavapipe", "Mesa lavapipe (CPU)", 128, 128, 8, 8, 64, 64 },
  { "portable", "any other device", 64, 64, 4, 4, 64, 64 },
};

/* Staging steps of 32 k: two 16-deep multiply-adds per barrier pair. */
static const td_vk_coopmat_shape coopmat_shapes[] = {
  { "64x64", 64, 64, 32, 2, 2, 2, 2 },
  { "128x64", 128, 64, 32, 2, 2, 4, 2 },
  { "128x128", 128, 128, 32, 2, 4, 4, 2 },
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

const td_vk_coopmat_shape *
td_vk_coopmat_shapes (size_t *count)
{
  *count = G_N_ELEMENTS (coopmat_shapes);
  return coopmat_shapes;
}

const td_vk_coopmat_shape *
td_vk_coopmat_shape_find (const char *name)
{
  for (size_t i = 0; i < G_N_ELEMENTS (coopmat_shapes); i++)
    if (strcmp (coopmat_shapes[i].name, name) == 0)
      return &coopmat_shapes[i];
  return NULL;
}

static const td_vk_coopmat_shape *
coopmat_shape_of (const td_vk_tile_entry *entry)
{
  for (size_t i = 0; i < G_N_ELEMENTS (coopmat_shapes); i++)
    if (coopmat_shapes[i].tile_m == entry->coopmat_m && coopmat_shapes[i].tile_n == entry->coopmat_n)
      return &coopmat_shapes[i];
  return &coopmat_shapes[0];
}

uint32_t
td_vk_coopmat_shape_invocations (const td_vk_coopmat_shape *shape)
{
  return 32 * shape->subgroups_m * shape->subgroups_n;
}

uint32_t
td_vk_coopmat_shape_shared_bytes (const td_vk_coopmat_shape *shape)
{
  /* As matmul_coopmat.comp declares them: cm_a and cm_b rows of tile_k + 8 16-bit
   * elements, cm_c a 16 × 20 f32 accumulator per subgroup, 4 bytes per row of x and
   * of w for its scale, and 4 per invocation for the MATMUL_NORM_ROPE variants' head
   * epilogue (counted for all: the larger of the two). */
  const uint32_t invocations = td_vk_coopmat_shape_invocations (shape);
  const uint32_t staged = (shape->tile_m + shape->tile_n) * (shape->tile_k + 8) * 2;
  const uint32_t accumulators = invocations / 32 * 16 * 20 * 4;
  const uint32_t scales = (shape->tile_m + shape->tile_n) * 4;
  return staged + accumulators + scales + 4 * invocations;
}

static bool
fits (const td_vk_coopmat_shape *shape, const td_vk_tile_device *device)
{
  return device->max_shared_memory == 0 || td_vk_coopmat_shape_shared_bytes (shape) <= device->max_shared_memory;
}

const td_vk_coopmat_shape *
td_vk_coopmat_shape_choose (const td_vk_tile_device *device, const char *env_value, bool *forced, const char **why)
{
  const td_vk_coopmat_shape *chosen = coopmat_shape_of (by_architecture (device));
  const char *how = "from the device's vendor and architecture";
  *forced = false;
  if (env_value != NULL && env_value[0] != '\0')
    {
      const td_vk_coopmat_shape *wanted = td_vk_coopmat_shape_find (env_value);
      const td_vk_tile_entry *entry = find (env_value);
      if (wanted == NULL && entry != NULL)
        wanted = coopmat_shape_of (entry);
      if (wanted == NULL)
        how = "TD_VULKAN_COOPMAT_TILE names no shape or entry; from the device";
      else if (!fits (wanted, device))
        how = "TD_VULKAN_COOPMAT_TILE's shape needs more shared memory than the device has; from the device";
      else
        {
          chosen = wanted;
          *forced = true;
          how = "forced with TD_VULKAN_COOPMAT_TILE";
        }
    }
  if (!fits (chosen, device))
    {
      /* The largest that fits, else 64x64 (16 KiB, Vulkan's minimum). */
      for (size_t i = G_N_ELEMENTS (coopmat_shapes); i-- > 0;)
        if (fits (&coopmat_shapes[i], device) || i == 0)
          {
            chosen = &coopmat_shapes[i];
            break;
          }
      how = "the device's shape stepped down to the largest that fits its shared memory";
    }
  if (why != NULL)
    *why = how;
  return chosen;
}

static int64_t
workgroups (const td_vk_coopmat_shape *shape, int64_t m, int64_t n, int64_t batch)
{
  return ((m + shape->tile_m - 1) / shape->tile_m) * ((n + shape->tile_n - 1) / shape->tile_n) * batch;
}

const td_vk_coopmat_shape *
td_vk_coopmat_shape_for (const td_vk_coopmat_shape *device_shape, bool forced, int64_t m, int64_t n, int64_t batch,
                         uint32_t compute_units)
{
  const td_vk_coopmat_shape *small = &coopmat_shapes[0];
  if (forced || device_shape == small)
    return device_shape;
  bool starved = compute_units > 0 ? workgroups (device_shape, m, n, batch) < (int64_t) compute_units : m <= 64;
  return starved ? small : device_shape;
}
