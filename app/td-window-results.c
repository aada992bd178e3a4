/* td-window-results.c — what the window does with results:
 * the gallery's thumbnails, Save (PNG or JPEG with the board embedded), Copy,
 * Open Large, dragging a result out, Reuse (from a result, or from a
 * generated PNG dropped or pasted on the board: Replace Board or Add to
 * Board when the board holds other cards, then Undo). Errors are shown by
 * td-window-errors.c.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <glib/gi18n.h>

#include "td-engine-worker.h"
#include "td-result-io.h"
#include "td-size-presets.h"
#include "td-window-private.h"

/* Dragging results out ----------------------------------------------------- */

static TdGenerationResult *
result_of_widget (TdWindow  *self,
                  GtkWidget *widget)
{
  TdGenerationResult *result = g_object_get_data (G_OBJECT (widget), "td-result");

  return result != NULL ? result : self->shown_result;
}

/* The image as pixels and as a PNG file (with its board), so both image
 * editors and file managers take it. */
static GdkContentProvider *
on_drag_prepare (GtkDragSource *source,
                 double         x,
                 double         y,
                 TdWindow      *self)
{
  GtkWidget *widget = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (source));
  TdGenerationResult *result = result_of_widget (self, widget);
  GdkTexture *texture;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;
  GdkContentProvider *providers[2];
  guint n = 0;

  /* While a job runs the preview shows frames, not the result. */
  if (result == NULL || (widget == GTK_WIDGET (self->preview_picture) && self->job != NULL))
    return NULL;

  texture = td_generation_result_get_texture (result);
  gtk_drag_source_set_icon (source, GDK_PAINTABLE (texture), 0, 0);
  file = td_result_get_cached_file (result, &error);
  if (file != NULL)
    providers[n++] = gdk_content_provider_new_typed (G_TYPE_FILE, file);
  else
    g_debug ("Dragging without a file: %s", error->message);
  providers[n++] = gdk_content_provider_new_typed (GDK_TYPE_TEXTURE, texture);
  return gdk_content_provider_new_union (providers, n);
}

static void
add_drag_source (TdWindow  *self,
                 GtkWidget *widget)
{
  GtkDragSource *source = gtk_drag_source_new ();

  gtk_drag_source_set_actions (source, GDK_ACTION_COPY);
  g_signal_connect_object (source, "prepare", G_CALLBACK (on_drag_prepare), self, 0);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (source));
}

GtkWidget *
_td_window_gallery_child_new (TdWindow           *self,
                              TdGenerationResult *result)
{
  GtkWidget *picture;
  g_autofree char *tooltip = NULL;

  /* A GtkImage keeps the thumbnail at a fixed size, whatever the result's. */
  picture = gtk_image_new_from_paintable (GDK_PAINTABLE (td_generation_result_get_texture (result)));
  gtk_image_set_pixel_size (GTK_IMAGE (picture), 96);
  gtk_widget_set_overflow (picture, GTK_OVERFLOW_HIDDEN);
  gtk_widget_add_css_class (picture, "td-result-thumbnail");
  g_object_set_data_full (G_OBJECT (picture), "td-result", g_object_ref (result), g_object_unref);
  add_drag_source (self, picture);

  /* Translators: tooltip of a result in the gallery; %u is the seed number. */
  tooltip = g_strdup_printf (_("Result with seed %u"), td_generation_result_get_seed (result));
  gtk_widget_set_tooltip_text (picture, tooltip);
  gtk_accessible_update_property (GTK_ACCESSIBLE (picture),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, tooltip, -1);
  return picture;
}

/* Saving ------------------------------------------------------------------- */

static void
save_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  TdGenerationResult *result = g_object_get_data (G_OBJECT (task), "td-result");
  GError *error = NULL;

  if (td_result_save (result, task_data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
save_done (GObject      *source_object,
           GAsyncResult *result,
           gpointer      user_data)
{
  TdWindow *self = TD_WINDOW (source_object);
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      /* Translators: %s says why saving failed. */
      g_autofree char *message = g_strdup_printf (_("The image could not be saved: %s"),
                                                  error->message);
      td_window_add_toast (self, message);
      return;
    }

  td_window_add_toast (self, _("Image saved"));
}

/* Saves the shown result to @path (PNG, or JPEG by its extension) in a thread. */
static void
save_to_path (TdWindow   *self,
              const char *path)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, save_done, NULL);

  g_task_set_source_tag (task, save_to_path);
  g_object_set_data_full (G_OBJECT (task), "td-result", g_object_ref (self->shown_result), g_object_unref);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, save_thread);
}

