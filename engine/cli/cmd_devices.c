#include "cli/cli.h"
#include "core/threads.h"

#include <stdlib.h>
#include <string.h>

#ifdef TD_HAVE_VULKAN
#include "backend/vulkan/vulkan_backend.h"
#include "backend/vulkan/vulkan_shaders.h"

/* What this build's shader compiler produced, independent of any device. */
static void
print_built_paths (void)
{
  const td_vk_shader_compiler *c = &td_vk_shader_compiler_features;
  printf ("vulkan shaders built: tiled matmul, GEMV, scalar attention, coopmat emulation; "
          "NV cooperative matrix %s; KHR cooperative matrix %s; NV cooperative matrix 2 %s\n",
          c->nv_coopmat ? "yes" : "no (glslang lacks GL_NV_cooperative_matrix)",
          c->khr_coopmat ? "compiler supports it (no kernel yet)" : "no (glslang lacks GL_KHR_cooperative_matrix)",
          c->nv_coopmat2 ? "compiler supports it (no kernel yet)" : "no (glslang lacks GL_NV_cooperative_matrix2)");
}

static void
print_vulkan_device (const td_vulkan_device_info *d)
{
  printf ("vulkan:%d: %s (%s, Vulkan %u.%u.%u)%s%s\n", d->index, d->name, d->type, d->api_version >> 22,
          (d->api_version >> 12) & 0x3ff, d->api_version & 0xfff, d->usable ? "" : " — unusable: ",
          d->usable ? "" : d->unusable_reason);
  for (int i = 0; i < d->heap_count; i++)
    printf ("  memory heap %d: %.1f GiB%s\n", i, (double) d->heap_size[i] / (1u << 30),
            d->heap_device_local[i] ? " device-local" : "");
  printf ("  subgroup size %u", d->subgroup_size);
  if (d->subgroup_size_control)
    printf (" (controllable %u..%u)", d->min_subgroup_size, d->max_subgroup_size);
  printf (", shared memory %u KiB, max binding %.0f MiB\n", d->max_shared_memory / 1024,
          (double) d->max_storage_buffer_range / (1u << 20));
  printf ("  features:%s%s%s%s%s%s\n", d->fp16_arithmetic ? " fp16" : "", d->storage_16bit ? " 16bit-storage" : "",
          d->coopmat_khr ? " coopmat-khr" : "", d->coopmat_nv ? " coopmat-nv" : "", d->bfloat16 ? " bfloat16" : "",
          d->memory_budget ? " memory-budget" : "");
  printf ("  offered: NV cooperative matrix %s, KHR cooperative matrix %s, NV cooperative matrix 2 %s\n",
          d->coopmat_nv ? "yes" : "no", d->coopmat_khr ? "yes" : "no", d->coopmat2_nv ? "yes" : "no");
  if (d->coopmat_enabled)
    printf ("  cooperative-matrix matmul: available, enabled\n");
  else if (d->coopmat_available)
    printf ("  cooperative-matrix matmul: available, off (%s)\n", d->coopmat_reason);
  else
    printf ("  cooperative-matrix matmul: unavailable (%s)\n", d->coopmat_reason ? d->coopmat_reason : "unknown");
  if (d->coopmat_emulated)
    printf ("  cooperative-matrix matmul: emulated (TD_VULKAN_EMULATE_COOPMAT=1)\n");
  printf ("  matmul path in use: %s\n", d->coopmat_enabled    ? "cooperative matrix (NV)"
                                         : d->coopmat_emulated ? "cooperative matrix, emulated"
                                                               : "tiled f32");
  printf ("  attention path in use: scalar\n");
}
#endif

int
td_cli_devices (int argc, char **argv)
{
  if (argc > 1 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      printf ("Usage: thinkdiff devices\nLists the compute devices the engine can use.\n"
              "TD_VULKAN_DEVICE=<index or name> picks the Vulkan device.\n"
              "Matmuls run on cooperative matrices where offered; TD_VULKAN_COOPMAT=0 turns that off.\n"
              "TD_VULKAN_EMULATE_COOPMAT=1 runs the cooperative-matrix kernels emulated where not offered.\n");
      return 0;
    }
  printf ("cpu: reference backend, %d threads\n", td_threadpool_size (td_threadpool_default ()));
#ifdef TD_HAVE_VULKAN
  td_vulkan_device_info *devices;
  int count;
  td_error err;
  if (td_vulkan_list_devices (&devices, &count, &err) != TD_OK)
    return td_cli_fail (&err);
  print_built_paths ();
  if (count == 0)
    printf ("vulkan: no devices\n");
  for (int i = 0; i < count; i++)
    print_vulkan_device (&devices[i]);
  free (devices);
#else
  printf ("vulkan: not built in\n");
#endif
  return 0;
}
