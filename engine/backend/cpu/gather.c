/* gather.c — ops that move data rather than compute on it: EMBEDDING (rows of a table
 * picked by id), CONCAT (two tensors along one dim) and COPY (any strided view of any
 * float dtype into a contiguous tensor, converting the dtype on the way).
 */
#include <string.h>

#include "backend/cpu/dense_util.h"

#define PIECE 16384 /* elements per parallel work item */

/* ---- EMBEDDING: ids [...] i32, table [V, D] → y [..., D] f32 -------------------------- */
/* A table of a ggml block type is read as stored: each row holds D / block values whole
 * blocks, decoded by core/quant.c. */

typedef struct embedding_job {
  const int32_t *ids;
  const unsigned char *table;
  td_dtype table_dtype;
  int64_t d;
  float *y;
} embedding_job;

static void
embedding_rows (void *data, int64_t begin, int64_t end)
{
  const embedding_job *job = data;
  size_t row_bytes = 0;
  td_dtype_nbytes (job->table_dtype, job->d, &row_bytes); /* whole blocks: tensors hold no other rows */
  for (int64_t i = begin; i < end; i++)
    td_convert_to_f32 (job->y + i * job->d, job->table + (size_t) job->ids[i] * row_bytes, job->table_dtype,
                       (size_t) job->d);
}

td_status
td_cpu_embedding (const td_op *op, td_error *err)
{
  const td_tensor *ids = op->src[0], *table = op->src[1];
  embedding_job job = {
    .ids = td_tensor_host_data (ids),
    .table = td_tensor_host_data (table),
    .table_dtype = table->dtype,
    .d = table->shape[1],
    .y = dense_f32 (op->dst),
  };
  int64_t count = td_tensor_numel (ids), vocab = table->shape[0];
  for (int64_t i = 0; i < count; i++)
    if (job.ids[i] < 0 || job.ids[i] >= vocab)
      return td_error_set (err, TD_ERR_INVALID_ARG, "embedding: id %d at position %lld is outside the table's %lld rows",
                           job.ids[i], (long long) i, (long long) vocab);
  dense_parallel (count, embedding_rows, &job);
  return TD_OK;
}

/* ---- CONCAT: y = [a | b] along dim --------------------------------------------------- */

typedef struct concat_job {
  const unsigned char *a, *b;
  unsigned char *y;
  size_t a_bytes, b_bytes; /* bytes of a and b per outer index (their dims from `dim` on) */
} concat_job;

static void
concat_outer (void *data, int64_t begin, int64_t end)
{
  const concat_job *job = data;
  for (int64_t o = begin; o < end; o++)
    {
      unsigned char *y = job->y + (size_t) o * (job->a_bytes + job->b_bytes);
      memcpy (y, job->a + (size_t) o * job->a_bytes, job->a_bytes);
      memcpy (y + job->a_bytes, job->b + (size_t) o * job->b_bytes, job->b_bytes);
    }
}

td_status
td_cpu_concat (const td_op *op, td_error *err)
{
  const td_tensor *a = op->src[0], *b = op->src[1];
  int dim = op->p.concat.dim < 0 ? op->p.concat.dim + a->ndim : op->p.concat.dim;
  size_t elem = td_dtype_size (a->dtype);
  int64_t outer = 1, after = 1;
  for (int i = 0; i < dim; i++)
    outer *= a->shape[i];
  for (int i = dim + 1; i < a->ndim; i++)
    after *= a->shape[i];
  concat_job job = {
    .a = td_tensor_host_data (a),
    .b = td_tensor_host_data (b),
    .y = td_tensor_host_data (op->dst),
    .a_bytes = (size_t) (a->shape[dim] * after) * elem,
    .b_bytes = (size_t) (b->shape[dim] * after) * elem,
  };
  dense_parallel (outer, concat_outer, &job);
  return TD_OK;
}

/* ---- COPY: contiguous y = any strided view x, with dtype conversion ------------------- */

