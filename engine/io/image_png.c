/* PNG decoding and encoding with libpng, bounded for untrusted files. */
#include "io/image_private.h"
#include "io/file_read.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  const char *name;
  char message[256];
  const uint8_t *data;
  size_t size, offset;
} png_context;

static void
on_png_error (png_structp png, png_const_charp message)
{
  png_context *ctx = png_get_error_ptr (png);
  snprintf (ctx->message, sizeof ctx->message, "%s", message);
  png_longjmp (png, 1);
}

static void
on_png_warning (png_structp png, png_const_charp message)
{
  /* Warnings (a bad ancillary chunk, say) do not stop decoding and are not printed. */
}

static void
read_from_memory (png_structp png, png_bytep out, size_t length)
{
  png_context *ctx = png_get_io_ptr (png);
  if (length > ctx->size - ctx->offset)
    png_error (png, "the file ends early (truncated)");
  memcpy (out, ctx->data + ctx->offset, length);
  ctx->offset += length;
}

/* Bounds on every chunk libpng buffers, decompressed text included. Dimensions keep
 * libpng's own ceiling; ours is checked after the header with a clearer message. */
static void
set_limits (png_structp png, const td_image_limits *limits)
{
  png_set_chunk_cache_max (png, 256);
  png_set_chunk_malloc_max (png, limits->max_text_bytes + 65536);
}

/* Decoded RGBA → RGB as stored, whatever the alpha (PIL's RGBA → RGB conversion). */
static void
drop_alpha (const uint8_t *rgba, uint8_t *rgb, size_t pixels)
{
  for (size_t p = 0; p < pixels; p++)
    for (int c = 0; c < 3; c++)
      rgb[p * 3 + c] = rgba[p * 4 + c];
}

/* Decoded RGBA over white → RGB. */
static void
composite_over_white (const uint8_t *rgba, uint8_t *rgb, size_t pixels)
{
  for (size_t p = 0; p < pixels; p++)
    {
      unsigned alpha = rgba[p * 4 + 3];
      for (int c = 0; c < 3; c++)
        rgb[p * 3 + c] = (uint8_t) ((rgba[p * 4 + c] * alpha + 255u * (255u - alpha) + 127u) / 255u);
    }
}

/* Walks the chunk list first: a chunk claiming more bytes than the file holds would
 * otherwise make libpng allocate its claimed size before finding the file short. */
static td_status
check_chunk_lengths (const uint8_t *data, size_t size, const char *name, td_error *err)
{
  size_t offset = 8;
  while (offset + 8 <= size)
    {
      uint32_t length = (uint32_t) data[offset] << 24 | (uint32_t) data[offset + 1] << 16
                        | (uint32_t) data[offset + 2] << 8 | data[offset + 3];
      char type[5] = { 0 };
      for (int i = 0; i < 4; i++)
        type[i] = g_ascii_isalpha (data[offset + 4 + i]) ? (char) data[offset + 4 + i] : '?';
      if (length > 0x7fffffffu || length > size - offset - 8 || size - offset - 8 - length < 4)
        return td_error_set (err, TD_ERR_FORMAT, "%s: bad PNG: chunk '%s' claims %u bytes but the file ends "
                             "before them (truncated or corrupt)", name, type, length);
      if (memcmp (type, "IEND", 4) == 0)
        return TD_OK;
      offset += (size_t) length + 12;
    }
  return td_error_set (err, TD_ERR_FORMAT, "%s: bad PNG: the file ends early (truncated)", name);
}

