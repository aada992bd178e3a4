/* test-engine.c — the engine worker on the real pipeline with the demo
 * models on the CPU backend: reports on the main loop, a result in the
 * gallery, cancel within a step, missing models; saving with metadata and
 * Reuse (button and a PNG dropped on the board); the model setup page and
 * the Preferences window.
 *
 * The demo folder here is trimmed to FLUX (make-demo-models writes every
 * part), so text-only boards run FLUX text-to-image through the worker; the
 * test says which path ran. tests/cli runs the CLIP and LVLM demo parts.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "thinkdiff.h"
#include "td-application.h"
#include "td-engine-worker.h"
#include "td-preferences-window.h"
#include "td-result-io.h"
#include "td-test-utils.h"
#include "td-window.h"

static char *demo_dir;   /* demo models written once for the whole file */

typedef struct {
  GThread            *main_thread;
  GArray             *steps;
  GArray             *step_times;   /* gint64 µs */
  guint               n_previews;
  guint               n_off_thread;
  int                 preview_width;
  TdGenerationResult *result;
  GError             *error;
  gboolean            done;
  gint64              finished_at;
  GCancellable       *cancel_after_two_steps;
  gint64              cancelled_at;
} Run;

static void
on_progress (TdGenerationJob   *job,
             TdGenerationStage  stage,
             guint              step,
             guint              n_steps,
             Run               *run)
{
  gint64 now = g_get_monotonic_time ();

  if (g_thread_self () != run->main_thread)
    run->n_off_thread++;
  if (stage != TD_GENERATION_STAGE_DENOISING || step == 0)
    return;
  g_array_append_val (run->steps, step);
  g_array_append_val (run->step_times, now);
  if (run->cancel_after_two_steps != NULL && run->cancelled_at == 0 && run->steps->len == 2)
    {
      run->cancelled_at = now;
      g_cancellable_cancel (run->cancel_after_two_steps);
    }
}

static void
on_preview (TdGenerationJob *job,
            GdkTexture      *texture,
            Run             *run)
{
  if (g_thread_self () != run->main_thread)
    run->n_off_thread++;
  run->n_previews++;
  run->preview_width = gdk_texture_get_width (texture);
}

static void
on_done (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Run *run = user_data;

  run->result = td_generation_job_run_finish (TD_GENERATION_JOB (source), result, &run->error);
  run->done = TRUE;
  run->finished_at = g_get_monotonic_time ();
}

static gboolean
run_done (gpointer data)
{
  return ((Run *) data)->done;
}

static TdGenerationRequest *
text_request (const char       *models,
              int               size,
              int               steps,
              TdGenerationMode  mode)
{
  TdGenerationRequest *request = td_generation_request_new ();
  TdGenerationInput *input = g_new0 (TdGenerationInput, 1);

  request->mode = mode;
  request->width = request->height = size;
  request->steps = steps;
  request->guidance = 3.5;
  request->seed = 7;
  request->preview_method = TD_PREVIEW_METHOD_LATENT;
  g_free (request->model_folder);
  request->model_folder = g_strdup (models);
  g_free (request->gpu_device);
  request->gpu_device = g_strdup ("cpu");
  input->kind = TD_BOARD_ITEM_TEXT;
  input->text = g_strdup ("a lighthouse on a cliff at dusk");
  g_ptr_array_add (request->inputs, input);
  return request;
}

static void
run_job (TdGenerationRequest *request,
         Run                 *run,
         GCancellable        *cancellable,
         guint                timeout_ms)
{
  g_autoptr(TdGenerationJob) job = td_generation_job_new (request, td_generation_engine_worker (), NULL);

  run->main_thread = g_thread_self ();
  run->steps = g_array_new (FALSE, FALSE, sizeof (guint));
  run->step_times = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_signal_connect (job, "progress", G_CALLBACK (on_progress), run);
  g_signal_connect (job, "preview", G_CALLBACK (on_preview), run);
  td_generation_job_run_async (job, cancellable, on_done, run);
  g_assert_true (td_test_wait_for (run_done, run, timeout_ms));
}

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->steps, g_array_unref);
  g_clear_pointer (&run->step_times, g_array_unref);
  g_clear_object (&run->result);
  g_clear_error (&run->error);
}

