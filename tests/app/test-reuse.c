/* test-reuse.c — Reuse never destroys the board silently, and settings stay
 * saved after it.
 *
 * /reuse/replace-add-undo: on a board that holds other cards, Reuse (the
 * result's button, or a generated PNG dropped on the board) asks: Add to
 * Board keeps the cards and appends the image's items, Replace Board puts the
 * image's board and settings in their place; Undo gives back the very cards
 * and the settings. The seed comes along only when Reuse Takes the Seed is on
 * (a switch in the settings, and a check box in the dialog).
 * /reuse/settings-persist: after Reuse, changing a setting in the panel is
 * stored at once (Reuse must not leave the panel's settings delayed).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "thinkdiff.h"
#include "td-result-io.h"
#include "td-test-utils.h"
#include "td-window.h"

static gboolean
thumbnails_loaded (gpointer data)
{
  return td_prompt_board_get_n_pending (td_window_get_board (data)) == 0;
}

static gboolean
dialog_shown (gpointer data)
{
  return td_test_find_message_dialog (data) != NULL;
}

static GtkWidget *
panel_child (TdWindow   *window,
             const char *name)
{
  return GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (td_window_get_settings_panel (window)),
                                                    TD_TYPE_SETTINGS_PANEL, name));
}

static TdWindow *
new_window (void)
{
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  TdWindow *window;

  g_settings_set_string (settings, "mode", "lvlm");
  g_settings_set_string (settings, "size-preset", "square-512");
  g_settings_set_int (settings, "steps", 3);
  g_settings_set_uint (settings, "seed", 1);
  g_settings_set_boolean (settings, "seed-locked", FALSE);
  g_settings_set_boolean (settings, "reuse-seed", TRUE);
  window = td_window_new (NULL);
  td_window_show_model_setup (window, FALSE);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

/* A result whose board is an image and a text, 768², 17 steps, seed 4242, CLIP. */
static TdGenerationResult *
made_result (const char *image_path)
{
  g_autoptr(GdkTexture) texture = td_test_make_texture (32, 32, 0xe01b24, 0x26a269);
  TdGenerationResult *result = td_generation_result_new (texture, "a thought", 4242);
  td_board *board = td_board_new (TD_BOARD_CLIP);
  td_board_settings settings = td_board_get_settings (board);
  td_error err = { 0 };
  char *json;

  settings.width = 768;
  settings.height = 768;
  settings.steps = 17;
  settings.guidance = 5.0f;
  settings.seed = 4242;
  td_board_set_settings (board, &settings);
  g_assert_cmpint (td_board_add (board, TD_BOARD_IMAGE, image_path, &err), ==, TD_OK);
  g_assert_cmpint (td_board_add (board, TD_BOARD_TEXT, "as a painting", &err), ==, TD_OK);
  json = td_board_to_json (board);
  td_generation_result_set_metadata (result, json, "clip", NULL);
  td_free (json);
  td_board_free (board);
  return result;
}

static const char *
text_at (GListModel *items,
         guint       position)
{
  g_autoptr(TdBoardItem) item = g_list_model_get_item (items, position);

  return td_board_item_get_text (item);
}

static void
reuse_and_answer (TdWindow   *window,
                  const char *response)
{
  AdwMessageDialog *dialog;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.reuse-result", NULL));
  g_assert_true (td_test_wait_for (dialog_shown, window, 5000));
  dialog = td_test_find_message_dialog (GTK_WINDOW (window));
  g_assert_cmpstr (adw_message_dialog_get_heading (dialog), ==, "Reuse This Board?");
  g_assert_cmpstr (adw_message_dialog_get_response_label (dialog, "replace"), ==, "_Replace Board");
  g_assert_cmpstr (adw_message_dialog_get_response_label (dialog, "add"), ==, "_Add to Board");
  td_test_answer_dialog (dialog, response);
}

