/* op.h — the ops every backend implements, as plain descriptors.
 *
 * Conventions for all ops:
 * - dst is preallocated by the caller and contiguous; sources are contiguous
 *   unless the op says otherwise (TD_OP_COPY takes any strided view).
 * - Activations are f32. "Weights" (matmul/conv/embedding/norm parameters) may be
 *   f32, f16 or bf16 and are read in their stored dtype; accumulation is f32.
 * - Shapes are row-major (PyTorch order). Comments give shapes as [dims].
 * - dst may alias src[0] for elementwise ops (ADD, MUL, SCALE, UNARY).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/tensor.h"

#define TD_OP_MAX_SRC 6

typedef enum td_op_type {
  /* dst[..., M, N] = src0[..., M, K] · src1ᵀ + src2.
   * src1: weight [N, K] shared by every row, or [B, N, K] with B = product of
   * src0's leading dims (batched, each batch its own matrix). src2: bias [N] or NULL.
   * With p.matmul.activate, p.matmul.activation is applied to each output after the bias
   * (the epilogue that saves a separate UNARY pass). */
  TD_OP_MATMUL,
  /* dst = src0 ⊙ src1 with src1 broadcast to src0's shape (numpy rules, right-aligned). */
  TD_OP_ADD,
  TD_OP_MUL,
  /* dst = src0 · p.scale.scale + p.scale.bias */
  TD_OP_SCALE,
  /* Elementwise activation p.unary.kind on src0. */
  TD_OP_UNARY,
  /* Over the last dim: (x - mean) / sqrt(var + eps) · src1 + src2 (src1/src2 may be NULL). */
  TD_OP_LAYER_NORM,
  /* Over the last dim: x / sqrt(mean(x²) + eps) · src1 (src1 may be NULL). T5LayerNorm,
   * Qwen2 RMSNorm and FLUX QK-norm are this op. */
  TD_OP_RMS_NORM,
  /* AdaLN modulation: LayerNorm over the last dim without affine, then · (1 + src1) + src2.
   * src1 scale [C] and src2 shift [C] are f32 activations (FLUX's per-block modulation). */
  TD_OP_ADA_LAYER_NORM,
  /* src0 [B, C, ...spatial]: normalise over (C/groups × spatial) per group, then per-channel
   * affine src1 [C], src2 [C] (may be NULL). */
  TD_OP_GROUP_NORM,
  /* Over the last dim, of src0 · p.softmax.scale. */
  TD_OP_SOFTMAX,
  /* Rotary embedding. src0 x [..., T, H, D]; src1 cos [T, R/2]; src2 sin [T, R/2] where
   * R = rotary dims (≤ D; dims ≥ R pass through). p.rope.mode picks how pairs are formed. */
  TD_OP_ROPE,
  /* RMS_NORM over the last dim of src0 x [..., T, H, D] with src1 weight [D] (may be NULL),
   * then ROPE with src2 cos / src3 sin [T, R/2] in p.rope_norm.mode: FLUX's q/k norm and
   * rotation in one pass. */
  TD_OP_RMS_NORM_ROPE,
  /* Scaled-dot-product attention, one fused op.
   * src0 q [B, Tq, H, D]; src1 k [B, Tk, Hkv, D]; src2 v [B, Tk, Hkv, Dv]; H % Hkv == 0 (GQA).
   * k and v share one dtype: f32, or f16/bf16 for a key/value cache kept in 16 bits.
   * src3 optional additive bias [Bb, Hb, Tq, Tk] with Bb ∈ {1, B}, Hb ∈ {1, H}
   * (padding masks as -inf, T5 relative-position bias). dst [B, Tq, H, Dv].
   * p.attention.scale multiplies q·k; p.attention.causal masks key j > i + (Tk - Tq). */
  TD_OP_ATTENTION,
  /* src0 x [B, Cin, H, W]; src1 w [Cout, Cin, kh, kw]; src2 bias [Cout] or NULL;
   * dst [B, Cout, Ho, Wo]. Groups = 1. */
  TD_OP_CONV2D,
  /* src0 [B, C, H, W] → dst [B, C, 2H, 2W], nearest. */
  TD_OP_UPSAMPLE_NEAREST2X,
  /* src0 [B, C, H, W] → dst [B, C, Ho, Wo]; bilinear, align_corners=False, no antialias
   * (torch.nn.functional.interpolate). */
  TD_OP_RESIZE_BILINEAR,
  /* src0 [B, C, H, W] → dst [B, C, Ho, Wo]; bicubic as PIL (a = -0.5, antialiased when
   * downscaling, support widened by the scale). */
  TD_OP_RESIZE_BICUBIC,
  /* src0 ids i32 [...]; src1 table [V, D] → dst f32 [..., D]. Out-of-range ids are an error
   * on the CPU; on devices they read row 0 (validated on upload by callers). */
  TD_OP_EMBEDDING,
  /* dst = concat(src0, src1) along p.concat.dim; other dims equal. */
  TD_OP_CONCAT,
  /* dst (contiguous, any float dtype) = src0 (any strided view, any float dtype), same shape.
   * This is how permute/slice views are materialised. An f16 dst saturates: values beyond
   * ±65504 (infinities included) become ±65504, NaN stays NaN, so a 16-bit key/value cache
   * never turns a large activation into inf (and its attention into NaN). */
  TD_OP_COPY,
  /* src0 [..., N] → dst i32 [...]: index of the max (first on ties). */
  TD_OP_ARGMAX,
  /* src0 logits [..., N] → dst i32 [...]: softmax(logits / temperature), keep the smallest
   * set of top tokens whose probability reaches top_p, draw with the counter-based RNG
   * (seed, counter + row). temperature <= 0 means argmax. */
  TD_OP_SAMPLE,
  /* MATMUL whose output is seen as heads, then (with p.matmul_rope.normalise) RMS_NORM of
   * each head and ROPE, in one op: the q/k projections of FLUX and Qwen2-VL.
   * src0 x [..., T, K]; src1 w [N, K] (any matmul weight format); src2 bias [N] or NULL;
   * src3 norm weight [D] or NULL (NULL without normalise); src4 cos / src5 sin [T, R/2];
   * dst [..., T, H, D] with H · D = N. The result equals MATMUL into [..., T, N], then
   * RMS_NORM_ROPE (or ROPE) of that viewed as [..., T, H, D]. */
  TD_OP_MATMUL_NORM_ROPE,
  TD_OP_COUNT
} td_op_type;

