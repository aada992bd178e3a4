/* flux_keys.h — names of FLUX weights in the Black Forest Labs single-file layout.
 *
 * The model code asks for diffusers names ("transformer_blocks.0.attn.to_q.weight");
 * a BFL checkpoint stores some of them fused ("double_blocks.0.img_attn.qkv.weight"
 * holds q, k and v as row blocks). */
#pragma once

#include <stdbool.h>

typedef enum td_flux_part {
  TD_FLUX_WHOLE = -1, /* the tensor as stored */
  TD_FLUX_Q = 0,      /* rows [0, inner) of a fused qkv (or linear1) */
  TD_FLUX_K = 1,      /* rows [inner, 2·inner) */
  TD_FLUX_V = 2,      /* rows [2·inner, 3·inner) */
  TD_FLUX_MLP = 3,    /* rows [3·inner, end) of single_blocks.N.linear1 */
  TD_FLUX_SWAPPED_HALVES = 4, /* final_layer.adaLN_modulation.1: (shift, scale) vs (scale, shift) */
} td_flux_part;

typedef struct td_flux_bfl_ref {
  char name[160];
  td_flux_part part;
} td_flux_bfl_ref;

/* Translates a diffusers name to its BFL tensor and part; false when it has no counterpart. */
bool td_flux_bfl_translate (const char *diffusers_name, td_flux_bfl_ref *out);
