/* flux_pipeline.h — text-to-image with FLUX.1: seeded noise → transformer × steps
 * (flow-matching Euler) → VAE decode, with progress, previews and cancel. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "pipeline/flux_files.h"
#include "models/flux_vae_tiles.h"

typedef struct td_flux_params {
  int width, height;   /* multiples of 16 */
  int steps;           /* 28 for dev, 4 for schnell */
  float guidance;      /* 3.5 */
  uint64_t seed;
} td_flux_params;

typedef struct td_flux_callbacks {
  /* Called after each step (1-based) with the packed latents [1, N, 64] on the backend. */
  void (*step) (void *user, int step, int steps, const td_tensor *latents);
  /* An RGB preview of the current clean-image estimate, latent-sized (H/8 × W/8). */
  void (*preview) (void *user, int step, int steps, const uint8_t *rgb, int width, int height);
  /* Stage text for the UI ("denoising", "decoding"). */
  void (*stage) (void *user, const char *stage);
  /* Checked between steps and stages: set it from any thread to cancel. */
  const volatile int *cancel;
  void *user;
} td_flux_callbacks;

typedef struct td_flux_pipeline td_flux_pipeline;

/* dir holds model_index.json with transformer/, vae/ and scheduler/ (diffusers layout). */
td_flux_pipeline *td_flux_pipeline_new (const char *dir, const td_weight_files *chosen, td_backend *backend,
                                        td_error *err);
void td_flux_pipeline_free (td_flux_pipeline *pipeline);
/* How the VAE decodes large latents (td_vae_tiling_default () unless set): latents larger
 * than tiling->threshold on a side are decoded in blended tiles (see flux_vae_tiles.h). */
/* Live previews through a TAESD-class tiny decoder (TAEF1) in taesd_dir; NULL returns to
 * the free linear map. Refuses decoders that are not for FLUX.1's 16 latent channels.
 * The decoder already set from taesd_dir is kept. */
td_status td_flux_pipeline_set_preview_decoder (td_flux_pipeline *pipeline, const char *taesd_dir, td_error *err);
/* Resident: the transformer stays loaded after denoising (for the next image) instead
 * of being freed before decoding. Off by default. */
void td_flux_pipeline_set_resident (td_flux_pipeline *pipeline, bool resident);
/* How many times the transformer, the VAE or the preview decoder was loaded. */
int td_flux_pipeline_loads (const td_flux_pipeline *pipeline);
td_status td_flux_pipeline_set_vae_tiling (td_flux_pipeline *pipeline, const td_vae_tiling *tiling,
                                           td_error *err);

/* prompt_embeds [1, L, joint_dim] and pooled [1, pooled_dim] on the backend. noise_packed,
 * when non-NULL, replaces the seeded noise ([N × 64] floats, N = (H/16)·(W/16)).
 * On success *image is a host tensor [1, 3, H, W] in [0, 1]. */
td_status td_flux_pipeline_generate (td_flux_pipeline *pipeline, const td_tensor *prompt_embeds,
                                     const td_tensor *pooled, const td_flux_params *params,
                                     const float *noise_packed, const td_flux_callbacks *callbacks,
                                     td_tensor **image, td_error *err);

/* Latent packing as diffusers: [16, h, w] ↔ [(h/2)·(w/2), 64]. */
void td_flux_pack_latents (const float *latents, int h, int w, float *packed);
void td_flux_unpack_latents (const float *packed, int h, int w, float *latents);
/* Standard normal noise from the engine's counter-based RNG. */
void td_gaussian_noise (uint64_t seed, float *out, int64_t n);
