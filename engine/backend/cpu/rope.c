/* rope.c — rotary position embedding on the CPU.
 *
 * x [..., T, H, D] is rotated pair by pair: for pair i (i < R/2) with angle
 * θ = table[t, i] the pair (a, b) becomes (a·cos θ − b·sin θ, b·cos θ + a·sin θ).
 * HALF_SPLIT pairs element i with i + R/2 (transformers' rotate_half);
 * INTERLEAVED pairs 2i with 2i + 1 (FLUX). Dims ≥ R are copied unchanged.
 * Each pair is read before it is written, so dst may alias x.
 *
 * RMS_NORM_ROPE normalises each head row first, exactly as RMS_NORM (statistics in
 * double, then x · inv_rms · w in f32), and rotates the normalised pairs.
 */
#include "backend/cpu/cpu_kernels.h"
#include "backend/cpu/dense_util.h"
#include "core/threads.h"

#include <math.h>
#include <string.h>

typedef struct {
  const float *x, *cos_table, *sin_table;
  float *y;
  int64_t positions, heads, head_dim, half_rot;
  td_rope_mode mode;
  const float *weight; /* RMS_NORM_ROPE: [head_dim] or NULL */
  float eps;
  bool normalise;
} rope_job;

static void
rope_rows (void *ctx, int64_t begin, int64_t end)
{
  const rope_job *j = ctx;
  for (int64_t row = begin; row < end; row++)
    {
      /* A row is one head of one position: index = ((outer·T) + t)·H + h. */
      int64_t t = (row / j->heads) % j->positions;
      const float *c = j->cos_table + t * j->half_rot;
      const float *s = j->sin_table + t * j->half_rot;
      const float *x = j->x + row * j->head_dim;
      float *y = j->y + row * j->head_dim;
      int64_t first_stride = j->mode == TD_ROPE_INTERLEAVED ? 2 : 1;
      int64_t partner = j->mode == TD_ROPE_INTERLEAVED ? 1 : j->half_rot;
      int64_t rotated = 2 * j->half_rot;

      if (j->normalise)
        {
          double squares = 0;
          for (int64_t i = 0; i < j->head_dim; i++)
            squares += (double) x[i] * x[i];
          float inv_rms = (float) (1.0 / sqrt (squares / (double) j->head_dim + j->eps));
          for (int64_t i = 0; i < j->half_rot; i++)
            {
              int64_t ia = i * first_stride, ib = ia + partner;
              float a = x[ia] * inv_rms, b = x[ib] * inv_rms;
              if (j->weight != NULL)
                {
                  a *= j->weight[ia];
                  b *= j->weight[ib];
                }
              y[ia] = a * c[i] - b * s[i];
              y[ib] = b * c[i] + a * s[i];
            }
          for (int64_t i = rotated; i < j->head_dim; i++)
            y[i] = j->weight != NULL ? x[i] * inv_rms * j->weight[i] : x[i] * inv_rms;
          continue;
        }
      for (int64_t i = 0; i < j->half_rot; i++)
        {
          int64_t ia = i * first_stride, ib = ia + partner;
          float a = x[ia], b = x[ib];
          y[ia] = a * c[i] - b * s[i];
          y[ib] = b * c[i] + a * s[i];
        }
      if (y != x && j->head_dim > rotated)
        memcpy (y + rotated, x + rotated, (size_t) (j->head_dim - rotated) * sizeof *y);
    }
}

td_status
td_cpu_rope (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0];
  rope_job job = {
    .x = td_tensor_host_data (x),
    .cos_table = td_tensor_host_data (op->src[1]),
    .sin_table = td_tensor_host_data (op->src[2]),
    .y = td_tensor_host_data (op->dst),
    .positions = x->shape[x->ndim - 3],
    .heads = x->shape[x->ndim - 2],
    .head_dim = x->shape[x->ndim - 1],
    .half_rot = op->src[1]->shape[1],
    .mode = op->p.rope.mode,
  };
  if (job.x == NULL || job.cos_table == NULL || job.sin_table == NULL || job.y == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "rope: the CPU backend needs host-addressable tensors");
  if (job.head_dim == 0 || job.heads == 0 || job.positions == 0)
    return TD_OK;
  int64_t rows = td_tensor_numel (x) / job.head_dim;
  td_parallel_for (td_threadpool_default (), rows, rope_rows, &job);
  return TD_OK;
}

td_status
td_cpu_rms_norm_rope (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0];
  rope_job job = {
    .x = td_tensor_host_data (x),
    .cos_table = td_tensor_host_data (op->src[2]),
    .sin_table = td_tensor_host_data (op->src[3]),
    .y = td_tensor_host_data (op->dst),
    .positions = x->shape[x->ndim - 3],
    .heads = x->shape[x->ndim - 2],
    .head_dim = x->shape[x->ndim - 1],
    .half_rot = op->src[2]->shape[1],
    .mode = op->p.rope_norm.mode,
    .eps = op->p.rope_norm.eps,
    .normalise = true,
  };
  if (job.x == NULL || job.cos_table == NULL || job.sin_table == NULL || job.y == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "rms_norm_rope: the CPU backend needs host-addressable tensors");
  if (job.head_dim == 0 || job.heads == 0 || job.positions == 0)
    return TD_OK;
  float *weight = NULL;
  td_status status = dense_param_f32 (op->src[1], &weight, "rms_norm_rope", err);
  if (status != TD_OK)
    return status;
  job.weight = weight;
  td_parallel_for (td_threadpool_default (), td_tensor_numel (x) / job.head_dim, rope_rows, &job);
  free (weight);
  return TD_OK;
}
