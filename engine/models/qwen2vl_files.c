/* qwen2vl_files.c — which weight files of Qwen2-VL's folder load (see qwen2vl_files.h). */
#include "models/qwen2vl_files.h"

#include <string.h>

#include "io/gguf.h"
#include "models/weight_folder.h"

/* One GGUF holding the vision tower under its Hugging Face name (the whole model). */
static bool
holds_transformers_names (const char *path)
{
  td_gguf *gguf = td_gguf_open (path, NULL);
  bool found = gguf != NULL
               && (td_gguf_find_tensor (gguf, "visual.patch_embed.proj.weight") != NULL
                   || td_gguf_find_tensor (gguf, "model.visual.patch_embed.proj.weight") != NULL);
  td_gguf_close (gguf);
  return found;
}

static bool
is_mmproj (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  return g_str_has_prefix (base, "mmproj");
}

/* A GGUF's name without ".gguf" and without its last "-TYPE" or ".TYPE". */
static char *
model_stem (const char *name)
{
  const size_t length = strlen (name);
  char *stem = g_strndup (name, g_str_has_suffix (name, ".gguf") ? length - strlen (".gguf") : length);
  char *cut = strrchr (stem, '-'), *dot = strrchr (stem, '.');
  if (dot != NULL && (cut == NULL || dot > cut))
    cut = dot;
  if (cut != NULL && cut > stem)
    *cut = '\0';
  return stem;
}

char *
td_qwen2vl_mmproj_for (const char *llm)
{
  g_autofree char *dir = g_path_get_dirname (llm), *base = g_path_get_basename (llm);
  if (!g_str_has_suffix (base, ".gguf") || g_str_has_prefix (base, "mmproj"))
    return NULL;
  g_autofree char *stem = model_stem (base);
  g_autoptr (GPtrArray) mmprojs = td_weight_folder_ggufs (dir, "mmproj");
  for (guint i = 0; i < mmprojs->len; i++)
    {
      g_autofree char *name = g_path_get_basename (mmprojs->pdata[i]);
      const char *rest = name + strlen ("mmproj");
      if (*rest == '-' || *rest == '_' || *rest == '.')
        rest++;
      g_autofree char *other = model_stem (rest);
      if (g_ascii_strcasecmp (other, stem) == 0)
        return g_strdup (mmprojs->pdata[i]);
    }
  return mmprojs->len == 1 ? g_strdup (mmprojs->pdata[0]) : NULL;
}

GPtrArray *
td_qwen2vl_weight_choices (const char *dir)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  char *checkpoint = td_weight_folder_checkpoint (dir);
  if (checkpoint != NULL)
    g_ptr_array_add (out, checkpoint);
  g_autoptr (GPtrArray) ggufs = td_weight_folder_ggufs (dir, NULL);
  for (guint i = 0; i < ggufs->len; i++)
    {
      const char *path = ggufs->pdata[i];
      if (is_mmproj (path))
        continue;
      g_autofree char *mmproj = td_qwen2vl_mmproj_for (path);
      if (mmproj != NULL || holds_transformers_names (path))
        g_ptr_array_add (out, g_strdup (path));
    }
  return out;
}

static td_status
refuse_without_mmproj (const char *dir, const char *file, td_error *err)
{
  g_autofree char *base = g_path_get_basename (file), *stem = model_stem (base);
  return td_error_set (err, TD_ERR_INVALID_ARG, "%s: no mmproj for this language model in %s (llama.cpp's vision "
                       "tower file, mmproj-%s-TYPE.gguf, or the folder's only mmproj*.gguf)", file, dir, stem);
}

td_status
td_qwen2vl_check_choice (const char *dir, const char *file, td_error *err)
{
  if (!g_file_test (file, G_FILE_TEST_EXISTS))
    return td_error_set (err, TD_ERR_NOT_FOUND, "%s: no such weight file", file);
  g_autoptr (GPtrArray) choices = td_qwen2vl_weight_choices (dir);
  if (td_weight_folder_contains (choices, file))
    return TD_OK;
  g_autoptr (GPtrArray) ggufs = td_weight_folder_ggufs (dir, NULL);
  if (!td_weight_folder_contains (ggufs, file))
    return td_weight_folder_refuse (dir, choices, "Qwen2-VL", file, err);
  if (is_mmproj (file))
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: an mmproj file holds only the vision tower; choose the "
                         "language model's GGUF beside it", file);
  return refuse_without_mmproj (dir, file, err);
}

/* What loads for the choice path. */
static td_status
resolve (const char *dir, const char *path, td_qwen2vl_source *source, td_error *err)
{
  if (!g_str_has_suffix (path, ".gguf") || holds_transformers_names (path))
    {
      source->weights = g_strdup (path);
      return TD_OK;
    }
  source->llm = g_strdup (path);
  source->mmproj = td_qwen2vl_mmproj_for (path);
  if (source->mmproj != NULL)
    return TD_OK;
  /* Only when the mmproj went away since the choice was checked. */
  td_qwen2vl_source_clear (source);
  return refuse_without_mmproj (dir, path, err);
}

td_status
td_qwen2vl_source_find (const char *dir, const char *file, td_qwen2vl_source *source, td_error *err)
{
  *source = (td_qwen2vl_source) { 0 };
  if (file != NULL)
    {
      td_status st = td_qwen2vl_check_choice (dir, file, err);
      return st == TD_OK ? resolve (dir, file, source, err) : st;
    }
  g_autoptr (GPtrArray) choices = td_qwen2vl_weight_choices (dir);
  if (choices->len > 0)
    return resolve (dir, choices->pdata[0], source, err);
  g_autoptr (GPtrArray) ggufs = td_weight_folder_ggufs (dir, NULL);
  g_autoptr (GPtrArray) mmprojs = td_weight_folder_ggufs (dir, "mmproj");
  if (ggufs->len > 0)
    return td_error_set (err, TD_ERR_NOT_FOUND, "%s: holds %u language-model .gguf file(s) and %u mmproj*.gguf "
                         "file(s) but no language model with its mmproj (mmproj-NAME-TYPE.gguf beside "
                         "NAME-TYPE.gguf); Qwen2-VL in GGUF needs both", dir, ggufs->len - mmprojs->len, mmprojs->len);
  source->weights = g_strdup (dir);
  return TD_OK;
}

void
td_qwen2vl_source_clear (td_qwen2vl_source *source)
{
  g_free (source->weights);
  g_free (source->llm);
  g_free (source->mmproj);
  *source = (td_qwen2vl_source) { 0 };
}
