/* td-window.c — the main window.
 *
 * The sidebar (an AdwFlap, so it folds into an overlay on narrow screens)
 * holds the prompt board and the settings; the content shows the preview,
 * the model's thought and the gallery of results. Generation goes through a
 * TdGenerationJob with whatever worker the window was given; in this build
 * there is no engine worker, and pressing Generate says so.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <glib/gi18n.h>

#include "td-window-private.h"

G_DEFINE_FINAL_TYPE (TdWindow, td_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_RUNNING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

void
td_window_add_toast (TdWindow   *self,
                     const char *title)
{
  g_return_if_fail (TD_IS_WINDOW (self));
  g_return_if_fail (title != NULL);

  g_free (self->last_toast_title);
  self->last_toast_title = g_strdup (title);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (title));
}

/* The title of the last toast shown, so tests can check what the user was told. */
const char *
td_window_get_last_toast_title (TdWindow *self)
{
  g_return_val_if_fail (TD_IS_WINDOW (self), NULL);
  return self->last_toast_title;
}

static void
on_board_problem (TdWindow   *self,
                  const char *message)
{
  td_window_add_toast (self, message);
}

/* Preview, thought, results ------------------------------------------------ */

static void
set_thought (TdWindow   *self,
             const char *thought)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->thought_view);

  gtk_text_buffer_set_text (buffer, thought != NULL ? thought : "", -1);
  gtk_widget_set_visible (self->thought_box, thought != NULL && *thought != '\0');
}

static void
set_preview (TdWindow   *self,
             GdkTexture *texture)
{
  gtk_picture_set_paintable (self->preview_picture, GDK_PAINTABLE (texture));
  gtk_stack_set_visible_child_name (self->preview_stack, texture != NULL ? "picture" : "empty");
}

void
td_window_show_result (TdWindow           *self,
                       TdGenerationResult *result)
{
  g_return_if_fail (TD_IS_WINDOW (self));
  g_return_if_fail (TD_IS_GENERATION_RESULT (result));

  g_set_object (&self->shown_result, result);
  set_preview (self, td_generation_result_get_texture (result));
  set_thought (self, td_generation_result_get_thought (result));
  _td_window_update_actions (self);
}

static GtkWidget *
create_gallery_child (gpointer item,
                      gpointer user_data)
{
  TdGenerationResult *result = item;
  GtkWidget *picture;
  g_autofree char *tooltip = NULL;

  /* A GtkImage keeps the thumbnail at a fixed size, whatever the result's. */
  picture = gtk_image_new_from_paintable (GDK_PAINTABLE (td_generation_result_get_texture (result)));
  gtk_image_set_pixel_size (GTK_IMAGE (picture), 96);
  gtk_widget_set_overflow (picture, GTK_OVERFLOW_HIDDEN);
  gtk_widget_add_css_class (picture, "td-result-thumbnail");

  /* Translators: tooltip of a result in the gallery; %u is the seed number. */
  tooltip = g_strdup_printf (_("Result with seed %u"), td_generation_result_get_seed (result));
  gtk_widget_set_tooltip_text (picture, tooltip);
  gtk_accessible_update_property (GTK_ACCESSIBLE (picture),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, tooltip, -1);
  return picture;
}

static void
on_gallery_child_activated (TdWindow        *self,
                            GtkFlowBoxChild *child,
                            GtkFlowBox      *gallery)
{
  int index = gtk_flow_box_child_get_index (child);
  g_autoptr(TdGenerationResult) result = NULL;

  result = g_list_model_get_item (G_LIST_MODEL (self->results), index);
  if (result != NULL)
    td_window_show_result (self, result);
}

static void
on_results_changed (TdWindow *self)
{
  gtk_widget_set_visible (self->results_box,
                          g_list_model_get_n_items (G_LIST_MODEL (self->results)) > 0);
}

/* Generation --------------------------------------------------------------- */