typedef struct copy_job {
  const unsigned char *x; /* element [0, …, 0] of the view */
  td_dtype x_dtype;
  unsigned char *y;
  td_dtype y_dtype;
  int ndim;
  int64_t shape[TD_MAX_DIMS];
  int64_t stride[TD_MAX_DIMS]; /* x's strides in elements */
  int64_t inner;               /* last dim */
  int64_t pieces_per_row;
} copy_job;

static double
read_element (const unsigned char *p, td_dtype dtype)
{
  uint16_t half;
  switch (dtype)
    {
    case TD_F32: { float v; memcpy (&v, p, sizeof v); return v; }
    case TD_F64: { double v; memcpy (&v, p, sizeof v); return v; }
    case TD_F16: memcpy (&half, p, sizeof half); return td_f16_to_f32 (half);
    case TD_BF16: memcpy (&half, p, sizeof half); return td_bf16_to_f32 (half);
    default: return 0.0; /* other dtypes only copy to themselves */
    }
}

static void
write_element (unsigned char *p, td_dtype dtype, double value)
{
  uint16_t half;
  switch (dtype)
    {
    case TD_F32: { float v = (float) value; memcpy (p, &v, sizeof v); break; }
    case TD_F64: memcpy (p, &value, sizeof value); break;
    case TD_F16: half = td_f32_to_f16_saturate ((float) value); memcpy (p, &half, sizeof half); break;
    case TD_BF16: half = td_f32_to_bf16 ((float) value); memcpy (p, &half, sizeof half); break;
    default: break;
    }
}

static void
copy_pieces (void *data, int64_t begin, int64_t end)
{
  const copy_job *job = data;
  size_t x_elem = td_dtype_size (job->x_dtype), y_elem = td_dtype_size (job->y_dtype);
  int64_t inner_stride = job->ndim > 0 ? job->stride[job->ndim - 1] : 1;

  for (int64_t piece = begin; piece < end; piece++)
    {
      int64_t row = piece / job->pieces_per_row;
      int64_t start = (piece % job->pieces_per_row) * PIECE;
      int64_t stop = start + PIECE < job->inner ? start + PIECE : job->inner;

      /* Element offset of x[row's index…, start]: unravel the row over the leading dims. */
      int64_t offset = start * inner_stride, rest = row;
      for (int d = job->ndim - 2; d >= 0; d--)
        {
          offset += (rest % job->shape[d]) * job->stride[d];
          rest /= job->shape[d];
        }
      const unsigned char *x = job->x + offset * (int64_t) x_elem;
      unsigned char *y = job->y + (size_t) (row * job->inner + start) * y_elem;
      int64_t n = stop - start;

      if (job->x_dtype == job->y_dtype && inner_stride == 1)
        memcpy (y, x, (size_t) n * y_elem);
      else if (job->x_dtype == job->y_dtype)
        for (int64_t i = 0; i < n; i++)
          memcpy (y + (size_t) i * y_elem, x + i * inner_stride * (int64_t) x_elem, y_elem);
      else
        for (int64_t i = 0; i < n; i++)
          write_element (y + (size_t) i * y_elem, job->y_dtype, read_element (x + i * inner_stride * (int64_t) x_elem, job->x_dtype));
    }
}

td_status
td_cpu_copy (const td_op *op, td_error *err)
{
  const td_tensor *x = op->src[0];
  copy_job job = {
    .x = td_tensor_host_data (x),
    .x_dtype = x->dtype,
    .y = td_tensor_host_data (op->dst),
    .y_dtype = op->dst->dtype,
    .ndim = x->ndim,
    .inner = dense_last_dim (x),
  };
  memcpy (job.shape, x->shape, sizeof job.shape);
  memcpy (job.stride, x->stride, sizeof job.stride);
  job.pieces_per_row = (job.inner + PIECE - 1) / PIECE;
  dense_parallel (dense_rows (x) * job.pieces_per_row, copy_pieces, &job);
  return TD_OK;
}
