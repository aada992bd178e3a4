/* softmax.c — SOFTMAX over the last dim of x · scale, numerically stable.
 *
 * The row maximum is subtracted before exp so large logits cannot overflow. A row
 * whose entries are all -inf (fully masked) has no valid entry: it becomes all zeros
 * rather than the NaNs a literal evaluation gives, so a padding row cannot poison
 * what follows. dst may alias src0.
 */
#include <math.h>

#include "backend/cpu/dense_util.h"

typedef struct softmax_job {
  const float *x;
  float *y;
  int64_t n;
  float scale;
} softmax_job;

static void
softmax_rows (void *data, int64_t begin, int64_t end)
{
  const softmax_job *job = data;
  int64_t n = job->n;
  for (int64_t row = begin; row < end; row++)
    {
      const float *x = job->x + row * n;
      float *y = job->y + row * n;
      float max = -INFINITY;
      for (int64_t i = 0; i < n; i++)
        if (x[i] * job->scale > max)
          max = x[i] * job->scale;
      if (max == -INFINITY)
        {
          for (int64_t i = 0; i < n; i++)
            y[i] = 0.0f;
          continue;
        }
      double sum = 0;
      for (int64_t i = 0; i < n; i++)
        {
          y[i] = expf (x[i] * job->scale - max);
          sum += y[i];
        }
      float inv_sum = (float) (1.0 / sum);
      for (int64_t i = 0; i < n; i++)
        y[i] *= inv_sum;
    }
}

td_status
td_cpu_softmax (const td_op *op, td_error *err)
{
  softmax_job job = { .x = dense_f32 (op->src[0]), .y = dense_f32 (op->dst), .n = dense_last_dim (op->src[0]),
                      .scale = op->p.softmax.scale };
  dense_parallel (job.n > 0 ? dense_rows (op->src[0]) : 0, softmax_rows, &job);
  return TD_OK;
}