static void
on_save_response (TdWindow             *self,
                  int                   response,
                  GtkFileChooserNative *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT && self->shown_result != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = g_file_get_path (file);
      g_autofree char *lower = path != NULL ? g_ascii_strdown (path, -1) : NULL;
      GtkFileFilter *filter = gtk_file_chooser_get_filter (GTK_FILE_CHOOSER (chooser));
      gboolean jpeg_chosen = filter != NULL && g_object_get_data (G_OBJECT (filter), "td-jpeg") != NULL;

      if (path == NULL)
        td_window_add_toast (self, _("The image could not be saved: choose a folder on this computer"));
      else
        {
          /* A name without an image extension gets the chosen filter's. */
          if (!g_str_has_suffix (lower, ".png") && !g_str_has_suffix (lower, ".jpg")
              && !g_str_has_suffix (lower, ".jpeg"))
            {
              char *named = g_strconcat (path, jpeg_chosen ? ".jpg" : ".png", NULL);

              g_free (path);
              path = named;
            }
          save_to_path (self, path);
        }
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
  g_autoptr(GtkFileFilter) png = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) jpeg = gtk_file_filter_new ();
  g_autofree char *name = NULL;

  if (self->shown_result == NULL)
    return;

  chooser = gtk_file_chooser_native_new (_("Save Image"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), NULL);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);

  gtk_file_filter_set_name (png, _("PNG image (keeps the board for Reuse)"));
  gtk_file_filter_add_mime_type (png, "image/png");
  gtk_file_filter_set_name (jpeg, _("JPEG image"));
  gtk_file_filter_add_mime_type (jpeg, "image/jpeg");
  g_object_set_data (G_OBJECT (jpeg), "td-jpeg", GINT_TO_POINTER (TRUE));
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), png);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), jpeg);

  /* Translators: suggested file name of a saved result; %u is its seed. Keep ".png". */
  name = g_strdup_printf (_("thinkdiff-%u.png"), td_generation_result_get_seed (self->shown_result));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);

  g_signal_connect_swapped (chooser, "response", G_CALLBACK (on_save_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* Copy and Open Large ------------------------------------------------------ */

static void
copy_result_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  TdWindow *self = TD_WINDOW (widget);

  if (self->shown_result == NULL)
    return;
  gdk_clipboard_set_texture (gtk_widget_get_clipboard (widget),
                             td_generation_result_get_texture (self->shown_result));
  td_window_add_toast (self, _("Image copied"));
}

static void
view_result_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  TdWindow *self = TD_WINDOW (widget);
  GdkTexture *texture;
  GtkWidget *viewer, *box, *header, *picture;
  GtkEventController *shortcuts;
  g_autofree char *title = NULL;

  if (self->shown_result == NULL)
    return;

  texture = td_generation_result_get_texture (self->shown_result);
  viewer = adw_window_new ();
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  header = adw_header_bar_new ();
  picture = gtk_picture_new_for_paintable (GDK_PAINTABLE (texture));
  gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
  gtk_widget_set_vexpand (picture, TRUE);
  g_object_set_data_full (G_OBJECT (picture), "td-result", g_object_ref (self->shown_result), g_object_unref);
  add_drag_source (self, picture);

  /* Translators: title of the window that shows a result large; %u is its seed. */
  title = g_strdup_printf (_("Result With Seed %u"), td_generation_result_get_seed (self->shown_result));
  gtk_window_set_title (GTK_WINDOW (viewer), title);
  gtk_window_set_transient_for (GTK_WINDOW (viewer), GTK_WINDOW (self));
  gtk_window_set_default_size (GTK_WINDOW (viewer),
                               CLAMP (gdk_texture_get_width (texture), 480, 1100),
                               CLAMP (gdk_texture_get_height (texture) + 48, 400, 1000));
  gtk_box_append (GTK_BOX (box), header);
  gtk_box_append (GTK_BOX (box), picture);
  adw_window_set_content (ADW_WINDOW (viewer), box);

  shortcuts = gtk_shortcut_controller_new ();
  gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts),
                                        gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_Escape, 0),
                                                          gtk_named_action_new ("window.close")));
  gtk_widget_add_controller (viewer, shortcuts);
  gtk_window_present (GTK_WINDOW (viewer));
}

