/* attention.c — fused scaled-dot-product attention on the CPU.
 *
 * out[b, i, h, :] = Σ_j softmax_j(scale · q[b,i,h]·k[b,j,g] + bias[b,h,i,j]) · v[b,j,g]
 * with g = h / (H / Hkv) (grouped-query attention) and, when causal, only keys
 * j ≤ i + Tk − Tq. The softmax is computed online (running max m, running sum l,
 * rescaled accumulator) over tiles of keys, so memory is O(Dv) per query row
 * whatever Tk is. A row whose keys are all masked gives zeros, not NaN.
 *
 * Work is split over (batch, head, block of query rows); each block walks the
 * keys tile by tile so a tile of k/v stays in cache for all rows of the block.
 * Keys and values kept in f16/bf16 (a key/value cache) are widened to f32 once
 * per call, so the scores are those of the f32 path on the rounded values.
 */
#include "backend/cpu/cpu_kernels.h"
#include "core/threads.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
  QUERY_BLOCK = 16, /* query rows sharing one pass over the keys */
  KEY_TILE = 64,    /* keys scored before each rescale of the accumulator */
};

typedef struct {
  const float *q, *k, *v, *bias;
  float *out;
  int64_t B, Tq, Tk, H, Hkv, D, Dv;
  int64_t bias_b, bias_h; /* bias batch and head extents (1 = broadcast) */
  float scale;
  bool causal;
  int64_t query_blocks;
  int failed; /* set when a worker could not allocate its scratch */
} attention_job;

/* Running state of one query row. */
typedef struct {
  float max, sum;
  float *acc; /* [Dv] */
} row_state;

/* Number of keys row i may see: Tk, or i + Tk − Tq + 1 when causal (clamped). */
static int64_t
visible_keys (const attention_job *j, int64_t i)
{
  if (!j->causal)
    return j->Tk;
  int64_t limit = i + j->Tk - j->Tq + 1;
  return limit < 0 ? 0 : (limit > j->Tk ? j->Tk : limit);
}

static float
dot (const float *a, const float *b, int64_t n)
{
  float s = 0.0f;
  for (int64_t d = 0; d < n; d++)
    s += a[d] * b[d];
  return s;
}

/* Folds keys [key_from, key_to) into one row's online softmax. */
static void
fold_key_tile (const attention_job *j, int64_t b, int64_t h, int64_t i, int64_t key_from, int64_t key_to,
               row_state *row, float *scores)
{
  int64_t g = h / (j->H / j->Hkv);
  const float *q = j->q + ((b * j->Tq + i) * j->H + h) * j->D;
  const float *bias_row = NULL;
  if (j->bias != NULL)
    {
      int64_t bb = j->bias_b == 1 ? 0 : b, bh = j->bias_h == 1 ? 0 : h;
      bias_row = j->bias + ((bb * j->bias_h + bh) * j->Tq + i) * j->Tk;
    }

  float tile_max = -INFINITY;
  for (int64_t key = key_from; key < key_to; key++)
    {
      const float *k = j->k + ((b * j->Tk + key) * j->Hkv + g) * j->D;
      float s = j->scale * dot (q, k, j->D);
      if (bias_row != NULL)
        s += bias_row[key];
      scores[key - key_from] = s;
      if (s > tile_max)
        tile_max = s;
    }
  if (tile_max == -INFINITY)
    return; /* every key of this tile is masked out */

  float new_max = tile_max > row->max ? tile_max : row->max;
  if (new_max != row->max)
    {
      /* Rescale what was accumulated under the old max (exp(−inf) = 0 at the start). */
      float correction = expf (row->max - new_max);
      row->sum *= correction;
      for (int64_t d = 0; d < j->Dv; d++)
        row->acc[d] *= correction;
      row->max = new_max;
    }
  for (int64_t key = key_from; key < key_to; key++)
    {
      float p = expf (scores[key - key_from] - new_max);
      if (p == 0.0f)
        continue;
      const float *v = j->v + ((b * j->Tk + key) * j->Hkv + g) * j->Dv;
      row->sum += p;
      for (int64_t d = 0; d < j->Dv; d++)
        row->acc[d] += p * v[d];
    }
}

