/* test-weight-choice.c — the weight file rows under the Memory row: hidden while the
 * models folder offers one file per model part; with a Q8_0 GGUF of the FLUX
 * transformer next to its config.json, the FLUX row shows both, choosing the GGUF
 * stores it in "weight-files" and the Memory row plans it, choosing the default
 * removes it, and a stored file the folder does not offer goes back to the default.
 * In LVLM mode, a Q8_0 GGUF of Qwen2-VL beside its checkpoint shows the Qwen2-VL row,
 * and choosing it is stored and planned.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "thinkdiff.h"
#include "td-plan-row.h"
#include "td-settings-panel.h"
#include "td-test-utils.h"
#include "td-weight-choice.h"

typedef struct
{
  TdPlanRow  *row;
  const char *expected;
} wait_summary;

static gboolean
summary_ready_and_differs (gpointer data)
{
  wait_summary *wait = data;
  const char *summary = td_plan_row_get_summary (wait->row);

  return summary != NULL && g_strcmp0 (summary, wait->expected) != 0;
}

static char *
wait_for_new_summary (TdPlanRow  *row,
                      const char *old)
{
  wait_summary wait = { row, old };

  if (!td_test_wait_for (summary_ready_and_differs, &wait, 20000))
    g_error ("the plan row still says '%s'", td_plan_row_get_summary (row));
  return g_strdup (td_plan_row_get_summary (row));
}

static void
write_demo (const char *dir)
{
  td_error err = { 0 };

  if (td_demo_models_write (dir, td_demo_tokenizers_dir (), &err) != TD_OK)
    g_error ("%s", err.message);
}

static void
test_rows_follow_folder (void)
{
  g_autofree char *plain = td_test_make_temp_dir ();
  g_autofree char *with_q8 = td_test_make_temp_dir ();
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  g_autofree char *transformer = NULL, *q8 = NULL, *stored = NULL;
  g_autofree char *default_summary = NULL, *q8_summary = NULL, *back_summary = NULL;
  td_quantize_options options = { .type = "q8_0" };
  td_error err = { 0 };
  GtkWidget *window = gtk_window_new ();
  GtkWidget *panel;
  TdWeightChoice *choice;
  TdPlanRow *plan_row;
  AdwComboRow *flux_row;
  GListModel *items;

  write_demo (plain);
  write_demo (with_q8);
  transformer = g_build_filename (with_q8, "flux-dev", "transformer", NULL);
  q8 = g_build_filename (transformer, "flux1-dev-Q8_0.gguf", NULL);
  if (td_quantize (transformer, q8, &options, NULL, &err) != TD_OK)
    g_error ("%s", err.message);

  g_settings_set_string (settings, "gpu-device", "cpu");
  g_settings_set_string (settings, "mode", "clip");
  g_settings_set_string (settings, "size-preset", "square-512");
  g_settings_set_string (settings, "model-folder", plain);

  panel = td_settings_panel_new ();
  gtk_window_set_child (GTK_WINDOW (window), panel);
  gtk_window_present (GTK_WINDOW (window));
  choice = TD_WEIGHT_CHOICE (gtk_widget_get_template_child (panel, TD_TYPE_SETTINGS_PANEL, "weight_choice"));
  plan_row = TD_PLAN_ROW (gtk_widget_get_template_child (panel, TD_TYPE_SETTINGS_PANEL, "plan_row"));
  g_assert_nonnull (choice);
  flux_row = td_weight_choice_get_row (choice, "flux");
  g_assert_nonnull (flux_row);
  g_assert_null (td_weight_choice_get_row (choice, "vae"));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (choice)));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (flux_row)));

  g_settings_set_string (settings, "model-folder", with_q8);
  default_summary = wait_for_new_summary (plan_row, NULL);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (choice)));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (flux_row)));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (td_weight_choice_get_row (choice, "t5"))));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (td_weight_choice_get_row (choice, "clip"))));
  items = adw_combo_row_get_model (flux_row);
  g_assert_cmpuint (g_list_model_get_n_items (items), ==, 2);
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (items), 0), ==, "transformer (default)");
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (items), 1), ==, "flux1-dev-Q8_0.gguf");
  g_assert_cmpuint (adw_combo_row_get_selected (flux_row), ==, 0);
  g_assert_null (td_weight_choice_setting (settings, "flux"));

  /* The GGUF: stored, and planned with its smaller weights. */
  adw_combo_row_set_selected (flux_row, 1);
  stored = td_weight_choice_setting (settings, "flux");
  g_assert_cmpstr (stored, ==, q8);
  q8_summary = wait_for_new_summary (plan_row, default_summary);
  g_assert_true (g_str_has_prefix (q8_summary, "Needs about "));

  /* The default again: removed from the setting, the default's plan again. */
  adw_combo_row_set_selected (flux_row, 0);
  g_assert_null (td_weight_choice_setting (settings, "flux"));
  back_summary = wait_for_new_summary (plan_row, q8_summary);
  g_assert_cmpstr (back_summary, ==, default_summary);

  /* A stored file the folder does not offer goes back to the default. */
  g_settings_set_value (settings, "weight-files", g_variant_new_parsed ("{'flux': '/nowhere/flux1-dev-Q4_K.gguf'}"));
  g_settings_set_string (settings, "model-folder", plain);
  g_settings_set_string (settings, "model-folder", with_q8);
  g_assert_cmpuint (adw_combo_row_get_selected (flux_row), ==, 0);
  g_assert_null (td_weight_choice_setting (settings, "flux"));

  gtk_window_destroy (GTK_WINDOW (window));
  td_test_remove_dir (plain);
  td_test_remove_dir (with_q8);
}

