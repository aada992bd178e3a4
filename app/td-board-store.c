/* td-board-store.c — the board saved as the user edits it.
 *
 * Each change (a card added, removed, moved, a text typed) restarts a short
 * timer; when it fires the board is written as the engine's board JSON
 * (td_board_to_json) with g_file_set_contents, which replaces the file
 * atomically. Pasted images have no file, so they are written once into
 * "board-images" beside it and named by that path from then on; images no
 * saved board names any more are removed when the board is next put back.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "thinkdiff.h"
#include "td-board-store.h"
#include "td-result-io.h"

/* Long enough to batch a burst of typing, short enough that a crash loses little. */
#define SAVE_DELAY_MS 500

struct _TdBoardStore
{
  GObject        parent_instance;

  char          *path;
  char          *images_dir;
  TdPromptBoard *board;      /* weak */
  guint          save_source;
  gboolean       restoring;
};

G_DEFINE_FINAL_TYPE (TdBoardStore, td_board_store, G_TYPE_OBJECT)

static GQuark stored_path_quark;
static GQuark watched_quark;

char *
td_board_store_default_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "thinkdiff-studio", "board.json", NULL);
}

/* Saving ------------------------------------------------------------------- */

/* Adds @item to @board: texts as they are, images by their file or, for
 * pasted pixels, by the file they were written to. */
static gboolean
add_item (TdBoardStore  *self,
          td_board      *board,
          TdBoardItem   *item,
          GError       **error)
{
  td_error err = { 0 };
  const char *stored = g_object_get_qdata (G_OBJECT (item), stored_path_quark);
  g_autofree char *path = NULL;
  td_status status;

  if (td_board_item_get_kind (item) == TD_BOARD_ITEM_TEXT)
    status = td_board_add (board, TD_BOARD_TEXT, td_board_item_get_text (item), &err);
  else if (td_board_item_get_file (item) != NULL)
    {
      path = g_file_get_path (td_board_item_get_file (item));
      if (path == NULL)
        return TRUE;   /* not on this computer: nothing to name it by */
      status = td_board_add (board, TD_BOARD_IMAGE, path, &err);
    }
  else if (stored != NULL)
    status = td_board_add (board, TD_BOARD_IMAGE, stored, &err);
  else
    {
      int width, height;
      g_autoptr(GBytes) pixels = td_texture_to_rgb (td_board_item_get_texture (item), &width, &height);
      td_image image = { width, height, (uint8_t *) g_bytes_get_data (pixels, NULL) };
      const char *written = NULL;

      status = td_board_add_pixels (board, &image, self->images_dir, &err);
      if (status == TD_OK && td_board_item_at (board, td_board_n_items (board) - 1, NULL, &written))
        g_object_set_qdata_full (G_OBJECT (item), stored_path_quark, g_strdup (written), g_free);
    }

  if (status != TD_OK)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, err.message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
save (TdBoardStore  *self,
      GError       **error)
{
  g_autoptr(td_board) board = td_board_new (TD_BOARD_LVLM);
  g_autofree char *dir = g_path_get_dirname (self->path);
  GListModel *items;
  char *json;
  gboolean saved;

  if (self->board == NULL)
    return TRUE;

  items = td_prompt_board_get_items (self->board);
  for (guint i = 0; i < g_list_model_get_n_items (items); i++)
    {
      g_autoptr(TdBoardItem) item = g_list_model_get_item (items, i);

      if (!add_item (self, board, item, error))
        return FALSE;
    }

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", dir, g_strerror (errno));
      return FALSE;
    }
  json = td_board_to_json (board);
  saved = g_file_set_contents (self->path, json, -1, error);
  td_free (json);
  return saved;
}

gboolean
td_board_store_flush (TdBoardStore  *self,
                      GError       **error)
{
  g_return_val_if_fail (TD_IS_BOARD_STORE (self), FALSE);

  if (self->save_source == 0)
    return TRUE;
  g_clear_handle_id (&self->save_source, g_source_remove);
  return save (self, error);
}

static gboolean
on_save_timeout (gpointer user_data)
{
  TdBoardStore *self = user_data;
  g_autoptr(GError) error = NULL;

  self->save_source = 0;
  if (!save (self, &error))
    g_message ("The board could not be saved: %s", error->message);
  return G_SOURCE_REMOVE;
}

static void
schedule_save (TdBoardStore *self)
{
  if (self->restoring)
    return;
  g_clear_handle_id (&self->save_source, g_source_remove);
  self->save_source = g_timeout_add (SAVE_DELAY_MS, on_save_timeout, self);
}

gboolean
td_board_store_get_pending (TdBoardStore *self)
{
  g_return_val_if_fail (TD_IS_BOARD_STORE (self), FALSE);
  return self->save_source != 0;
}

/* Watching ----------------------------------------------------------------- */

static void
watch_item (TdBoardStore *self,
            TdBoardItem  *item)
{
  /* A moved card comes back through items-changed: connect it once. */
  if (g_object_get_qdata (G_OBJECT (item), watched_quark) == self)
    return;
  g_object_set_qdata (G_OBJECT (item), watched_quark, self);
  g_signal_connect_object (item, "notify::text", G_CALLBACK (schedule_save), self, G_CONNECT_SWAPPED);
}

static void
on_items_changed (TdBoardStore *self,
                  guint         position,
                  guint         removed,
                  guint         added,
                  GListModel   *items)
{
  for (guint i = position; i < position + added; i++)
    {
      g_autoptr(TdBoardItem) item = g_list_model_get_item (items, i);

      watch_item (self, item);
    }
  schedule_save (self);
}

/* Restoring ---------------------------------------------------------------- */

