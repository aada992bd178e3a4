/* td-history.c — the history store: one folder per result.
 *
 * Why a folder with a JSON document per result rather than SQLite: the image
 * is the bulk of every entry and is best kept as a PNG that other programs
 * open ("Open Folder" shows it); a folder written under a temporary name and
 * then renamed appears whole or not at all, so a crash never leaves half an
 * entry; and a damaged entry is one folder, skipped while the others load. A
 * database would hold only the small metadata beside those files, add a
 * dependency, and be a second place that must agree with them. The index only
 * keeps the order; it is rebuilt from the entries when it is missing, damaged
 * or out of step with the folders.
 *
 *   history/index.json       {"format": "thinkdiff-studio-history", "version": 1,
 *                             "entries": ["<id>", …]}  (oldest first)
 *   history/<id>/entry.json  {"format": "thinkdiff-studio-result", "version": 1,
 *                             "created": ISO 8601, "seed", "width", "height",
 *                             "mode"?, "thought"?, "thought_edited"}
 *   history/<id>/image.png   the image, with the board in its text chunks (as Save writes it)
 *   history/<id>/board.json  the board that made it (the engine's board JSON), when known
 *   history/.trash/<id>      a deleted entry, kept for Undo until the next load
 *   history/.tmp-<id>        an entry being written
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>

#include "thinkdiff.h"
#include "td-history.h"
#include "td-history-document.h"
#include "td-result-io.h"

#define INDEX_NAME        "index.json"
#define ENTRY_NAME        "entry.json"
#define IMAGE_NAME        "image.png"
#define BOARD_NAME        "board.json"
#define TRASH_NAME        ".trash"
#define TMP_PREFIX        ".tmp-"

struct _TdHistory
{
  GObject    parent_instance;

  char      *dir;
  GPtrArray *ids;        /* the index: entry ids, oldest first (main thread only) */
  guint      n_pending;
};

G_DEFINE_FINAL_TYPE (TdHistory, td_history, G_TYPE_OBJECT)

static GQuark entry_id_quark;
static GQuark position_quark;
static GQuark writing_quark;

/* Paths and ids ------------------------------------------------------------ */

char *
td_history_default_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "thinkdiff-studio", "history", NULL);
}

/* Sortable by time: 20261203-141502-123456-1a2b3c. */
static char *
make_id (gint64 created_us)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (created_us / G_USEC_PER_SEC);
  g_autofree char *stamp = g_date_time_format (time, "%Y%m%d-%H%M%S");

  return g_strdup_printf ("%s-%06d-%06x", stamp, (int) (created_us % G_USEC_PER_SEC),
                          g_random_int () & 0xffffff);
}

/* Whether @result is being written into a history right now. */
gboolean
td_history_is_writing (TdGenerationResult *result)
{
  g_return_val_if_fail (TD_IS_GENERATION_RESULT (result), FALSE);
  return g_object_get_qdata (G_OBJECT (result), writing_quark) != NULL;
}

const char *
td_history_get_entry_id (TdGenerationResult *result)
{
  g_return_val_if_fail (TD_IS_GENERATION_RESULT (result), NULL);
  return g_object_get_qdata (G_OBJECT (result), entry_id_quark);
}

static void
set_entry_id (TdGenerationResult *result,
              const char         *id)
{
  g_object_set_qdata_full (G_OBJECT (result), entry_id_quark, g_strdup (id), g_free);
}

/* Removes @path and, when it is a folder, what it holds (entries are flat, so
 * two levels are plenty). */
static void
remove_tree (const char *path,
             int         depth)
{
  if (depth > 0 && g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          remove_tree (child, depth - 1);
        }
    }
  if (g_remove (path) != 0 && errno != ENOENT)
    g_message ("History: %s could not be removed: %s", path, g_strerror (errno));
}

static gboolean
set_error_from_errno (GError     **error,
                      const char  *path,
                      int          saved_errno)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               "%s: %s", path, g_strerror (saved_errno));
  return FALSE;
}

/* Documents ---------------------------------------------------------------- */

/* The contents of the document at @path, refused when it is not a plain file
 * of a document's size. */
static char *
read_document (const char  *path,
               gsize       *length,
               GError     **error)
{
  char *text = NULL;
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    {
      set_error_from_errno (error, path, errno);
      return NULL;
    }
  if (!S_ISREG (st.st_mode) || st.st_size > TD_HISTORY_MAX_DOCUMENT_SIZE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   /* Translators: %s is a file name. */
                   _("%s: not a history document (too large or not a file)"), path);
      return NULL;
    }
  if (!g_file_get_contents (path, &text, length, error))
    return NULL;
  return text;
}

