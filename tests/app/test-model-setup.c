/* test-model-setup.c — the model setup page: the demo models first and kept
 * apart from the user's folder, marked untrained; a size next to each
 * download; Generate hidden on the page; Continue only when a mode can run;
 * an offline download failing at once without leaving folders behind.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "thinkdiff.h"
#include "td-test-utils.h"
#include "td-window.h"

static char *flux_only_dir;   /* demo models with FLUX alone */

static gpointer
window_child (TdWindow   *window,
              const char *id)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (window), TD_TYPE_WINDOW, id);

  g_assert_nonnull (object);
  return object;
}

static gpointer
setup_child (TdModelSetup *setup,
             const char   *id)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (setup), TD_TYPE_MODEL_SETUP, id);

  g_assert_nonnull (object);
  return object;
}

static TdWindow *
window_for (const char *models)
{
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  TdWindow *window;

  g_settings_set_string (settings, "model-folder", models);
  g_settings_set_string (settings, "user-model-folder", "");
  g_settings_set_string (settings, "mode", "lvlm");
  window = td_window_new (NULL);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

static gboolean
setup_idle (gpointer data)
{
  return !td_model_setup_get_busy (data);
}

static void
test_generate_hidden (void)
{
  g_autofree char *empty = td_test_make_temp_dir ();
  TdWindow *window = window_for (empty);

  g_assert_true (td_window_get_showing_model_setup (window));
  g_assert_false (gtk_widget_get_visible (window_child (window, "generate_button")));
  g_assert_false (gtk_widget_get_sensitive (window_child (window, "generate_button")));

  td_window_show_model_setup (window, FALSE);
  g_assert_true (gtk_widget_get_visible (window_child (window, "generate_button")));
  g_assert_true (gtk_widget_get_sensitive (window_child (window, "generate_button")));

  gtk_window_destroy (GTK_WINDOW (window));
  td_test_remove_dir (empty);
}

static gboolean
laid_out (gpointer data)
{
  return gtk_widget_get_height (data) > 0;
}

static void
test_demo_first (void)
{
  g_autofree char *empty = td_test_make_temp_dir ();
  TdWindow *window = window_for (empty);
  TdModelSetup *setup = td_window_get_model_setup (window);
  graphene_point_t demo, folder;

  g_assert_true (td_test_wait_for (laid_out, setup_child (setup, "folder_row"), 5000));
  g_assert_true (gtk_widget_compute_point (setup_child (setup, "demo_button"), GTK_WIDGET (setup),
                                           &GRAPHENE_POINT_INIT (0, 0), &demo));
  g_assert_true (gtk_widget_compute_point (setup_child (setup, "folder_row"), GTK_WIDGET (setup),
                                           &GRAPHENE_POINT_INIT (0, 0), &folder));
  g_assert_cmpfloat (demo.y, <, folder.y);

  gtk_window_destroy (GTK_WINDOW (window));
  td_test_remove_dir (empty);
}

static void
test_continue_needs_a_mode (void)
{
  g_autofree char *empty = td_test_make_temp_dir ();
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  TdWindow *window = window_for (empty);
  TdModelSetup *setup = td_window_get_model_setup (window);
  g_autofree char *mode = NULL;

  /* Nothing installed: Continue does nothing. */
  g_assert_false (gtk_widget_get_sensitive (setup_child (setup, "continue_button")));
  gtk_widget_activate_action (GTK_WIDGET (setup), "setup.continue", NULL);
  g_assert_true (td_window_get_showing_model_setup (window));
  g_assert_null (td_model_setup_runnable_mode (setup, "lvlm"));

  /* FLUX alone with Reasoning chosen: Continue switches to Text Only, openly. */
  g_settings_set_string (settings, "model-folder", flux_only_dir);
  g_assert_true (gtk_widget_get_sensitive (setup_child (setup, "continue_button")));
  g_assert_cmpstr (td_model_setup_runnable_mode (setup, "lvlm"), ==, "text");
  g_assert_cmpstr (td_model_setup_runnable_mode (setup, "text"), ==, "text");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (setup), "setup.continue", NULL));
  g_assert_false (td_window_get_showing_model_setup (window));
  mode = g_settings_get_string (settings, "mode");
  g_assert_cmpstr (mode, ==, "text");
  g_assert_true (g_str_has_prefix (td_window_get_last_toast_title (window), "Only FLUX is installed"));

  gtk_window_destroy (GTK_WINDOW (window));
  td_test_remove_dir (empty);
}

