/* test-status.c — the window says what is happening: the stage in the preview
 * before the first frame, one progress bar that never goes back, errors shown
 * whole, the shortcuts window listing every accelerator, board cards moved
 * from the keyboard and accessible names.
 *
 * With $TD_SCREENSHOT_DIR set, the screenshots (a run before its first frame,
 * an error with a long message, the shortcuts window) are written there;
 * tests/app/screenshots/ holds copies.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "td-accessible.h"
#include "td-application.h"
#include "td-board-card.h"
#include "td-engine-worker.h"
#include "td-generation-progress.h"
#include "td-preview-demo.h"
#include "td-test-utils.h"
#include "td-window.h"

static TdPreviewDemoOptions demo = { .step_delay_ms = 20 };

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

static TdWindow *
new_window (GtkApplication *app)
{
  TdWindow *window = td_window_new (app);
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);

  g_settings_set_int (settings, "steps", 6);
  g_settings_set_string (settings, "size-preset", "square-512");
  g_settings_set_string (settings, "mode", "lvlm");
  td_window_show_model_setup (window, FALSE);
  td_window_set_notify_after (window, G_MAXDOUBLE);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

static void
fill_board (TdWindow *window)
{
  g_autoptr(GdkTexture) texture = td_test_make_texture (32, 32, 0xe01b24, 0x1c71d8);

  td_prompt_board_add_texture (td_window_get_board (window), texture);
  td_prompt_board_add_text (td_window_get_board (window), "the same scene at night");
}

/* One registered application for the file (a second one with the same id
 * could not export itself on the bus); it loads the stylesheet, so
 * screenshots look as the app does. */
static TdApplication *app;

static void
register_application (void)
{
  app = td_application_new ();
  g_object_set (gtk_settings_get_default (), "gtk-decoration-layout", "appmenu:close", NULL);
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, NULL));
}

static GdkTexture *
render (GtkWidget *widget)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  return gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)), node,
                                      &GRAPHENE_RECT_INIT (0, 0, width, height));
}

/* Writes a screenshot of @widget's window to $TD_SCREENSHOT_DIR/@name, when set. */
static void
screenshot (GtkWidget  *widget,
            const char *name)
{
  const char *dir = g_getenv ("TD_SCREENSHOT_DIR");
  g_autoptr(GdkTexture) shot = NULL;
  g_autofree char *path = NULL;

  td_test_iterate (300);   /* let frames settle */
  shot = render (widget);
  g_assert_cmpint (gdk_texture_get_width (shot), >, 100);
  if (dir == NULL)
    return;
  path = g_build_filename (dir, name, NULL);
  g_assert_true (gdk_texture_save_to_png (shot, path));
}

/* The first child of the result actions is Save. */
static GtkWidget *
save_button (TdWindow *window)
{
  return gtk_widget_get_first_child (child (window, "result_actions"));
}

/* Progress and the preview ------------------------------------------------- */

typedef struct {
  TdWindow  *window;
  GArray    *fractions;   /* double, every value the bar showed */
  GPtrArray *stages;      /* the stage page's titles while it was shown */
  guint      n_frames;    /* frames shown while running */
  gboolean   save_with_frame; /* Save was on while a frame was shown */
} Watch;

static void
on_frame (GtkPicture *picture,
          GParamSpec *pspec,
          Watch      *watch)
{
  if (!td_window_get_running (watch->window) || gtk_picture_get_paintable (picture) == NULL)
    return;
  watch->n_frames++;
  if (gtk_widget_get_sensitive (save_button (watch->window)))
    watch->save_with_frame = TRUE;
}

static void
on_fraction (GtkProgressBar *bar,
             GParamSpec     *pspec,
             Watch          *watch)
{
  double fraction = gtk_progress_bar_get_fraction (bar);

  g_array_append_val (watch->fractions, fraction);
}

static void
on_stage_title (AdwStatusPage *page,
                GParamSpec    *pspec,
                Watch         *watch)
{
  g_ptr_array_add (watch->stages, g_strdup (adw_status_page_get_title (page)));
}

