/* The weight file chosen is what loads: the demo models with a Q8_0 GGUF written by
 * td_quantize into transformer/ load their stored matrices by default and Q8_0 blocks
 * when the GGUF is chosen; the model cache keeps the transformer while the choice
 * stays and loads again when it changes. The same for Qwen2-VL, in a folder holding
 * the golden checkpoint and llama.cpp GGUF pairs (make-community-ggufs.py's
 * qwen2_vl-choice), and for BLIP-2's vision tower with a td_quantize GGUF beside
 * its checkpoint. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "models/eva_vision.h"
#include "models/flux_dit.h"
#include "models/qwen2vl.h"
#include "models/qwen2vl_files.h"
#include "models/weight_folder.h"
#include "models/weights.h"
#include "pipeline/flux_files.h"
#include "pipeline/model_cache.h"
#include "td-test-models.h"

static const char *demo_dir;
static char *flux_dir, *q8_file;
static char *community_dir, *qwen_dir, *qwen_q8, *qwen_broken, *qwen_lonely, *eva_dir, *eva_q8;

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

/* The folder name of each choice, in order. */
static char *
choice_names (GPtrArray *choices)
{
  GString *names = g_string_new (NULL);
  for (guint i = 0; i < choices->len; i++)
    {
      g_autofree char *base = g_path_get_basename (choices->pdata[i]);
      g_string_append_printf (names, "%s%s", i > 0 ? " " : "", base);
    }
  return g_string_free (names, FALSE);
}

static bool
have_community (void)
{
  if (community_dir == NULL)
    g_test_skip ("no python3 for make-community-ggufs.py");
  return community_dir != NULL;
}

static void
test_qwen2vl_choices (void)
{
  if (!have_community ())
    return;
  g_autoptr (GPtrArray) choices = td_qwen2vl_weight_choices (qwen_dir);
  g_autofree char *names = choice_names (choices);
  /* The checkpoint first; the language model without its mmproj is not offered. */
  g_assert_cmpstr (names, ==, "model.safetensors Qwen2-VL-Broken-F32.gguf Qwen2-VL-Golden-Q8_0.gguf");
  g_autofree char *mmproj = td_qwen2vl_mmproj_for (qwen_q8);
  g_assert_true (g_str_has_suffix (mmproj, "/mmproj-Qwen2-VL-Golden-f32.gguf"));
  g_assert_null (td_qwen2vl_mmproj_for (qwen_lonely));

  td_error err = { 0 };
  g_assert_cmpint (td_qwen2vl_check_choice (qwen_dir, qwen_q8, &err), ==, TD_OK);
  g_assert_cmpint (td_qwen2vl_check_choice (qwen_dir, qwen_lonely, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_true (g_str_has_prefix (err.message, qwen_lonely));
  g_assert_nonnull (strstr (err.message, "no mmproj"));
  g_assert_nonnull (strstr (err.message, "mmproj-Qwen2-VL-Lonely-TYPE.gguf"));
  td_error err2 = { 0 };
  g_assert_cmpint (td_qwen2vl_check_choice (qwen_dir, mmproj, &err2), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err2.message, "only the vision tower"));
  td_error err3 = { 0 };
  g_assert_cmpint (td_qwen2vl_check_choice (qwen_dir, q8_file, &err3), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err3.message, "not a Qwen2-VL weight file"));
  g_assert_nonnull (strstr (err3.message, "Qwen2-VL-Golden-Q8_0.gguf"));

  /* A single mmproj goes with any language model beside it, whatever its name. */
  g_autofree char *lone = g_dir_make_tmp ("td-lone-mmproj-XXXXXX", NULL);
  g_autofree char *llm = g_build_filename (lone, "qwen2-vl-q8.gguf", NULL);
  g_autofree char *projector = g_build_filename (lone, "mmproj-model-f16.gguf", NULL);
  g_assert_cmpint (symlink (qwen_q8, llm), ==, 0);
  g_assert_cmpint (symlink (mmproj, projector), ==, 0);
  g_autofree char *found = td_qwen2vl_mmproj_for (llm);
  g_assert_cmpstr (found, ==, projector);
  td_test_remove_tree (lone);
}

