/* td-weight-choice.c — a combo row per model part whose folder offers more than one
 * weight file, hidden otherwise (and the group with it when none does).
 *
 * The choice lives in the "weight-files" setting (part name → file; a part not
 * there loads its default), which the memory row plans with and the engine
 * worker hands to the engine. The lists follow the "model-folder" setting; a
 * stored file the folder no longer offers goes back to the default.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <glib/gi18n.h>

#include "thinkdiff.h"
#include "td-engine-worker.h"
#include "td-weight-choice.h"

struct _TdWeightChoice
{
  AdwPreferencesGroup parent_instance;

  GSettings   *settings;
  AdwComboRow *rows[TD_WEIGHTS_COUNT];
  GPtrArray   *files[TD_WEIGHTS_COUNT]; /* the paths behind each row's items */
  gboolean     filling;                 /* rows being rebuilt: selections are not choices */
};

G_DEFINE_FINAL_TYPE (TdWeightChoice, td_weight_choice, ADW_TYPE_PREFERENCES_GROUP)

char *
td_weight_choice_setting (GSettings  *settings,
                          const char *part)
{
  g_autoptr(GVariant) files = g_settings_get_value (settings, "weight-files");
  char *file = NULL;

  if (!g_variant_lookup (files, part, "s", &file))
    return NULL;
  return file;
}

/* Stores @file (NULL: the default) for @part. */
static void
store_choice (TdWeightChoice *self,
              const char     *part,
              const char     *file)
{
  g_autoptr(GVariant) old = g_settings_get_value (self->settings, "weight-files");
  GVariantBuilder builder;
  GVariantIter iter;
  const char *key, *value;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{ss}"));
  g_variant_iter_init (&iter, old);
  while (g_variant_iter_next (&iter, "{&s&s}", &key, &value))
    if (g_strcmp0 (key, part) != 0)
      g_variant_builder_add (&builder, "{ss}", key, value);
  if (file != NULL)
    g_variant_builder_add (&builder, "{ss}", part, file);
  g_settings_set_value (self->settings, "weight-files", g_variant_builder_end (&builder));
}

static const char *
row_title (td_weight_part part)
{
  switch (part)
    {
    case TD_WEIGHTS_FLUX: return _("FLUX Weights");
    case TD_WEIGHTS_T5: return _("T5 Weights");
    case TD_WEIGHTS_QWEN2VL: return _("Qwen2-VL Weights");
    case TD_WEIGHTS_EVA: return _("BLIP-2 Vision Weights");
    default: return _("CLIP Weights");
    }
}

static void
selection_changed (AdwComboRow    *row,
                   GParamSpec     *pspec,
                   TdWeightChoice *self)
{
  for (int part = 0; part < TD_WEIGHTS_COUNT; part++)
    if (self->rows[part] == row && !self->filling)
      {
        guint selected = adw_combo_row_get_selected (row);
        const char *file = selected > 0 && selected < self->files[part]->len ? self->files[part]->pdata[selected]
                                                                              : NULL;

        store_choice (self, td_weight_part_name ((td_weight_part) part), file);
      }
}

/* Lists the folder's files for each part again and selects the stored choices. */
static void
refill (TdWeightChoice *self)
{
  g_autofree char *folder = g_settings_get_string (self->settings, "model-folder");
  g_autofree char *models_dir = td_engine_models_dir (folder);
  gboolean any = FALSE;

  self->filling = TRUE;
  for (int part = 0; part < TD_WEIGHTS_COUNT; part++)
    {
      const char *name = td_weight_part_name ((td_weight_part) part);
      char **choices = td_models_weight_choices (models_dir, (td_weight_part) part, NULL);
      g_autoptr(GtkStringList) labels = gtk_string_list_new (NULL);
      g_autofree char *stored = td_weight_choice_setting (self->settings, name);
      guint selected = 0;

      g_ptr_array_set_size (self->files[part], 0);
      for (int i = 0; choices != NULL && choices[i] != NULL; i++)
        {
          g_autofree char *base = g_path_get_basename (choices[i]);
          /* Translators: %s is the name of the weight file loaded by default. */
          g_autofree char *label = i == 0 ? g_strdup_printf (_("%s (default)"), base) : g_strdup (base);

          gtk_string_list_append (labels, label);
          g_ptr_array_add (self->files[part], g_strdup (choices[i]));
          if (i > 0 && g_strcmp0 (stored, choices[i]) == 0)
            selected = (guint) i;
        }
      td_strv_free (choices);
      adw_combo_row_set_model (self->rows[part], G_LIST_MODEL (labels));
      adw_combo_row_set_selected (self->rows[part], selected);
      gtk_widget_set_visible (GTK_WIDGET (self->rows[part]), self->files[part]->len > 1);
      any = any || self->files[part]->len > 1;
      if (stored != NULL && selected == 0)
        store_choice (self, name, NULL);
    }
  self->filling = FALSE;
  gtk_widget_set_visible (GTK_WIDGET (self), any);
}

static void
td_weight_choice_dispose (GObject *object)
{
  TdWeightChoice *self = TD_WEIGHT_CHOICE (object);

  g_clear_object (&self->settings);
  for (int part = 0; part < TD_WEIGHTS_COUNT; part++)
    g_clear_pointer (&self->files[part], g_ptr_array_unref);

  G_OBJECT_CLASS (td_weight_choice_parent_class)->dispose (object);
}

static void
td_weight_choice_class_init (TdWeightChoiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = td_weight_choice_dispose;
}

static void
td_weight_choice_init (TdWeightChoice *self)
{
  self->settings = g_settings_new (TD_APP_ID);
  for (int part = 0; part < TD_WEIGHTS_COUNT; part++)
    {
      self->files[part] = g_ptr_array_new_with_free_func (g_free);
      self->rows[part] = ADW_COMBO_ROW (adw_combo_row_new ());
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->rows[part]), row_title ((td_weight_part) part));
      adw_action_row_set_subtitle (ADW_ACTION_ROW (self->rows[part]),
                                   _("The models folder holds more than one file for this model"));
      g_signal_connect (self->rows[part], "notify::selected", G_CALLBACK (selection_changed), self);
      adw_preferences_group_add (ADW_PREFERENCES_GROUP (self), GTK_WIDGET (self->rows[part]));
    }
  g_signal_connect_object (self->settings, "changed::model-folder", G_CALLBACK (refill), self, G_CONNECT_SWAPPED);
  refill (self);
}

GtkWidget *
td_weight_choice_new (void)
{
  return g_object_new (TD_TYPE_WEIGHT_CHOICE, NULL);
}

AdwComboRow *
td_weight_choice_get_row (TdWeightChoice *self,
                          const char     *part)
{
  td_weight_part which;

  g_return_val_if_fail (TD_IS_WEIGHT_CHOICE (self), NULL);
  if (!td_weight_part_parse (part, &which))
    return NULL;
  return self->rows[which];
}