/* The ids the index lists, oldest first; NULL when it is missing or damaged. */
static GPtrArray *
read_index (const char  *path,
            GError     **error)
{
  gsize length = 0;
  g_autofree char *text = read_document (path, &length, error);

  if (text == NULL)
    return NULL;
  return td_history_index_parse (text, length, path, error);
}

static gboolean
write_index (TdHistory  *self,
             GError    **error)
{
  g_autofree char *path = g_build_filename (self->dir, INDEX_NAME, NULL);
  g_autofree char *text = td_history_index_write (self->ids);

  if (g_mkdir_with_parents (self->dir, 0700) != 0)
    return set_error_from_errno (error, self->dir, errno);
  return g_file_set_contents (path, text, -1, error);
}

static void
update_index (TdHistory *self)
{
  g_autoptr(GError) error = NULL;

  if (!write_index (self, &error))
    g_message ("History: the index could not be written (it is rebuilt on the next start): %s",
               error->message);
}

/* Entries ----------------------------------------------------------------- */

static char *
entry_document (TdGenerationResult *result)
{
  GdkTexture *texture = td_generation_result_get_texture (result);
  TdHistoryEntryInfo info = {
    .created_us = td_generation_result_get_created (result),
    .seed = td_generation_result_get_seed (result),
    .width = gdk_texture_get_width (texture),
    .height = gdk_texture_get_height (texture),
    .mode = (char *) td_generation_result_get_mode_name (result),
    .thought = (char *) td_generation_result_get_thought (result),
    .thought_edited = td_generation_result_get_thought_edited (result),
  };

  return td_history_entry_write (&info);
}

/* Reads the entry in @entry_dir; runs in the load thread. */
static TdGenerationResult *
read_entry (const char  *entry_dir,
            const char  *id,
            GError     **error)
{
  g_autofree char *entry_path = g_build_filename (entry_dir, ENTRY_NAME, NULL);
  g_autofree char *image_path = g_build_filename (entry_dir, IMAGE_NAME, NULL);
  g_autofree char *board_path = g_build_filename (entry_dir, BOARD_NAME, NULL);
  g_autofree char *text = NULL;
  g_autoptr(GBytes) pixels = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *board_json = NULL;
  TdHistoryEntryInfo info = { 0 };
  gsize length = 0;
  td_image image = { 0 };
  td_error err = { 0 };
  TdGenerationResult *result;

  if (!g_file_test (entry_path, G_FILE_TEST_EXISTS))
    {
      /* Translators: %s is a folder name. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("%s: not a history entry (no entry.json)"),
                   entry_dir);
      return NULL;
    }
  text = read_document (entry_path, &length, error);
  if (text == NULL || !td_history_entry_parse (text, length, entry_path, &info, error))
    return NULL;

  if (g_file_test (board_path, G_FILE_TEST_EXISTS))
    {
      td_board *board = td_board_load_json (board_path, &err);
      char *board_text;

      if (board == NULL)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, err.message);
          td_history_entry_info_clear (&info);
          return NULL;
        }
      board_text = td_board_to_json (board);
      board_json = g_strdup (board_text);
      td_free (board_text);
      td_board_free (board);
    }

  if (td_image_load (image_path, NULL, &image, &err) != TD_OK)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, err.message);
      td_history_entry_info_clear (&info);
      return NULL;
    }
  if (image.width != info.width || image.height != info.height)
    {
      /* Translators: %s is a file name; the numbers are sizes in pixels. */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("%s: %d×%d pixels, the entry says %d×%d"),
                   image_path, image.width, image.height, info.width, info.height);
      td_image_clear (&image);
      td_history_entry_info_clear (&info);
      return NULL;
    }
  pixels = g_bytes_new (image.rgb, (gsize) image.width * image.height * 3);
  texture = gdk_memory_texture_new (image.width, image.height, GDK_MEMORY_R8G8B8, pixels,
                                    (gsize) image.width * 3);
  td_image_clear (&image);

  result = td_generation_result_new (texture, info.thought, info.seed);
  td_generation_result_set_metadata (result, board_json, info.mode, NULL);
  td_generation_result_set_thought_edited (result, info.thought_edited);
  td_generation_result_set_created (result, info.created_us);
  set_entry_id (result, id);
  td_history_entry_info_clear (&info);
  return result;
}