/* The worker ------------------------------------------------------------- */

static void
test_worker_generates (void)
{
  Run run = { 0 };
  GdkTexture *texture;
  g_autoptr(td_board) board = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (td_generation_engine_worker () == td_engine_worker_run);
  run_job (text_request (demo_dir, 64, 2, TD_GENERATION_MODE_TEXT), &run, NULL, 60000);
  g_assert_no_error (run.error);
  g_assert_nonnull (run.result);

  /* Both steps and a latent-sized preview per step, all on the main loop. */
  g_assert_cmpuint (run.steps->len, ==, 2);
  g_assert_cmpuint (g_array_index (run.steps, guint, 0), ==, 1);
  g_assert_cmpuint (g_array_index (run.steps, guint, 1), ==, 2);
  g_assert_cmpuint (run.n_previews, ==, 2);
  g_assert_cmpint (run.preview_width, ==, 64 / 8);
  g_assert_cmpuint (run.n_off_thread, ==, 0);

  texture = td_generation_result_get_texture (run.result);
  g_assert_cmpint (gdk_texture_get_width (texture), ==, 64);
  g_assert_cmpint (gdk_texture_get_height (texture), ==, 64);

  /* The Text Only mode ran FLUX text-to-image, as chosen: no notice about it. */
  g_test_message ("mode that ran: %s", td_generation_result_get_mode_name (run.result));
  g_assert_cmpstr (td_generation_result_get_mode_name (run.result), ==, "text-to-image");
  g_assert_null (td_generation_result_get_notice (run.result));

  /* The board travels with the result, ready for the PNG and Reuse. */
  board = td_result_parse_board (td_generation_result_get_board_json (run.result), &error);
  g_assert_no_error (error);
  const char *text = NULL;
  g_assert_cmpint (td_board_n_items (board), ==, 1);
  g_assert_true (td_board_item_at (board, 0, NULL, &text));
  g_assert_cmpstr (text, ==, "a lighthouse on a cliff at dusk");
  g_assert_cmpint (td_board_get_settings (board).steps, ==, 2);
  g_assert_cmpuint (td_board_get_settings (board).seed, ==, 7);

  run_clear (&run);
}

