/* image.h — PNG and JPEG images from files users drop on the board (untrusted),
 * and PNG/JPEG output with the generation settings embedded.
 *
 * Decoding is bounded: dimensions and decoded size are checked against limits
 * before any pixel buffer is allocated, PNG text chunks and JPEG scans are
 * bounded, and library errors come back as td_status (never exit()).
 * Every message starts with the file's name. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"

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

typedef struct td_image_text {
  char *key;
  char *value;
} td_image_text;

td_image_limits td_image_limits_default (void);

/* Loads a PNG or JPEG (sniffed by its first bytes). EXIF orientation is applied;
 * alpha is composited over white. limits NULL = defaults. */
td_status td_image_load (const char *path, const td_image_limits *limits, td_image *out, td_error *err);
td_status td_image_load_memory (const void *data, size_t size, const char *name, const td_image_limits *limits,
                                td_image *out, td_error *err);
/* As PIL's Image.open(path).convert("RGB") reads it (the official ThinkDiff code): the
 * stored pixels with no EXIF rotation, and alpha dropped rather than composited. */
td_status td_image_load_as_stored (const char *path, const td_image_limits *limits, td_image *out, td_error *err);
void td_image_clear (td_image *image);

/* Writes 8-bit RGB PNG with text chunks (UTF-8 values, iTXt), atomically. text may be NULL. */
td_status td_image_save_png (const char *path, const td_image *image, const td_image_text *text, size_t n_text,
                             td_error *err);
/* Writes a JPEG (quality 1..100) with an optional comment (COM marker), atomically. */
td_status td_image_save_jpeg (const char *path, const td_image *image, int quality, const char *comment,
                              td_error *err);
/* The text chunks of a PNG (tEXt, zTXt, iTXt), bounded by limits. Free with td_image_text_free. */
td_status td_image_png_text (const char *path, const td_image_limits *limits, td_image_text **text, size_t *n_text,
                             td_error *err);
void td_image_text_free (td_image_text *text, size_t n_text);

/* Planar f32 [3, H, W] in [0, 1] → bytes (rounded, clamped), and back as a [1, 3, H, W] host tensor. */
td_status td_image_from_planar (const float *planar, int width, int height, td_image *out, td_error *err);
td_tensor *td_image_to_tensor (const td_image *image, td_error *err);

