/* thinkdiff_pipeline.h — the ThinkDiff method end to end: a prompt board is read by
 * Qwen2-VL (LVLM mode) or by BLIP-2's vision tower and T5 (CLIP mode), the aligner
 * maps the features into T5 space, and FLUX paints the image. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "pipeline/board.h"
#include "pipeline/model_paths.h"

typedef struct td_thinkdiff_callbacks {
  /* A short stage name: "reading images", "thinking", "encoding text", "denoising", "decoding". */
  void (*stage) (void *user, const char *stage);
  /* LVLM mode: each new piece of the generated "thought" text as it is sampled. */
  void (*thought) (void *user, const char *piece);
  /* Denoising step k of n (1-based), after the step. */
  void (*progress) (void *user, int step, int steps);
  /* Preview of the current estimate: RGB bytes, width × height. */
  void (*preview) (void *user, int step, int steps, const uint8_t *rgb, int width, int height);
  /* Set from any thread to cancel; checked between steps and stages. */
  const volatile int *cancel;
  void *user;
} td_thinkdiff_callbacks;

typedef struct td_thinkdiff_result {
  float *pixels;   /* [3, H, W] in [0, 1], planar (free()) */
  int width, height;
  char *thought;   /* LVLM mode: the generated text (g_free); NULL in CLIP mode */
} td_thinkdiff_result;

/* Runs the board on backend with the models found under paths. */
td_status td_thinkdiff_generate (const td_board *board, const td_model_paths *paths, td_backend *backend,
                                 const td_thinkdiff_callbacks *callbacks, td_thinkdiff_result *result,
                                 td_error *err);

/* Plain FLUX text-to-image with the board's settings and its joined text as the prompt. */
td_status td_thinkdiff_text_to_image (const char *prompt, const td_board_settings *settings, const char *flux_dir,
                                      td_backend *backend, const td_thinkdiff_callbacks *callbacks,
                                      td_thinkdiff_result *result, td_error *err);

/* The same with the models taken from cache (on its backend) and kept there when it
 * keeps them (pipeline/model_cache.h). */
typedef struct td_model_cache td_model_cache;
td_status td_thinkdiff_generate_cached (const td_board *board, const td_model_paths *paths, td_model_cache *cache,
                                        const td_thinkdiff_callbacks *callbacks, td_thinkdiff_result *result,
                                        td_error *err);
td_status td_thinkdiff_text_to_image_cached (const char *prompt, const td_board_settings *settings,
                                             const char *flux_dir, td_model_cache *cache,
                                             const td_thinkdiff_callbacks *callbacks, td_thinkdiff_result *result,
                                             td_error *err);

void td_thinkdiff_result_clear (td_thinkdiff_result *result);
