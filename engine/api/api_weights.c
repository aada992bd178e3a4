/* api_weights.c — choosing a weight file per model part (thinkdiff-models.h). */
#include "api/api_private.h"

#include <glib.h>
#include <string.h>

#include "pipeline/flux_files.h"
#include "pipeline/model_cache.h"

static const char *const part_names[TD_WEIGHTS_COUNT] = {
  [TD_WEIGHTS_FLUX] = "flux", [TD_WEIGHTS_T5] = "t5", [TD_WEIGHTS_CLIP] = "clip",
};

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

/* The FLUX folder under models_dir (NULL when there is none). */
static td_status
flux_folder (const char *models_dir, char **flux_dir, td_error *err)
{
  td_model_paths paths;
  *flux_dir = NULL;
  if (td_model_paths_find (models_dir, &paths, err) != TD_OK)
    return err != NULL ? err->status : TD_ERR_NOT_FOUND;
  *flux_dir = g_steal_pointer (&paths.path[TD_PART_FLUX]);
  td_model_paths_clear (&paths);
  return TD_OK;
}

char **
td_models_weight_choices (const char *models_dir, td_weight_part part, td_error *err)
{
  g_autofree char *flux_dir = NULL;
  if (models_dir == NULL || flux_folder (models_dir, &flux_dir, err) != TD_OK)
    {
      if (models_dir == NULL)
        td_error_set (err, TD_ERR_INVALID_ARG, "weight choices: no models folder");
      return NULL;
    }
  g_autoptr (GPtrArray) candidates = td_flux_files_candidates (flux_dir, part);
  g_ptr_array_add (candidates, NULL);
  g_ptr_array_set_free_func (candidates, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&candidates), FALSE);
}

td_status
td_models_check_weight_file (const char *models_dir, td_weight_part part, const char *file, td_error *err)
{
  if (models_dir == NULL || file == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "weight choice: no models folder or no file");
  g_autofree char *flux_dir = NULL;
  td_status st = flux_folder (models_dir, &flux_dir, err);
  if (st != TD_OK)
    return st;
  if (flux_dir == NULL)
    return td_error_set (err, TD_ERR_NOT_FOUND, "%s: %s has no FLUX folder", file, models_dir);
  return td_flux_files_check_choice (flux_dir, part, file, err);
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
