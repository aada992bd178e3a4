/* td-board-card.h — the row that shows one board item and can be dragged.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include <gtk/gtk.h>

#include "td-board-item.h"

G_BEGIN_DECLS

#define TD_TYPE_BOARD_CARD (td_board_card_get_type ())

G_DECLARE_FINAL_TYPE (TdBoardCard, td_board_card, TD, BOARD_CARD, GtkListBoxRow)

GtkWidget   *td_board_card_new               (TdBoardItem *item);
TdBoardItem *td_board_card_get_item          (TdBoardCard *self);
GtkWidget   *td_board_card_get_remove_button (TdBoardCard *self);
GtkWidget   *td_board_card_get_text_view     (TdBoardCard *self);
gboolean     td_board_card_drop              (TdBoardCard  *self,
                                              const GValue *value);

G_END_DECLS