static void
test_demo_keeps_user_folder (void)
{
  g_autofree char *mine = td_test_make_temp_dir ();
  g_autoptr(GSettings) settings = g_settings_new (TD_TEST_APP_ID);
  g_autofree char *demo = td_model_setup_demo_dir ();
  TdWindow *window = window_for (mine);
  TdModelSetup *setup = td_window_get_model_setup (window);
  g_autofree char *folder = NULL;
  g_autofree char *kept = NULL;
  g_autofree char *back = NULL;
  g_autoptr(GDir) listing = NULL;

  g_assert_false (gtk_widget_get_visible (setup_child (setup, "leave_demo_button")));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (setup), "setup.use-demo-models", NULL));
  g_assert_true (td_test_wait_for (setup_idle, setup, 60000));

  /* The demo models live in their own folder; the user's is remembered and untouched. */
  folder = g_settings_get_string (settings, "model-folder");
  kept = g_settings_get_string (settings, "user-model-folder");
  g_assert_cmpstr (folder, ==, demo);
  g_assert_cmpstr (kept, ==, mine);
  listing = g_dir_open (mine, 0, NULL);
  g_assert_null (g_dir_read_name (listing));

  /* Marked untrained, not ticked. */
  g_assert_true (td_model_setup_get_part_found (setup, TD_PART_FLUX));
  g_assert_true (td_model_setup_get_part_untrained (setup, TD_PART_FLUX));
  g_assert_true (gtk_widget_get_visible (setup_child (setup, "leave_demo_button")));

  /* Using the demo models again keeps the user's folder, not the demo's. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (setup), "setup.use-demo-models", NULL));
  g_assert_true (td_test_wait_for (setup_idle, setup, 60000));
  g_clear_pointer (&kept, g_free);
  kept = g_settings_get_string (settings, "user-model-folder");
  g_assert_cmpstr (kept, ==, mine);

  /* And it comes back. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (setup), "setup.leave-demo-models", NULL));
  back = g_settings_get_string (settings, "model-folder");
  g_assert_cmpstr (back, ==, mine);
  g_assert_false (td_model_setup_get_part_found (setup, TD_PART_FLUX));
  g_assert_false (td_model_setup_get_part_untrained (setup, TD_PART_FLUX));
  g_assert_false (gtk_widget_get_visible (setup_child (setup, "leave_demo_button")));

  gtk_window_destroy (GTK_WINDOW (window));
  td_test_remove_dir (mine);
}

/* Download rows ------------------------------------------------------------ */

static void
collect_rows (GtkWidget *widget,
              GPtrArray *rows)
{
  if (ADW_IS_ACTION_ROW (widget))
    g_ptr_array_add (rows, widget);
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    collect_rows (c, rows);
}

static gpointer
find_descendant (GtkWidget *widget,
                 GType      type,
                 const char *css_class)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type) && (css_class == NULL || gtk_widget_has_css_class (widget, css_class)))
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      gpointer found = find_descendant (c, type, css_class);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static GtkWidget *
download_row (TdModelSetup *setup,
              const char   *title)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new ();

  collect_rows (setup_child (setup, "download_group"), rows);
  for (guint i = 0; i < rows->len; i++)
    if (g_strcmp0 (adw_preferences_row_get_title (rows->pdata[i]), title) == 0)
      return rows->pdata[i];
  return NULL;
}