static void
count_plans (GObject    *row,
             GParamSpec *pspec,
             guint      *count)
{
  (*count)++;
}

static gboolean
planned_again (gpointer data)
{
  guint *counts = data;

  return counts[0] > counts[1];
}

static void
test_lvlm_row (void)
{
  g_autofree char *models = td_test_make_temp_dir ();
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  g_autofree char *checkpoint = NULL, *q8 = NULL, *stored = NULL;
  g_autofree char *default_summary = NULL;
  guint plans[2] = { 0, 0 }; /* plans made, plans made before the choice */
  td_quantize_options options = { .type = "q8_0" };
  td_error err = { 0 };
  GtkWidget *window = gtk_window_new ();
  GtkWidget *panel;
  TdWeightChoice *choice;
  TdPlanRow *plan_row;
  AdwComboRow *lvlm_row;
  GListModel *items;

  write_demo (models);
  checkpoint = g_build_filename (models, "qwen2-vl-7b-instruct", "model.safetensors", NULL);
  q8 = g_build_filename (models, "qwen2-vl-7b-instruct", "qwen2-vl-Q8_0.gguf", NULL);
  if (td_quantize (checkpoint, q8, &options, NULL, &err) != TD_OK)
    g_error ("%s", err.message);

  g_settings_set_string (settings, "gpu-device", "cpu");
  g_settings_set_string (settings, "mode", "lvlm");
  g_settings_set_string (settings, "size-preset", "square-512");
  g_settings_reset (settings, "weight-files");
  g_settings_set_string (settings, "model-folder", models);

  panel = td_settings_panel_new ();
  gtk_window_set_child (GTK_WINDOW (window), panel);
  gtk_window_present (GTK_WINDOW (window));
  choice = TD_WEIGHT_CHOICE (gtk_widget_get_template_child (panel, TD_TYPE_SETTINGS_PANEL, "weight_choice"));
  plan_row = TD_PLAN_ROW (gtk_widget_get_template_child (panel, TD_TYPE_SETTINGS_PANEL, "plan_row"));
  default_summary = wait_for_new_summary (plan_row, NULL);
  lvlm_row = td_weight_choice_get_row (choice, "lvlm");
  g_assert_nonnull (lvlm_row);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (lvlm_row)), ==, "Qwen2-VL Weights");
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (choice)));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (lvlm_row)));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (td_weight_choice_get_row (choice, "eva"))));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (td_weight_choice_get_row (choice, "flux"))));
  items = adw_combo_row_get_model (lvlm_row);
  g_assert_cmpuint (g_list_model_get_n_items (items), ==, 2);
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (items), 0), ==, "model.safetensors (default)");
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (items), 1), ==, "qwen2-vl-Q8_0.gguf");

  /* Stored and planned again (the demo's Q8_0 Qwen2-VL is under 1 MiB smaller: the
   * summary may read the same). */
  g_signal_connect (plan_row, "notify::summary", G_CALLBACK (count_plans), &plans[0]);
  plans[1] = plans[0];
  adw_combo_row_set_selected (lvlm_row, 1);
  stored = td_weight_choice_setting (settings, "lvlm");
  g_assert_cmpstr (stored, ==, q8);
  if (!td_test_wait_for (planned_again, plans, 20000))
    g_error ("no new plan after choosing %s", q8);
  g_assert_true (g_str_has_prefix (td_plan_row_get_summary (plan_row), "Needs about "));
  g_signal_handlers_disconnect_by_func (plan_row, count_plans, &plans[0]);

  adw_combo_row_set_selected (lvlm_row, 0);
  g_assert_null (td_weight_choice_setting (settings, "lvlm"));

  gtk_window_destroy (GTK_WINDOW (window));
  td_test_remove_dir (models);
}

int
main (int   argc,
      char *argv[])
{
  if (!td_test_init (&argc, &argv))
    return 0;

  g_test_add_func ("/weight-choice/rows-follow-folder", test_rows_follow_folder);
  g_test_add_func ("/weight-choice/lvlm-row", test_lvlm_row);

  return g_test_run ();
}
