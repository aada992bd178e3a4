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
toggle_sidebar_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  TdWindow *self = TD_WINDOW (widget);

  adw_flap_set_reveal_flap (self->flap, !adw_flap_get_reveal_flap (self->flap));
}

/* Saving ------------------------------------------------------------------- */

static void
save_done (GObject      *source_object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(TdWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_file_replace_contents_finish (G_FILE (source_object), result, NULL, &error))
    {
      /* Translators: %s says why saving failed. */
      g_autofree char *message = g_strdup_printf (_("The image could not be saved: %s"),
                                                  error->message);
      td_window_add_toast (self, message);
      return;
    }

  td_window_add_toast (self, _("Image saved"));
}

static void
on_save_response (TdWindow             *self,
                  int                   response,
                  GtkFileChooserNative *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT && self->shown_result != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      GdkTexture *texture = td_generation_result_get_texture (self->shown_result);
      g_autoptr(GBytes) png = gdk_texture_save_to_png_bytes (texture);

      g_file_replace_contents_bytes_async (file, png, NULL, FALSE,
                                           G_FILE_CREATE_REPLACE_DESTINATION, NULL,
                                           save_done, g_object_ref (self));
    }

  g_object_unref (chooser);
}

static void
save_result_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  TdWindow *self = TD_WINDOW (widget);
  GtkFileChooserNative *chooser;
  g_autofree char *name = NULL;

  if (self->shown_result == NULL)
    return;

  chooser = gtk_file_chooser_native_new (_("Save Image"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), NULL);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  /* Translators: suggested file name of a saved result; %u is its seed. Keep ".png". */
  name = g_strdup_printf (_("thinkdiff-%u.png"), td_generation_result_get_seed (self->shown_result));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);

  g_signal_connect_swapped (chooser, "response", G_CALLBACK (on_save_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* Sensitivity follows the state: Generate while idle, Cancel while running,
 * Save when a result is shown. */
void
_td_window_update_actions (TdWindow *self)
{
  gboolean running = self->job != NULL;
  gboolean cancelling = self->cancellable != NULL && g_cancellable_is_cancelled (self->cancellable);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.generate", !running);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.cancel", running && !cancelling);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.save-result", self->shown_result != NULL);
}

void
_td_window_class_actions_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.generate", NULL, generate_action);
  gtk_widget_class_install_action (widget_class, "win.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "win.add-image", NULL, add_image_action);
  gtk_widget_class_install_action (widget_class, "win.add-text", NULL, add_text_action);
  gtk_widget_class_install_action (widget_class, "win.paste", NULL, paste_action);
  gtk_widget_class_install_action (widget_class, "win.save-result", NULL, save_result_action);
  gtk_widget_class_install_action (widget_class, "win.toggle-sidebar", NULL, toggle_sidebar_action);
}
