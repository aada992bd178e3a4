#include "io/image_private.h"
#include "io/file_read.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "core/i18n.h"

/* An image file larger than this is refused before it is read. */

td_image_limits
td_image_limits_default (void)
{
  return (td_image_limits) {
    .max_side = 16384,
    .max_decoded_bytes = (size_t) 256 << 20,
    .max_text_bytes = (size_t) 1 << 20,
    .max_jpeg_scans = 256,
  };
}

td_status
td_image_check_size (const char *name, int width, int height, const td_image_limits *limits, td_error *err)
{
  if (width <= 0 || height <= 0)
    return td_error_set (err, TD_ERR_FORMAT, _("%s: the image is %d×%d pixels"), name, width, height);
  if (width > limits->max_side || height > limits->max_side)
    return td_error_set (err, TD_ERR_LIMIT, _("%s: %d×%d pixels is over the limit of %d per side"), name, width, height,
                         limits->max_side);
  if ((uint64_t) width * (uint64_t) height * 3u > limits->max_decoded_bytes)
    return td_error_set (err, TD_ERR_LIMIT, _("%s: %d×%d pixels would take more than %zu MiB to decode"), name, width,
                         height, limits->max_decoded_bytes >> 20);
  return TD_OK;
}

static td_status
load_memory (const void *data, size_t size, const char *name, const td_image_limits *limits, bool as_stored,
             td_image *out, td_error *err)
{
  static const uint8_t png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  td_image_limits defaults = td_image_limits_default ();
  memset (out, 0, sizeof *out);
  if (limits == NULL)
    limits = &defaults;
  const uint8_t *bytes = data;
  if (size >= 8 && memcmp (bytes, png_magic, 8) == 0)
    return td_image_decode_png (bytes, size, name, limits, as_stored, out, err);
  if (size >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff)
    return td_image_decode_jpeg (bytes, size, name, limits, as_stored, out, err);
  if (size == 0)
    return td_error_set (err, TD_ERR_FORMAT, _("%s: the file is empty"), name);
  return td_error_set (err, TD_ERR_UNSUPPORTED, _("%s: not a PNG or JPEG image"), name);
}

td_status
td_image_load_memory (const void *data, size_t size, const char *name, const td_image_limits *limits, td_image *out,
                      td_error *err)
{
  return load_memory (data, size, name, limits, false, out, err);
}

static td_status
load_file (const char *path, const td_image_limits *limits, bool as_stored, td_image *out, td_error *err)
{
  memset (out, 0, sizeof *out);
  g_autofree char *contents = NULL;
  size_t length = 0;
  td_status st = td_file_read_bounded (path, "image", TD_IMAGE_FILE_MAX_BYTES, &contents, &length, err);
  if (st != TD_OK)
    return st;
  return load_memory (contents, length, path, limits, as_stored, out, err);
}

td_status
td_image_load (const char *path, const td_image_limits *limits, td_image *out, td_error *err)
{
  return load_file (path, limits, false, out, err);
}

td_status
td_image_load_as_stored (const char *path, const td_image_limits *limits, td_image *out, td_error *err)
{
  return load_file (path, limits, true, out, err);
}

void
td_image_clear (td_image *image)
{
  g_free (image->rgb);
  memset (image, 0, sizeof *image);
}

void
td_image_text_free (td_image_text *text, size_t n_text)
{
  for (size_t i = 0; i < n_text; i++)
    {
      g_free (text[i].key);
      g_free (text[i].value);
    }
  g_free (text);
}

td_status
td_image_from_planar (const float *planar, int width, int height, td_image *out, td_error *err)
{
  td_image_limits limits = td_image_limits_default ();
  memset (out, 0, sizeof *out);
  td_status st = td_image_check_size ("image", width, height, &limits, err);
  if (st != TD_OK)
    return st;
  size_t plane = (size_t) width * height;
  out->rgb = g_try_malloc (plane * 3);
  if (out->rgb == NULL)
    return td_error_set (err, TD_ERR_NO_MEMORY, _("out of memory for a %d×%d image"), width, height);
  out->width = width;
  out->height = height;
  for (size_t p = 0; p < plane; p++)
    for (int c = 0; c < 3; c++)
      {
        float v = planar[c * plane + p] * 255.0f;
        v = v < 0.0f || isnan (v) ? 0.0f : v > 255.0f ? 255.0f : v;
        out->rgb[p * 3 + c] = (uint8_t) lrintf (v);
      }
  return TD_OK;
}

td_tensor *
td_image_to_tensor (const td_image *image, td_error *err)
{
  const int64_t shape[4] = { 1, 3, image->height, image->width };
  td_tensor *t = td_tensor_new (NULL, TD_F32, 4, shape, err);
  if (t == NULL)
    return NULL;
  float *planar = td_tensor_host_data (t);
  size_t plane = (size_t) image->width * image->height;
  for (size_t p = 0; p < plane; p++)
    for (int c = 0; c < 3; c++)
      planar[c * plane + p] = image->rgb[p * 3 + c] / 255.0f;
  return t;
}

td_status
td_image_apply_orientation (td_image *image, int orientation, td_error *err)
{
  if (orientation <= 1 || orientation > 8)
    return TD_OK;
  /* Orientations 5..8 swap the axes. */
  bool transpose = orientation >= 5;
  int w = image->width, h = image->height;
  int out_w = transpose ? h : w, out_h = transpose ? w : h;
  uint8_t *out = g_try_malloc ((size_t) w * h * 3);
  if (out == NULL)
    return td_error_set (err, TD_ERR_NO_MEMORY, _("out of memory rotating a %d×%d image"), w, h);
  for (int y = 0; y < out_h; y++)
    for (int x = 0; x < out_w; x++)
      {
        /* The stored pixel that lands at display position (x, y). */
        int sx, sy;
        switch (orientation)
          {
          case 2: sx = w - 1 - x; sy = y; break;                /* mirrored */
          case 3: sx = w - 1 - x; sy = h - 1 - y; break;        /* rotated 180° */
          case 4: sx = x; sy = h - 1 - y; break;                /* flipped */
          case 5: sx = y; sy = x; break;                        /* transposed */
          case 6: sx = y; sy = h - 1 - x; break;                /* rotate 90° clockwise to view */
          case 7: sx = w - 1 - y; sy = h - 1 - x; break;        /* transverse */
          default: sx = w - 1 - y; sy = x; break;               /* 8: rotate 90° anticlockwise */
          }
        memcpy (out + ((size_t) y * out_w + x) * 3, image->rgb + ((size_t) sy * w + sx) * 3, 3);
      }
  g_free (image->rgb);
  image->rgb = out;
  image->width = out_w;
  image->height = out_h;
  return TD_OK;
}
