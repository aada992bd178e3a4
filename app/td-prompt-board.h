/* td-prompt-board.h — the ordered list of image and text cards.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include <adwaita.h>

#include "td-board-item.h"

G_BEGIN_DECLS

#define TD_TYPE_PROMPT_BOARD (td_prompt_board_get_type ())

G_DECLARE_FINAL_TYPE (TdPromptBoard, td_prompt_board, TD, PROMPT_BOARD, AdwBin)

GtkWidget   *td_prompt_board_new            (void);
GListModel  *td_prompt_board_get_items      (TdPromptBoard *self);
guint        td_prompt_board_get_n_pending  (TdPromptBoard *self);
GtkWidget   *td_prompt_board_get_card       (TdPromptBoard *self,
                                             guint          position);

guint        td_prompt_board_add_files      (TdPromptBoard *self,
                                             const GSList  *files);
TdBoardItem *td_prompt_board_add_texture    (TdPromptBoard *self,
                                             GdkTexture    *texture);
TdBoardItem *td_prompt_board_add_text       (TdPromptBoard *self,
                                             const char    *text);
gboolean     td_prompt_board_handle_drop    (TdPromptBoard *self,
                                             const GValue  *value);
gboolean     td_prompt_board_move_item      (TdPromptBoard *self,
                                             TdBoardItem   *item,
                                             guint          position);
void         td_prompt_board_remove_item    (TdPromptBoard *self,
                                             TdBoardItem   *item);
void         td_prompt_board_clear          (TdPromptBoard *self);
void         td_prompt_board_set_items      (TdPromptBoard *self,
                                             GPtrArray     *items);
void         td_prompt_board_paste          (TdPromptBoard *self,
                                             GdkClipboard  *clipboard);
void         td_prompt_board_choose_images  (TdPromptBoard *self);

G_END_DECLS
