/* td-board-item.h — one card of the prompt board: an image or a text.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef enum {
  TD_BOARD_ITEM_IMAGE,
  TD_BOARD_ITEM_TEXT,
} TdBoardItemKind;

#define TD_TYPE_BOARD_ITEM (td_board_item_get_type ())

G_DECLARE_FINAL_TYPE (TdBoardItem, td_board_item, TD, BOARD_ITEM, GObject)

TdBoardItem     *td_board_item_new_for_file     (GFile       *file);
TdBoardItem     *td_board_item_new_for_texture  (GdkTexture  *texture,
                                                 const char  *title);
TdBoardItem     *td_board_item_new_for_text     (const char  *text);

TdBoardItemKind  td_board_item_get_kind         (TdBoardItem *self);
GFile           *td_board_item_get_file         (TdBoardItem *self);
GdkTexture      *td_board_item_get_texture      (TdBoardItem *self);
GdkPaintable    *td_board_item_get_thumbnail    (TdBoardItem *self);
void             td_board_item_set_thumbnail    (TdBoardItem  *self,
                                                 GdkPaintable *thumbnail);
const char      *td_board_item_get_title        (TdBoardItem *self);
const char      *td_board_item_get_text         (TdBoardItem *self);
void             td_board_item_set_text         (TdBoardItem *self,
                                                 const char  *text);

G_END_DECLS
