/* td-prompt-board.c — the prompt board: images and texts in reading order.
 *
 * Everything that fills the board goes through a few functions so the drop
 * target, the clipboard, the file chooser and the tests share one path:
 *   td_prompt_board_add_files ()    files dropped, chosen or pasted as a list
 *   td_prompt_board_add_texture ()  pixels pasted from the clipboard
 *   td_prompt_board_add_text ()     a new text card
 *   td_prompt_board_move_item ()    a card dropped on another card
 * Thumbnails are decoded in a worker thread; a file that is not an image is
 * taken off the board again and reported through the "problem" signal.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <glib/gi18n.h>

#include "td-board-card.h"
#include "td-prompt-board.h"

/* Thumbnails are decoded at this size (the card shows them at 56 px, twice
 * that covers HiDPI). */
#define THUMBNAIL_SIZE 112

struct _TdPromptBoard
{
  AdwBin        parent_instance;

  GListStore   *items;
  GCancellable *cancellable;
  guint         n_pending;
  guint         n_pasted;

  GtkListBox   *list_box;
};

G_DEFINE_FINAL_TYPE (TdPromptBoard, td_prompt_board, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_N_PENDING,
  N_PROPS
};

enum {
  PROBLEM,
  FILE_DROPPED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
set_n_pending (TdPromptBoard *self,
               guint          n_pending)
{
  if (self->n_pending == n_pending)
    return;
  self->n_pending = n_pending;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_PENDING]);
}

static gboolean
find_item (TdPromptBoard *self,
           TdBoardItem   *item,
           guint         *position)
{
  return g_list_store_find (self->items, item, position);
}

/* Thumbnail loading ------------------------------------------------------ */

