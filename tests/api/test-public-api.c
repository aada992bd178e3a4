/* The public API as a program outside the engine sees it: this test includes
 * only thinkdiff.h and the shared set-up of tests/common (itself on thinkdiff.h
 * alone), and links only libthinkdiff. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "thinkdiff.h"
#include "td-test-engine.h"
#include "td-test-models.h"

static void
test_engine_errors (void)
{
  td_error err = { 0 };
  td_engine_options options = td_engine_options_default ();
  options.backend = "metal";
  g_assert_null (td_engine_new (&options, &err));
  g_assert_cmpint (err.status, ==, TD_ERR_INVALID_ARG);
  g_assert_nonnull (strstr (err.message, "metal"));

  options.backend = "cpu";
  td_engine *engine = td_engine_new (&options, &err);
  g_assert_nonnull (engine);
  g_assert_cmpstr (td_engine_name (engine), ==, "cpu");
  td_engine_free (engine);
  td_engine_free (NULL);
}

static void
test_board (void)
{
  td_error err = { 0 };
  td_board *board = td_board_new (TD_BOARD_CLIP);
  g_assert_cmpint (td_board_validate (board, &err), !=, TD_OK);

  g_assert_cmpint (td_board_add (board, TD_BOARD_IMAGE, "/pictures/a.png", &err), ==, TD_OK);
  g_assert_cmpint (td_board_add (board, TD_BOARD_TEXT, "as a painting", &err), ==, TD_OK);
  td_board_settings settings = td_board_get_settings (board);
  settings.width = 512;
  settings.steps = 9;
  td_board_set_settings (board, &settings);
  td_board_set_mode (board, TD_BOARD_LVLM);

  td_board_item_kind kind;
  const char *value = NULL;
  g_assert_cmpint (td_board_n_items (board), ==, 2);
  g_assert_true (td_board_item_at (board, 1, &kind, &value));
  g_assert_cmpint (kind, ==, TD_BOARD_TEXT);
  g_assert_cmpstr (value, ==, "as a painting");
  g_assert_false (td_board_item_at (board, 2, &kind, &value));
  g_assert_false (td_board_item_at (board, -1, NULL, NULL));
  g_assert_cmpint (td_board_count (board, TD_BOARD_IMAGE), ==, 1);

  /* The JSON round trip keeps items, mode and settings. */
  char *json = td_board_to_json (board);
  td_board *back = td_board_load_json_data (json, strlen (json), "the board", "/", &err);
  td_free (json);
  g_assert_nonnull (back);
  g_assert_cmpint (td_board_get_mode (back), ==, TD_BOARD_LVLM);
  g_assert_cmpint (td_board_get_settings (back).width, ==, 512);
  g_assert_cmpint (td_board_get_settings (back).steps, ==, 9);
  g_assert_true (td_board_item_at (back, 0, &kind, &value));
  g_assert_cmpint (kind, ==, TD_BOARD_IMAGE);
  g_assert_cmpstr (value, ==, "/pictures/a.png");
  td_board_free (back);

  /* Pixels are stored once, as a PNG named by their checksum. */
  g_autofree char *store = g_dir_make_tmp ("td-api-pasted-XXXXXX", NULL);
  g_autofree char *pasted_dir = g_build_filename (store, "pasted", NULL);
  uint8_t rgb[16 * 8 * 3];
  for (size_t i = 0; i < sizeof rgb; i++)
    rgb[i] = (uint8_t) (i * 7);
  td_image pixels = { 16, 8, rgb };
  g_assert_cmpint (td_board_add_pixels (board, &pixels, pasted_dir, &err), ==, TD_OK);
  g_assert_cmpint (td_board_add_pixels (board, &pixels, pasted_dir, &err), ==, TD_OK);
  const char *first = NULL, *second = NULL;
  g_assert_true (td_board_item_at (board, 2, &kind, &first));
  g_assert_cmpint (kind, ==, TD_BOARD_IMAGE);
  g_assert_true (td_board_item_at (board, 3, NULL, &second));
  g_assert_cmpstr (first, ==, second);
  g_assert_true (g_str_has_prefix (first, pasted_dir));
  td_image loaded = { 0 };
  g_assert_cmpint (td_image_load (first, NULL, &loaded, &err), ==, TD_OK);
  g_assert_cmpint (loaded.width, ==, 16);
  g_assert_cmpint (memcmp (loaded.rgb, rgb, sizeof rgb), ==, 0);
  td_image_clear (&loaded);
  td_image empty = { 0, 8, rgb };
  g_assert_cmpint (td_board_add_pixels (board, &empty, pasted_dir, &err), ==, TD_ERR_INVALID_ARG);
  g_assert_cmpint (td_board_n_items (board), ==, 4);
  td_test_remove_tree (store);
  td_board_free (board);
}

