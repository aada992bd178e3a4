/* Streaming the blocks of T5's encoder, Qwen2-VL (vision tower, prefill and every
 * decoding pass) and BLIP-2's vision tower (Vulkan, lavapipe in CI), on the golden
 * tiny models made DEPTH blocks deep (their two blocks repeated): with no block
 * resident, with some, and with all, the outputs are the same; under a cap the whole
 * model cannot take, the streamed runs and the run with the planner's resident count
 * fit, their high-water marks under the cap. (FLUX's transformer: test-flux-streaming.) */
#include <glib.h>
#include <gio/gio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "io/safetensors.h"
#include "models/eva_vision.h"
#include "models/random_models.h"
#include "models/qwen2vl.h"
#include "models/t5_encoder.h"
#include "pipeline/flux_pipeline.h"
#include "pipeline/memory_plan.h"
#include "pipeline/stream_choice.h"
#ifdef TD_HAVE_VULKAN
#include "backend/vulkan/vulkan_backend.h"
#endif

enum { DEPTH = 6 };

static char *deep_root;

/* The golden model's folder with its blocks repeated to DEPTH (block i is a copy of
 * golden block i % 2), written once under deep_root. */
static char *
golden (const char *model)
{
  g_autofree char *source = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", model, NULL);
  char *dir = g_build_filename (deep_root, model, NULL);
  g_autofree char *config_out = g_build_filename (dir, "config.json", NULL);
  if (g_file_test (config_out, G_FILE_TEST_EXISTS))
    return dir;
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);

  g_autofree char *config_in = g_build_filename (source, "config.json", NULL), *text = NULL;
  g_assert_true (g_file_get_contents (config_in, &text, NULL, NULL));
  g_autoptr (GRegex) layers = g_regex_new ("\"(num_layers|num_hidden_layers|depth)\": 2\\b", 0, 0, NULL);
  g_autofree char *deep_count = g_strdup_printf ("\"\\1\": %d", DEPTH);
  g_autofree char *deep_config = g_regex_replace (layers, text, -1, 0, deep_count, 0, NULL);
  g_assert_cmpstr (deep_config, !=, text);
  g_assert_true (g_file_set_contents (config_out, deep_config, -1, NULL));

  td_error err = { 0 };
  g_autofree char *weights_in = g_build_filename (source, "model.safetensors", NULL);
  g_autofree char *weights_out = g_build_filename (dir, "model.safetensors", NULL);
  td_safetensors *st = td_safetensors_open (weights_in, &err);
  g_assert_nonnull (st);
  g_autoptr (GRegex) block = g_regex_new ("^(.*(?:block|blocks|layers))\\.([0-9]+)\\.(.+)$", 0, 0, NULL);
  GArray *entries = g_array_new (FALSE, TRUE, sizeof (td_safetensors_entry));
  GPtrArray *keep = g_ptr_array_new_with_free_func (g_free);
  for (size_t i = 0; i < td_safetensors_count (st); i++)
    {
      const td_safetensors_info *info = td_safetensors_at (st, i);
      td_tensor *t = td_safetensors_tensor_of (st, info, &err);
      g_assert_nonnull (t);
      void *data = g_memdup2 (td_tensor_host_data (t), td_tensor_nbytes (t));
      int64_t *shape = g_memdup2 (t->shape, sizeof (int64_t) * (size_t) t->ndim);
      g_ptr_array_add (keep, data), g_ptr_array_add (keep, shape);
      td_safetensors_entry entry = { .name = NULL, .dtype = t->dtype, .ndim = t->ndim, .shape = shape, .data = data,
                                     .nbytes = td_tensor_nbytes (t) };
      g_autoptr (GMatchInfo) match = NULL;
      if (g_regex_match (block, info->name, 0, &match))
        {
          g_autofree char *head = g_match_info_fetch (match, 1), *index = g_match_info_fetch (match, 2);
          g_autofree char *tail = g_match_info_fetch (match, 3);
          for (int copy = atoi (index); copy < DEPTH; copy += 2)
            {
              char *name = g_strdup_printf ("%s.%d.%s", head, copy, tail);
              g_ptr_array_add (keep, name);
              entry.name = name;
              g_array_append_val (entries, entry);
            }
        }
      else
        {
          char *name = g_strdup (info->name);
          g_ptr_array_add (keep, name);
          entry.name = name;
          g_array_append_val (entries, entry);
        }
      td_tensor_free (t);
    }
  g_assert_cmpint (td_safetensors_write (weights_out, (const td_safetensors_entry *) entries->data, entries->len, NULL,
                                         &err), ==, TD_OK);
  g_array_unref (entries);
  g_ptr_array_unref (keep);
  td_safetensors_close (st);
  return dir;
}