static void
test_replace_add_undo (void)
{
  g_autofree char *dir = td_test_make_temp_dir ();
  g_autoptr(GFile) image = td_test_write_png (dir, "cat.png", 24, 24, 0xf6d32d, 0x1c71d8);
  g_autofree char *image_path = g_file_get_path (image);
  g_autoptr(TdGenerationResult) result = made_result (image_path);
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  TdWindow *window = new_window ();
  TdPromptBoard *board = td_window_get_board (window);
  GListModel *items = td_prompt_board_get_items (board);
  g_autoptr(TdBoardItem) original = NULL;
  g_autoptr(TdBoardItem) restored = NULL;
  g_autofree char *png = g_build_filename (dir, "made.png", NULL);
  g_autoptr(GFile) png_file = g_file_new_for_path (png);
  g_auto(GValue) value = G_VALUE_INIT;
  GtkWidget *seed_check;
  AdwMessageDialog *dialog;

  original = g_object_ref (td_prompt_board_add_text (board, "my own words"));
  td_window_show_result (window, result);

  /* Cancel changes nothing. */
  reuse_and_answer (window, "cancel");
  g_assert_null (td_test_find_message_dialog (GTK_WINDOW (window)));
  g_assert_cmpuint (g_list_model_get_n_items (items), ==, 1);
  g_assert_cmpint (g_settings_get_int (settings, "steps"), ==, 3);

  /* Add to Board: the card stays, the image's items come after, settings unchanged. */
  reuse_and_answer (window, "add");
  g_assert_true (td_test_wait_for (thumbnails_loaded, window, 5000));
  g_assert_cmpuint (g_list_model_get_n_items (items), ==, 3);
  g_assert_cmpstr (text_at (items, 0), ==, "my own words");
  g_assert_cmpstr (text_at (items, 2), ==, "as a painting");
  g_assert_cmpint (g_settings_get_int (settings, "steps"), ==, 3);
  g_assert_cmpstr (td_window_get_last_toast_title (window), ==, "Items added to the board");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo-reuse", NULL));
  g_assert_cmpuint (g_list_model_get_n_items (items), ==, 1);
  restored = g_list_model_get_item (items, 0);
  g_assert_true (restored == original);
  g_clear_object (&restored);

  /* Replace Board: the image's board and settings, and its seed, kept. */
  reuse_and_answer (window, "replace");
  g_assert_true (td_test_wait_for (thumbnails_loaded, window, 5000));
  g_assert_cmpuint (g_list_model_get_n_items (items), ==, 2);
  g_assert_cmpstr (text_at (items, 1), ==, "as a painting");
  g_assert_cmpint (g_settings_get_int (settings, "steps"), ==, 17);
  g_assert_cmpuint (g_settings_get_uint (settings, "seed"), ==, 4242);
  g_assert_true (g_settings_get_boolean (settings, "seed-locked"));
  g_assert_cmpstr (td_window_get_last_toast_title (window), ==, "Board, settings and seed 4242 restored");
  /* The lock shows it in the settings. */
  g_assert_true (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (panel_child (window, "seed_lock_button"))));

  /* Undo: the card and the settings as they were. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo-reuse", NULL));
  g_assert_cmpuint (g_list_model_get_n_items (items), ==, 1);
  restored = g_list_model_get_item (items, 0);
  g_assert_true (restored == original);
  g_assert_cmpint (g_settings_get_int (settings, "steps"), ==, 3);
  g_assert_cmpuint (g_settings_get_uint (settings, "seed"), ==, 1);
  g_assert_false (g_settings_get_boolean (settings, "seed-locked"));
  g_assert_cmpstr (td_window_get_last_toast_title (window), ==, "Board and settings as before");
  /* A second Undo has nothing left to undo. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo-reuse", NULL));
  g_assert_cmpuint (g_list_model_get_n_items (items), ==, 1);

  /* Reuse Takes the Seed off (the switch in the settings): the seed stays. */
  gtk_switch_set_active (GTK_SWITCH (panel_child (window, "reuse_seed_switch")), FALSE);
  g_assert_false (g_settings_get_boolean (settings, "reuse-seed"));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.reuse-result", NULL));
  g_assert_true (td_test_wait_for (dialog_shown, window, 5000));
  dialog = td_test_find_message_dialog (GTK_WINDOW (window));
  /* The dialog shows the same choice. */
  seed_check = adw_message_dialog_get_extra_child (dialog);
  g_assert_true (GTK_IS_CHECK_BUTTON (seed_check));
  g_assert_false (gtk_check_button_get_active (GTK_CHECK_BUTTON (seed_check)));
  td_test_answer_dialog (dialog, "replace");
  g_assert_true (td_test_wait_for (thumbnails_loaded, window, 5000));
  g_assert_cmpint (g_settings_get_int (settings, "steps"), ==, 17);
  g_assert_cmpuint (g_settings_get_uint (settings, "seed"), ==, 1);
  g_assert_false (g_settings_get_boolean (settings, "seed-locked"));
  g_assert_cmpstr (td_window_get_last_toast_title (window), ==, "Board and settings restored");

  /* Reuse of the board that is already there asks nothing. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.reuse-result", NULL));
  g_assert_null (td_test_find_message_dialog (GTK_WINDOW (window)));
  g_assert_cmpuint (g_list_model_get_n_items (items), ==, 2);

  /* A generated PNG dropped on a board with other cards asks the same. */
  g_assert_true (td_result_save (result, png, NULL));
  td_prompt_board_clear (board);
  td_prompt_board_add_text (board, "my own words");
  g_value_init (&value, G_TYPE_FILE);
  g_value_set_object (&value, png_file);
  g_assert_true (td_prompt_board_handle_drop (board, &value));
  g_assert_true (td_test_wait_for (dialog_shown, window, 5000));
  g_assert_cmpuint (g_list_model_get_n_items (items), ==, 1);
  td_test_answer_dialog (td_test_find_message_dialog (GTK_WINDOW (window)), "add");
  g_assert_true (td_test_wait_for (thumbnails_loaded, window, 5000));
  g_assert_cmpuint (g_list_model_get_n_items (items), ==, 3);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo-reuse", NULL));
  g_assert_cmpuint (g_list_model_get_n_items (items), ==, 1);
  g_assert_cmpstr (text_at (items, 0), ==, "my own words");

  gtk_window_destroy (GTK_WINDOW (window));
  g_settings_set_boolean (settings, "reuse-seed", TRUE);
  td_test_remove_dir (dir);
}

