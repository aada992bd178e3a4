/* td-generation-result.c — an entry of the results gallery.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include "td-generation-result.h"

struct _TdGenerationResult
{
  GObject     parent_instance;

  GdkTexture *texture;
  char       *thought;
  guint32     seed;
  char       *board_json;
  char       *mode_name;
  char       *notice;
  gboolean    thought_edited;
  gint64      created_us;
};

G_DEFINE_FINAL_TYPE (TdGenerationResult, td_generation_result, G_TYPE_OBJECT)

static void
td_generation_result_finalize (GObject *object)
{
  TdGenerationResult *self = TD_GENERATION_RESULT (object);

  g_clear_object (&self->texture);
  g_clear_pointer (&self->thought, g_free);
  g_clear_pointer (&self->board_json, g_free);
  g_clear_pointer (&self->mode_name, g_free);
  g_clear_pointer (&self->notice, g_free);

  G_OBJECT_CLASS (td_generation_result_parent_class)->finalize (object);
}

static void
td_generation_result_class_init (TdGenerationResultClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = td_generation_result_finalize;
}

static void
td_generation_result_init (TdGenerationResult *self)
{
}

/* @thought may be NULL (CLIP mode writes none). */
TdGenerationResult *
td_generation_result_new (GdkTexture *texture,
                          const char *thought,
                          guint32     seed)
{
  TdGenerationResult *self;

  g_return_val_if_fail (GDK_IS_TEXTURE (texture), NULL);

  self = g_object_new (TD_TYPE_GENERATION_RESULT, NULL);
  self->texture = g_object_ref (texture);
  self->thought = g_strdup (thought);
  self->seed = seed;
  self->created_us = g_get_real_time ();
  return self;
}

GdkTexture *
td_generation_result_get_texture (TdGenerationResult *self)
{
  g_return_val_if_fail (TD_IS_GENERATION_RESULT (self), NULL);
  return self->texture;
}

const char *
td_generation_result_get_thought (TdGenerationResult *self)
{
  g_return_val_if_fail (TD_IS_GENERATION_RESULT (self), NULL);
  return self->thought;
}

guint32
td_generation_result_get_seed (TdGenerationResult *self)
{
  g_return_val_if_fail (TD_IS_GENERATION_RESULT (self), 0);
  return self->seed;
}

/* What made the image, for saving it with the image and for Reuse: the board
 * as JSON (td_board_to_json), the mode that ran, and a note for the user.
 * Each may be NULL. */
void
td_generation_result_set_metadata (TdGenerationResult *self,
                                   const char         *board_json,
                                   const char         *mode_name,
                                   const char         *notice)
{
  g_return_if_fail (TD_IS_GENERATION_RESULT (self));

  g_free (self->board_json);
  self->board_json = g_strdup (board_json);
  g_free (self->mode_name);
  self->mode_name = g_strdup (mode_name);
  g_free (self->notice);
  self->notice = g_strdup (notice);
}

const char *
td_generation_result_get_board_json (TdGenerationResult *self)
{
  g_return_val_if_fail (TD_IS_GENERATION_RESULT (self), NULL);
  return self->board_json;
}

const char *
td_generation_result_get_mode_name (TdGenerationResult *self)
{
  g_return_val_if_fail (TD_IS_GENERATION_RESULT (self), NULL);
  return self->mode_name;
}

const char *
td_generation_result_get_notice (TdGenerationResult *self)
{
  g_return_val_if_fail (TD_IS_GENERATION_RESULT (self), NULL);
  return self->notice;
}

void
td_generation_result_set_thought_edited (TdGenerationResult *self,
                                         gboolean            edited)
{
  g_return_if_fail (TD_IS_GENERATION_RESULT (self));
  self->thought_edited = edited;
}

gboolean
td_generation_result_get_thought_edited (TdGenerationResult *self)
{
  g_return_val_if_fail (TD_IS_GENERATION_RESULT (self), FALSE);
  return self->thought_edited;
}

/* When the image was made: microseconds since 1970 (UTC), now for a new result. */
gint64
td_generation_result_get_created (TdGenerationResult *self)
{
  g_return_val_if_fail (TD_IS_GENERATION_RESULT (self), 0);
  return self->created_us;
}

void
td_generation_result_set_created (TdGenerationResult *self,
                                  gint64              created_us)
{
  g_return_if_fail (TD_IS_GENERATION_RESULT (self));
  self->created_us = created_us;
}
