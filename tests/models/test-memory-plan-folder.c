/* The planner's reading of a models folder (memory_plan_folder.c) against the
 * formulas of the built-in path: on the demo models, the values stored for FLUX and
 * T5 are the formulas' parameter counts, the repeated blocks found by name are the
 * configurations' layers, and a broken config or weight file is an error naming it;
 * llama.cpp's Qwen2-VL GGUF pair is measured as its loader reads it, and a chosen
 * weight file (a pair beside Qwen2-VL's checkpoint, a GGUF beside BLIP-2's) is what
 * is measured. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "pipeline/memory_plan.h"
#include "td-test-models.h"

static const char *demo_dir;

static td_status
models_of (const char *root, td_plan_mode mode, td_plan_models *models, td_error *err)
{
  td_model_paths paths = { 0 };
  g_assert_cmpint (td_model_paths_find (root, &paths, err), ==, TD_OK);
  td_status st = td_plan_models_from_paths (&paths, mode, NULL, models, err);
  td_model_paths_clear (&paths);
  return st;
}

static void
test_counts_match_formulas (void)
{
  td_error err = { 0 };
  td_plan_models m;
  g_assert_cmpint (models_of (demo_dir, TD_PLAN_CLIP, &m, &err), ==, TD_OK);
  const td_plan_stored *s = m.stored;
  g_assert_cmpuint (s[TD_PLAN_PART_FLUX].params, ==, td_plan_flux_params (&m.flux));
  g_assert_cmpuint (s[TD_PLAN_PART_T5].params, ==, td_plan_t5_params (&m.t5));
  g_assert_cmpint (s[TD_PLAN_PART_FLUX].blocks, ==, m.flux.num_layers + m.flux.num_single_layers);
  g_assert_cmpint (s[TD_PLAN_PART_T5].blocks, ==, m.t5.num_layers);
  g_assert_cmpint (s[TD_PLAN_PART_EVA].blocks, ==, m.eva.num_layers);
  /* The demo models are f32: four bytes a value. */
  g_assert_cmpuint (s[TD_PLAN_PART_FLUX].total, ==, 4 * s[TD_PLAN_PART_FLUX].params);
  for (int part = 0; part < TD_PLAN_PART_COUNT; part++)
    if (part != TD_PLAN_PART_QWEN2VL && part != TD_PLAN_PART_ALIGNER_LVLM)
      {
        g_assert_cmpuint (s[part].total, >, 0);
        g_assert_nonnull (s[part].files);
        g_assert_cmpuint (s[part].fixed + (uint64_t) s[part].blocks * s[part].block, >=, s[part].total);
        g_assert_cmpuint (s[part].fixed, <=, s[part].total);
        /* The VAE's up_blocks and an aligner's numbered layers are no block list. */
        const bool blocks = part != TD_PLAN_PART_VAE && part != TD_PLAN_PART_ALIGNER_CLIP;
        g_assert_cmpint (s[part].blocks > 0, ==, blocks);
        g_assert_cmpint (s[part].fixed < s[part].total, ==, blocks);
      }
  /* The aligners' sizes come from their weights. */
  g_assert_cmpint (m.aligner_clip_in, ==, m.eva.hidden_size);
  g_assert_cmpint (m.aligner_out, ==, m.t5.d_model);
  td_plan_models_clear (&m);

  g_assert_cmpint (models_of (demo_dir, TD_PLAN_LVLM, &m, &err), ==, TD_OK);
  g_assert_cmpint (m.stored[TD_PLAN_PART_QWEN2VL].blocks, ==, m.qwen2vl.vision.depth + m.qwen2vl.num_layers);
  g_assert_cmpint (m.aligner_lvlm_in, ==, m.qwen2vl.hidden_size);
  g_assert_cmpuint (m.stored[TD_PLAN_PART_T5].total, ==, 0); /* LVLM mode runs no T5 */
  td_plan_models_clear (&m);

  /* Planned with the stored weights, the FLUX stage holds exactly the file's bytes and
   * streams the largest block twice beside the rest. */
  g_assert_cmpint (models_of (demo_dir, TD_PLAN_T2I, &m, &err), ==, TD_OK);
  td_plan_request r = td_plan_request_default (TD_PLAN_T2I, 64, 64);
  r.use_stored = true;
  td_memory_plan plan;
  g_assert_cmpint (td_memory_plan_make (&m, &r, &plan, &err), ==, TD_OK);
  const td_plan_stage *flux = &plan.stage[1];
  g_assert_cmpstr (flux->name, ==, "flux transformer");
  g_assert_cmpuint (flux->weights, ==, m.stored[TD_PLAN_PART_FLUX].total);
  g_assert_cmpuint (flux->fixed_weights, ==, m.stored[TD_PLAN_PART_FLUX].fixed);
  g_assert_cmpuint (flux->streamed_peak, <, flux->weights + flux->activations + flux->workspace + flux->block_weights);
  g_assert_cmpstr (flux->files[0], ==, m.stored[TD_PLAN_PART_FLUX].files);
  td_plan_models_clear (&m);
}