static void
load_thumbnail_thread (GTask        *task,
                       gpointer      source_object,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  GFile *file = task_data;
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  g_autoptr(GError) error = NULL;

  stream = g_file_read (file, cancellable, &error);
  if (stream != NULL)
    pixbuf = gdk_pixbuf_new_from_stream_at_scale (G_INPUT_STREAM (stream),
                                                  THUMBNAIL_SIZE, THUMBNAIL_SIZE,
                                                  TRUE, cancellable, &error);
  if (pixbuf == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* EXIF orientation, so photos from phones are upright. */
  g_task_return_pointer (task, gdk_pixbuf_apply_embedded_orientation (pixbuf),
                         g_object_unref);
}

static void
load_thumbnail_done (GObject      *source_object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  TdPromptBoard *self = TD_PROMPT_BOARD (source_object);
  g_autoptr(TdBoardItem) item = user_data;
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  g_autoptr(GError) error = NULL;

  pixbuf = g_task_propagate_pointer (G_TASK (result), &error);
  set_n_pending (self, self->n_pending - 1);

  if (pixbuf != NULL)
    {
      g_autoptr(GdkTexture) texture = gdk_texture_new_for_pixbuf (pixbuf);

      td_board_item_set_thumbnail (item, GDK_PAINTABLE (texture));
      return;
    }

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  td_prompt_board_remove_item (self, item);
  {
    /* Translators: %s is a file name. */
    g_autofree char *message = g_strdup_printf (_("“%s” could not be opened as an image"),
                                                td_board_item_get_title (item));
    g_debug ("%s: %s", td_board_item_get_title (item), error->message);
    g_signal_emit (self, signals[PROBLEM], 0, message);
  }
}

static void
load_thumbnail (TdPromptBoard *self,
                TdBoardItem   *item)
{
  g_autoptr(GTask) task = NULL;

  task = g_task_new (self, self->cancellable, load_thumbnail_done, g_object_ref (item));
  g_task_set_source_tag (task, load_thumbnail);
  g_task_set_task_data (task, g_object_ref (td_board_item_get_file (item)), g_object_unref);
  set_n_pending (self, self->n_pending + 1);
  g_task_run_in_thread (task, load_thumbnail_thread);
}

/* Adding, moving, removing ----------------------------------------------- */

/**
 * td_prompt_board_add_files:
 * @files: (element-type GFile): files in the order they should appear
 *
 * Appends one image card per file; the drop target, the file chooser and
 * pasted file lists all come here. Files that turn out not to be images are
 * removed again once their thumbnail fails to load.
 *
 * Returns: the number of cards added
 */
guint
td_prompt_board_add_files (TdPromptBoard *self,
                           const GSList  *files)
{
  guint n_added = 0;

  g_return_val_if_fail (TD_IS_PROMPT_BOARD (self), 0);

  for (const GSList *l = files; l != NULL; l = l->next)
    {
      g_autoptr(TdBoardItem) item = NULL;

      g_return_val_if_fail (G_IS_FILE (l->data), n_added);

      item = td_board_item_new_for_file (l->data);
      g_list_store_append (self->items, item);
      load_thumbnail (self, item);
      n_added++;
    }

  return n_added;
}

/* The paste path for image data (screenshots, images copied in a browser). */
TdBoardItem *
td_prompt_board_add_texture (TdPromptBoard *self,
                             GdkTexture    *texture)
{
  g_autoptr(TdBoardItem) item = NULL;
  g_autofree char *title = NULL;

  g_return_val_if_fail (TD_IS_PROMPT_BOARD (self), NULL);
  g_return_val_if_fail (GDK_IS_TEXTURE (texture), NULL);

  self->n_pasted++;
  /* Translators: title of an image card made from pasted pixels; %u counts them. */
  title = g_strdup_printf (_("Pasted Image %u"), self->n_pasted);
  item = td_board_item_new_for_texture (texture, title);
  g_list_store_append (self->items, item);
  return item;
}

TdBoardItem *
td_prompt_board_add_text (TdPromptBoard *self,
                          const char    *text)
{
  g_autoptr(TdBoardItem) item = NULL;

  g_return_val_if_fail (TD_IS_PROMPT_BOARD (self), NULL);

  item = td_board_item_new_for_text (text);
  g_list_store_append (self->items, item);
  return item;
}

/* Takes @item out of its place and inserts it at @position (an index in the
 * board before the move, i.e. the place of the card it was dropped on). */
gboolean
td_prompt_board_move_item (TdPromptBoard *self,
                           TdBoardItem   *item,
                           guint          position)
{
  g_autoptr(TdBoardItem) keep = NULL;
  guint from;
  guint n_items;

  g_return_val_if_fail (TD_IS_PROMPT_BOARD (self), FALSE);
  g_return_val_if_fail (TD_IS_BOARD_ITEM (item), FALSE);

  n_items = g_list_model_get_n_items (G_LIST_MODEL (self->items));
  if (!find_item (self, item, &from) || position >= n_items)
    return FALSE;
  if (from == position)
    return TRUE;

  keep = g_object_ref (item);
  g_list_store_remove (self->items, from);
  g_list_store_insert (self->items, position, keep);
  return TRUE;
}

void
td_prompt_board_remove_item (TdPromptBoard *self,
                             TdBoardItem   *item)
{
  guint position;

  g_return_if_fail (TD_IS_PROMPT_BOARD (self));
  g_return_if_fail (TD_IS_BOARD_ITEM (item));

  if (find_item (self, item, &position))
    g_list_store_remove (self->items, position);
}

void
td_prompt_board_clear (TdPromptBoard *self)
{
  g_return_if_fail (TD_IS_PROMPT_BOARD (self));

  g_list_store_remove_all (self->items);
}

/* Puts @items (TdBoardItem, in order) in place of the board's cards: Undo of
 * Reuse gives back the very cards it took away, thumbnails and all. */
void
td_prompt_board_set_items (TdPromptBoard *self,
                           GPtrArray     *items)
{
  g_return_if_fail (TD_IS_PROMPT_BOARD (self));
  g_return_if_fail (items != NULL);

  g_list_store_splice (self->items, 0, g_list_model_get_n_items (G_LIST_MODEL (self->items)),
                       items->pdata, items->len);
}

/* Drop target ------------------------------------------------------------- */

/* What the board's drop target does with a dropped value: a file list (from
 * a file manager), a single file, or a texture (from a browser). */
gboolean
td_prompt_board_handle_drop (TdPromptBoard *self,
                             const GValue  *value)
{
  gboolean handled = FALSE;

  g_return_val_if_fail (TD_IS_PROMPT_BOARD (self), FALSE);

  if (G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    {
      /* The list is ours (transfer container), the files are not. */
      g_autoptr(GSList) files = gdk_file_list_get_files (g_value_get_boxed (value));

      if (files != NULL && files->next == NULL)
        g_signal_emit (self, signals[FILE_DROPPED], 0, files->data, &handled);
      return handled || td_prompt_board_add_files (self, files) > 0;
    }

  if (G_VALUE_HOLDS (value, G_TYPE_FILE))
    {
      GSList single = { g_value_get_object (value), NULL };

      if (single.data == NULL)
        return FALSE;
      g_signal_emit (self, signals[FILE_DROPPED], 0, single.data, &handled);
      return handled || td_prompt_board_add_files (self, &single) > 0;
    }

  if (G_VALUE_HOLDS (value, GDK_TYPE_TEXTURE))
    return td_prompt_board_add_texture (self, g_value_get_object (value)) != NULL;

  return FALSE;
}

static gboolean
on_drop (TdPromptBoard *self,
         const GValue  *value,
         double         x,
         double         y,
         GtkDropTarget *target)
{
  return td_prompt_board_handle_drop (self, value);
}

/* Clipboard --------------------------------------------------------------- */

static void
paste_files_done (GObject      *source_object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(TdPromptBoard) self = user_data;
  g_autoptr(GError) error = NULL;
  const GValue *value;

  value = gdk_clipboard_read_value_finish (GDK_CLIPBOARD (source_object), result, &error);
  if (value != NULL)
    td_prompt_board_handle_drop (self, value);
  else
    g_debug ("Pasting files failed: %s", error->message);
}

static void
paste_texture_done (GObject      *source_object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(TdPromptBoard) self = user_data;
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GError) error = NULL;

  texture = gdk_clipboard_read_texture_finish (GDK_CLIPBOARD (source_object), result, &error);
  if (texture != NULL)
    td_prompt_board_add_texture (self, texture);
  else
    g_signal_emit (self, signals[PROBLEM], 0, _("The clipboard image could not be read"));
}

static void
paste_text_done (GObject      *source_object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(TdPromptBoard) self = user_data;
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source_object), result, &error);
  if (text != NULL && *g_strstrip (text) != '\0')
    td_prompt_board_add_text (self, text);
}