/* One run of a freshly loaded model with `resident` blocks kept; its outputs go to out. */
typedef td_status (*run_fn) (td_backend *backend, int resident, GArray *out, td_error *err);

static td_status
append (GArray *out, const td_tensor *t, td_error *err)
{
  const guint at = out->len;
  g_array_set_size (out, at + (guint) td_tensor_numel (t));
  return td_tensor_download (t, &g_array_index (out, float, at), (size_t) td_tensor_numel (t) * sizeof (float), err);
}

static td_tensor *
noise (td_backend *backend, int ndim, const int64_t *shape, uint64_t seed, td_error *err)
{
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  float *data = g_new (float, n);
  td_gaussian_noise (seed, data, n);
  td_tensor *t = td_tensor_new (backend, TD_F32, ndim, shape, err);
  if (t != NULL && td_tensor_upload (t, data, (size_t) n * sizeof (float), err) != TD_OK)
    g_clear_pointer (&t, td_tensor_free);
  g_free (data);
  return t;
}

/* ---- the models ----------------------------------------------------------- */

enum { T5_TOKENS = 24 };

static td_status
run_t5 (td_backend *backend, int resident, GArray *out, td_error *err)
{
  g_autofree char *dir = golden ("t5_encoder");
  td_t5_encoder *t5 = td_t5_encoder_load (dir, backend, err);
  if (t5 == NULL)
    return err->status;
  td_t5_encoder_set_resident_blocks (t5, resident);
  int32_t ids[T5_TOKENS];
  for (int i = 0; i < T5_TOKENS; i++)
    ids[i] = (i * 37 + 5) % td_t5_encoder_config (t5)->vocab_size;
  td_tensor *hidden = td_t5_encoder_forward (t5, ids, T5_TOKENS, err);
  td_status st = hidden != NULL ? append (out, hidden, err) : err->status;
  td_tensor_free (hidden);
  td_t5_encoder_free (t5);
  return st;
}

static td_status
run_eva (td_backend *backend, int resident, GArray *out, td_error *err)
{
  g_autofree char *dir = golden ("blip2_vision");
  td_eva_vision *eva = td_eva_vision_load (dir, backend, err);
  if (eva == NULL)
    return err->status;
  td_eva_vision_set_resident_blocks (eva, resident);
  const int size = td_eva_vision_config (eva)->image_size;
  const int64_t shape[4] = { 1, 3, size, size };
  td_tensor *pixels = noise (backend, 4, shape, 7, err);
  td_tensor *hidden = pixels != NULL ? td_eva_vision_forward (eva, pixels, err) : NULL;
  td_status st = hidden != NULL ? append (out, hidden, err) : err->status;
  td_tensor_free (hidden);
  td_tensor_free (pixels);
  td_eva_vision_free (eva);
  return st;
}

enum { QWEN_NEW_TOKENS = 6 };

/* The golden prompt and image through the tower, the prefill and greedy decoding: the
 * image features, the prefill's and the decoded tokens' hidden states and the tokens. */
