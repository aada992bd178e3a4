/* vulkan_conv2d.c — the kernel choice for CONV2D. The variants are built by
 * shaders/meson.build under the names made here. */
#include "backend/vulkan/vulkan_conv2d.h"

#include "backend/vulkan/vulkan_tile_table.h"

#include <stdio.h>

#define CONV_TILE 64
#define MAX_GROUPS 65535

static const char *
dtype_short (td_dtype dtype)
{
  return dtype == TD_F16 ? "f16" : dtype == TD_BF16 ? "bf16" : "f32";
}

static bool
grid_fits (int64_t cout, int64_t pixels, uint32_t tile_m, uint32_t tile_n)
{
  return (pixels + tile_n - 1) / tile_n <= MAX_GROUPS && (cout + tile_m - 1) / tile_m <= MAX_GROUPS;
}

td_vk_conv2d_kernel
td_vk_conv2d_choose (const td_vk_conv2d_device *device, td_dtype w_dtype, int64_t cout, int64_t pixels,
                     bool (*exists) (const char *variant))
{
  td_vk_conv2d_kernel k = { .channels_per_group = CONV_TILE, .pixels_per_group = CONV_TILE };
  const char *dt = dtype_short (w_dtype);
  if ((device->coopmat || device->emulate) && device->storage_16bit && w_dtype != TD_F32)
    {
      const char *api = device->emulate ? "emu_" : device->uses_khr ? "khr_" : "";
      snprintf (k.variant, sizeof k.variant, "conv2d_coopmat_%s%s", api, dt);
      if (exists (k.variant))
        {
          k.coopmat = true;
          return k;
        }
    }
  char base[64];
  snprintf (base, sizeof base, "conv2d_%s_%s", dt, device->storage_16bit ? "s16" : "p32");
  snprintf (k.variant, sizeof k.variant, "%s", base);
  if (device->tile_m == 0 || device->tile_n == 0)
    return k;
  char tiled[64];
  td_vk_tile_variant (tiled, sizeof tiled, base, device->tile_m, device->tile_n);
  if (exists (tiled) && grid_fits (cout, pixels, device->tile_m, device->tile_n))
    {
      snprintf (k.variant, sizeof k.variant, "%s", tiled);
      k.channels_per_group = device->tile_m;
      k.pixels_per_group = device->tile_n;
    }
  return k;
}
