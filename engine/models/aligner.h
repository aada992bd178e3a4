/* aligner.h — ThinkDiff's aligner ("mm_projector", type mlp2x_gelu_t5_norm): maps
 * vision-language features into T5 encoder space for FLUX.
 *
 *   y = T5LayerNorm(Linear₂(GELU(Linear₁(x))))     (GELU with erf; RMS norm, eps 1e-6)
 *
 * Weights `mm_projector.0.weight` [D, in], `.0.bias` [D], `.2.weight` [D, D],
 * `.2.bias` [D], `.3.weight` [D] from a .pth (ThinkDiff's thinkdiff_*.pth, state dict
 * under "model") or a safetensors file; the "mm_projector." prefix may be absent.
 * Dimensions come from the weights, which stay in their stored dtype (bf16 for
 * the LVLM aligner); activations are f32.
 */
#pragma once

#include "backend/backend.h"
#include "models/weights.h"

typedef struct td_aligner td_aligner;

td_aligner *td_aligner_load (const char *path, td_backend *backend, td_error *err);
/* An aligner on weights already open under the bare names ("0.weight" …; random_models.c
 * declares them for benchmarks); takes the weights, freed on failure too. */
td_aligner *td_aligner_new_from_weights (td_weights *weights, td_error *err);
void td_aligner_free (td_aligner *aligner);

int td_aligner_in_dim (const td_aligner *aligner);
int td_aligner_out_dim (const td_aligner *aligner);

/* x [..., T, in] f32 on the aligner's backend → a new [..., T, out] f32 tensor. */
td_tensor *td_aligner_forward (td_aligner *aligner, const td_tensor *x, td_error *err);
