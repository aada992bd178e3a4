/* matmul_rope.c — MATMUL_NORM_ROPE on the CPU: exactly the unfused ops, in order.
 * The product goes straight into dst seen as [..., T, N]; the rotation (after the
 * norm, when asked) then runs in place on dst seen as heads, which the rotary
 * kernels allow (each head row is read before it is written). */
#include "backend/cpu/cpu_kernels.h"

td_status
td_cpu_matmul_norm_rope (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0], *y = op->dst;
  int64_t flat_shape[TD_MAX_DIMS];
  for (int i = 0; i < x->ndim - 1; i++)
    flat_shape[i] = x->shape[i];
  flat_shape[x->ndim - 1] = y->shape[y->ndim - 2] * y->shape[y->ndim - 1];
  td_tensor *flat = td_tensor_reshape (y, x->ndim, flat_shape, err);
  if (flat == NULL)
    return err != NULL ? err->status : TD_ERR_NO_MEMORY;
  td_op product = { .type = TD_OP_MATMUL, .dst = flat, .src = { x, op->src[1], op->src[2] } };
  td_status status = td_cpu_matmul (&product, err);
  td_tensor_free (flat);
  if (status != TD_OK)
    return status;

  if (op->p.matmul_rope.normalise)
    {
      td_op rotate = {
        .type = TD_OP_RMS_NORM_ROPE, .dst = op->dst, .src = { op->dst, op->src[3], op->src[4], op->src[5] },
        .p.rope_norm = { op->p.matmul_rope.eps, op->p.matmul_rope.mode },
      };
      return td_cpu_rms_norm_rope (&rotate, err);
    }
  td_op rotate = {
    .type = TD_OP_ROPE, .dst = op->dst, .src = { op->dst, op->src[4], op->src[5] },
    .p.rope = { op->p.matmul_rope.mode },
  };
  return td_cpu_rope (&rotate, err);
}
