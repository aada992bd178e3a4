/* Choosing a weight file per model part through the public API alone: the demo
 * models folder with a Q8_0 GGUF of the FLUX transformer written next to its
 * config.json, and one of Qwen2-VL next to its checkpoint. The choices list each
 * after the default; choosing it changes what the plan sizes and what a run loads
 * (another image, the kept models freed); going back to the default gives the
 * default's plan and image; a file of another part is refused naming it. With
 * python3, a models folder whose Qwen2-VL folder holds the golden checkpoint and
 * llama.cpp GGUF pairs (make-community-ggufs.py's qwen2_vl-choice) offers the
 * checkpoint and each language model with its mmproj, and plans the chosen pair. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "thinkdiff.h"
#include "td-test-engine.h"
#include "td-test-models.h"

static const char *demo_dir;
static char *flux_dir, *q8_file, *qwen_q8;

static void
write_models (void)
{
  td_error err = { 0 };
  demo_dir = td_test_demo_models ();
  flux_dir = g_build_filename (demo_dir, "flux-dev", NULL);
  g_autofree char *transformer = g_build_filename (flux_dir, "transformer", NULL);
  q8_file = g_build_filename (transformer, "flux1-dev-Q8_0.gguf", NULL);
  td_quantize_options options = { .type = "q8_0" };
  td_quantize_report report = { 0 };
  if (td_quantize (transformer, q8_file, &options, &report, &err) != TD_OK)
    g_error ("quantize: %s", err.message);
  g_assert_cmpuint (report.n_quantized, >, 0);
  g_autofree char *qwen_dir = g_build_filename (demo_dir, "qwen2-vl-7b-instruct", NULL);
  g_autofree char *qwen_checkpoint = g_build_filename (qwen_dir, "model.safetensors", NULL);
  qwen_q8 = g_build_filename (qwen_dir, "qwen2-vl-Q8_0.gguf", NULL);
  if (td_quantize (qwen_checkpoint, qwen_q8, &options, &report, &err) != TD_OK)
    g_error ("quantize: %s", err.message);
  g_assert_cmpuint (report.n_quantized, >, 0);
}

static void
test_part_names (void)
{
  for (int i = 0; i < TD_WEIGHTS_COUNT; i++)
    {
      td_weight_part part = TD_WEIGHTS_COUNT;
      g_assert_true (td_weight_part_parse (td_weight_part_name ((td_weight_part) i), &part));
      g_assert_cmpint (part, ==, i);
    }
  td_weight_part part;
  g_assert_false (td_weight_part_parse ("qwen", &part));
  g_assert_false (td_weight_part_parse (NULL, &part));
  g_assert_null (td_weight_part_name (TD_WEIGHTS_COUNT));
}

/* The transformer folder first (the default), then the GGUF; T5 has one choice. */
static void
test_choices (void)
{
  td_error err = { 0 };
  char **flux = td_models_weight_choices (demo_dir, TD_WEIGHTS_FLUX, &err);
  g_assert_nonnull (flux);
  g_assert_cmpuint (g_strv_length (flux), ==, 2);
  g_assert_true (g_str_has_suffix (flux[0], "flux-dev/transformer"));
  g_assert_cmpstr (flux[1], ==, q8_file);
  td_strv_free (flux);
  char **t5 = td_models_weight_choices (demo_dir, TD_WEIGHTS_T5, &err);
  g_assert_cmpuint (g_strv_length (t5), ==, 1);
  g_assert_true (g_str_has_suffix (t5[0], "text_encoder_2"));
  td_strv_free (t5);

  g_assert_cmpint (td_models_check_weight_file (demo_dir, TD_WEIGHTS_FLUX, q8_file, &err), ==, TD_OK);
  /* The GGUF holds the transformer, not T5; a missing file is not found. */
  g_assert_cmpint (td_models_check_weight_file (demo_dir, TD_WEIGHTS_T5, q8_file, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, q8_file));
  g_assert_nonnull (strstr (err.message, "not a T5-XXL weight file"));
  g_autofree char *missing = g_build_filename (flux_dir, "flux1-dev-Q4_K.gguf", NULL);
  g_assert_cmpint (td_models_check_weight_file (demo_dir, TD_WEIGHTS_FLUX, missing, &err), ==, TD_ERR_NOT_FOUND);
  g_assert_nonnull (strstr (err.message, missing));

  g_autofree char *empty = g_dir_make_tmp ("td-weights-empty-XXXXXX", NULL);
  char **none = td_models_weight_choices (empty, TD_WEIGHTS_FLUX, &err);
  g_assert_nonnull (none);
  g_assert_cmpuint (g_strv_length (none), ==, 0);
  td_strv_free (none);
  g_rmdir (empty);
}