static gboolean
shows_frame (gpointer data)
{
  return g_strcmp0 (gtk_stack_get_visible_child_name (child (data, "preview_stack")), "picture") == 0;
}

static gboolean
has_stage (Watch      *watch,
           const char *title)
{
  for (guint i = 0; i < watch->stages->len; i++)
    if (g_str_equal (g_ptr_array_index (watch->stages, i), title))
      return TRUE;
  return FALSE;
}

static void
test_progress (void)
{
  TdWindow *window = new_window (NULL);
  Watch watch = { window, g_array_new (FALSE, FALSE, sizeof (double)), g_ptr_array_new_with_free_func (g_free) };
  TdGenerationResult *first;

  td_window_set_generation_worker (window, td_generation_job_run_preview_demo, &demo);
  fill_board (window);

  /* A first result to be hidden by the next run. */
  td_window_generate (window);
  g_assert_true (td_test_wait_for (is_idle, window, 10000));
  first = td_window_get_shown_result (window);
  g_assert_nonnull (first);
  g_assert_true (gtk_widget_get_visible (child (window, "result_actions")));
  g_assert_true (gtk_widget_get_sensitive (save_button (window)));

  g_signal_connect (child (window, "progress_bar"), "notify::fraction", G_CALLBACK (on_fraction), &watch);
  g_signal_connect (child (window, "stage_page"), "notify::title", G_CALLBACK (on_stage_title), &watch);
  g_signal_connect (child (window, "preview_picture"), "notify::paintable", G_CALLBACK (on_frame), &watch);
  td_window_generate (window);

  /* Before the first frame: the stage, not the previous result, and Save
   * and Copy off (they would act on the hidden result). */
  g_assert_cmpstr (gtk_stack_get_visible_child_name (child (window, "preview_stack")), ==, "stage");
  g_assert_false (gtk_widget_get_visible (child (window, "result_actions")));
  g_assert_false (gtk_widget_get_sensitive (save_button (window)));

  g_assert_true (td_test_wait_for (is_idle, window, 10000));
  /* With frames: still no Save, a frame is not a result. */
  g_assert_cmpuint (watch.n_frames, ==, 6);
  g_assert_false (watch.save_with_frame);
  g_assert_true (shows_frame (window));
  g_assert_true (td_window_get_shown_result (window) != first);
  g_assert_true (gtk_widget_get_sensitive (save_button (window)));

  /* The stage page named what the demo did before its first frame. */
  g_assert_true (has_stage (&watch, "Starting…"));
  g_assert_true (has_stage (&watch, "Reading the board…"));
  g_assert_true (has_stage (&watch, "Thinking…"));

  /* One bar over the stages: up to the end, never backwards. */
  g_test_message ("%u progress values", watch.fractions->len);
  g_assert_cmpuint (watch.fractions->len, >=, 6);
  for (guint i = 1; i < watch.fractions->len; i++)
    g_assert_cmpfloat (g_array_index (watch.fractions, double, i), >=,
                       g_array_index (watch.fractions, double, i - 1));
  /* The demo skips loading and encoding, so its stages fill 0.8 of the bar;
   * the finished run fills it. */
  g_assert_cmpfloat (g_array_index (watch.fractions, double, watch.fractions->len - 2), >=, 0.75);
  g_assert_cmpfloat (g_array_index (watch.fractions, double, watch.fractions->len - 1), ==, 1.0);

  g_signal_handlers_disconnect_by_data (child (window, "progress_bar"), &watch);
  g_signal_handlers_disconnect_by_data (child (window, "stage_page"), &watch);
  g_signal_handlers_disconnect_by_data (child (window, "preview_picture"), &watch);
  g_array_unref (watch.fractions);
  g_ptr_array_unref (watch.stages);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* The shares of the stages: each mode's add up to one, and a stage coming
 * round again (loading) does not move the bar back. */
static void
test_progress_shares (void)
{
  const TdGenerationStage lvlm_run[] = {
    TD_GENERATION_STAGE_LOADING, TD_GENERATION_STAGE_READING, TD_GENERATION_STAGE_THINKING,
    TD_GENERATION_STAGE_ENCODING, TD_GENERATION_STAGE_LOADING, TD_GENERATION_STAGE_DENOISING,
    TD_GENERATION_STAGE_DECODING,
  };
  TdGenerationProgress progress;
  double previous = 0.0;

  for (TdGenerationMode mode = TD_GENERATION_MODE_LVLM; mode <= TD_GENERATION_MODE_TEXT; mode++)
    {
      double sum = td_generation_stage_share (mode, TD_GENERATION_STAGE_LOADING);   /* loaded twice */

      for (TdGenerationStage stage = TD_GENERATION_STAGE_LOADING; stage <= TD_GENERATION_STAGE_DECODING; stage++)
        sum += td_generation_stage_share (mode, stage);
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-9);
    }

  td_generation_progress_start (&progress, TD_GENERATION_MODE_LVLM);
  for (gsize i = 0; i < G_N_ELEMENTS (lvlm_run); i++)
    {
      guint n_steps = lvlm_run[i] == TD_GENERATION_STAGE_DENOISING ? 7 : 0;

      for (guint step = 0; step <= n_steps; step++)
        {
          double value = td_generation_progress_update (&progress, lvlm_run[i], step, n_steps);

          g_assert_cmpfloat (value, >=, previous);
          g_assert_cmpfloat (value, <=, 1.0);
          previous = value;
        }
    }
  /* All but decoding's share is filled when decoding starts. */
  g_assert_cmpfloat_with_epsilon (previous, 1.0 - td_generation_stage_share (TD_GENERATION_MODE_LVLM,
                                                                             TD_GENERATION_STAGE_DECODING), 1e-9);
  /* Half-way through denoising is half of its share past the stages before it. */
  td_generation_progress_start (&progress, TD_GENERATION_MODE_CLIP);
  td_generation_progress_update (&progress, TD_GENERATION_STAGE_ENCODING, 0, 0);
  g_assert_cmpfloat_with_epsilon (td_generation_progress_update (&progress, TD_GENERATION_STAGE_DENOISING, 5, 10),
                                  0.10 + 0.35, 1e-9);
  /* A step count going backwards (a new run's report arriving late) is held. */
  g_assert_cmpfloat_with_epsilon (td_generation_progress_update (&progress, TD_GENERATION_STAGE_DENOISING, 2, 10),
                                  0.45, 1e-9);
}

