/* test-board.c — the prompt board, driven through the handlers that drag and
 * drop, the clipboard and the card buttons use.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "td-board-card.h"
#include "td-prompt-board.h"
#include "td-test-utils.h"

static GtkEventController *
find_controller (GtkWidget *widget,
                 GType      type)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (controller, type))
        return controller;
    }
  return NULL;
}

static TdBoardItem *
item_at (TdPromptBoard *board,
         guint          position)
{
  /* The board keeps a reference; tests only look. */
  TdBoardItem *item = g_list_model_get_item (td_prompt_board_get_items (board), position);

  g_object_unref (item);
  return item;
}

static guint
n_items (TdPromptBoard *board)
{
  return g_list_model_get_n_items (td_prompt_board_get_items (board));
}

static gboolean
no_pending_loads (gpointer data)
{
  return td_prompt_board_get_n_pending (data) == 0;
}

static void
on_problem (TdPromptBoard *board,
            const char    *message,
            GPtrArray     *problems)
{
  g_ptr_array_add (problems, g_strdup (message));
}

/* Emits "drop" on the board's own drop target, as a drag from a file
 * manager would. */
static gboolean
drop_on_board (TdPromptBoard *board,
               const GValue  *value)
{
  GtkEventController *target = find_controller (GTK_WIDGET (board), GTK_TYPE_DROP_TARGET);
  gboolean accepted = FALSE;

  g_assert_nonnull (target);
  g_signal_emit_by_name (target, "drop", value, 10.0, 10.0, &accepted);
  return accepted;
}

static void
test_drop_files (void)
{
  g_autofree char *dir = td_test_make_temp_dir ();
  g_autoptr(GFile) red = td_test_write_png (dir, "red.png", 40, 30, 0xff0000, 0x800000);
  g_autoptr(GFile) blue = td_test_write_png (dir, "blue.png", 300, 200, 0x0000ff, 0x000080);
  g_autofree char *notes_path = g_build_filename (dir, "notes.txt", NULL);
  g_autoptr(GFile) notes = g_file_new_for_path (notes_path);
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  TdPromptBoard *board = TD_PROMPT_BOARD (g_object_ref_sink (td_prompt_board_new ()));
  g_autoptr(GSList) files = NULL;
  GdkPaintable *thumbnail;
  g_auto(GValue) value = G_VALUE_INIT;
  g_auto(GValue) single = G_VALUE_INIT;

  g_assert_true (g_file_set_contents (notes_path, "not an image", -1, NULL));
  g_signal_connect (board, "problem", G_CALLBACK (on_problem), problems);

  files = g_slist_append (files, red);
  files = g_slist_append (files, notes);
  files = g_slist_append (files, blue);
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, gdk_file_list_new_from_list (files));

  g_assert_true (drop_on_board (board, &value));
  /* Cards appear at once, in drop order; thumbnails follow. */
  g_assert_cmpuint (n_items (board), ==, 3);
  g_assert_cmpstr (td_board_item_get_title (item_at (board, 0)), ==, "red.png");
  g_assert_cmpstr (td_board_item_get_title (item_at (board, 1)), ==, "notes.txt");
  g_assert_cmpstr (td_board_item_get_title (item_at (board, 2)), ==, "blue.png");

  g_assert_true (td_test_wait_for (no_pending_loads, board, 5000));

  /* The text file is not an image: it leaves the board with a message. */
  g_assert_cmpuint (n_items (board), ==, 2);
  g_assert_cmpuint (problems->len, ==, 1);
  g_assert_nonnull (strstr (g_ptr_array_index (problems, 0), "notes.txt"));
  g_assert_cmpstr (td_board_item_get_title (item_at (board, 1)), ==, "blue.png");

  /* Thumbnails keep the aspect ratio and are never larger than needed. */
  thumbnail = td_board_item_get_thumbnail (item_at (board, 0));
  g_assert_nonnull (thumbnail);
  g_assert_cmpint (gdk_paintable_get_intrinsic_width (thumbnail), ==, 112);
  g_assert_cmpint (gdk_paintable_get_intrinsic_height (thumbnail), ==, 84);
  thumbnail = td_board_item_get_thumbnail (item_at (board, 1));
  g_assert_cmpint (gdk_paintable_get_intrinsic_width (thumbnail), ==, 112);
  g_assert_cmpint (gdk_paintable_get_intrinsic_height (thumbnail), <=, 75);

  /* A single file (what some sources offer) takes the same path. */
  g_value_init (&single, G_TYPE_FILE);
  g_value_set_object (&single, red);
  g_assert_true (drop_on_board (board, &single));
  g_assert_cmpuint (n_items (board), ==, 3);
  g_assert_true (g_file_equal (td_board_item_get_file (item_at (board, 2)), red));
  g_assert_true (td_test_wait_for (no_pending_loads, board, 5000));

  g_object_unref (board);
  td_test_remove_dir (dir);
}