/* Pastes what the clipboard holds as a new card: files first (a file manager
 * offers both files and their names as text), then image data, then text. */
void
td_prompt_board_paste (TdPromptBoard *self,
                       GdkClipboard  *clipboard)
{
  GdkContentFormats *formats;

  g_return_if_fail (TD_IS_PROMPT_BOARD (self));
  g_return_if_fail (GDK_IS_CLIPBOARD (clipboard));

  formats = gdk_clipboard_get_formats (clipboard);

  if (gdk_content_formats_contain_gtype (formats, GDK_TYPE_FILE_LIST))
    gdk_clipboard_read_value_async (clipboard, GDK_TYPE_FILE_LIST, G_PRIORITY_DEFAULT,
                                    self->cancellable, paste_files_done, g_object_ref (self));
  else if (gdk_content_formats_contain_gtype (formats, GDK_TYPE_TEXTURE))
    gdk_clipboard_read_texture_async (clipboard, self->cancellable,
                                      paste_texture_done, g_object_ref (self));
  else if (gdk_content_formats_contain_gtype (formats, G_TYPE_STRING))
    gdk_clipboard_read_text_async (clipboard, self->cancellable,
                                   paste_text_done, g_object_ref (self));
  else
    g_signal_emit (self, signals[PROBLEM], 0, _("The clipboard holds nothing that can be added"));
}