/* Replaces path's contents. */
static void
overwrite (const char *path, const char *contents, gssize length)
{
  g_assert_true (g_file_set_contents (path, contents, length, NULL));
}

static void
test_bad_files (void)
{
  td_error err = { 0 };
  td_plan_models m;
  g_autofree char *broken = td_test_demo_models_new ("td-plan-folder-XXXXXX");

  g_autofree char *config = g_build_filename (broken, "flux-dev", "transformer", "config.json", NULL);
  g_autofree char *good_config = NULL;
  g_assert_true (g_file_get_contents (config, &good_config, NULL, NULL));
  overwrite (config, "{\"num_layers\": -3}", -1);
  g_assert_cmpint (models_of (broken, TD_PLAN_T2I, &m, &err), !=, TD_OK);
  g_assert_nonnull (strstr (err.message, "config.json"));
  g_assert_true (g_str_has_prefix (err.message, "plan: "));
  overwrite (config, good_config, -1);

  g_autofree char *vae = g_build_filename (broken, "flux-dev", "vae", "diffusion_pytorch_model.safetensors", NULL);
  overwrite (vae, "\x40\0\0\0\0\0\0\0{", 9);
  g_assert_cmpint (models_of (broken, TD_PLAN_T2I, &m, &err), !=, TD_OK);
  g_assert_nonnull (strstr (err.message, "diffusion_pytorch_model.safetensors"));

  g_autofree char *aligner = g_build_filename (broken, "thinkdiff-lvlm", NULL);
  td_test_remove_tree (aligner);
  g_assert_cmpint (models_of (broken, TD_PLAN_LVLM, &m, &err), ==, TD_ERR_NOT_FOUND);
  td_test_remove_tree (broken);
}

/* llama.cpp's Qwen2-VL pair (language model + mmproj GGUF) is measured as the loader
 * reads it: both files, the same values as the golden safetensors it was written
 * from; the golden aligner is a .pth. */
/* BLIP-2's vision tower: a Q8_0 GGUF beside the checkpoint is sized when chosen. */
static void
test_eva_choice (void)
{
  td_model_paths paths = { 0 };
  td_error err = { 0 };
  g_assert_cmpint (td_model_paths_find (demo_dir, &paths, &err), ==, TD_OK);
  const char *dir = paths.path[TD_PART_BLIP2_VISION];
  g_autofree char *q8 = g_build_filename (dir, "blip2-vision-Q8_0.gguf", NULL);
  g_autofree char *checkpoint = g_build_filename (dir, "model.safetensors", NULL);
  td_quantize_options options = { .type = "q8_0" };
  if (td_quantize (checkpoint, q8, &options, NULL, &err) != TD_OK)
    g_error ("%s", err.message);
  td_plan_models by_default, chosen_q8;
  if (td_plan_models_from_paths (&paths, TD_PLAN_CLIP, NULL, &by_default, &err) != TD_OK)
    g_error ("%s", err.message);
  td_weight_files chosen = { 0 };
  chosen.file[TD_WEIGHTS_EVA] = q8;
  if (td_plan_models_from_paths (&paths, TD_PLAN_CLIP, &chosen, &chosen_q8, &err) != TD_OK)
    g_error ("%s", err.message);
  g_assert_cmpstr (by_default.stored[TD_PLAN_PART_EVA].files, ==, checkpoint);
  g_assert_cmpstr (chosen_q8.stored[TD_PLAN_PART_EVA].files, ==, q8);
  g_assert_cmpuint (chosen_q8.stored[TD_PLAN_PART_EVA].params, ==, by_default.stored[TD_PLAN_PART_EVA].params);
  g_assert_cmpuint (chosen_q8.stored[TD_PLAN_PART_EVA].total, <, by_default.stored[TD_PLAN_PART_EVA].total);
  td_plan_models_clear (&by_default);
  td_plan_models_clear (&chosen_q8);
  g_unlink (q8);
  td_model_paths_clear (&paths);
}

