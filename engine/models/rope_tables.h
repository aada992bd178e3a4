/* rope_tables.h — cos/sin tables for TD_OP_ROPE.
 *
 * Every builder fills two caller-provided f32 arrays laid out as ROPE reads
 * them: [T, R/2] row-major, one angle per rotated pair, where R is the number
 * of rotated dims. The caller uploads them as the op's cos and sin inputs.
 *
 * The arithmetic follows the reference implementations so tables agree with
 * them to an ulp: transformers computes Qwen2 / Qwen2-VL angles in float32
 * (inv_freq in f32, position × inv_freq rounded to f32), diffusers computes
 * FLUX angles in float64. Positions far beyond 2^24 lose precision in f32 just
 * as they do in transformers.
 */
#pragma once

#include "thinkdiff.h"

/* Qwen2 text (1-D): angle[t, i] = positions[t] · theta^(−2i / rot_dim), i < rot_dim/2.
 * Tables are [n_positions, rot_dim/2]; use with TD_ROPE_HALF_SPLIT. */
td_status td_rope_table_1d (const int64_t *positions, int64_t n_positions, int rot_dim, double theta,
                            float *cos_out, float *sin_out, td_error *err);

/* FLUX (diffusers FluxPosEmbed): ids [n_tokens, n_axes] (the float ids diffusers
 * builds: 0 for text; (0, row, col) for image patches); axes_dim[n_axes], each even
 * (16, 56, 56 for FLUX.1). Axis a contributes axes_dim[a]/2 angles
 * ids[t, a] · theta^(−2i / axes_dim[a]), concatenated in axis order, so tables are
 * [n_tokens, Σ axes_dim / 2]; use with TD_ROPE_INTERLEAVED. */
td_status td_rope_table_flux (const float *ids, int64_t n_tokens, int n_axes, const int *axes_dim, double theta,
                              float *cos_out, float *sin_out, td_error *err);

/* Qwen2-VL multimodal RoPE: positions [3, n_positions] (temporal, height, width
 * streams, row-major); section[0..2] (16, 24, 24 for 7B) partitions the rot_dim/2
 * frequencies: the first section[0] use the temporal stream, the next section[1]
 * height, the last section[2] width. Σ section must equal rot_dim/2.
 * Tables are [n_positions, rot_dim/2]; use with TD_ROPE_HALF_SPLIT. */
td_status td_rope_table_mrope (const int64_t *positions, int64_t n_positions, const int section[3], int rot_dim,
                               double theta, float *cos_out, float *sin_out, td_error *err);

/* Qwen2-VL vision tower 2-D RoPE for one image or video of grid_t × grid_h × grid_w
 * patches, in the processor's patch order (merge_size × merge_size blocks, row-major
 * inside a block, blocks row-major, frames one after another). Each row holds
 * head_dim/4 row-position angles then head_dim/4 column-position angles with
 * frequencies theta^(−2i / (head_dim/2)). Tables are [grid_t·grid_h·grid_w, head_dim/2];
 * use with TD_ROPE_HALF_SPLIT on heads of head_dim (80 for Qwen2-VL). */
td_status td_rope_table_qwen2vl_vision (int grid_t, int grid_h, int grid_w, int merge_size, int head_dim,
                                        double theta, float *cos_out, float *sin_out, td_error *err);