typedef struct {
  int stages, steps, previews, memory, thought_pieces;
  int last_step, last_steps;
  volatile int cancel;
} counts;

static void
count_stage (void *user, const char *stage)
{
  ((counts *) user)->stages++;
}

static void
count_step (void *user, int step, int steps)
{
  counts *c = user;
  c->steps++;
  c->last_step = step;
  c->last_steps = steps;
}

static void
count_preview (void *user, int step, int steps, const td_image *preview)
{
  counts *c = user;
  g_assert_cmpint (preview->width, >, 0);
  g_assert_nonnull (preview->rgb);
  c->previews++;
}

static void
count_memory (void *user, const td_memory_report *report)
{
  counts *c = user;
  /* The CPU backend holds no device memory. */
  g_assert_cmpuint (report->device_used, ==, 0);
  c->memory++;
}

static void
count_thought (void *user, const char *piece)
{
  ((counts *) user)->thought_pieces++;
}

static void
test_generate (void)
{
  td_error err = { 0 };
  td_model_paths paths = { 0 };
  g_assert_cmpint (td_model_paths_find (td_test_demo_models (), &paths, &err), ==, TD_OK);
  g_assert_cmpint (td_model_paths_require (&paths, true, &err), ==, TD_OK);

  td_engine *engine = td_test_engine_new ("cpu", 0);
  td_board *board = td_test_board_new (TD_BOARD_LVLM, "a red boat", 5, 3);
  counts c = { 0 };
  td_generate_callbacks callbacks = {
    .stage = count_stage, .step = count_step, .preview = count_preview, .thought = count_thought,
    .memory = count_memory, .cancel = &c.cancel, .user = &c,
  };
  td_output *output = NULL;
  td_status status = td_engine_generate (engine, board, &paths, &callbacks, &output, &err);
  if (status != TD_OK)
    g_error ("generate: %s", err.message);
  g_assert_nonnull (output);
  g_assert_cmpint (c.stages, >, 0);
  g_assert_cmpint (c.memory, ==, c.stages);
  g_assert_cmpint (c.steps, ==, 2);
  g_assert_cmpint (c.last_step, ==, 2);
  g_assert_cmpint (c.last_steps, ==, 2);
  g_assert_cmpint (c.thought_pieces, >, 0);

  const td_image *image = td_output_image (output);
  g_assert_cmpint (image->width, ==, 64);
  g_assert_cmpint (image->height, ==, 64);
  g_assert_cmpstr (td_output_mode (output), ==, "lvlm");
  g_assert_nonnull (td_output_thought (output));

  /* The PNG carries the metadata, and the board comes back from it. */
  size_t n_text = 0;
  const td_image_text *text = td_output_metadata (output, &n_text);
  g_assert_cmpuint (n_text, ==, 4);
  g_assert_cmpstr (text[3].key, ==, "thinkdiff:thought");
  g_autofree char *png = g_build_filename (td_test_demo_models (), "out.png", NULL);
  g_assert_cmpint (td_output_save_png (output, png, &err), ==, TD_OK);
  td_image_text *read = NULL;
  size_t n_read = 0;
  g_assert_cmpint (td_image_png_text (png, NULL, &read, &n_read, &err), ==, TD_OK);
  const char *board_json = NULL, *mode = NULL;
  for (size_t i = 0; i < n_read; i++)
    if (strcmp (read[i].key, "thinkdiff:board") == 0)
      board_json = read[i].value;
    else if (strcmp (read[i].key, "thinkdiff:mode") == 0)
      mode = read[i].value;
  g_assert_cmpstr (mode, ==, "lvlm");
  g_assert_cmpstr (board_json, ==, td_output_board_json (output));
  td_image_text_free (read, n_read);

  td_image loaded = { 0 };
  g_assert_cmpint (td_image_load (png, NULL, &loaded, &err), ==, TD_OK);
  g_assert_cmpint (loaded.width, ==, 64);
  g_assert_cmpint (memcmp (loaded.rgb, image->rgb, 64 * 64 * 3), ==, 0);
  td_image_clear (&loaded);

  td_output_free (output);
  td_board_free (board);
  td_engine_free (engine);
  td_model_paths_clear (&paths);
}

