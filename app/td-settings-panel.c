/* td-settings-panel.c — mode, size and sampling settings.
 *
 * Every control is bound to the io.github.thinkdiff.Studio schema, so what
 * the user chose is there again next time; the generation request reads the
 * same keys.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <glib/gi18n.h>

#include "td-plan-row.h"
#include "td-settings-panel.h"
#include "td-size-presets.h"
#include "td-weight-choice.h"

struct _TdSettingsPanel
{
  AdwBin          parent_instance;

  GSettings      *settings;

  GtkLabel       *mode_explanation;
  AdwComboRow    *size_row;
  AdwActionRow   *width_row;
  AdwActionRow   *height_row;
  GtkAdjustment  *width_adjustment;
  GtkAdjustment  *height_adjustment;
  GtkAdjustment  *steps_adjustment;
  GtkAdjustment  *guidance_adjustment;
  GtkAdjustment  *seed_adjustment;
  GtkToggleButton *seed_lock_button;
};

G_DEFINE_FINAL_TYPE (TdSettingsPanel, td_settings_panel, ADW_TYPE_BIN)

/* Numbers: GtkAdjustment holds doubles, the schema has i, u and d keys. */

static gboolean
number_get_mapping (GValue   *value,
                    GVariant *variant,
                    gpointer  user_data)
{
  if (g_variant_is_of_type (variant, G_VARIANT_TYPE_INT32))
    g_value_set_double (value, g_variant_get_int32 (variant));
  else if (g_variant_is_of_type (variant, G_VARIANT_TYPE_UINT32))
    g_value_set_double (value, g_variant_get_uint32 (variant));
  else if (g_variant_is_of_type (variant, G_VARIANT_TYPE_DOUBLE))
    g_value_set_double (value, g_variant_get_double (variant));
  else
    return FALSE;
  return TRUE;
}

static GVariant *
number_set_mapping (const GValue       *value,
                    const GVariantType *expected_type,
                    gpointer            user_data)
{
  double number = g_value_get_double (value);

  if (g_variant_type_equal (expected_type, G_VARIANT_TYPE_INT32))
    return g_variant_new_int32 ((gint32) CLAMP (number, G_MININT32, G_MAXINT32));
  if (g_variant_type_equal (expected_type, G_VARIANT_TYPE_UINT32))
    return g_variant_new_uint32 ((guint32) CLAMP (number, 0, G_MAXUINT32));
  if (g_variant_type_equal (expected_type, G_VARIANT_TYPE_DOUBLE))
    return g_variant_new_double (number);
  return NULL;
}

static void
bind_number (TdSettingsPanel *self,
             const char      *key,
             GtkAdjustment   *adjustment)
{
  g_settings_bind_with_mapping (self->settings, key, adjustment, "value",
                                G_SETTINGS_BIND_DEFAULT,
                                number_get_mapping, number_set_mapping, NULL, NULL);
}

/* Size preset: the combo row's index <-> the enum nick. */

static gboolean
preset_get_mapping (GValue   *value,
                    GVariant *variant,
                    gpointer  user_data)
{
  int index = td_size_presets_find (g_variant_get_string (variant, NULL));

  if (index < 0)
    return FALSE;
  g_value_set_uint (value, index);
  return TRUE;
}

static GVariant *
preset_set_mapping (const GValue       *value,
                    const GVariantType *expected_type,
                    gpointer            user_data)
{
  guint index = g_value_get_uint (value);

  if (index >= td_size_presets_get_n ())
    return NULL;
  return g_variant_new_string (td_size_presets_get (index)->nick);
}

static gboolean
preset_is_custom_mapping (GValue   *value,
                          GVariant *variant,
                          gpointer  user_data)
{
  g_value_set_boolean (value, g_str_equal (g_variant_get_string (variant, NULL), "custom"));
  return TRUE;
}

static void
update_mode_explanation (TdSettingsPanel *self)
{
  g_autofree char *mode = g_settings_get_string (self->settings, "mode");

  if (g_str_equal (mode, "clip"))
    gtk_label_set_label (self->mode_explanation,
                         _("Each image and text is encoded on its own and handed to the "
                           "image model in board order. Faster, and no thought is written."));
  else if (g_str_equal (mode, "text"))
    gtk_label_set_label (self->mode_explanation,
                         _("Plain text to image: the board’s texts are the prompt for the image "
                           "model alone. Images on the board are left out. Needs only FLUX."));
  else
    gtk_label_set_label (self->mode_explanation,
                         _("The vision-language model reads the whole board, writes down "
                           "its thought about it, and the image is painted from that reasoning."));
}

static void
apply_default_mode (TdSettingsPanel *self)
{
  g_autofree char *default_mode = g_settings_get_string (self->settings, "default-mode");

  if (!g_str_equal (default_mode, "last-used"))
    g_settings_set_string (self->settings, "mode", default_mode);
}

static void
setup_size_row (TdSettingsPanel *self)
{
  g_autoptr(GtkStringList) labels = gtk_string_list_new (NULL);

  for (guint i = 0; i < td_size_presets_get_n (); i++)
    gtk_string_list_append (labels, gettext (td_size_presets_get (i)->label));
  adw_combo_row_set_model (self->size_row, G_LIST_MODEL (labels));

  g_settings_bind_with_mapping (self->settings, "size-preset", self->size_row, "selected",
                                G_SETTINGS_BIND_DEFAULT,
                                preset_get_mapping, preset_set_mapping, NULL, NULL);
  g_settings_bind_with_mapping (self->settings, "size-preset", self->width_row, "visible",
                                G_SETTINGS_BIND_GET,
                                preset_is_custom_mapping, NULL, NULL, NULL);
  g_settings_bind_with_mapping (self->settings, "size-preset", self->height_row, "visible",
                                G_SETTINGS_BIND_GET,
                                preset_is_custom_mapping, NULL, NULL, NULL);
}

