/* random_models.h — the models with made-up weights of their real shapes, built in
 * memory without files: for benchmarks (random weights time the same as trained
 * ones) and for tests that only need the right shapes. */
#pragma once

#include <stdbool.h>

#include "models/aligner.h"
#include "models/flux_dit.h"
#include "models/flux_vae.h"
#include "models/qwen2vl.h"
#include "models/t5_encoder.h"

/* FLUX.1-dev: 19 double + 38 single blocks, 24 heads × 128, MLP ×4, guidance embedding. */
td_flux_config td_flux_config_dev (void);
/* The FLUX VAE: block_out_channels 128, 256, 512, 512, 2 layers per block, 32 groups, 16 latent channels. */
td_vae_config td_vae_config_flux (void);
/* T5 v1.1 XXL: 24 layers, d_model 4096, 64 heads × 64, d_ff 10240, gated GELU. */
td_t5_config td_t5_config_xxl (void);
/* Qwen2-VL-7B-Instruct: 28 layers, hidden 3584, 28 query and 4 key/value heads of 128,
 * MLP 18944, vocab 152064, M-RoPE sections 16/24/24; the vision tower 32 blocks of
 * 1280 (16 heads, MLP 5120, 14-pixel patches, 2×2 merger into 3584). */
td_qwen2vl_config td_qwen2vl_config_7b (void);
/* The same architectures scaled down to finish in seconds on a small CPU. */
td_flux_config td_flux_config_small (void);
td_vae_config td_vae_config_small (void);
td_t5_config td_t5_config_small (void);
/* Vocab 4096 with the special tokens at its top, 2 layers of 256, 2 vision blocks of 64. */
td_qwen2vl_config td_qwen2vl_config_small (void);

/* Declares every weight of the model, in diffusers/transformers key names, on random weights.
 * With a ggml block type (q8_0, q4_K, …) as dtype, the weights of linear layers whose
 * width is a whole number of blocks are in it and everything else is in bf16, as in
 * quantised checkpoints. */
td_status td_flux_dit_declare_weights (const td_flux_config *config, td_weights *weights, td_dtype dtype,
                                       td_error *err);
td_status td_flux_vae_declare_weights (const td_vae_config *config, td_weights *weights, td_dtype dtype,
                                       td_error *err);
td_status td_t5_encoder_declare_weights (const td_t5_config *config, td_weights *weights, td_dtype dtype,
                                         td_error *err);

/* The language model (transformers' names without "model.") and the vision tower ("visual."). */
td_status td_qwen2vl_declare_weights (const td_qwen2vl_config *config, td_weights *weights, td_dtype dtype,
                                      td_error *err);
/* ThinkDiff-LVLM's aligner from in_dim (the LVLM's width) to out_dim (T5's), bare names. */
td_status td_aligner_declare_weights (int in_dim, int out_dim, td_weights *weights, td_dtype dtype, td_error *err);

/* The benchmarks' Qwen2-VL prompt, as the PyTorch reference's "586 tokens with two 448²
 * images": ids[n] holding TD_QWEN2VL_BOARD_IMAGES still images of side × side pixels,
 * each a run of image tokens (side/patch)² / merge² long between vision start and end
 * tokens, with random text ids below every special token before (a fifth of the
 * text: the system turn) and after them; grids gets each image's (1, side/patch,
 * side/patch). Errors when side is not a multiple of patch · merge or n leaves no text. */
#define TD_QWEN2VL_BOARD_IMAGES 2
td_status td_qwen2vl_board_prompt (const td_qwen2vl_config *config, int n, int side, int32_t *ids,
                                   int (*grids)[3], td_error *err);

/* td_weights_new_random + declare + new_from_config. */
td_flux_dit *td_flux_dit_new_random (const td_flux_config *config, td_backend *backend, td_dtype dtype, uint64_t seed,
                                     td_error *err);
td_flux_vae *td_flux_vae_new_random (const td_vae_config *config, td_backend *backend, td_dtype dtype, uint64_t seed,
                                     td_error *err);
td_t5_encoder *td_t5_encoder_new_random (const td_t5_config *config, td_backend *backend, td_dtype dtype,
                                         uint64_t seed, td_error *err);
td_qwen2vl *td_qwen2vl_new_random (const td_qwen2vl_config *config, td_backend *backend, td_dtype dtype,
                                   uint64_t seed, td_error *err);
td_aligner *td_aligner_new_random (int in_dim, int out_dim, td_backend *backend, td_dtype dtype, uint64_t seed,
                                   td_error *err);
