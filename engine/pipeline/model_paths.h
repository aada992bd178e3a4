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

/* The types and functions are public: see thinkdiff-models.h. */
