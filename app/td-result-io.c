/* td-result-io.c — saving results with their metadata, and reading it back.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "td-config.h"

#include <glib/gi18n.h>
#include <errno.h>
#include <string.h>

#include "thinkdiff.h"
#include "td-result-io.h"

#define JPEG_QUALITY 92

GBytes *
td_texture_to_rgb (GdkTexture *texture,
                   int        *width,
                   int        *height)
{
  int w = gdk_texture_get_width (texture);
  int h = gdk_texture_get_height (texture);
  gsize stride = (gsize) w * 4;
  g_autofree guchar *argb = g_malloc ((gsize) h * stride);
  guchar *rgb = g_malloc ((gsize) w * h * 3);

  /* Cairo's ARGB32: one native-endian premultiplied 0xAARRGGBB word per pixel. */
  gdk_texture_download (texture, argb, stride);
  for (gsize i = 0; i < (gsize) w * h; i++)
    {
      guint32 word;
      guint a, r, g, b;

      memcpy (&word, argb + i * 4, sizeof word);
      a = word >> 24;
      r = (word >> 16) & 0xff;
      g = (word >> 8) & 0xff;
      b = word & 0xff;

      /* Un-premultiply; transparent pixels become black. */
      if (a != 0 && a != 255)
        {
          r = MIN (255, r * 255 / a);
          g = MIN (255, g * 255 / a);
          b = MIN (255, b * 255 / a);
        }
      rgb[i * 3 + 0] = r;
      rgb[i * 3 + 1] = g;
      rgb[i * 3 + 2] = b;
    }

  *width = w;
  *height = h;
  return g_bytes_new_take (rgb, (gsize) w * h * 3);
}

static gboolean
is_jpeg_name (const char *path)
{
  g_autofree char *lower = g_ascii_strdown (path, -1);

  return g_str_has_suffix (lower, ".jpg") || g_str_has_suffix (lower, ".jpeg");
}

gboolean
td_result_save (TdGenerationResult  *result,
                const char          *path,
                GError             **error)
{
  g_autoptr(GBytes) pixels = NULL;
  g_autofree char *software = g_strdup_printf ("ThinkDiff Studio %s", TD_VERSION);
  const char *board = td_generation_result_get_board_json (result);
  const char *mode = td_generation_result_get_mode_name (result);
  const char *thought = td_generation_result_get_thought (result);
  td_image image = { 0 };
  td_error err = { 0 };
  td_status status;

  g_return_val_if_fail (TD_IS_GENERATION_RESULT (result), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  pixels = td_texture_to_rgb (td_generation_result_get_texture (result), &image.width, &image.height);
  image.rgb = (uint8_t *) g_bytes_get_data (pixels, NULL);

  if (is_jpeg_name (path))
    status = td_image_save_jpeg (path, &image, JPEG_QUALITY, board, &err);
  else
    {
      td_image_text text[5];
      size_t n = 0;

      text[n++] = (td_image_text) { (char *) "Software", software };
      if (board != NULL)
        text[n++] = (td_image_text) { (char *) "thinkdiff:board", (char *) board };
      if (mode != NULL)
        text[n++] = (td_image_text) { (char *) "thinkdiff:mode", (char *) mode };
      if (thought != NULL)
        text[n++] = (td_image_text) { (char *) "thinkdiff:thought", (char *) thought };
      if (thought != NULL && td_generation_result_get_thought_edited (result))
        text[n++] = (td_image_text) { (char *) "thinkdiff:thought-edited", (char *) "true" };
      status = td_image_save_png (path, &image, text, n, &err);
    }

  if (status != TD_OK)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, err.message);
      return FALSE;
    }
  return TRUE;
}

GFile *
td_result_get_cached_file (TdGenerationResult  *result,
                           GError             **error)
{
  GFile *file = g_object_get_data (G_OBJECT (result), "td-cached-file");
  g_autofree char *dir = NULL;
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;

  if (file != NULL)
    return g_object_ref (file);

  dir = g_build_filename (g_get_user_cache_dir (), "thinkdiff-studio", "results", NULL);
  /* The pointer keeps two results with one seed apart within a session. */
  name = g_strdup_printf ("thinkdiff-%u-%" G_GUINTPTR_FORMAT ".png",
                          td_generation_result_get_seed (result), (guintptr) result & 0xffffff);
  path = g_build_filename (dir, name, NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", dir, g_strerror (errno));
      return NULL;
    }
  if (!td_result_save (result, path, error))
    return NULL;

  file = g_file_new_for_path (path);
  g_object_set_data_full (G_OBJECT (result), "td-cached-file", g_object_ref (file), g_object_unref);
  return file;
}

td_board *
td_result_parse_board (const char  *json,
                       GError     **error)
{
  td_error err = { 0 };
  td_board *board;

  board = td_board_load_json_data (json, strlen (json), "the board", g_get_home_dir (), &err);
  if (board == NULL)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, err.message);
  return board;
}

td_board *
td_result_read_board (const char  *png_path,
                      GError     **error)
{
  td_image_text *text = NULL;
  size_t n_text = 0;
  td_error err = { 0 };
  td_board *board = NULL;
  g_autofree char *dir = g_path_get_dirname (png_path);

  if (td_image_png_text (png_path, NULL, &text, &n_text, &err) != TD_OK)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, err.message);
      return NULL;
    }

  for (size_t i = 0; i < n_text && board == NULL; i++)
    if (strcmp (text[i].key, "thinkdiff:board") == 0)
      {
        board = td_board_load_json_data (text[i].value, strlen (text[i].value), png_path, dir, &err);
        if (board == NULL)
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, err.message);
        td_image_text_free (text, n_text);
        return board;
      }

  td_image_text_free (text, n_text);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
               /* Translators: %s is a file name. */
               _("“%s” carries no ThinkDiff board"), png_path);
  return NULL;
}