/* Loading ------------------------------------------------------------------ */

typedef struct {
  GPtrArray *results;   /* newest first */
  GPtrArray *ids;       /* oldest first */
  GPtrArray *problems;  /* char *, NULL-terminated on the way out */
  gboolean   index_stale;
} LoadData;

static void
load_data_free (gpointer data)
{
  LoadData *load = data;

  g_clear_pointer (&load->results, g_ptr_array_unref);
  g_clear_pointer (&load->ids, g_ptr_array_unref);
  g_clear_pointer (&load->problems, g_ptr_array_unref);
  g_free (load);
}

static int
compare_by_created (gconstpointer a,
                    gconstpointer b)
{
  TdGenerationResult *x = *(TdGenerationResult **) a;
  TdGenerationResult *y = *(TdGenerationResult **) b;
  gint64 tx = td_generation_result_get_created (x), ty = td_generation_result_get_created (y);

  if (tx != ty)
    return tx < ty ? -1 : 1;
  return strcmp (td_history_get_entry_id (x), td_history_get_entry_id (y));
}

static void
add_problem (LoadData   *load,
             const char *message)
{
  g_message ("History: skipped: %s", message);
  g_ptr_array_add (load->problems, g_strdup (message));
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  TdHistory *self = source_object;
  g_autofree char *index_path = g_build_filename (self->dir, INDEX_NAME, NULL);
  g_autofree char *trash = g_build_filename (self->dir, TRASH_NAME, NULL);
  g_autoptr(GPtrArray) index = NULL;
  g_autoptr(GPtrArray) unindexed = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) ordered = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GHashTable) found = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = NULL;
  LoadData *load = g_new0 (LoadData, 1);
  const char *name;

  load->problems = g_ptr_array_new_with_free_func (g_free);
  load->ids = g_ptr_array_new_with_free_func (g_free);
  load->results = g_ptr_array_new_with_free_func (g_object_unref);

  /* Deleted entries whose Undo has passed, and writes a crash cut short. */
  remove_tree (trash, 2);

  dir = g_dir_open (self->dir, 0, &error);
  if (dir == NULL)
    {
      /* No history yet is not a problem. */
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        add_problem (load, error->message);
      g_task_return_pointer (task, load, load_data_free);
      return;
    }

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (self->dir, name, NULL);
      g_autoptr(GError) entry_error = NULL;
      TdGenerationResult *result;

      if (g_str_has_prefix (name, TMP_PREFIX))
        {
          remove_tree (path, 2);
          continue;
        }
      if (g_str_equal (name, INDEX_NAME) || name[0] == '.')
        continue;
      if (!td_history_id_is_valid (name) || !g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          g_autofree char *message =
            /* Translators: %s is a file name. */
            g_strdup_printf (_("%s: not a history entry"), path);

          add_problem (load, message);
          continue;
        }
      if (g_cancellable_is_cancelled (cancellable))
        break;

      result = read_entry (path, name, &entry_error);
      if (result == NULL)
        add_problem (load, entry_error->message);
      else
        g_hash_table_insert (found, g_strdup (name), result);
    }

  index = read_index (index_path, &error);
  if (index == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) || g_hash_table_size (found) > 0)
        {
          g_message ("History: rebuilding the index: %s", error->message);
          load->index_stale = TRUE;
        }
      index = g_ptr_array_new_with_free_func (g_free);
    }

  /* The index's order for the entries it lists, then the others by time. */
  for (guint i = 0; i < index->len; i++)
    {
      TdGenerationResult *result = g_hash_table_lookup (found, g_ptr_array_index (index, i));

      if (result == NULL)
        {
          load->index_stale = TRUE;
          continue;
        }
      g_ptr_array_add (ordered, g_object_ref (result));
      g_hash_table_remove (found, g_ptr_array_index (index, i));
    }
  if (g_hash_table_size (found) > 0)
    {
      GHashTableIter iter;
      gpointer value;

      load->index_stale = TRUE;
      g_hash_table_iter_init (&iter, found);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        g_ptr_array_add (unindexed, g_object_ref (value));
      g_ptr_array_sort (unindexed, compare_by_created);
      for (guint i = 0; i < unindexed->len; i++)
        g_ptr_array_add (ordered, g_object_ref (g_ptr_array_index (unindexed, i)));
    }

  for (guint i = 0; i < ordered->len; i++)
    g_ptr_array_add (load->ids, g_strdup (td_history_get_entry_id (g_ptr_array_index (ordered, i))));
  for (guint i = ordered->len; i > 0; i--)
    g_ptr_array_add (load->results, g_object_ref (g_ptr_array_index (ordered, i - 1)));

  g_task_return_pointer (task, load, load_data_free);
}

