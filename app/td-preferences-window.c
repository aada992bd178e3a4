/* td-preferences-window.c — the Preferences window.
 *
 * Every row writes its GSettings key at once (GNOME's instant-apply style):
 * "model-folder", "gpu-device" ("" = automatic, "cpu", or a device index from
 * td_vulkan_list_devices), "preview-method" and "default-mode".
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <glib/gi18n.h>
#include <stdlib.h>

#include "thinkdiff.h"
#include "td-engine-worker.h"
#include "td-preferences-window.h"

struct _TdPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  GSettings            *settings;
  GPtrArray            *gpu_values;      /* "gpu-device" value per combo item */
  GPtrArray            *preview_values;  /* "preview-method" nick per combo item */
  AdwActionRow         *folder_row;
  AdwComboRow          *gpu_row;
  AdwComboRow          *preview_row;
  AdwComboRow          *mode_row;
};

G_DEFINE_FINAL_TYPE (TdPreferencesWindow, td_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static const char *const mode_nicks[] = { "last-used", "lvlm", "clip" };

static void
update_folder_row (TdPreferencesWindow *self)
{
  g_autofree char *setting = g_settings_get_string (self->settings, "model-folder");
  g_autofree char *dir = td_engine_models_dir (setting);

  adw_action_row_set_subtitle (self->folder_row, dir);
}

static void
on_folder_response (TdPreferencesWindow  *self,
                    int                   response,
                    GtkFileChooserNative *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = folder != NULL ? g_file_get_path (folder) : NULL;

      if (path != NULL)
        g_settings_set_string (self->settings, "model-folder", path);
    }
  g_object_unref (chooser);
}

static void
on_choose_folder (TdPreferencesWindow *self)
{
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (_("Models Folder"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                         _("_Select"), NULL);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect_swapped (chooser, "response", G_CALLBACK (on_folder_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
on_reset_folder (TdPreferencesWindow *self)
{
  g_settings_reset (self->settings, "model-folder");
}

/* Combo rows that store a string per item ------------------------------- */

static guint
index_of (GPtrArray  *values,
          const char *value)
{
  for (guint i = 0; i < values->len; i++)
    if (g_strcmp0 (g_ptr_array_index (values, i), value) == 0)
      return i;
  return 0;
}

static void
on_gpu_selected (TdPreferencesWindow *self)
{
  guint i = adw_combo_row_get_selected (self->gpu_row);

  if (i < self->gpu_values->len)
    g_settings_set_string (self->settings, "gpu-device", g_ptr_array_index (self->gpu_values, i));
}

static void
on_preview_selected (TdPreferencesWindow *self)
{
  guint i = adw_combo_row_get_selected (self->preview_row);

  if (i < self->preview_values->len)
    g_settings_set_string (self->settings, "preview-method", g_ptr_array_index (self->preview_values, i));
}

static void
on_mode_selected (TdPreferencesWindow *self)
{
  guint i = adw_combo_row_get_selected (self->mode_row);

  if (i < G_N_ELEMENTS (mode_nicks))
    g_settings_set_string (self->settings, "default-mode", mode_nicks[i]);
}

static AdwComboRow *
combo_row (const char *title,
           const char *subtitle,
           GtkStringList *items)
{
  GtkWidget *row = adw_combo_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_combo_row_set_model (ADW_COMBO_ROW (row), G_LIST_MODEL (items));
  g_object_unref (items);
  return ADW_COMBO_ROW (row);
}

static gboolean
taef1_present (TdPreferencesWindow *self)
{
  g_autofree char *setting = g_settings_get_string (self->settings, "model-folder");
  g_autofree char *dir = td_engine_models_dir (setting);
  td_model_paths paths = { 0 };
  td_error err = { 0 };
  gboolean present = FALSE;

  if (td_model_paths_find (dir, &paths, &err) == TD_OK)
    present = paths.path[TD_PART_TAEF1] != NULL;
  td_model_paths_clear (&paths);
  return present;
}

static GtkWidget *
build_models_group (TdPreferencesWindow *self)
{
  GtkWidget *group = adw_preferences_group_new ();
  GtkWidget *choose = gtk_button_new_with_mnemonic (_("_Choose…"));
  GtkWidget *reset = gtk_button_new_from_icon_name ("edit-undo-symbolic");

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("Models"));
  self->folder_row = ADW_ACTION_ROW (adw_action_row_new ());
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (self->folder_row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->folder_row), _("Models Folder"));
  gtk_widget_set_valign (choose, GTK_ALIGN_CENTER);
  gtk_widget_set_valign (reset, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (reset, "flat");
  gtk_widget_set_tooltip_text (reset, _("Use the Default Folder"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (reset), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Use the Default Folder"), -1);
  g_signal_connect_swapped (choose, "clicked", G_CALLBACK (on_choose_folder), self);
  g_signal_connect_swapped (reset, "clicked", G_CALLBACK (on_reset_folder), self);
  adw_action_row_add_suffix (self->folder_row, reset);
  adw_action_row_add_suffix (self->folder_row, choose);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), GTK_WIDGET (self->folder_row));
  update_folder_row (self);
  return group;
}

static GtkWidget *
build_device_group (TdPreferencesWindow *self)
{
  GtkWidget *group = adw_preferences_group_new ();
  GtkStringList *items = gtk_string_list_new (NULL);
  g_autoptr(GPtrArray) gpus = td_engine_list_gpus ();
  g_autofree char *current = g_settings_get_string (self->settings, "gpu-device");

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("Device"));
  gtk_string_list_append (items, _("Automatic"));
  g_ptr_array_add (self->gpu_values, g_strdup (""));
  gtk_string_list_append (items, _("Processor (CPU)"));
  g_ptr_array_add (self->gpu_values, g_strdup ("cpu"));
  for (guint i = 0; i < gpus->len; i++)
    {
      const char *label = g_ptr_array_index (gpus, i);

      gtk_string_list_append (items, label);
      g_ptr_array_add (self->gpu_values, g_strdup_printf ("%d", atoi (label)));
    }
  if (g_strcmp0 (current, "auto") == 0)
    {
      g_free (current);
      current = g_strdup ("");
    }

  self->gpu_row = combo_row (_("GPU"),
                             _("Automatic uses a graphics card when there is one, else the processor"),
                             items);
  adw_combo_row_set_selected (self->gpu_row, index_of (self->gpu_values, current));
  g_signal_connect_swapped (self->gpu_row, "notify::selected", G_CALLBACK (on_gpu_selected), self);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), GTK_WIDGET (self->gpu_row));
  return group;
}

