/* td-window.c — the main window.
 *
 * The sidebar (an AdwFlap, so it folds into an overlay on narrow screens)
 * holds the prompt board and the settings; the content shows the preview,
 * the model's thought and the gallery of results. Generation goes through a
 * TdGenerationJob with the engine worker (or whatever worker tests give it).
 * While the models folder lacks FLUX, the window opens on the model setup
 * page. Until a run's first frame the preview shows its stage; one progress
 * bar covers all stages (td-generation-progress.c). Result actions,
 * drag-and-drop of results and Reuse live in td-window-results.c; failures
 * are shown by td-window-errors.c.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <glib/gi18n.h>

#include "td-accessible.h"
#include "td-engine-worker.h"
#include "td-window-private.h"

/* A job longer than this ends with a desktop notification when the window
 * is not focused. */
#define NOTIFY_AFTER_S 10.0

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

const char *
td_window_get_last_alert_heading (TdWindow *self)
{
  g_return_val_if_fail (TD_IS_WINDOW (self), NULL);
  return self->last_alert_heading;
}

static void
on_board_problem (TdWindow   *self,
                  const char *message)
{
  td_window_add_toast (self, message);
}

/* Preview, thought, results ------------------------------------------------ */

/* After a run the thought can be edited and painted from; not while one runs. */
static void
update_thought_editable (TdWindow *self)
{
  gboolean editable = self->job == NULL && self->shown_result != NULL
                      && td_generation_result_get_thought (self->shown_result) != NULL;

  gtk_text_view_set_editable (self->thought_view, editable);
  gtk_text_view_set_cursor_visible (self->thought_view, editable);
  gtk_widget_set_visible (self->paint_thought_button, editable);
}

static void
set_thought (TdWindow   *self,
             const char *thought)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->thought_view);

  gtk_text_buffer_set_text (buffer, thought != NULL ? thought : "", -1);
  gtk_widget_set_visible (self->thought_box, thought != NULL && *thought != '\0');
  update_thought_editable (self);
}

/* A frame of the run, or nothing (the empty page); never a result: see
 * td_window_show_result (). Save and Copy act only on a shown result. */
static void
set_preview (TdWindow   *self,
             GdkTexture *texture)
{
  self->preview_is_result = FALSE;
  gtk_spinner_stop (self->stage_spinner);
  gtk_picture_set_paintable (self->preview_picture, GDK_PAINTABLE (texture));
  gtk_stack_set_visible_child_name (self->preview_stack, texture != NULL ? "picture" : "empty");
  gtk_widget_set_visible (self->result_actions, FALSE);
  _td_window_update_actions (self);
}

/* Until the run's first frame the preview says what the run is doing, so the
 * previous result is not mistaken for the new one. */
static void
show_stage (TdWindow   *self,
            const char *text)
{
  adw_status_page_set_title (self->stage_page, text);
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->preview_stack), "stage") == 0)
    return;
  set_preview (self, NULL);
  gtk_stack_set_visible_child_name (self->preview_stack, "stage");
  gtk_spinner_start (self->stage_spinner);
}

void
td_window_show_result (TdWindow           *self,
                       TdGenerationResult *result)
{
  g_return_if_fail (TD_IS_WINDOW (self));
  g_return_if_fail (TD_IS_GENERATION_RESULT (result));

  g_set_object (&self->shown_result, result);
  set_preview (self, td_generation_result_get_texture (result));
  self->preview_is_result = TRUE;
  set_thought (self, td_generation_result_get_thought (result));
  gtk_widget_set_visible (self->result_actions, TRUE);
  _td_window_update_actions (self);
}

/* No result shown (the shown one was deleted). */
void
_td_window_show_nothing (TdWindow *self)
{
  g_clear_object (&self->shown_result);
  set_preview (self, NULL);
  set_thought (self, NULL);
  gtk_widget_set_visible (self->result_actions, FALSE);
  _td_window_update_actions (self);
}