/* A run paused before its first frame, for the screenshot. */
static void
test_stage_screenshot (void)
{
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  TdPreviewDemoOptions slow = { .step_delay_ms = 1500 };
  TdWindow *window;

  g_settings_set_int (settings, "window-width", 1000);
  g_settings_set_int (settings, "window-height", 700);
  window = new_window (GTK_APPLICATION (app));
  td_window_set_generation_worker (window, td_generation_job_run_preview_demo, &slow);
  fill_board (window);
  td_window_generate (window);
  g_assert_true (td_window_get_running (window));
  td_test_iterate (1700);   /* reading the board, then thinking */
  g_assert_cmpstr (gtk_stack_get_visible_child_name (child (window, "preview_stack")), ==, "stage");
  g_assert_cmpstr (adw_status_page_get_title (child (window, "stage_page")), ==, "Thinking…");
  screenshot (GTK_WIDGET (window), "run-before-first-frame.png");

  td_window_cancel (window);
  g_assert_true (td_test_wait_for (is_idle, window, 10000));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (child (window, "preview_stack")), ==, "empty");
  gtk_window_destroy (GTK_WINDOW (window));
}

/* Errors ------------------------------------------------------------------- */

#define LONG_MESSAGE \
  "/home/user/Pictures/Holidays 2026/Lisbon/the tram up to the castle, early morning/" \
  "IMG_20260712_063015.png: the PNG data ends before the image is complete (the third " \
  "IDAT chunk is cut off after 1843 of 65536 bytes); the file may still be downloading, " \
  "or it was truncated when it was copied"

