/* model_paths.h — where each model lives under a models folder.
 *
 * The layout is the one `thinkdiff models pull` writes (one folder per catalogue
 * component) and `thinkdiff make-demo-models` imitates:
 *   flux-dev/ or flux-schnell/   diffusers FLUX (model_index.json, transformer/, vae/,
 *                                text_encoder/, text_encoder_2/, tokenizer/, tokenizer_2/)
 *   qwen2-vl-7b-instruct/        Qwen2-VL (config.json, *.safetensors, tokenizer.json)
 *   blip2-vision/                BLIP-2 (config.json, the shards with vision_model.*)
 *   thinkdiff-lvlm/, thinkdiff-clip/   the aligners (*.pth or *.safetensors, any depth)
 *   taef1/                       the tiny preview decoder
 * A folder that itself holds model_index.json is taken as the FLUX folder, and so is
 * one holding FLUX as single files (ComfyUI's models/ tree or one folder of
 * flux1-*.safetensors, ae.safetensors, clip_l.safetensors, t5xxl_*.safetensors; see
 * flux_files.h); the other parts are then looked for in the same folder. */
#pragma once

#include <stdbool.h>

#include "thinkdiff.h"

typedef enum td_model_part {
  TD_PART_FLUX,
  TD_PART_QWEN2VL,
  TD_PART_BLIP2_VISION,
  TD_PART_ALIGNER_LVLM,
  TD_PART_ALIGNER_CLIP,
  TD_PART_TAEF1,
  TD_PART_COUNT
} td_model_part;

typedef struct td_model_paths {
  char *path[TD_PART_COUNT];   /* folder or file; NULL when missing */
  char *missing[TD_PART_COUNT]; /* why it is missing ("no flux-dev/ or flux-schnell/ folder") */
} td_model_paths;

/* Looks under root; never fails for missing parts (see missing[]), only for an unreadable root. */
td_status td_model_paths_find (const char *root, td_model_paths *paths, td_error *err);
void td_model_paths_clear (td_model_paths *paths);
const char *td_model_part_title (td_model_part part);
/* The `thinkdiff models pull` bundle that provides a part. */
const char *td_model_part_bundle (td_model_part part);
/* Checks that the parts a mode needs are present (LVLM: FLUX, Qwen2-VL, LVLM aligner;
 * CLIP: FLUX, BLIP-2 vision, CLIP aligner); the error says what to download. */
td_status td_model_paths_require (const td_model_paths *paths, bool lvlm, td_error *err);
