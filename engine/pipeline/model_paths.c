#include "pipeline/model_paths.h"

#include <glib.h>
#include <string.h>

#include "pipeline/flux_files.h"
#include "core/i18n.h"

static const struct {
  const char *title;
  const char *bundle;
} part_info[TD_PART_COUNT] = {
  [TD_PART_FLUX] = { "FLUX.1 (transformer, VAE, text encoders)", "flux-dev" },
  [TD_PART_QWEN2VL] = { "Qwen2-VL-7B-Instruct", "lvlm" },
  [TD_PART_BLIP2_VISION] = { "BLIP-2 vision tower", "clip" },
  [TD_PART_ALIGNER_LVLM] = { "ThinkDiff-LVLM aligner", "lvlm" },
  [TD_PART_ALIGNER_CLIP] = { "ThinkDiff-CLIP aligner", "clip" },
  [TD_PART_TAEF1] = { "TAEF1 preview decoder (optional)", "taef1" },
};

const char *
td_model_part_title (td_model_part part)
{
  return part_info[part].title;
}

const char *
td_model_part_bundle (td_model_part part)
{
  return part_info[part].bundle;
}

static bool
is_dir (const char *path)
{
  return g_file_test (path, G_FILE_TEST_IS_DIR);
}

static char *
child (const char *root, const char *name)
{
  return g_build_filename (root, name, NULL);
}

/* A folder holding `marker`, or NULL. */
static char *
folder_with (const char *root, const char *name, const char *marker)
{
  char *dir = child (root, name);
  g_autofree char *file = g_build_filename (dir, marker, NULL);
  if (is_dir (dir) && g_file_test (file, G_FILE_TEST_IS_REGULAR))
    return dir;
  g_free (dir);
  return NULL;
}

/* The first file under dir (depth ≤ 3) whose name starts with prefix and ends in
 * .pth, .pt or .safetensors, in sorted order for stable results. */
static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static char *
find_weights_file (const char *dir, const char *prefix, int depth)
{
  g_autoptr (GDir) handle = g_dir_open (dir, 0, NULL);
  if (handle == NULL || depth > 3)
    return NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (handle)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      const char *entry = names->pdata[i];
      g_autofree char *path = g_build_filename (dir, entry, NULL);
      if (g_str_has_prefix (entry, prefix)
          && (g_str_has_suffix (entry, ".pth") || g_str_has_suffix (entry, ".pt")
              || g_str_has_suffix (entry, ".safetensors"))
          && g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&path);
    }
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      if (is_dir (path) && ((const char *) names->pdata[i])[0] != '.')
        {
          char *found = find_weights_file (path, prefix, depth + 1);
          if (found != NULL)
            return found;
        }
    }
  return NULL;
}

td_status
td_model_paths_find (const char *root, td_model_paths *paths, td_error *err)
{
  memset (paths, 0, sizeof *paths);
  if (!is_dir (root))
    return td_error_set (err, TD_ERR_NOT_FOUND, _("%s: the models folder does not exist"), root);

  g_autofree char *root_index = child (root, "model_index.json");
  if (g_file_test (root_index, G_FILE_TEST_IS_REGULAR) || td_flux_files_is_single_file_set (root))
    paths->path[TD_PART_FLUX] = g_strdup (root);
  else if ((paths->path[TD_PART_FLUX] = folder_with (root, "flux-dev", "model_index.json")) == NULL)
    paths->path[TD_PART_FLUX] = folder_with (root, "flux-schnell", "model_index.json");
  paths->path[TD_PART_QWEN2VL] = folder_with (root, "qwen2-vl-7b-instruct", "config.json");
  paths->path[TD_PART_BLIP2_VISION] = folder_with (root, "blip2-vision", "config.json");
  g_autofree char *lvlm = child (root, "thinkdiff-lvlm");
  g_autofree char *clip = child (root, "thinkdiff-clip");
  paths->path[TD_PART_ALIGNER_LVLM] = find_weights_file (lvlm, "thinkdiff_lvlm", 0);
  paths->path[TD_PART_ALIGNER_CLIP] = find_weights_file (clip, "thinkdiff_clip", 0);
  g_autofree char *taef1 = child (root, "taef1");
  if (is_dir (taef1))
    paths->path[TD_PART_TAEF1] = g_steal_pointer (&taef1);

  static const char *const expected[TD_PART_COUNT] = {
    [TD_PART_FLUX] = N_("no flux-dev/ or flux-schnell/ folder with model_index.json, and no ComfyUI-style"
                        " flux1-*.safetensors"),
    [TD_PART_QWEN2VL] = N_("no qwen2-vl-7b-instruct/ folder with config.json"),
    [TD_PART_BLIP2_VISION] = N_("no blip2-vision/ folder with config.json"),
    [TD_PART_ALIGNER_LVLM] = N_("no thinkdiff_lvlm*.pth under thinkdiff-lvlm/"),
    [TD_PART_ALIGNER_CLIP] = N_("no thinkdiff_clip*.pth under thinkdiff-clip/"),
    [TD_PART_TAEF1] = N_("no taef1/ folder"),
  };
  for (int i = 0; i < TD_PART_COUNT; i++)
    if (paths->path[i] == NULL)
      paths->missing[i] = g_strdup (_(expected[i]));
  return TD_OK;
}

void
td_model_paths_clear (td_model_paths *paths)
{
  for (int i = 0; i < TD_PART_COUNT; i++)
    {
      g_free (paths->path[i]);
      g_free (paths->missing[i]);
    }
  memset (paths, 0, sizeof *paths);
}

td_status
td_model_paths_require (const td_model_paths *paths, bool lvlm, td_error *err)
{
  const td_model_part needed[3] = { TD_PART_FLUX, lvlm ? TD_PART_QWEN2VL : TD_PART_BLIP2_VISION,
                                    lvlm ? TD_PART_ALIGNER_LVLM : TD_PART_ALIGNER_CLIP };
  for (int i = 0; i < 3; i++)
    if (paths->path[needed[i]] == NULL)
      return td_error_set (err, TD_ERR_NOT_FOUND, _("%s is missing (%s): get it with 'thinkdiff models pull %s'"),
                           td_model_part_title (needed[i]), paths->missing[needed[i]],
                           td_model_part_bundle (needed[i]));
  return TD_OK;
}