static void
test_settings_persist (void)
{
  g_autofree char *dir = td_test_make_temp_dir ();
  g_autoptr(GFile) image = td_test_write_png (dir, "cat.png", 24, 24, 0xf6d32d, 0x1c71d8);
  g_autofree char *image_path = g_file_get_path (image);
  g_autoptr(TdGenerationResult) result = made_result (image_path);
  TdWindow *window = new_window ();
  GSettings *panel_settings = td_settings_panel_get_settings (td_window_get_settings_panel (window));
  g_autoptr(GSettings) stored = NULL;
  g_autofree char *preset = NULL;

  /* Reuse on an empty board applies straight away. */
  td_window_show_result (window, result);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.reuse-result", NULL));
  g_assert_null (td_test_find_message_dialog (GTK_WINDOW (window)));
  g_assert_true (td_test_wait_for (thumbnails_loaded, window, 5000));
  g_assert_false (g_settings_get_has_unapplied (panel_settings));

  /* Then the user changes settings in the panel, as the spin buttons do. */
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (panel_child (window, "steps_spin")), 9);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (panel_child (window, "guidance_spin")), 2.5);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (panel_child (window, "seed_spin")), 777);
  g_assert_false (g_settings_get_has_unapplied (panel_settings));

  /* A fresh settings object reads what is stored: the panel's values. */
  stored = g_settings_new (TD_TEST_APP_ID);
  g_assert_cmpint (g_settings_get_int (stored, "steps"), ==, 9);
  g_assert_cmpfloat (g_settings_get_double (stored, "guidance"), ==, 2.5);
  g_assert_cmpuint (g_settings_get_uint (stored, "seed"), ==, 777);
  preset = g_settings_get_string (stored, "size-preset");
  g_assert_cmpstr (preset, ==, "square-768");

  /* And a second Reuse, then a change, too. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.reuse-result", NULL));
  g_assert_cmpint (g_settings_get_int (stored, "steps"), ==, 17);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (panel_child (window, "steps_spin")), 4);
  g_assert_cmpint (g_settings_get_int (stored, "steps"), ==, 4);

  gtk_window_destroy (GTK_WINDOW (window));
  td_test_remove_dir (dir);
}

int
main (int   argc,
      char *argv[])
{
  if (!td_test_init (&argc, &argv))
    return 0;

  g_test_add_func ("/reuse/replace-add-undo", test_replace_add_undo);
  g_test_add_func ("/reuse/settings-persist", test_settings_persist);

  return g_test_run ();
}
