/* test-settings.c — the settings panel and its GSettings binding.
 *
 * Runs with GSETTINGS_BACKEND=memory: every GSettings object of the process
 * shares one store, so a second panel sees what the first one wrote, as a
 * restarted app would.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-settings-panel.h"
#include "td-size-presets.h"
#include "td-test-utils.h"

static GtkWidget *
child (GtkWidget  *panel,
       const char *id)
{
  GObject *object = gtk_widget_get_template_child (panel, TD_TYPE_SETTINGS_PANEL, id);

  g_assert_nonnull (object);
  return GTK_WIDGET (object);
}

/* Actionable widgets (the mode toggles) follow their action's state once the
 * panel is inside a window, as it always is in the app. */
static GtkWidget *
panel_in_window (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *panel = td_settings_panel_new ();

  gtk_window_set_child (GTK_WINDOW (window), panel);
  return panel;
}

static void
close_panel (GtkWidget *panel)
{
  gtk_window_destroy (GTK_WINDOW (gtk_widget_get_root (panel)));
}

static void
reset_all (GSettings *settings)
{
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) keys = NULL;

  g_object_get (settings, "settings-schema", &schema, NULL);
  keys = g_settings_schema_list_keys (schema);
  for (guint i = 0; keys[i] != NULL; i++)
    g_settings_reset (settings, keys[i]);
}

static void
test_widgets_write_settings (void)
{
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  GtkWidget *panel;
  GtkWidget *clip_toggle;
  g_autofree char *mode = NULL;
  g_autofree char *preset = NULL;
  g_autofree char *lvlm_text = NULL;

  reset_all (settings);
  panel = panel_in_window ();

  /* Defaults reach the widgets. */
  g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (child (panel, "steps_spin"))), ==, 28);
  g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (child (panel, "guidance_spin"))), ==, 3.5);
  g_assert_true (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (child (panel, "lvlm_toggle"))));
  g_assert_false (gtk_widget_get_visible (child (panel, "width_row")));

  /* Widgets write the keys. */
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (child (panel, "steps_spin")), 12);
  g_assert_cmpint (g_settings_get_int (settings, "steps"), ==, 12);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (child (panel, "guidance_spin")), 5.5);
  g_assert_cmpfloat (g_settings_get_double (settings, "guidance"), ==, 5.5);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (child (panel, "seed_spin")), 4000000000.0);
  g_assert_cmpuint (g_settings_get_uint (settings, "seed"), ==, 4000000000u);

  lvlm_text = g_strdup (gtk_label_get_label (GTK_LABEL (child (panel, "mode_explanation"))));
  clip_toggle = child (panel, "clip_toggle");
  g_signal_emit_by_name (clip_toggle, "clicked");
  mode = g_settings_get_string (settings, "mode");
  g_assert_cmpstr (mode, ==, "clip");
  g_assert_true (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (clip_toggle)));
  g_assert_false (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (child (panel, "lvlm_toggle"))));
  g_assert_cmpstr (gtk_label_get_label (GTK_LABEL (child (panel, "mode_explanation"))), !=, lvlm_text);

  /* Choosing "Custom" shows the width and height rows. */
  adw_combo_row_set_selected (ADW_COMBO_ROW (child (panel, "size_row")),
                              td_size_presets_find ("custom"));
  preset = g_settings_get_string (settings, "size-preset");
  g_assert_cmpstr (preset, ==, "custom");
  g_assert_true (gtk_widget_get_visible (child (panel, "width_row")));
  g_assert_true (gtk_widget_get_visible (child (panel, "height_row")));

  /* Keys write the widgets. */
  g_settings_set_string (settings, "size-preset", "portrait");
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (child (panel, "size_row"))), ==,
                    (guint) td_size_presets_find ("portrait"));
  g_assert_false (gtk_widget_get_visible (child (panel, "width_row")));
  g_settings_set_string (settings, "size-preset", "custom");

  /* Seed: the lock is a key, the shuffle button draws a new seed. */
  g_signal_emit_by_name (child (panel, "seed_lock_button"), "clicked");
  g_assert_true (g_settings_get_boolean (settings, "seed-locked"));
  g_assert_cmpstr (gtk_button_get_icon_name (GTK_BUTTON (child (panel, "seed_lock_button"))), ==,
                   "changes-prevent-symbolic");
  {
    gboolean changed = FALSE;

    /* A fresh 32-bit draw equals the old seed with probability 2^-32 per try. */
    for (int i = 0; i < 3 && !changed; i++)
      {
        g_assert_true (gtk_widget_activate_action (panel, "settings-panel.randomize-seed", NULL));
        changed = g_settings_get_uint (settings, "seed") != 4000000000u;
      }
    g_assert_true (changed);
    g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (child (panel, "seed_spin"))), ==,
                       g_settings_get_uint (settings, "seed"));
  }

  gtk_spin_button_set_value (GTK_SPIN_BUTTON (child (panel, "width_spin")), 1000);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (child (panel, "height_spin")), 777);

  close_panel (panel);

  /* A new panel (the next session) shows what was chosen. */
  panel = panel_in_window ();
  g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (child (panel, "steps_spin"))), ==, 12);
  g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (child (panel, "guidance_spin"))), ==, 5.5);
  g_assert_true (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (child (panel, "clip_toggle"))));
  g_assert_true (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (child (panel, "seed_lock_button"))));
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (child (panel, "size_row"))), ==,
                    (guint) td_size_presets_find ("custom"));
  g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (child (panel, "width_spin"))), ==, 1000);
  close_panel (panel);
}

static void
test_size_resolution (void)
{
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  int width = 0, height = 0;

  reset_all (settings);

  td_size_presets_resolve (settings, &width, &height);
  g_assert_cmpint (width, ==, 1024);
  g_assert_cmpint (height, ==, 1024);

  g_settings_set_string (settings, "size-preset", "portrait");
  td_size_presets_resolve (settings, &width, &height);
  g_assert_cmpint (width, <, height);

  g_settings_set_string (settings, "size-preset", "landscape");
  td_size_presets_resolve (settings, &width, &height);
  g_assert_cmpint (width, >, height);

  /* Custom sizes are rounded down to the model's 16-pixel grid. */
  g_settings_set_string (settings, "size-preset", "custom");
  g_settings_set_int (settings, "width", 1000);
  g_settings_set_int (settings, "height", 777);
  td_size_presets_resolve (settings, &width, &height);
  g_assert_cmpint (width, ==, 992);
  g_assert_cmpint (height, ==, 768);
}

static void
test_default_mode (void)
{
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  GtkWidget *panel;
  g_autofree char *mode = NULL;

  reset_all (settings);
  g_settings_set_string (settings, "mode", "clip");

  /* "last-used" keeps the remembered mode ... */
  panel = panel_in_window ();
  g_assert_true (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (child (panel, "clip_toggle"))));
  close_panel (panel);

  /* ... a fixed default overrides it when a window opens. */
  g_settings_set_string (settings, "default-mode", "lvlm");
  panel = panel_in_window ();
  mode = g_settings_get_string (settings, "mode");
  g_assert_cmpstr (mode, ==, "lvlm");
  g_assert_true (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (child (panel, "lvlm_toggle"))));
  close_panel (panel);
}

int
main (int   argc,
      char *argv[])
{
  if (!td_test_init (&argc, &argv))
    return 0;

  g_test_add_func ("/settings/widgets-and-keys", test_widgets_write_settings);
  g_test_add_func ("/settings/size-resolution", test_size_resolution);
  g_test_add_func ("/settings/default-mode", test_default_mode);

  return g_test_run ();
}
