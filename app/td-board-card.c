/* td-board-card.c — one row of the prompt board.
 *
 * An image card shows a thumbnail and the file name; a text card holds a
 * multi-line entry whose text is written back to the item as the user types.
 * Each card is a drag source (carrying its TdBoardItem) and a drop target for
 * other cards: dropping card A on card B asks the board, through the
 * "item-dropped" signal, to move A to B's place. From the keyboard, Alt+Up
 * and Alt+Down (or the card's menu) ask for a move by one place through
 * "move-requested".
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <glib/gi18n.h>

#include "td-board-card.h"

struct _TdBoardCard
{
  GtkListBoxRow  parent_instance;

  TdBoardItem   *item;

  GtkStack      *content_stack;
  GtkImage      *thumbnail;
  GtkLabel      *title_label;
  GtkTextView   *text_view;
  GtkButton     *remove_button;
};

G_DEFINE_FINAL_TYPE (TdBoardCard, td_board_card, GTK_TYPE_LIST_BOX_ROW)

enum {
  REMOVE_REQUESTED,
  ITEM_DROPPED,
  MOVE_REQUESTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
on_remove_clicked (TdBoardCard *self)
{
  g_signal_emit (self, signals[REMOVE_REQUESTED], 0);
}

static void
move_up_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  g_signal_emit (widget, signals[MOVE_REQUESTED], 0, -1);
}

static void
move_down_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  g_signal_emit (widget, signals[MOVE_REQUESTED], 0, 1);
}

static void
on_buffer_changed (TdBoardCard   *self,
                   GtkTextBuffer *buffer)
{
  g_autofree char *text = NULL;
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  td_board_item_set_text (self->item, text);
}

static GdkContentProvider *
on_drag_prepare (TdBoardCard   *self,
                 double         x,
                 double         y,
                 GtkDragSource *source)
{
  return gdk_content_provider_new_typed (TD_TYPE_BOARD_ITEM, self->item);
}

static void
on_drag_begin (TdBoardCard   *self,
               GdkDrag       *drag,
               GtkDragSource *source)
{
  g_autoptr(GdkPaintable) icon = gtk_widget_paintable_new (GTK_WIDGET (self));

  gtk_drag_source_set_icon (source, icon, 0, 0);
}

/* Called by the card's drop target with the dragged value; returns whether
 * the board accepted the move. Tests call it with the same GValue a drag
 * delivers. */
gboolean
td_board_card_drop (TdBoardCard  *self,
                    const GValue *value)
{
  TdBoardItem *dropped;
  gboolean handled = FALSE;

  g_return_val_if_fail (TD_IS_BOARD_CARD (self), FALSE);

  if (!G_VALUE_HOLDS (value, TD_TYPE_BOARD_ITEM))
    return FALSE;

  dropped = g_value_get_object (value);
  if (dropped == NULL || dropped == self->item)
    return FALSE;

  g_signal_emit (self, signals[ITEM_DROPPED], 0, dropped, &handled);
  return handled;
}

static gboolean
on_drop (TdBoardCard   *self,
         const GValue  *value,
         double         x,
         double         y,
         GtkDropTarget *target)
{
  return td_board_card_drop (self, value);
}

static void
td_board_card_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), TD_TYPE_BOARD_CARD);

  G_OBJECT_CLASS (td_board_card_parent_class)->dispose (object);
}

static void
td_board_card_finalize (GObject *object)
{
  TdBoardCard *self = TD_BOARD_CARD (object);

  g_clear_object (&self->item);

  G_OBJECT_CLASS (td_board_card_parent_class)->finalize (object);
}