/* The flow box child (what takes the focus) is named after the result. */
static GtkWidget *
create_gallery_child (gpointer item,
                      gpointer user_data)
{
  GtkWidget *child = gtk_flow_box_child_new ();
  g_autofree char *name = NULL;

  gtk_flow_box_child_set_child (GTK_FLOW_BOX_CHILD (child), _td_window_gallery_child_new (user_data, item));
  /* Translators: accessible name of a result in the gallery; %u is its seed. */
  name = g_strdup_printf (_("Result with seed %u"), td_generation_result_get_seed (item));
  gtk_accessible_update_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
  return child;
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

static void start_job (TdWindow            *self,
                       TdGenerationRequest *request);

/* Generate is for the studio: hidden while running and on the setup page. */
static void
update_header_buttons (TdWindow *self)
{
  gboolean running = self->job != NULL;

  gtk_widget_set_visible (self->generate_button, !running && !td_window_get_showing_model_setup (self));
  gtk_widget_set_visible (self->cancel_button, running);
}

static void
set_running (TdWindow *self,
             gboolean  running)
{
  gtk_widget_set_visible (self->progress_box, running);
  update_header_buttons (self);
  update_thought_editable (self);
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
  double fraction = td_generation_progress_update (&self->progress, stage, step, n_steps);

  gtk_label_set_label (self->stage_label, text);
  gtk_progress_bar_set_fraction (self->progress_bar, fraction);
  if (!self->preview_is_result
      && g_strcmp0 (gtk_stack_get_visible_child_name (self->preview_stack), "picture") != 0)
    show_stage (self, text);
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

/* A long job that finished while the user looked elsewhere. */
static void
notify_if_unfocused (TdWindow           *self,
                     TdGenerationResult *result)
{
  GApplication *app = G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
  double elapsed_s = (g_get_monotonic_time () - self->job_started_us) / 1e6;
  g_autoptr(GNotification) notification = NULL;
  g_autoptr(GIcon) icon = NULL;
  g_autofree char *body = NULL;

  if (gtk_window_is_active (GTK_WINDOW (self)) || elapsed_s < self->notify_after_s)
    return;

  notification = g_notification_new (_("Image Ready"));
  /* Translators: body of the notification when a generation finishes; %u is the seed. */
  body = g_strdup_printf (_("The image with seed %u is finished"), td_generation_result_get_seed (result));
  g_notification_set_body (notification, body);
  icon = g_themed_icon_new (TD_APP_ID);
  g_notification_set_icon (notification, icon);
  self->n_notifications++;
  if (app != NULL && g_application_get_is_registered (app))
    g_application_send_notification (app, "generation-finished", notification);
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
  if (result != NULL)
    gtk_progress_bar_set_fraction (self->progress_bar, 1.0);

  g_signal_handlers_disconnect_by_data (job, self);
  if (self->job == job)
    {
      g_clear_object (&self->job);
      g_clear_object (&self->cancellable);
    }
  set_running (self, FALSE);

  if (result == NULL)
    {
      /* Back to what was there before the run. */
      self->variations_left = 0;
      if (self->shown_result != NULL)
        td_window_show_result (self, self->shown_result);
      else
        set_preview (self, NULL);
    }
  if (result != NULL)
    {
      g_list_store_insert (self->results, 0, result);
      _td_window_work_result_added (self, result);
      gtk_flow_box_unselect_all (self->gallery);
      td_window_show_result (self, result);
      if (td_generation_result_get_notice (result) != NULL)
        td_window_add_toast (self, td_generation_result_get_notice (result));
      notify_if_unfocused (self, result);
      if (self->variations_left > 0)
        {
          TdGenerationRequest *request;

          self->variations_left--;
          request = td_generation_request_new_from_board (td_prompt_board_get_items (self->board),
                                                          self->settings);
          request->seed = td_generation_result_get_seed (result) + 1;
          set_thought (self, NULL);
          start_job (self, request);
        }
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      td_window_add_toast (self, _("Generation cancelled"));
    }
  else
    _td_window_show_error (self, error);
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
  set_thought (self, NULL);
  start_job (self, request);
}

/* Runs the board @n times in a row with seeds S, S+1, …, S+n−1 (S as Generate picks
 * it); each result lands in the gallery's grid and can be reused on its own. */
void
td_window_generate_variations (TdWindow *self,
                               guint     n)
{
  g_return_if_fail (TD_IS_WINDOW (self));
  g_return_if_fail (n >= 1);

  if (self->job != NULL)
    return;
  td_window_generate (self);
  if (self->job != NULL)
    self->variations_left = n - 1;
}

/* Paints again from the shown result's thought as the user edited it: the board and
 * settings as they are, the result's seed, and the edited text read by the language
 * model in place of its own thinking. */
void
td_window_paint_from_thought (TdWindow *self)
{
  GtkTextBuffer *buffer;
  GtkTextIter start, end;
  g_autofree char *text = NULL;
  TdGenerationRequest *request;

  g_return_if_fail (TD_IS_WINDOW (self));

  if (self->job != NULL || self->worker == NULL || self->shown_result == NULL)
    return;

  buffer = gtk_text_view_get_buffer (self->thought_view);
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  if (*g_strstrip (text) == '\0')
    {
      td_window_add_toast (self, _("Write a thought to paint from first"));
      return;
    }
  request = td_generation_request_new_from_board (td_prompt_board_get_items (self->board),
                                                  self->settings);
  if (request->mode != TD_GENERATION_MODE_LVLM)
    {
      td_generation_request_free (request);
      td_window_add_toast (self, _("Painting from a thought needs the Reasoning mode"));
      return;
    }
  request->seed = td_generation_result_get_seed (self->shown_result);
  request->thought = g_strdup (text);
  start_job (self, request);
}

static void
start_job (TdWindow            *self,
           TdGenerationRequest *request)
{
  td_generation_progress_start (&self->progress, request->mode);
  self->job = td_generation_job_new (request, self->worker, self->worker_data);
  self->cancellable = g_cancellable_new ();

  g_signal_connect_object (self->job, "progress", G_CALLBACK (on_job_progress), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->job, "preview", G_CALLBACK (on_job_preview), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->job, "thought", G_CALLBACK (on_job_thought), self, G_CONNECT_SWAPPED);

  self->job_started_us = g_get_monotonic_time ();
  gtk_label_set_label (self->stage_label, _("Starting…"));
  gtk_progress_bar_set_fraction (self->progress_bar, 0.0);
  _td_window_dismiss_error (self);
  show_stage (self, _("Starting…"));
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

/* Model setup -------------------------------------------------------------- */

static void
on_model_setup_done (TdWindow *self)
{
  td_window_show_model_setup (self, FALSE);
}

void
td_window_show_model_setup (TdWindow *self,
                            gboolean  show)
{
  g_return_if_fail (TD_IS_WINDOW (self));

  if (show)
    td_model_setup_refresh (self->model_setup);
  gtk_stack_set_visible_child_name (self->main_stack, show ? "setup" : "studio");
  update_header_buttons (self);
  _td_window_update_actions (self);
}

gboolean
td_window_get_showing_model_setup (TdWindow *self)
{
  g_return_val_if_fail (TD_IS_WINDOW (self), FALSE);
  return g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "setup") == 0;
}

TdModelSetup *
td_window_get_model_setup (TdWindow *self)
{
  g_return_val_if_fail (TD_IS_WINDOW (self), NULL);
  return self->model_setup;
}

TdGenerationResult *
td_window_get_shown_result (TdWindow *self)
{
  g_return_val_if_fail (TD_IS_WINDOW (self), NULL);
  return self->shown_result;
}

void
td_window_set_notify_after (TdWindow *self,
                            double    seconds)
{
  g_return_if_fail (TD_IS_WINDOW (self));
  self->notify_after_s = seconds;
}

guint
td_window_get_n_notifications (TdWindow *self)
{
  g_return_val_if_fail (TD_IS_WINDOW (self), 0);
  return self->n_notifications;
}

/* Window state ------------------------------------------------------------- */

static gboolean
td_window_close_request (GtkWindow *window)
{
  TdWindow *self = TD_WINDOW (window);
  int width, height;

  if (_td_window_work_close_request (self))
    return TRUE;
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
  _td_window_work_dispose (self);
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
  g_clear_pointer (&self->last_alert_heading, g_free);
  g_clear_pointer (&self->reuse_undo, _td_reuse_undo_free);
  g_clear_pointer (&self->last_error, g_free);

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
  g_type_ensure (TD_TYPE_MODEL_SETUP);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/thinkdiff/Studio/td-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TdWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, model_setup);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, flap);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, board);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, settings_panel);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, preview_stack);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, preview_picture);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, result_actions);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, progress_box);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, stage_label);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, thought_box);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, thought_view);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, paint_thought_button);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, results_box);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, gallery);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, generate_button);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, stage_page);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, stage_spinner);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, error_heading);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, error_body);
  gtk_widget_class_bind_template_child (widget_class, TdWindow, error_action_button);
  gtk_widget_class_bind_template_callback (widget_class, on_gallery_child_activated);

  _td_window_class_actions_init (widget_class);
  _td_window_class_results_init (widget_class);
  _td_window_class_work_init (widget_class);
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
  g_signal_connect_object (self->model_setup, "message",
                           G_CALLBACK (on_board_problem), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->model_setup, "done",
                           G_CALLBACK (on_model_setup_done), self, G_CONNECT_SWAPPED);

  self->notify_after_s = NOTIFY_AFTER_S;
  td_window_show_model_setup (self, !td_model_setup_get_ready (self->model_setup));
  _td_window_results_init (self);
  _td_window_update_actions (self);
  td_accessible_name_mnemonic_buttons (GTK_WIDGET (self));
}

TdWindow *
td_window_new (GtkApplication *application)
{
  TdWindow *self = g_object_new (TD_TYPE_WINDOW, "application", application, NULL);

  if (application != NULL)
    _td_window_work_init (self, application);
  return self;
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
