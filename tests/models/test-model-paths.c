/* Finding each model under a models folder, and saying what is missing. */
#include <glib.h>
#include <string.h>

#include "pipeline/model_paths.h"
#include "td-test-models.h"

static void
touch (const char *root, const char *relative)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, "{}", -1, NULL));
}

static void
test_finds_parts (void)
{
  g_autofree char *root = g_dir_make_tmp ("td-models-XXXXXX", NULL);
  touch (root, "flux-schnell/model_index.json");
  touch (root, "qwen2-vl-7b-instruct/config.json");
  touch (root, "thinkdiff-lvlm/weights/thinkdiff_lvlm.pth");
  touch (root, "thinkdiff-clip/README.md");

  td_model_paths paths;
  td_error err = { 0 };
  g_assert_cmpint (td_model_paths_find (root, &paths, &err), ==, TD_OK);
  g_assert_true (g_str_has_suffix (paths.path[TD_PART_FLUX], "flux-schnell"));
  g_assert_true (g_str_has_suffix (paths.path[TD_PART_QWEN2VL], "qwen2-vl-7b-instruct"));
  g_assert_true (g_str_has_suffix (paths.path[TD_PART_ALIGNER_LVLM], "weights/thinkdiff_lvlm.pth"));
  g_assert_null (paths.path[TD_PART_ALIGNER_CLIP]);
  g_assert_nonnull (strstr (paths.missing[TD_PART_ALIGNER_CLIP], "thinkdiff_clip"));
  g_assert_null (paths.path[TD_PART_BLIP2_VISION]);

  g_assert_cmpint (td_model_paths_require (&paths, true, &err), ==, TD_OK);
  g_assert_cmpint (td_model_paths_require (&paths, false, &err), ==, TD_ERR_NOT_FOUND);
  g_assert_nonnull (strstr (err.message, "thinkdiff models pull clip"));
  td_model_paths_clear (&paths);

  /* flux-dev wins over flux-schnell; a folder with model_index.json is FLUX itself. */
  touch (root, "flux-dev/model_index.json");
  g_assert_cmpint (td_model_paths_find (root, &paths, &err), ==, TD_OK);
  g_assert_true (g_str_has_suffix (paths.path[TD_PART_FLUX], "flux-dev"));
  td_model_paths_clear (&paths);
  g_autofree char *flux = g_build_filename (root, "flux-dev", NULL);
  g_assert_cmpint (td_model_paths_find (flux, &paths, &err), ==, TD_OK);
  g_assert_cmpstr (paths.path[TD_PART_FLUX], ==, flux);
  td_model_paths_clear (&paths);

  g_assert_cmpint (td_model_paths_find ("/nonexistent/models", &paths, &err), ==, TD_ERR_NOT_FOUND);
  td_test_remove_tree (root);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/model-paths/finds-parts", test_finds_parts);
  return g_test_run ();
}
