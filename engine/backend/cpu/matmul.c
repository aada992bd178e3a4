/* matmul.c — y[..., M, N] = x[..., M, K] · wᵀ + bias, the CPU reference.
 *
 * The weight is [N, K] (one matrix for every row of x) or [B, N, K] (one per batch,
 * B = product of x's leading dims); it is read in its stored dtype (f32, f16, bf16,
 * fp8, or a ggml block type decoded by core/quant.c) and everything accumulates in f32.
 *
 * Work is cut into tiles (batch, block of weight rows, block of x rows). A task converts
 * its block of weight rows to f32 once and reuses it for every x row of the tile; the
 * blocks are sized to stay in L2. Dot products keep DOT_LANES partial sums so gcc
 * vectorises them without -ffast-math (a plain `sum += a * b` loop is a serial chain
 * that it may not reorder).
 */
#include <stdatomic.h>
#include <string.h>

#include "backend/cpu/dense_util.h"

#define DOT_LANES 8                   /* partial sums per dot product */
#define X_ROWS 4                      /* x rows that share one pass over a weight row */
#define M_BLOCK 64                    /* x rows per tile */
#define W_BLOCK_BYTES (128 * 1024)    /* f32 bytes of weight rows per tile */

typedef struct matmul_job {
  const float *x;       /* [B, M, K] */
  const void *w;        /* [B or 1, N, K], stored dtype */
  td_dtype w_dtype;
  int64_t w_batch_stride; /* elements between batch matrices; 0 when shared */
  const float *bias;    /* [N] in f32, or NULL */
  bool activate;        /* epilogue: activation after the bias */
  td_unary_kind activation;
  float *y;             /* [B, M, N] */
  int64_t batches, m, n, k;
  int64_t n_block;      /* weight rows per tile */
  int64_t n_blocks, m_blocks;
  atomic_bool out_of_memory;
} matmul_job;

/* out[r] = x_r · w for the X_ROWS rows x_r = x + r·k:  [X_ROWS, K] · [K] → [X_ROWS] */
static void
dot_rows4 (const float *x, const float *w, int64_t k, float out[X_ROWS])
{
  const float *x0 = x, *x1 = x + k, *x2 = x + 2 * k, *x3 = x + 3 * k;
  float a0[DOT_LANES] = { 0 }, a1[DOT_LANES] = { 0 }, a2[DOT_LANES] = { 0 }, a3[DOT_LANES] = { 0 };
  int64_t i = 0;
  for (; i + DOT_LANES <= k; i += DOT_LANES)
    for (int l = 0; l < DOT_LANES; l++)
      {
        float wv = w[i + l];
        a0[l] += x0[i + l] * wv;
        a1[l] += x1[i + l] * wv;
        a2[l] += x2[i + l] * wv;
        a3[l] += x3[i + l] * wv;
      }
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (int l = 0; l < DOT_LANES; l++)
    {
      s0 += a0[l];
      s1 += a1[l];
      s2 += a2[l];
      s3 += a3[l];
    }
  for (; i < k; i++)
    {
      s0 += x0[i] * w[i];
      s1 += x1[i] * w[i];
      s2 += x2[i] * w[i];
      s3 += x3[i] * w[i];
    }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}

/* x · w:  [K] · [K] → scalar */
static float
dot_row (const float *x, const float *w, int64_t k)
{
  float acc[DOT_LANES] = { 0 };
  int64_t i = 0;
  for (; i + DOT_LANES <= k; i += DOT_LANES)
    for (int l = 0; l < DOT_LANES; l++)
      acc[l] += x[i + l] * w[i + l];
  float sum = 0;
  for (int l = 0; l < DOT_LANES; l++)
    sum += acc[l];
  for (; i < k; i++)
    sum += x[i] * w[i];
  return sum;
}

/* One tile: y[m0:m1, n0:n0+nw] = x[m0:m1, :] · w[0:nw, :]ᵀ + bias[n0:n0+nw]
 * with x [M, K], w [nw, K] (already f32), y [M, N]. */
static void
multiply_tile (const float *x, const float *w, const float *bias, float *y, int64_t m0, int64_t m1,
               int64_t n0, int64_t nw, int64_t k, int64_t n)
{
  int64_t m = m0;
  for (; m + X_ROWS <= m1; m += X_ROWS)
    for (int64_t j = 0; j < nw; j++)
      {
        float d[X_ROWS];
        dot_rows4 (x + m * k, w + j * k, k, d);
        float b = bias != NULL ? bias[n0 + j] : 0.0f;
        for (int r = 0; r < X_ROWS; r++)
          y[(m + r) * n + n0 + j] = d[r] + b;
      }
  for (; m < m1; m++)
    for (int64_t j = 0; j < nw; j++)
      y[m * n + n0 + j] = dot_row (x + m * k, w + j * k, k) + (bias != NULL ? bias[n0 + j] : 0.0f);
}

