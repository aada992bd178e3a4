/* flux_vae.h — FLUX's 16-channel AutoencoderKL (diffusers layout, vae/ folder):
 * decoder for the final image and encoder for image-to-latent. */
#pragma once

#include "backend/backend.h"
#include "models/weights.h"

#define TD_VAE_MAX_LEVELS 8

typedef struct td_vae_config {
  int in_channels;      /* 3 */
  int out_channels;     /* 3 */
  int latent_channels;  /* 16 */
  int levels;           /* len(block_out_channels) */
  int block_out_channels[TD_VAE_MAX_LEVELS];
  int layers_per_block;
  int norm_num_groups;
  int mid_attention;
  float scaling_factor; /* 0.3611 */
  float shift_factor;   /* 0.1159 */
} td_vae_config;

typedef struct td_flux_vae td_flux_vae;

/* dir: diffusers' vae/ folder (config.json and weights), or BFL's single file
 * ae.safetensors (see flux_vae_bfl.h). */
td_flux_vae *td_flux_vae_load (const char *dir, td_backend *backend, td_error *err);
/* A VAE over weights in diffusers key layout, without a config.json; takes ownership of weights. */
td_flux_vae *td_flux_vae_new_from_config (const td_vae_config *config, td_weights *weights, td_error *err);
void td_flux_vae_free (td_flux_vae *vae);
const td_vae_config *td_flux_vae_config (const td_flux_vae *vae);
td_backend *td_flux_vae_backend (const td_flux_vae *vae);
/* Pixels per latent along each axis: 2^(levels − 1) (8 for FLUX.1). */
int td_flux_vae_scale_factor (const td_flux_vae *vae);

/* z [1, latent, h, w] (already unscaled: latents / scaling + shift) → image [1, 3, H, W] in about [-1, 1]. */
td_tensor *td_flux_vae_decode (td_flux_vae *vae, const td_tensor *z, td_error *err);
/* A flag, set from any thread or a signal handler, that stops td_flux_vae_decode (and the
 * tiled decode) between blocks with TD_ERR_CANCELLED. NULL (the default) never cancels. */
void td_flux_vae_set_cancel (td_flux_vae *vae, const volatile int *cancel);
/* image [1, 3, H, W] in [-1, 1] → the mean of the latent distribution [1, latent, h, w]. */
td_tensor *td_flux_vae_encode_mean (td_flux_vae *vae, const td_tensor *image, td_error *err);