static gboolean
failing_worker (TdGenerationJob           *job,
                const TdGenerationRequest *request,
                TdGenerationOutput        *output,
                gpointer                   worker_data,
                GCancellable              *cancellable,
                GError                   **error)
{
  td_generation_job_report_progress (job, TD_GENERATION_STAGE_READING, 0, 0);
  g_set_error_literal (error, TD_ENGINE_ERROR, TD_ENGINE_ERROR_INPUT, LONG_MESSAGE);
  return FALSE;
}

static void
test_error_banner (void)
{
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  TdWindow *window;

  g_settings_set_int (settings, "window-width", 1000);
  g_settings_set_int (settings, "window-height", 700);
  window = new_window (GTK_APPLICATION (app));
  td_window_set_generation_worker (window, failing_worker, NULL);
  fill_board (window);

  g_assert_false (gtk_revealer_get_reveal_child (child (window, "error_revealer")));
  td_window_generate (window);
  g_assert_true (td_test_wait_for (is_idle, window, 10000));

  /* The whole message, with the file, in the banner; no toast cuts it. */
  g_assert_true (gtk_revealer_get_reveal_child (child (window, "error_revealer")));
  g_assert_cmpstr (gtk_label_get_label (child (window, "error_heading")), ==, "A Board Item Could Not Be Read");
  g_assert_cmpstr (gtk_label_get_label (child (window, "error_body")), ==, LONG_MESSAGE);
  g_assert_true (gtk_label_get_wrap (child (window, "error_body")));
  g_assert_cmpint (gtk_label_get_ellipsize (child (window, "error_body")), ==, PANGO_ELLIPSIZE_NONE);
  g_assert_cmpstr (td_window_get_last_error (window), ==, "A Board Item Could Not Be Read\n" LONG_MESSAGE);
  g_assert_null (td_window_get_last_toast_title (window));
  /* Nothing was made: the preview goes back to its empty page. */
  g_assert_cmpstr (gtk_stack_get_visible_child_name (child (window, "preview_stack")), ==, "empty");
  td_test_iterate (400);   /* the banner slides in */
  screenshot (GTK_WIDGET (window), "error-long-message.png");

  /* Dismissed by its button's action; the next run clears it too. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.dismiss-error", NULL));
  g_assert_false (gtk_revealer_get_reveal_child (child (window, "error_revealer")));
  g_assert_null (td_window_get_last_error (window));
  td_window_generate (window);
  g_assert_true (td_test_wait_for (is_idle, window, 10000));
  g_assert_true (gtk_revealer_get_reveal_child (child (window, "error_revealer")));
  td_window_set_generation_worker (window, td_generation_job_run_preview_demo, &demo);
  td_window_generate (window);
  g_assert_false (gtk_revealer_get_reveal_child (child (window, "error_revealer")));
  g_assert_true (td_test_wait_for (is_idle, window, 10000));
  g_assert_null (td_window_get_last_error (window));

  /* Models missing offers the setup page in the banner. */
  td_window_show_error_banner (window, "Models Missing", "no FLUX", "_Set Up Models", "win.show-models");
  g_assert_true (gtk_widget_get_visible (child (window, "error_action_button")));
  g_assert_cmpstr (gtk_actionable_get_action_name (child (window, "error_action_button")), ==, "win.show-models");

  gtk_window_destroy (GTK_WINDOW (window));
}

/* Shortcuts ---------------------------------------------------------------- */

static void
collect_shortcuts (GtkWidget *widget,
                   GPtrArray *found)
{
  if (GTK_IS_SHORTCUTS_SHORTCUT (widget))
    g_ptr_array_add (found, widget);
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    collect_shortcuts (c, found);
}

/* What the shortcut's label shows, e.g. "<Control>Return <Control>KP_Enter". */
static char *
shown_accelerator (GtkWidget *widget)
{
  if (GTK_IS_SHORTCUT_LABEL (widget))
    return g_strdup (gtk_shortcut_label_get_accelerator (GTK_SHORTCUT_LABEL (widget)));
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      char *shown = shown_accelerator (c);

      if (shown != NULL)
        return shown;
    }
  return NULL;
}