static void
attend_block (const attention_job *j, int64_t task, row_state *rows, float *scores)
{
  int64_t block = task % j->query_blocks;
  int64_t h = (task / j->query_blocks) % j->H;
  int64_t b = task / (j->query_blocks * j->H);
  int64_t i0 = block * QUERY_BLOCK;
  int64_t n_rows = j->Tq - i0 < QUERY_BLOCK ? j->Tq - i0 : QUERY_BLOCK;

  for (int64_t r = 0; r < n_rows; r++)
    {
      rows[r].max = -INFINITY;
      rows[r].sum = 0.0f;
      memset (rows[r].acc, 0, (size_t) j->Dv * sizeof (float));
    }
  /* The last row of the block sees the most keys under a causal mask. */
  int64_t key_end = visible_keys (j, i0 + n_rows - 1);
  for (int64_t key_from = 0; key_from < key_end; key_from += KEY_TILE)
    for (int64_t r = 0; r < n_rows; r++)
      {
        int64_t limit = visible_keys (j, i0 + r);
        int64_t key_to = key_from + KEY_TILE < limit ? key_from + KEY_TILE : limit;
        if (key_to > key_from)
          fold_key_tile (j, b, h, i0 + r, key_from, key_to, &rows[r], scores);
      }
  for (int64_t r = 0; r < n_rows; r++)
    {
      float *out = j->out + ((b * j->Tq + i0 + r) * j->H + h) * j->Dv;
      float inv = rows[r].sum > 0.0f ? 1.0f / rows[r].sum : 0.0f;
      for (int64_t d = 0; d < j->Dv; d++)
        out[d] = rows[r].acc[d] * inv;
    }
}

static void
attend_range (void *ctx, int64_t begin, int64_t end)
{
  attention_job *j = ctx;
  size_t acc_floats = (size_t) QUERY_BLOCK * (size_t) (j->Dv > 0 ? j->Dv : 1);
  float *scratch = malloc ((acc_floats + KEY_TILE) * sizeof (float));
  if (scratch == NULL)
    {
      __atomic_store_n (&j->failed, 1, __ATOMIC_RELAXED);
      return;
    }
  row_state rows[QUERY_BLOCK];
  for (int r = 0; r < QUERY_BLOCK; r++)
    rows[r].acc = scratch + (size_t) r * (size_t) j->Dv;
  float *scores = scratch + acc_floats;
  for (int64_t task = begin; task < end; task++)
    attend_block (j, task, rows, scores);
  free (scratch);
}

/* k or v as f32: its own data, or a widened copy in *copy (freed by the caller). */
static const float *
as_f32 (const td_tensor *t, float **copy)
{
  const void *data = td_tensor_host_data (t);
  *copy = NULL;
  if (data == NULL || t->dtype == TD_F32)
    return data;
  size_t n = (size_t) td_tensor_numel (t);
  *copy = malloc ((n > 0 ? n : 1) * sizeof (float));
  if (*copy != NULL)
    td_convert_to_f32 (*copy, data, t->dtype, n);
  return *copy;
}

static td_status
attend (const td_op *op, const float *k_data, const float *v_data, td_error *err)
{
  const td_tensor *q = op->src[0], *k = op->src[1], *v = op->src[2], *bias = op->src[3];
  attention_job job = {
    .q = td_tensor_host_data (q),
    .k = k_data,
    .v = v_data,
    .bias = bias != NULL ? td_tensor_host_data (bias) : NULL,
    .out = td_tensor_host_data (op->dst),
    .B = q->shape[0], .Tq = q->shape[1], .H = q->shape[2], .D = q->shape[3],
    .Tk = k->shape[1], .Hkv = k->shape[2], .Dv = v->shape[3],
    .bias_b = bias != NULL ? bias->shape[0] : 1,
    .bias_h = bias != NULL ? bias->shape[1] : 1,
    .scale = op->p.attention.scale,
    .causal = op->p.attention.causal,
  };
  if (job.q == NULL || job.k == NULL || job.v == NULL || job.out == NULL || (bias != NULL && job.bias == NULL))
    return td_error_set (err, TD_ERR_INVALID_ARG, "attention: the CPU backend needs host-addressable tensors");
  if (job.B == 0 || job.Tq == 0 || job.H == 0 || job.Dv == 0)
    return TD_OK;
  job.query_blocks = (job.Tq + QUERY_BLOCK - 1) / QUERY_BLOCK;
  td_parallel_for (td_threadpool_default (), job.B * job.H * job.query_blocks, attend_range, &job);
  if (job.failed)
    return td_error_set (err, TD_ERR_NO_MEMORY, "attention: out of memory for per-thread scratch");
  return TD_OK;
}

td_status
td_cpu_attention (const td_op *op, td_error *err)
{
  float *k_copy, *v_copy;
  const float *k = as_f32 (op->src[1], &k_copy), *v = as_f32 (op->src[2], &v_copy);
  td_status st;
  if ((op->src[1]->dtype != TD_F32 && k_copy == NULL && td_tensor_host_data (op->src[1]) != NULL)
      || (op->src[2]->dtype != TD_F32 && v_copy == NULL && td_tensor_host_data (op->src[2]) != NULL))
    st = td_error_set (err, TD_ERR_NO_MEMORY, "attention: out of memory widening the %s keys and values",
                       td_dtype_name (op->src[1]->dtype));
  else
    st = attend (op, k, v, err);
  free (k_copy);
  free (v_copy);
  return st;
}
