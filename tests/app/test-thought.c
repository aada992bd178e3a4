/* test-thought.c — editing the thought and painting from it, on the demo models
 * (every part) on the CPU backend: after an LVLM run the thought view is editable;
 * "Paint from This Thought" paints from the edited text with the result's seed; the
 * result records the edit, differs from the original, and is what the engine paints
 * from the result's board with that thought (the path `generate --thought-file` takes).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "thinkdiff.h"
#include "td-engine-worker.h"
#include "td-result-io.h"
#include "td-test-utils.h"
#include "td-window.h"

#define EDITED "A red house by the sea"

static char *demo_dir;

static gboolean
is_idle (gpointer data)
{
  return !td_window_get_running (data);
}

/* The first widget under @widget that is a GtkTextView with the "td-thought" class. */
static GtkTextView *
find_thought_view (GtkWidget *widget)
{
  if (GTK_IS_TEXT_VIEW (widget) && gtk_widget_has_css_class (widget, "td-thought"))
    return GTK_TEXT_VIEW (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkTextView *found = find_thought_view (child);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static GBytes *
pixels_of (TdGenerationResult *result)
{
  int width = 0, height = 0;
  return td_texture_to_rgb (td_generation_result_get_texture (result), &width, &height);
}

static TdGenerationResult *
newest_result (TdWindow *window)
{
  return g_list_model_get_item (td_window_get_results (window), 0);
}

static void
test_paint_from_thought (void)
{
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  g_autofree char *dir = td_test_make_temp_dir ();
  g_autofree char *image_path = g_build_filename (dir, "board.png", NULL);
  g_autoptr(TdGenerationResult) original = NULL;
  g_autoptr(TdGenerationResult) edited = NULL;
  g_autoptr(GBytes) original_pixels = NULL;
  g_autoptr(GBytes) edited_pixels = NULL;
  g_autoptr(GError) error = NULL;
  uint8_t rgb[64 * 64 * 3];
  td_image image = { 64, 64, rgb };
  td_error err = { 0 };
  TdWindow *window;
  GtkTextView *view;
  GSList files = { 0 };

  for (gsize i = 0; i < sizeof rgb; i++)
    rgb[i] = (uint8_t) (i * 7 % 251);
  g_assert_cmpint (td_image_save_png (image_path, &image, NULL, 0, &err), ==, TD_OK);

  g_settings_set_string (settings, "model-folder", demo_dir);
  g_settings_set_string (settings, "gpu-device", "cpu");
  g_settings_set_string (settings, "size-preset", "custom");
  g_settings_set_int (settings, "width", 256);
  g_settings_set_int (settings, "height", 256);
  g_settings_set_int (settings, "steps", 2);
  g_settings_set_string (settings, "mode", "lvlm");
  g_settings_set_boolean (settings, "seed-locked", TRUE);
  g_settings_set_uint (settings, "seed", 99);
  window = td_window_new (NULL);
  gtk_window_present (GTK_WINDOW (window));
  view = find_thought_view (GTK_WIDGET (window));
  g_assert_nonnull (view);

  files.data = g_file_new_for_path (image_path);
  g_assert_cmpuint (td_prompt_board_add_files (td_window_get_board (window), &files), ==, 1);
  g_object_unref (files.data);
  td_prompt_board_add_text (td_window_get_board (window), "What comes next?");
  td_window_generate (window);
  /* While it runs the thought is not editable, and painting from it starts nothing. */
  g_assert_false (gtk_text_view_get_editable (view));
  td_window_paint_from_thought (window);
  g_assert_true (td_test_wait_for (is_idle, window, 120000));
  g_assert_cmpuint (g_list_model_get_n_items (td_window_get_results (window)), ==, 1);
  original = newest_result (window);
  g_assert_nonnull (td_generation_result_get_thought (original));
  g_assert_false (td_generation_result_get_thought_edited (original));

  /* Edit the thought as a user would, and paint from it. */
  g_assert_true (gtk_text_view_get_editable (view));
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (view), EDITED, -1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.paint-thought", NULL));
  g_assert_true (td_window_get_running (window));
  g_assert_true (td_test_wait_for (is_idle, window, 120000));
  g_assert_cmpuint (g_list_model_get_n_items (td_window_get_results (window)), ==, 2);
  edited = newest_result (window);
  g_assert_cmpstr (td_generation_result_get_thought (edited), ==, EDITED);
  g_assert_true (td_generation_result_get_thought_edited (edited));
  g_assert_cmpuint (td_generation_result_get_seed (edited), ==, td_generation_result_get_seed (original));
  original_pixels = pixels_of (original);
  edited_pixels = pixels_of (edited);
  g_assert_false (g_bytes_equal (original_pixels, edited_pixels));

  /* Saved, the PNG says the thought was edited. */
  {
    g_autofree char *png = g_build_filename (dir, "edited.png", NULL);
    td_image_text *text = NULL;
    size_t n_text = 0;
    gboolean flagged = FALSE;

    g_assert_true (td_result_save (edited, png, &error));
    g_assert_no_error (error);
    g_assert_cmpint (td_image_png_text (png, NULL, &text, &n_text, &err), ==, TD_OK);
    for (size_t i = 0; i < n_text; i++)
      flagged |= strcmp (text[i].key, "thinkdiff:thought-edited") == 0 && strcmp (text[i].value, "true") == 0;
    td_image_text_free (text, n_text);
    g_assert_true (flagged);
  }

  /* The engine, given the result's board and the same thought, paints the same image. */
  {
    td_board *board = td_result_parse_board (td_generation_result_get_board_json (edited), &error);
    td_engine_options options = td_engine_options_default ();
    td_model_paths paths = { 0 };
    td_output *output = NULL;
    td_engine *engine;

    g_assert_no_error (error);
    g_assert_cmpint (td_board_set_thought (board, EDITED, &err), ==, TD_OK);
    options.backend = "cpu";
    engine = td_engine_new (&options, &err);
    g_assert_nonnull (engine);
    g_assert_cmpint (td_model_paths_find (demo_dir, &paths, &err), ==, TD_OK);
    if (td_engine_generate (engine, board, &paths, NULL, &output, &err) != TD_OK)
      g_error ("%s", err.message);
    g_assert_cmpint (td_output_image (output)->width, ==, 256);
    g_assert_cmpmem (td_output_image (output)->rgb, 256 * 256 * 3, g_bytes_get_data (edited_pixels, NULL),
                     g_bytes_get_size (edited_pixels));
    td_output_free (output);
    td_model_paths_clear (&paths);
    td_engine_free (engine);
    td_board_free (board);
  }

  gtk_window_destroy (GTK_WINDOW (window));
  td_test_remove_dir (dir);
}

/* "Generate 4": four results with consecutive seeds, in the gallery's grid, each reusable. */
static void
test_variations (void)
{
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  g_autoptr(GPtrArray) pixels = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  TdWindow *window;
  GListModel *results;

  g_settings_set_string (settings, "model-folder", demo_dir);
  g_settings_set_string (settings, "gpu-device", "cpu");
  g_settings_set_string (settings, "size-preset", "custom");
  g_settings_set_int (settings, "width", 256);
  g_settings_set_int (settings, "height", 256);
  g_settings_set_int (settings, "steps", 2);
  g_settings_set_boolean (settings, "seed-locked", TRUE);
  g_settings_set_uint (settings, "seed", 5);
  window = td_window_new (NULL);
  gtk_window_present (GTK_WINDOW (window));
  td_prompt_board_add_text (td_window_get_board (window), "a red boat");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.generate-variations", NULL));
  g_assert_true (td_test_wait_for (is_idle, window, 240000));

  results = td_window_get_results (window);
  g_assert_cmpuint (g_list_model_get_n_items (results), ==, 4);
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(TdGenerationResult) result = g_list_model_get_item (results, i);

      /* Newest first: seeds 8, 7, 6, 5. */
      g_assert_cmpuint (td_generation_result_get_seed (result), ==, 8 - i);
      g_assert_nonnull (td_generation_result_get_board_json (result));
      g_ptr_array_add (pixels, pixels_of (result));
      td_window_show_result (window, result);
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.reuse-result", NULL));
    }
  for (guint i = 1; i < 4; i++)
    g_assert_false (g_bytes_equal (pixels->pdata[i - 1], pixels->pdata[i]));
  g_assert_cmpuint (g_settings_get_uint (settings, "seed"), ==, 5);
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *data_home = NULL;
  td_error err = { 0 };
  int status;

  data_home = g_dir_make_tmp ("td-test-data-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_setenv ("XDG_CACHE_HOME", data_home, TRUE);

  if (!td_test_init (&argc, &argv))
    return 0;

  demo_dir = g_build_filename (data_home, "demo", NULL);
  if (td_demo_models_write (demo_dir, td_demo_tokenizers_dir (), &err) != TD_OK)
    g_error ("demo models: %s", err.message);

  g_test_add_func ("/thought/paint-from-thought", test_paint_from_thought);
  g_test_add_func ("/thought/variations", test_variations);

  status = g_test_run ();
  td_engine_worker_release_backend ();
  td_test_remove_dir (data_home);
  g_free (demo_dir);
  return status;
}
