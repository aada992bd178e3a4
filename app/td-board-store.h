/* td-board-store.h — the board saved as the user edits it, and put back on start.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include "td-prompt-board.h"

G_BEGIN_DECLS

#define TD_TYPE_BOARD_STORE (td_board_store_get_type ())

G_DECLARE_FINAL_TYPE (TdBoardStore, td_board_store, TD, BOARD_STORE, GObject)

/* $XDG_DATA_HOME/thinkdiff-studio/board.json */
char         *td_board_store_default_path (void);

/* Pasted images (which have no file) are written beside @path, in "board-images". */
TdBoardStore *td_board_store_new          (const char    *path);

/* Fills the (empty) @board from the saved one, then saves every change a
 * moment after it is made. FALSE with @error when the saved board could not
 * be read: it is moved aside (board.json.damaged), the board stays empty and
 * is watched all the same. */
gboolean      td_board_store_attach       (TdBoardStore  *self,
                                           TdPromptBoard *board,
                                           GError       **error);
/* Writes a pending change now (the window does on close). */
gboolean      td_board_store_flush        (TdBoardStore  *self,
                                           GError       **error);
gboolean      td_board_store_get_pending  (TdBoardStore  *self);

G_END_DECLS