static td_status
run_qwen2vl (td_backend *backend, int resident, GArray *out, td_error *err)
{
  g_autofree char *dir = golden ("qwen2_vl");
  g_autofree char *io_path = g_build_filename (g_getenv ("TD_TEST_DATA"), "golden", "qwen2_vl", "io.safetensors",
                                               NULL);
  td_safetensors *io = td_safetensors_open (io_path, err);
  g_assert_nonnull (io);
  td_tensor *ids = td_safetensors_tensor (io, "input_ids", err);
  td_tensor *grid_t = td_safetensors_tensor (io, "image_grid_thw", err);
  td_tensor *pixels_host = td_safetensors_tensor (io, "pixel_values", err);
  g_assert_nonnull (ids);
  g_assert_nonnull (grid_t);
  g_assert_nonnull (pixels_host);
  int grid[1][3];
  for (int i = 0; i < 3; i++)
    grid[0][i] = ((const int32_t *) td_tensor_host_data (grid_t))[i];
  const int n_prompt = (int) td_tensor_numel (ids);

  td_status st = TD_OK;
  td_tensor *pixels = NULL, *features = NULL, *prefill = NULL, *decoded = NULL;
  td_qwen2vl_session *session = NULL;
  td_qwen2vl *model = td_qwen2vl_load (dir, backend, err);
  if (model == NULL)
    st = err->status;
  if (st == TD_OK)
    {
      td_qwen2vl_set_resident_blocks (model, resident);
      pixels = td_tensor_new (backend, TD_F32, 2, pixels_host->shape, err);
      st = pixels ? td_tensor_upload (pixels, td_tensor_host_data (pixels_host), td_tensor_nbytes (pixels_host), err)
                  : err->status;
    }
  if (st == TD_OK && (features = td_qwen2vl_encode_images (model, pixels, (const int (*)[3]) grid, 1, err)) == NULL)
    st = err->status;
  if (st == TD_OK && (session = td_qwen2vl_session_new (model, n_prompt + QWEN_NEW_TOKENS, err)) == NULL)
    st = err->status;
  if (st == TD_OK
      && (prefill = td_qwen2vl_session_prefill (session, td_tensor_host_data (ids), n_prompt, features,
                                                (const int (*)[3]) grid, 1, err)) == NULL)
    st = err->status;
  int32_t tokens[QWEN_NEW_TOKENS] = { 0 };
  int n = 0;
  if (st == TD_OK)
    {
      td_qwen2vl_generate_params params = { .max_new_tokens = QWEN_NEW_TOKENS, .temperature = 0, .top_p = 1,
                                            .ignore_eos = true };
      st = td_qwen2vl_generate (session, prefill, &params, tokens, &n, &decoded, err);
    }
  if (st == TD_OK)
    {
      g_assert_cmpint (n, ==, QWEN_NEW_TOKENS);
      for (int i = 0; i < n; i++)
        {
          const float token = (float) tokens[i];
          g_array_append_val (out, token);
        }
      if ((st = append (out, features, err)) == TD_OK && (st = append (out, prefill, err)) == TD_OK)
        st = append (out, decoded, err);
    }
  td_tensor_free (decoded);
  td_tensor_free (prefill);
  td_qwen2vl_session_free (session);
  td_tensor_free (features);
  td_tensor_free (pixels);
  td_qwen2vl_free (model);
  td_tensor_free (ids), td_tensor_free (grid_t), td_tensor_free (pixels_host);
  td_safetensors_close (io);
  return st;
}

/* ---- the checks ----------------------------------------------------------- */

#ifdef TD_HAVE_VULKAN
static td_status
measured_run (td_backend *backend, run_fn run, int resident, GArray **out, size_t *peak, td_error *err)
{
  *out = g_array_new (FALSE, FALSE, sizeof (float));
  td_backend_reset_peak (backend);
  td_status st = run (backend, resident, *out, err);
  td_backend_memory (backend, NULL, peak);
  size_t held = 0;
  td_backend_memory (backend, &held, NULL);
  g_assert_cmpuint (held, ==, 0);
  return st;
}

static void
assert_same (const char *what, const GArray *expected, const GArray *got)
{
  g_assert_cmpuint (expected->len, ==, got->len);
  g_assert_cmpuint (expected->len, >, 0);
  float worst = 0;
  for (guint i = 0; i < expected->len; i++)
    worst = fmaxf (worst, fabsf (g_array_index (expected, float, i) - g_array_index (got, float, i)));
  g_test_message ("%s: largest difference from the resident run %g", what, worst);
  g_assert_cmpfloat (worst, <=, 1e-5);
}

