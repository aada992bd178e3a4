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

/* td_image, td_image_limits, td_image_text and loading/saving are public: see thinkdiff-image.h. */

/* As PIL's Image.open(path).convert("RGB") reads it (the official ThinkDiff code): the
 * stored pixels with no EXIF rotation, and alpha dropped rather than composited. */
td_status td_image_load_as_stored (const char *path, const td_image_limits *limits, td_image *out, td_error *err);

/* Planar f32 [3, H, W] in [0, 1] → bytes (rounded, clamped), and back as a [1, 3, H, W] host tensor. */
td_status td_image_from_planar (const float *planar, int width, int height, td_image *out, td_error *err);
td_tensor *td_image_to_tensor (const td_image *image, td_error *err);