/* Reuse -------------------------------------------------------------------- */

/* The keys Reuse may change, saved for its Undo. */
static const char *reuse_keys[] = {
  "mode", "size-preset", "width", "height", "steps", "guidance", "seed", "seed-locked",
};

struct _TdReuseUndo
{
  GPtrArray *items;               /* the board's cards before, TdBoardItem */
  GVariant  *values[G_N_ELEMENTS (reuse_keys)];
};

void
_td_reuse_undo_free (TdReuseUndo *undo)
{
  g_ptr_array_unref (undo->items);
  for (guint i = 0; i < G_N_ELEMENTS (reuse_keys); i++)
    g_variant_unref (undo->values[i]);
  g_free (undo);
}

static TdReuseUndo *
reuse_undo_new (TdWindow *self)
{
  TdReuseUndo *undo = g_new0 (TdReuseUndo, 1);
  GListModel *items = td_prompt_board_get_items (self->board);

  undo->items = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < g_list_model_get_n_items (items); i++)
    g_ptr_array_add (undo->items, g_list_model_get_item (items, i));
  for (guint i = 0; i < G_N_ELEMENTS (reuse_keys); i++)
    undo->values[i] = g_settings_get_value (self->settings, reuse_keys[i]);
  return undo;
}

static void
restore_settings (TdWindow       *self,
                  const td_board *board)
{
  td_board_settings settings = td_board_get_settings (board);
  const td_board_settings *s = &settings;
  const char *preset = "custom";

  for (guint i = 0; i < td_size_presets_get_n (); i++)
    {
      const TdSizePreset *p = td_size_presets_get (i);

      if (p->width == s->width && p->height == s->height)
        preset = p->nick;
    }

  /* A separate object batches the change: delaying self->settings itself
   * would hold every later change back until the next Reuse. */
  g_autoptr(GSettings) batch = g_settings_new (TD_APP_ID);

  g_settings_delay (batch);
  g_settings_set_string (batch, "mode", td_board_get_mode (board) == TD_BOARD_CLIP ? "clip" : "lvlm");
  if (g_strcmp0 (preset, "custom") == 0)
    {
      g_settings_set_int (batch, "width", CLAMP (s->width, 256, 2048));
      g_settings_set_int (batch, "height", CLAMP (s->height, 256, 2048));
    }
  g_settings_set_string (batch, "size-preset", preset);
  g_settings_set_int (batch, "steps", CLAMP (s->steps, 1, 100));
  g_settings_set_double (batch, "guidance", CLAMP (s->guidance, 0.0, 20.0));
  /* The seed only when the user asked for it (Settings: Reuse Takes the
   * Seed); the lock is then on, where the user sees it. */
  if (g_settings_get_boolean (self->settings, "reuse-seed"))
    {
      g_settings_set_uint (batch, "seed", (guint32) s->seed);
      g_settings_set_boolean (batch, "seed-locked", TRUE);
    }
  g_settings_apply (batch);
}

/* The cards before Reuse, and the settings it changed. */
void
td_window_undo_reuse (TdWindow *self)
{
  TdReuseUndo *undo;
  g_autoptr(GSettings) batch = NULL;

  g_return_if_fail (TD_IS_WINDOW (self));

  undo = g_steal_pointer (&self->reuse_undo);
  if (undo == NULL)
    return;
  td_prompt_board_set_items (self->board, undo->items);
  batch = g_settings_new (TD_APP_ID);
  g_settings_delay (batch);
  for (guint i = 0; i < G_N_ELEMENTS (reuse_keys); i++)
    g_settings_set_value (batch, reuse_keys[i], undo->values[i]);
  g_settings_apply (batch);
  _td_reuse_undo_free (undo);
  td_window_add_toast (self, _("Board and settings as before"));
}

