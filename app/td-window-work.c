/* td-window-work.c — how the window keeps the user's work: every result goes
 * into the history (td-history.c) and comes back into the gallery on the next
 * start, with Delete (and Undo) and Open Folder; the board is saved as it is
 * edited (td-board-store.c); and closing the window during a run asks first.
 *
 * Only a window of an application keeps anything: the history belongs to the
 * application (one per process, shared by its windows). A bare window
 * (td_window_new (NULL), as most tests make) keeps nothing on disk.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <glib/gi18n.h>

#include "td-window-private.h"

static TdHistory *
history_of_application (GtkApplication *application)
{
  TdHistory *history = g_object_get_data (G_OBJECT (application), "td-history");

  if (history == NULL)
    {
      g_autofree char *dir = td_history_default_dir ();

      history = td_history_new (dir);
      g_object_set_data_full (G_OBJECT (application), "td-history", history, g_object_unref);
    }
  return history;
}

/* Loading ------------------------------------------------------------------ */

static void
on_history_loaded (GObject      *source_object,
                   GAsyncResult *async_result,
                   gpointer      user_data)
{
  g_autoptr(TdWindow) self = user_data;
  g_autoptr(GPtrArray) results = NULL;
  g_auto(GStrv) problems = NULL;
  g_autoptr(GError) error = NULL;
  guint n_problems;

  results = td_history_load_finish (TD_HISTORY (source_object), async_result, &problems, &error);
  /* The window was closed meanwhile. */
  if (self->history_cancellable == NULL || g_cancellable_is_cancelled (self->history_cancellable))
    return;
  self->history_loaded = TRUE;
  if (results == NULL)
    {
      /* Translators: %s says why the history could not be read. */
      g_autofree char *message = g_strdup_printf (_("The history could not be read: %s"), error->message);

      td_window_add_toast (self, message);
      return;
    }

  /* After any result made while the history loaded. */
  g_list_store_splice (self->results, g_list_model_get_n_items (G_LIST_MODEL (self->results)), 0,
                       results->pdata, results->len);

  /* Each skipped entry is in the log; the user is told once, with the way to look. */
  n_problems = problems != NULL ? g_strv_length (problems) : 0;
  if (n_problems > 0)
    {
      g_autofree char *message =
        /* Translators: on start; %u counts history entries that were damaged or not the app's. */
        g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                      "%u saved result could not be read and was skipped",
                                      "%u saved results could not be read and were skipped", n_problems),
                         n_problems);
      AdwToast *toast = adw_toast_new (message);

      adw_toast_set_button_label (toast, _("Open Folder"));
      adw_toast_set_action_name (toast, "win.open-history-folder");
      adw_toast_set_timeout (toast, 10);
      g_free (self->last_toast_title);
      self->last_toast_title = g_strdup (message);
      adw_toast_overlay_add_toast (self->toast_overlay, toast);
    }
  _td_window_update_actions (self);
}

gboolean
td_window_get_history_loaded (TdWindow *self)
{
  g_return_val_if_fail (TD_IS_WINDOW (self), FALSE);
  return self->history_loaded;
}

TdHistory *
td_window_get_history (TdWindow *self)
{
  g_return_val_if_fail (TD_IS_WINDOW (self), NULL);
  return self->history;
}

TdBoardStore *
td_window_get_board_store (TdWindow *self)
{
  g_return_val_if_fail (TD_IS_WINDOW (self), NULL);
  return self->board_store;
}

/* Storing ------------------------------------------------------------------ */

typedef struct {
  TdWindow     *window;
  GApplication *application;
} StoreData;

static void
on_result_stored (GObject      *source_object,
                  GAsyncResult *async_result,
                  gpointer      user_data)
{
  StoreData *data = user_data;
  g_autoptr(GError) error = NULL;

  if (!td_history_add_finish (TD_HISTORY (source_object), async_result, &error))
    {
      /* Translators: %s says why the result could not be written. */
      g_autofree char *message = g_strdup_printf (_("The image could not be kept in the history: %s"),
                                                  error->message);

      g_message ("%s", message);
      /* Unless the window was closed meanwhile. */
      if (data->window->history != NULL)
        td_window_add_toast (data->window, message);
    }
  /* Delete waits for the entry to be written (see td-window-actions.c). */
  if (data->window->history != NULL)
    _td_window_update_actions (data->window);
  g_application_release (data->application);
  g_object_unref (data->application);
  g_object_unref (data->window);
  g_free (data);
}

/* Called for each new result; the write runs in a thread, and the application
 * stays until it is done even if the window closes. */
void
_td_window_work_result_added (TdWindow           *self,
                              TdGenerationResult *result)
{
  StoreData *data;

  if (self->history == NULL)
    return;

  data = g_new0 (StoreData, 1);
  data->window = g_object_ref (self);
  data->application = G_APPLICATION (g_object_ref (gtk_window_get_application (GTK_WINDOW (self))));
  g_application_hold (data->application);
  td_history_add_async (self->history, result, NULL, on_result_stored, data);
}

/* Delete, Undo, Open Folder ------------------------------------------------ */

