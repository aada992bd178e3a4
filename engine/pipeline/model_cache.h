/* model_cache.h — the models a generation loads, kept loaded between generations when
 * the memory plan says they fit together (see td_engine_generate), and freed after each
 * use otherwise. Entries are keyed by the model's path: asking for another path frees
 * the one held. A cache that does not keep (the default) frees each model when its
 * stage is done, so a run holds one model at a time. */
#pragma once

#include <stdbool.h>

#include "backend/backend.h"
#include "models/aligner.h"
#include "models/eva_vision.h"
#include "models/qwen2vl.h"
#include "pipeline/flux_files.h"
#include "pipeline/flux_pipeline.h"
#include "pipeline/text_conditioning.h"

typedef struct td_model_cache td_model_cache;

td_model_cache *td_model_cache_new (td_backend *backend);
/* The backend models are loaded on. Frees every model held (NULL is ignored). */
void td_model_cache_free (td_model_cache *cache);
td_backend *td_model_cache_backend (const td_model_cache *cache);
/* Frees every model held; the next use loads again. */
void td_model_cache_clear (td_model_cache *cache);
/* Whether models stay loaded after use; turning it off frees what is held. */
void td_model_cache_set_keep (td_model_cache *cache, bool keep);
bool td_model_cache_keeps (const td_model_cache *cache);
/* Models loaded through the cache since it was made: its own, the text encoders'
 * T5 and CLIP, and the FLUX pipelines' transformer, VAE and preview decoder. */
int td_model_cache_loads (const td_model_cache *cache);

/* Loads part from file (NULL: the default) from now on; the model held with another
 * choice (FLUX and the text encoders for FLUX's parts, Qwen2-VL, the vision tower) is freed. */
void td_model_cache_set_weight_file (td_model_cache *cache, td_weight_part part, const char *file);
const td_weight_files *td_model_cache_weight_files (const td_model_cache *cache);

/* Each returns the model held for path, or loads it (NULL and err on failure). Hand it
 * back with td_model_cache_done once the stage is over. */
td_qwen2vl *td_model_cache_qwen2vl (td_model_cache *cache, const char *dir, td_error *err);
td_eva_vision *td_model_cache_eva (td_model_cache *cache, const char *dir, td_error *err);
/* The two aligners are held apart (the LVLM and the CLIP one). */
td_aligner *td_model_cache_aligner (td_model_cache *cache, const char *path, td_error *err);
td_text_encoders *td_model_cache_text_encoders (td_model_cache *cache, const char *flux_dir, td_error *err);
td_flux_pipeline *td_model_cache_flux (td_model_cache *cache, const char *flux_dir, td_error *err);
/* The stage is done with model: freed unless the cache keeps it. */
void td_model_cache_done (td_model_cache *cache, void *model);
