/* The memory plan and model residency through the public API alone (thinkdiff.h,
 * libthinkdiff): plans of the real configurations and of the demo models folder,
 * the two agreeing; an engine keeping its models between generations when the plan
 * says they fit, with images equal to a fresh engine's, and loading again after a
 * budget change or when they do not fit. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "thinkdiff.h"
#include "td-test-engine.h"
#include "td-test-models.h"

#define GIB (1024.0 * 1024.0 * 1024.0)

static const td_plan_stage_info *
stage_named (const td_plan *plan, const char *name, td_plan_stage_info *info)
{
  for (int i = 0; td_plan_stage_at (plan, i, info); i++)
    if (strcmp (info->name, name) == 0)
      return info;
  g_error ("no stage '%s' in the plan", name);
  return NULL;
}

/* The real configurations at 1024²: Q4_K fits 8 GiB one stage at a time; Q8_0 under
 * 12 GiB streams the FLUX transformer (its weights alone are 11.8 GiB); at bf16
 * Qwen2-VL, which is not streamed, does not fit; the summary and the table say so. */
static void
test_builtin (void)
{
  td_error err = { 0 };
  td_plan_options options = td_plan_options_default (TD_PLAN_LVLM);
  options.weights = "q4_k";
  options.budget = (uint64_t) (8 * GIB);
  td_plan *plan = td_plan_new (NULL, &options, &err);
  g_assert_nonnull (plan);
  g_assert_true (td_plan_fits (plan));
  g_assert_cmpint (td_plan_get_strategy (plan), ==, TD_PLAN_STAGE_BY_STAGE);
  g_assert_cmpint (td_plan_stage_count (plan), ==, 5);
  td_plan_stage_info info;
  for (int i = 0; td_plan_stage_at (plan, i, &info); i++)
    {
      g_assert_cmpuint (info.planned, <=, options.budget);
      g_assert_cmpuint (info.planned, ==, info.peak);
      g_assert_cmpuint (info.peak, ==, info.weights + info.activations + info.workspace);
      g_assert_null (info.files);
    }
  g_assert_false (td_plan_stage_at (plan, 5, &info));
  g_assert_false (td_plan_stage_at (plan, -1, &info));
  g_assert_cmpuint (td_plan_budget (plan), ==, options.budget);
  g_assert_cmpuint (td_plan_peak (plan), <=, options.budget);
  g_assert_cmpuint (td_plan_resident_peak (plan), >, options.budget);
  char *summary = td_plan_summary (plan);
  g_assert_true (g_str_has_prefix (summary, "Needs about "));
  /* The cap in the GiB it was given in, as the table's. */
  g_assert_nonnull (strstr (summary, " GiB of 8.0 GiB — one stage at a time"));
  td_free (summary);
  char *table = td_plan_table (plan);
  g_assert_nonnull (strstr (table, "qwen2-vl"));
  g_assert_nonnull (strstr (table, "strategy: stage by stage"));
  td_free (table);
  td_plan_free (plan);

  options.weights = "q8_0";
  options.budget = (uint64_t) (12 * GIB);
  plan = td_plan_new (NULL, &options, &err);
  g_assert_cmpint (td_plan_get_strategy (plan), ==, TD_PLAN_STREAMED);
  g_assert_cmpint (stage_named (plan, "flux transformer", &info)->strategy, ==, TD_PLAN_STREAMED);
  g_assert_cmpuint (info.planned, <, info.peak);
  /* FLUX Q8_0 nearly fits 12 GiB: only a few of its 57 blocks stream. */
  g_assert_cmpint (info.blocks, ==, 57);
  g_assert_cmpint (info.resident_blocks, >=, 47);
  g_assert_cmpint (info.resident_blocks, <, 57);
  g_assert_cmpuint (td_plan_peak (plan), <=, options.budget);
  table = td_plan_table (plan);
  g_autofree char *kept = g_strdup_printf ("(%d of 57 blocks resident)", info.resident_blocks);
  g_assert_nonnull (strstr (table, kept));
  td_free (table);
  summary = td_plan_summary (plan);
  g_assert_nonnull (strstr (summary, "weights streamed block by block"));
  td_free (summary);
  td_plan_free (plan);

  /* bf16: FLUX and Qwen2-VL (16 GiB) both stream, keeping some blocks; so at 8 GiB. */
  options.weights = "bf16";
  for (int gib = 12; gib >= 8; gib -= 4)
    {
      options.budget = (uint64_t) (gib * GIB);
      plan = td_plan_new (NULL, &options, &err);
      g_assert_true (td_plan_fits (plan));
      g_assert_cmpuint (td_plan_peak (plan), <=, options.budget);
      g_assert_cmpint (stage_named (plan, "flux transformer", &info)->strategy, ==, TD_PLAN_STREAMED);
      g_assert_cmpint (stage_named (plan, "qwen2-vl", &info)->strategy, ==, TD_PLAN_STREAMED);
      g_assert_cmpint (info.blocks, ==, 60);
      g_assert_cmpint (info.resident_blocks, >, 0);
      g_assert_cmpint (info.resident_blocks, <, 60);
      /* Stages that stream no blocks report none. */
      g_assert_cmpint (stage_named (plan, "vae decode", &info)->blocks, ==, 0);
      td_plan_free (plan);
    }

  /* Without a cap everything stays resident; the peak is all weights together. */
  options.budget = 0;
  options.weights = NULL;
  plan = td_plan_new (NULL, &options, &err);
  g_assert_cmpint (td_plan_get_strategy (plan), ==, TD_PLAN_ALL_RESIDENT);
  g_assert_cmpuint (td_plan_peak (plan), ==, td_plan_resident_peak (plan));
  summary = td_plan_summary (plan);
  g_assert_nonnull (strstr (summary, "— all models kept loaded"));
  g_assert_null (strstr (summary, " of "));
  td_free (summary);
  td_plan_free (plan);

  options.budget = 1 << 20;
  plan = td_plan_new (NULL, &options, &err);
  g_assert_false (td_plan_fits (plan));
  g_assert_cmpint (td_plan_get_strategy (plan), ==, TD_PLAN_DOES_NOT_FIT);
  td_plan_free (plan);
}