td_status
td_image_decode_png (const uint8_t *data, size_t size, const char *name, const td_image_limits *limits,
                     bool as_stored, td_image *out, td_error *err)
{
  td_status checked = check_chunk_lengths (data, size, name, err);
  if (checked != TD_OK)
    return checked;
  png_context ctx = { .name = name, .data = data, .size = size };
  png_structp png = png_create_read_struct (PNG_LIBPNG_VER_STRING, &ctx, on_png_error, on_png_warning);
  png_infop info = png ? png_create_info_struct (png) : NULL;
  /* volatile: these change after setjmp and are read after a longjmp. */
  uint8_t *volatile rgba = NULL;
  png_bytep *volatile rows = NULL;
  if (info == NULL)
    {
      png_destroy_read_struct (&png, NULL, NULL);
      return td_error_set (err, TD_ERR_NO_MEMORY, "%s: out of memory starting the PNG decoder", name);
    }
  if (setjmp (png_jmpbuf (png)))
    {
      g_free (rgba);
      g_free (rows);
      png_destroy_read_struct (&png, &info, NULL);
      td_image_clear (out);
      if (strstr (ctx.message, "exceeds") != NULL || strstr (ctx.message, "too large") != NULL
          || strstr (ctx.message, "limit") != NULL)
        return td_error_set (err, TD_ERR_LIMIT, "%s: %s", name, ctx.message);
      return td_error_set (err, TD_ERR_FORMAT, "%s: bad PNG: %s", name, ctx.message);
    }
  png_set_read_fn (png, &ctx, read_from_memory);
  set_limits (png, limits);
  png_read_info (png, info);

  png_uint_32 width = png_get_image_width (png, info), height = png_get_image_height (png, info);
  td_status st = td_image_check_size (name, (int) width, (int) height, limits, err);
  if (st != TD_OK)
    {
      png_destroy_read_struct (&png, &info, NULL);
      return st;
    }
  /* Everything becomes 8-bit RGBA: palettes and low bit depths expanded, 16 bits scaled. */
  png_set_expand (png);
  png_set_scale_16 (png);
  png_set_gray_to_rgb (png);
  png_set_filler (png, 0xff, PNG_FILLER_AFTER);
  png_set_interlace_handling (png);
  png_read_update_info (png, info);
  if (png_get_rowbytes (png, info) != (size_t) width * 4)
    png_error (png, "unexpected row layout after conversion");

  rgba = g_try_malloc ((size_t) width * height * 4);
  rows = g_try_malloc (height * sizeof *rows);
  out->rgb = g_try_malloc ((size_t) width * height * 3);
  if (rgba == NULL || rows == NULL || out->rgb == NULL)
    png_error (png, "out of memory for the pixels");
  for (png_uint_32 y = 0; y < height; y++)
    rows[y] = rgba + (size_t) y * width * 4;
  png_read_image (png, rows);
  if (as_stored)
    drop_alpha (rgba, out->rgb, (size_t) width * height);
  else
    composite_over_white (rgba, out->rgb, (size_t) width * height);
  out->width = (int) width;
  out->height = (int) height;
  g_free (rgba);
  g_free (rows);
  png_destroy_read_struct (&png, &info, NULL);
  return TD_OK;
}

td_status
td_image_png_text (const char *path, const td_image_limits *given_limits, td_image_text **text, size_t *n_text,
                   td_error *err)
{
  /* A local copy: its address is taken, so it survives the decoder's longjmp. */
  td_image_limits bounds = given_limits != NULL ? *given_limits : td_image_limits_default ();
  const td_image_limits *limits = &bounds;
  *text = NULL;
  *n_text = 0;
  g_autofree char *contents = NULL;
  size_t length = 0;
  td_status read = td_file_read_bounded (path, "image", TD_IMAGE_FILE_MAX_BYTES, &contents, &length, err);
  if (read != TD_OK)
    return read;
  static const uint8_t magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  if (length < 8 || memcmp (contents, magic, 8) != 0)
    return td_error_set (err, TD_ERR_FORMAT, "%s: not a PNG file", path);

  png_context ctx = { .name = path, .data = (const uint8_t *) contents, .size = length };
  png_structp png = png_create_read_struct (PNG_LIBPNG_VER_STRING, &ctx, on_png_error, on_png_warning);
  png_infop info = png ? png_create_info_struct (png) : NULL;
  if (info == NULL)
    {
      png_destroy_read_struct (&png, NULL, NULL);
      return td_error_set (err, TD_ERR_NO_MEMORY, "%s: out of memory", path);
    }
  if (setjmp (png_jmpbuf (png)))
    {
      png_destroy_read_struct (&png, &info, NULL);
      return td_error_set (err, TD_ERR_FORMAT, "%s: bad PNG: %s", path, ctx.message);
    }
  png_set_read_fn (png, &ctx, read_from_memory);
  set_limits (png, limits);
  /* Text before the image data (where the writer below puts it). */
  png_read_info (png, info);
  png_textp chunks = NULL;
  int count = png_get_text (png, info, &chunks, NULL);
  td_image_text *result = g_new0 (td_image_text, count > 0 ? count : 1);
  size_t total = 0;
  for (int i = 0; i < count; i++)
    {
      size_t value_length = chunks[i].itxt_length > 0 ? chunks[i].itxt_length : chunks[i].text_length;
      total += value_length;
      if (total > limits->max_text_bytes)
        {
          td_image_text_free (result, (size_t) i);
          png_destroy_read_struct (&png, &info, NULL);
          return td_error_set (err, TD_ERR_LIMIT, "%s: the text chunks are larger than %zu bytes", path,
                               limits->max_text_bytes);
        }
      result[i].key = g_strdup (chunks[i].key);
      result[i].value = g_strndup (chunks[i].text, value_length);
    }
  png_destroy_read_struct (&png, &info, NULL);
  *text = result;
  *n_text = (size_t) (count > 0 ? count : 0);
  return TD_OK;
}

