/* op_check.h — per-family validation behind td_op_validate. */
#pragma once

#include "backend/op.h"

/* MATMUL, MATMUL_NORM_ROPE, ADD, MUL, SCALE, UNARY, norms (with ADA_LAYER_NORM), SOFTMAX, EMBEDDING, CONCAT, COPY, ARGMAX, SAMPLE */
td_status td_op_check_dense (const td_op *op, td_error *err);
/* ROPE, RMS_NORM_ROPE, ATTENTION, CONV2D, UPSAMPLE_NEAREST2X, RESIZE_BILINEAR, RESIZE_BICUBIC */
td_status td_op_check_spatial (const td_op *op, td_error *err);
