/* td-window-actions.c — the window's actions ("win.*").
 *
 * Accelerators are set by TdApplication, except Ctrl+V: it lives in a
 * bubble-phase shortcut controller (see td-window.ui) so that a focused text
 * field pastes into itself and only otherwise does the board get the paste.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <glib/gi18n.h>

#include "td-window-private.h"

static void
generate_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  td_window_generate (TD_WINDOW (widget));
}

static void
generate_variations_action (GtkWidget  *widget,
                            const char *action_name,
                            GVariant   *parameter)
{
  td_window_generate_variations (TD_WINDOW (widget), 4);
}

static void
paint_thought_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  td_window_paint_from_thought (TD_WINDOW (widget));
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  td_window_cancel (TD_WINDOW (widget));
}

static void
add_image_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  td_prompt_board_choose_images (TD_WINDOW (widget)->board);
}

static void
add_text_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  gtk_widget_activate_action (GTK_WIDGET (TD_WINDOW (widget)->board), "board.add-text", NULL);
}

static void
paste_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  TdWindow *self = TD_WINDOW (widget);

  td_prompt_board_paste (self->board, gtk_widget_get_clipboard (widget));
}

static void
show_models_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  td_window_show_model_setup (TD_WINDOW (widget), TRUE);
}

static void
toggle_sidebar_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  TdWindow *self = TD_WINDOW (widget);

  adw_flap_set_reveal_flap (self->flap, !adw_flap_get_reveal_flap (self->flap));
}

static void
dismiss_error_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  _td_window_dismiss_error (TD_WINDOW (widget));
}

/* Sensitivity follows the state: Generate while idle, Cancel while running,
 * Save when a result is in the preview. */
void
_td_window_update_actions (TdWindow *self)
{
  gboolean running = self->job != NULL;
  gboolean cancelling = self->cancellable != NULL && g_cancellable_is_cancelled (self->cancellable);
  /* Save, Copy and the others act on what the preview shows: a result, not a
   * frame of the run or the stage page. */
  gboolean shown = self->shown_result != NULL && self->preview_is_result;
  /* Not from the setup page: the models may not be there yet. */
  gboolean studio = !td_window_get_showing_model_setup (self);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.generate", !running && studio);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.generate-variations", !running && studio);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel", running && !cancelling);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.paint-thought",
                                 !running && self->shown_result != NULL
                                 && td_generation_result_get_thought (self->shown_result) != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.save-result", shown);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.copy-result", shown);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.view-result", shown);
  /* A result still being written to the history cannot be taken out of it yet. */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.delete-result",
                                 self->shown_result != NULL && !td_history_is_writing (self->shown_result));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.open-history-folder", self->history != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.reuse-result",
                                 shown && !running
                                 && td_generation_result_get_board_json (self->shown_result) != NULL);
}

void
_td_window_class_actions_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.generate", NULL, generate_action);
  gtk_widget_class_install_action (widget_class, "win.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "win.paint-thought", NULL, paint_thought_action);
  gtk_widget_class_install_action (widget_class, "win.generate-variations", NULL, generate_variations_action);
  gtk_widget_class_install_action (widget_class, "win.add-image", NULL, add_image_action);
  gtk_widget_class_install_action (widget_class, "win.add-text", NULL, add_text_action);
  gtk_widget_class_install_action (widget_class, "win.paste", NULL, paste_action);
  gtk_widget_class_install_action (widget_class, "win.toggle-sidebar", NULL, toggle_sidebar_action);
  gtk_widget_class_install_action (widget_class, "win.show-models", NULL, show_models_action);
  gtk_widget_class_install_action (widget_class, "win.dismiss-error", NULL, dismiss_error_action);
}
