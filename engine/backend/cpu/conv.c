/* conv.c — 2-D convolution (groups = 1, zero padding) on the CPU.
 *
 * y[b, co, oy, ox] = bias[co] + Σ_{ci, ky, kx} w[co, ci, ky, kx] · x[b, ci, oy·sh + ky − ph, ox·sw + kx − pw]
 *
 * A direct loop: the weights are converted to f32 once, then each task computes
 * one output row for a block of output channels, accumulating whole rows so the
 * innermost loop runs along x (contiguous when the stride is 1, which is what
 * the compiler vectorises). Padding is handled by clipping each kernel tap's
 * range of output columns instead of testing every pixel.
 */
#include "backend/cpu/cpu_kernels.h"
#include "core/threads.h"

#include <stdlib.h>
#include <string.h>

enum { CHANNEL_BLOCK = 8 }; /* output channels sharing each pass over an input row */

typedef struct {
  const float *x;
  const float *w;    /* [Cout, Cin·kh·kw] in f32 */
  const float *bias; /* [Cout] or NULL */
  float *y;
  int64_t B, Cin, H, W, Cout, Ho, Wo, kh, kw;
  int64_t sh, sw, ph, pw;
  int64_t channel_blocks;
  int failed;
} conv_job;

/* Output columns [*lo, *hi) whose input column ox·sw + kx − pw lies inside [0, W). */
static void
valid_columns (const conv_job *j, int64_t kx, int64_t *lo, int64_t *hi)
{
  int64_t first = j->pw - kx; /* smallest ox·sw that is in range */
  *lo = first > 0 ? (first + j->sw - 1) / j->sw : 0;
  int64_t last = j->W - 1 + j->pw - kx;
  *hi = last < 0 ? 0 : last / j->sw + 1;
  if (*hi > j->Wo)
    *hi = j->Wo;
  if (*lo > *hi)
    *lo = *hi;
}

/* acc[c][ox] += Σ over one input row's kernel taps, for channels co0 .. co0 + n_ch. */
static void
accumulate_row (const conv_job *j, const float *xrow, int64_t ci, int64_t ky, int64_t co0, int64_t n_ch, float *acc)
{
  int64_t k_per_co = j->Cin * j->kh * j->kw;
  for (int64_t kx = 0; kx < j->kw; kx++)
    {
      int64_t lo, hi;
      valid_columns (j, kx, &lo, &hi);
      if (lo >= hi)
        continue;
      int64_t offset = kx - j->pw; /* input column of output column 0, before the stride */
      for (int64_t c = 0; c < n_ch; c++)
        {
          float wv = j->w[(co0 + c) * k_per_co + (ci * j->kh + ky) * j->kw + kx];
          float *a = acc + c * j->Wo;
          if (j->sw == 1)
            {
              const float *src = xrow + lo + offset;
              float *dst = a + lo;
              for (int64_t n = 0; n < hi - lo; n++)
                dst[n] += wv * src[n];
            }
          else
            for (int64_t ox = lo; ox < hi; ox++)
              a[ox] += wv * xrow[ox * j->sw + offset];
        }
    }
}

static void
conv_task (const conv_job *j, int64_t task, float *acc)
{
  int64_t block = task % j->channel_blocks;
  int64_t oy = (task / j->channel_blocks) % j->Ho;
  int64_t b = task / (j->channel_blocks * j->Ho);
  int64_t co0 = block * CHANNEL_BLOCK;
  int64_t n_ch = j->Cout - co0 < CHANNEL_BLOCK ? j->Cout - co0 : CHANNEL_BLOCK;

  memset (acc, 0, (size_t) (n_ch * j->Wo) * sizeof *acc);
  for (int64_t ci = 0; ci < j->Cin; ci++)
    for (int64_t ky = 0; ky < j->kh; ky++)
      {
        int64_t iy = oy * j->sh + ky - j->ph;
        if (iy < 0 || iy >= j->H)
          continue; /* a zero-padding row */
        const float *xrow = j->x + ((b * j->Cin + ci) * j->H + iy) * j->W;
        accumulate_row (j, xrow, ci, ky, co0, n_ch, acc);
      }
  for (int64_t c = 0; c < n_ch; c++)
    {
      float add = j->bias != NULL ? j->bias[co0 + c] : 0.0f;
      float *out = j->y + ((b * j->Cout + co0 + c) * j->Ho + oy) * j->Wo;
      for (int64_t ox = 0; ox < j->Wo; ox++)
        out[ox] = acc[c * j->Wo + ox] + add;
    }
}

static void
conv_range (void *ctx, int64_t begin, int64_t end)
{
  conv_job *j = ctx;
  float *acc = malloc ((size_t) (CHANNEL_BLOCK * j->Wo) * sizeof *acc);
  if (acc == NULL)
    {
      __atomic_store_n (&j->failed, 1, __ATOMIC_RELAXED);
      return;
    }
  for (int64_t task = begin; task < end; task++)
    conv_task (j, task, acc);
  free (acc);
}

/* A new f32 copy of a float tensor of any dtype (weights and bias). */
static float *
to_f32_array (const td_tensor *t, td_error *err)
{
  size_t n = (size_t) td_tensor_numel (t);
  float *out = malloc ((n ? n : 1) * sizeof *out);
  if (out == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "conv2d: out of memory converting %zu weights to f32", n);
      return NULL;
    }
  td_convert_to_f32 (out, td_tensor_host_data (t), t->dtype, n);
  return out;
}

td_status
td_cpu_conv2d (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0], *w = op->src[1], *bias = op->src[2];
  conv_job job = {
    .x = td_tensor_host_data (x),
    .y = td_tensor_host_data (op->dst),
    .B = x->shape[0], .Cin = x->shape[1], .H = x->shape[2], .W = x->shape[3],
    .Cout = w->shape[0], .kh = w->shape[2], .kw = w->shape[3],
    .Ho = op->dst->shape[2], .Wo = op->dst->shape[3],
    .sh = op->p.conv2d.stride_h, .sw = op->p.conv2d.stride_w,
    .ph = op->p.conv2d.pad_h, .pw = op->p.conv2d.pad_w,
  };
  if (job.x == NULL || job.y == NULL || td_tensor_host_data (w) == NULL
      || (bias != NULL && td_tensor_host_data (bias) == NULL))
    return td_error_set (err, TD_ERR_INVALID_ARG, "conv2d: the CPU backend needs host-addressable tensors");
  if (td_tensor_numel (op->dst) == 0)
    return TD_OK;

  float *w32 = to_f32_array (w, err);
  float *bias32 = NULL;
  if (w32 == NULL)
    return TD_ERR_NO_MEMORY;
  if (bias != NULL && (bias32 = to_f32_array (bias, err)) == NULL)
    {
      free (w32);
      return TD_ERR_NO_MEMORY;
    }
  job.w = w32;
  job.bias = bias32;
  job.channel_blocks = (job.Cout + CHANNEL_BLOCK - 1) / CHANNEL_BLOCK;
  td_parallel_for (td_threadpool_default (), job.B * job.Ho * job.channel_blocks, conv_range, &job);
  free (w32);
  free (bias32);
  if (job.failed)
    return td_error_set (err, TD_ERR_NO_MEMORY, "conv2d: out of memory for per-thread scratch");
  return TD_OK;
}