static void
test_worker_cancel (void)
{
  Run run = { 0 };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  gint64 step_us, cancel_us;

  /* Many steps; the second step report cancels the job. */
  run.cancel_after_two_steps = cancellable;
  run_job (text_request (demo_dir, 256, 60, TD_GENERATION_MODE_TEXT), &run, cancellable, 120000);
  g_assert_error (run.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (run.result);

  /* Reports after the cancel are dropped, and the job ends within about a
   * step (the engine checks the flag between steps): the time from step 1 to
   * step 2 is the yardstick, with slack for the thread hand-over. */
  g_assert_cmpuint (run.steps->len, ==, 2);
  step_us = g_array_index (run.step_times, gint64, 1) - g_array_index (run.step_times, gint64, 0);
  cancel_us = run.finished_at - run.cancelled_at;
  g_test_message ("a step took %.0f ms, the cancel %.0f ms", step_us / 1000.0, cancel_us / 1000.0);
  g_assert_cmpint (cancel_us, <, 2 * step_us + G_USEC_PER_SEC / 2);

  run_clear (&run);
}

static void
test_worker_missing_models (void)
{
  Run run = { 0 };
  g_autofree char *empty = td_test_make_temp_dir ();

  run_job (text_request (empty, 64, 2, TD_GENERATION_MODE_LVLM), &run, NULL, 30000);
  g_assert_error (run.error, TD_ENGINE_ERROR, TD_ENGINE_ERROR_MODELS_MISSING);
  g_assert_nonnull (strstr (run.error->message, "flux"));
  run_clear (&run);
  run = (Run) { 0 };

  run_job (text_request (empty, 64, 2, TD_GENERATION_MODE_TEXT), &run, NULL, 30000);
  g_assert_error (run.error, TD_ENGINE_ERROR, TD_ENGINE_ERROR_MODELS_MISSING);
  g_assert_nonnull (strstr (run.error->message, "FLUX"));
  run_clear (&run);
  run = (Run) { 0 };

  /* Only FLUX installed and Reasoning chosen: no silent text-to-image, but
   * the error says which mode can run. */
  run_job (text_request (demo_dir, 64, 2, TD_GENERATION_MODE_LVLM), &run, NULL, 30000);
  g_assert_error (run.error, TD_ENGINE_ERROR, TD_ENGINE_ERROR_MODELS_MISSING);
  g_assert_nonnull (strstr (run.error->message, "Text Only"));
  g_assert_null (run.result);
  run_clear (&run);
  td_test_remove_dir (empty);
}

/* The request's "weight-files" reach the engine: a FLUX choice that is not a FLUX
 * weight file of the folder fails the run naming the file, and without it the
 * same request paints. */
static void
test_worker_weight_files (void)
{
  Run run = { 0 };
  g_autofree char *vae = g_build_filename (demo_dir, "flux-dev", "vae", NULL);
  TdGenerationRequest *request = text_request (demo_dir, 64, 1, TD_GENERATION_MODE_TEXT);
  GVariantBuilder files;

  g_variant_builder_init (&files, G_VARIANT_TYPE ("a{ss}"));
  g_variant_builder_add (&files, "{ss}", "flux", vae);
  request->weight_files = g_variant_ref_sink (g_variant_builder_end (&files));
  run_job (request, &run, NULL, 60000);
  g_assert_nonnull (run.error);
  g_assert_nonnull (strstr (run.error->message, vae));
  g_assert_null (run.result);
  run_clear (&run);
  run = (Run) { 0 };

  run_job (text_request (demo_dir, 64, 1, TD_GENERATION_MODE_TEXT), &run, NULL, 60000);
  g_assert_no_error (run.error);
  g_assert_nonnull (run.result);
  run_clear (&run);
}

/* The window ------------------------------------------------------------- */

static gboolean
is_idle (gpointer data)
{
  return !td_window_get_running (data);
}

static TdWindow *
engine_window (const char *models)
{
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  TdWindow *window;

  g_settings_set_string (settings, "model-folder", models);
  g_settings_set_string (settings, "gpu-device", "cpu");
  g_settings_set_string (settings, "size-preset", "custom");
  g_settings_set_int (settings, "width", 256);
  g_settings_set_int (settings, "height", 256);
  g_settings_set_int (settings, "steps", 2);
  g_settings_set_string (settings, "mode", "text");
  g_settings_set_boolean (settings, "seed-locked", TRUE);
  g_settings_set_uint (settings, "seed", 99);
  window = td_window_new (NULL);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

static void
test_window_generates (void)
{
  TdWindow *window = engine_window (demo_dir);
  g_autoptr(TdGenerationResult) result = NULL;
  g_autofree char *png = NULL;
  g_autofree char *jpeg = NULL;
  g_autofree char *dir = td_test_make_temp_dir ();
  g_autoptr(GError) error = NULL;
  td_image loaded = { 0 };
  td_error err = { 0 };

  /* With FLUX in the folder the window opens on the studio, not the setup. */
  g_assert_false (td_window_get_showing_model_setup (window));
  td_window_set_notify_after (window, 0);
  td_prompt_board_add_text (td_window_get_board (window), "a red boat");
  td_window_generate (window);
  g_assert_true (td_window_get_running (window));
  g_assert_true (td_test_wait_for (is_idle, window, 60000));

  g_assert_cmpuint (g_list_model_get_n_items (td_window_get_results (window)), ==, 1);
  result = g_list_model_get_item (td_window_get_results (window), 0);
  g_assert_true (td_window_get_shown_result (window) == result);
  g_assert_cmpint (gdk_texture_get_width (td_generation_result_get_texture (result)), ==, 256);
  /* The Text Only mode, chosen, not a fallback: nothing to announce. */
  g_assert_cmpstr (td_generation_result_get_mode_name (result), ==, "text-to-image");
  g_assert_null (td_generation_result_get_notice (result));

  /* Saved as PNG, the board rides along in a text chunk; as JPEG, in a comment. */
  png = g_build_filename (dir, "result.png", NULL);
  jpeg = g_build_filename (dir, "result.jpg", NULL);
  g_assert_true (td_result_save (result, png, &error));
  g_assert_no_error (error);
  g_assert_true (td_result_save (result, jpeg, &error));
  g_assert_no_error (error);
  g_assert_cmpint (td_image_load (jpeg, NULL, &loaded, &err), ==, TD_OK);
  g_assert_cmpint (loaded.width, ==, 256);
  td_image_clear (&loaded);

  /* Every job counts as long here: an unfocused window (Xvfb has no window
   * manager to focus it) notifies, a focused one does not. The window has no
   * application, so nothing is sent. */
  g_assert_cmpuint (td_window_get_n_notifications (window), ==,
                    gtk_window_is_active (GTK_WINDOW (window)) ? 0 : 1);

  gtk_window_destroy (GTK_WINDOW (window));
  td_test_remove_dir (dir);
}

static void
test_window_missing_models (void)
{
  g_autofree char *empty = td_test_make_temp_dir ();
  TdWindow *window = engine_window (empty);

  /* An empty folder opens the setup page; generating anyway says what is
   * missing, and the window stays usable. */
  g_assert_true (td_window_get_showing_model_setup (window));
  td_window_show_model_setup (window, FALSE);
  td_prompt_board_add_text (td_window_get_board (window), "a red boat");
  td_window_generate (window);
  g_assert_true (td_test_wait_for (is_idle, window, 30000));
  g_assert_true (g_str_has_prefix (td_window_get_last_error (window), "Models Missing\n"));
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (window), TD_TYPE_WINDOW,
                                                                                      "generate_button"))));

  gtk_window_destroy (GTK_WINDOW (window));
  td_test_remove_dir (empty);
}