static GtkWidget *
build_generation_group (TdPreferencesWindow *self)
{
  GtkWidget *group = adw_preferences_group_new ();
  GtkStringList *previews = gtk_string_list_new (NULL);
  GtkStringList *modes = gtk_string_list_new (NULL);
  g_autofree char *preview = g_settings_get_string (self->settings, "preview-method");
  g_autofree char *mode = g_settings_get_string (self->settings, "default-mode");
  guint mode_index = 0;

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("Generation"));

  gtk_string_list_append (previews, _("Off"));
  g_ptr_array_add (self->preview_values, g_strdup ("none"));
  gtk_string_list_append (previews, _("Linear (fast)"));
  g_ptr_array_add (self->preview_values, g_strdup ("latent"));
  /* TAEF1 is offered when it is installed (td_thinkdiff_generate uses it then). */
  if (taef1_present (self) || g_strcmp0 (preview, "taesd") == 0)
    {
      gtk_string_list_append (previews, _("Tiny decoder (TAEF1)"));
      g_ptr_array_add (self->preview_values, g_strdup ("taesd"));
    }
  self->preview_row = combo_row (_("Live Preview"),
                                 _("The tiny decoder needs TAEF1 in the models folder"),
                                 previews);
  adw_combo_row_set_selected (self->preview_row, index_of (self->preview_values, preview));
  g_signal_connect_swapped (self->preview_row, "notify::selected", G_CALLBACK (on_preview_selected), self);

  gtk_string_list_append (modes, _("Last Used"));
  gtk_string_list_append (modes, _("Reasoning"));
  gtk_string_list_append (modes, _("Direct"));
  for (guint i = 0; i < G_N_ELEMENTS (mode_nicks); i++)
    if (g_strcmp0 (mode, mode_nicks[i]) == 0)
      mode_index = i;
  self->mode_row = combo_row (_("Mode at Startup"), NULL, modes);
  adw_combo_row_set_selected (self->mode_row, mode_index);
  g_signal_connect_swapped (self->mode_row, "notify::selected", G_CALLBACK (on_mode_selected), self);

  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), GTK_WIDGET (self->preview_row));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), GTK_WIDGET (self->mode_row));
  return group;
}

static void
td_preferences_window_finalize (GObject *object)
{
  TdPreferencesWindow *self = TD_PREFERENCES_WINDOW (object);

  g_clear_object (&self->settings);
  g_clear_pointer (&self->gpu_values, g_ptr_array_unref);
  g_clear_pointer (&self->preview_values, g_ptr_array_unref);

  G_OBJECT_CLASS (td_preferences_window_parent_class)->finalize (object);
}

static void
td_preferences_window_class_init (TdPreferencesWindowClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = td_preferences_window_finalize;
}

static void
td_preferences_window_init (TdPreferencesWindow *self)
{
  GtkWidget *page = adw_preferences_page_new ();

  self->settings = g_settings_new (TD_APP_ID);
  self->gpu_values = g_ptr_array_new_with_free_func (g_free);
  self->preview_values = g_ptr_array_new_with_free_func (g_free);

  adw_preferences_page_set_title (ADW_PREFERENCES_PAGE (page), _("General"));
  adw_preferences_page_set_icon_name (ADW_PREFERENCES_PAGE (page), "preferences-system-symbolic");
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (build_models_group (self)));
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (build_device_group (self)));
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (build_generation_group (self)));
  adw_preferences_window_add (ADW_PREFERENCES_WINDOW (self), ADW_PREFERENCES_PAGE (page));
  adw_preferences_window_set_search_enabled (ADW_PREFERENCES_WINDOW (self), FALSE);

  g_signal_connect_object (self->settings, "changed::model-folder",
                           G_CALLBACK (update_folder_row), self, G_CONNECT_SWAPPED);
}

GtkWidget *
td_preferences_window_new (GtkWindow *parent)
{
  return g_object_new (TD_TYPE_PREFERENCES_WINDOW,
                       "transient-for", parent,
                       "modal", TRUE,
                       NULL);
}
