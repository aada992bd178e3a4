#include "cli/cli_backend.h"

#include <string.h>

#ifdef TD_HAVE_VULKAN
#include <stdlib.h>

#include "backend/vulkan/vulkan_backend.h"

/* True when a usable Vulkan device is real hardware. */
static bool
has_gpu (void)
{
  td_vulkan_device_info *devices = NULL;
  int count = 0;
  td_error err = { 0 };
  bool found = false;
  if (td_vulkan_list_devices (&devices, &count, &err) == TD_OK)
    for (int i = 0; i < count; i++)
      if (devices[i].usable && strcmp (devices[i].type, "cpu") != 0)
        found = true;
  free (devices);
  return found;
}
#endif

td_backend *
td_cli_backend_new (const char *name, td_error *err)
{
  if (name == NULL || strcmp (name, "auto") == 0)
    {
#ifdef TD_HAVE_VULKAN
      if (has_gpu () || getenv ("TD_VULKAN_DEVICE") != NULL)
        return td_backend_vulkan_new (-1, err);
#endif
      return td_backend_cpu_new (err);
    }
  if (strcmp (name, "cpu") == 0)
    return td_backend_cpu_new (err);
  if (strcmp (name, "vulkan") == 0)
    {
#ifdef TD_HAVE_VULKAN
      return td_backend_vulkan_new (-1, err);
#else
      td_error_set (err, TD_ERR_UNSUPPORTED, "this build has no Vulkan backend (use --backend cpu)");
      return NULL;
#endif
    }
  td_error_set (err, TD_ERR_INVALID_ARG, "unknown backend '%s' (use auto, cpu or vulkan)", name);
  return NULL;
}