static td_board *
board_of (td_board_mode mode)
{
  return td_test_board_new (mode, "a lighthouse", 5, 0);
}

static td_board *
demo_board (void)
{
  return board_of (TD_BOARD_CLIP);
}

/* The weight bytes of the stage named stage and the file it was sized from. */
static uint64_t
stage_weights (td_engine *engine, const td_board *board, const td_model_paths *paths, const char *stage,
               char **file)
{
  td_error err = { 0 };
  td_plan *plan = td_engine_plan (engine, board, paths, &err);
  if (plan == NULL)
    g_error ("plan: %s", err.message);
  td_plan_stage_info info;
  uint64_t weights = 0;
  for (int i = 0; td_plan_stage_at (plan, i, &info); i++)
    if (strcmp (info.name, stage) == 0)
      {
        weights = info.weights;
        *file = g_strdup (info.files);
      }
  td_plan_free (plan);
  g_assert_cmpuint (weights, >, 0);
  return weights;
}

static uint64_t
transformer_weights (td_engine *engine, const td_board *board, const td_model_paths *paths, char **file)
{
  return stage_weights (engine, board, paths, "flux transformer", file);
}

/* Q8_0 is 34 bytes a block of 32 against 4 bytes a value in the demo's f32. */
static void
test_plan_sizes_choice (void)
{
  td_error err = { 0 };
  td_model_paths paths = { 0 };
  g_assert_cmpint (td_model_paths_find (demo_dir, &paths, &err), ==, TD_OK);
  td_board *board = demo_board ();
  td_engine *engine = td_test_engine_new ("cpu", 0);
  g_autofree char *default_file = NULL, *q8_sized = NULL, *back_file = NULL;
  const uint64_t by_default = transformer_weights (engine, board, &paths, &default_file);
  g_assert_true (g_str_has_suffix (default_file, "transformer"));

  g_assert_cmpint (td_engine_set_weight_file (engine, TD_WEIGHTS_FLUX, q8_file, &err), ==, TD_OK);
  g_assert_cmpstr (td_engine_get_weight_file (engine, TD_WEIGHTS_FLUX), ==, q8_file);
  const uint64_t q8 = transformer_weights (engine, board, &paths, &q8_sized);
  g_assert_cmpstr (q8_sized, ==, q8_file);
  g_assert_cmpuint (q8, <, by_default / 2);

  /* td_plan_new with the choice in its options agrees. */
  td_plan_options options = td_plan_options_default (TD_PLAN_CLIP);
  options.width = options.height = 64;
  options.weight_file[TD_WEIGHTS_FLUX] = q8_file;
  td_plan *plan = td_plan_new (demo_dir, &options, &err);
  g_assert_nonnull (plan);
  td_plan_stage_info info;
  bool seen = false;
  for (int i = 0; td_plan_stage_at (plan, i, &info); i++)
    if (strcmp (info.name, "flux transformer") == 0)
      {
        g_assert_cmpuint (info.weights, ==, q8);
        seen = true;
      }
  g_assert_true (seen);
  td_plan_free (plan);

  g_assert_cmpint (td_engine_set_weight_file (engine, TD_WEIGHTS_FLUX, NULL, &err), ==, TD_OK);
  g_assert_null (td_engine_get_weight_file (engine, TD_WEIGHTS_FLUX));
  g_assert_cmpuint (transformer_weights (engine, board, &paths, &back_file), ==, by_default);
  g_assert_cmpint (td_engine_set_weight_file (engine, TD_WEIGHTS_COUNT, q8_file, &err), ==, TD_ERR_INVALID_ARG);

  td_engine_free (engine);
  td_board_free (board);
  td_model_paths_clear (&paths);
}

