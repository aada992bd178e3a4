/* taesd.h — the tiny autoencoder (TAESD, madebyollin/taesd, MIT): an 8× encoder and
 * decoder for SD/FLUX latents at about 1% of the VAE's cost, used for live previews.
 *
 * Checkpoints are the published `<name>_encoder.pth` / `<name>_decoder.pth` (or
 * .safetensors) with nn.Sequential index keys ("0.weight", "1.conv.0.weight" …),
 * or diffusers' AutoencoderTiny file holding both.
 * The variant is read from the weights: latent channels (4 TAESD, 16 TAEF1/TAESD3,
 * 32 TAEF2) and whether the mid blocks carry FLUX.2's GroupNorm pooling
 * ("N.pool.*"). The 32× TAESANA variant is not supported.
 *
 * Latents are raw VAE latents (what the VAE's encoder produces, before any
 * scaling_factor/shift_factor); images are [1, 3, H, W] in [0, 1].
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"

typedef struct td_taesd td_taesd;

/* Either path may be NULL (a decoder alone serves previews), not both. */
td_taesd *td_taesd_load (const char *encoder_path, const char *decoder_path, td_backend *backend, td_error *err);
/* diffusers' AutoencoderTiny file (madebyollin/taef1 on Hugging Face): encoder and
 * decoder in one diffusion_pytorch_model.safetensors, "encoder.layers.N.*" with
 * taesd.py's indices and "decoder.layers.N.*" one lower (its clamp is in code, not
 * a module). The weights are the same; diffusers' wrapper only rescales images to
 * [−1, 1], which this engine does not. Either half may be missing, not both. */
td_taesd *td_taesd_load_diffusers (const char *path, td_backend *backend, td_error *err);
/* A folder: diffusion_pytorch_model.safetensors (see td_taesd_load_diffusers), else
 * its one *_encoder.{pth,safetensors} and *_decoder.{pth,safetensors} (either may
 * be missing, not both). */
td_taesd *td_taesd_load_dir (const char *dir, td_backend *backend, td_error *err);
void td_taesd_free (td_taesd *taesd);

int td_taesd_latent_channels (const td_taesd *taesd);
bool td_taesd_has_midblock_norm (const td_taesd *taesd);

/* image [1, 3, H, W] (H, W multiples of 8) in [0, 1] → raw latents [1, C, H/8, W/8]. */
td_tensor *td_taesd_encode (td_taesd *taesd, const td_tensor *image, td_error *err);
/* raw latents [1, C, h, w] → image [1, 3, 8h, 8w], about [0, 1], not clamped. */
td_tensor *td_taesd_decode (td_taesd *taesd, const td_tensor *latents, td_error *err);

/* A live preview: latents in the FLUX pipeline's model space, host f32 [C, h, w]
 * (raw = z / scaling + shift; FLUX.1: 0.3611, 0.1159), decoded to rgb, which must
 * hold 8h × 8w × 3 bytes (row-major, clamped to [0, 255]). */
td_status td_taesd_preview_rgb (td_taesd *taesd, const float *latents, int h, int w, float scaling, float shift,
                                uint8_t *rgb, td_error *err);