/* Puts @board's items on the board, in place of its cards (REPLACE, with the
 * board's settings) or after them (ADD, settings unchanged). Images whose files
 * are gone are left out (and counted in the toast, which offers Undo). Returns
 * the number of items put on the board. */
guint
td_window_reuse_board (TdWindow       *self,
                       const td_board *board,
                       TdReuseMode     mode)
{
  guint n_restored = 0, n_missing = 0;
  g_autofree char *message = NULL;
  AdwToast *toast;

  g_return_val_if_fail (TD_IS_WINDOW (self), 0);
  g_return_val_if_fail (board != NULL, 0);

  g_clear_pointer (&self->reuse_undo, _td_reuse_undo_free);
  self->reuse_undo = reuse_undo_new (self);

  if (mode == TD_REUSE_REPLACE)
    td_prompt_board_clear (self->board);
  for (int i = 0; i < td_board_n_items (board); i++)
    {
      td_board_item_kind kind = TD_BOARD_TEXT;
      const char *value = NULL;

      td_board_item_at (board, i, &kind, &value);
      if (kind == TD_BOARD_TEXT)
        {
          td_prompt_board_add_text (self->board, value);
          n_restored++;
        }
      else if (g_file_test (value, G_FILE_TEST_IS_REGULAR))
        {
          g_autoptr(GFile) file = g_file_new_for_path (value);
          GSList single = { file, NULL };

          n_restored += td_prompt_board_add_files (self->board, &single);
        }
      else
        n_missing++;
    }
  if (mode == TD_REUSE_REPLACE)
    restore_settings (self, board);

  if (n_missing > 0)
    /* Translators: after Reuse; %u counts images whose files were moved or deleted. */
    message = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Board restored; %u image is no longer there",
                                            "Board restored; %u images are no longer there", n_missing),
                               n_missing);
  else if (mode == TD_REUSE_ADD)
    message = g_strdup (_("Items added to the board"));
  else if (g_settings_get_boolean (self->settings, "reuse-seed"))
    /* Translators: after Reuse; %u is the seed, now kept for the next images. */
    message = g_strdup_printf (_("Board, settings and seed %u restored"), (guint32) td_board_get_settings (board).seed);
  else
    message = g_strdup (_("Board and settings restored"));

  toast = adw_toast_new (message);
  adw_toast_set_button_label (toast, _("Undo"));
  adw_toast_set_action_name (toast, "win.undo-reuse");
  g_free (self->last_toast_title);
  self->last_toast_title = g_strdup (message);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
  return n_restored;
}

/* Whether the board's cards are just @board's items: then replacing them loses nothing. */
static gboolean
board_holds_only (TdWindow       *self,
                  const td_board *board)
{
  GListModel *items = td_prompt_board_get_items (self->board);
  guint n = g_list_model_get_n_items (items);

  if ((int) n != td_board_n_items (board))
    return n == 0;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(TdBoardItem) item = g_list_model_get_item (items, i);
      td_board_item_kind kind = TD_BOARD_TEXT;
      const char *value = NULL;
      g_autofree char *path = NULL;

      td_board_item_at (board, i, &kind, &value);
      if (td_board_item_get_kind (item) == TD_BOARD_ITEM_TEXT)
        {
          if (kind != TD_BOARD_TEXT || g_strcmp0 (td_board_item_get_text (item), value) != 0)
            return FALSE;
          continue;
        }
      path = td_board_item_get_file (item) != NULL ? g_file_get_path (td_board_item_get_file (item)) : NULL;
      if (kind != TD_BOARD_IMAGE || g_strcmp0 (path, value) != 0)
        return FALSE;
    }
  return TRUE;
}

static void
on_reuse_response (AdwMessageDialog *dialog,
                   const char       *response,
                   TdWindow         *self)
{
  td_board *board = g_object_get_data (G_OBJECT (dialog), "td-board");

  if (g_strcmp0 (response, "replace") == 0)
    td_window_reuse_board (self, board, TD_REUSE_REPLACE);
  else if (g_strcmp0 (response, "add") == 0)
    td_window_reuse_board (self, board, TD_REUSE_ADD);
}

/* Reuse as the user meets it: straight away when the board is empty or holds
 * just these items, else a dialog offers Replace Board or Add to Board (and
 * shows whether the seed comes along). Takes @board. Returns the dialog, or
 * NULL when it was not needed. */