static td_output *
run (td_engine *engine, const td_board *board, const td_model_paths *paths)
{
  td_error err = { 0 };
  td_generate_callbacks callbacks = { 0 };
  td_output *out = NULL;
  if (td_engine_generate (engine, board, paths, &callbacks, &out, &err) != TD_OK)
    g_error ("generate: %s", err.message);
  return out;
}

static bool
same_image (const td_output *a, const td_output *b)
{
  const td_image *x = td_output_image (a), *y = td_output_image (b);
  return x->width == y->width && x->height == y->height
         && memcmp (x->rgb, y->rgb, (size_t) x->width * x->height * 3) == 0;
}

/* The models are kept between runs (they all fit); a new choice frees FLUX and the
 * text encoders, the run loads the Q8_0 transformer and paints another image; the
 * default again paints the default's image. */
static void
test_run_loads_choice (void)
{
  td_error err = { 0 };
  td_model_paths paths = { 0 };
  g_assert_cmpint (td_model_paths_find (demo_dir, &paths, &err), ==, TD_OK);
  td_board *board = demo_board ();
  td_engine *engine = td_test_engine_new ("cpu", 0);
  td_output *by_default = run (engine, board, &paths);
  const int loads = td_engine_model_loads (engine);
  td_output *again = run (engine, board, &paths);
  g_assert_cmpint (td_engine_model_loads (engine), ==, loads);
  g_assert_true (same_image (by_default, again));

  g_assert_cmpint (td_engine_set_weight_file (engine, TD_WEIGHTS_FLUX, q8_file, &err), ==, TD_OK);
  td_output *q8 = run (engine, board, &paths);
  g_assert_cmpint (td_engine_model_loads (engine), >, loads);
  g_assert_false (same_image (by_default, q8));

  g_assert_cmpint (td_engine_set_weight_file (engine, TD_WEIGHTS_FLUX, NULL, &err), ==, TD_OK);
  td_output *back = run (engine, board, &paths);
  g_assert_true (same_image (by_default, back));

  /* A file of another part: the run fails naming it. */
  g_autofree char *vae = g_build_filename (flux_dir, "vae", NULL);
  g_assert_cmpint (td_engine_set_weight_file (engine, TD_WEIGHTS_FLUX, vae, &err), ==, TD_OK);
  td_output *none = NULL;
  td_generate_callbacks callbacks = { 0 };
  g_assert_cmpint (td_engine_generate (engine, board, &paths, &callbacks, &none, &err), !=, TD_OK);
  g_assert_null (none);
  g_assert_nonnull (strstr (err.message, vae));
  g_assert_nonnull (strstr (err.message, "not a FLUX transformer weight file"));

  td_output_free (by_default);
  td_output_free (again);
  td_output_free (q8);
  td_output_free (back);
  td_engine_free (engine);
  td_board_free (board);
  td_model_paths_clear (&paths);
}

/* Qwen2-VL: the checkpoint first (the default), then the Q8_0 GGUF beside it. */
static void
test_qwen2vl_choices (void)
{
  td_error err = { 0 };
  char **qwen = td_models_weight_choices (demo_dir, TD_WEIGHTS_QWEN2VL, &err);
  g_assert_nonnull (qwen);
  g_assert_cmpuint (g_strv_length (qwen), ==, 2);
  g_assert_true (g_str_has_suffix (qwen[0], "qwen2-vl-7b-instruct/model.safetensors"));
  g_assert_cmpstr (qwen[1], ==, qwen_q8);
  td_strv_free (qwen);
  g_assert_cmpint (td_models_check_weight_file (demo_dir, TD_WEIGHTS_QWEN2VL, qwen_q8, &err), ==, TD_OK);
  g_assert_cmpint (td_models_check_weight_file (demo_dir, TD_WEIGHTS_QWEN2VL, q8_file, &err), ==,
                   TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, q8_file));
  g_assert_nonnull (strstr (err.message, "not a Qwen2-VL weight file"));
  g_assert_cmpint (td_models_check_weight_file (demo_dir, TD_WEIGHTS_FLUX, qwen_q8, &err), ==, TD_ERR_INVALID_ARG);
  /* The demo's BLIP-2 folder holds one file: one choice. */
  char **eva = td_models_weight_choices (demo_dir, TD_WEIGHTS_EVA, &err);
  g_assert_cmpuint (g_strv_length (eva), ==, 1);
  td_strv_free (eva);
}

