/* elementwise.c — ADD and MUL with broadcasting, SCALE and the UNARY activations.
 *
 * All of them may run in place (dst == src0). Work is split into pieces of at most
 * PIECE elements so a single long row still spreads over the threads.
 */
#include <math.h>

#include "backend/cpu/dense_util.h"

#define PIECE 16384 /* elements per parallel work item */
#define CHUNK 256   /* elements of src1 converted to f32 at a time */

/* ---- ADD, MUL ---------------------------------------------------------------------- */

typedef struct binary_job {
  bool multiply;
  const float *a;                 /* src0, shape `shape` */
  const unsigned char *b;         /* src1 in its dtype */
  td_dtype b_dtype;
  float *y;                       /* same shape as a */
  int outer_ndim;                 /* dims of a before the last */
  int64_t shape[TD_MAX_DIMS];     /* a's shape; the last dim is `inner` */
  int64_t b_stride[TD_MAX_DIMS];  /* b's strides aligned to a's dims, 0 where b broadcasts */
  int64_t inner;
  int64_t pieces_per_row;
} binary_job;

/* Element offset into b of the first element of a's row `row`. */
static int64_t
broadcast_row_offset (const binary_job *job, int64_t row)
{
  int64_t offset = 0;
  for (int d = job->outer_ndim - 1; d >= 0; d--)
    {
      offset += (row % job->shape[d]) * job->b_stride[d];
      row /= job->shape[d];
    }
  return offset;
}

static void
binary_pieces (void *data, int64_t begin, int64_t end)
{
  const binary_job *job = data;
  size_t b_elem = td_dtype_size (job->b_dtype);
  int64_t b_inner_stride = job->b_stride[job->outer_ndim];
  float other[CHUNK];

  for (int64_t piece = begin; piece < end; piece++)
    {
      int64_t row = piece / job->pieces_per_row;
      int64_t start = (piece % job->pieces_per_row) * PIECE;
      int64_t stop = start + PIECE < job->inner ? start + PIECE : job->inner;
      int64_t b_row = broadcast_row_offset (job, row);
      const float *a = job->a + row * job->inner;
      float *y = job->y + row * job->inner;

      for (int64_t i0 = start; i0 < stop; i0 += CHUNK)
        {
          int64_t n = stop - i0 < CHUNK ? stop - i0 : CHUNK;
          if (b_inner_stride == 0)
            {
              float value;
              td_convert_to_f32 (&value, job->b + (size_t) b_row * b_elem, job->b_dtype, 1);
              for (int64_t i = 0; i < n; i++)
                other[i] = value;
            }
          else
            td_convert_to_f32 (other, job->b + (size_t) (b_row + i0) * b_elem, job->b_dtype, (size_t) n);

          if (job->multiply)
            for (int64_t i = 0; i < n; i++)
              y[i0 + i] = a[i0 + i] * other[i];
          else
            for (int64_t i = 0; i < n; i++)
              y[i0 + i] = a[i0 + i] + other[i];
        }
    }
}

td_status
td_cpu_binary (const td_op *op, td_error *err)
{
  const td_tensor *a = op->src[0], *b = op->src[1];
  binary_job job = {
    .multiply = op->type == TD_OP_MUL,
    .a = dense_f32 (a),
    .b = td_tensor_host_data (b),
    .b_dtype = b->dtype,
    .y = dense_f32 (op->dst),
    .outer_ndim = a->ndim > 0 ? a->ndim - 1 : 0,
    .inner = dense_last_dim (a),
  };

  /* Right-align b's dims with a's (numpy rules); b is contiguous. */
  int64_t b_contiguous_stride = 1;
  int dims = a->ndim > 0 ? a->ndim : 1;
  for (int d = dims - 1; d >= 0; d--)
    {
      int bd = d - (dims - b->ndim);
      job.shape[d] = a->ndim > 0 ? a->shape[d] : 1;
      if (bd < 0 || b->shape[bd] == 1)
        job.b_stride[d] = 0;
      else
        job.b_stride[d] = b_contiguous_stride;
      if (bd >= 0)
        b_contiguous_stride *= b->shape[bd];
    }

  int64_t rows = dense_rows (a);
  job.pieces_per_row = (job.inner + PIECE - 1) / PIECE;
  dense_parallel (rows * job.pieces_per_row, binary_pieces, &job);
  return TD_OK;
}