static GtkWidget *
find_shortcut (GPtrArray  *shortcuts,
               const char *action_name,
               const char *accelerator)
{
  for (guint i = 0; i < shortcuts->len; i++)
    {
      GtkWidget *shortcut = g_ptr_array_index (shortcuts, i);
      g_autofree char *action = NULL;
      g_autofree char *shown = shown_accelerator (shortcut);
      g_auto(GStrv) accels = g_strsplit (shown != NULL ? shown : "", " ", -1);

      g_object_get (shortcut, "action-name", &action, NULL);
      if (action_name != NULL && g_strcmp0 (action, action_name) != 0)
        continue;
      if (g_strv_contains ((const char * const *) accels, accelerator))
        return shortcut;
    }
  return NULL;
}

/* Every shortcut of a controller on @widget (the window's Ctrl+V and F9, a
 * card's Alt+Up and Alt+Down) whose action starts with @action_prefix is
 * listed by its accelerator. */
static void
assert_controller_shortcuts_listed (GtkWidget  *widget,
                                    const char *action_prefix,
                                    GPtrArray  *shortcuts)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)); j++)
        {
          g_autoptr(GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), j);
          GtkShortcutTrigger *trigger = gtk_shortcut_get_trigger (shortcut);
          g_autofree char *action = gtk_shortcut_action_to_string (gtk_shortcut_get_action (shortcut));
          g_autofree char *text = NULL;

          if (!GTK_IS_KEYVAL_TRIGGER (trigger) || !g_str_has_prefix (action, action_prefix))
            continue;
          /* The keypad twins of arrow keys are the same shortcut to the user. */
          if (gtk_keyval_trigger_get_keyval (GTK_KEYVAL_TRIGGER (trigger)) == GDK_KEY_KP_Up
              || gtk_keyval_trigger_get_keyval (GTK_KEYVAL_TRIGGER (trigger)) == GDK_KEY_KP_Down)
            continue;
          text = gtk_shortcut_trigger_to_string (trigger);
          g_test_message ("controller shortcut %s %s", text, action);
          g_assert_nonnull (find_shortcut (shortcuts, NULL, text));
        }
    }
}

static void
test_shortcuts_window (void)
{
  g_autoptr(GPtrArray) shortcuts = g_ptr_array_new ();
  g_auto(GStrv) actions = NULL;
  TdWindow *window;
  GtkWindow *shortcuts_window;
  GtkWidget *card;
  guint n_checked = 0;

  window = new_window (GTK_APPLICATION (app));
  td_prompt_board_add_text (td_window_get_board (window), "a card");

  shortcuts_window = td_application_show_shortcuts (app);
  g_assert_true (gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (window))
                 == GTK_SHORTCUTS_WINDOW (shortcuts_window));
  g_assert_true (td_application_show_shortcuts (app) == shortcuts_window);   /* one per window */
  collect_shortcuts (GTK_WIDGET (shortcuts_window), shortcuts);
  g_assert_cmpuint (shortcuts->len, >, 0);

  /* Every action with an accelerator, with each of its accelerators. */
  actions = gtk_application_list_action_descriptions (GTK_APPLICATION (app));
  for (guint i = 0; actions[i] != NULL; i++)
    {
      g_auto(GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), actions[i]);

      for (guint j = 0; accels[j] != NULL; j++)
        {
          g_test_message ("%s %s", actions[i], accels[j]);
          g_assert_nonnull (find_shortcut (shortcuts, actions[i], accels[j]));
          n_checked++;
        }
    }
  g_assert_cmpuint (n_checked, >=, 9);

  /* The application's and the window's actions; not GTK's own key bindings
   * (Space activates the focus, Tab moves it, …). */
  assert_controller_shortcuts_listed (GTK_WIDGET (window), "action(", shortcuts);
  card = td_prompt_board_get_card (td_window_get_board (window), 0);
  g_assert_nonnull (card);
  /* The card's own, not the list row's Space and Enter. */
  assert_controller_shortcuts_listed (card, "action(card.", shortcuts);

  gtk_window_set_default_size (shortcuts_window, 900, 640);
  td_test_iterate (300);
  screenshot (GTK_WIDGET (shortcuts_window), "shortcuts-window.png");

  gtk_window_destroy (shortcuts_window);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* Keyboard reorder and accessible names ------------------------------------ */