static void
test_text_to_image_and_cancel (void)
{
  td_error err = { 0 };
  td_model_paths paths = { 0 };
  g_assert_cmpint (td_model_paths_find (td_test_demo_models (), &paths, &err), ==, TD_OK);
  td_engine *engine = td_test_engine_new ("cpu", 0);
  td_board *board = td_test_board_new (TD_BOARD_CLIP, "a red boat", 5, 3);
  td_output *output = NULL;

  g_assert_cmpint (td_engine_text_to_image (engine, board, paths.path[TD_PART_FLUX], NULL, &output, &err), ==,
                   TD_OK);
  g_assert_cmpstr (td_output_mode (output), ==, "text-to-image");
  g_assert_null (td_output_thought (output));
  size_t n_text = 0;
  td_output_metadata (output, &n_text);
  g_assert_cmpuint (n_text, ==, 3);
  td_output_free (output);

  /* A cancel flag set before the run stops it with nothing handed back. */
  counts c = { .cancel = 1 };
  td_generate_callbacks callbacks = { .step = count_step, .cancel = &c.cancel, .user = &c };
  output = NULL;
  g_assert_cmpint (td_engine_generate (engine, board, &paths, &callbacks, &output, &err), ==, TD_ERR_CANCELLED);
  g_assert_null (output);
  g_assert_cmpint (c.steps, ==, 0);

  td_board_free (board);
  td_engine_free (engine);
  td_model_paths_clear (&paths);
}

