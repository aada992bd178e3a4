/* The weight file chosen for the FLUX transformer is what loads: the demo models
 * with a Q8_0 GGUF written by td_quantize into transformer/ load their stored
 * matrices by default and Q8_0 blocks when the GGUF is chosen; the model cache
 * keeps the transformer while the choice stays and loads again when it changes. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "backend/backend.h"
#include "models/flux_dit.h"
#include "pipeline/flux_files.h"
#include "pipeline/model_cache.h"

static char *demo_dir, *flux_dir, *q8_file;

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static td_dtype
loaded_dtype (const td_weight_files *chosen)
{
  td_error err = { 0 };
  td_flux_files files;
  g_assert_cmpint (td_flux_files_find_chosen (flux_dir, chosen, &files, &err), ==, TD_OK);
  td_flux_dit *dit = td_flux_dit_load (files.transformer, td_backend_host (), &err);
  if (dit == NULL)
    g_error ("%s", err.message);
  const td_dtype dtype = td_flux_dit_stored_dtype (dit);
  td_flux_dit_free (dit);
  td_flux_files_clear (&files);
  return dtype;
}

static void
test_chosen_dtype (void)
{
  const td_dtype by_default = loaded_dtype (NULL);
  g_assert_cmpint (by_default, !=, TD_Q8_0);
  td_weight_files chosen = { 0 };
  chosen.file[TD_WEIGHTS_FLUX] = q8_file;
  g_assert_cmpint (loaded_dtype (&chosen), ==, TD_Q8_0);
  chosen.file[TD_WEIGHTS_FLUX] = NULL;
  g_assert_cmpint (loaded_dtype (&chosen), ==, by_default);

  /* Another part's file is refused before anything loads. */
  td_error err = { 0 };
  td_flux_files files;
  chosen.file[TD_WEIGHTS_CLIP] = q8_file;
  g_assert_cmpint (td_flux_files_find_chosen (flux_dir, &chosen, &files, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "not a CLIP-L weight file"));
  g_assert_null (files.transformer);
}

static void
test_cache_follows_choice (void)
{
  td_error err = { 0 };
  td_model_cache *cache = td_model_cache_new (td_backend_host ());
  td_model_cache_set_keep (cache, true);
  g_assert_nonnull (td_model_cache_flux (cache, flux_dir, &err));
  const int loads = td_model_cache_loads (cache);
  td_model_cache_set_weight_file (cache, TD_WEIGHTS_FLUX, NULL);
  g_assert_nonnull (td_model_cache_flux (cache, flux_dir, &err));
  g_assert_cmpint (td_model_cache_loads (cache), ==, loads);

  td_model_cache_set_weight_file (cache, TD_WEIGHTS_FLUX, q8_file);
  g_assert_cmpstr (td_model_cache_weight_files (cache)->file[TD_WEIGHTS_FLUX], ==, q8_file);
  g_assert_nonnull (td_model_cache_flux (cache, flux_dir, &err));
  g_assert_cmpint (td_model_cache_loads (cache), ==, loads + 1);
  td_model_cache_set_weight_file (cache, TD_WEIGHTS_FLUX, q8_file);
  g_assert_nonnull (td_model_cache_flux (cache, flux_dir, &err));
  g_assert_cmpint (td_model_cache_loads (cache), ==, loads + 1);
  td_model_cache_free (cache);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autofree char *tokenizers = g_build_filename (g_getenv ("TD_TEST_DATA"), "tokenizers", NULL);
  td_error err = { 0 };
  demo_dir = g_dir_make_tmp ("td-choice-XXXXXX", NULL);
  g_assert_cmpint (td_demo_models_write (demo_dir, tokenizers, &err), ==, TD_OK);
  flux_dir = g_build_filename (demo_dir, "flux-dev", NULL);
  g_autofree char *transformer = g_build_filename (flux_dir, "transformer", NULL);
  q8_file = g_build_filename (transformer, "flux1-dev-Q8_0.gguf", NULL);
  td_quantize_options options = { .type = "q8_0" };
  if (td_quantize (transformer, q8_file, &options, NULL, &err) != TD_OK)
    g_error ("%s", err.message);
  g_test_add_func ("/weight-choice/chosen-dtype", test_chosen_dtype);
  g_test_add_func ("/weight-choice/cache-follows-choice", test_cache_follows_choice);
  int status = g_test_run ();
  remove_tree (demo_dir);
  g_free (demo_dir);
  g_free (flux_dir);
  g_free (q8_file);
  return status;
}
