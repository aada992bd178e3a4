/* api_board.c — the board accessors of the public API (the board itself is
 * pipeline/board.c). */
#include "pipeline/board.h"

#include <errno.h>
#include <glib.h>
#include <string.h>
#include "core/i18n.h"

int
td_board_n_items (const td_board *board)
{
  return board->n_items;
}

bool
td_board_item_at (const td_board *board, int index, td_board_item_kind *kind, const char **value)
{
  if (index < 0 || index >= board->n_items)
    return false;
  if (kind != NULL)
    *kind = board->items[index].kind;
  if (value != NULL)
    *value = board->items[index].value;
  return true;
}

td_board_mode
td_board_get_mode (const td_board *board)
{
  return board->mode;
}

void
td_board_set_mode (td_board *board, td_board_mode mode)
{
  board->mode = mode;
}

td_board_settings
td_board_get_settings (const td_board *board)
{
  return board->settings;
}

void
td_board_set_settings (td_board *board, const td_board_settings *settings)
{
  board->settings = *settings;
}

td_status
td_board_add_pixels (td_board *board, const td_image *image, const char *store_dir, td_error *err)
{
  if (image == NULL || image->rgb == NULL || image->width <= 0 || image->height <= 0
      || image->width > 16384 || image->height > 16384)
    return td_error_set (err, TD_ERR_INVALID_ARG, _("a pasted image needs pixels and a size of 1..16384"));
  if (store_dir == NULL || store_dir[0] == '\0')
    return td_error_set (err, TD_ERR_INVALID_ARG, _("a pasted image needs a folder to be stored in"));
  size_t size = (size_t) image->width * (size_t) image->height * 3;
  g_autofree char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, image->rgb, size);
  g_autofree char *name = g_strdup_printf ("%.16s-%dx%d.png", sum, image->width, image->height);
  g_autofree char *path = g_build_filename (store_dir, name, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      if (g_mkdir_with_parents (store_dir, 0700) != 0)
        return td_error_set (err, TD_ERR_IO, _("%s: cannot create the folder: %s"), store_dir, g_strerror (errno));
      td_status st = td_image_save_png (path, image, NULL, 0, err);
      if (st != TD_OK)
        return st;
    }
  return td_board_add (board, TD_BOARD_IMAGE, path, err);
}

td_status
td_board_set_thought (td_board *board, const char *thought, td_error *err)
{
  if (thought != NULL && strlen (thought) > TD_BOARD_MAX_TEXT)
    return td_error_set (err, TD_ERR_LIMIT, _("the edited thought is longer than %d bytes"), TD_BOARD_MAX_TEXT);
  if (thought != NULL && !g_utf8_validate (thought, -1, NULL))
    return td_error_set (err, TD_ERR_INVALID_ARG, _("the edited thought is not valid UTF-8"));
  if (thought != NULL && thought[0] == '\0')
    return td_error_set (err, TD_ERR_INVALID_ARG, _("the edited thought is empty"));
  g_free (board->thought);
  board->thought = g_strdup (thought);
  return TD_OK;
}

const char *
td_board_thought (const td_board *board)
{
  return board->thought;
}