/* Reuse ------------------------------------------------------------------ */

static gboolean
thumbnails_loaded (gpointer data)
{
  return td_prompt_board_get_n_pending (td_window_get_board (data)) == 0;
}

/* A result made of a board with an image and a text, saved as PNG, restores
 * that board and its settings: through the Reuse action and by dropping the
 * PNG on the board (not added as an image then). */
static void
test_reuse (void)
{
  g_autofree char *dir = td_test_make_temp_dir ();
  g_autoptr(GFile) image = td_test_write_png (dir, "cat.png", 24, 24, 0xf6d32d, 0x1c71d8);
  g_autofree char *image_path = g_file_get_path (image);
  g_autoptr(GdkTexture) texture = td_test_make_texture (32, 32, 0xe01b24, 0x26a269);
  g_autoptr(TdGenerationResult) result = td_generation_result_new (texture, "a thought", 4242);
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  g_autofree char *png = g_build_filename (dir, "made.png", NULL);
  g_autoptr(GFile) png_file = g_file_new_for_path (png);
  g_autofree char *json = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GValue) value = G_VALUE_INIT;
  td_board *board = td_board_new (TD_BOARD_CLIP);
  td_error err = { 0 };
  TdWindow *window = engine_window (demo_dir);
  GListModel *items = td_prompt_board_get_items (td_window_get_board (window));
  g_autoptr(TdBoardItem) first = NULL;
  g_autoptr(TdBoardItem) second = NULL;
  g_autofree char *mode = NULL;
  g_autofree char *preset = NULL;

  td_board_settings board_settings = td_board_get_settings (board);

  board_settings.width = 768;
  board_settings.height = 768;
  board_settings.steps = 17;
  board_settings.guidance = 5.0f;
  board_settings.seed = 4242;
  td_board_set_settings (board, &board_settings);
  g_assert_cmpint (td_board_add (board, TD_BOARD_IMAGE, image_path, &err), ==, TD_OK);
  g_assert_cmpint (td_board_add (board, TD_BOARD_TEXT, "as a painting", &err), ==, TD_OK);
  json = td_board_to_json (board);
  td_board_free (board);
  td_generation_result_set_metadata (result, json, "clip", NULL);
  g_assert_true (td_result_save (result, png, &error));
  g_assert_no_error (error);

  /* Dropping the PNG on the board restores it (the board holds another
   * card, so Reuse asks first: Replace Board). */
  td_prompt_board_add_text (td_window_get_board (window), "something else");
  g_value_init (&value, G_TYPE_FILE);
  g_value_set_object (&value, png_file);
  g_assert_true (td_prompt_board_handle_drop (td_window_get_board (window), &value));
  g_assert_nonnull (td_test_find_message_dialog (GTK_WINDOW (window)));
  td_test_answer_dialog (td_test_find_message_dialog (GTK_WINDOW (window)), "replace");
  g_assert_true (td_test_wait_for (thumbnails_loaded, window, 5000));

  g_assert_cmpuint (g_list_model_get_n_items (items), ==, 2);
  first = g_list_model_get_item (items, 0);
  second = g_list_model_get_item (items, 1);
  g_assert_cmpint (td_board_item_get_kind (first), ==, TD_BOARD_ITEM_IMAGE);
  g_assert_true (g_file_equal (td_board_item_get_file (first), image));
  g_assert_cmpstr (td_board_item_get_text (second), ==, "as a painting");
  mode = g_settings_get_string (settings, "mode");
  preset = g_settings_get_string (settings, "size-preset");
  g_assert_cmpstr (mode, ==, "clip");
  g_assert_cmpstr (preset, ==, "square-768");
  g_assert_cmpint (g_settings_get_int (settings, "steps"), ==, 17);
  g_assert_cmpfloat (g_settings_get_double (settings, "guidance"), ==, 5.0);
  g_assert_cmpuint (g_settings_get_uint (settings, "seed"), ==, 4242);
  g_assert_true (g_settings_get_boolean (settings, "seed-locked"));

  /* The Reuse action does the same from the shown result. */
  td_prompt_board_clear (td_window_get_board (window));
  g_settings_set_int (settings, "steps", 3);
  td_window_show_result (window, result);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.reuse-result", NULL));
  g_assert_cmpuint (g_list_model_get_n_items (items), ==, 2);
  g_assert_cmpint (g_settings_get_int (settings, "steps"), ==, 17);

  /* A plain PNG is added as an image, as before. */
  g_value_set_object (&value, image);
  g_assert_true (td_prompt_board_handle_drop (td_window_get_board (window), &value));
  g_assert_cmpuint (g_list_model_get_n_items (items), ==, 3);
  g_assert_true (td_test_wait_for (thumbnails_loaded, window, 5000));

  gtk_window_destroy (GTK_WINDOW (window));
  td_test_remove_dir (dir);
}

