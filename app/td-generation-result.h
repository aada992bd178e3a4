/* td-generation-result.h — one finished image and what made it.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define TD_TYPE_GENERATION_RESULT (td_generation_result_get_type ())

G_DECLARE_FINAL_TYPE (TdGenerationResult, td_generation_result, TD, GENERATION_RESULT, GObject)

TdGenerationResult *td_generation_result_new         (GdkTexture         *texture,
                                                      const char         *thought,
                                                      guint32             seed);
GdkTexture         *td_generation_result_get_texture (TdGenerationResult *self);
const char         *td_generation_result_get_thought (TdGenerationResult *self);
guint32             td_generation_result_get_seed    (TdGenerationResult *self);
void                td_generation_result_set_metadata (TdGenerationResult *self,
                                                       const char         *board_json,
                                                       const char         *mode_name,
                                                       const char         *notice);
const char         *td_generation_result_get_board_json (TdGenerationResult *self);
const char         *td_generation_result_get_mode_name  (TdGenerationResult *self);
const char         *td_generation_result_get_notice     (TdGenerationResult *self);
/* Whether the thought is one the user edited (painted from, not sampled). */
void                td_generation_result_set_thought_edited (TdGenerationResult *self,
                                                             gboolean            edited);
gboolean            td_generation_result_get_thought_edited (TdGenerationResult *self);
gint64              td_generation_result_get_created (TdGenerationResult *self);
void                td_generation_result_set_created (TdGenerationResult *self,
                                                      gint64              created_us);

G_END_DECLS