GtkWindow *
td_window_offer_reuse (TdWindow *self,
                       td_board *board)
{
  GtkWidget *dialog, *seed_check;
  guint n_items;
  g_autofree char *body = NULL;

  g_return_val_if_fail (TD_IS_WINDOW (self), NULL);
  g_return_val_if_fail (board != NULL, NULL);

  if (board_holds_only (self, board))
    {
      td_window_reuse_board (self, board, TD_REUSE_REPLACE);
      td_board_free (board);
      return NULL;
    }

  n_items = g_list_model_get_n_items (td_prompt_board_get_items (self->board));
  body = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                       /* Translators: %u counts the cards on the board now. */
                                       "The board holds %u card. Replace it with the image’s board and "
                                       "settings, or add the image’s items after it?",
                                       "The board holds %u cards. Replace them with the image’s board and "
                                       "settings, or add the image’s items after them?", n_items),
                          n_items);
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Reuse This Board?"), body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "add", _("_Add to Board"),
                                    "replace", _("_Replace Board"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "replace",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "replace");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");

  /* The same setting as in the settings panel, so the choice is in view. */
  seed_check = gtk_check_button_new_with_mnemonic (_("Reuse the _seed too"));
  gtk_widget_set_halign (seed_check, GTK_ALIGN_CENTER);
  g_settings_bind (self->settings, "reuse-seed", seed_check, "active", G_SETTINGS_BIND_DEFAULT);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), seed_check);

  g_object_set_data_full (G_OBJECT (dialog), "td-board", board, (GDestroyNotify) td_board_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_reuse_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  return GTK_WINDOW (dialog);
}

/* Reuse from a PNG that carries a board; FALSE when it carries none. */
gboolean
td_window_reuse_file (TdWindow *self,
                      GFile    *file)
{
  g_autofree char *path = NULL;
  td_board *board = NULL;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (TD_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  path = g_file_get_path (file);
  if (path == NULL)
    return FALSE;
  board = td_result_read_board (path, &error);
  if (board == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_debug ("%s", error->message);
      return FALSE;
    }
  td_window_offer_reuse (self, board);
  return TRUE;
}

static void
reuse_result_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  TdWindow *self = TD_WINDOW (widget);
  td_board *board = NULL;
  g_autoptr(GError) error = NULL;
  const char *json;

  if (self->shown_result == NULL || self->job != NULL)
    return;
  json = td_generation_result_get_board_json (self->shown_result);
  if (json == NULL)
    return;

  board = td_result_parse_board (json, &error);
  if (board == NULL)
    {
      /* Translators: %s says why the board could not be restored. */
      g_autofree char *message = g_strdup_printf (_("The board could not be restored: %s"), error->message);
      td_window_add_toast (self, message);
      return;
    }
  td_window_offer_reuse (self, board);
}

static void
undo_reuse_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  td_window_undo_reuse (TD_WINDOW (widget));
}

/* A generated PNG dropped on the board brings back its board. */
static gboolean
on_board_file_dropped (TdWindow      *self,
                       GFile         *file,
                       TdPromptBoard *board)
{
  g_autofree char *name = g_file_get_basename (file);
  g_autofree char *lower = name != NULL ? g_ascii_strdown (name, -1) : NULL;

  if (lower == NULL || !g_str_has_suffix (lower, ".png") || self->job != NULL)
    return FALSE;
  return td_window_reuse_file (self, file);
}

void
_td_window_results_init (TdWindow *self)
{
  add_drag_source (self, GTK_WIDGET (self->preview_picture));
  g_signal_connect_object (self->board, "file-dropped",
                           G_CALLBACK (on_board_file_dropped), self, G_CONNECT_SWAPPED);
}

void
_td_window_class_results_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.save-result", NULL, save_result_action);
  gtk_widget_class_install_action (widget_class, "win.copy-result", NULL, copy_result_action);
  gtk_widget_class_install_action (widget_class, "win.view-result", NULL, view_result_action);
  gtk_widget_class_install_action (widget_class, "win.reuse-result", NULL, reuse_result_action);
  gtk_widget_class_install_action (widget_class, "win.undo-reuse", NULL, undo_reuse_action);
}
