/* resize.c — image resampling on [B, C, H, W] f32 tensors on the CPU:
 * nearest 2× upsampling (the VAE decoder's Upsample2D), bilinear as
 * torch.nn.functional.interpolate (align_corners=False, antialias=False) and
 * bicubic as PIL's Image.resize(BICUBIC) on float images.
 */
#include "backend/cpu/cpu_kernels.h"
#include "core/bicubic.h"
#include "core/threads.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- nearest 2× ---------------------------------------------------------- */

typedef struct {
  const float *x;
  float *y;
  int64_t H, W;
} upsample_job;

static void
upsample_rows (void *ctx, int64_t begin, int64_t end)
{
  const upsample_job *j = ctx;
  for (int64_t row = begin; row < end; row++) /* row = plane · 2H + oy */
    {
      int64_t plane = row / (2 * j->H), oy = row % (2 * j->H);
      const float *src = j->x + (plane * j->H + oy / 2) * j->W;
      float *dst = j->y + row * 2 * j->W;
      for (int64_t ix = 0; ix < j->W; ix++)
        dst[2 * ix] = dst[2 * ix + 1] = src[ix];
    }
}

td_status
td_cpu_upsample_nearest2x (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0];
  upsample_job job = { td_tensor_host_data (x), td_tensor_host_data (op->dst), x->shape[2], x->shape[3] };
  if (job.x == NULL || job.y == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "upsample_nearest2x: the CPU backend needs host-addressable tensors");
  td_parallel_for (td_threadpool_default (), x->shape[0] * x->shape[1] * 2 * job.H, upsample_rows, &job);
  return TD_OK;
}

/* ---- bilinear (torch, align_corners=False) ------------------------------ */

/* For each output index along one axis: the two source indices and weights. */
typedef struct {
  int64_t i0, i1;
  float w0, w1;
} linear_tap;

/* torch computes in the input's precision (float): the source coordinate of
 * output o is (o + ½)·in/out − ½, clamped at 0; the right neighbour is clamped
 * at the edge. */
static void
linear_taps (int64_t in, int64_t out, linear_tap *taps)
{
  float scale = (float) in / (float) out;
  for (int64_t o = 0; o < out; o++)
    {
      float real = scale * ((float) o + 0.5f) - 0.5f;
      if (real < 0.0f)
        real = 0.0f;
      int64_t i0 = (int64_t) real;
      if (i0 > in - 1)
        i0 = in - 1;
      float lambda = real - (float) i0;
      lambda = lambda < 0.0f ? 0.0f : (lambda > 1.0f ? 1.0f : lambda);
      taps[o] = (linear_tap) { i0, i0 < in - 1 ? i0 + 1 : i0, 1.0f - lambda, lambda };
    }
}

typedef struct {
  const float *x;
  float *y;
  int64_t H, W, Ho, Wo;
  const linear_tap *rows, *cols;
} bilinear_job;

static void
bilinear_rows (void *ctx, int64_t begin, int64_t end)
{
  const bilinear_job *j = ctx;
  for (int64_t row = begin; row < end; row++) /* row = plane · Ho + oy */
    {
      int64_t plane = row / j->Ho;
      const linear_tap *ty = &j->rows[row % j->Ho];
      const float *top = j->x + (plane * j->H + ty->i0) * j->W;
      const float *bottom = j->x + (plane * j->H + ty->i1) * j->W;
      float *dst = j->y + row * j->Wo;
      for (int64_t ox = 0; ox < j->Wo; ox++)
        {
          const linear_tap *tx = &j->cols[ox];
          dst[ox] = ty->w0 * (tx->w0 * top[tx->i0] + tx->w1 * top[tx->i1])
                    + ty->w1 * (tx->w0 * bottom[tx->i0] + tx->w1 * bottom[tx->i1]);
        }
    }
}

td_status
td_cpu_resize_bilinear (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0];
  bilinear_job job = {
    .x = td_tensor_host_data (x), .y = td_tensor_host_data (op->dst),
    .H = x->shape[2], .W = x->shape[3], .Ho = op->dst->shape[2], .Wo = op->dst->shape[3],
  };
  if (job.x == NULL || job.y == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "resize_bilinear: the CPU backend needs host-addressable tensors");
  if (td_tensor_numel (op->dst) == 0)
    return TD_OK;
  linear_tap *taps = malloc ((size_t) (job.Ho + job.Wo) * sizeof *taps);
  if (taps == NULL)
    return td_error_set (err, TD_ERR_NO_MEMORY, "resize_bilinear: out of memory");
  linear_taps (job.H, job.Ho, taps);
  linear_taps (job.W, job.Wo, taps + job.Ho);
  job.rows = taps;
  job.cols = taps + job.Ho;
  td_parallel_for (td_threadpool_default (), x->shape[0] * x->shape[1] * job.Ho, bilinear_rows, &job);
  free (taps);
  return TD_OK;
}

