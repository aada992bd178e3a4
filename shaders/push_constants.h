/* push_constants.h — the push-constant blocks of every compute shader, defined once
 * and read by both C (engine/backend/vulkan) and GLSL (the shaders).
 *
 * Shaders get their tensors as buffer device addresses (PC_U64) rather than
 * descriptors, so no binding range limit (maxStorageBufferRange) applies to a
 * tensor. Members are ordered 64-bit first so C's natural layout equals std430.
 * Every block must stay within 128 bytes, the smallest maxPushConstantsSize.
 */
#ifndef TD_PUSH_CONSTANTS_H
#define TD_PUSH_CONSTANTS_H

#ifdef TD_GLSL
#define PC_U64 uint64_t
#define PC_U32 uint
#define PC_F32 float
#define PC_BEGIN(name) struct name {
#define PC_END(name) };
#else
#include <stdint.h>
#define PC_U64 uint64_t
#define PC_U32 uint32_t
#define PC_F32 float
#define PC_BEGIN(name) typedef struct name {
#define PC_END(name) } name;
#endif

/* Element types as the shaders see them; equal to td_dtype's values. */
#define PC_DTYPE_F32 0
#define PC_DTYPE_F16 1
#define PC_DTYPE_BF16 2
#define PC_DTYPE_I32 5
/* Weight formats of the matmul family (shaders/dequant.glsl). */
#define PC_DTYPE_F8_E4M3 10
#define PC_DTYPE_F8_E5M2 11
#define PC_DTYPE_Q4_0 12
#define PC_DTYPE_Q4_1 13
#define PC_DTYPE_Q5_0 14
#define PC_DTYPE_Q5_1 15
#define PC_DTYPE_Q8_0 16
#define PC_DTYPE_Q2_K 17
#define PC_DTYPE_Q3_K 18
#define PC_DTYPE_Q4_K 19
#define PC_DTYPE_Q5_K 20
#define PC_DTYPE_Q6_K 21

#define PC_MAX_DIMS 5

/* y[z, M, N] = x[z, M, K] · w[z]ᵀ (+ bias); w_batch_stride 0 shares w. */
PC_BEGIN (td_pc_matmul)
  PC_U64 x, w, bias, y;
  PC_U32 m, n, k, w_batch_stride;
  PC_U32 bias_dtype, has_bias;
  PC_U32 k_splits, batch; /* GEMV split-K: slices of K (0 or 1: none) and batches */
PC_END (td_pc_matmul)

/* MATMUL_NORM_ROPE: td_pc_matmul's fields (w shared, so w_batch_stride is 0), then the
 * head epilogue's: y [M, N] seen as heads of head_dim, row m at position m % t;
 * cos/sin [t, rotary/2]; mode as td_rope_mode. */
PC_BEGIN (td_pc_matmul_rope)
  PC_U64 x, w, bias, y;
  PC_U64 norm_w, cos_table, sin_table;
  PC_U32 m, n, k, w_batch_stride;
  PC_U32 bias_dtype, has_bias, t, head_dim;
  PC_U32 rotary, mode, normalise, has_norm_w;
  PC_U32 norm_w_dtype;
  PC_F32 eps;
PC_END (td_pc_matmul_rope)

/* Implicit-GEMM convolution: x [B, Cin, H, W], w [Cout, Cin, kh, kw]. */
PC_BEGIN (td_pc_conv2d)
  PC_U64 x, w, bias, y;
  PC_U32 batch, cin, h, w_in;
  PC_U32 cout, ho, wo, kh;
  PC_U32 kw, stride_h, stride_w, pad_h;
  PC_U32 pad_w, bias_dtype, has_bias, pad0;
PC_END (td_pc_conv2d)

/* ADD (op 0) / MUL (op 1): b is read through broadcast strides (0 on broadcast dims). */
PC_BEGIN (td_pc_binary)
  PC_U64 a, b, y;
  PC_U32 n, op;
  PC_U32 shape[PC_MAX_DIMS];
  PC_U32 b_stride[PC_MAX_DIMS];
PC_END (td_pc_binary)

/* UNARY kinds as td_unary_kind; PC_UNARY_SCALE is y = x · scale + bias. */
#define PC_UNARY_SCALE 100
PC_BEGIN (td_pc_unary)
  PC_U64 x, y;
  PC_U32 n, kind;
  PC_F32 scale, bias;
PC_END (td_pc_unary)

