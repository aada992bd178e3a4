/* ops.h — one call per op, for model code: builds the td_op and runs it on a backend.
 * Shapes and semantics are documented on the op types in op.h. */
#pragma once

#include "backend/backend.h"

td_status td_matmul (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *w, const td_tensor *bias, td_error *err);
/* td_matmul with `activation` applied to every output after the bias. */
td_status td_matmul_act (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *w, const td_tensor *bias,
                         td_unary_kind activation, td_error *err);
td_status td_add (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *other, td_error *err);
td_status td_mul (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *other, td_error *err);
td_status td_scale (td_backend *b, td_tensor *y, const td_tensor *x, float scale, float bias, td_error *err);
td_status td_unary (td_backend *b, td_tensor *y, const td_tensor *x, td_unary_kind kind, td_error *err);
td_status td_layer_norm (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *weight, const td_tensor *bias, float eps, td_error *err);
td_status td_rms_norm (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *weight, float eps, td_error *err);
td_status td_ada_layer_norm (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *scale, const td_tensor *shift, float eps, td_error *err);
td_status td_group_norm (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *weight, const td_tensor *bias, int groups, float eps, td_error *err);
td_status td_softmax (td_backend *b, td_tensor *y, const td_tensor *x, float scale, td_error *err);
td_status td_rope (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *cos, const td_tensor *sin, td_rope_mode mode, td_error *err);
td_status td_rms_norm_rope (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *weight, float eps, const td_tensor *cos, const td_tensor *sin, td_rope_mode mode, td_error *err);
/* y [..., T, H, D] = rope (rms_norm? (x · wᵀ + bias viewed as heads)): RMS_NORM with
 * norm_weight (may be NULL) and eps when normalise, then ROPE with cos/sin [T, R/2]. */
td_status td_matmul_norm_rope (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *w,
                               const td_tensor *bias, bool normalise, const td_tensor *norm_weight, float eps,
                               const td_tensor *cos, const td_tensor *sin, td_rope_mode mode, td_error *err);
td_status td_attention (td_backend *b, td_tensor *out, const td_tensor *q, const td_tensor *k, const td_tensor *v, const td_tensor *bias, float scale, bool causal, td_error *err);
td_status td_conv2d (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *w, const td_tensor *bias, int stride_h, int stride_w, int pad_h, int pad_w, td_error *err);
td_status td_upsample_nearest2x (td_backend *b, td_tensor *y, const td_tensor *x, td_error *err);
td_status td_resize_bilinear (td_backend *b, td_tensor *y, const td_tensor *x, td_error *err);
td_status td_resize_bicubic (td_backend *b, td_tensor *y, const td_tensor *x, td_error *err);
td_status td_embedding (td_backend *b, td_tensor *y, const td_tensor *ids, const td_tensor *table, td_error *err);
td_status td_concat (td_backend *b, td_tensor *y, const td_tensor *x0, const td_tensor *x1, int dim, td_error *err);
td_status td_copy (td_backend *b, td_tensor *y, const td_tensor *x, td_error *err);
td_status td_argmax (td_backend *b, td_tensor *y, const td_tensor *x, td_error *err);
td_status td_sample (td_backend *b, td_tensor *y, const td_tensor *logits, float temperature, float top_p, uint64_t seed, uint64_t counter, td_error *err);