static gboolean
has_n_items (gpointer data)
{
  TdPromptBoard *board = data;
  guint wanted = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (board), "wanted"));

  return n_items (board) >= wanted;
}

static void
wait_for_items (TdPromptBoard *board,
                guint          wanted)
{
  g_object_set_data (G_OBJECT (board), "wanted", GUINT_TO_POINTER (wanted));
  g_assert_true (td_test_wait_for (has_n_items, board, 5000));
}

static void
test_paste (void)
{
  TdPromptBoard *board = TD_PROMPT_BOARD (g_object_ref_sink (td_prompt_board_new ()));
  GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (board));
  g_autoptr(GdkTexture) texture = td_test_make_texture (64, 48, 0x30c050, 0x106020);
  TdBoardItem *item;

  /* Image data on the clipboard becomes an image card holding the texture. */
  gdk_clipboard_set_texture (clipboard, texture);
  td_prompt_board_paste (board, clipboard);
  wait_for_items (board, 1);
  item = item_at (board, 0);
  g_assert_cmpint (td_board_item_get_kind (item), ==, TD_BOARD_ITEM_IMAGE);
  g_assert_null (td_board_item_get_file (item));
  g_assert_cmpint (gdk_texture_get_width (td_board_item_get_texture (item)), ==, 64);
  g_assert_cmpint (gdk_texture_get_height (td_board_item_get_texture (item)), ==, 48);
  g_assert_cmpstr (td_board_item_get_title (item), ==, "Pasted Image 1");

  /* Text becomes a text card, through the board's paste action (Ctrl+V). */
  gdk_clipboard_set_text (clipboard, "a red apple on a blue plate");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (board), "board.paste", NULL));
  wait_for_items (board, 2);
  item = item_at (board, 1);
  g_assert_cmpint (td_board_item_get_kind (item), ==, TD_BOARD_ITEM_TEXT);
  g_assert_cmpstr (td_board_item_get_text (item), ==, "a red apple on a blue plate");

  g_object_unref (board);
}

static void
assert_texts (TdPromptBoard *board,
              const char    *expected)
{
  g_autoptr(GString) order = g_string_new (NULL);

  for (guint i = 0; i < n_items (board); i++)
    g_string_append (order, td_board_item_get_text (item_at (board, i)));
  g_assert_cmpstr (order->str, ==, expected);
}

/* Drags card @from onto card @to through the cards' own drag source and
 * drop target. */
static gboolean
drag_card (TdPromptBoard *board,
           guint          from,
           guint          to)
{
  GtkWidget *source_card = td_prompt_board_get_card (board, from);
  GtkWidget *target_card = td_prompt_board_get_card (board, to);
  GtkEventController *source = find_controller (source_card, GTK_TYPE_DRAG_SOURCE);
  GtkEventController *target = find_controller (target_card, GTK_TYPE_DROP_TARGET);
  g_autoptr(GdkContentProvider) content = NULL;
  g_auto(GValue) value = G_VALUE_INIT;
  gboolean accepted = FALSE;

  g_assert_nonnull (source);
  g_assert_nonnull (target);

  g_signal_emit_by_name (source, "prepare", 5.0, 5.0, &content);
  g_assert_nonnull (content);
  g_value_init (&value, TD_TYPE_BOARD_ITEM);
  g_assert_true (gdk_content_provider_get_value (content, &value, NULL));
  g_assert_true (g_value_get_object (&value) == (gpointer) td_board_card_get_item (TD_BOARD_CARD (source_card)));

  g_signal_emit_by_name (target, "drop", &value, 5.0, 5.0, &accepted);
  return accepted;
}

