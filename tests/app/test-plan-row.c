/* test-plan-row.c — the memory row of the settings panel: it plans the models
 * folder the settings name for the chosen mode and size, plans again when one of
 * them changes, and says when there is nothing to plan.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "thinkdiff.h"
#include "td-plan-row.h"
#include "td-settings-panel.h"
#include "td-test-utils.h"

typedef struct
{
  TdPlanRow  *row;
  const char *expected; /* a part of the summary, or the summary it must leave */
} wait_summary;

static gboolean
summary_has (gpointer data)
{
  wait_summary *wait = data;
  const char *summary = td_plan_row_get_summary (wait->row);

  return summary != NULL && strstr (summary, wait->expected) != NULL;
}

static gboolean
summary_differs (gpointer data)
{
  wait_summary *wait = data;

  return g_strcmp0 (td_plan_row_get_summary (wait->row), wait->expected) != 0;
}

static void
assert_summary (TdPlanRow  *row,
                const char *expected)
{
  wait_summary wait = { row, expected };

  if (!td_test_wait_for (summary_has, &wait, 20000))
    g_error ("the plan row says '%s', not '%s'", td_plan_row_get_summary (row), expected);
}

static void
test_row_follows_settings (void)
{
  g_autofree char *models = td_test_make_temp_dir ();
  g_autofree char *empty = td_test_make_temp_dir ();
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  td_error err = { 0 };
  GtkWidget *window = gtk_window_new ();
  GtkWidget *panel;
  TdPlanRow *row;
  g_autofree char *first = NULL;

  if (td_demo_models_write (models, td_demo_tokenizers_dir (), &err) != TD_OK)
    g_error ("%s", err.message);
  g_settings_set_string (settings, "gpu-device", "cpu");
  g_settings_set_string (settings, "mode", "lvlm");
  g_settings_set_string (settings, "size-preset", "square-512");
  g_settings_set_string (settings, "model-folder", models);

  panel = td_settings_panel_new ();
  gtk_window_set_child (GTK_WINDOW (window), panel);
  row = TD_PLAN_ROW (gtk_widget_get_template_child (panel, TD_TYPE_SETTINGS_PANEL, "plan_row"));
  g_assert_nonnull (row);
  /* The processor has no device budget: everything stays loaded. */
  assert_summary (row, "— all models kept loaded");
  g_assert_true (g_str_has_prefix (td_plan_row_get_summary (row), "Needs about "));
  first = g_strdup (td_plan_row_get_summary (row));

  /* A larger image needs more: the row plans again. */
  g_settings_set_string (settings, "size-preset", "custom");
  g_settings_set_int (settings, "width", 2048);
  g_settings_set_int (settings, "height", 2048);
  wait_summary changed = { row, first };
  g_assert_true (td_test_wait_for (summary_differs, &changed, 20000));
  g_assert_true (g_str_has_prefix (td_plan_row_get_summary (row), "Needs about "));

  g_settings_set_string (settings, "model-folder", empty);
  assert_summary (row, "Unknown until the models are installed");
  g_assert_nonnull (gtk_widget_get_tooltip_text (GTK_WIDGET (row)));

  gtk_window_destroy (GTK_WINDOW (window));
  td_test_remove_dir (models);
  td_test_remove_dir (empty);
}

int
main (int   argc,
      char *argv[])
{
  if (!td_test_init (&argc, &argv))
    return 0;

  g_test_add_func ("/plan-row/follows-settings", test_row_follows_settings);

  return g_test_run ();
}
