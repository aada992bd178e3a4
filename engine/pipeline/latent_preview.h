/* latent_preview.h — the free live preview: a linear map from FLUX's 16 latent
 * channels to RGB (the factors ComfyUI uses for FLUX.1). */
#pragma once

#include <stdint.h>

#define TD_FLUX_LATENT_CHANNELS 16

/* latents [16, h, w] (model space, f32) → rgb [h, w, 3] bytes. */
void td_latent_preview_rgb (const float *latents, int h, int w, uint8_t *rgb);