static void
test_checkpoints (void)
{
  td_error err = { 0 };
  g_autofree char *model = td_test_data_path ("golden", "t5_encoder", "model.safetensors", NULL);
  td_checkpoint *ck = td_checkpoint_open (model, &err);
  g_assert_nonnull (ck);
  size_t n = td_checkpoint_count (ck);
  g_assert_cmpuint (n, >, 0);
  td_checkpoint_tensor t;
  g_assert_true (td_checkpoint_tensor_at (ck, 0, &t));
  g_assert_nonnull (t.name);
  g_assert_cmpint (t.ndim, >, 0);
  g_assert_cmpuint (t.nbytes, >, 0);
  g_assert_false (td_checkpoint_tensor_at (ck, n, &t));
  g_assert_false (td_checkpoint_metadata_at (ck, td_checkpoint_metadata_count (ck), NULL, NULL));
  td_checkpoint_close (ck);

  g_autofree char *missing = td_test_data_path ("golden", "no-such-file.safetensors", NULL);
  g_assert_null (td_checkpoint_open (missing, &err));
  g_assert_nonnull (strstr (err.message, "no-such-file.safetensors"));

  /* A PyTorch checkpoint converted keeps its tensors. */
  g_autofree char *pth = td_test_data_path ("golden", "blip2_vision", "thinkdiff_clip_aligner.pth", NULL);
  g_autofree char *dir = g_dir_make_tmp ("td-api-convert-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "aligner.safetensors", NULL);
  size_t written = 0;
  g_assert_cmpint (td_checkpoint_convert_pth (pth, out, NULL, &written, &err), ==, TD_OK);
  g_assert_cmpuint (written, >, 0);
  ck = td_checkpoint_open (out, &err);
  g_assert_nonnull (ck);
  g_assert_cmpuint (td_checkpoint_count (ck), ==, written);
  td_checkpoint_close (ck);
  g_assert_cmpint (td_checkpoint_convert_pth (model, out, NULL, NULL, &err), !=, TD_OK);
  /* Cancelled before the first tensor: an error, and no file. */
  g_unlink (out);
  volatile int cancel = 1;
  g_assert_cmpint (td_checkpoint_convert_pth (pth, out, &cancel, NULL, &err), ==, TD_ERR_CANCELLED);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  td_test_remove_tree (dir);
}

static void
test_tokenizer (void)
{
  td_error err = { 0 };
  g_autofree char *t5 = td_test_data_path ("tokenizers", "t5", NULL);
  td_tokenizer *tok = NULL;
  g_assert_cmpint (td_tokenizer_load (t5, &tok, &err), ==, TD_OK);
  int32_t *ids = NULL;
  size_t n = 0;
  g_assert_cmpint (td_tokenizer_encode (tok, "a red boat", -1, true, &ids, &n, &err), ==, TD_OK);
  g_assert_cmpuint (n, >, 1);
  g_assert_cmpstr (td_tokenizer_id_to_token (tok, ids[n - 1]), ==, "</s>");
  td_free (ids);
  g_assert_cmpint (td_tokenizer_encode (tok, "\xff", -1, true, &ids, &n, &err), !=, TD_OK);
  td_tokenizer_free (tok);
}

static void
test_models_store (void)
{
  td_error err = { 0 };
  const td_catalog_bundle *const *bundles = td_catalog_bundles ();
  g_assert_nonnull (bundles[0]);
  for (const td_catalog_bundle *const *b = bundles; *b != NULL; b++)
    {
      g_assert_true (td_catalog_find_bundle (td_bundle_id (*b)) == *b);
      g_assert_nonnull (td_bundle_components (*b)[0]);
      bool gated = false;
      for (const td_catalog_component *const *c = td_bundle_components (*b); *c != NULL; c++)
        {
          g_assert_nonnull (strchr (td_component_repo (*c), '/'));
          gated |= td_component_gated (*c);
        }
      g_assert_true (gated == td_bundle_gated (*b));
    }
  g_assert_null (td_catalog_find_bundle ("no-such-bundle"));

  /* An empty folder: nothing downloaded, and a check says so. */
  g_autofree char *dir = g_dir_make_tmp ("td-api-models-XXXXXX", NULL);
  const td_catalog_component *first = td_bundle_components (bundles[0])[0];
  td_component_state state;
  g_assert_cmpint (td_models_component_state (dir, first, &state, &err), ==, TD_OK);
  g_assert_cmpint (state.presence, ==, TD_PRESENCE_MISSING);
  td_check_counts check;
  g_assert_cmpint (td_models_check (dir, first, NULL, NULL, NULL, &check, &err), ==, TD_ERR_NOT_FOUND);
  g_assert_cmpuint (check.n_ok + check.n_bad, ==, 0);
  td_test_remove_tree (dir);

  /* The token store (in memory here) keeps one token per host. */
  td_token_store *store = td_token_store_new_memory ();
  char *token = NULL;
  g_assert_false (td_token_is_valid ("two words"));
  g_assert_cmpint (td_token_store_save (store, "hub.example", "hf_abc123", &err), ==, TD_OK);
  g_assert_cmpint (td_token_store_lookup (store, "hub.example", &token, &err), ==, TD_OK);
  g_assert_cmpstr (token, ==, "hf_abc123");
  td_free (token);
  g_assert_cmpint (td_token_store_clear (store, "hub.example", &err), ==, TD_OK);
  g_assert_cmpint (td_token_store_lookup (store, "hub.example", &token, &err), ==, TD_OK);
  g_assert_null (token);
  td_token_store_free (store);
}

static void
test_devices (void)
{
  td_error err = { 0 };
  td_device_info *devices = NULL;
  int count = -1;
  g_assert_cmpint (td_devices_list (&devices, &count, &err), ==, TD_OK);
  g_assert_cmpint (count, >=, 0);
  for (int i = 0; i < count; i++)
    g_assert_true (devices[i].usable || devices[i].unusable_reason != NULL);
  td_free (devices);
  char *report = NULL;
  g_assert_cmpint (td_devices_report (&report, &err), ==, TD_OK);
  g_assert_true (g_str_has_prefix (report, "cpu: "));
  td_free (report);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/api/engine-errors", test_engine_errors);
  g_test_add_func ("/api/board", test_board);
  g_test_add_func ("/api/generate", test_generate);
  g_test_add_func ("/api/text-to-image-and-cancel", test_text_to_image_and_cancel);
  g_test_add_func ("/api/checkpoints", test_checkpoints);
  g_test_add_func ("/api/tokenizer", test_tokenizer);
  g_test_add_func ("/api/models-store", test_models_store);
  g_test_add_func ("/api/devices", test_devices);
  int status = g_test_run ();
  td_test_demo_models_remove ();
  return status;
}
