/* board.h — the prompt board: an ordered list of images and texts, the mode that
 * reads it, and the generation settings. The app builds one from its cards; the
 * CLI from --image/--text flags or a JSON board file. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "thinkdiff.h"

/* td_board_mode, td_board_item_kind, td_board_settings and the board functions
 * are public: see thinkdiff-board.h. */

typedef struct td_board_item {
  td_board_item_kind kind;
  char *value; /* image path, or the text */
} td_board_item;

typedef struct td_board {
  td_board_mode mode;
  td_board_item *items;
  int n_items;
  td_board_settings settings;
  /* LVLM: text put before the items in the chat. NULL = auto: the official multi-image
   * run's instruction for boards with two or more images, none otherwise; "" = none. */
  char *instruction;
  /* LVLM: an edited thought to paint from instead of thinking (td_board_set_thought); NULL = think. */
  char *thought;
} td_board;

/* The official multi-image run's instruction (what instruction NULL becomes there). */
extern const char td_board_official_instruction[];