static td_board *
lvlm_board (void)
{
  td_board *board = board_of (TD_BOARD_LVLM);
  td_board_settings s = td_board_get_settings (board);
  s.max_new_tokens = 6;
  td_board_set_settings (board, &s);
  return board;
}

/* The plan sizes the chosen Qwen2-VL file and the run loads it: another image, the
 * default's again after going back. */
static void
test_qwen2vl_run_loads_choice (void)
{
  td_error err = { 0 };
  td_model_paths paths = { 0 };
  g_assert_cmpint (td_model_paths_find (demo_dir, &paths, &err), ==, TD_OK);
  td_board *board = lvlm_board ();
  td_engine *engine = td_test_engine_new ("cpu", 0);
  g_autofree char *default_file = NULL, *q8_sized = NULL;
  const uint64_t by_default = stage_weights (engine, board, &paths, "qwen2-vl", &default_file);
  g_assert_true (g_str_has_suffix (default_file, "model.safetensors"));
  td_output *first = run (engine, board, &paths);
  const int loads = td_engine_model_loads (engine);

  g_assert_cmpint (td_engine_set_weight_file (engine, TD_WEIGHTS_QWEN2VL, qwen_q8, &err), ==, TD_OK);
  const uint64_t q8 = stage_weights (engine, board, &paths, "qwen2-vl", &q8_sized);
  g_assert_cmpstr (q8_sized, ==, qwen_q8);
  g_assert_cmpuint (q8, <, by_default);
  td_output *chosen = run (engine, board, &paths);
  g_assert_cmpint (td_engine_model_loads (engine), >, loads);
  g_assert_false (same_image (first, chosen));

  g_assert_cmpint (td_engine_set_weight_file (engine, TD_WEIGHTS_QWEN2VL, NULL, &err), ==, TD_OK);
  td_output *back = run (engine, board, &paths);
  g_assert_true (same_image (first, back));

  td_output_free (first);
  td_output_free (chosen);
  td_output_free (back);
  td_engine_free (engine);
  td_board_free (board);
  td_model_paths_clear (&paths);
}

/* A models folder like the demo's with its Qwen2-VL folder replaced by make-community-ggufs.py's
 * qwen2_vl-choice and its LVLM aligner by the golden one (NULL without python3). */
static char *
write_pairs_folder (char **community)
{
  *community = td_test_community_ggufs_new ("td-weights-gguf-XXXXXX");
  if (*community == NULL)
    return NULL;
  char *models = g_build_filename (*community, "models", NULL);
  g_assert_cmpint (g_mkdir (models, 0755), ==, 0);
  g_autoptr (GDir) dir = g_dir_open (demo_dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *link = g_build_filename (models, name, NULL);
      g_autofree char *target = strcmp (name, "qwen2-vl-7b-instruct") == 0
                                  ? g_build_filename (*community, "qwen2_vl-choice", NULL)
                                  : g_build_filename (demo_dir, name, NULL);
      if (strcmp (name, "thinkdiff-lvlm") == 0)
        {
          /* The golden Qwen2-VL's aligner in place of the demo's. */
          g_assert_cmpint (g_mkdir (link, 0755), ==, 0);
          g_autofree char *to = g_build_filename (link, "thinkdiff_lvlm.pth", NULL);
          g_autofree char *from = g_build_filename (*community, "qwen2_vl-choice", "thinkdiff_lvlm_aligner.pth", NULL);
          g_assert_cmpint (symlink (from, to), ==, 0);
        }
      else
        g_assert_cmpint (symlink (target, link), ==, 0);
    }
  return models;
}