/* plan: the model's stage, for the planner's choice under the cap. */
static void
check_streaming (const char *model, run_fn run, int blocks, const td_plan_stage *plan)
{
  td_error err = { 0 };
  td_backend *backend = td_backend_vulkan_new (-1, &err);
  if (backend == NULL)
    {
      g_test_skip (err.message);
      return;
    }
  GArray *whole, *streamed, *partial, *capped;
  size_t whole_peak, streamed_peak, partial_peak, capped_peak;
  const int some = blocks / 4; /* Qwen2-VL: half its language model resident */
  g_assert_cmpint (some, >, 0);
  td_status whole_status = measured_run (backend, run, TD_BLOCKS_ALL, &whole, &whole_peak, &err);
  if (whole_status != TD_OK)
    g_test_message ("%s", err.message);
  g_assert_cmpint (whole_status, ==, TD_OK);
  g_assert_cmpint (measured_run (backend, run, 0, &streamed, &streamed_peak, &err), ==, TD_OK);
  g_assert_cmpint (measured_run (backend, run, some, &partial, &partial_peak, &err), ==, TD_OK);
  g_test_message ("%s, %d blocks: high-water whole %zu B, streamed %zu B, %d resident %zu B", model, blocks,
                  whole_peak, streamed_peak, some, partial_peak);
  assert_same ("streamed", whole, streamed);
  assert_same ("partly resident", whole, partial);
  g_assert_cmpuint (streamed_peak, <, partial_peak);
  g_assert_cmpuint (partial_peak, <, whole_peak);

  /* A cap between the streamed and the whole run's high-water marks: the whole model
   * is refused, the streamed one fits and matches. */
  const size_t cap = streamed_peak + (whole_peak - streamed_peak) / 2;
  td_backend_set_budget (backend, cap);
  g_array_unref (partial);
  g_assert_cmpint (measured_run (backend, run, TD_BLOCKS_ALL, &partial, &partial_peak, &err), ==, TD_ERR_NO_MEMORY);
  g_assert_nonnull (strstr (err.message, "memory cap"));
  td_error_clear (&err);
  g_assert_cmpint (measured_run (backend, run, 0, &capped, &capped_peak, &err), ==, TD_OK);
  g_assert_cmpuint (capped_peak, <=, cap);
  assert_same ("streamed under the cap", whole, capped);
  g_array_unref (capped);

  /* The pipeline's choice under the cap: some blocks resident, none beyond the cap. */
  const int chosen = td_stream_choose_resident (backend, plan);
  g_test_message ("%s under %zu B: the planner keeps %d of %d blocks", model, cap, chosen, blocks);
  g_assert_cmpint (chosen, !=, TD_BLOCKS_ALL);
  g_assert_cmpint (chosen, <, blocks);
  g_assert_cmpint (measured_run (backend, run, chosen, &capped, &capped_peak, &err), ==, TD_OK);
  g_assert_cmpuint (capped_peak, <=, cap);
  assert_same ("planner's choice under the cap", whole, capped);

  g_array_unref (whole), g_array_unref (streamed), g_array_unref (partial), g_array_unref (capped);
  td_backend_free (backend);
}
#endif

static void
test_t5 (void)
{
#ifdef TD_HAVE_VULKAN
  td_error err = { 0 };
  g_autofree char *dir = golden ("t5_encoder");
  td_t5_encoder *t5 = td_t5_encoder_load (dir, NULL, &err);
  g_assert_nonnull (t5);
  const td_t5_config config = *td_t5_encoder_config (t5);
  td_t5_encoder_free (t5);
  const td_plan_stage plan = td_plan_t5_stage (&config, T5_TOKENS, TD_PLAN_F32);
  g_assert_cmpint (config.num_layers, ==, DEPTH);
  check_streaming ("T5 encoder", run_t5, config.num_layers, &plan);
#else
  g_test_skip ("built without Vulkan");
#endif
}

static void
test_eva (void)
{
#ifdef TD_HAVE_VULKAN
  td_error err = { 0 };
  g_autofree char *dir = golden ("blip2_vision");
  td_eva_vision *eva = td_eva_vision_load (dir, NULL, &err);
  g_assert_nonnull (eva);
  const td_eva_config config = *td_eva_vision_config (eva);
  td_eva_vision_free (eva);
  const td_plan_stage plan = td_plan_eva_stage (&config, TD_PLAN_F32);
  g_assert_cmpint (config.num_layers, ==, DEPTH);
  check_streaming ("BLIP-2 vision tower", run_eva, config.num_layers, &plan);
#else
  g_test_skip ("built without Vulkan");
#endif
}

