/* api_devices.c — the compute devices, as a list and as a human report. */
#include "thinkdiff.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "core/threads.h"
#ifdef TD_HAVE_VULKAN
#include "backend/vulkan/vulkan_backend.h"
#include "backend/vulkan/vulkan_shaders.h"
#include "backend/vulkan/vulkan_tile_table.h"
#endif

td_status
td_devices_list (td_device_info **out, int *count, td_error *err)
{
  *out = NULL;
  *count = 0;
#ifdef TD_HAVE_VULKAN
  td_vulkan_device_info *devices = NULL;
  int n = 0;
  if (td_vulkan_list_devices (&devices, &n, err) != TD_OK)
    return err != NULL ? err->status : TD_ERR_DEVICE;
  td_device_info *list = n > 0 ? calloc ((size_t) n, sizeof *list) : NULL;
  if (n > 0 && list == NULL)
    {
      free (devices);
      return td_error_set (err, TD_ERR_NO_MEMORY, "out of memory listing devices");
    }
  for (int i = 0; i < n; i++)
    {
      const td_vulkan_device_info *d = &devices[i];
      list[i].index = d->index;
      g_strlcpy (list[i].name, d->name, sizeof list[i].name);
      /* The type and reason strings are static in the Vulkan backend. */
      list[i].type = d->type;
      list[i].usable = d->usable;
      list[i].unusable_reason = d->unusable_reason;
      for (int h = 0; h < d->heap_count; h++)
        if (d->heap_device_local[h])
          list[i].device_local_bytes += d->heap_size[h];
    }
  free (devices);
  *out = list;
  *count = n;
#endif
  return TD_OK;
}

#ifdef TD_HAVE_VULKAN
/* The cooperative-matrix GEMM's shape, its cost, and when small matrices take 64x64. */
static void
describe_coopmat_tile (GString *text, const td_vulkan_device_info *d)
{
  char name[32];
  g_snprintf (name, sizeof name, "%ux%u", d->coopmat_tile_m, d->coopmat_tile_n);
  const td_vk_coopmat_shape *shape = td_vk_coopmat_shape_find (name);
  if (shape == NULL)
    return;
  g_string_append_printf (text, "  cooperative-matrix matmul tile: %s outputs per workgroup, %u subgroups of 32, "
                          "%.1f KiB shared memory (%s",
                          shape->name, shape->subgroups_m * shape->subgroups_n,
                          td_vk_coopmat_shape_shared_bytes (shape) / 1024.0, d->coopmat_tile_why);
  if (d->coopmat_tile_forced || (shape->tile_m == 64 && shape->tile_n == 64))
    g_string_append (text, ")\n");
  else if (d->compute_units > 0)
    g_string_append_printf (text, "; 64x64 where it would make fewer workgroups than the %u compute units)\n",
                            d->compute_units);
  else
    g_string_append (text, "; 64x64 for at most 64 rows)\n");
}

