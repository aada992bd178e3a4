/* test-window.c — the main window: generation through the job with the
 * preview demo worker, cancel, the missing-engine message, paste, and the
 * application's accelerators, shortcuts window and About window.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "td-application.h"
#include "td-preview-demo.h"
#include "td-test-utils.h"
#include "td-window.h"

static TdPreviewDemoOptions fast_demo = { .step_delay_ms = 10 };
static TdPreviewDemoOptions slow_demo = { .step_delay_ms = 25 };

/* Set once the stage label has named the step count (6): the steps can pass
 * faster than a test's main-loop iteration, so every label change is watched. */
static void
note_step_count (GtkLabel   *label,
                 GParamSpec *pspec,
                 gboolean   *seen)
{
  if (strstr (gtk_label_get_label (label), "6") != NULL)
    *seen = TRUE;
}

static gpointer
child (TdWindow   *window,
       const char *id)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (window), TD_TYPE_WINDOW, id);

  g_assert_nonnull (object);
  return object;
}

static gboolean
is_idle (gpointer data)
{
  return !td_window_get_running (data);
}

static gboolean
progress_started (gpointer data)
{
  return gtk_progress_bar_get_fraction (child (data, "progress_bar")) > 0.0;
}

/* The width of the first frame the preview showed (a run can finish within
 * one main-loop iteration on a loaded machine, so it is caught as it comes). */