static void
test_reorder (void)
{
  TdPromptBoard *board = TD_PROMPT_BOARD (g_object_ref_sink (td_prompt_board_new ()));

  td_prompt_board_add_text (board, "a");
  td_prompt_board_add_text (board, "b");
  td_prompt_board_add_text (board, "c");
  td_prompt_board_add_text (board, "d");
  assert_texts (board, "abcd");

  /* Down: a dropped on c takes c's place. */
  g_assert_true (drag_card (board, 0, 2));
  assert_texts (board, "bcad");
  /* Up: d dropped on the first card becomes first. */
  g_assert_true (drag_card (board, 3, 0));
  assert_texts (board, "dbca");
  /* Onto the last card. */
  g_assert_true (drag_card (board, 1, 3));
  assert_texts (board, "dcab");

  /* Rows follow the model: the card at each place shows that place's item. */
  for (guint i = 0; i < 4; i++)
    g_assert_true (td_board_card_get_item (TD_BOARD_CARD (td_prompt_board_get_card (board, i)))
                   == item_at (board, i));

  /* A card dropped on itself, or an item from elsewhere, moves nothing. */
  g_assert_false (drag_card (board, 2, 2));
  {
    g_autoptr(TdBoardItem) stranger = td_board_item_new_for_text ("x");
    g_assert_false (td_prompt_board_move_item (board, stranger, 0));
  }
  assert_texts (board, "dcab");

  g_object_unref (board);
}

static void
test_remove_and_edit (void)
{
  TdPromptBoard *board = TD_PROMPT_BOARD (g_object_ref_sink (td_prompt_board_new ()));
  g_autoptr(GdkTexture) texture = td_test_make_texture (8, 8, 0xffffff, 0x000000);
  TdBoardCard *card;
  GtkWidget *button;
  GtkTextBuffer *buffer;
  g_autofree char *failure = NULL;

  td_prompt_board_add_texture (board, texture);
  td_prompt_board_add_text (board, "first");
  td_prompt_board_add_text (board, "second");

  /* Icon-only remove buttons say what they remove. */
  card = TD_BOARD_CARD (td_prompt_board_get_card (board, 0));
  button = td_board_card_get_remove_button (card);
  failure = gtk_test_accessible_check_property (GTK_ACCESSIBLE (button),
                                                GTK_ACCESSIBLE_PROPERTY_LABEL,
                                                "Remove “Pasted Image 1”");
  g_assert_null (failure);
  g_assert_nonnull (gtk_widget_get_tooltip_text (button));

  /* Typing into a text card updates its item. */
  card = TD_BOARD_CARD (td_prompt_board_get_card (board, 1));
  buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (td_board_card_get_text_view (card)));
  gtk_text_buffer_set_text (buffer, "a hat", -1);
  g_assert_cmpstr (td_board_item_get_text (item_at (board, 1)), ==, "a hat");

  /* The remove button takes exactly its own card away ("clicked" is what a
   * click or Space/Enter ends in). */
  g_signal_emit_by_name (td_board_card_get_remove_button (card), "clicked");
  g_assert_cmpuint (n_items (board), ==, 2);
  g_assert_cmpstr (td_board_item_get_text (item_at (board, 1)), ==, "second");
  g_assert_cmpint (td_board_item_get_kind (item_at (board, 0)), ==, TD_BOARD_ITEM_IMAGE);

  td_prompt_board_clear (board);
  g_assert_cmpuint (n_items (board), ==, 0);

  g_object_unref (board);
}

int
main (int   argc,
      char *argv[])
{
  if (!td_test_init (&argc, &argv))
    return 0;

  g_test_add_func ("/board/drop-files", test_drop_files);
  g_test_add_func ("/board/paste", test_paste);
  g_test_add_func ("/board/reorder", test_reorder);
  g_test_add_func ("/board/remove-and-edit", test_remove_and_edit);

  return g_test_run ();
}