/* ---- bicubic (PIL) ------------------------------------------------------- */

/* The per-axis weights are PIL's (core/bicubic.h). */

typedef struct {
  const float *src;
  float *dst;
  int64_t H, W, Ho, Wo;
  const td_bicubic_axis *axis;
} cubic_pass_job;

/* Horizontal pass: [planes, H, W] → [planes, H, Wo], one source row per task. */
static void
cubic_rows_horizontal (void *ctx, int64_t begin, int64_t end)
{
  const cubic_pass_job *j = ctx;
  for (int64_t row = begin; row < end; row++)
    {
      const float *src = j->src + row * j->W;
      float *dst = j->dst + row * j->Wo;
      for (int64_t ox = 0; ox < j->Wo; ox++)
        {
          const double *k = j->axis->weight + ox * j->axis->taps;
          const float *s = src + j->axis->first[ox];
          double sum = 0.0;
          for (int t = 0; t < j->axis->count[ox]; t++)
            sum += s[t] * k[t];
          dst[ox] = (float) sum;
        }
    }
}

/* Vertical pass: [planes, H, Wo] → [planes, Ho, Wo], one output row per task. */
static void
cubic_rows_vertical (void *ctx, int64_t begin, int64_t end)
{
  const cubic_pass_job *j = ctx;
  for (int64_t row = begin; row < end; row++) /* row = plane · Ho + oy */
    {
      int64_t plane = row / j->Ho, oy = row % j->Ho;
      const double *k = j->axis->weight + oy * j->axis->taps;
      const float *src = j->src + (plane * j->H + j->axis->first[oy]) * j->Wo;
      float *dst = j->dst + row * j->Wo;
      int taps = j->axis->count[oy];
      for (int64_t ox = 0; ox < j->Wo; ox++)
        {
          double sum = 0.0;
          for (int t = 0; t < taps; t++)
            sum += src[t * j->Wo + ox] * k[t];
          dst[ox] = (float) sum;
        }
    }
}

td_status
td_cpu_resize_bicubic (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0];
  const float *src = td_tensor_host_data (x);
  float *dst = td_tensor_host_data (op->dst);
  int64_t planes = x->shape[0] * x->shape[1];
  int64_t H = x->shape[2], W = x->shape[3], Ho = op->dst->shape[2], Wo = op->dst->shape[3];
  if (src == NULL || dst == NULL)
    return td_error_set (err, TD_ERR_INVALID_ARG, "resize_bicubic: the CPU backend needs host-addressable tensors");
  if (td_tensor_numel (op->dst) == 0)
    return TD_OK;

  /* Like PIL, an axis whose size does not change is not resampled. */
  td_bicubic_axis horizontal = { 0 }, vertical = { 0 };
  float *between = NULL;
  bool ok = (W == Wo || td_bicubic_axis_init (&horizontal, (int) W, (int) Wo))
            && (H == Ho || td_bicubic_axis_init (&vertical, (int) H, (int) Ho));
  if (ok && W != Wo && H != Ho)
    ok = (between = malloc ((size_t) (planes * H * Wo) * sizeof *between)) != NULL;
  if (!ok)
    {
      td_bicubic_axis_clear (&horizontal);
      td_bicubic_axis_clear (&vertical);
      return td_error_set (err, TD_ERR_NO_MEMORY, "resize_bicubic: out of memory");
    }

  td_threadpool *pool = td_threadpool_default ();
  const float *vertical_src = src;
  if (W != Wo)
    {
      cubic_pass_job h = { src, H != Ho ? between : dst, H, W, H, Wo, &horizontal };
      td_parallel_for (pool, planes * H, cubic_rows_horizontal, &h);
      vertical_src = h.dst;
    }
  if (H != Ho)
    {
      cubic_pass_job v = { vertical_src, dst, H, Wo, Ho, Wo, &vertical };
      td_parallel_for (pool, planes * Ho, cubic_rows_vertical, &v);
    }
  else if (W == Wo)
    memcpy (dst, src, td_tensor_nbytes (x));

  free (between);
  td_bicubic_axis_clear (&horizontal);
  td_bicubic_axis_clear (&vertical);
  return TD_OK;
}