static void
note_first_frame (GtkPicture *picture,
                  GParamSpec *pspec,
                  int        *width)
{
  GdkPaintable *paintable = gtk_picture_get_paintable (picture);

  if (*width == 0 && paintable != NULL)
    *width = gdk_paintable_get_intrinsic_width (paintable);
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

static TdWindow *
new_window (void)
{
  TdWindow *window = td_window_new (NULL);
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);

  g_settings_set_int (settings, "steps", 6);
  g_settings_set_string (settings, "size-preset", "square-512");
  g_settings_set_string (settings, "mode", "lvlm");
  /* The studio, whatever the default models folder holds. */
  td_window_show_model_setup (window, FALSE);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

static void
fill_board (TdWindow *window)
{
  TdPromptBoard *board = td_window_get_board (window);
  g_autoptr(GdkTexture) texture = td_test_make_texture (32, 32, 0xe01b24, 0x1c71d8);

  td_prompt_board_add_texture (board, texture);
  td_prompt_board_add_text (board, "the same scene at night");
}

static void
test_no_engine (void)
{
  TdWindow *window = new_window ();

  /* A build (or test) without a worker says so instead of running. */
  td_window_set_generation_worker (window, NULL, NULL);
  fill_board (window);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.generate", NULL));
  g_assert_false (td_window_get_running (window));
  g_assert_cmpstr (td_window_get_last_toast_title (window), ==,
                   "Generation engine not available in this build");
  g_assert_cmpuint (g_list_model_get_n_items (td_window_get_results (window)), ==, 0);

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_empty_board (void)
{
  TdWindow *window = new_window ();

  td_window_set_generation_worker (window, td_generation_job_run_preview_demo, &fast_demo);
  td_prompt_board_add_text (td_window_get_board (window), "");   /* an empty card says nothing */
  td_window_generate (window);
  g_assert_false (td_window_get_running (window));
  g_assert_cmpstr (td_window_get_last_toast_title (window), ==,
                   "Add an image or a text to the board first");

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_generate (void)
{
  TdWindow *window = new_window ();
  g_autoptr(TdGenerationResult) result = NULL;
  GtkTextBuffer *thought;
  g_autofree char *thought_text = NULL;
  GtkTextIter start, end;
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);

  gboolean step_count_shown = FALSE;
  int first_frame_width = 0;

  td_window_set_generation_worker (window, td_generation_job_run_preview_demo, &fast_demo);
  fill_board (window);
  g_signal_connect (child (window, "stage_label"), "notify::label", G_CALLBACK (note_step_count), &step_count_shown);
  g_signal_connect (child (window, "preview_picture"), "notify::paintable", G_CALLBACK (note_first_frame), &first_frame_width);

  g_assert_false (gtk_widget_get_visible (child (window, "progress_box")));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.generate", NULL));

  /* Running: progress shows, Cancel replaces Generate. */
  g_assert_true (td_window_get_running (window));
  g_assert_true (gtk_widget_get_visible (child (window, "progress_box")));
  g_assert_true (gtk_widget_get_visible (child (window, "cancel_button")));
  g_assert_false (gtk_widget_get_visible (child (window, "generate_button")));
  g_assert_false (gtk_widget_get_sensitive (child (window, "generate_button")));

  /* Progress and previews arrive on the main loop while it runs (the bar
   * moves from the first stage on; steps come after the thought). */
  g_assert_true (td_test_wait_for (progress_started, window, 5000));
  g_assert_true (td_test_wait_for (flag_set, &step_count_shown, 5000));
  g_assert_cmpint (first_frame_width, ==, 512 / 8);

  g_assert_true (td_test_wait_for (is_idle, window, 10000));

  /* Finished: the result is in the gallery and in the preview. */
  g_assert_cmpuint (g_list_model_get_n_items (td_window_get_results (window)), ==, 1);
  g_assert_nonnull (gtk_flow_box_get_child_at_index (child (window, "gallery"), 0));
  g_assert_true (gtk_widget_get_visible (child (window, "results_box")));
  result = g_list_model_get_item (td_window_get_results (window), 0);
  g_assert_true (gtk_picture_get_paintable (child (window, "preview_picture"))
                 == GDK_PAINTABLE (td_generation_result_get_texture (result)));
  g_assert_cmpint (gdk_texture_get_width (td_generation_result_get_texture (result)), ==, 512);
  g_assert_cmpuint (td_generation_result_get_seed (result), ==, g_settings_get_uint (settings, "seed"));

  thought = gtk_text_view_get_buffer (child (window, "thought_view"));
  gtk_text_buffer_get_bounds (thought, &start, &end);
  thought_text = gtk_text_buffer_get_text (thought, &start, &end, FALSE);
  g_assert_cmpstr (thought_text, ==, td_generation_result_get_thought (result));
  g_assert_true (gtk_widget_get_visible (child (window, "thought_box")));

  /* Idle again. */
  g_assert_false (gtk_widget_get_visible (child (window, "progress_box")));
  g_assert_true (gtk_widget_get_visible (child (window, "generate_button")));
  g_assert_true (gtk_widget_get_sensitive (child (window, "generate_button")));

  g_signal_handlers_disconnect_by_data (child (window, "stage_label"), &step_count_shown);
  g_signal_handlers_disconnect_by_data (child (window, "preview_picture"), &first_frame_width);
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_cancel (void)
{
  TdWindow *window = new_window ();
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  gint64 cancelled_at, idle_at;

  g_settings_set_int (settings, "steps", 100);
  td_window_set_generation_worker (window, td_generation_job_run_preview_demo, &slow_demo);
  fill_board (window);

  td_window_generate (window);
  g_assert_true (td_test_wait_for (progress_started, window, 5000));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.cancel", NULL));
  cancelled_at = g_get_monotonic_time ();
  g_assert_true (td_test_wait_for (is_idle, window, 5000));
  idle_at = g_get_monotonic_time ();

  /* Back to idle within about a step: no step was shown after the cancel
   * (the label still says so), and the wait was short (a step is 25 ms; the
   * bound leaves room for sanitizer builds on a loaded machine). */
  g_assert_cmpstr (gtk_label_get_label (child (window, "stage_label")), ==, "Cancelling…");
  g_assert_cmpint (idle_at - cancelled_at, <, G_USEC_PER_SEC);
  g_assert_cmpstr (td_window_get_last_toast_title (window), ==, "Generation cancelled");
  g_assert_cmpuint (g_list_model_get_n_items (td_window_get_results (window)), ==, 0);
  g_assert_false (gtk_widget_get_visible (child (window, "progress_box")));
  g_assert_true (gtk_widget_get_sensitive (child (window, "generate_button")));
  /* Nothing was finished, so the preview falls back to the empty page. */
  g_assert_cmpstr (gtk_stack_get_visible_child_name (child (window, "preview_stack")), ==, "empty");

  /* A second run after a cancel works. */
  g_settings_set_int (settings, "steps", 3);
  td_window_set_generation_worker (window, td_generation_job_run_preview_demo, &fast_demo);
  td_window_generate (window);
  g_assert_true (td_test_wait_for (is_idle, window, 10000));
  g_assert_cmpuint (g_list_model_get_n_items (td_window_get_results (window)), ==, 1);

  gtk_window_destroy (GTK_WINDOW (window));
}

static gboolean
board_has_item (gpointer data)
{
  return g_list_model_get_n_items (td_prompt_board_get_items (td_window_get_board (data))) > 0;
}

static void
test_paste_action (void)
{
  TdWindow *window = new_window ();
  g_autoptr(GdkTexture) texture = td_test_make_texture (20, 10, 0x33d17a, 0x33d17a);

  gdk_clipboard_set_texture (gtk_widget_get_clipboard (GTK_WIDGET (window)), texture);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.paste", NULL));
  g_assert_true (td_test_wait_for (board_has_item, window, 5000));

  gtk_window_destroy (GTK_WINDOW (window));
}

static gboolean
has_accel (GtkApplication *app,
           const char     *action,
           const char     *accel)
{
  g_auto(GStrv) accels = gtk_application_get_accels_for_action (app, action);

  return g_strv_contains ((const char * const *) accels, accel);
}

/* Ctrl+V sits in a bubble-phase controller on the window, after text fields. */
static void
assert_paste_shortcut (TdWindow *window)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (window));
  gboolean found = FALSE;

  for (guint i = 0; i < g_list_model_get_n_items (controllers) && !found; i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller)
          || gtk_event_controller_get_propagation_phase (controller) != GTK_PHASE_BUBBLE)
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)); j++)
        {
          g_autoptr(GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), j);
          g_autofree char *trigger = gtk_shortcut_trigger_to_string (gtk_shortcut_get_trigger (shortcut));
          g_autofree char *action = gtk_shortcut_action_to_string (gtk_shortcut_get_action (shortcut));

          if (g_str_equal (trigger, "<Control>v") && g_str_equal (action, "action(win.paste)"))
            found = TRUE;
        }
    }
  g_assert_true (found);
}

