/* layers.h — building blocks for model forward passes.
 *
 * Every call takes a td_layer_ctx whose first failure is sticky: once a call
 * fails, later calls return NULL without doing work, and the caller checks
 * ctx->status once at the end. Tensors returned are new (free them with
 * td_tensor_free); inputs are never consumed unless the name ends in '_'
 * (in-place on the first argument, which is returned).
 */
#pragma once

#include "backend/ops.h"
#include "models/weights.h"

typedef struct td_layer_ctx {
  td_backend *backend;
  td_weights *weights;
  td_error *err;
  td_status status;
} td_layer_ctx;

static inline bool
td_layer_ok (const td_layer_ctx *ctx)
{
  return ctx->status == TD_OK;
}

/* Records a failure status (the message is already in ctx->err). */
void td_layer_fail (td_layer_ctx *ctx, td_status status);

td_tensor *td_layer_new (td_layer_ctx *ctx, td_dtype dtype, int ndim, const int64_t *shape);
td_tensor *td_layer_from_host (td_layer_ctx *ctx, td_dtype dtype, int ndim, const int64_t *shape, const void *data);
td_tensor *td_layer_reshape (td_layer_ctx *ctx, const td_tensor *x, int ndim, const int64_t *shape);
/* A contiguous copy of any view (slice/permute). */
td_tensor *td_layer_contiguous (td_layer_ctx *ctx, const td_tensor *x);
td_tensor *td_layer_slice (td_layer_ctx *ctx, const td_tensor *x, int dim, int64_t start, int64_t length);

/* y[..., N] = x[..., K] · W[N, K]ᵀ + b, with W = prefix.weight and b = prefix.bias (if present). */
td_tensor *td_layer_linear (td_layer_ctx *ctx, const td_tensor *x, const char *prefix);
td_tensor *td_layer_linear_w (td_layer_ctx *ctx, const td_tensor *x, const td_tensor *w, const td_tensor *b);
/* td_layer_linear_w with the fp8 scale of the checkpoint's PREFIX.scale_weight
 * applied when w is fp8 (td_layer_linear finds w and b by prefix itself). */
/* The per-tensor scale of an fp8 weight (PREFIX.scale_weight), 1 when w is not
 * fp8 or has none; false (and ctx failed) when the scale is malformed. */
bool td_layer_fp8_scale (td_layer_ctx *ctx, const td_tensor *w, const char *prefix, float *scale);
td_tensor *td_layer_linear_wp (td_layer_ctx *ctx, const td_tensor *x, const td_tensor *w, const td_tensor *b,
                               const char *prefix);
/* activation (linear (x)), the activation fused into the matmul's epilogue (after the
 * fp8 scale, as a separate pass, where there is one). */
td_tensor *td_layer_linear_act (td_layer_ctx *ctx, const td_tensor *x, const char *prefix, td_unary_kind activation);
td_tensor *td_layer_linear_w_act (td_layer_ctx *ctx, const td_tensor *x, const td_tensor *w, const td_tensor *b,
                                  td_unary_kind activation);
td_tensor *td_layer_linear_wp_act (td_layer_ctx *ctx, const td_tensor *x, const td_tensor *w, const td_tensor *b,
                                   const char *prefix, td_unary_kind activation);
/* Attention projections: y [..., T, H, D] (preallocated) = rope (rms_norm? (x · wᵀ + b))
 * in one op (MATMUL_NORM_ROPE), the norm (norm_w may be NULL) only when normalise;
 * rotary tables cos/sin [T, R/2]. With an fp8 weight's scale, the scaled linear layer
 * and RMS_NORM_ROPE/ROPE run as separate passes. False (ctx failed) on failure. */
bool td_layer_linear_wp_norm_rope (td_layer_ctx *ctx, td_tensor *y, const td_tensor *x, const td_tensor *w,
                                   const td_tensor *b, const char *prefix, bool normalise, const td_tensor *norm_w,
                                   float eps, const td_tensor *cos, const td_tensor *sin, td_rope_mode mode);
/* The same without a norm, w and b found as prefix.weight and prefix.bias (if present). */
bool td_layer_linear_rope (td_layer_ctx *ctx, td_tensor *y, const td_tensor *x, const char *prefix, const td_tensor *cos,
                           const td_tensor *sin, td_rope_mode mode);
/* Over the last dim with prefix.weight (and prefix.bias for layer norm). */
td_tensor *td_layer_layer_norm (td_layer_ctx *ctx, const td_tensor *x, const char *prefix, float eps);
td_tensor *td_layer_rms_norm (td_layer_ctx *ctx, const td_tensor *x, const char *weight_name, float eps);
td_tensor *td_layer_group_norm (td_layer_ctx *ctx, const td_tensor *x, const char *prefix, int groups, float eps);
td_tensor *td_layer_conv2d (td_layer_ctx *ctx, const td_tensor *x, const char *prefix, int stride, int pad);

td_tensor *td_layer_unary_ (td_layer_ctx *ctx, td_tensor *x, td_unary_kind kind);
td_tensor *td_layer_add_ (td_layer_ctx *ctx, td_tensor *x, const td_tensor *y);
td_tensor *td_layer_mul_ (td_layer_ctx *ctx, td_tensor *x, const td_tensor *y);
td_tensor *td_layer_scale_ (td_layer_ctx *ctx, td_tensor *x, float scale, float bias);
td_tensor *td_layer_attention (td_layer_ctx *ctx, const td_tensor *q, const td_tensor *k, const td_tensor *v,
                               const td_tensor *bias, float scale, bool causal);
td_tensor *td_layer_concat (td_layer_ctx *ctx, const td_tensor *a, const td_tensor *b, int dim);

/* Reads any tensor back as f32 (free()), or NULL after a failure. */
float *td_layer_read_f32 (td_layer_ctx *ctx, const td_tensor *x);