static void
test_qwen2vl_gguf_pairs (void)
{
  g_autofree char *community = NULL;
  g_autofree char *models = write_pairs_folder (&community);
  if (models == NULL)
    {
      g_test_skip ("no python3 for make-community-ggufs.py");
      return;
    }
  td_error err = { 0 };
  char **qwen = td_models_weight_choices (models, TD_WEIGHTS_QWEN2VL, &err);
  g_assert_nonnull (qwen);
  g_assert_cmpuint (g_strv_length (qwen), ==, 3);
  g_assert_true (g_str_has_suffix (qwen[0], "/model.safetensors"));
  g_assert_true (g_str_has_suffix (qwen[1], "/Qwen2-VL-Broken-F32.gguf"));
  g_assert_true (g_str_has_suffix (qwen[2], "/Qwen2-VL-Golden-Q8_0.gguf"));
  g_autofree char *pair = g_strdup (qwen[2]);
  td_strv_free (qwen);

  g_autofree char *lonely = g_build_filename (models, "qwen2-vl-7b-instruct", "Qwen2-VL-Lonely-Q8_0.gguf", NULL);
  g_assert_cmpint (td_models_check_weight_file (models, TD_WEIGHTS_QWEN2VL, lonely, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, lonely));
  g_assert_nonnull (strstr (err.message, "no mmproj"));

  /* The plan sizes the pair: both files named, fewer bytes than the f32 checkpoint. */
  uint64_t weights[2] = { 0 };
  for (int chosen = 0; chosen < 2; chosen++)
    {
      td_plan_options options = td_plan_options_default (TD_PLAN_LVLM);
      options.width = options.height = 64;
      options.weight_file[TD_WEIGHTS_QWEN2VL] = chosen ? pair : NULL;
      td_plan *plan = td_plan_new (models, &options, &err);
      if (plan == NULL)
        g_error ("%s", err.message);
      td_plan_stage_info info;
      for (int i = 0; td_plan_stage_at (plan, i, &info); i++)
        if (strcmp (info.name, "qwen2-vl") == 0)
          {
            weights[chosen] = info.weights;
            g_assert_nonnull (strstr (info.files, chosen ? "Qwen2-VL-Golden-Q8_0.gguf; " : "model.safetensors"));
            if (chosen)
              g_assert_nonnull (strstr (info.files, "mmproj-Qwen2-VL-Golden-f32.gguf"));
          }
      td_plan_free (plan);
    }
  g_assert_cmpuint (weights[1], >, 0);
  g_assert_cmpuint (weights[1], <, weights[0]);

  /* A language model without its mmproj: the plan fails naming it. */
  td_plan_options options = td_plan_options_default (TD_PLAN_LVLM);
  options.weight_file[TD_WEIGHTS_QWEN2VL] = lonely;
  g_assert_null (td_plan_new (models, &options, &err));
  g_assert_nonnull (strstr (err.message, lonely));
  g_assert_nonnull (strstr (err.message, "no mmproj"));
  td_test_remove_tree (community);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  write_models ();
  g_test_add_func ("/weights/part-names", test_part_names);
  g_test_add_func ("/weights/choices", test_choices);
  g_test_add_func ("/weights/plan-sizes-choice", test_plan_sizes_choice);
  g_test_add_func ("/weights/run-loads-choice", test_run_loads_choice);
  g_test_add_func ("/weights/qwen2vl/choices", test_qwen2vl_choices);
  g_test_add_func ("/weights/qwen2vl/run-loads-choice", test_qwen2vl_run_loads_choice);
  g_test_add_func ("/weights/qwen2vl/gguf-pairs", test_qwen2vl_gguf_pairs);
  int status = g_test_run ();
  td_test_demo_models_remove ();
  g_free (flux_dir);
  g_free (q8_file);
  g_free (qwen_q8);
  return status;
}