void
td_history_load_async (TdHistory           *self,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TD_IS_HISTORY (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, td_history_load_async);
  g_task_run_in_thread (task, load_thread);
}

/* Also brings the index in step with the entries found (rewriting it when it
 * was missing, damaged or out of date). */
GPtrArray *
td_history_load_finish (TdHistory     *self,
                        GAsyncResult  *result,
                        GStrv         *problems,
                        GError       **error)
{
  LoadData *load;
  GPtrArray *results;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  load = g_task_propagate_pointer (G_TASK (result), error);
  if (load == NULL)
    return NULL;

  /* Entries written while the load ran stay at the end. */
  for (guint i = 0; i < self->ids->len; i++)
    if (!g_ptr_array_find_with_equal_func (load->ids, g_ptr_array_index (self->ids, i), g_str_equal, NULL))
      {
        g_ptr_array_add (load->ids, g_strdup (g_ptr_array_index (self->ids, i)));
        load->index_stale = TRUE;
      }
  g_ptr_array_unref (self->ids);
  self->ids = g_steal_pointer (&load->ids);
  if (load->index_stale)
    update_index (self);

  if (problems != NULL)
    {
      g_ptr_array_add (load->problems, NULL);
      *problems = (GStrv) g_ptr_array_free (g_steal_pointer (&load->problems), FALSE);
    }
  results = g_steal_pointer (&load->results);
  load_data_free (load);
  return results;
}

/* Adding ------------------------------------------------------------------- */

static gboolean
write_entry (const char          *history_dir,
             const char          *id,
             TdGenerationResult  *result,
             GError             **error)
{
  g_autofree char *tmp_name = g_strconcat (TMP_PREFIX, id, NULL);
  g_autofree char *tmp = g_build_filename (history_dir, tmp_name, NULL);
  g_autofree char *target = g_build_filename (history_dir, id, NULL);
  g_autofree char *image_path = g_build_filename (tmp, IMAGE_NAME, NULL);
  g_autofree char *entry_path = g_build_filename (tmp, ENTRY_NAME, NULL);
  g_autofree char *document = entry_document (result);
  const char *board_json = td_generation_result_get_board_json (result);

  if (g_mkdir_with_parents (tmp, 0700) != 0)
    return set_error_from_errno (error, tmp, errno);

  if (!td_result_save (result, image_path, error))
    goto failed;
  if (board_json != NULL)
    {
      g_autofree char *board_path = g_build_filename (tmp, BOARD_NAME, NULL);

      if (!g_file_set_contents (board_path, board_json, -1, error))
        goto failed;
    }
  if (!g_file_set_contents (entry_path, document, -1, error))
    goto failed;

  /* The entry appears whole, under its name, or not at all. */
  if (g_rename (tmp, target) != 0)
    {
      set_error_from_errno (error, target, errno);
      goto failed;
    }
  return TRUE;

failed:
  remove_tree (tmp, 1);
  return FALSE;
}