/* File chooser ------------------------------------------------------------ */

static void
on_chooser_response (TdPromptBoard        *self,
                     int                   response,
                     GtkFileChooserNative *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (chooser));
      GSList *list = NULL;
      guint n = g_list_model_get_n_items (files);

      for (guint i = n; i > 0; i--)
        list = g_slist_prepend (list, g_list_model_get_item (files, i - 1));
      td_prompt_board_add_files (self, list);
      g_slist_free_full (list, g_object_unref);
    }

  g_object_unref (chooser);
}

/* Opens the file chooser (the portal inside Flatpak) for one or more images. */
void
td_prompt_board_choose_images (TdPromptBoard *self)
{
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  GtkFileChooserNative *chooser;
  GtkRoot *root;

  g_return_if_fail (TD_IS_PROMPT_BOARD (self));

  root = gtk_widget_get_root (GTK_WIDGET (self));
  chooser = gtk_file_chooser_native_new (_("Add Images"),
                                         GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_OPEN,
                                         _("_Add"), NULL);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (chooser), TRUE);
  gtk_file_filter_set_name (filter, _("Images"));
  gtk_file_filter_add_pixbuf_formats (filter);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);

  g_signal_connect_swapped (chooser, "response", G_CALLBACK (on_chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* Cards ------------------------------------------------------------------- */

static void
on_card_remove_requested (TdPromptBoard *self,
                          TdBoardCard   *card)
{
  td_prompt_board_remove_item (self, td_board_card_get_item (card));
}

static gboolean
on_card_item_dropped (TdPromptBoard *self,
                      TdBoardItem   *dropped,
                      TdBoardCard   *card)
{
  guint target;

  if (!find_item (self, td_board_card_get_item (card), &target))
    return FALSE;
  return td_prompt_board_move_item (self, dropped, target);
}

/* Keyboard moves keep the focus on the moved card (its row is made anew). */
static void
on_card_move_requested (TdPromptBoard *self,
                        int            delta,
                        TdBoardCard   *card)
{
  TdBoardItem *item = td_board_card_get_item (card);
  guint from;
  GtkWidget *moved;

  if (!find_item (self, item, &from) || (delta < 0 && from == 0))
    return;
  if (!td_prompt_board_move_item (self, item, from + delta))
    return;
  moved = td_prompt_board_get_card (self, from + delta);
  if (moved != NULL)
    gtk_widget_grab_focus (moved);
}

static GtkWidget *
create_card (gpointer item,
             gpointer user_data)
{
  TdPromptBoard *self = user_data;
  GtkWidget *card = td_board_card_new (item);

  g_signal_connect_object (card, "remove-requested",
                           G_CALLBACK (on_card_remove_requested), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (card, "item-dropped",
                           G_CALLBACK (on_card_item_dropped), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (card, "move-requested",
                           G_CALLBACK (on_card_move_requested), self, G_CONNECT_SWAPPED);
  return card;
}

GtkWidget *
td_prompt_board_get_card (TdPromptBoard *self,
                          guint          position)
{
  g_return_val_if_fail (TD_IS_PROMPT_BOARD (self), NULL);

  return GTK_WIDGET (gtk_list_box_get_row_at_index (self->list_box, position));
}

/* Actions ------------------------------------------------------------------ */

static void
board_add_image_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  td_prompt_board_choose_images (TD_PROMPT_BOARD (widget));
}

static void
board_add_text_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  TdPromptBoard *self = TD_PROMPT_BOARD (widget);
  guint n;
  GtkWidget *card;

  td_prompt_board_add_text (self, "");
  n = g_list_model_get_n_items (G_LIST_MODEL (self->items));
  card = td_prompt_board_get_card (self, n - 1);
  if (card != NULL)
    gtk_widget_grab_focus (td_board_card_get_text_view (TD_BOARD_CARD (card)));
}

static void
board_paste_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  td_prompt_board_paste (TD_PROMPT_BOARD (widget), gtk_widget_get_clipboard (widget));
}

/* GObject ----------------------------------------------------------------- */

static void
td_prompt_board_dispose (GObject *object)
{
  TdPromptBoard *self = TD_PROMPT_BOARD (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), TD_TYPE_PROMPT_BOARD);

  G_OBJECT_CLASS (td_prompt_board_parent_class)->dispose (object);
}