static void
td_board_card_class_init (TdBoardCardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = td_board_card_dispose;
  object_class->finalize = td_board_card_finalize;

  /* Emitted when the user presses the card's remove button. */
  signals[REMOVE_REQUESTED] =
    g_signal_new ("remove-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /* Emitted when another card is dropped on this one; returns whether the
   * board moved it. */
  signals[ITEM_DROPPED] =
    g_signal_new ("item-dropped", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, g_signal_accumulator_true_handled, NULL, NULL,
                  G_TYPE_BOOLEAN, 1, TD_TYPE_BOARD_ITEM);

  /* Emitted with -1 or +1 when the user asks to move the card one place up
   * or down from the keyboard or the card's menu. */
  signals[MOVE_REQUESTED] =
    g_signal_new ("move-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);

  gtk_widget_class_install_action (widget_class, "card.move-up", NULL, move_up_action);
  gtk_widget_class_install_action (widget_class, "card.move-down", NULL, move_down_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Up, GDK_ALT_MASK, "card.move-up", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Up, GDK_ALT_MASK, "card.move-up", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Down, GDK_ALT_MASK, "card.move-down", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Down, GDK_ALT_MASK, "card.move-down", NULL);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/thinkdiff/Studio/td-board-card.ui");
  gtk_widget_class_bind_template_child (widget_class, TdBoardCard, content_stack);
  gtk_widget_class_bind_template_child (widget_class, TdBoardCard, thumbnail);
  gtk_widget_class_bind_template_child (widget_class, TdBoardCard, title_label);
  gtk_widget_class_bind_template_child (widget_class, TdBoardCard, text_view);
  gtk_widget_class_bind_template_child (widget_class, TdBoardCard, remove_button);
  gtk_widget_class_bind_template_callback (widget_class, on_remove_clicked);
}

static void
td_board_card_init (TdBoardCard *self)
{
  GtkDragSource *source;
  GtkDropTarget *target;

  gtk_widget_init_template (GTK_WIDGET (self));

  source = gtk_drag_source_new ();
  gtk_drag_source_set_actions (source, GDK_ACTION_MOVE);
  g_signal_connect_swapped (source, "prepare", G_CALLBACK (on_drag_prepare), self);
  g_signal_connect_swapped (source, "drag-begin", G_CALLBACK (on_drag_begin), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (source));

  target = gtk_drop_target_new (TD_TYPE_BOARD_ITEM, GDK_ACTION_MOVE);
  g_signal_connect_swapped (target, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));
}

static void
setup_image_card (TdBoardCard *self)
{
  g_autofree char *remove_label = NULL;
  g_autofree char *row_label = NULL;

  gtk_stack_set_visible_child_name (self->content_stack, "image");
  gtk_label_set_label (self->title_label, td_board_item_get_title (self->item));
  g_object_bind_property (self->item, "thumbnail", self->thumbnail, "paintable",
                          G_BINDING_SYNC_CREATE);

  /* Translators: accessible name of the button that removes an image card;
   * %s is the image's file name. */
  remove_label = g_strdup_printf (_("Remove “%s”"), td_board_item_get_title (self->item));
  /* Translators: accessible name of an image card on the board; %s is the file name. */
  row_label = g_strdup_printf (_("Image “%s”"), td_board_item_get_title (self->item));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, row_label, -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->remove_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, remove_label,
                                  -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->thumbnail),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  td_board_item_get_title (self->item),
                                  -1);
}

static void
setup_text_card (TdBoardCard *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->text_view);

  gtk_stack_set_visible_child_name (self->content_stack, "text");
  gtk_text_buffer_set_text (buffer, td_board_item_get_text (self->item), -1);
  g_signal_connect_object (buffer, "changed", G_CALLBACK (on_buffer_changed),
                           self, G_CONNECT_SWAPPED);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->remove_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Remove Text Card"),
                                  -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Text Card"), -1);
}

GtkWidget *
td_board_card_new (TdBoardItem *item)
{
  TdBoardCard *self;

  g_return_val_if_fail (TD_IS_BOARD_ITEM (item), NULL);

  self = g_object_new (TD_TYPE_BOARD_CARD, NULL);
  self->item = g_object_ref (item);

  if (td_board_item_get_kind (item) == TD_BOARD_ITEM_IMAGE)
    setup_image_card (self);
  else
    setup_text_card (self);

  return GTK_WIDGET (self);
}

TdBoardItem *
td_board_card_get_item (TdBoardCard *self)
{
  g_return_val_if_fail (TD_IS_BOARD_CARD (self), NULL);
  return self->item;
}

GtkWidget *
td_board_card_get_remove_button (TdBoardCard *self)
{
  g_return_val_if_fail (TD_IS_BOARD_CARD (self), NULL);
  return GTK_WIDGET (self->remove_button);
}

GtkWidget *
td_board_card_get_text_view (TdBoardCard *self)
{
  g_return_val_if_fail (TD_IS_BOARD_CARD (self), NULL);
  return GTK_WIDGET (self->text_view);
}
