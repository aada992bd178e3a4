/* td-plan-row.c — the memory plan of the next run, as one row.
 *
 * The row follows the settings a run reads (mode, size, models folder, GPU) and
 * plans again, on a worker thread, whenever one changes: the planner reads the
 * models' configurations and weight files' headers, which may take a moment on a
 * slow disk. The budget is the chosen GPU's device-local memory; the processor
 * has none.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "thinkdiff.h"
#include "td-engine-worker.h"
#include "td-plan-row.h"
#include "td-size-presets.h"
#include "td-weight-choice.h"

struct _TdPlanRow
{
  AdwActionRow  parent_instance;

  GSettings    *settings;
  GCancellable *cancellable;
  char         *summary;
};

G_DEFINE_FINAL_TYPE (TdPlanRow, td_plan_row, ADW_TYPE_ACTION_ROW)

enum {
  PROP_0,
  PROP_SUMMARY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

typedef struct
{
  td_plan_options options;
  char *models_dir;
  char *device;
  char *weight_file[TD_WEIGHTS_COUNT];
} plan_request;

static void
plan_request_free (plan_request *request)
{
  g_free (request->models_dir);
  g_free (request->device);
  for (int part = 0; part < TD_WEIGHTS_COUNT; part++)
    g_free (request->weight_file[part]);
  g_free (request);
}

/* The device-local bytes of the GPU the "gpu-device" setting picks ("" or "auto":
 * the first discrete GPU, else the first other hardware one); 0 for the processor. */
static guint64
device_budget (const char *device)
{
  td_device_info *devices = NULL;
  int count = 0;
  guint64 budget = 0;
  int best = -1;

  if (g_strcmp0 (device, "cpu") == 0 || td_devices_list (&devices, &count, NULL) != TD_OK)
    return 0;
  for (int i = 0; i < count; i++)
    {
      gboolean chosen;

      if (!devices[i].usable)
        continue;
      if (*device != '\0' && strcmp (device, "auto") != 0)
        chosen = devices[i].index == (int) g_ascii_strtoll (device, NULL, 10);
      else
        chosen = strcmp (devices[i].type, "cpu") != 0
                 && (best < 0 || (strcmp (devices[i].type, "discrete") == 0
                                  && strcmp (devices[best].type, "discrete") != 0));
      if (chosen)
        best = i;
    }
  if (best >= 0)
    budget = devices[best].device_local_bytes;
  td_free (devices);
  return budget;
}

static void
plan_in_thread (GTask        *task,
                gpointer      source,
                gpointer      data,
                GCancellable *cancellable)
{
  plan_request *request = data;
  td_error err = { 0 };
  td_plan *plan;

  request->options.budget = device_budget (request->device);
  plan = td_plan_new (request->models_dir, &request->options, &err);
  if (plan == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s", err.message);
      return;
    }
  char *summary = td_plan_summary (plan);
  td_plan_free (plan);
  g_task_return_pointer (task, g_strdup (summary), g_free);
  td_free (summary);
}

static void
set_summary (TdPlanRow  *self,
             const char *summary,
             const char *details)
{
  g_free (self->summary);
  self->summary = g_strdup (summary);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), summary);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self), details);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SUMMARY]);
}

static void
plan_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(TdPlanRow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *summary = g_task_propagate_pointer (G_TASK (result), &error);

  /* A later change already asked for a new plan. */
  if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;
  if (summary != NULL)
    set_summary (self, summary, NULL);
  else
    set_summary (self, _("Unknown until the models are installed"), error->message);
}

static void
replan (TdPlanRow *self)
{
  g_autofree char *mode = g_settings_get_string (self->settings, "mode");
  g_autofree char *folder = g_settings_get_string (self->settings, "model-folder");
  plan_request *request = g_new0 (plan_request, 1);
  g_autoptr(GTask) task = NULL;

  request->options = td_plan_options_default (strcmp (mode, "lvlm") == 0 ? TD_PLAN_LVLM : TD_PLAN_CLIP);
  td_size_presets_resolve (self->settings, &request->options.width, &request->options.height);
  request->models_dir = td_engine_models_dir (folder);
  request->device = g_settings_get_string (self->settings, "gpu-device");
  for (int part = 0; part < TD_WEIGHTS_COUNT; part++)
    {
      request->weight_file[part] = td_weight_choice_setting (self->settings, td_weight_part_name (part));
      request->options.weight_file[part] = request->weight_file[part];
    }

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  task = g_task_new (NULL, self->cancellable, plan_done, g_object_ref (self));
  g_task_set_task_data (task, request, (GDestroyNotify) plan_request_free);
  g_task_run_in_thread (task, plan_in_thread);
}

static void
td_plan_row_dispose (GObject *object)
{
  TdPlanRow *self = TD_PLAN_ROW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (td_plan_row_parent_class)->dispose (object);
}

static void
td_plan_row_finalize (GObject *object)
{
  TdPlanRow *self = TD_PLAN_ROW (object);

  g_free (self->summary);

  G_OBJECT_CLASS (td_plan_row_parent_class)->finalize (object);
}

static void
td_plan_row_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  TdPlanRow *self = TD_PLAN_ROW (object);

  switch (prop_id)
    {
    case PROP_SUMMARY:
      g_value_set_string (value, self->summary);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
td_plan_row_class_init (TdPlanRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = td_plan_row_dispose;
  object_class->finalize = td_plan_row_finalize;
  object_class->get_property = td_plan_row_get_property;

  properties[PROP_SUMMARY] =
    g_param_spec_string ("summary", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
td_plan_row_init (TdPlanRow *self)
{
  static const char *const keys[] = { "mode", "size-preset", "width", "height", "model-folder", "gpu-device",
                                      "weight-files" };

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), _("Memory"));
  self->settings = g_settings_new (TD_APP_ID);
  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autofree char *signal = g_strconcat ("changed::", keys[i], NULL);

      g_signal_connect_object (self->settings, signal, G_CALLBACK (replan), self, G_CONNECT_SWAPPED);
    }
  replan (self);
}

GtkWidget *
td_plan_row_new (void)
{
  return g_object_new (TD_TYPE_PLAN_ROW, NULL);
}

const char *
td_plan_row_get_summary (TdPlanRow *self)
{
  g_return_val_if_fail (TD_IS_PLAN_ROW (self), NULL);
  return self->summary;
}