typedef enum td_unary_kind {
  TD_UNARY_GELU,       /* x · Φ(x), exact erf */
  TD_UNARY_GELU_TANH,  /* tanh approximation */
  TD_UNARY_SILU,       /* x · σ(x) */
  TD_UNARY_QUICK_GELU, /* x · σ(1.702 x) */
  TD_UNARY_RELU,
  TD_UNARY_TANH,
  TD_UNARY_SIGMOID,
  TD_UNARY_COUNT
} td_unary_kind;

typedef enum td_rope_mode {
  TD_ROPE_HALF_SPLIT,  /* pairs (i, i + R/2): GPT-NeoX, Qwen2, Qwen2-VL ("rotate_half") */
  TD_ROPE_INTERLEAVED, /* pairs (2i, 2i + 1): FLUX, GPT-J */
} td_rope_mode;

typedef union td_op_params {
  struct { float scale, bias; } scale;
  struct { td_unary_kind kind; } unary;
  struct { float eps; int groups; } norm;
  struct { float scale; } softmax;
  struct { td_rope_mode mode; } rope;
  struct { float eps; td_rope_mode mode; } rope_norm;
  struct { bool activate; td_unary_kind activation; } matmul;
  struct { float eps; td_rope_mode mode; bool normalise; } matmul_rope;
  struct { float scale; bool causal; } attention;
  struct { int stride_h, stride_w, pad_h, pad_w; } conv2d;
  struct { int dim; } concat;
  struct { float temperature, top_p; uint64_t seed, counter; } sample;
} td_op_params;

typedef struct td_op {
  td_op_type type;
  td_tensor *dst;
  const td_tensor *src[TD_OP_MAX_SRC];
  td_op_params p;
} td_op;

const char *td_op_name (td_op_type type);

/* Checks shapes, dtypes and contiguity for any backend. */
td_status td_op_validate (const td_op *op, td_error *err);

/* The counter-based RNG shared by every backend's sampler (and seeded noise):
 * a uniform float in [0, 1) from (seed, counter), identical everywhere. */
float td_rng_uniform (uint64_t seed, uint64_t counter);
