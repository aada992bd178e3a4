/* eva_vision.h — BLIP-2's EVA ViT-g/14 vision tower (Salesforce/blip2-flan-t5-xxl,
 * keys vision_model.*) and ThinkDiff-CLIP's token reduction: keep CLS, bilinearly
 * downsample the patch grid by 2, CLS first (257 → 65 tokens at 224 px). */
#pragma once

#include <stdint.h>

#include "backend/backend.h"
#include "models/block_stream.h"

typedef struct td_eva_config {
  int hidden_size;
  int intermediate_size;
  int num_heads;
  int num_layers;
  int image_size;
  int patch_size;
  float eps;
  int activation; /* td_unary_kind */
} td_eva_config;

typedef struct td_eva_vision td_eva_vision;

/* dir holds config.json (a Blip2Config with vision_config, or a vision config) and the
 * weights (the full BLIP-2 checkpoint or just its vision_model.* tensors). */
td_eva_vision *td_eva_vision_load (const char *dir, td_backend *backend, td_error *err);
/* The same with the weights of file, one of td_weight_folder_choices (dir) (a GGUF
 * `thinkdiff quantize` wrote beside the checkpoint); NULL: the default, the first. */
td_eva_vision *td_eva_vision_load_chosen (const char *dir, const char *file, td_backend *backend, td_error *err);
void td_eva_vision_free (td_eva_vision *model);
/* Keeps the first `resident` encoder layers on the device and streams the others
 * (block_stream.h); TD_BLOCKS_ALL (the default) streams none. */
td_weights *td_eva_vision_weights (td_eva_vision *model);
void td_eva_vision_set_resident_blocks (td_eva_vision *model, int resident);
int td_eva_vision_resident_blocks (const td_eva_vision *model);
const td_eva_config *td_eva_vision_config (const td_eva_vision *model);

/* pixel_values [1, 3, S, S] → last_hidden_state [1, 1 + (S/14)², hidden] (after post_layernorm). */
td_tensor *td_eva_vision_forward (td_eva_vision *model, const td_tensor *pixel_values, td_error *err);

/* [1, 1 + g², C] → [1, 1 + (g/factor)², C]: CLS kept first, the g×g grid resized bilinearly. */
td_tensor *td_eva_downsample_tokens (td_backend *backend, const td_tensor *hidden, int factor, td_error *err);

/* RGB bytes [h, w, 3] → pixel_values [1, 3, size, size]: PIL-style bicubic resize to size²,
 * rounded to bytes as PIL does, then rescaled to [0, 1] and normalised with CLIP's mean/std. */
td_tensor *td_eva_preprocess (td_backend *backend, const uint8_t *rgb, int width, int height, int size,
                              td_error *err);
