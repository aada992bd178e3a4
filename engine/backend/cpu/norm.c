/* norm.c — LAYER_NORM, ADA_LAYER_NORM (FLUX's modulation), RMS_NORM (T5LayerNorm, Qwen2
 * RMSNorm, FLUX QK-norm) and GROUP_NORM.
 *
 * Statistics are taken in double over f32 inputs, two passes (mean, then squared
 * deviations), so the reference is as exact as a float output can be. The affine
 * parameters may be f32, f16 or bf16 and are converted to f32 once per op.
 * Each row (or group) is read in full before it is written, so dst may alias src0.
 */
#include <math.h>

#include "backend/cpu/dense_util.h"

typedef struct norm_job {
  const float *x;
  float *y;
  const float *weight; /* [D] (layer/rms) or [C] (group), or NULL */
  const float *bias;   /* same, or NULL */
  bool one_plus_weight; /* ADA_LAYER_NORM: multiply by 1 + weight (the modulation's scale) */
  int64_t d;           /* row length (layer/rms) */
  float eps;
  /* group norm: x [B, C, S] with S = product of spatial dims */
  int64_t channels, spatial, groups;
} norm_job;

/* ---- LAYER_NORM: (x - mean) / sqrt(var + eps) · w + b over the last dim ---------------- */

static void
layer_norm_rows (void *data, int64_t begin, int64_t end)
{
  const norm_job *job = data;
  int64_t d = job->d;
  for (int64_t row = begin; row < end; row++)
    {
      const float *x = job->x + row * d;
      float *y = job->y + row * d;
      double sum = 0;
      for (int64_t i = 0; i < d; i++)
        sum += x[i];
      double mean = sum / (double) d;
      double squares = 0;
      for (int64_t i = 0; i < d; i++)
        squares += (x[i] - mean) * (x[i] - mean);
      float inv_std = (float) (1.0 / sqrt (squares / (double) d + job->eps));
      float mean_f = (float) mean;
      for (int64_t i = 0; i < d; i++)
        {
          float v = (x[i] - mean_f) * inv_std;
          if (job->weight != NULL)
            v *= job->one_plus_weight ? 1.0f + job->weight[i] : job->weight[i];
          if (job->bias != NULL)
            v += job->bias[i];
          y[i] = v;
        }
    }
}

/* ---- RMS_NORM: x / sqrt(mean(x²) + eps) · w over the last dim ------------------------ */

static void
rms_norm_rows (void *data, int64_t begin, int64_t end)
{
  const norm_job *job = data;
  int64_t d = job->d;
  for (int64_t row = begin; row < end; row++)
    {
      const float *x = job->x + row * d;
      float *y = job->y + row * d;
      double squares = 0;
      for (int64_t i = 0; i < d; i++)
        squares += (double) x[i] * x[i];
      float inv_rms = (float) (1.0 / sqrt (squares / (double) d + job->eps));
      for (int64_t i = 0; i < d; i++)
        y[i] = job->weight != NULL ? x[i] * inv_rms * job->weight[i] : x[i] * inv_rms;
    }
}

/* ---- GROUP_NORM: x [B, C, S] normalised over (C/groups × S) per group ------------------ */

static void
group_norm_groups (void *data, int64_t begin, int64_t end)
{
  const norm_job *job = data;
  int64_t per_group = job->channels / job->groups;
  int64_t count = per_group * job->spatial; /* elements in one group */
  for (int64_t index = begin; index < end; index++) /* index = batch · groups + group */
    {
      int64_t first_channel = (index % job->groups) * per_group;
      const float *x = job->x + index * count; /* a group is contiguous in [B, C, S] */
      float *y = job->y + index * count;
      double sum = 0;
      for (int64_t i = 0; i < count; i++)
        sum += x[i];
      double mean = count > 0 ? sum / (double) count : 0.0;
      double squares = 0;
      for (int64_t i = 0; i < count; i++)
        squares += (x[i] - mean) * (x[i] - mean);
      float inv_std = (float) (1.0 / sqrt ((count > 0 ? squares / (double) count : 0.0) + job->eps));
      float mean_f = (float) mean;
      for (int64_t c = 0; c < per_group; c++)
        {
          int64_t channel = first_channel + c;
          float w = job->weight != NULL ? job->weight[channel] : 1.0f;
          float b = job->bias != NULL ? job->bias[channel] : 0.0f;
          for (int64_t s = 0; s < job->spatial; s++)
            {
              int64_t i = c * job->spatial + s;
              y[i] = (x[i] - mean_f) * inv_std * w + b;
            }
        }
    }
}

/* Converts the affine parameters, runs fn over n items, frees them. */
static td_status
run_norm (const td_op *op, norm_job *job, int64_t n, td_range_fn fn, td_error *err)
{
  float *weight = NULL, *bias = NULL;
  td_status status = dense_param_f32 (op->src[1], &weight, td_op_name (op->type), err);
  if (status == TD_OK && op->type != TD_OP_RMS_NORM)
    status = dense_param_f32 (op->src[2], &bias, td_op_name (op->type), err);
  if (status == TD_OK)
    {
      job->weight = weight;
      job->bias = bias;
      dense_parallel (n, fn, job);
    }
  free (weight);
  free (bias);
  return status;
}

td_status
td_cpu_layer_norm (const td_op *op, td_error *err)
{
  norm_job job = { .x = dense_f32 (op->src[0]), .y = dense_f32 (op->dst), .d = dense_last_dim (op->src[0]),
                   .eps = op->p.norm.eps };
  return run_norm (op, &job, job.d > 0 ? dense_rows (op->src[0]) : 0, layer_norm_rows, err);
}

/* LN(x) · (1 + scale) + shift: scale and shift are f32 and take the weight and bias slots. */
td_status
td_cpu_ada_layer_norm (const td_op *op, td_error *err)
{
  norm_job job = { .x = dense_f32 (op->src[0]), .y = dense_f32 (op->dst), .d = dense_last_dim (op->src[0]),
                   .eps = op->p.norm.eps, .one_plus_weight = true,
                   .weight = dense_f32 (op->src[1]), .bias = dense_f32 (op->src[2]) };
  dense_parallel (job.d > 0 ? dense_rows (op->src[0]) : 0, layer_norm_rows, &job);
  return TD_OK;
}

td_status
td_cpu_rms_norm (const td_op *op, td_error *err)
{
  norm_job job = { .x = dense_f32 (op->src[0]), .y = dense_f32 (op->dst), .d = dense_last_dim (op->src[0]),
                   .eps = op->p.norm.eps };
  return run_norm (op, &job, job.d > 0 ? dense_rows (op->src[0]) : 0, rms_norm_rows, err);
}

td_status
td_cpu_group_norm (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0];
  norm_job job = { .x = dense_f32 (x), .y = dense_f32 (op->dst), .eps = op->p.norm.eps,
                   .channels = x->shape[1], .spatial = 1, .groups = op->p.norm.groups };
  for (int i = 2; i < x->ndim; i++)
    job.spatial *= x->shape[i];
  return run_norm (op, &job, x->shape[0] * job.groups, group_norm_groups, err);
}