/* The mmproj rule on odd names (empty files: only the names matter). */
static void
test_mmproj_names (void)
{
  static const struct {
    const char *llm, *mmprojs[3], *expected; /* expected NULL: none */
  } cases[] = {
    { "Qwen2-VL-7B-Instruct-Q4_K_M.gguf", { "mmproj-Qwen2-VL-7B-Instruct-f16.gguf", "mmproj-Other-f16.gguf" },
      "mmproj-Qwen2-VL-7B-Instruct-f16.gguf" },
    { "Qwen2-VL-7B-Instruct.Q4_K_M.gguf", { "mmproj_qwen2-vl-7b-instruct.f16.gguf", "mmproj-Other-f16.gguf" },
      "mmproj_qwen2-vl-7b-instruct.f16.gguf" },
    { "Qwen2-VL-7B-Instruct-Q4_K_M.gguf", { "mmproj-A-f16.gguf", "mmproj-B-f16.gguf" }, NULL },
    { "model.gguf", { "mmproj.gguf", "mmproj-.gguf" }, NULL },
    { "model.gguf", { "mmproj.gguf" }, "mmproj.gguf" },
    { "-.gguf", { "mmproj-.gguf", "mmproj--.gguf" }, "mmproj--.gguf" }, /* NAME "-" */
    { "Qwen2-VL-7B-Instruct-Q4_K_M.gguf", { NULL }, NULL },
  };
  for (size_t i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *dir = g_dir_make_tmp ("td-mmproj-names-XXXXXX", NULL);
      g_autofree char *llm = g_build_filename (dir, cases[i].llm, NULL);
      g_assert_true (g_file_set_contents (llm, "", 0, NULL));
      for (int k = 0; k < 3 && cases[i].mmprojs[k] != NULL; k++)
        {
          g_autofree char *path = g_build_filename (dir, cases[i].mmprojs[k], NULL);
          g_assert_true (g_file_set_contents (path, "", 0, NULL));
        }
      g_autofree char *found = td_qwen2vl_mmproj_for (llm);
      g_autofree char *base = found != NULL ? g_path_get_basename (found) : NULL;
      g_assert_cmpstr (base, ==, cases[i].expected);
      /* An mmproj is never a language model. */
      g_autofree char *first = cases[i].mmprojs[0] != NULL ? g_build_filename (dir, cases[i].mmprojs[0], NULL) : NULL;
      if (first != NULL)
        g_assert_null (td_qwen2vl_mmproj_for (first));
      td_test_remove_tree (dir);
    }
}

static const td_tensor *
qwen_q_proj (td_qwen2vl *model)
{
  td_error err = { 0 };
  const td_tensor *t = td_weights_get_host (td_qwen2vl_weights (model), "layers.0.self_attn.q_proj.weight", &err);
  if (t == NULL)
    g_error ("%s", err.message);
  return t;
}

static void
test_qwen2vl_loads_choice (void)
{
  if (!have_community ())
    return;
  td_error err = { 0 };
  td_qwen2vl *model = td_qwen2vl_load_chosen (qwen_dir, NULL, td_backend_host (), &err);
  if (model == NULL)
    g_error ("%s", err.message);
  g_assert_true (g_str_has_suffix (td_weights_path (td_qwen2vl_weights (model)), "/model.safetensors"));
  g_assert_cmpint (qwen_q_proj (model)->dtype, !=, TD_Q8_0);
  td_qwen2vl_free (model);

  model = td_qwen2vl_load_chosen (qwen_dir, qwen_q8, td_backend_host (), &err);
  if (model == NULL)
    g_error ("%s", err.message);
  g_assert_cmpint (qwen_q_proj (model)->dtype, ==, TD_Q8_0);
  td_qwen2vl_free (model);

  /* The chosen language model's mmproj lacks a tensor: the error names that file. */
  g_assert_null (td_qwen2vl_load_chosen (qwen_dir, qwen_broken, td_backend_host (), &err));
  g_assert_nonnull (strstr (err.message, "/mmproj-Qwen2-VL-Broken-f32.gguf"));
  g_assert_nonnull (strstr (err.message, "'v.blk.1.ln2.bias'"));
  td_error err2 = { 0 };
  g_assert_null (td_qwen2vl_load_chosen (qwen_dir, qwen_lonely, td_backend_host (), &err2));
  g_assert_nonnull (strstr (err2.message, "Qwen2-VL-Lonely-Q8_0.gguf: no mmproj"));
}

