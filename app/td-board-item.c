/* td-board-item.c — the model behind one card of the prompt board.
 *
 * An image item comes either from a file (dropped, chosen or pasted as a file
 * list) or from a texture (pasted pixels); its thumbnail is loaded later by the
 * board. A text item holds the text the user types into its card.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include "td-board-item.h"
#include "td-enums.h"

struct _TdBoardItem
{
  GObject          parent_instance;

  TdBoardItemKind  kind;
  GFile           *file;
  GdkTexture      *texture;
  GdkPaintable    *thumbnail;
  char            *title;
  char            *text;
};

G_DEFINE_FINAL_TYPE (TdBoardItem, td_board_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_KIND,
  PROP_FILE,
  PROP_TEXTURE,
  PROP_THUMBNAIL,
  PROP_TITLE,
  PROP_TEXT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
td_board_item_finalize (GObject *object)
{
  TdBoardItem *self = TD_BOARD_ITEM (object);

  g_clear_object (&self->file);
  g_clear_object (&self->texture);
  g_clear_object (&self->thumbnail);
  g_clear_pointer (&self->title, g_free);
  g_clear_pointer (&self->text, g_free);

  G_OBJECT_CLASS (td_board_item_parent_class)->finalize (object);
}

static void
td_board_item_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  TdBoardItem *self = TD_BOARD_ITEM (object);

  switch (prop_id)
    {
    case PROP_KIND:
      g_value_set_enum (value, self->kind);
      break;
    case PROP_FILE:
      g_value_set_object (value, self->file);
      break;
    case PROP_TEXTURE:
      g_value_set_object (value, self->texture);
      break;
    case PROP_THUMBNAIL:
      g_value_set_object (value, self->thumbnail);
      break;
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_TEXT:
      g_value_set_string (value, self->text);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
td_board_item_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  TdBoardItem *self = TD_BOARD_ITEM (object);

  switch (prop_id)
    {
    case PROP_THUMBNAIL:
      td_board_item_set_thumbnail (self, g_value_get_object (value));
      break;
    case PROP_TEXT:
      td_board_item_set_text (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
td_board_item_class_init (TdBoardItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = td_board_item_finalize;
  object_class->get_property = td_board_item_get_property;
  object_class->set_property = td_board_item_set_property;

  properties[PROP_KIND] =
    g_param_spec_enum ("kind", NULL, NULL,
                       TD_TYPE_BOARD_ITEM_KIND, TD_BOARD_ITEM_IMAGE,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_FILE] =
    g_param_spec_object ("file", NULL, NULL, G_TYPE_FILE,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_TEXTURE] =
    g_param_spec_object ("texture", NULL, NULL, GDK_TYPE_TEXTURE,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_THUMBNAIL] =
    g_param_spec_object ("thumbnail", NULL, NULL, GDK_TYPE_PAINTABLE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_TEXT] =
    g_param_spec_string ("text", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
td_board_item_init (TdBoardItem *self)
{
}

/* The display name of a file: what the file manager shows, without a query. */
static char *
display_name_for_file (GFile *file)
{
  g_autofree char *basename = g_file_get_basename (file);

  if (basename == NULL)
    return g_file_get_uri (file);
  return g_filename_display_name (basename);
}

TdBoardItem *
td_board_item_new_for_file (GFile *file)
{
  TdBoardItem *self;

  g_return_val_if_fail (G_IS_FILE (file), NULL);

  self = g_object_new (TD_TYPE_BOARD_ITEM, NULL);
  self->kind = TD_BOARD_ITEM_IMAGE;
  self->file = g_object_ref (file);
  self->title = display_name_for_file (file);
  return self;
}

TdBoardItem *
td_board_item_new_for_texture (GdkTexture *texture,
                               const char *title)
{
  TdBoardItem *self;

  g_return_val_if_fail (GDK_IS_TEXTURE (texture), NULL);
  g_return_val_if_fail (title != NULL, NULL);

  self = g_object_new (TD_TYPE_BOARD_ITEM, NULL);
  self->kind = TD_BOARD_ITEM_IMAGE;
  self->texture = g_object_ref (texture);
  self->thumbnail = g_object_ref (GDK_PAINTABLE (texture));
  self->title = g_strdup (title);
  return self;
}

TdBoardItem *
td_board_item_new_for_text (const char *text)
{
  TdBoardItem *self;

  self = g_object_new (TD_TYPE_BOARD_ITEM, NULL);
  self->kind = TD_BOARD_ITEM_TEXT;
  self->text = g_strdup (text != NULL ? text : "");
  return self;
}

TdBoardItemKind
td_board_item_get_kind (TdBoardItem *self)
{
  g_return_val_if_fail (TD_IS_BOARD_ITEM (self), TD_BOARD_ITEM_TEXT);
  return self->kind;
}

GFile *
td_board_item_get_file (TdBoardItem *self)
{
  g_return_val_if_fail (TD_IS_BOARD_ITEM (self), NULL);
  return self->file;
}

GdkTexture *
td_board_item_get_texture (TdBoardItem *self)
{
  g_return_val_if_fail (TD_IS_BOARD_ITEM (self), NULL);
  return self->texture;
}

GdkPaintable *
td_board_item_get_thumbnail (TdBoardItem *self)
{
  g_return_val_if_fail (TD_IS_BOARD_ITEM (self), NULL);
  return self->thumbnail;
}

void
td_board_item_set_thumbnail (TdBoardItem  *self,
                             GdkPaintable *thumbnail)
{
  g_return_if_fail (TD_IS_BOARD_ITEM (self));
  g_return_if_fail (thumbnail == NULL || GDK_IS_PAINTABLE (thumbnail));

  if (g_set_object (&self->thumbnail, thumbnail))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_THUMBNAIL]);
}

const char *
td_board_item_get_title (TdBoardItem *self)
{
  g_return_val_if_fail (TD_IS_BOARD_ITEM (self), NULL);
  return self->title;
}

const char *
td_board_item_get_text (TdBoardItem *self)
{
  g_return_val_if_fail (TD_IS_BOARD_ITEM (self), NULL);
  return self->text;
}

void
td_board_item_set_text (TdBoardItem *self,
                        const char  *text)
{
  g_return_if_fail (TD_IS_BOARD_ITEM (self));
  g_return_if_fail (self->kind == TD_BOARD_ITEM_TEXT);

  if (g_strcmp0 (self->text, text) == 0)
    return;

  g_free (self->text);
  self->text = g_strdup (text != NULL ? text : "");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TEXT]);
}
