/* flux_dit.h — the FLUX.1 transformer (double- and single-stream blocks, AdaLN
 * modulation, QK RMS norm, 3-axis rotary positions), from the diffusers folder
 * (transformer/) or a Black Forest Labs single file (flux1-dev.safetensors). */
#pragma once

#include <stdbool.h>

#include "backend/backend.h"
#include "models/block_stream.h"
#include "models/weights.h"

typedef struct td_flux_config {
  int in_channels;          /* 64: 16 latent channels × 2×2 packing */
  int out_channels;
  int num_layers;           /* double-stream blocks (19) */
  int num_single_layers;    /* single-stream blocks (38) */
  int head_dim;             /* 128 */
  int num_heads;            /* 24 */
  int joint_attention_dim;  /* 4096: T5 width */
  int pooled_projection_dim;/* 768: CLIP-L width */
  int mlp_ratio_x100;       /* 400 */
  bool guidance_embeds;     /* FLUX.1-dev yes, schnell no */
  int axes_dim[3];          /* 16, 56, 56 */
  int theta;                /* 10000 */
} td_flux_config;

typedef struct td_flux_dit td_flux_dit;

/* path: a diffusers transformer folder (config.json + weights) or a BFL single file. */
td_flux_dit *td_flux_dit_load (const char *path, td_backend *backend, td_error *err);
/* A model over weights in diffusers key layout (e.g. td_weights_new_random with the
 * shapes from random_models.h), without a config.json; takes ownership of weights. */
td_flux_dit *td_flux_dit_new_from_config (const td_flux_config *config, td_weights *weights, td_error *err);
void td_flux_dit_free (td_flux_dit *model);
const td_flux_config *td_flux_dit_config (const td_flux_dit *model);
/* Streamed: each block's weights are uploaded just before the block before it runs and
 * freed after their block, so at most two blocks are on the device (for a model that does
 * not fit). The results are the same either way. */
/* Keeps the first `resident` of the transformer's blocks (double blocks first, then
 * single) on the device and streams the others (see block_stream.h); TD_BLOCKS_ALL
 * (the default) streams none, 0 streams every block. */
void td_flux_dit_set_resident_blocks (td_flux_dit *model, int resident);
int td_flux_dit_resident_blocks (const td_flux_dit *model);
/* The dtype the checkpoint stores its matrices in. */
td_dtype td_flux_dit_stored_dtype (td_flux_dit *model);

/* Rotary tables for the joint sequence: txt_ids [L, 3] then img_ids [N, 3] (f32 host
 * arrays). Returns cos and sin [L + N, head_dim / 2] on the model's backend. */
td_status td_flux_dit_rope (td_flux_dit *model, const float *txt_ids, int n_txt, const float *img_ids, int n_img,
                            td_tensor **cos, td_tensor **sin, td_error *err);

/* One call: latents [1, N, in_channels], txt [1, L, joint_attention_dim],
 * pooled [1, pooled_projection_dim]; timestep and guidance as the pipeline passes
 * them (sigma-scale, the model multiplies by 1000). Returns [1, N, out_channels]. */
td_tensor *td_flux_dit_forward (td_flux_dit *model, const td_tensor *latents, const td_tensor *txt,
                                const td_tensor *pooled, float timestep, float guidance, const td_tensor *rope_cos,
                                const td_tensor *rope_sin, td_error *err);
