/* flux_vae_bfl.h — FLUX's VAE in Black Forest Labs' single-file layout
 * (ae.safetensors: "encoder.down.0.block.0.conv1.weight", "decoder.up.3.upsample.conv.weight",
 * "decoder.mid.attn_1.q.weight" [C, C, 1, 1] …) instead of diffusers' vae/ folder. */
#pragma once

#include "models/flux_vae.h"

/* A td_weights_rename_fn: the BFL name of a diffusers VAE tensor; user_data is
 * the td_vae_config (its level count reverses the decoder's block order). */
bool td_flux_vae_bfl_name (const char *name, char *stored, size_t size, void *user_data);
/* The config of a BFL autoencoder, read from its tensors' shapes; GroupNorm(32)
 * and FLUX.1's scaling and shift, which BFL's code fixes. */
td_status td_flux_vae_bfl_config (td_weights *weights, td_vae_config *config, td_error *err);