static void
test_qwen2vl_cache_follows_choice (void)
{
  if (!have_community ())
    return;
  td_error err = { 0 };
  td_model_cache *cache = td_model_cache_new (td_backend_host ());
  td_model_cache_set_keep (cache, true);
  td_qwen2vl *model = td_model_cache_qwen2vl (cache, qwen_dir, &err);
  g_assert_nonnull (model);
  g_assert_cmpint (qwen_q_proj (model)->dtype, !=, TD_Q8_0);
  const int loads = td_model_cache_loads (cache);
  /* Another part's choice leaves Qwen2-VL loaded. */
  td_model_cache_set_weight_file (cache, TD_WEIGHTS_FLUX, q8_file);
  g_assert_true (td_model_cache_qwen2vl (cache, qwen_dir, &err) == model);
  g_assert_cmpint (td_model_cache_loads (cache), ==, loads);

  td_model_cache_set_weight_file (cache, TD_WEIGHTS_QWEN2VL, qwen_q8);
  model = td_model_cache_qwen2vl (cache, qwen_dir, &err);
  g_assert_nonnull (model);
  g_assert_cmpint (qwen_q_proj (model)->dtype, ==, TD_Q8_0);
  g_assert_cmpint (td_model_cache_loads (cache), ==, loads + 1);
  td_model_cache_set_weight_file (cache, TD_WEIGHTS_QWEN2VL, qwen_q8);
  g_assert_true (td_model_cache_qwen2vl (cache, qwen_dir, &err) == model);
  g_assert_cmpint (td_model_cache_loads (cache), ==, loads + 1);

  td_model_cache_set_weight_file (cache, TD_WEIGHTS_QWEN2VL, qwen_lonely);
  g_assert_null (td_model_cache_qwen2vl (cache, qwen_dir, &err));
  g_assert_nonnull (strstr (err.message, "no mmproj"));
  td_model_cache_free (cache);
}

static void
test_eva_loads_choice (void)
{
  g_autoptr (GPtrArray) choices = td_weight_folder_choices (eva_dir);
  g_autofree char *names = choice_names (choices);
  g_assert_cmpstr (names, ==, "model.safetensors blip2-vision-Q8_0.gguf");
  td_error err = { 0 };
  /* The one matrix of the tiny tower whose rows are whole blocks of 32 (192 values). */
  static const char *const fc2 = "vision_model.encoder.layers.0.mlp.fc2.weight";
  td_eva_vision *eva = td_eva_vision_load_chosen (eva_dir, NULL, td_backend_host (), &err);
  if (eva == NULL)
    g_error ("%s", err.message);
  g_assert_cmpint (td_weights_get_host (td_eva_vision_weights (eva), fc2, &err)->dtype, !=, TD_Q8_0);
  td_eva_vision_free (eva);
  eva = td_eva_vision_load_chosen (eva_dir, eva_q8, td_backend_host (), &err);
  if (eva == NULL)
    g_error ("%s", err.message);
  g_assert_cmpint (td_weights_get_host (td_eva_vision_weights (eva), fc2, &err)->dtype, ==, TD_Q8_0);
  td_eva_vision_free (eva);

  g_assert_null (td_eva_vision_load_chosen (eva_dir, q8_file, td_backend_host (), &err));
  g_assert_nonnull (strstr (err.message, "not a BLIP-2 vision weight file"));

  td_model_cache *cache = td_model_cache_new (td_backend_host ());
  td_model_cache_set_keep (cache, true);
  g_assert_nonnull (td_model_cache_eva (cache, eva_dir, &err));
  const int loads = td_model_cache_loads (cache);
  td_model_cache_set_weight_file (cache, TD_WEIGHTS_EVA, eva_q8);
  eva = td_model_cache_eva (cache, eva_dir, &err);
  g_assert_nonnull (eva);
  g_assert_cmpint (td_model_cache_loads (cache), ==, loads + 1);
  g_assert_cmpint (td_weights_get_host (td_eva_vision_weights (eva), fc2, &err)->dtype, ==, TD_Q8_0);
  td_model_cache_free (cache);
}

