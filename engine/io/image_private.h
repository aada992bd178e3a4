/* image_private.h — shared by the PNG, JPEG and EXIF parts of the image module. */
#pragma once

/* Larger files are not images we can decode within the pixel limits. */
#define TD_IMAGE_FILE_MAX_BYTES ((size_t) 512 << 20)

#include <stdbool.h>
#include <stdio.h>

#include "io/image.h"

td_status td_image_check_size (const char *name, int width, int height, const td_image_limits *limits,
                               td_error *err);
/* as_stored: no EXIF rotation, alpha dropped (PIL's convert("RGB")) instead of over white. */
td_status td_image_decode_png (const uint8_t *data, size_t size, const char *name, const td_image_limits *limits,
                               bool as_stored, td_image *out, td_error *err);
td_status td_image_decode_jpeg (const uint8_t *data, size_t size, const char *name, const td_image_limits *limits,
                                bool as_stored, td_image *out, td_error *err);
/* The EXIF orientation (1..8) in a JPEG's APP1 segment payload, or 1 when absent or malformed. */
int td_image_exif_orientation (const uint8_t *app1, size_t size);
/* Rotates/flips in place so the image displays upright. */
td_status td_image_apply_orientation (td_image *image, int orientation, td_error *err);

/* Writes with fn into a temporary file beside path, then renames it over path. */
typedef td_status (*td_image_write_fn) (FILE *file, const char *path, const void *data, td_error *err);
td_status td_image_write_atomically (const char *path, td_image_write_fn fn, const void *data, td_error *err);
