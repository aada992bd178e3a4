/* td-window.h — the main window: board and settings beside the preview.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include <adwaita.h>

#include "thinkdiff.h"
#include "td-board-store.h"
#include "td-generation-job.h"
#include "td-history.h"
#include "td-model-setup.h"
#include "td-prompt-board.h"
#include "td-settings-panel.h"

G_BEGIN_DECLS

#define TD_TYPE_WINDOW (td_window_get_type ())

G_DECLARE_FINAL_TYPE (TdWindow, td_window, TD, WINDOW, AdwApplicationWindow)

/* What Reuse does with the cards already on the board. */
typedef enum {
  TD_REUSE_REPLACE,
  TD_REUSE_ADD,
} TdReuseMode;

TdWindow        *td_window_new                   (GtkApplication     *application);
TdPromptBoard   *td_window_get_board             (TdWindow           *self);
TdSettingsPanel *td_window_get_settings_panel    (TdWindow           *self);
GListModel      *td_window_get_results           (TdWindow           *self);
void             td_window_set_generation_worker (TdWindow           *self,
                                                  TdGenerationWorker  worker,
                                                  gpointer            worker_data);
void             td_window_generate              (TdWindow           *self);
void             td_window_cancel                (TdWindow           *self);
void             td_window_paint_from_thought    (TdWindow           *self);
void             td_window_generate_variations   (TdWindow           *self,
                                                  guint               n);
gboolean         td_window_get_running           (TdWindow           *self);
void             td_window_show_result           (TdWindow           *self,
                                                  TdGenerationResult *result);
void             td_window_add_toast             (TdWindow           *self,
                                                  const char         *title);
const char      *td_window_get_last_toast_title  (TdWindow           *self);
const char      *td_window_get_last_alert_heading (TdWindow          *self);
void             td_window_show_error_banner     (TdWindow           *self,
                                                  const char         *heading,
                                                  const char         *body,
                                                  const char         *button_label,
                                                  const char         *action_name);
const char      *td_window_get_last_error        (TdWindow           *self);
TdModelSetup    *td_window_get_model_setup       (TdWindow           *self);
void             td_window_show_model_setup      (TdWindow           *self,
                                                  gboolean            show);
gboolean         td_window_get_showing_model_setup (TdWindow         *self);
TdGenerationResult *td_window_get_shown_result   (TdWindow           *self);
guint            td_window_reuse_board           (TdWindow           *self,
                                                  const td_board     *board,
                                                  TdReuseMode         mode);
GtkWindow       *td_window_offer_reuse           (TdWindow           *self,
                                                  td_board           *board);
void             td_window_undo_reuse            (TdWindow           *self);
gboolean         td_window_reuse_file            (TdWindow           *self,
                                                  GFile              *file);
void             td_window_set_notify_after      (TdWindow           *self,
                                                  double              seconds);
guint            td_window_get_n_notifications   (TdWindow           *self);
/* Keeping the user's work (td-window-work.c): a window of an application
 * keeps its results in the history and its board on disk. */
TdHistory       *td_window_get_history           (TdWindow           *self);
gboolean         td_window_get_history_loaded    (TdWindow           *self);
TdBoardStore    *td_window_get_board_store       (TdWindow           *self);
void             td_window_delete_result         (TdWindow           *self,
                                                  TdGenerationResult *result);
void             td_window_undo_delete           (TdWindow           *self);

G_END_DECLS