/* Runs the card's own Alt+@keyval shortcut, as a key press would. */
static void
press_alt (GtkWidget *card,
           guint      keyval)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (card);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)); j++)
        {
          g_autoptr(GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), j);
          GtkShortcutTrigger *trigger = gtk_shortcut_get_trigger (shortcut);

          if (GTK_IS_KEYVAL_TRIGGER (trigger)
              && gtk_keyval_trigger_get_keyval (GTK_KEYVAL_TRIGGER (trigger)) == keyval
              && gtk_keyval_trigger_get_modifiers (GTK_KEYVAL_TRIGGER (trigger)) == GDK_ALT_MASK)
            {
              g_assert_true (gtk_shortcut_action_activate (gtk_shortcut_get_action (shortcut), 0, card, NULL));
              return;
            }
        }
    }
  g_assert_not_reached ();
}

static const char *
text_at (TdPromptBoard *board,
         guint          position)
{
  g_autoptr(TdBoardItem) item = g_list_model_get_item (td_prompt_board_get_items (board), position);

  return td_board_item_get_text (item);
}

static void
test_keyboard_reorder (void)
{
  TdWindow *window = new_window (NULL);
  TdPromptBoard *board = td_window_get_board (window);

  td_prompt_board_add_text (board, "one");
  td_prompt_board_add_text (board, "two");
  td_prompt_board_add_text (board, "three");

  /* Alt+Down on the first card: it moves one down and keeps the focus. */
  gtk_widget_grab_focus (td_prompt_board_get_card (board, 0));
  press_alt (td_prompt_board_get_card (board, 0), GDK_KEY_Down);
  g_assert_cmpstr (text_at (board, 0), ==, "two");
  g_assert_cmpstr (text_at (board, 1), ==, "one");
  g_assert_true (gtk_root_get_focus (GTK_ROOT (window)) == td_prompt_board_get_card (board, 1));

  /* Alt+Up on the last card; Alt+Up on the first does nothing. */
  press_alt (td_prompt_board_get_card (board, 2), GDK_KEY_Up);
  g_assert_cmpstr (text_at (board, 1), ==, "three");
  g_assert_cmpstr (text_at (board, 2), ==, "one");
  press_alt (td_prompt_board_get_card (board, 0), GDK_KEY_Up);
  g_assert_cmpstr (text_at (board, 0), ==, "two");

  /* The card's menu entries run the same actions. */
  g_assert_true (gtk_widget_activate_action (td_prompt_board_get_card (board, 0), "card.move-down", NULL));
  g_assert_cmpstr (text_at (board, 0), ==, "three");
  g_assert_cmpstr (text_at (board, 1), ==, "two");
  press_alt (td_prompt_board_get_card (board, 2), GDK_KEY_Down);   /* the last stays last */
  g_assert_cmpstr (text_at (board, 2), ==, "one");

  gtk_window_destroy (GTK_WINDOW (window));
}

/* The label with its mnemonic underscores taken out ("_Generate" → "Generate"),
 * written here independently of td_accessible_strip_mnemonic (). */
static char *
without_mnemonic (const char *label)
{
  g_auto(GStrv) doubled = g_strsplit (label, "__", -1);

  for (guint i = 0; doubled[i] != NULL; i++)
    {
      g_auto(GStrv) parts = g_strsplit (doubled[i], "_", -1);

      g_free (doubled[i]);
      doubled[i] = g_strjoinv ("", parts);
    }
  return g_strjoinv ("_", doubled);
}

