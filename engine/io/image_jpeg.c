/* JPEG decoding and encoding with libjpeg-turbo, bounded for untrusted files. */
#include "io/image_private.h"

#include <glib.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <string.h>

typedef struct {
  struct jpeg_error_mgr base;
  struct jpeg_progress_mgr progress;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX + 64];
  int max_scans;
  bool over_limit;
} jpeg_context;

static void
on_jpeg_error (j_common_ptr cinfo)
{
  jpeg_context *ctx = (jpeg_context *) cinfo->err;
  cinfo->err->format_message (cinfo, ctx->message);
  longjmp (ctx->jump, 1);
}

static void
on_jpeg_message (j_common_ptr cinfo)
{
  /* Corrupt-data warnings are not printed; a broken file still decodes what it can. */
}

/* Progressive files with hundreds of scans cost time quadratic in their size: cap them,
 * as libjpeg-turbo's own tools do. */
static void
on_jpeg_progress (j_common_ptr cinfo)
{
  jpeg_context *ctx = (jpeg_context *) cinfo->err;
  if (cinfo->is_decompressor && ((j_decompress_ptr) cinfo)->input_scan_number > ctx->max_scans)
    {
      ctx->over_limit = true;
      snprintf (ctx->message, sizeof ctx->message, "more than %d progressive scans", ctx->max_scans);
      longjmp (ctx->jump, 1);
    }
}

static void
cmyk_to_rgb (const uint8_t *cmyk, uint8_t *rgb, int width, bool inverted)
{
  for (int x = 0; x < width; x++)
    {
      unsigned c = cmyk[x * 4], m = cmyk[x * 4 + 1], y = cmyk[x * 4 + 2], k = cmyk[x * 4 + 3];
      if (!inverted)
        {
          c = 255 - c;
          m = 255 - m;
          y = 255 - y;
          k = 255 - k;
        }
      /* Adobe files store inverted CMYK: each channel times the key gives the colour. */
      rgb[x * 3] = (uint8_t) ((c * k + 127) / 255);
      rgb[x * 3 + 1] = (uint8_t) ((m * k + 127) / 255);
      rgb[x * 3 + 2] = (uint8_t) ((y * k + 127) / 255);
    }
}

static int
find_orientation (j_decompress_ptr cinfo)
{
  for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != NULL; m = m->next)
    if (m->marker == JPEG_APP0 + 1)
      {
        int orientation = td_image_exif_orientation (m->data, m->data_length);
        if (orientation != 1)
          return orientation;
      }
  return 1;
}

td_status
td_image_decode_jpeg (const uint8_t *data, size_t size, const char *name, const td_image_limits *limits,
                      bool as_stored, td_image *out, td_error *err)
{
  struct jpeg_decompress_struct cinfo;
  jpeg_context ctx = { .max_scans = limits->max_jpeg_scans };
  uint8_t *volatile row = NULL;
  cinfo.err = jpeg_std_error (&ctx.base);
  ctx.base.error_exit = on_jpeg_error;
  ctx.base.output_message = on_jpeg_message;
  if (setjmp (ctx.jump))
    {
      g_free (row);
      jpeg_destroy_decompress (&cinfo);
      td_image_clear (out);
      return td_error_set (err, ctx.over_limit ? TD_ERR_LIMIT : TD_ERR_FORMAT, "%s: bad JPEG: %s", name,
                           ctx.message);
    }
  jpeg_create_decompress (&cinfo);
  ctx.progress.progress_monitor = on_jpeg_progress;
  cinfo.progress = &ctx.progress;
  cinfo.mem->max_memory_to_use = (long) (limits->max_decoded_bytes * 2);
  jpeg_mem_src (&cinfo, data, (unsigned long) size);
  jpeg_save_markers (&cinfo, JPEG_APP0 + 1, 0xffff);
  jpeg_read_header (&cinfo, TRUE);

  td_status st = td_image_check_size (name, (int) cinfo.image_width, (int) cinfo.image_height, limits, err);
  if (st != TD_OK)
    {
      jpeg_destroy_decompress (&cinfo);
      return st;
    }
  bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  bool inverted = cinfo.saw_Adobe_marker;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  int orientation = as_stored ? 1 : find_orientation (&cinfo);
  jpeg_start_decompress (&cinfo);
  int width = (int) cinfo.output_width, height = (int) cinfo.output_height;
  out->rgb = g_try_malloc ((size_t) width * height * 3);
  row = g_try_malloc ((size_t) width * 4);
  if (out->rgb == NULL || row == NULL)
    {
      snprintf (ctx.message, sizeof ctx.message, "out of memory for %d×%d pixels", width, height);
      longjmp (ctx.jump, 1);
    }
  while (cinfo.output_scanline < cinfo.output_height)
    {
      uint8_t *target = out->rgb + (size_t) cinfo.output_scanline * width * 3;
      JSAMPROW rows[1] = { cmyk ? row : target };
      jpeg_read_scanlines (&cinfo, rows, 1);
      if (cmyk)
        cmyk_to_rgb (row, target, width, inverted);
    }
  jpeg_finish_decompress (&cinfo);
  jpeg_destroy_decompress (&cinfo);
  g_free (row);
  out->width = width;
  out->height = height;
  return td_image_apply_orientation (out, orientation, err);
}

typedef struct {
  const td_image *image;
  int quality;
  const char *comment;
} jpeg_job;

static td_status
write_jpeg (FILE *file, const char *path, const void *data, td_error *err)
{
  const jpeg_job *job = data;
  struct jpeg_compress_struct cinfo;
  jpeg_context ctx = { 0 };
  cinfo.err = jpeg_std_error (&ctx.base);
  ctx.base.error_exit = on_jpeg_error;
  ctx.base.output_message = on_jpeg_message;
  if (setjmp (ctx.jump))
    {
      jpeg_destroy_compress (&cinfo);
      return td_error_set (err, TD_ERR_IO, "%s: %s", path, ctx.message);
    }
  jpeg_create_compress (&cinfo);
  jpeg_stdio_dest (&cinfo, file);
  cinfo.image_width = (JDIMENSION) job->image->width;
  cinfo.image_height = (JDIMENSION) job->image->height;
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults (&cinfo);
  jpeg_set_quality (&cinfo, job->quality, TRUE);
  jpeg_start_compress (&cinfo, TRUE);
  if (job->comment != NULL)
    jpeg_write_marker (&cinfo, JPEG_COM, (const JOCTET *) job->comment, (unsigned) strlen (job->comment));
  while (cinfo.next_scanline < cinfo.image_height)
    {
      JSAMPROW rows[1] = { job->image->rgb + (size_t) cinfo.next_scanline * job->image->width * 3 };
      jpeg_write_scanlines (&cinfo, rows, 1);
    }
  jpeg_finish_compress (&cinfo);
  jpeg_destroy_compress (&cinfo);
  return TD_OK;
}

td_status
td_image_save_jpeg (const char *path, const td_image *image, int quality, const char *comment, td_error *err)
{
  if (quality < 1 || quality > 100)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: JPEG quality %d is outside 1..100", path, quality);
  if (comment != NULL && strlen (comment) > 65533)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: a JPEG comment holds at most 65533 bytes", path);
  jpeg_job job = { image, quality, comment };
  return td_image_write_atomically (path, write_jpeg, &job, err);
}