static void
set_running (TdWindow *self,
             gboolean  running)
{
  gtk_widget_set_visible (self->progress_box, running);
  gtk_widget_set_visible (self->generate_button, !running);
  gtk_widget_set_visible (self->cancel_button, running);
  _td_window_update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

static void
on_job_progress (TdWindow          *self,
                 TdGenerationStage  stage,
                 guint              step,
                 guint              n_steps,
                 TdGenerationJob   *job)
{
  g_autofree char *text = td_generation_stage_describe (stage, step, n_steps);

  gtk_label_set_label (self->stage_label, text);
  if (n_steps > 0)
    gtk_progress_bar_set_fraction (self->progress_bar, (double) step / n_steps);
  else
    gtk_progress_bar_pulse (self->progress_bar);
}

static void
on_job_preview (TdWindow        *self,
                GdkTexture      *texture,
                TdGenerationJob *job)
{
  set_preview (self, texture);
}

static void
on_job_thought (TdWindow        *self,
                const char      *thought,
                TdGenerationJob *job)
{
  set_thought (self, thought);
}

static void
on_job_done (GObject      *source_object,
             GAsyncResult *async_result,
             gpointer      user_data)
{
  g_autoptr(TdWindow) self = user_data;
  TdGenerationJob *job = TD_GENERATION_JOB (source_object);
  g_autoptr(TdGenerationResult) result = NULL;
  g_autoptr(GError) error = NULL;

  result = td_generation_job_run_finish (job, async_result, &error);

  g_signal_handlers_disconnect_by_data (job, self);
  if (self->job == job)
    {
      g_clear_object (&self->job);
      g_clear_object (&self->cancellable);
    }
  set_running (self, FALSE);

  if (result != NULL)
    {
      g_list_store_insert (self->results, 0, result);
      gtk_flow_box_unselect_all (self->gallery);
      td_window_show_result (self, result);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      td_window_add_toast (self, _("Generation cancelled"));
      if (self->shown_result != NULL)
        td_window_show_result (self, self->shown_result);
      else
        set_preview (self, NULL);
    }
  else
    {
      /* Translators: %s is the engine's message naming what went wrong. */
      g_autofree char *message = g_strdup_printf (_("Generation failed: %s"), error->message);
      td_window_add_toast (self, message);
    }
}

static gboolean
board_has_content (TdWindow *self)
{
  GListModel *items = td_prompt_board_get_items (self->board);
  guint n = g_list_model_get_n_items (items);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(TdBoardItem) item = g_list_model_get_item (items, i);
      const char *text = td_board_item_get_text (item);

      if (td_board_item_get_kind (item) == TD_BOARD_ITEM_IMAGE || (text != NULL && *text != '\0'))
        return TRUE;
    }
  return FALSE;
}

void
td_window_generate (TdWindow *self)
{
  TdGenerationRequest *request;

  g_return_if_fail (TD_IS_WINDOW (self));

  if (self->job != NULL)
    return;

  if (self->worker == NULL)
    {
      td_window_add_toast (self, _("Generation engine not available in this build"));
      return;
    }

  if (!board_has_content (self))
    {
      td_window_add_toast (self, _("Add an image or a text to the board first"));
      return;
    }

  if (!g_settings_get_boolean (self->settings, "seed-locked"))
    td_settings_panel_randomize_seed (self->settings_panel);

  request = td_generation_request_new_from_board (td_prompt_board_get_items (self->board),
                                                  self->settings);
  self->job = td_generation_job_new (request, self->worker, self->worker_data);
  self->cancellable = g_cancellable_new ();

  g_signal_connect_object (self->job, "progress", G_CALLBACK (on_job_progress), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->job, "preview", G_CALLBACK (on_job_preview), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->job, "thought", G_CALLBACK (on_job_thought), self, G_CONNECT_SWAPPED);

  gtk_label_set_label (self->stage_label, _("Starting"));
  gtk_progress_bar_set_fraction (self->progress_bar, 0.0);
  set_thought (self, NULL);
  set_running (self, TRUE);

  td_generation_job_run_async (self->job, self->cancellable, on_job_done, g_object_ref (self));
}

/* The worker stops at its next check (at most a step away); the window goes
 * back to idle when the job reports back. */
