#include "backend/ops.h"

static td_status
run1 (td_backend *b, td_op_type type, td_tensor *dst, const td_tensor *s0, const td_tensor *s1,
      const td_tensor *s2, const td_tensor *s3, td_op_params p, td_error *err)
{
  td_op op = { .type = type, .dst = dst, .src = { s0, s1, s2, s3 }, .p = p };
  return td_backend_run (b, &op, err);
}

td_status
td_matmul (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *w, const td_tensor *bias, td_error *err)
{
  return run1 (b, TD_OP_MATMUL, y, x, w, bias, NULL, (td_op_params) { 0 }, err);
}

td_status
td_matmul_act (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *w, const td_tensor *bias,
               td_unary_kind activation, td_error *err)
{
  td_op_params p = { .matmul = { true, activation } };
  return run1 (b, TD_OP_MATMUL, y, x, w, bias, NULL, p, err);
}

td_status
td_add (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *other, td_error *err)
{
  return run1 (b, TD_OP_ADD, y, x, other, NULL, NULL, (td_op_params) { 0 }, err);
}

td_status
td_mul (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *other, td_error *err)
{
  return run1 (b, TD_OP_MUL, y, x, other, NULL, NULL, (td_op_params) { 0 }, err);
}

td_status
td_scale (td_backend *b, td_tensor *y, const td_tensor *x, float scale, float bias, td_error *err)
{
  return run1 (b, TD_OP_SCALE, y, x, NULL, NULL, NULL, (td_op_params) { .scale = { scale, bias } }, err);
}

td_status
td_unary (td_backend *b, td_tensor *y, const td_tensor *x, td_unary_kind kind, td_error *err)
{
  return run1 (b, TD_OP_UNARY, y, x, NULL, NULL, NULL, (td_op_params) { .unary = { kind } }, err);
}

td_status
td_layer_norm (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *weight, const td_tensor *bias,
               float eps, td_error *err)
{
  return run1 (b, TD_OP_LAYER_NORM, y, x, weight, bias, NULL, (td_op_params) { .norm = { eps, 0 } }, err);
}

td_status
td_rms_norm (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *weight, float eps, td_error *err)
{
  return run1 (b, TD_OP_RMS_NORM, y, x, weight, NULL, NULL, (td_op_params) { .norm = { eps, 0 } }, err);
}

td_status
td_ada_layer_norm (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *scale, const td_tensor *shift,
                   float eps, td_error *err)
{
  return run1 (b, TD_OP_ADA_LAYER_NORM, y, x, scale, shift, NULL, (td_op_params) { .norm = { eps, 0 } }, err);
}

td_status
td_group_norm (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *weight, const td_tensor *bias,
               int groups, float eps, td_error *err)
{
  return run1 (b, TD_OP_GROUP_NORM, y, x, weight, bias, NULL, (td_op_params) { .norm = { eps, groups } }, err);
}

td_status
td_softmax (td_backend *b, td_tensor *y, const td_tensor *x, float scale, td_error *err)
{
  return run1 (b, TD_OP_SOFTMAX, y, x, NULL, NULL, NULL, (td_op_params) { .softmax = { scale } }, err);
}

td_status
td_rope (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *cos, const td_tensor *sin,
         td_rope_mode mode, td_error *err)
{
  return run1 (b, TD_OP_ROPE, y, x, cos, sin, NULL, (td_op_params) { .rope = { mode } }, err);
}

td_status
td_rms_norm_rope (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *weight, float eps,
                  const td_tensor *cos, const td_tensor *sin, td_rope_mode mode, td_error *err)
{
  return run1 (b, TD_OP_RMS_NORM_ROPE, y, x, weight, cos, sin, (td_op_params) { .rope_norm = { eps, mode } }, err);
}

td_status
td_matmul_norm_rope (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *w, const td_tensor *bias,
                     bool normalise, const td_tensor *norm_weight, float eps, const td_tensor *cos,
                     const td_tensor *sin, td_rope_mode mode, td_error *err)
{
  td_op op = {
    .type = TD_OP_MATMUL_NORM_ROPE, .dst = y, .src = { x, w, bias, norm_weight, cos, sin },
    .p.matmul_rope = { eps, mode, normalise },
  };
  return td_backend_run (b, &op, err);
}

td_status
td_attention (td_backend *b, td_tensor *out, const td_tensor *q, const td_tensor *k, const td_tensor *v,
              const td_tensor *bias, float scale, bool causal, td_error *err)
{
  return run1 (b, TD_OP_ATTENTION, out, q, k, v, bias, (td_op_params) { .attention = { scale, causal } }, err);
}

td_status
td_conv2d (td_backend *b, td_tensor *y, const td_tensor *x, const td_tensor *w, const td_tensor *bias,
           int stride_h, int stride_w, int pad_h, int pad_w, td_error *err)
{
  td_op_params p = { .conv2d = { stride_h, stride_w, pad_h, pad_w } };
  return run1 (b, TD_OP_CONV2D, y, x, w, bias, NULL, p, err);
}

td_status
td_upsample_nearest2x (td_backend *b, td_tensor *y, const td_tensor *x, td_error *err)
{
  return run1 (b, TD_OP_UPSAMPLE_NEAREST2X, y, x, NULL, NULL, NULL, (td_op_params) { 0 }, err);
}

td_status
td_resize_bilinear (td_backend *b, td_tensor *y, const td_tensor *x, td_error *err)
{
  return run1 (b, TD_OP_RESIZE_BILINEAR, y, x, NULL, NULL, NULL, (td_op_params) { 0 }, err);
}

td_status
td_resize_bicubic (td_backend *b, td_tensor *y, const td_tensor *x, td_error *err)
{
  return run1 (b, TD_OP_RESIZE_BICUBIC, y, x, NULL, NULL, NULL, (td_op_params) { 0 }, err);
}

td_status
td_embedding (td_backend *b, td_tensor *y, const td_tensor *ids, const td_tensor *table, td_error *err)
{
  return run1 (b, TD_OP_EMBEDDING, y, ids, table, NULL, NULL, (td_op_params) { 0 }, err);
}

td_status
td_concat (td_backend *b, td_tensor *y, const td_tensor *x0, const td_tensor *x1, int dim, td_error *err)
{
  return run1 (b, TD_OP_CONCAT, y, x0, x1, NULL, NULL, (td_op_params) { .concat = { dim } }, err);
}

td_status
td_copy (td_backend *b, td_tensor *y, const td_tensor *x, td_error *err)
{
  return run1 (b, TD_OP_COPY, y, x, NULL, NULL, NULL, (td_op_params) { 0 }, err);
}

td_status
td_argmax (td_backend *b, td_tensor *y, const td_tensor *x, td_error *err)
{
  return run1 (b, TD_OP_ARGMAX, y, x, NULL, NULL, NULL, (td_op_params) { 0 }, err);
}

td_status
td_sample (td_backend *b, td_tensor *y, const td_tensor *logits, float temperature, float top_p, uint64_t seed,
           uint64_t counter, td_error *err)
{
  td_op_params p = { .sample = { temperature, top_p, seed, counter } };
  return run1 (b, TD_OP_SAMPLE, y, logits, NULL, NULL, NULL, p, err);
}