/* Runs tiles [begin, end). Tiles are numbered ((batch · n_blocks) + n block) · m_blocks + m block,
 * so consecutive tiles share a weight block and convert it only once. */
static void
matmul_tiles (void *data, int64_t begin, int64_t end)
{
  matmul_job *job = data;
  float *w_f32 = NULL;
  int64_t converted = -1; /* which (batch, n block) w_f32 holds */

  if (job->w_dtype != TD_F32)
    {
      w_f32 = malloc ((size_t) (job->n_block * job->k) * sizeof *w_f32 + 1); /* + 1: never malloc (0) */
      if (w_f32 == NULL)
        {
          atomic_store (&job->out_of_memory, true);
          return;
        }
    }

  for (int64_t tile = begin; tile < end; tile++)
    {
      int64_t weight_block = tile / job->m_blocks;
      int64_t m_block = tile % job->m_blocks;
      int64_t batch = weight_block / job->n_blocks;
      int64_t n0 = (weight_block % job->n_blocks) * job->n_block;
      int64_t nw = job->n - n0 < job->n_block ? job->n - n0 : job->n_block;
      int64_t w_start = batch * job->w_batch_stride + n0 * job->k; /* element of w[batch, n0, 0] */

      const float *w;
      if (job->w_dtype == TD_F32)
        w = (const float *) job->w + w_start;
      else
        {
          if (converted != weight_block)
            {
              /* Rows hold whole blocks (the op check), so w_start falls on a block boundary. */
              size_t w_offset = 0;
              td_dtype_nbytes (job->w_dtype, w_start, &w_offset);
              td_convert_to_f32 (w_f32, (const unsigned char *) job->w + w_offset, job->w_dtype,
                                 (size_t) (nw * job->k));
              converted = weight_block;
            }
          w = w_f32;
        }

      int64_t m0 = m_block * M_BLOCK;
      int64_t m1 = m0 + M_BLOCK < job->m ? m0 + M_BLOCK : job->m;
      float *y = job->y + batch * job->m * job->n;
      multiply_tile (job->x + batch * job->m * job->k, w, job->bias, y, m0, m1, n0, nw, job->k, job->n);
      if (job->activate)
        for (int64_t m = m0; m < m1; m++)
          td_cpu_activation (job->activation, y + m * job->n + n0, y + m * job->n + n0, nw);
    }
  free (w_f32);
}

td_status
td_cpu_matmul (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0], *w = op->src[1];
  matmul_job job = {
    .x = dense_f32 (x),
    .w = td_tensor_host_data (w),
    .w_dtype = w->dtype,
    .activate = op->p.matmul.activate,
    .activation = op->p.matmul.activation,
    .y = dense_f32 (op->dst),
    .k = dense_last_dim (x),
    .n = w->shape[w->ndim - 2], /* w is [N, K] or [B, N, K] */
  };
  if (w->ndim == 3)
    {
      /* Batched: x [..., M, K] with leading dims of product B. */
      job.batches = w->shape[0];
      job.m = x->ndim >= 2 ? x->shape[x->ndim - 2] : 1;
      job.w_batch_stride = job.n * job.k;
    }
  else
    {
      /* Shared weight: every row of x is one of M rows. */
      job.batches = 1;
      job.m = dense_rows (x);
    }
  if (job.batches == 0 || job.m == 0 || job.n == 0)
    return TD_OK;

  float *bias = NULL;
  td_status status = dense_param_f32 (op->src[2], &bias, "matmul", err);
  if (status != TD_OK)
    return status;
  job.bias = bias;

  int64_t rows_fit = W_BLOCK_BYTES / (int64_t) sizeof (float) / (job.k > 0 ? job.k : 1);
  job.n_block = rows_fit < 1 ? 1 : rows_fit > job.n ? job.n : rows_fit;
  job.n_blocks = (job.n + job.n_block - 1) / job.n_block;
  job.m_blocks = (job.m + M_BLOCK - 1) / M_BLOCK;
  atomic_init (&job.out_of_memory, false);

  dense_parallel (job.batches * job.n_blocks * job.m_blocks, matmul_tiles, &job);

  free (bias);
  if (atomic_load (&job.out_of_memory))
    return td_error_set (err, TD_ERR_NO_MEMORY, "matmul: out of memory converting a block of %lld weight rows",
                         (long long) job.n_block);
  return TD_OK;
}