void
td_window_cancel (TdWindow *self)
{
  g_return_if_fail (TD_IS_WINDOW (self));

  if (self->cancellable == NULL || g_cancellable_is_cancelled (self->cancellable))
    return;

  g_cancellable_cancel (self->cancellable);
  gtk_label_set_label (self->stage_label, _("Cancelling…"));
  _td_window_update_actions (self);
}

gboolean
td_window_get_running (TdWindow *self)
{
  g_return_val_if_fail (TD_IS_WINDOW (self), FALSE);
  return self->job != NULL;
}

void
td_window_set_generation_worker (TdWindow           *self,
                                 TdGenerationWorker  worker,
                                 gpointer            worker_data)
{
  g_return_if_fail (TD_IS_WINDOW (self));

  self->worker = worker;
  self->worker_data = worker_data;
}

/* Window state ------------------------------------------------------------- */

static gboolean
td_window_close_request (GtkWindow *window)
{
  TdWindow *self = TD_WINDOW (window);
  int width, height;

  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));

  td_window_cancel (self);

  return GTK_WINDOW_CLASS (td_window_parent_class)->close_request (window);
}

/* GObject ----------------------------------------------------------------- */

static void
td_window_dispose (GObject *object)
{
  TdWindow *self = TD_WINDOW (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  if (self->job != NULL)
    g_signal_handlers_disconnect_by_data (self->job, self);
  gtk_widget_dispose_template (GTK_WIDGET (self), TD_TYPE_WINDOW);

  G_OBJECT_CLASS (td_window_parent_class)->dispose (object);
}

static void
td_window_finalize (GObject *object)
{
  TdWindow *self = TD_WINDOW (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->results);
  g_clear_object (&self->shown_result);
  g_clear_object (&self->job);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->last_toast_title, g_free);

  G_OBJECT_CLASS (td_window_parent_class)->finalize (object);
}

static void
td_window_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  TdWindow *self = TD_WINDOW (object);

  switch (prop_id)
    {
    case PROP_RUNNING:
      g_value_set_boolean (value, td_window_get_running (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
td_window_class_init (TdWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = td_window_dispose;
  object_class->finalize = td_window_finalize;
  object_class->get_property = td_window_get_property;
  window_class->close_request = td_window_close_request;

  /* Whether a generation job is in progress. */
  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (TD_TYPE_PROMPT_BOARD);
  g_type_ensure (TD_TYPE_SETTINGS_PANEL);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/thinkdiff/Studio/td-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TdWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, flap);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, board);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, settings_panel);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, preview_stack);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, preview_picture);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, progress_box);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, stage_label);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, thought_box);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, thought_view);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, results_box);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, gallery);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, generate_button);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, cancel_button);
  gtk_widget_class_bind_template_callback (widget_class, on_gallery_child_activated);

  _td_window_class_actions_init (widget_class);
}

static void
td_window_init (TdWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_object_ref (td_settings_panel_get_settings (self->settings_panel));
  self->results = g_list_store_new (TD_TYPE_GENERATION_RESULT);
  self->worker = td_generation_engine_worker ();

  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  gtk_flow_box_bind_model (self->gallery, G_LIST_MODEL (self->results),
                           create_gallery_child, self, NULL);
  g_signal_connect_object (self->results, "items-changed",
                           G_CALLBACK (on_results_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->board, "problem",
                           G_CALLBACK (on_board_problem), self, G_CONNECT_SWAPPED);

  _td_window_update_actions (self);
}

TdWindow *
td_window_new (GtkApplication *application)
{
  return g_object_new (TD_TYPE_WINDOW, "application", application, NULL);
}

TdPromptBoard *
td_window_get_board (TdWindow *self)
{
  g_return_val_if_fail (TD_IS_WINDOW (self), NULL);
  return self->board;
}

TdSettingsPanel *
td_window_get_settings_panel (TdWindow *self)
{
  g_return_val_if_fail (TD_IS_WINDOW (self), NULL);
  return self->settings_panel;
}

GListModel *
td_window_get_results (TdWindow *self)
{
  g_return_val_if_fail (TD_IS_WINDOW (self), NULL);
  return G_LIST_MODEL (self->results);
}
