/* api_weights.c — choosing a weight file per model part (thinkdiff-models.h). */
#include "api/api_private.h"

#include <glib.h>
#include <string.h>

#include "models/qwen2vl_files.h"
#include "models/weight_folder.h"
#include "pipeline/flux_files.h"
#include "pipeline/model_cache.h"

static const char *const part_names[TD_WEIGHTS_COUNT] = {
  [TD_WEIGHTS_FLUX] = "flux", [TD_WEIGHTS_T5] = "t5", [TD_WEIGHTS_CLIP] = "clip", [TD_WEIGHTS_QWEN2VL] = "lvlm",
  [TD_WEIGHTS_EVA] = "eva",
};

/* The models folder's part that holds the weight part's files. */
static td_model_part
model_part_of (td_weight_part part)
{
  switch (part)
    {
    case TD_WEIGHTS_QWEN2VL: return TD_PART_QWEN2VL;
    case TD_WEIGHTS_EVA: return TD_PART_BLIP2_VISION;
    default: return TD_PART_FLUX;
    }
}

const char *
td_weight_part_name (td_weight_part part)
{
  return (unsigned) part < TD_WEIGHTS_COUNT ? part_names[part] : NULL;
}

bool
td_weight_part_parse (const char *name, td_weight_part *part)
{
  for (int i = 0; name != NULL && i < TD_WEIGHTS_COUNT; i++)
    if (strcmp (name, part_names[i]) == 0)
      {
        *part = (td_weight_part) i;
        return true;
      }
  return false;
}

/* The folder under models_dir that holds part's files (NULL when there is none). */
static td_status
part_folder (const char *models_dir, td_weight_part part, char **folder, td_error *err)
{
  td_model_paths paths;
  *folder = NULL;
  if (td_model_paths_find (models_dir, &paths, err) != TD_OK)
    return err != NULL ? err->status : TD_ERR_NOT_FOUND;
  *folder = g_steal_pointer (&paths.path[model_part_of (part)]);
  td_model_paths_clear (&paths);
  return TD_OK;
}

static GPtrArray *
candidates_in (const char *folder, td_weight_part part)
{
  switch (part)
    {
    case TD_WEIGHTS_QWEN2VL: return td_qwen2vl_weight_choices (folder);
    case TD_WEIGHTS_EVA: return td_weight_folder_choices (folder);
    default: return td_flux_files_candidates (folder, part);
    }
}

char **
td_models_weight_choices (const char *models_dir, td_weight_part part, td_error *err)
{
  g_autofree char *folder = NULL;
  if (models_dir == NULL)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "weight choices: no models folder");
      return NULL;
    }
  if ((unsigned) part >= TD_WEIGHTS_COUNT)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "weight choices: unknown model part %d", (int) part);
      return NULL;
    }
  if (part_folder (models_dir, part, &folder, err) != TD_OK)
    return NULL;
  g_autoptr (GPtrArray) candidates = folder != NULL ? candidates_in (folder, part)
                                                     : g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (candidates, NULL);
  g_ptr_array_set_free_func (candidates, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&candidates), FALSE);
}

td_status
td_models_check_weight_file (const char *models_dir, td_weight_part part, const char *file, td_error *err)
{
  if (models_dir == NULL || file == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "weight choice: no models folder or no file");
  if ((unsigned) part >= TD_WEIGHTS_COUNT)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: unknown model part %d", file, (int) part);
  g_autofree char *folder = NULL;
  td_status st = part_folder (models_dir, part, &folder, err);
  if (st != TD_OK)
    return st;
  if (folder == NULL)
    return td_error_set (err, TD_ERR_NOT_FOUND, "%s: %s has no %s folder", file, models_dir,
                         td_model_part_title (model_part_of (part)));
  switch (part)
    {
    case TD_WEIGHTS_QWEN2VL: return td_qwen2vl_check_choice (folder, file, err);
    case TD_WEIGHTS_EVA: return td_weight_folder_check (folder, "BLIP-2 vision", file, err);
    default: return td_flux_files_check_choice (folder, part, file, err);
    }
}

void
td_strv_free (char **strv)
{
  g_strfreev (strv);
}

td_status
td_engine_set_weight_file (td_engine *engine, td_weight_part part, const char *file, td_error *err)
{
  if (engine == NULL || (unsigned) part >= TD_WEIGHTS_COUNT)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: unknown model part %d", file != NULL ? file : "weights",
                         (int) part);
  td_model_cache_set_weight_file (td_engine_models (engine), part, file);
  return TD_OK;
}

const char *
td_engine_get_weight_file (const td_engine *engine, td_weight_part part)
{
  if (engine == NULL || (unsigned) part >= TD_WEIGHTS_COUNT)
    return NULL;
  return td_model_cache_weight_files (td_engine_models ((td_engine *) engine))->file[part];
}