/* ---- SCALE ------------------------------------------------------------------------- */

typedef struct flat_job {
  const float *x;
  float *y;
  int64_t n;
  td_op_params p;
} flat_job;

static void
scale_pieces (void *data, int64_t begin, int64_t end)
{
  const flat_job *job = data;
  float scale = job->p.scale.scale, bias = job->p.scale.bias;
  int64_t stop = end * PIECE < job->n ? end * PIECE : job->n;
  for (int64_t i = begin * PIECE; i < stop; i++)
    job->y[i] = job->x[i] * scale + bias;
}

td_status
td_cpu_scale (const td_op *op, td_error *err)
{
  flat_job job = { .x = dense_f32 (op->src[0]), .y = dense_f32 (op->dst), .n = td_tensor_numel (op->dst), .p = op->p };
  dense_parallel ((job.n + PIECE - 1) / PIECE, scale_pieces, &job);
  return TD_OK;
}

/* ---- UNARY ------------------------------------------------------------------------- */

static inline float
sigmoid (float x)
{
  return 1.0f / (1.0f + expf (-x));
}

/* y = f(x) over n elements; one loop per kind so each stays simple and fast. */
void
td_cpu_activation (td_unary_kind kind, const float *x, float *y, int64_t n)
{
  const float inv_sqrt2 = 0.70710678118654752f;
  const float sqrt_2_over_pi = 0.79788456080286536f;
  switch (kind)
    {
    case TD_UNARY_GELU:
      /* x · Φ(x) = x/2 · (1 + erf(x/√2)) = x/2 · erfc(-x/√2); erfc keeps the
       * negative tail accurate where 1 + erf would cancel. */
      for (int64_t i = 0; i < n; i++)
        y[i] = 0.5f * x[i] * erfcf (-x[i] * inv_sqrt2);
      break;
    case TD_UNARY_GELU_TANH:
      /* x/2 · (1 + tanh(u)) with u = √(2/π) · (x + 0.044715 x³), written as x · σ(2u)
       * (the same value) so the negative tail does not cancel. */
      for (int64_t i = 0; i < n; i++)
        {
          float v = x[i];
          y[i] = v * sigmoid (2.0f * sqrt_2_over_pi * (v + 0.044715f * v * v * v));
        }
      break;
    case TD_UNARY_SILU:
      for (int64_t i = 0; i < n; i++)
        y[i] = x[i] * sigmoid (x[i]);
      break;
    case TD_UNARY_QUICK_GELU:
      for (int64_t i = 0; i < n; i++)
        y[i] = x[i] * sigmoid (1.702f * x[i]);
      break;
    case TD_UNARY_RELU:
      for (int64_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
      break;
    case TD_UNARY_TANH:
      for (int64_t i = 0; i < n; i++)
        y[i] = tanhf (x[i]);
      break;
    case TD_UNARY_SIGMOID:
      for (int64_t i = 0; i < n; i++)
        y[i] = sigmoid (x[i]);
      break;
    case TD_UNARY_COUNT:
    default:
      break; /* rejected by validation */
    }
}

static void
unary_pieces (void *data, int64_t begin, int64_t end)
{
  const flat_job *job = data;
  int64_t start = begin * PIECE;
  int64_t stop = end * PIECE < job->n ? end * PIECE : job->n;
  td_cpu_activation (job->p.unary.kind, job->x + start, job->y + start, stop - start);
}

td_status
td_cpu_unary (const td_op *op, td_error *err)
{
  flat_job job = { .x = dense_f32 (op->src[0]), .y = dense_f32 (op->dst), .n = td_tensor_numel (op->dst), .p = op->p };
  dense_parallel ((job.n + PIECE - 1) / PIECE, unary_pieces, &job);
  return TD_OK;
}