/* Takes @result out of the gallery and the history; the toast offers Undo. */
void
td_window_delete_result (TdWindow           *self,
                         TdGenerationResult *result)
{
  g_autoptr(TdGenerationResult) keep = NULL;
  g_autoptr(GError) error = NULL;
  guint position;
  AdwToast *toast;

  g_return_if_fail (TD_IS_WINDOW (self));
  g_return_if_fail (TD_IS_GENERATION_RESULT (result));

  if (!g_list_store_find (self->results, result, &position))
    return;
  keep = g_object_ref (result);

  if (self->history != NULL && td_history_get_entry_id (result) != NULL
      && !td_history_remove (self->history, result, &error))
    {
      /* Translators: %s says why the file could not be removed. */
      g_autofree char *message = g_strdup_printf (_("The result could not be deleted: %s"), error->message);

      td_window_add_toast (self, message);
      return;
    }

  g_list_store_remove (self->results, position);
  if (self->shown_result == result)
    {
      guint n = g_list_model_get_n_items (G_LIST_MODEL (self->results));
      g_autoptr(TdGenerationResult) next = n > 0 ? g_list_model_get_item (G_LIST_MODEL (self->results),
                                                                          MIN (position, n - 1))
                                                 : NULL;

      if (next != NULL)
        td_window_show_result (self, next);
      else
        _td_window_show_nothing (self);
    }

  g_set_object (&self->deleted_result, result);
  self->deleted_position = position;
  toast = adw_toast_new (_("Result deleted"));
  adw_toast_set_button_label (toast, _("Undo"));
  adw_toast_set_action_name (toast, "win.undo-delete");
  g_free (self->last_toast_title);
  self->last_toast_title = g_strdup (_("Result deleted"));
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

void
td_window_undo_delete (TdWindow *self)
{
  g_autoptr(TdGenerationResult) result = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (TD_IS_WINDOW (self));

  result = g_steal_pointer (&self->deleted_result);
  if (result == NULL)
    return;
  if (self->history != NULL && td_history_get_entry_id (result) != NULL
      && !td_history_restore (self->history, result, &error))
    {
      /* Translators: %s says why the result could not be put back. */
      g_autofree char *message = g_strdup_printf (_("The result could not be put back: %s"), error->message);

      td_window_add_toast (self, message);
      return;
    }
  g_list_store_insert (self->results,
                       MIN (self->deleted_position, g_list_model_get_n_items (G_LIST_MODEL (self->results))),
                       result);
  td_window_show_result (self, result);
}

static void
delete_result_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  TdWindow *self = TD_WINDOW (widget);

  if (self->shown_result != NULL)
    td_window_delete_result (self, self->shown_result);
}

static void
undo_delete_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  td_window_undo_delete (TD_WINDOW (widget));
}

static void
open_history_folder_action (GtkWidget  *widget,
                            const char *action_name,
                            GVariant   *parameter)
{
  TdWindow *self = TD_WINDOW (widget);
  g_autoptr(GFile) folder = NULL;
  g_autofree char *uri = NULL;

  if (self->history == NULL)
    return;
  /* The folder exists once a result was kept; show it even before. */
  g_mkdir_with_parents (td_history_get_dir (self->history), 0700);
  folder = g_file_new_for_path (td_history_get_dir (self->history));
  uri = g_file_get_uri (folder);
  /* Through the portal inside Flatpak. */
  gtk_show_uri (GTK_WINDOW (self), uri, GDK_CURRENT_TIME);
}

/* Closing during a run ----------------------------------------------------- */

static void
on_close_response (AdwMessageDialog *dialog,
                   const char       *response,
                   TdWindow         *self)
{
  if (g_strcmp0 (response, "stop") != 0)
    return;
  self->close_confirmed = TRUE;
  td_window_cancel (self);
  gtk_window_close (GTK_WINDOW (self));
}

/* TRUE when the window must stay open for now: a run is in progress and the
 * user is asked first (Keep Running / Stop and Close). Otherwise the board is
 * written out and the window may close. */
gboolean
_td_window_work_close_request (TdWindow *self)
{
  g_autoptr(GError) error = NULL;
  GtkWidget *dialog;

  if (self->job != NULL && !self->close_confirmed)
    {
      dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Stop the Image Being Made?"),
                                       _("Closing the window stops the generation, and its image is lost."));
      adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                        "keep", _("_Keep Running"),
                                        "stop", _("_Stop and Close"),
                                        NULL);
      adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "stop",
                                                  ADW_RESPONSE_DESTRUCTIVE);
      adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "keep");
      adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "keep");
      g_signal_connect_object (dialog, "response", G_CALLBACK (on_close_response), self, 0);
      g_free (self->last_alert_heading);
      self->last_alert_heading = g_strdup (_("Stop the Image Being Made?"));
      gtk_window_present (GTK_WINDOW (dialog));
      return TRUE;
    }

  if (self->board_store != NULL && !td_board_store_flush (self->board_store, &error))
    g_message ("The board could not be saved: %s", error->message);
  return FALSE;
}

/* Setup -------------------------------------------------------------------- */

void
_td_window_work_init (TdWindow       *self,
                      GtkApplication *application)
{
  g_autofree char *board_path = td_board_store_default_path ();
  g_autoptr(GError) error = NULL;

  self->history = g_object_ref (history_of_application (application));
  self->history_cancellable = g_cancellable_new ();
  td_history_load_async (self->history, self->history_cancellable, on_history_loaded, g_object_ref (self));

  self->board_store = td_board_store_new (board_path);
  if (!td_board_store_attach (self->board_store, self->board, &error))
    td_window_add_toast (self, error->message);
  _td_window_update_actions (self);
}

void
_td_window_work_dispose (TdWindow *self)
{
  if (self->history_cancellable != NULL)
    g_cancellable_cancel (self->history_cancellable);
  g_clear_object (&self->history_cancellable);
  /* Writes out a change still waiting for its timer. */
  g_clear_object (&self->board_store);
  g_clear_object (&self->history);
  g_clear_object (&self->deleted_result);
}

void
_td_window_class_work_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.delete-result", NULL, delete_result_action);
  gtk_widget_class_install_action (widget_class, "win.undo-delete", NULL, undo_delete_action);
  gtk_widget_class_install_action (widget_class, "win.open-history-folder", NULL, open_history_folder_action);
}
