/* api_engine.c — the public engine handle: a backend chosen by name and device. */
#include "api/api_private.h"

#include <stdlib.h>
#include <string.h>

#include "pipeline/model_cache.h"

#ifdef TD_HAVE_VULKAN
#include "backend/vulkan/vulkan_backend.h"
#endif

struct td_engine {
  td_backend *backend;
  td_model_cache *models; /* kept between generations when the plan says they fit */
};

#ifdef TD_HAVE_VULKAN
/* The index of the best usable hardware GPU (discrete first), or -1 when there
 * is only a software renderer (lavapipe) or nothing. */
static int
find_hardware_gpu (void)
{
  td_vulkan_device_info *devices = NULL;
  int count = 0, best = -1;
  td_error err = { 0 };
  if (td_vulkan_list_devices (&devices, &count, &err) == TD_OK)
    for (int i = 0; i < count; i++)
      {
        if (!devices[i].usable || strcmp (devices[i].type, "cpu") == 0)
          continue;
        if (best < 0 || strcmp (devices[i].type, "discrete") == 0)
          best = devices[i].index;
        if (strcmp (devices[i].type, "discrete") == 0)
          break;
      }
  free (devices);
  return best;
}
#endif

td_backend *
td_backend_choose (const char *name, int device, td_error *err)
{
  bool is_auto = name == NULL || name[0] == '\0' || strcmp (name, "auto") == 0;
  if (!is_auto && strcmp (name, "cpu") != 0 && strcmp (name, "vulkan") != 0)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "unknown backend '%s' (use auto, cpu or vulkan)", name);
      return NULL;
    }
  if (!is_auto && strcmp (name, "cpu") == 0)
    return td_backend_cpu_new (err);
#ifdef TD_HAVE_VULKAN
  if (is_auto && device < 0 && getenv ("TD_VULKAN_DEVICE") == NULL)
    {
      device = find_hardware_gpu ();
      if (device < 0)
        return td_backend_cpu_new (err);
    }
  return td_backend_vulkan_new (device, err);
#else
  if (is_auto)
    return td_backend_cpu_new (err);
  td_error_set (err, TD_ERR_UNSUPPORTED, "this build has no Vulkan backend (use the cpu backend)");
  return NULL;
#endif
}

td_engine_options
td_engine_options_default (void)
{
  return (td_engine_options) { .backend = "auto", .device = -1 };
}

td_engine *
td_engine_new (const td_engine_options *options, td_error *err)
{
  td_engine_options defaults = td_engine_options_default ();
  if (options == NULL)
    options = &defaults;
  td_backend *backend = td_backend_choose (options->backend, options->device, err);
  if (backend == NULL)
    return NULL;
  td_engine *engine = calloc (1, sizeof *engine);
  if (engine == NULL)
    {
      td_backend_free (backend);
      td_error_set (err, TD_ERR_NO_MEMORY, "out of memory");
      return NULL;
    }
  engine->backend = backend;
  engine->models = td_model_cache_new (backend);
  if (options->device_budget > 0)
    td_backend_set_budget (backend, (size_t) options->device_budget);
  return engine;
}

void
td_engine_free (td_engine *engine)
{
  if (engine == NULL)
    return;
  td_model_cache_free (engine->models);
  td_backend_free (engine->backend);
  free (engine);
}

const char *
td_engine_name (const td_engine *engine)
{
  return td_backend_name (engine->backend);
}

td_backend *
td_engine_backend (td_engine *engine)
{
  return engine->backend;
}

td_model_cache *
td_engine_models (td_engine *engine)
{
  return engine->models;
}

void
td_engine_set_device_budget (td_engine *engine, uint64_t bytes)
{
  /* What was kept was planned for the old budget. */
  td_model_cache_clear (engine->models);
  td_backend_set_budget (engine->backend, (size_t) bytes);
}

void
td_engine_release_models (td_engine *engine)
{
  td_model_cache_clear (engine->models);
}

int
td_engine_model_loads (const td_engine *engine)
{
  return td_model_cache_loads (engine->models);
}

void
td_engine_memory (td_engine *engine, td_memory_report *report)
{
  *report = (td_memory_report) { 0 };
#ifdef TD_HAVE_VULKAN
  if (strcmp (td_backend_name (engine->backend), "vulkan") == 0)
    td_vulkan_memory_usage (engine->backend, &report->device_used, &report->device_budget);
#endif
}

void
td_engine_memory_use (const td_engine *engine, uint64_t *live, uint64_t *peak)
{
  size_t l = 0, p = 0;
  td_backend_memory (engine->backend, &l, &p);
  *live = l;
  *peak = p;
}

void
td_engine_reset_memory_peak (td_engine *engine)
{
  td_backend_reset_peak (engine->backend);
}