/* Pasted images no board names any more. */
static void
remove_unused_images (TdBoardStore   *self,
                      const td_board *board)
{
  g_autoptr(GDir) dir = g_dir_open (self->images_dir, 0, NULL);
  g_autoptr(GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *name;

  if (dir == NULL)
    return;
  for (int i = 0; board != NULL && i < td_board_n_items (board); i++)
    {
      td_board_item_kind kind;
      const char *value;

      if (td_board_item_at (board, i, &kind, &value) && kind == TD_BOARD_IMAGE)
        g_hash_table_add (used, g_path_get_basename (value));
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    if (!g_hash_table_contains (used, name))
      {
        g_autofree char *path = g_build_filename (self->images_dir, name, NULL);

        g_remove (path);
      }
}

static gboolean
is_stored_image (TdBoardStore *self,
                 const char   *path)
{
  g_autofree char *dir = g_path_get_dirname (path);

  return g_strcmp0 (dir, self->images_dir) == 0 && g_file_test (path, G_FILE_TEST_IS_REGULAR);
}

static void
restore (TdBoardStore   *self,
         const td_board *saved)
{
  guint n_missing = 0;

  self->restoring = TRUE;
  for (int i = 0; i < td_board_n_items (saved); i++)
    {
      td_board_item_kind kind = TD_BOARD_TEXT;
      const char *value = NULL;

      td_board_item_at (saved, i, &kind, &value);
      if (kind == TD_BOARD_TEXT)
        td_prompt_board_add_text (self->board, value);
      else if (is_stored_image (self, value))
        {
          /* A pasted image comes back as one ("Pasted Image N"), still named by its file. */
          g_autoptr(GError) error = NULL;
          g_autoptr(GdkTexture) texture = gdk_texture_new_from_filename (value, &error);
          TdBoardItem *item = texture != NULL ? td_prompt_board_add_texture (self->board, texture) : NULL;

          if (item != NULL)
            g_object_set_qdata_full (G_OBJECT (item), stored_path_quark, g_strdup (value), g_free);
          else
            n_missing++;
        }
      else if (g_file_test (value, G_FILE_TEST_IS_REGULAR))
        {
          g_autoptr(GFile) file = g_file_new_for_path (value);
          GSList single = { file, NULL };

          td_prompt_board_add_files (self->board, &single);
        }
      else
        n_missing++;
    }
  self->restoring = FALSE;
  if (n_missing > 0)
    g_message ("Board restored without %u image(s) whose files are gone", n_missing);
}

static void
on_board_disposed (gpointer  data,
                   GObject  *where_the_object_was)
{
  TdBoardStore *self = data;

  self->board = NULL;
  g_clear_handle_id (&self->save_source, g_source_remove);
}

gboolean
td_board_store_attach (TdBoardStore   *self,
                       TdPromptBoard  *board,
                       GError        **error)
{
  g_autoptr(td_board) saved = NULL;
  td_error err = { 0 };
  GListModel *items;
  gboolean ok = TRUE;

  g_return_val_if_fail (TD_IS_BOARD_STORE (self), FALSE);
  g_return_val_if_fail (TD_IS_PROMPT_BOARD (board), FALSE);
  g_return_val_if_fail (self->board == NULL, FALSE);

  self->board = board;
  g_object_weak_ref (G_OBJECT (board), on_board_disposed, self);
  items = td_prompt_board_get_items (board);

  if (g_file_test (self->path, G_FILE_TEST_EXISTS))
    {
      saved = td_board_load_json (self->path, &err);
      if (saved != NULL)
        {
          restore (self, saved);
          remove_unused_images (self, saved);
        }
      else
        {
          /* Kept for the user to look at; the next save starts afresh. */
          g_autofree char *aside = g_strconcat (self->path, ".damaged", NULL);

          g_rename (self->path, aside);
          /* Translators: %s says what is wrong with the saved board file. */
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("The saved board could not be read: %s"),
                       err.message);
          ok = FALSE;
        }
    }

  for (guint i = 0; i < g_list_model_get_n_items (items); i++)
    {
      g_autoptr(TdBoardItem) item = g_list_model_get_item (items, i);

      watch_item (self, item);
    }
  g_signal_connect_object (items, "items-changed", G_CALLBACK (on_items_changed), self, G_CONNECT_SWAPPED);
  return ok;
}

/* GObject ----------------------------------------------------------------- */

static void
td_board_store_dispose (GObject *object)
{
  TdBoardStore *self = TD_BOARD_STORE (object);
  g_autoptr(GError) error = NULL;

  if (!td_board_store_flush (self, &error))
    g_message ("The board could not be saved: %s", error->message);
  if (self->board != NULL)
    {
      g_object_weak_unref (G_OBJECT (self->board), on_board_disposed, self);
      self->board = NULL;
    }

  G_OBJECT_CLASS (td_board_store_parent_class)->dispose (object);
}

static void
td_board_store_finalize (GObject *object)
{
  TdBoardStore *self = TD_BOARD_STORE (object);

  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->images_dir, g_free);

  G_OBJECT_CLASS (td_board_store_parent_class)->finalize (object);
}

static void
td_board_store_class_init (TdBoardStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = td_board_store_dispose;
  object_class->finalize = td_board_store_finalize;

  stored_path_quark = g_quark_from_static_string ("td-board-store-path");
  watched_quark = g_quark_from_static_string ("td-board-store-watched");
}

static void
td_board_store_init (TdBoardStore *self)
{
}

TdBoardStore *
td_board_store_new (const char *path)
{
  TdBoardStore *self;
  g_autofree char *dir = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (TD_TYPE_BOARD_STORE, NULL);
  self->path = g_strdup (path);
  dir = g_path_get_dirname (path);
  self->images_dir = g_build_filename (dir, "board-images", NULL);
  return self;
}
