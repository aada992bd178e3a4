/* op_cost.c — the work of one op from its shapes: floating-point operations and the
 * bytes of its tensors (each input read once, the output written once, the least
 * traffic any kernel needs). The benchmarks divide the totals by the time taken. */
#include "backend/op_cost.h"

/* Keys that the query rows of one (batch, head) see in total. */
static double
visible_pairs (int64_t tq, int64_t tk, bool causal)
{
  if (!causal)
    return (double) tq * (double) tk;
  double pairs = 0;
  for (int64_t i = 0; i < tq; i++)
    {
      int64_t limit = i + tk - tq + 1;
      pairs += (double) (limit < 0 ? 0 : limit > tk ? tk : limit);
    }
  return pairs;
}

td_op_work
td_op_cost (const td_op *op)
{
  td_op_work work = { 0 };
  for (int i = 0; i < TD_OP_MAX_SRC; i++)
    if (op->src[i] != NULL)
      work.bytes += (double) td_tensor_nbytes (op->src[i]);
  work.bytes += (double) td_tensor_nbytes (op->dst);

  const td_tensor *x = op->src[0], *y = op->dst;
  switch (op->type)
    {
    case TD_OP_MATMUL:
      {
        /* Every output element is a dot product over K. */
        int64_t k = x->shape[x->ndim - 1];
        work.flops = 2.0 * (double) td_tensor_numel (y) * (double) k;
        break;
      }
    case TD_OP_ATTENTION:
      {
        const td_tensor *k = op->src[1], *v = op->src[2];
        double pairs = visible_pairs (x->shape[1], k->shape[1], op->p.attention.causal);
        work.flops = 2.0 * (double) x->shape[0] * (double) x->shape[2] * pairs
                     * (double) (x->shape[3] + v->shape[3]);
        break;
      }
    case TD_OP_CONV2D:
      {
        const td_tensor *w = op->src[1];
        work.flops = 2.0 * (double) td_tensor_numel (y) * (double) (w->shape[1] * w->shape[2] * w->shape[3]);
        break;
      }
    case TD_OP_SOFTMAX:
    case TD_OP_LAYER_NORM:
    case TD_OP_RMS_NORM:
    case TD_OP_GROUP_NORM:
    case TD_OP_SAMPLE:
      /* A few passes over each input row. */
      work.flops = 4.0 * (double) td_tensor_numel (x);
      break;
    case TD_OP_COPY:
    case TD_OP_CONCAT:
    case TD_OP_EMBEDDING:
      break; /* data movement only */
    default:
      /* Elementwise, rotary, resampling, picks: about one operation per output element. */
      work.flops = (double) td_tensor_numel (y);
      break;
    }
  return work;
}