static void
test_bad_requests (void)
{
  td_error err = { 0 };
  td_plan_options options = td_plan_options_default (TD_PLAN_T2I);
  options.weights = "q4_k_m";
  g_assert_null (td_plan_new (NULL, &options, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "q4_k_m"));
  options = td_plan_options_default (TD_PLAN_T2I);
  options.width = 1000;
  g_assert_null (td_plan_new (NULL, &options, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_INVALID_ARG);
  options = td_plan_options_default ((td_plan_mode) 7);
  g_assert_null (td_plan_new (NULL, &options, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_INVALID_ARG);
  g_assert_null (td_plan_new (NULL, NULL, &err));

  /* A folder without the models a mode needs: the error names what is missing. */
  g_autofree char *empty = g_dir_make_tmp ("td-plan-empty-XXXXXX", NULL);
  options = td_plan_options_default (TD_PLAN_LVLM);
  g_assert_null (td_plan_new (empty, &options, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_NOT_FOUND);
  g_assert_nonnull (strstr (err.message, "plan"));
  g_rmdir (empty);

  td_plan_mode mode;
  g_assert_true (td_plan_mode_parse ("clip", &mode));
  g_assert_cmpint (mode, ==, TD_PLAN_CLIP);
  g_assert_false (td_plan_mode_parse ("video", &mode));
  g_assert_false (td_plan_mode_parse (NULL, &mode));
  g_assert_cmpstr (td_plan_mode_name (TD_PLAN_T2I), ==, "t2i");
  g_assert_cmpstr (td_plan_strategy_name (TD_PLAN_VAE_TILED), ==, "VAE tiled");
  td_plan_free (NULL);
}

/* The tensor bytes of the safetensors files under path (a file or a folder,
 * recursively): each file less its 8-byte length and JSON header. */
static uint64_t
tensor_bytes (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      uint64_t total = 0;
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          total += tensor_bytes (child);
        }
      return total;
    }
  if (!g_str_has_suffix (path, ".safetensors"))
    return 0;
  g_autofree char *data = NULL;
  gsize size = 0;
  g_assert_true (g_file_get_contents (path, &data, &size, NULL));
  g_assert_cmpuint (size, >=, 8);
  uint64_t header = 0;
  for (int i = 7; i >= 0; i--)
    header = header << 8 | (uint8_t) data[i];
  g_assert_cmpuint (8 + header, <=, size);
  return size - 8 - header;
}

/* The demo models folder, in every mode: each stage's weights are exactly its files'
 * tensor bytes; everything fits together without a cap; the same configurations
 * through the formulas (--weights given) plan the same activations and workspace. */
static void
test_models_folder (void)
{
  td_error err = { 0 };
  const td_plan_mode modes[] = { TD_PLAN_LVLM, TD_PLAN_CLIP, TD_PLAN_T2I };
  for (gsize m = 0; m < G_N_ELEMENTS (modes); m++)
    {
      td_plan_options options = td_plan_options_default (modes[m]);
      options.width = options.height = 64;
      td_plan *stored = td_plan_new (td_test_demo_models (), &options, &err);
      if (stored == NULL)
        g_error ("%s", err.message);
      g_assert_cmpint (td_plan_get_strategy (stored), ==, TD_PLAN_ALL_RESIDENT);
      options.weights = "f32";
      td_plan *computed = td_plan_new (td_test_demo_models (), &options, &err);
      g_assert_nonnull (computed);
      g_assert_cmpint (td_plan_stage_count (stored), ==, td_plan_stage_count (computed));
      td_plan_stage_info a, b;
      for (int i = 0; td_plan_stage_at (stored, i, &a); i++)
        {
          g_assert_true (td_plan_stage_at (computed, i, &b));
          g_assert_cmpstr (a.name, ==, b.name);
          g_assert_null (b.files);
          g_assert_cmpuint (a.activations, ==, b.activations);
          g_assert_cmpuint (a.workspace, ==, b.workspace);
          g_assert_nonnull (a.files);
          g_auto (GStrv) files = g_strsplit (a.files, "; ", -1);
          uint64_t on_disk = 0;
          for (int k = 0; files[k] != NULL; k++)
            on_disk += tensor_bytes (files[k]);
          g_assert_cmpuint (a.weights, ==, on_disk);
        }
      td_plan_free (computed);
      td_plan_free (stored);
    }
}

typedef struct {
  int loading;  /* "loading …" stages */
} stages;

static void
on_stage (void *user, const char *stage)
{
  if (g_str_has_prefix (stage, "loading"))
    ((stages *) user)->loading++;
}

static td_board *
demo_board (td_board_mode mode)
{
  return td_test_board_new (mode, "a lighthouse", 11, 3);
}

static td_output *
run (td_engine *engine, const td_board *board, const td_model_paths *paths, stages *seen)
{
  td_error err = { 0 };
  td_generate_callbacks callbacks = { .stage = on_stage, .user = seen };
  td_output *out = NULL;
  if (td_engine_generate (engine, board, paths, &callbacks, &out, &err) != TD_OK)
    g_error ("generate: %s", err.message);
  return out;
}

static void
assert_same_image (const td_output *a, const td_output *b)
{
  const td_image *x = td_output_image (a), *y = td_output_image (b);
  g_assert_cmpint (x->width, ==, y->width);
  g_assert_cmpint (x->height, ==, y->height);
  g_assert_cmpmem (x->rgb, (gsize) x->width * x->height * 3, y->rgb, (gsize) y->width * y->height * 3);
}

/* Both modes: the second generation on the same engine loads nothing and paints the
 * image a fresh engine paints. */
static void
test_resident_between_runs (void)
{
  td_error err = { 0 };
  td_model_paths paths = { 0 };
  g_assert_cmpint (td_model_paths_find (td_test_demo_models (), &paths, &err), ==, TD_OK);
  const td_board_mode modes[] = { TD_BOARD_LVLM, TD_BOARD_CLIP };
  for (gsize m = 0; m < G_N_ELEMENTS (modes); m++)
    {
      td_board *board = demo_board (modes[m]);
      td_engine *fresh = td_test_engine_new ("cpu", 0);
      stages fresh_stages = { 0 };
      td_output *expected = run (fresh, board, &paths, &fresh_stages);
      td_engine_free (fresh);

      td_engine *engine = td_test_engine_new ("cpu", 0);
      td_plan *plan = td_engine_plan (engine, board, &paths, &err);
      g_assert_nonnull (plan);
      g_assert_cmpint (td_plan_get_strategy (plan), ==, TD_PLAN_ALL_RESIDENT);
      td_plan_free (plan);
      stages first = { 0 }, second = { 0 };
      td_output *one = run (engine, board, &paths, &first);
      const int loads = td_engine_model_loads (engine);
      g_assert_cmpint (loads, >=, 4); /* the LVLM or vision tower, an aligner, CLIP, FLUX, the VAE */
      g_assert_cmpint (first.loading, >, 0);
      td_output *two = run (engine, board, &paths, &second);
      g_assert_cmpint (td_engine_model_loads (engine), ==, loads);
      g_assert_cmpint (second.loading, ==, 0);
      assert_same_image (expected, one);
      assert_same_image (expected, two);

      /* A new budget frees what was kept: the next run loads again, to the same image. */
      td_engine_set_device_budget (engine, 0);
      stages third = { 0 };
      td_output *three = run (engine, board, &paths, &third);
      g_assert_cmpint (td_engine_model_loads (engine), ==, 2 * loads);
      g_assert_cmpint (third.loading, ==, first.loading);
      assert_same_image (expected, three);

      td_output_free (expected);
      td_output_free (one);
      td_output_free (two);
      td_output_free (three);
      td_engine_free (engine);
      td_board_free (board);
    }
  td_model_paths_clear (&paths);
}

/* Another models folder is another set of models: the engine frees what it kept and
 * loads the new ones, and going back loads the first ones again. */
static void
test_model_change_reloads (void)
{
  td_error err = { 0 };
  g_autofree char *other = td_test_demo_models_new ("td-plan-other-XXXXXX");
  td_model_paths first_paths = { 0 }, other_paths = { 0 };
  g_assert_cmpint (td_model_paths_find (td_test_demo_models (), &first_paths, &err), ==, TD_OK);
  g_assert_cmpint (td_model_paths_find (other, &other_paths, &err), ==, TD_OK);
  td_board *board = demo_board (TD_BOARD_CLIP);
  td_engine *engine = td_test_engine_new ("cpu", 0);
  stages seen = { 0 };
  td_output *one = run (engine, board, &first_paths, &seen);
  const int loads = td_engine_model_loads (engine);
  td_output *two = run (engine, board, &other_paths, &seen);
  g_assert_cmpint (td_engine_model_loads (engine), ==, 2 * loads);
  td_output *three = run (engine, board, &first_paths, &seen);
  g_assert_cmpint (td_engine_model_loads (engine), ==, 3 * loads);
  /* The demo models are written the same each time: the same image from either folder. */
  assert_same_image (one, two);
  assert_same_image (one, three);
  td_output_free (one);
  td_output_free (two);
  td_output_free (three);
  td_engine_free (engine);
  td_board_free (board);
  td_model_paths_clear (&first_paths);
  td_model_paths_clear (&other_paths);
  td_test_remove_tree (other);
}

/* Under a budget that every stage meets alone but not all models together, the engine
 * runs stage by stage: each generation loads every model again. */
static void
test_stage_by_stage_reloads (void)
{
  td_error err = { 0 };
  td_model_paths paths = { 0 };
  g_assert_cmpint (td_model_paths_find (td_test_demo_models (), &paths, &err), ==, TD_OK);
  td_board *board = demo_board (TD_BOARD_LVLM);

  td_engine *probe = td_test_engine_new ("cpu", 0);
  td_plan *plan = td_engine_plan (probe, board, &paths, &err);
  td_plan_stage_info info;
  uint64_t largest = 0;
  for (int i = 0; td_plan_stage_at (plan, i, &info); i++)
    largest = info.peak > largest ? info.peak : largest;
  const uint64_t resident = td_plan_resident_peak (plan);
  td_plan_free (plan);
  td_engine_free (probe);
  /* Between the largest stage and everything together, with room for the plan's error. */
  const uint64_t budget = largest + (resident - largest) / 2;
  g_assert_cmpuint (budget, <, resident);

  td_engine *engine = td_test_engine_new ("cpu", budget);
  plan = td_engine_plan (engine, board, &paths, &err);
  g_assert_cmpint (td_plan_get_strategy (plan), ==, TD_PLAN_STAGE_BY_STAGE);
  g_assert_cmpuint (td_plan_budget (plan), ==, budget);
  td_plan_free (plan);
  stages first = { 0 }, second = { 0 };
  td_output *one = run (engine, board, &paths, &first);
  const int loads = td_engine_model_loads (engine);
  td_output *two = run (engine, board, &paths, &second);
  g_assert_cmpint (td_engine_model_loads (engine), ==, 2 * loads);
  g_assert_cmpint (second.loading, ==, first.loading);
  assert_same_image (one, two);
  td_output_free (one);
  td_output_free (two);
  td_engine_free (engine);
  td_board_free (board);
  td_model_paths_clear (&paths);
}

/* On a Vulkan device (lavapipe in CI): the kept models stay in device memory between
 * runs, the second run uploads nothing and paints what a fresh engine paints, and
 * releasing them gives the memory back. */
static void
test_resident_vulkan (void)
{
  td_error err = { 0 };
  td_device_info *devices = NULL;
  int count = 0;
  bool usable = false;
  if (td_devices_list (&devices, &count, &err) == TD_OK)
    for (int i = 0; i < count; i++)
      usable = usable || devices[i].usable;
  td_free (devices);
  if (!usable)
    {
      g_test_skip ("no usable Vulkan device");
      return;
    }
  td_model_paths paths = { 0 };
  g_assert_cmpint (td_model_paths_find (td_test_demo_models (), &paths, &err), ==, TD_OK);
  td_board *board = demo_board (TD_BOARD_LVLM);
  td_engine *fresh = td_test_engine_new ("vulkan", 0);
  stages ignored = { 0 };
  td_output *expected = run (fresh, board, &paths, &ignored);
  td_engine_free (fresh);

  td_engine *engine = td_test_engine_new ("vulkan", 0);
  stages first = { 0 }, second = { 0 };
  td_output *one = run (engine, board, &paths, &first);
  uint64_t held = 0, peak = 0;
  td_engine_memory_use (engine, &held, &peak);
  const int loads = td_engine_model_loads (engine);
  td_output *two = run (engine, board, &paths, &second);
  g_assert_cmpint (td_engine_model_loads (engine), ==, loads);
  g_assert_cmpint (second.loading, ==, 0);
  uint64_t held_after = 0;
  td_engine_memory_use (engine, &held_after, &peak);
  g_assert_cmpuint (held, >, 0);
  g_assert_cmpuint (held_after, ==, held);
  assert_same_image (expected, one);
  assert_same_image (expected, two);
  td_engine_release_models (engine);
  td_engine_memory_use (engine, &held_after, &peak);
  g_assert_cmpuint (held_after, <, held);

  td_output_free (expected);
  td_output_free (one);
  td_output_free (two);
  td_engine_free (engine);
  td_board_free (board);
  td_model_paths_clear (&paths);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/plan/builtin", test_builtin);
  g_test_add_func ("/plan/bad-requests", test_bad_requests);
  g_test_add_func ("/plan/models-folder", test_models_folder);
  g_test_add_func ("/plan/resident-between-runs", test_resident_between_runs);
  g_test_add_func ("/plan/stage-by-stage-reloads", test_stage_by_stage_reloads);
  g_test_add_func ("/plan/model-change-reloads", test_model_change_reloads);
  g_test_add_func ("/plan/resident-vulkan", test_resident_vulkan);
  int status = g_test_run ();
  td_test_demo_models_remove ();
  return status;
}