void
td_settings_panel_randomize_seed (TdSettingsPanel *self)
{
  g_return_if_fail (TD_IS_SETTINGS_PANEL (self));

  g_settings_set_uint (self->settings, "seed", g_random_int ());
}

static void
randomize_seed_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  td_settings_panel_randomize_seed (TD_SETTINGS_PANEL (widget));
}

static void
on_seed_locked_changed (TdSettingsPanel *self)
{
  gboolean locked = gtk_toggle_button_get_active (self->seed_lock_button);

  gtk_button_set_icon_name (GTK_BUTTON (self->seed_lock_button),
                            locked ? "changes-prevent-symbolic" : "changes-allow-symbolic");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->seed_lock_button),
                               locked ? _("Draw a New Seed for Each Image")
                                      : _("Keep This Seed"));
}

static void
td_settings_panel_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), TD_TYPE_SETTINGS_PANEL);

  G_OBJECT_CLASS (td_settings_panel_parent_class)->dispose (object);
}

static void
td_settings_panel_finalize (GObject *object)
{
  TdSettingsPanel *self = TD_SETTINGS_PANEL (object);

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (td_settings_panel_parent_class)->finalize (object);
}

static const char *unstored_children[] = {
  "lvlm_toggle", "clip_toggle", "width_spin", "height_spin",
  "steps_spin", "guidance_spin", "seed_spin", "reuse_seed_switch", "plan_row",
  "weight_choice",
};

static void
td_settings_panel_class_init (TdSettingsPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = td_settings_panel_dispose;
  object_class->finalize = td_settings_panel_finalize;

  g_type_ensure (TD_TYPE_PLAN_ROW);
  g_type_ensure (TD_TYPE_WEIGHT_CHOICE);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/thinkdiff/Studio/td-settings-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, TdSettingsPanel, mode_explanation);
  gtk_widget_class_bind_template_child (widget_class, TdSettingsPanel, size_row);
  gtk_widget_class_bind_template_child (widget_class, TdSettingsPanel, width_row);
  gtk_widget_class_bind_template_child (widget_class, TdSettingsPanel, height_row);
  gtk_widget_class_bind_template_child (widget_class, TdSettingsPanel, width_adjustment);
  gtk_widget_class_bind_template_child (widget_class, TdSettingsPanel, height_adjustment);
  gtk_widget_class_bind_template_child (widget_class, TdSettingsPanel, steps_adjustment);
  gtk_widget_class_bind_template_child (widget_class, TdSettingsPanel, guidance_adjustment);
  gtk_widget_class_bind_template_child (widget_class, TdSettingsPanel, seed_adjustment);
  gtk_widget_class_bind_template_child (widget_class, TdSettingsPanel, seed_lock_button);
  /* Not kept in the struct, but reachable with gtk_widget_get_template_child ()
   * so tests can drive them. */
  for (guint i = 0; i < G_N_ELEMENTS (unstored_children); i++)
    gtk_widget_class_bind_template_child_full (widget_class, unstored_children[i], FALSE, 0);

  gtk_widget_class_install_action (widget_class, "settings-panel.randomize-seed", NULL,
                                   randomize_seed_action);
}

static void
td_settings_panel_init (TdSettingsPanel *self)
{
  g_autoptr(GSimpleActionGroup) group = g_simple_action_group_new ();
  g_autoptr(GAction) mode_action = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new (TD_APP_ID);
  apply_default_mode (self);

  /* The two mode toggles use a stateful action made from the key. */
  mode_action = g_settings_create_action (self->settings, "mode");
  g_action_map_add_action (G_ACTION_MAP (group), mode_action);
  gtk_widget_insert_action_group (GTK_WIDGET (self), "settings", G_ACTION_GROUP (group));
  g_signal_connect_object (self->settings, "changed::mode",
                           G_CALLBACK (update_mode_explanation), self, G_CONNECT_SWAPPED);
  update_mode_explanation (self);

  setup_size_row (self);
  bind_number (self, "width", self->width_adjustment);
  bind_number (self, "height", self->height_adjustment);
  bind_number (self, "steps", self->steps_adjustment);
  bind_number (self, "guidance", self->guidance_adjustment);
  bind_number (self, "seed", self->seed_adjustment);

  g_settings_bind (self->settings, "seed-locked", self->seed_lock_button, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "reuse-seed",
                   gtk_widget_get_template_child (GTK_WIDGET (self), TD_TYPE_SETTINGS_PANEL, "reuse_seed_switch"),
                   "active", G_SETTINGS_BIND_DEFAULT);
  g_signal_connect_object (self->seed_lock_button, "notify::active",
                           G_CALLBACK (on_seed_locked_changed), self, G_CONNECT_SWAPPED);
  on_seed_locked_changed (self);
}

GtkWidget *
td_settings_panel_new (void)
{
  return g_object_new (TD_TYPE_SETTINGS_PANEL, NULL);
}

GSettings *
td_settings_panel_get_settings (TdSettingsPanel *self)
{
  g_return_val_if_fail (TD_IS_SETTINGS_PANEL (self), NULL);
  return self->settings;
}
