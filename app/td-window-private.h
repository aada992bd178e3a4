/* td-window-private.h — TdWindow's fields, shared by its source files
 * (td-window.c: layout and generation; td-window-actions.c: actions;
 * td-window-errors.c: the error banner; td-window-results.c: result actions
 * and Reuse; td-window-work.c: history, board autosave and the question
 * before closing during a run).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include "td-generation-progress.h"
#include "td-window.h"

G_BEGIN_DECLS

typedef struct _TdReuseUndo TdReuseUndo;

struct _TdWindow
{
  AdwApplicationWindow  parent_instance;

  GSettings            *settings;
  GListStore           *results;
  TdGenerationResult   *shown_result;

  TdGenerationWorker    worker;
  gpointer              worker_data;
  TdGenerationJob      *job;
  GCancellable         *cancellable;

  char                 *last_toast_title;
  char                 *last_alert_heading;
  char                 *last_error;
  TdGenerationProgress  progress;
  gboolean              preview_is_result; /* the preview shows shown_result, not a frame or a stage */
  gint64                job_started_us;
  guint                 variations_left; /* "Generate 4": runs still to start, each with the next seed */
  double                notify_after_s;
  guint                 n_notifications;
  TdReuseUndo          *reuse_undo;       /* what Undo after Reuse puts back */

  /* td-window-work.c */
  TdHistory            *history;          /* the application's, or NULL */
  TdBoardStore         *board_store;
  GCancellable         *history_cancellable;
  gboolean              history_loaded;
  TdGenerationResult   *deleted_result;   /* what Undo after Delete puts back */
  guint                 deleted_position;
  gboolean              close_confirmed;

  /* template children */
  AdwToastOverlay      *toast_overlay;
  GtkStack             *main_stack;
  TdModelSetup         *model_setup;
  AdwFlap              *flap;
  TdPromptBoard        *board;
  TdSettingsPanel      *settings_panel;
  GtkStack             *preview_stack;
  GtkPicture           *preview_picture;
  GtkWidget            *result_actions;
  GtkWidget            *progress_box;
  GtkLabel             *stage_label;
  GtkProgressBar       *progress_bar;
  GtkWidget            *thought_box;
  GtkTextView          *thought_view;
  GtkWidget            *paint_thought_button;
  GtkWidget            *results_box;
  GtkFlowBox           *gallery;
  GtkWidget            *generate_button;
  GtkWidget            *cancel_button;
  AdwStatusPage        *stage_page;
  GtkSpinner           *stage_spinner;
  GtkRevealer          *error_revealer;
  GtkLabel             *error_heading;
  GtkLabel             *error_body;
  GtkWidget            *error_action_button;
};

void _td_window_class_actions_init (GtkWidgetClass *widget_class);
void _td_window_update_actions     (TdWindow       *self);

/* td-window-errors.c */
void _td_window_show_error         (TdWindow       *self,
                                    const GError   *error);
void _td_window_dismiss_error      (TdWindow       *self);

/* td-window-results.c */
void _td_window_class_results_init (GtkWidgetClass *widget_class);
void _td_window_results_init       (TdWindow       *self);
GtkWidget *_td_window_gallery_child_new (TdWindow           *self,
                                         TdGenerationResult *result);
void _td_reuse_undo_free           (TdReuseUndo    *undo);

/* td-window-work.c */
void     _td_window_class_work_init (GtkWidgetClass     *widget_class);
void     _td_window_work_init       (TdWindow           *self,
                                     GtkApplication     *application);
void     _td_window_work_dispose    (TdWindow           *self);
void     _td_window_work_result_added (TdWindow         *self,
                                       TdGenerationResult *result);
gboolean _td_window_work_close_request (TdWindow        *self);
void     _td_window_show_nothing    (TdWindow           *self);

G_END_DECLS