/* LAYER_NORM (mode 0) / RMS_NORM (mode 1) / ADA_LAYER_NORM (mode 2) over rows of `cols`. */
PC_BEGIN (td_pc_norm)
  PC_U64 x, w, b, y;
  PC_U32 rows, cols, mode, w_dtype;
  PC_U32 b_dtype, has_w, has_b;
  PC_F32 eps;
PC_END (td_pc_norm)

/* GROUP_NORM: x [batch, channels, spatial]. */
PC_BEGIN (td_pc_group_norm)
  PC_U64 x, w, b, y;
  PC_U32 batch, channels, spatial, groups;
  PC_U32 w_dtype, b_dtype, has_w, has_b;
  PC_F32 eps;
  PC_U32 pad0;
PC_END (td_pc_group_norm)

PC_BEGIN (td_pc_softmax)
  PC_U64 x, y;
  PC_U32 rows, cols;
  PC_F32 scale;
  PC_U32 pad0;
PC_END (td_pc_softmax)

/* x [..., T, H, D]; cos/sin [T, R/2]; mode as td_rope_mode. */
PC_BEGIN (td_pc_rope)
  PC_U64 x, cos_table, sin_table, y;
  PC_U32 n, t, h, d;
  PC_U32 rotary, mode, pad0, pad1;
PC_END (td_pc_rope)

/* RMS_NORM_ROPE: x [..., T, H, D] as rows of D; cos/sin [T, R/2]; mode as td_rope_mode. */
PC_BEGIN (td_pc_norm_rope)
  PC_U64 x, w, cos_table, sin_table, y;
  PC_U32 rows, t, h, d;
  PC_U32 rotary, mode, w_dtype, has_w;
  PC_F32 eps;
  PC_U32 pad0;
PC_END (td_pc_norm_rope)

/* Fused attention; bias strides are 0 on broadcast dims; k and v share kv_dtype. */
PC_BEGIN (td_pc_attention)
  PC_U64 q, k, v, bias, y;
  PC_U32 batch, tq, tk, heads;
  PC_U32 kv_heads, d, dv, causal;
  PC_U32 has_bias, bias_stride_b, bias_stride_h, kv_dtype;
  PC_F32 scale;
  PC_U32 pad1;
PC_END (td_pc_attention)

/* Attention of one query row (attention_decode.comp and its reduction pass): keys
 * split into `splits` chunks of `chunk`; partial holds per (batch, head, split) the
 * running max, the sum and Dv unnormalised outputs. head_groups workgroups share
 * one key/value head when more query heads share it than one workgroup takes. */
PC_BEGIN (td_pc_attention_decode)
  PC_U64 q, k, v, partial, y;
  PC_U32 batch, tk, heads, kv_heads;
  PC_U32 d, dv, kv_dtype, chunk;
  PC_U32 splits, head_groups, pad0, pad1;
  PC_F32 scale;
  PC_U32 pad2;
PC_END (td_pc_attention_decode)

/* Resampling of planes [planes, H, W] → [planes, Ho, Wo]. */
#define PC_RESIZE_NEAREST2X 0
#define PC_RESIZE_BILINEAR 1
#define PC_RESIZE_BICUBIC 2
PC_BEGIN (td_pc_resize)
  PC_U64 x, y;
  PC_U32 planes, h, w, ho;
  PC_U32 wo, mode;
PC_END (td_pc_resize)

PC_BEGIN (td_pc_embedding)
  PC_U64 ids, table, y;
  PC_U32 n_ids, dim, vocab, table_dtype;
PC_END (td_pc_embedding)

/* Concatenation seen as [outer, a_inner] ++ [outer, b_inner], in elements. */
PC_BEGIN (td_pc_concat)
  PC_U64 a, b, y;
  PC_U32 outer, a_inner, b_inner, pad0;
PC_END (td_pc_concat)

/* Strided view → contiguous, with dtype conversion. */
PC_BEGIN (td_pc_copy)
  PC_U64 x, y;
  PC_U32 n, x_dtype, y_dtype, pad0;
  PC_U32 shape[PC_MAX_DIMS];
  PC_U32 stride[PC_MAX_DIMS];
PC_END (td_pc_copy)

/* ARGMAX and SAMPLE over rows of `cols` logits. */
PC_BEGIN (td_pc_pick)
  PC_U64 x, y, seed, counter;
  PC_U32 rows, cols;
  PC_F32 temperature, top_p;
PC_END (td_pc_pick)

#endif
