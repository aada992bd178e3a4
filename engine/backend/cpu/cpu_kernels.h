/* cpu_kernels.h — the CPU reference kernels, one per op, on validated ops whose
 * tensors are host-addressable. Written for clarity first, multi-threaded with
 * td_parallel_for on the default pool. */
#pragma once

#include "backend/op.h"

td_status td_cpu_matmul (const td_op *op, td_error *err);
td_status td_cpu_binary (const td_op *op, td_error *err);      /* ADD, MUL */
td_status td_cpu_scale (const td_op *op, td_error *err);
td_status td_cpu_unary (const td_op *op, td_error *err);
/* y = activation (x) over n elements (y may be x): UNARY's kernel, also MATMUL's epilogue. */
void td_cpu_activation (td_unary_kind kind, const float *x, float *y, int64_t n);
td_status td_cpu_layer_norm (const td_op *op, td_error *err);
td_status td_cpu_rms_norm (const td_op *op, td_error *err);
td_status td_cpu_ada_layer_norm (const td_op *op, td_error *err);
td_status td_cpu_group_norm (const td_op *op, td_error *err);
td_status td_cpu_softmax (const td_op *op, td_error *err);
td_status td_cpu_embedding (const td_op *op, td_error *err);
td_status td_cpu_concat (const td_op *op, td_error *err);
td_status td_cpu_copy (const td_op *op, td_error *err);
td_status td_cpu_argmax (const td_op *op, td_error *err);
td_status td_cpu_sample (const td_op *op, td_error *err);

td_status td_cpu_rope (const td_op *op, td_error *err);
td_status td_cpu_rms_norm_rope (const td_op *op, td_error *err);
/* MATMUL, then RMS_NORM_ROPE or ROPE in place on dst (matmul_rope.c). */
td_status td_cpu_matmul_norm_rope (const td_op *op, td_error *err);
td_status td_cpu_attention (const td_op *op, td_error *err);
td_status td_cpu_conv2d (const td_op *op, td_error *err);
td_status td_cpu_upsample_nearest2x (const td_op *op, td_error *err);
td_status td_cpu_resize_bilinear (const td_op *op, td_error *err);
td_status td_cpu_resize_bicubic (const td_op *op, td_error *err);