static void
td_prompt_board_finalize (GObject *object)
{
  TdPromptBoard *self = TD_PROMPT_BOARD (object);

  g_clear_object (&self->items);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (td_prompt_board_parent_class)->finalize (object);
}

static void
td_prompt_board_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  TdPromptBoard *self = TD_PROMPT_BOARD (object);

  switch (prop_id)
    {
    case PROP_N_PENDING:
      g_value_set_uint (value, self->n_pending);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
td_prompt_board_class_init (TdPromptBoardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = td_prompt_board_dispose;
  object_class->finalize = td_prompt_board_finalize;
  object_class->get_property = td_prompt_board_get_property;

  /* How many thumbnails are still being decoded. */
  properties[PROP_N_PENDING] =
    g_param_spec_uint ("n-pending", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A user-facing message about something that could not be added. */
  signals[PROBLEM] =
    g_signal_new ("problem", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  /* A single file was dropped or pasted; a handler that returns TRUE took it
   * (the window restores the board from a generated PNG) and it is not added. */
  signals[FILE_DROPPED] =
    g_signal_new ("file-dropped", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, g_signal_accumulator_true_handled, NULL, NULL,
                  G_TYPE_BOOLEAN, 1, G_TYPE_FILE);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/thinkdiff/Studio/td-prompt-board.ui");
  gtk_widget_class_bind_template_child (widget_class, TdPromptBoard, list_box);

  gtk_widget_class_install_action (widget_class, "board.add-image", NULL, board_add_image_action);
  gtk_widget_class_install_action (widget_class, "board.add-text", NULL, board_add_text_action);
  gtk_widget_class_install_action (widget_class, "board.paste", NULL, board_paste_action);

  g_type_ensure (TD_TYPE_BOARD_CARD);
}

static void
td_prompt_board_init (TdPromptBoard *self)
{
  GtkDropTarget *target;
  GType drop_types[] = { GDK_TYPE_FILE_LIST, G_TYPE_FILE, GDK_TYPE_TEXTURE };

  gtk_widget_init_template (GTK_WIDGET (self));

  self->items = g_list_store_new (TD_TYPE_BOARD_ITEM);
  self->cancellable = g_cancellable_new ();
  gtk_list_box_bind_model (self->list_box, G_LIST_MODEL (self->items),
                           create_card, self, NULL);

  target = gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY);
  gtk_drop_target_set_gtypes (target, drop_types, G_N_ELEMENTS (drop_types));
  g_signal_connect_swapped (target, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));
}

GtkWidget *
td_prompt_board_new (void)
{
  return g_object_new (TD_TYPE_PROMPT_BOARD, NULL);
}

GListModel *
td_prompt_board_get_items (TdPromptBoard *self)
{
  g_return_val_if_fail (TD_IS_PROMPT_BOARD (self), NULL);
  return G_LIST_MODEL (self->items);
}

guint
td_prompt_board_get_n_pending (TdPromptBoard *self)
{
  g_return_val_if_fail (TD_IS_PROMPT_BOARD (self), 0);
  return self->n_pending;
}