/* Model setup and Preferences -------------------------------------------- */

static gboolean
setup_idle (gpointer data)
{
  return !td_model_setup_get_busy (data);
}

static void
test_model_setup (void)
{
  g_autofree char *empty = td_test_make_temp_dir ();
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  g_autofree char *demo = td_model_setup_demo_dir ();
  g_autofree char *folder = NULL;
  TdWindow *window = engine_window (empty);
  TdModelSetup *setup = td_window_get_model_setup (window);

  g_assert_true (td_window_get_showing_model_setup (window));
  g_assert_false (td_model_setup_get_ready (setup));
  for (int part = 0; part < TD_PART_COUNT; part++)
    {
      const char *subtitle = adw_action_row_get_subtitle (ADW_ACTION_ROW (td_model_setup_get_part_row (setup, part)));
      g_autofree char *pull = g_strdup_printf ("thinkdiff models pull %s", td_model_part_bundle (part));

      g_assert_false (td_model_setup_get_part_found (setup, part));
      g_assert_true (g_str_has_prefix (subtitle, "Missing: "));
      g_assert_nonnull (strstr (subtitle, pull));
      g_assert_nonnull (strstr (subtitle, "on Hugging Face"));
    }

  /* The demo models go to the user data folder and become the models folder. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (setup), "setup.use-demo-models", NULL));
  g_assert_true (td_model_setup_get_busy (setup));
  g_assert_true (td_test_wait_for (setup_idle, setup, 30000));
  folder = g_settings_get_string (settings, "model-folder");
  g_assert_cmpstr (folder, ==, demo);
  g_assert_true (g_str_has_prefix (demo, g_get_user_data_dir ()));
  g_assert_true (td_model_setup_get_ready (setup));
  g_assert_true (td_model_setup_get_part_found (setup, TD_PART_FLUX));
  g_assert_cmpstr (td_window_get_last_toast_title (window), ==,
                   "Demo models ready. They are untrained: their images are noise");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (setup), "setup.continue", NULL));
  g_assert_false (td_window_get_showing_model_setup (window));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-models", NULL));
  g_assert_true (td_window_get_showing_model_setup (window));

  gtk_window_destroy (GTK_WINDOW (window));
  td_test_remove_dir (empty);
}

static void
test_preferences (void)
{
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  GtkWidget *prefs;
  AdwComboRow *gpu_row = NULL;
  GListModel *gpus;
  g_autofree char *device = NULL;

  g_settings_set_string (settings, "gpu-device", "");
  prefs = td_preferences_window_new (NULL);
  gtk_window_present (GTK_WINDOW (prefs));

  /* Find the GPU row by its title; its list starts with Automatic and CPU. */
  for (GtkWidget *w = prefs; w != NULL; )
    {
      if (ADW_IS_COMBO_ROW (w) && g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (w)), "GPU") == 0)
        {
          gpu_row = ADW_COMBO_ROW (w);
          break;
        }
      if (gtk_widget_get_first_child (w) != NULL)
        w = gtk_widget_get_first_child (w);
      else
        {
          while (w != NULL && gtk_widget_get_next_sibling (w) == NULL)
            w = gtk_widget_get_parent (w);
          if (w != NULL)
            w = gtk_widget_get_next_sibling (w);
        }
    }
  g_assert_nonnull (gpu_row);
  gpus = adw_combo_row_get_model (gpu_row);
  g_assert_cmpuint (g_list_model_get_n_items (gpus), >=, 2);
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (gpus), 1), ==, "Processor (CPU)");
  adw_combo_row_set_selected (gpu_row, 1);
  device = g_settings_get_string (settings, "gpu-device");
  g_assert_cmpstr (device, ==, "cpu");

  gtk_window_destroy (GTK_WINDOW (prefs));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *data_home = NULL;
  td_error err = { 0 };
  int status;

  /* Demo models from the setup page go under the user data folder: a temporary one. */
  data_home = g_dir_make_tmp ("td-test-data-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_setenv ("XDG_CACHE_HOME", data_home, TRUE);

  if (!td_test_init (&argc, &argv))
    return 0;

  demo_dir = g_build_filename (data_home, "demo", NULL);
  if (td_demo_models_write (demo_dir, td_demo_tokenizers_dir (), &err) != TD_OK)
    g_error ("demo models: %s", err.message);
  /* Only FLUX stays, so the Text Only mode is what these tests run. */
  const char *const not_flux[] = { "qwen2-vl-7b-instruct", "thinkdiff-lvlm", "blip2-vision", "thinkdiff-clip" };
  for (gsize i = 0; i < G_N_ELEMENTS (not_flux); i++)
    {
      g_autofree char *part = g_build_filename (demo_dir, not_flux[i], NULL);
      td_test_remove_dir (part);
    }

  g_test_add_func ("/engine/worker/generates", test_worker_generates);
  g_test_add_func ("/engine/worker/cancel", test_worker_cancel);
  g_test_add_func ("/engine/worker/missing-models", test_worker_missing_models);
  g_test_add_func ("/engine/worker/weight-files", test_worker_weight_files);
  g_test_add_func ("/engine/window/generates", test_window_generates);
  g_test_add_func ("/engine/window/missing-models", test_window_missing_models);
  g_test_add_func ("/engine/reuse", test_reuse);
  g_test_add_func ("/engine/model-setup", test_model_setup);
  g_test_add_func ("/engine/preferences", test_preferences);

  status = g_test_run ();
  td_engine_worker_release_backend ();
  td_test_remove_dir (data_home);
  g_free (demo_dir);
  return status;
}