/* Every button with a mnemonic under @widget is named without the underscore. */
static guint
assert_mnemonics_not_in_names (GtkWidget *widget)
{
  guint n = 0;

  if (GTK_IS_BUTTON (widget) && gtk_button_get_use_underline (GTK_BUTTON (widget))
      && gtk_button_get_label (GTK_BUTTON (widget)) != NULL)
    {
      g_autofree char *expected = without_mnemonic (gtk_button_get_label (GTK_BUTTON (widget)));

      g_test_message ("button %s", gtk_button_get_label (GTK_BUTTON (widget)));
      gtk_test_accessible_assert_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL, expected);
      n++;
    }
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    n += assert_mnemonics_not_in_names (c);
  return n;
}

static void
test_strip_mnemonic (void)
{
  const char *const labels[] = { "_Generate", "Paint from _This Thought", "Fish __ Chips", "No mnemonic", "_", "" };

  for (gsize i = 0; i < G_N_ELEMENTS (labels); i++)
    {
      g_autofree char *stripped = td_accessible_strip_mnemonic (labels[i]);
      g_autofree char *expected = without_mnemonic (labels[i]);

      g_assert_cmpstr (stripped, ==, expected);
    }
  {
    g_autofree char *stripped = td_accessible_strip_mnemonic ("Fish __ _Chips");

    g_assert_cmpstr (stripped, ==, "Fish _ Chips");
  }
}

static void
test_accessible_names (void)
{
  TdWindow *window = new_window (NULL);
  TdPromptBoard *board = td_window_get_board (window);
  GtkFlowBoxChild *gallery_child;

  /* Board rows: an image card by its title, a text card as such. */
  fill_board (window);
  {
    g_autoptr(TdBoardItem) image = g_list_model_get_item (td_prompt_board_get_items (board), 0);
    g_autofree char *expected = g_strdup_printf ("Image “%s”", td_board_item_get_title (image));

    gtk_test_accessible_assert_property (GTK_ACCESSIBLE (td_prompt_board_get_card (board, 0)),
                                         GTK_ACCESSIBLE_PROPERTY_LABEL, expected);
  }
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (td_prompt_board_get_card (board, 1)),
                                       GTK_ACCESSIBLE_PROPERTY_LABEL, "Text Card");

  /* Gallery items: the focusable child is named after the result. */
  td_window_set_generation_worker (window, td_generation_job_run_preview_demo, &demo);
  td_window_generate (window);
  g_assert_true (td_test_wait_for (is_idle, window, 10000));
  gallery_child = gtk_flow_box_get_child_at_index (child (window, "gallery"), 0);
  g_assert_nonnull (gallery_child);
  {
    g_autofree char *expected = g_strdup_printf ("Result with seed %u",
                                                 td_generation_result_get_seed (td_window_get_shown_result (window)));

    gtk_test_accessible_assert_property (GTK_ACCESSIBLE (gallery_child), GTK_ACCESSIBLE_PROPERTY_LABEL, expected);
  }

  /* Mnemonic labels: Generate, Reuse, Paint from This Thought, the setup page's
   * buttons; also after a label changes at run time. */
  g_assert_cmpuint (assert_mnemonics_not_in_names (GTK_WIDGET (window)), >=, 6);
  td_window_show_error_banner (window, "Models Missing", "no FLUX", "_Set Up Models", "win.show-models");
  gtk_test_accessible_assert_property (child (window, "error_action_button"),
                                       GTK_ACCESSIBLE_PROPERTY_LABEL, "Set Up Models");

  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  int status;

  if (!td_test_init (&argc, &argv))
    return 0;
  register_application ();

  g_test_add_func ("/status/progress", test_progress);
  g_test_add_func ("/status/progress-shares", test_progress_shares);
  g_test_add_func ("/status/stage-screenshot", test_stage_screenshot);
  g_test_add_func ("/status/error-banner", test_error_banner);
  g_test_add_func ("/status/shortcuts-window", test_shortcuts_window);
  g_test_add_func ("/status/keyboard-reorder", test_keyboard_reorder);
  g_test_add_func ("/status/strip-mnemonic", test_strip_mnemonic);
  g_test_add_func ("/status/accessible-names", test_accessible_names);

  status = g_test_run ();
  g_object_unref (app);
  return status;
}
