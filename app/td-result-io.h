/* td-result-io.h — results as files: PNG/JPEG with what made them embedded,
 * and the board read back from such a PNG (Reuse).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#pragma once

#include <gtk/gtk.h>

#include "thinkdiff.h"
#include "td-generation-result.h"

G_BEGIN_DECLS

/* Writes @result to @path: JPEG when the name ends in .jpg/.jpeg (the board
 * in a comment), PNG otherwise (text chunks "thinkdiff:board",
 * "thinkdiff:mode", "thinkdiff:thought"). Atomic; may run in any thread. */
gboolean  td_result_save            (TdGenerationResult  *result,
                                     const char          *path,
                                     GError             **error);

/* Saves @result once into the cache folder (for dragging it out) and
 * returns that file. */
GFile    *td_result_get_cached_file (TdGenerationResult  *result,
                                     GError             **error);

/* The board a PNG carries in its "thinkdiff:board" chunk; relative image
 * paths are taken from the PNG's folder. NULL with G_IO_ERROR_NOT_FOUND when
 * the PNG carries none, another error when it is unreadable. */
td_board *td_result_read_board      (const char          *png_path,
                                     GError             **error);
/* The same from JSON text (a result's board, held in memory). */
td_board *td_result_parse_board     (const char          *json,
                                     GError             **error);

/* RGB8 rows (stride width * 3) of a texture. */
GBytes   *td_texture_to_rgb         (GdkTexture          *texture,
                                     int                 *width,
                                     int                 *height);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (td_board, td_board_free)

G_END_DECLS