static void
test_application (void)
{
  g_autoptr(TdApplication) app = td_application_new ();
  g_autoptr(GError) error = NULL;
  TdWindow *window;
  GtkWindow *shortcuts;
  GtkWindow *about;

  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);

  g_assert_true (has_accel (GTK_APPLICATION (app), "win.generate", "<Control>Return"));
  g_assert_true (has_accel (GTK_APPLICATION (app), "win.cancel", "Escape"));
  g_assert_true (has_accel (GTK_APPLICATION (app), "win.add-image", "<Control>o"));
  g_assert_true (has_accel (GTK_APPLICATION (app), "win.save-result", "<Control>s"));
  g_assert_true (has_accel (GTK_APPLICATION (app), "app.shortcuts", "<Control>question"));
  g_assert_true (has_accel (GTK_APPLICATION (app), "win.copy-result", "<Shift><Control>c"));
  g_assert_true (has_accel (GTK_APPLICATION (app), "app.preferences", "<Control>comma"));

  window = td_window_new (GTK_APPLICATION (app));
  gtk_window_present (GTK_WINDOW (window));
  assert_paste_shortcut (window);

  /* Dark mode is the system's choice. */
  g_assert_cmpint (adw_style_manager_get_color_scheme (adw_style_manager_get_default ()), ==,
                   ADW_COLOR_SCHEME_DEFAULT);

  shortcuts = td_application_show_shortcuts (app);
  g_assert_true (GTK_IS_SHORTCUTS_WINDOW (shortcuts));
  g_assert_true (gtk_window_get_transient_for (shortcuts) == GTK_WINDOW (window));
  gtk_window_destroy (shortcuts);

  about = td_application_show_about (app);
  g_assert_true (ADW_IS_ABOUT_WINDOW (about));
  g_assert_cmpstr (adw_about_window_get_version (ADW_ABOUT_WINDOW (about)), ==, "0.1.0");
  gtk_window_destroy (about);

  /* Escape with nothing running: the cancel action is disabled. */
  g_assert_false (td_window_get_running (window));
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  if (!td_test_init (&argc, &argv))
    return 0;

  g_test_add_func ("/window/no-engine", test_no_engine);
  g_test_add_func ("/window/empty-board", test_empty_board);
  g_test_add_func ("/window/generate", test_generate);
  g_test_add_func ("/window/cancel", test_cancel);
  g_test_add_func ("/window/paste-action", test_paste_action);
  g_test_add_func ("/window/application", test_application);

  return g_test_run ();
}
