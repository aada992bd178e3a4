/* flux_vae_tiles.h — VAE decoding and encoding in overlapping tiles, so the peak
 * activation memory is set by the tile size instead of the image size.
 *
 * Matches diffusers' AutoencoderKL.tiled_decode / tiled_encode: tiles start every
 * (tile − overlap) latents (or that many × scale_factor pixels when encoding), each
 * tile's output is blended into the one above and the one to the left with linear
 * weights over the overlap (blend_v, then blend_h, in place, row by row), then cropped
 * to the step. diffusers' tile_latent_min_size is `tile` here and its
 * tile_overlap_factor is overlap / tile (64 and 0.25 → overlap 16).
 *
 * Tiled results differ slightly from whole-image ones: the group norms and the
 * mid-block self-attention see one tile's statistics and positions, not the whole
 * image's. The linear blend hides the seams; diffusers accepts the same difference.
 */
#pragma once

#include <stdbool.h>

#include "models/flux_vae.h"

typedef struct td_vae_tiling {
  int tile;      /* tile side in latents (64) */
  int overlap;   /* latents shared by neighbouring tiles (16), 0 ≤ overlap < tile */
  int threshold; /* td_vae_tiling_needed: latents up to this side are processed whole */
} td_vae_tiling;

/* Filled by the tiled calls when non-NULL: what the model was run on. */
typedef struct td_vae_tile_stats {
  int tiles;
  int64_t largest_tile_numel; /* elements of the largest model input (one tile) */
  int64_t largest_output_numel; /* elements of the largest model output */
} td_vae_tile_stats;

/* tile 64, overlap 16, threshold 128: 1024² is decoded whole (as FluxPipeline does
 * by default), larger images in 512-pixel tiles. */
td_vae_tiling td_vae_tiling_default (void);
td_status td_vae_tiling_check (const td_vae_tiling *tiling, td_error *err);
/* True when a latent h × w is larger than tiling->threshold on either side. */
bool td_vae_tiling_needed (const td_vae_tiling *tiling, int64_t h, int64_t w);

/* As td_flux_vae_decode, in tiles: z [1, latent, h, w] on the VAE's backend → a HOST
 * tensor [1, 3, h·f, w·f] (f = scale factor). A latent that fits one tile gives exactly
 * the whole-image decode. */
td_tensor *td_flux_vae_decode_tiled (td_flux_vae *vae, const td_tensor *z, const td_vae_tiling *tiling,
                                     td_vae_tile_stats *stats, td_error *err);
/* As td_flux_vae_encode_mean, in tiles of tile·f pixels: → a HOST tensor [1, latent, H/f, W/f]. */
td_tensor *td_flux_vae_encode_mean_tiled (td_flux_vae *vae, const td_tensor *image, const td_vae_tiling *tiling,
                                          td_vae_tile_stats *stats, td_error *err);

/* The tiling and blending alone, for any per-tile function (tests use it with known
 * maps). fn maps an input tile [1, C, th, tw] (contiguous, on the input's backend) to
 * an output [1, C', th·up/down, tw·up/down] on any backend. The input lives on backend. tile and stride are input
 * extents and must be multiples of down. Returns a host f32 tensor. */
typedef td_tensor *(*td_tile_fn) (void *user, const td_tensor *tile, td_error *err);
td_tensor *td_tiles_map_blend (td_backend *backend, const td_tensor *input, int tile, int stride, int up, int down,
                               td_tile_fn fn, void *user, td_vae_tile_stats *stats, td_error *err);
