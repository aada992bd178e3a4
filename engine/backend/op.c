#include "backend/op.h"
#include "backend/op_check.h"

static const char *const op_names[TD_OP_COUNT] = {
  [TD_OP_MATMUL] = "matmul",
  [TD_OP_ADD] = "add",
  [TD_OP_MUL] = "mul",
  [TD_OP_SCALE] = "scale",
  [TD_OP_UNARY] = "unary",
  [TD_OP_LAYER_NORM] = "layer_norm",
  [TD_OP_RMS_NORM] = "rms_norm",
  [TD_OP_ADA_LAYER_NORM] = "ada_layer_norm",
  [TD_OP_GROUP_NORM] = "group_norm",
  [TD_OP_SOFTMAX] = "softmax",
  [TD_OP_ROPE] = "rope",
  [TD_OP_RMS_NORM_ROPE] = "rms_norm_rope",
  [TD_OP_ATTENTION] = "attention",
  [TD_OP_CONV2D] = "conv2d",
  [TD_OP_UPSAMPLE_NEAREST2X] = "upsample_nearest2x",
  [TD_OP_RESIZE_BILINEAR] = "resize_bilinear",
  [TD_OP_RESIZE_BICUBIC] = "resize_bicubic",
  [TD_OP_EMBEDDING] = "embedding",
  [TD_OP_CONCAT] = "concat",
  [TD_OP_COPY] = "copy",
  [TD_OP_ARGMAX] = "argmax",
  [TD_OP_SAMPLE] = "sample",
  [TD_OP_MATMUL_NORM_ROPE] = "matmul_norm_rope",
};

const char *
td_op_name (td_op_type type)
{
  return (unsigned) type < TD_OP_COUNT ? op_names[type] : "invalid-op";
}

td_status
td_op_validate (const td_op *op, td_error *err)
{
  if (op == NULL || (unsigned) op->type >= TD_OP_COUNT)
    return td_error_set (err, TD_ERR_INVALID_ARG, "invalid op");
  if (op->dst == NULL || op->src[0] == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: missing output or first input", td_op_name (op->type));
  if (!td_tensor_is_contiguous (op->dst))
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: the output must be contiguous", td_op_name (op->type));

  switch (op->type)
    {
    case TD_OP_ROPE:
    case TD_OP_RMS_NORM_ROPE:
    case TD_OP_ATTENTION:
    case TD_OP_CONV2D:
    case TD_OP_UPSAMPLE_NEAREST2X:
    case TD_OP_RESIZE_BILINEAR:
    case TD_OP_RESIZE_BICUBIC:
      return td_op_check_spatial (op, err);
    case TD_OP_MATMUL:
    case TD_OP_MATMUL_NORM_ROPE:
    case TD_OP_ADD:
    case TD_OP_MUL:
    case TD_OP_SCALE:
    case TD_OP_UNARY:
    case TD_OP_LAYER_NORM:
    case TD_OP_RMS_NORM:
    case TD_OP_ADA_LAYER_NORM:
    case TD_OP_GROUP_NORM:
    case TD_OP_SOFTMAX:
    case TD_OP_EMBEDDING:
    case TD_OP_CONCAT:
    case TD_OP_COPY:
    case TD_OP_ARGMAX:
    case TD_OP_SAMPLE:
      return td_op_check_dense (op, err);
    case TD_OP_COUNT:
    default:
      return td_error_set (err, TD_ERR_INVALID_ARG, "invalid op");
    }
}

/* lowbias32 by Chris Wellons: a strong 32-bit integer mix, cheap in GLSL too. */
static uint32_t
mix32 (uint32_t x)
{
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

float
td_rng_uniform (uint64_t seed, uint64_t counter)
{
  uint32_t h = mix32 ((uint32_t) (counter >> 32));
  h = mix32 (h ^ (uint32_t) counter);
  h = mix32 (h ^ (uint32_t) (seed >> 32));
  h = mix32 (h ^ (uint32_t) seed);
  return (float) (h >> 8) * (1.0f / 16777216.0f);
}
