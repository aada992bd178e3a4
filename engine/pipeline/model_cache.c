/* model_cache.c — loaded models kept between generations (see model_cache.h). */
#include "pipeline/model_cache.h"

#include <glib.h>
#include <string.h>

typedef enum {
  KIND_QWEN2VL,
  KIND_EVA,
  KIND_ALIGNER_A, /* the first aligner path asked for */
  KIND_ALIGNER_B,
  KIND_TEXT,
  KIND_FLUX,
  KIND_COUNT,
} kind;

typedef struct {
  char *path;
  void *model;
} entry;

struct td_model_cache {
  td_backend *backend;
  bool keep;
  int loads;
  entry held[KIND_COUNT];
  td_weight_files chosen;
};

static void
free_model (kind k, void *model)
{
  switch (k)
    {
    case KIND_QWEN2VL: td_qwen2vl_free (model); break;
    case KIND_EVA: td_eva_vision_free (model); break;
    case KIND_ALIGNER_A:
    case KIND_ALIGNER_B: td_aligner_free (model); break;
    case KIND_TEXT: td_text_encoders_free (model); break;
    case KIND_FLUX: td_flux_pipeline_free (model); break;
    default: break;
    }
}

/* What a model loaded inside itself after the cache made it. */
static int
inner_loads (kind k, void *model)
{
  if (k == KIND_TEXT)
    return td_text_encoders_loads (model);
  if (k == KIND_FLUX)
    return td_flux_pipeline_loads (model);
  return 0;
}

static void
drop (td_model_cache *cache, kind k)
{
  entry *e = &cache->held[k];
  if (e->model != NULL)
    {
      cache->loads += inner_loads (k, e->model);
      free_model (k, e->model);
    }
  g_free (e->path);
  *e = (entry) { 0 };
}

td_model_cache *
td_model_cache_new (td_backend *backend)
{
  td_model_cache *cache = g_new0 (td_model_cache, 1);
  cache->backend = backend;
  return cache;
}

void
td_model_cache_clear (td_model_cache *cache)
{
  for (int k = 0; k < KIND_COUNT; k++)
    drop (cache, (kind) k);
}

void
td_model_cache_free (td_model_cache *cache)
{
  if (cache == NULL)
    return;
  td_model_cache_clear (cache);
  for (int part = 0; part < TD_WEIGHTS_COUNT; part++)
    g_free (cache->chosen.file[part]);
  g_free (cache);
}

td_backend *
td_model_cache_backend (const td_model_cache *cache)
{
  return cache->backend;
}

void
td_model_cache_set_keep (td_model_cache *cache, bool keep)
{
  cache->keep = keep;
  if (!keep)
    td_model_cache_clear (cache);
}

bool
td_model_cache_keeps (const td_model_cache *cache)
{
  return cache->keep;
}

int
td_model_cache_loads (const td_model_cache *cache)
{
  int loads = cache->loads;
  for (int k = 0; k < KIND_COUNT; k++)
    if (cache->held[k].model != NULL)
      loads += inner_loads ((kind) k, cache->held[k].model);
  return loads;
}

static void *
load (kind k, const char *path, td_backend *backend, const td_weight_files *chosen, td_error *err)
{
  switch (k)
    {
    case KIND_QWEN2VL: return td_qwen2vl_load_chosen (path, chosen->file[TD_WEIGHTS_QWEN2VL], backend, err);
    case KIND_EVA: return td_eva_vision_load_chosen (path, chosen->file[TD_WEIGHTS_EVA], backend, err);
    case KIND_ALIGNER_A:
    case KIND_ALIGNER_B: return td_aligner_load (path, backend, err);
    case KIND_TEXT: return td_text_encoders_new (path, chosen, backend, err);
    case KIND_FLUX: return td_flux_pipeline_new (path, chosen, backend, err);
    default: return NULL;
    }
}

static void *
take (td_model_cache *cache, kind k, const char *path, td_error *err)
{
  entry *e = &cache->held[k];
  if (e->model != NULL && strcmp (e->path, path) == 0)
    return e->model;
  drop (cache, k);
  void *model = load (k, path, cache->backend, &cache->chosen, err);
  if (model == NULL)
    return NULL;
  cache->loads++;
  *e = (entry) { g_strdup (path), model };
  return model;
}

void
td_model_cache_set_weight_file (td_model_cache *cache, td_weight_part part, const char *file)
{
  if (g_strcmp0 (cache->chosen.file[part], file) == 0)
    return;
  g_free (cache->chosen.file[part]);
  cache->chosen.file[part] = g_strdup (file);
  switch (part)
    {
    case TD_WEIGHTS_QWEN2VL: drop (cache, KIND_QWEN2VL); break;
    case TD_WEIGHTS_EVA: drop (cache, KIND_EVA); break;
    default:
      drop (cache, KIND_TEXT);
      drop (cache, KIND_FLUX);
    }
}

const td_weight_files *
td_model_cache_weight_files (const td_model_cache *cache)
{
  return &cache->chosen;
}

td_qwen2vl *
td_model_cache_qwen2vl (td_model_cache *cache, const char *dir, td_error *err)
{
  return take (cache, KIND_QWEN2VL, dir, err);
}

td_eva_vision *
td_model_cache_eva (td_model_cache *cache, const char *dir, td_error *err)
{
  return take (cache, KIND_EVA, dir, err);
}

td_aligner *
td_model_cache_aligner (td_model_cache *cache, const char *path, td_error *err)
{
  /* The slot already holding this path, else the one not holding the other aligner. */
  const entry *a = &cache->held[KIND_ALIGNER_A], *b = &cache->held[KIND_ALIGNER_B];
  kind k = KIND_ALIGNER_A;
  if ((b->path != NULL && strcmp (b->path, path) == 0) || (a->path != NULL && strcmp (a->path, path) != 0))
    k = KIND_ALIGNER_B;
  return take (cache, k, path, err);
}

td_text_encoders *
td_model_cache_text_encoders (td_model_cache *cache, const char *flux_dir, td_error *err)
{
  return take (cache, KIND_TEXT, flux_dir, err);
}

td_flux_pipeline *
td_model_cache_flux (td_model_cache *cache, const char *flux_dir, td_error *err)
{
  td_flux_pipeline *pipeline = take (cache, KIND_FLUX, flux_dir, err);
  if (pipeline != NULL)
    td_flux_pipeline_set_resident (pipeline, td_model_cache_keeps (cache));
  return pipeline;
}

void
td_model_cache_done (td_model_cache *cache, void *model)
{
  for (int k = 0; k < KIND_COUNT; k++)
    if (cache->held[k].model == model && !cache->keep)
      drop (cache, (kind) k);
}
