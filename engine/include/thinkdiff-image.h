/* thinkdiff-image.h — PNG and JPEG images: reading files users drop on a board
 * (untrusted: decoding is bounded, errors name the file) and writing results
 * with their settings as text chunks. Include thinkdiff.h, not this file.
 *
 * Every function here may be called from any thread. */
#pragma once

#ifndef TD_INSIDE_THINKDIFF_H
#error "Only <thinkdiff.h> can be included directly."
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_image {
  int width, height;
  uint8_t *rgb; /* width × height × 3 bytes, rows top to bottom */
} td_image;

typedef struct td_image_limits {
  int max_side;               /* 16384 */
  size_t max_decoded_bytes;   /* 256 MiB of RGB output */
  size_t max_text_bytes;      /* PNG text chunks, decompressed: 1 MiB */
  int max_jpeg_scans;         /* progressive scans: 256 */
} td_image_limits;

/* A PNG text chunk (UTF-8). */
typedef struct td_image_text {
  char *key;
  char *value;
} td_image_text;

/* The limits above; callers may lower them for untrusted files. */
TD_API td_image_limits td_image_limits_default (void);

/* Loads a PNG or JPEG (sniffed by its first bytes) into *out, which the caller
 * clears with td_image_clear. EXIF orientation is applied; alpha is composited
 * over white. limits NULL = defaults. */
TD_API td_status td_image_load (const char *path, const td_image_limits *limits, td_image *out, td_error *err);
TD_API td_status td_image_load_memory (const void *data, size_t size, const char *name,
                                       const td_image_limits *limits, td_image *out, td_error *err);
/* Frees image->rgb and zeroes the struct (only for images the engine filled). */
TD_API void td_image_clear (td_image *image);

/* Writes an 8-bit RGB PNG with text chunks (iTXt), atomically. text may be NULL. */
TD_API td_status td_image_save_png (const char *path, const td_image *image, const td_image_text *text,
                                    size_t n_text, td_error *err);
/* Writes a JPEG (quality 1..100) with an optional comment (COM marker), atomically. */
TD_API td_status td_image_save_jpeg (const char *path, const td_image *image, int quality, const char *comment,
                                     td_error *err);
/* The text chunks of a PNG (tEXt, zTXt, iTXt), bounded by limits (NULL = defaults).
 * Free *text with td_image_text_free. */
TD_API td_status td_image_png_text (const char *path, const td_image_limits *limits, td_image_text **text,
                                    size_t *n_text, td_error *err);
/* Frees the array td_image_png_text returned and its strings. */
TD_API void td_image_text_free (td_image_text *text, size_t n_text);

#ifdef __cplusplus
}
#endif
