/* qwen2vl_image.h — Qwen2-VL image preprocessing, as transformers' Qwen2VLImageProcessor
 * computes it: resize to a multiple of patch × merge within a pixel budget (smart_resize),
 * bicubic resampling of the 8-bit image (result rounded back to 8 bits), rescale to [0, 1],
 * CLIP mean/std normalisation, the still frame repeated temporal_patch_size times, and
 * patches flattened in the order the vision tower reads them (2×2 merge blocks together).
 */
#pragma once

#include <stdint.h>

#include "thinkdiff.h"

typedef struct td_qwen2vl_image_params {
  int64_t min_pixels;      /* 3136 (56·56) by default */
  int64_t max_pixels;      /* 12845056 (28·28·16384) by default */
  int patch_size;          /* 14 */
  int temporal_patch_size; /* 2 */
  int merge_size;          /* 2 */
  float mean[3];           /* OPENAI_CLIP_MEAN */
  float std[3];            /* OPENAI_CLIP_STD */
} td_qwen2vl_image_params;

/* The processor's defaults (Qwen2-VL-7B-Instruct's preprocessor_config.json). */
void td_qwen2vl_image_params_default (td_qwen2vl_image_params *params);

/* The defaults overridden by the model folder's preprocessor_config.json when it is
 * there: min_pixels / max_pixels (or size.shortest_edge / size.longest_edge, as newer
 * transformers writes them), patch_size, temporal_patch_size, merge_size,
 * image_mean, image_std. Errors name the file and key. */
td_status td_qwen2vl_image_params_read (const char *model_dir, td_qwen2vl_image_params *params, td_error *err);

/* The size an image of height × width is resized to: both sides multiples of factor,
 * the area within [min_pixels, max_pixels], the aspect ratio kept as well as that allows.
 * Rejects empty images and aspect ratios over 200. */
td_status td_qwen2vl_smart_resize (int height, int width, int factor, int64_t min_pixels, int64_t max_pixels,
                                   int *out_height, int *out_width, td_error *err);

/* The patch grid (t, h, w) an image of this size becomes; t is 1 for a still image. */
td_status td_qwen2vl_image_grid (int height, int width, const td_qwen2vl_image_params *params, int grid_thw[3],
                                 td_error *err);

/* rgb: height × width × 3 bytes, row-major. On success *pixel_values (free()) holds
 * [t·h·w, 3·temporal_patch_size·patch_size²] floats and grid_thw the grid. */
td_status td_qwen2vl_image_preprocess (const uint8_t *rgb, int height, int width,
                                       const td_qwen2vl_image_params *params, float **pixel_values, int grid_thw[3],
                                       td_error *err);
