/* td-window-errors.c — how the window tells the user that a run failed.
 *
 * A failure stays on screen, whole, in a banner over the window until it is
 * dismissed or the next run starts: the engine's message names the file and
 * the reason, and cutting it into a toast would lose exactly that. Failures
 * that need a decision (out of memory, a lost GPU) get a dialog instead.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <glib/gi18n.h>

#include "td-engine-worker.h"
#include "td-window-private.h"

static void
on_alert_response (AdwMessageDialog *dialog,
                   const char       *response,
                   TdWindow         *self)
{
  if (g_strcmp0 (response, "preferences") == 0)
    gtk_widget_activate_action (GTK_WIDGET (self), "app.preferences", NULL);
}

static void
alert (TdWindow   *self,
       const char *heading,
       const char *body)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, body);

  g_free (self->last_alert_heading);
  self->last_alert_heading = g_strdup (heading);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "preferences", _("_Preferences"),
                                    "close", _("_Close"),
                                    NULL);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "close");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "close");
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_alert_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Shows @heading and the whole @body; @button_label and @action_name offer
 * the way out (both NULL for none). */
void
td_window_show_error_banner (TdWindow   *self,
                             const char *heading,
                             const char *body,
                             const char *button_label,
                             const char *action_name)
{
  g_return_if_fail (TD_IS_WINDOW (self));
  g_return_if_fail (heading != NULL && body != NULL);

  g_free (self->last_error);
  self->last_error = g_strdup_printf ("%s\n%s", heading, body);
  gtk_label_set_label (self->error_heading, heading);
  gtk_label_set_label (self->error_body, body);
  gtk_widget_set_visible (self->error_action_button, button_label != NULL);
  if (button_label != NULL)
    {
      gtk_button_set_label (GTK_BUTTON (self->error_action_button), button_label);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (self->error_action_button), action_name);
    }
  gtk_revealer_set_reveal_child (self->error_revealer, TRUE);
}

void
_td_window_dismiss_error (TdWindow *self)
{
  gtk_revealer_set_reveal_child (self->error_revealer, FALSE);
  g_clear_pointer (&self->last_error, g_free);
}

/* The heading and whole message of the error on screen ("HEADING\nMESSAGE"),
 * or NULL when none is. */
const char *
td_window_get_last_error (TdWindow *self)
{
  g_return_val_if_fail (TD_IS_WINDOW (self), NULL);
  return self->last_error;
}

/* Tells the user what failed and what to do about it; the window stays usable. */
void
_td_window_show_error (TdWindow     *self,
                       const GError *error)
{
  g_autofree char *text = NULL;

  if (error->domain != TD_ENGINE_ERROR)
    {
      td_window_show_error_banner (self, _("Generation Failed"), error->message, NULL, NULL);
      return;
    }

  switch ((TdEngineError) error->code)
    {
    case TD_ENGINE_ERROR_MODELS_MISSING:
      td_window_show_error_banner (self, _("Models Missing"), error->message,
                                   _("_Set Up Models"), "win.show-models");
      break;

    case TD_ENGINE_ERROR_INPUT:
      td_window_show_error_banner (self, _("A Board Item Could Not Be Read"), error->message, NULL, NULL);
      break;

    case TD_ENGINE_ERROR_OUT_OF_MEMORY:
      /* Translators: %s is the engine's message. */
      text = g_strdup_printf (_("%s\n\nTry a smaller image size or fewer images on the board, "
                                "or choose another device in Preferences."), error->message);
      alert (self, _("Out of Memory"), text);
      break;

    case TD_ENGINE_ERROR_DEVICE_LOST:
      /* Translators: %s is the engine's message. */
      text = g_strdup_printf (_("%s\n\nThe next generation starts the device afresh. If this "
                                "happens again, try a smaller image size, update the graphics "
                                "driver, or choose the processor in Preferences."), error->message);
      alert (self, _("The GPU Stopped Responding"), text);
      break;

    case TD_ENGINE_ERROR_DEVICE:
      td_window_show_error_banner (self, _("GPU Error"), error->message,
                                   _("_Preferences"), "app.preferences");
      break;

    case TD_ENGINE_ERROR_FAILED:
    default:
      td_window_show_error_banner (self, _("Generation Failed"), error->message, NULL, NULL);
      break;
    }
}