static void
test_download_sizes (void)
{
  g_autofree char *empty = td_test_make_temp_dir ();
  TdWindow *window = window_for (empty);
  TdModelSetup *setup = td_window_get_model_setup (window);
  g_autoptr(GPtrArray) rows = g_ptr_array_new ();
  guint n = 0;

  collect_rows (setup_child (setup, "download_group"), rows);
  for (guint i = 0; i < rows->len; i++)
    {
      GtkLabel *size = find_descendant (rows->pdata[i], GTK_TYPE_LABEL, "numeric");
      const char *text;

      if (size == NULL)
        continue;
      text = gtk_label_get_label (size);
      g_test_message ("%s: %s", adw_preferences_row_get_title (rows->pdata[i]), text);
      g_assert_true (g_str_has_suffix (text, "GB") || g_str_has_suffix (text, "MB"));
      n++;
    }
  /* One per bundle of the catalogue. */
  for (const td_catalog_bundle *const *b = td_catalog_bundles (); *b != NULL; b++)
    n--;
  g_assert_cmpuint (n, ==, 0);

  gtk_window_destroy (GTK_WINDOW (window));
  td_test_remove_dir (empty);
}

static gboolean
download_idle (gpointer data)
{
  return g_strcmp0 (gtk_button_get_label (data), "_Download") == 0;
}

static void
test_offline_download (void)
{
  g_autofree char *dir = td_test_make_temp_dir ();
  g_autofree char *parent = g_build_filename (dir, "new", NULL);
  g_autofree char *models = g_build_filename (parent, "models", NULL);
  TdWindow *window;
  TdModelSetup *setup;
  GtkWidget *row;
  GtkButton *button;
  gint64 started;

  if (!td_models_can_pull ())
    {
      g_test_skip ("this build cannot download");
      td_test_remove_dir (dir);
      return;
    }

  /* A host that cannot resolve, whatever network the machine has. */
  g_setenv ("HF_ENDPOINT", "https://hub.offline.invalid", TRUE);
  g_unsetenv ("https_proxy");
  g_unsetenv ("HTTPS_PROXY");
  g_unsetenv ("all_proxy");
  g_unsetenv ("ALL_PROXY");
  window = window_for (models);
  setup = td_window_get_model_setup (window);
  row = download_row (setup, "TAEF1 live previews");
  g_assert_nonnull (row);
  button = find_descendant (row, GTK_TYPE_BUTTON, NULL);
  g_assert_nonnull (button);

  started = g_get_monotonic_time ();
  g_signal_emit_by_name (button, "clicked");
  g_assert_true (td_test_wait_for (download_idle, button, 30000));
  g_test_message ("failed after %.1f s", (g_get_monotonic_time () - started) / 1e6);
  g_assert_cmpint (g_get_monotonic_time () - started, <, 15 * G_USEC_PER_SEC);

  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ==,
                   "No connection to hub.offline.invalid. Check the network, then try again.");
  /* Nothing was made: not the models folder, not its parent. */
  g_assert_false (g_file_test (models, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (parent, G_FILE_TEST_EXISTS));

  g_unsetenv ("HF_ENDPOINT");
  gtk_window_destroy (GTK_WINDOW (window));
  td_test_remove_dir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *data_home = g_dir_make_tmp ("td-test-setup-XXXXXX", NULL);
  td_error err = { 0 };
  int status;

  /* The demo models go under the user data folder: a temporary one. */
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_setenv ("XDG_CACHE_HOME", data_home, TRUE);

  if (!td_test_init (&argc, &argv))
    return 0;

  flux_only_dir = g_build_filename (data_home, "flux-only", NULL);
  if (td_demo_models_write (flux_only_dir, td_demo_tokenizers_dir (), &err) != TD_OK)
    g_error ("demo models: %s", err.message);
  const char *const not_flux[] = { "qwen2-vl-7b-instruct", "thinkdiff-lvlm", "blip2-vision", "thinkdiff-clip" };
  for (gsize i = 0; i < G_N_ELEMENTS (not_flux); i++)
    {
      g_autofree char *part = g_build_filename (flux_only_dir, not_flux[i], NULL);
      td_test_remove_dir (part);
    }

  g_test_add_func ("/setup/generate-hidden", test_generate_hidden);
  g_test_add_func ("/setup/demo-first", test_demo_first);
  g_test_add_func ("/setup/continue-needs-a-mode", test_continue_needs_a_mode);
  g_test_add_func ("/setup/demo-keeps-user-folder", test_demo_keeps_user_folder);
  g_test_add_func ("/setup/download-sizes", test_download_sizes);
  g_test_add_func ("/setup/offline-download", test_offline_download);

  status = g_test_run ();
  td_test_remove_dir (data_home);
  g_free (flux_only_dir);
  return status;
}
