/* api_board.c — the board accessors of the public API (the board itself is
 * pipeline/board.c). */
#include "pipeline/board.h"

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