static void
describe_vulkan_device (GString *text, const td_vulkan_device_info *d)
{
  g_string_append_printf (text, "vulkan:%d: %s (%s, Vulkan %u.%u.%u)%s%s\n", d->index, d->name, d->type,
                          d->api_version >> 22, (d->api_version >> 12) & 0x3ff, d->api_version & 0xfff,
                          d->usable ? "" : " — unusable: ", d->usable ? "" : d->unusable_reason);
  for (int i = 0; i < d->heap_count; i++)
    g_string_append_printf (text, "  memory heap %d: %.1f GiB%s\n", i, (double) d->heap_size[i] / (1u << 30),
                            d->heap_device_local[i] ? " device-local" : "");
  g_string_append_printf (text, "  subgroup size %u", d->subgroup_size);
  if (d->subgroup_size_control)
    g_string_append_printf (text, " (controllable %u..%u%s)", d->min_subgroup_size, d->max_subgroup_size,
                            d->subgroup_size_compute ? ", required per compute pipeline" : "");
  g_string_append_printf (text, ", shared memory %u KiB, max binding %.0f MiB\n", d->max_shared_memory / 1024,
                          (double) d->max_storage_buffer_range / (1u << 20));
  g_string_append_printf (text, "  features:%s%s%s%s%s%s\n", d->fp16_arithmetic ? " fp16" : "",
                          d->storage_16bit ? " 16bit-storage" : "", d->coopmat_khr ? " coopmat-khr" : "",
                          d->coopmat_nv ? " coopmat-nv" : "", d->bfloat16 ? " bfloat16" : "",
                          d->memory_budget ? " memory-budget" : "");
  g_string_append_printf (text, "  offered: NV cooperative matrix %s, KHR cooperative matrix %s, NV cooperative matrix 2 %s\n",
                          d->coopmat_nv ? "yes" : "no", d->coopmat_khr ? "yes" : "no", d->coopmat2_nv ? "yes" : "no");
  if (d->coopmat_khr)
    g_string_append_printf (text, "  KHR cooperative matrix: f16 16x16x16 %s, bf16 16x16x16 %s%s%s\n",
                            d->coopmat_khr_f16 ? "yes" : "no", d->coopmat_khr_bf16 ? "yes" : "no",
                            d->coopmat_khr_reason ? " — not usable: " : "",
                            d->coopmat_khr_reason ? d->coopmat_khr_reason : "");
  if (d->tile_name != NULL)
    g_string_append_printf (text, "  tiled matmul: %ux%u outputs per workgroup (table entry %s, %s)\n", d->tile_m,
                            d->tile_n, d->tile_name, d->tile_why);
  describe_coopmat_tile (text, d);
  if (d->coopmat_uses_khr)
    g_string_append_printf (text, "  KHR cooperative-matrix kernels: subgroups of 32 %s%s\n",
                            d->coopmat_subgroup_size == 0 ? "(the device's size)"
                            : d->coopmat_full_subgroups ? "required per pipeline, full subgroups"
                                                        : "required per pipeline",
                            d->coopmat_khr_preferred ? "; chosen over the NV ones (TD_VULKAN_COOPMAT_API=khr)" : "");
  if (d->coopmat_emulated)
    g_string_append (text, "  cooperative-matrix kernels: emulated (TD_VULKAN_EMULATE_COOPMAT=1)\n");
  const char *fast = !d->coopmat_uses_khr ? "cooperative matrix (NV)"
                     : d->coopmat_bf16_tiles ? "cooperative matrix (KHR, bf16 tiles for bf16 weights)"
                                             : "cooperative matrix (KHR)";
  g_string_append_printf (text, "  paths in use: matmul %s, attention %s\n",
                          d->coopmat_enabled ? fast : d->coopmat_emulated ? "cooperative matrix, emulated" : "tiled f32",
                          d->coopmat_enabled ? (d->coopmat_uses_khr ? "cooperative matrix (KHR)" : "cooperative matrix (NV)")
                          : d->coopmat_emulated ? "cooperative matrix, emulated" : "scalar");
  if (d->coopmat_enabled)
    g_string_append_printf (text, "  cooperative-matrix matmul: available, enabled (%s)\n",
                            d->coopmat_uses_khr ? "VK_KHR_cooperative_matrix" : "VK_NV_cooperative_matrix");
  else if (d->coopmat_available)
    g_string_append_printf (text, "  cooperative-matrix matmul: available, off (%s)\n", d->coopmat_reason);
  else
    g_string_append_printf (text, "  cooperative-matrix matmul: unavailable (%s)\n",
                            d->coopmat_reason ? d->coopmat_reason : "unknown");
}
#endif

td_status
td_devices_report (char **out, td_error *err)
{
  *out = NULL;
  GString *text = g_string_new (NULL);
  g_string_append_printf (text, "cpu: reference backend, %d threads\n",
                          td_threadpool_size (td_threadpool_default ()));
#ifdef TD_HAVE_VULKAN
  td_vulkan_device_info *devices = NULL;
  int count = 0;
  if (td_vulkan_list_devices (&devices, &count, err) != TD_OK)
    {
      g_string_free (text, TRUE);
      return err != NULL ? err->status : TD_ERR_DEVICE;
    }
  const td_vk_shader_compiler *c = &td_vk_shader_compiler_features;
  g_string_append_printf (text, "vulkan shaders built: tiled matmul, GEMV, scalar attention, coopmat emulation; "
                          "NV cooperative matrix %s; KHR cooperative matrix %s; NV cooperative matrix 2 %s; "
                          "bf16 cooperative matrix %s\n",
                          c->nv_coopmat ? "yes" : "no (glslang lacks GL_NV_cooperative_matrix)",
                          c->khr_coopmat ? "yes (devices without the NV path get it)"
                                         : "no (glslang lacks GL_KHR_cooperative_matrix)",
                          c->nv_coopmat2 ? "compiler supports it (no kernel yet)" : "no (glslang lacks GL_NV_cooperative_matrix2)",
                          c->khr_coopmat_bf16 ? "yes (KHR devices with bf16 cooperative matrices)" : "no (glslang lacks GL_EXT_bfloat16)");
  if (count == 0)
    g_string_append (text, "vulkan: no devices\n");
  for (int i = 0; i < count; i++)
    describe_vulkan_device (text, &devices[i]);
  free (devices);
#else
  g_string_append (text, "vulkan: not built in\n");
#endif
  *out = g_string_free (text, FALSE);
  return TD_OK;
}