td_status
td_image_write_atomically (const char *path, td_image_write_fn fn, const void *data, td_error *err)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *template = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  /* 0666 so the file gets the user's umask like any other new file. */
  int fd = g_mkstemp_full (template, O_RDWR, 0666);
  if (fd < 0)
    return td_error_set (err, TD_ERR_IO, "%s: cannot create a file in %s: %s", path, dir, g_strerror (errno));
  FILE *file = fdopen (fd, "wb");
  if (file == NULL)
    {
      close (fd);
      g_unlink (template);
      return td_error_set (err, TD_ERR_IO, "%s: cannot write", path);
    }
  td_status st = fn (file, path, data, err);
  if (st == TD_OK && (fflush (file) != 0 || fsync (fileno (file)) != 0))
    st = td_error_set (err, TD_ERR_IO, "%s: writing failed (disk full?)", path);
  if (fclose (file) != 0 && st == TD_OK)
    st = td_error_set (err, TD_ERR_IO, "%s: writing failed", path);
  if (st == TD_OK && g_rename (template, path) != 0)
    st = td_error_set (err, TD_ERR_IO, "%s: cannot replace the file: %s", path, g_strerror (errno));
  if (st != TD_OK)
    g_unlink (template);
  return st;
}

typedef struct {
  const td_image *image;
  const td_image_text *text;
  size_t n_text;
} png_job;

static td_status
write_png (FILE *file, const char *path, const void *data, td_error *err)
{
  const png_job *job = data;
  png_context ctx = { .name = path };
  png_structp png = png_create_write_struct (PNG_LIBPNG_VER_STRING, &ctx, on_png_error, on_png_warning);
  png_infop info = png ? png_create_info_struct (png) : NULL;
  png_textp volatile chunks = NULL;
  if (info == NULL)
    {
      png_destroy_write_struct (&png, NULL);
      return td_error_set (err, TD_ERR_NO_MEMORY, "%s: out of memory", path);
    }
  if (setjmp (png_jmpbuf (png)))
    {
      g_free (chunks);
      png_destroy_write_struct (&png, &info);
      return td_error_set (err, TD_ERR_IO, "%s: %s", path, ctx.message);
    }
  png_init_io (png, file);
  png_set_IHDR (png, info, (png_uint_32) job->image->width, (png_uint_32) job->image->height, 8, PNG_COLOR_TYPE_RGB,
                PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (job->n_text > 0)
    {
      chunks = g_new0 (png_text, job->n_text);
      for (size_t i = 0; i < job->n_text; i++)
        {
          chunks[i].compression = PNG_ITXT_COMPRESSION_NONE;
          chunks[i].key = job->text[i].key;
          chunks[i].text = job->text[i].value;
          chunks[i].itxt_length = strlen (job->text[i].value);
        }
      png_set_text (png, info, chunks, (int) job->n_text);
    }
  png_write_info (png, info);
  for (int y = 0; y < job->image->height; y++)
    png_write_row (png, job->image->rgb + (size_t) y * job->image->width * 3);
  png_write_end (png, NULL);
  g_free (chunks);
  png_destroy_write_struct (&png, &info);
  return TD_OK;
}

td_status
td_image_save_png (const char *path, const td_image *image, const td_image_text *text, size_t n_text, td_error *err)
{
  for (size_t i = 0; i < n_text; i++)
    {
      size_t key_length = strlen (text[i].key);
      if (key_length < 1 || key_length > 79 || !g_utf8_validate (text[i].value, -1, NULL))
        return td_error_set (err, TD_ERR_INVALID_ARG, "%s: text key '%s' must be 1–79 bytes and its value UTF-8",
                             path, text[i].key);
    }
  png_job job = { image, text, n_text };
  return td_image_write_atomically (path, write_png, &job, err);
}