static void
add_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  TdHistory *self = source_object;
  TdGenerationResult *result = g_object_get_data (G_OBJECT (task), "td-result");
  GError *error = NULL;

  if (write_entry (self->dir, task_data, result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
add_done (GObject      *source_object,
          GAsyncResult *result,
          gpointer      user_data)
{
  TdHistory *self = TD_HISTORY (source_object);
  GTask *task = G_TASK (result);
  GTask *outer = user_data;
  const char *id = g_task_get_task_data (task);
  GError *error = NULL;

  self->n_pending--;
  g_object_set_qdata (g_object_get_data (G_OBJECT (task), "td-result"), writing_quark, NULL);
  if (g_task_propagate_boolean (task, &error))
    {
      set_entry_id (g_object_get_data (G_OBJECT (task), "td-result"), id);
      g_ptr_array_add (self->ids, g_strdup (id));
      update_index (self);
      g_task_return_boolean (outer, TRUE);
    }
  else
    g_task_return_error (outer, error);
  g_object_unref (outer);
}

void
td_history_add_async (TdHistory           *self,
                      TdGenerationResult  *result,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  GTask *outer;
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TD_IS_HISTORY (self));
  g_return_if_fail (TD_IS_GENERATION_RESULT (result));

  /* The outer task reports on the caller's side once the index is updated. */
  outer = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (outer, td_history_add_async);
  task = g_task_new (self, NULL, add_done, outer);
  g_object_set_data_full (G_OBJECT (task), "td-result", g_object_ref (result), g_object_unref);
  g_task_set_task_data (task, make_id (td_generation_result_get_created (result)), g_free);
  g_object_set_qdata (G_OBJECT (result), writing_quark, GINT_TO_POINTER (TRUE));
  self->n_pending++;
  g_task_run_in_thread (task, add_thread);
}

gboolean
td_history_add_finish (TdHistory     *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

guint
td_history_get_n_pending (TdHistory *self)
{
  g_return_val_if_fail (TD_IS_HISTORY (self), 0);
  return self->n_pending;
}

/* Delete and Undo ---------------------------------------------------------- */

static gboolean
entry_id_checked (TdHistory           *self,
                  TdGenerationResult  *result,
                  const char         **id,
                  GError             **error)
{
  *id = td_history_get_entry_id (result);
  if (*id == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("The result is not in the history"));
      return FALSE;
    }
  return TRUE;
}

gboolean
td_history_remove (TdHistory           *self,
                   TdGenerationResult  *result,
                   GError             **error)
{
  const char *id;
  g_autofree char *trash = g_build_filename (self->dir, TRASH_NAME, NULL);
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  guint position;

  g_return_val_if_fail (TD_IS_HISTORY (self), FALSE);
  g_return_val_if_fail (TD_IS_GENERATION_RESULT (result), FALSE);

  if (!entry_id_checked (self, result, &id, error))
    return FALSE;
  from = g_build_filename (self->dir, id, NULL);
  to = g_build_filename (trash, id, NULL);
  if (g_mkdir_with_parents (trash, 0700) != 0)
    return set_error_from_errno (error, trash, errno);
  if (g_rename (from, to) != 0)
    return set_error_from_errno (error, from, errno);

  if (g_ptr_array_find_with_equal_func (self->ids, id, g_str_equal, &position))
    {
      g_ptr_array_remove_index (self->ids, position);
      g_object_set_qdata (G_OBJECT (result), position_quark, GUINT_TO_POINTER (position + 1));
    }
  update_index (self);
  return TRUE;
}

gboolean
td_history_restore (TdHistory           *self,
                    TdGenerationResult  *result,
                    GError             **error)
{
  const char *id;
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  guint position;

  g_return_val_if_fail (TD_IS_HISTORY (self), FALSE);
  g_return_val_if_fail (TD_IS_GENERATION_RESULT (result), FALSE);

  if (!entry_id_checked (self, result, &id, error))
    return FALSE;
  from = g_build_filename (self->dir, TRASH_NAME, id, NULL);
  to = g_build_filename (self->dir, id, NULL);
  if (g_rename (from, to) != 0)
    return set_error_from_errno (error, from, errno);

  position = GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (result), position_quark));
  position = position == 0 ? self->ids->len : MIN (position - 1, self->ids->len);
  g_ptr_array_insert (self->ids, position, g_strdup (id));
  update_index (self);
  return TRUE;
}

/* GObject ----------------------------------------------------------------- */

static void
td_history_finalize (GObject *object)
{
  TdHistory *self = TD_HISTORY (object);

  g_clear_pointer (&self->dir, g_free);
  g_clear_pointer (&self->ids, g_ptr_array_unref);

  G_OBJECT_CLASS (td_history_parent_class)->finalize (object);
}

static void
td_history_class_init (TdHistoryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = td_history_finalize;

  entry_id_quark = g_quark_from_static_string ("td-history-entry-id");
  position_quark = g_quark_from_static_string ("td-history-position");
  writing_quark = g_quark_from_static_string ("td-history-writing");
}

static void
td_history_init (TdHistory *self)
{
  self->ids = g_ptr_array_new_with_free_func (g_free);
}

TdHistory *
td_history_new (const char *dir)
{
  TdHistory *self;

  g_return_val_if_fail (dir != NULL, NULL);

  self = g_object_new (TD_TYPE_HISTORY, NULL);
  self->dir = g_strdup (dir);
  return self;
}

const char *
td_history_get_dir (TdHistory *self)
{
  g_return_val_if_fail (TD_IS_HISTORY (self), NULL);
  return self->dir;
}