static void
test_qwen2vl_gguf_pair (void)
{
  g_autofree char *out = td_test_community_ggufs_new ("td-plan-gguf-XXXXXX");
  if (out == NULL)
    {
      g_test_skip ("no python3 for make-community-ggufs.py");
      return;
    }
  g_autofree char *golden = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", NULL);

  td_model_paths paths = { 0 };
  td_error err = { 0 };
  g_assert_cmpint (td_model_paths_find (demo_dir, &paths, &err), ==, TD_OK);
  g_free (paths.path[TD_PART_QWEN2VL]);
  g_free (paths.path[TD_PART_ALIGNER_LVLM]);
  paths.path[TD_PART_QWEN2VL] = g_build_filename (out, "qwen2_vl", NULL);
  paths.path[TD_PART_ALIGNER_LVLM] = g_build_filename (out, "qwen2_vl", "thinkdiff_lvlm_aligner.pth", NULL);
  td_plan_models m;
  if (td_plan_models_from_paths (&paths, TD_PLAN_LVLM, NULL, &m, &err) != TD_OK)
    g_error ("%s", err.message);
  const td_plan_stored *qwen = &m.stored[TD_PLAN_PART_QWEN2VL];
  g_assert_nonnull (strstr (qwen->files, ".gguf; "));
  g_assert_nonnull (strstr (qwen->files, "mmproj"));
  g_assert_cmpint (qwen->blocks, ==, m.qwen2vl.vision.depth + m.qwen2vl.num_layers);

  td_model_paths safetensors = paths;
  g_autofree char *golden_qwen = g_build_filename (golden, "qwen2_vl", NULL);
  safetensors.path[TD_PART_QWEN2VL] = golden_qwen;
  td_plan_models from_safetensors;
  if (td_plan_models_from_paths (&safetensors, TD_PLAN_LVLM, NULL, &from_safetensors, &err) != TD_OK)
    g_error ("%s", err.message);
  g_assert_cmpuint (qwen->params, ==, from_safetensors.stored[TD_PLAN_PART_QWEN2VL].params);

  /* The aligner: two linears with biases and a norm, read off the .pth. */
  const uint64_t in = (uint64_t) m.aligner_lvlm_in, d = (uint64_t) m.aligner_out;
  g_assert_cmpuint (m.stored[TD_PLAN_PART_ALIGNER_LVLM].params, ==, in * d + d + d * d + d + d);

  /* A folder holding the checkpoint and GGUF pairs: the checkpoint by default, the
   * chosen pair (Q8_0: 34 bytes a block of 32 values) when chosen, the same parameters. */
  td_model_paths both = paths;
  g_autofree char *choice_dir = g_build_filename (out, "qwen2_vl-choice", NULL);
  g_autofree char *q8 = g_build_filename (choice_dir, "Qwen2-VL-Golden-Q8_0.gguf", NULL);
  both.path[TD_PART_QWEN2VL] = choice_dir;
  td_plan_models by_default, chosen_pair;
  if (td_plan_models_from_paths (&both, TD_PLAN_LVLM, NULL, &by_default, &err) != TD_OK)
    g_error ("%s", err.message);
  g_assert_true (g_str_has_suffix (by_default.stored[TD_PLAN_PART_QWEN2VL].files, "qwen2_vl-choice/model.safetensors"));
  g_assert_cmpuint (by_default.stored[TD_PLAN_PART_QWEN2VL].total, ==,
                    from_safetensors.stored[TD_PLAN_PART_QWEN2VL].total);
  td_weight_files chosen = { 0 };
  chosen.file[TD_WEIGHTS_QWEN2VL] = q8;
  if (td_plan_models_from_paths (&both, TD_PLAN_LVLM, &chosen, &chosen_pair, &err) != TD_OK)
    g_error ("%s", err.message);
  const td_plan_stored *pair = &chosen_pair.stored[TD_PLAN_PART_QWEN2VL];
  g_assert_true (g_str_has_prefix (pair->files, q8));
  g_assert_nonnull (strstr (pair->files, "; "));
  g_assert_nonnull (strstr (pair->files, "mmproj-Qwen2-VL-Golden-f32.gguf"));
  g_assert_cmpuint (pair->params, ==, from_safetensors.stored[TD_PLAN_PART_QWEN2VL].params);
  g_assert_cmpuint (pair->total, <, by_default.stored[TD_PLAN_PART_QWEN2VL].total);
  g_assert_cmpint (pair->blocks, ==, m.qwen2vl.vision.depth + m.qwen2vl.num_layers);
  /* Without its mmproj a language model is refused, naming it. */
  g_autofree char *lonely = g_build_filename (choice_dir, "Qwen2-VL-Lonely-Q8_0.gguf", NULL);
  chosen.file[TD_WEIGHTS_QWEN2VL] = lonely;
  td_plan_models none;
  g_assert_cmpint (td_plan_models_from_paths (&both, TD_PLAN_LVLM, &chosen, &none, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, lonely));
  g_assert_nonnull (strstr (err.message, "no mmproj"));
  td_plan_models_clear (&by_default);
  td_plan_models_clear (&chosen_pair);
  td_plan_models_clear (&from_safetensors);
  td_plan_models_clear (&m);
  td_model_paths_clear (&paths);
  td_test_remove_tree (out);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  demo_dir = td_test_demo_models ();
  g_test_add_func ("/memory-plan-folder/counts", test_counts_match_formulas);
  g_test_add_func ("/memory-plan-folder/bad-files", test_bad_files);
  g_test_add_func ("/memory-plan-folder/qwen2vl-gguf-pair", test_qwen2vl_gguf_pair);
  g_test_add_func ("/memory-plan-folder/eva-choice", test_eva_choice);
  int status = g_test_run ();
  td_test_demo_models_remove ();
  return status;
}