static void
test_qwen2vl (void)
{
#ifdef TD_HAVE_VULKAN
  td_error err = { 0 };
  g_autofree char *dir = golden ("qwen2_vl");
  td_qwen2vl *model = td_qwen2vl_load (dir, NULL, &err);
  g_assert_nonnull (model);
  const td_qwen2vl_config config = *td_qwen2vl_config_of (model);
  td_qwen2vl_free (model);
  const td_plan_stage plan = td_plan_qwen2vl_stage (&config, 84, 56, QWEN_NEW_TOKENS, TD_PLAN_F32);
  g_assert_cmpint (config.num_layers, ==, DEPTH);
  g_assert_cmpint (config.vision.depth, ==, DEPTH);
  check_streaming ("Qwen2-VL", run_qwen2vl, config.num_layers + config.vision.depth, &plan);
#else
  g_test_skip ("built without Vulkan");
#endif
}

/* The pipeline's choice counts what the backend already holds against the cap. */
static void
test_choice_beside_held (void)
{
  const td_flux_config config = td_flux_config_small ();
  const td_plan_stage plan = td_plan_flux_stage (&config, 256, 256, 77, TD_PLAN_BF16);
  g_assert_cmpint (td_stream_choose_resident (td_backend_host (), &plan), ==, TD_BLOCKS_ALL);
#ifdef TD_HAVE_VULKAN
  td_error err = { 0 };
  td_backend *backend = td_backend_vulkan_new (-1, &err);
  if (backend == NULL)
    {
      g_test_skip (err.message);
      return;
    }
  g_assert_cmpint (td_stream_choose_resident (backend, &plan), ==, TD_BLOCKS_ALL); /* no cap */
  const int64_t shape[1] = { 256 * 1024 };
  td_tensor *held = td_tensor_new (backend, TD_F32, 1, shape, &err);
  g_assert_nonnull (held);
  size_t live = 0;
  td_backend_memory (backend, &live, NULL);
  g_assert_cmpuint (live, >=, td_tensor_nbytes (held));
  for (int resident = 0; resident < plan.blocks; resident++)
    {
      const uint64_t need = td_plan_stage_peak_with (&plan, resident);
      if (td_plan_stage_peak_with (&plan, resident + 1) == need)
        continue;
      td_backend_set_budget (backend, live + need);
      g_assert_cmpint (td_stream_choose_resident (backend, &plan), ==, resident);
    }
  td_backend_set_budget (backend, live + plan.peak);
  g_assert_cmpint (td_stream_choose_resident (backend, &plan), ==, TD_BLOCKS_ALL);
  /* Not even every block streamed fits: all stream, and the cap refuses what is over. */
  td_backend_set_budget (backend, live + td_plan_streamed_peak (&plan) - 1);
  g_assert_cmpint (td_stream_choose_resident (backend, &plan), ==, 0);
  td_tensor_free (held);
  td_backend_free (backend);
#endif
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  deep_root = g_dir_make_tmp ("td-model-streaming-XXXXXX", NULL);
  g_assert_nonnull (deep_root);
  g_test_add_func ("/model-streaming/t5", test_t5);
  g_test_add_func ("/model-streaming/blip2-vision", test_eva);
  g_test_add_func ("/model-streaming/qwen2-vl", test_qwen2vl);
  g_test_add_func ("/model-streaming/choice-beside-held", test_choice_beside_held);
  const int status = g_test_run ();
  g_autoptr (GFile) root = g_file_new_for_path (deep_root);
  g_autoptr (GFileEnumerator) models = g_file_enumerate_children (root, G_FILE_ATTRIBUTE_STANDARD_NAME, 0, NULL, NULL);
  for (GFileInfo *info; models != NULL && (info = g_file_enumerator_next_file (models, NULL, NULL)) != NULL;)
    {
      g_autoptr (GFile) model = g_file_get_child (root, g_file_info_get_name (info));
      const char *files[] = { "config.json", "model.safetensors" };
      for (size_t i = 0; i < G_N_ELEMENTS (files); i++)
        {
          g_autoptr (GFile) file = g_file_get_child (model, files[i]);
          g_file_delete (file, NULL, NULL);
        }
      g_file_delete (model, NULL, NULL);
      g_object_unref (info);
    }
  g_file_delete (root, NULL, NULL);
  g_free (deep_root);
  return status;
}
