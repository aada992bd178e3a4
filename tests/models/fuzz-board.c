/* libFuzzer target: arbitrary bytes as a board file (td_board_load_json_data). */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "pipeline/board.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  td_error err = { 0 };
  td_board *board = td_board_load_json_data ((const char *) data, size, "fuzz.json", "/boards", &err);
  if (board == NULL)
    {
      /* A refusal always says why, naming the board. */
      g_assert_cmpint (err.status, !=, TD_OK);
      g_assert_nonnull (strstr (err.message, "fuzz.json"));
      return 0;
    }
  /* What a loaded board promises the pipeline, and a lossless round trip. */
  g_assert_cmpint (td_board_validate (board, NULL), ==, TD_OK);
  g_assert_cmpint (board->n_items, >=, 1);
  g_assert_cmpint (board->n_items, <=, TD_BOARD_MAX_ITEMS);
  for (int i = 0; i < board->n_items; i++)
    {
      g_assert_true (g_utf8_validate (board->items[i].value, -1, NULL));
      if (board->items[i].kind == TD_BOARD_IMAGE)
        g_assert_true (g_path_is_absolute (board->items[i].value));
    }
  g_autofree char *json = td_board_to_json (board);
  td_board *again = td_board_load_json_data (json, strlen (json), "again.json", "/elsewhere", &err);
  g_assert_nonnull (again);
  g_assert_cmpint (again->mode, ==, board->mode);
  g_assert_cmpint (again->n_items, ==, board->n_items);
  for (int i = 0; i < board->n_items; i++)
    g_assert_cmpstr (again->items[i].value, ==, board->items[i].value);
  g_assert_cmpint (again->settings.width, ==, board->settings.width);
  g_assert_cmpuint (again->settings.seed, ==, board->settings.seed);
  td_board_free (again);
  td_board_free (board);
  return 0;
}