/* make-community-ggufs.py's output in community_dir; NULL without python3. */
static void
write_community (void)
{
  community_dir = td_test_community_ggufs_new ("td-choice-gguf-XXXXXX");
  if (community_dir == NULL)
    return;
  qwen_dir = g_build_filename (community_dir, "qwen2_vl-choice", NULL);
  qwen_q8 = g_build_filename (qwen_dir, "Qwen2-VL-Golden-Q8_0.gguf", NULL);
  qwen_broken = g_build_filename (qwen_dir, "Qwen2-VL-Broken-F32.gguf", NULL);
  qwen_lonely = g_build_filename (qwen_dir, "Qwen2-VL-Lonely-Q8_0.gguf", NULL);
}

/* The golden BLIP-2 vision tower with a Q8_0 GGUF beside its checkpoint. */
static void
write_eva (void)
{
  td_error err = { 0 };
  g_autofree char *golden = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "blip2_vision", NULL);
  eva_dir = g_build_filename (demo_dir, "blip2-golden", NULL);
  g_assert_cmpint (g_mkdir (eva_dir, 0755), ==, 0);
  static const char *const names[] = { "config.json", "model.safetensors" };
  for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *from = g_build_filename (golden, names[i], NULL);
      g_autofree char *to = g_build_filename (eva_dir, names[i], NULL);
      g_assert_cmpint (symlink (from, to), ==, 0);
    }
  eva_q8 = g_build_filename (eva_dir, "blip2-vision-Q8_0.gguf", NULL);
  td_quantize_options options = { .type = "q8_0" };
  g_autofree char *checkpoint = g_build_filename (eva_dir, "model.safetensors", NULL);
  if (td_quantize (checkpoint, eva_q8, &options, NULL, &err) != TD_OK)
    g_error ("%s", err.message);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  td_error err = { 0 };
  demo_dir = td_test_demo_models ();
  flux_dir = g_build_filename (demo_dir, "flux-dev", NULL);
  g_autofree char *transformer = g_build_filename (flux_dir, "transformer", NULL);
  q8_file = g_build_filename (transformer, "flux1-dev-Q8_0.gguf", NULL);
  td_quantize_options options = { .type = "q8_0" };
  if (td_quantize (transformer, q8_file, &options, NULL, &err) != TD_OK)
    g_error ("%s", err.message);
  g_test_add_func ("/weight-choice/chosen-dtype", test_chosen_dtype);
  g_test_add_func ("/weight-choice/cache-follows-choice", test_cache_follows_choice);
  write_community ();
  write_eva ();
  g_test_add_func ("/weight-choice/qwen2vl/mmproj-names", test_mmproj_names);
  g_test_add_func ("/weight-choice/qwen2vl/choices", test_qwen2vl_choices);
  g_test_add_func ("/weight-choice/qwen2vl/loads-choice", test_qwen2vl_loads_choice);
  g_test_add_func ("/weight-choice/qwen2vl/cache-follows-choice", test_qwen2vl_cache_follows_choice);
  g_test_add_func ("/weight-choice/eva/loads-choice", test_eva_loads_choice);
  int status = g_test_run ();
  td_test_demo_models_remove ();
  if (community_dir != NULL)
    td_test_remove_tree (community_dir);
  g_free (community_dir);
  g_free (qwen_dir);
  g_free (qwen_q8);
  g_free (qwen_broken);
  g_free (qwen_lonely);
  g_free (eva_dir);
  g_free (eva_q8);
  g_free (flux_dir);
  g_free (q8_file);
  return status;
}
