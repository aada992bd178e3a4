/* dense_util.h — small helpers shared by the dense CPU kernels (matmul, elementwise,
 * norms, softmax, gather, sampling). Everything here is static inline so each kernel
 * file stays self-contained. */
#pragma once

#include <stdlib.h>

#include "backend/cpu/cpu_kernels.h"
#include "core/threads.h"

/* Host address of a tensor's element 0 (kernels only see host-addressable tensors). */
static inline float *
dense_f32 (const td_tensor *t)
{
  return (float *) td_tensor_host_data (t);
}

/* Size of the last dim (1 for a 0-d tensor). */
static inline int64_t
dense_last_dim (const td_tensor *t)
{
  return t->ndim > 0 ? t->shape[t->ndim - 1] : 1;
}

/* Number of rows when a tensor is seen as [rows, last dim]: the product of the leading dims. */
static inline int64_t
dense_rows (const td_tensor *t)
{
  int64_t rows = 1;
  for (int i = 0; i < t->ndim - 1; i++)
    rows *= t->shape[i];
  return rows;
}

/* A contiguous parameter vector (norm weight, bias) converted to a new f32 array,
 * or NULL in *out when t is NULL. */
static inline td_status
dense_param_f32 (const td_tensor *t, float **out, const char *what, td_error *err)
{
  *out = NULL;
  if (t == NULL)
    return TD_OK;
  int64_t n = td_tensor_numel (t);
  float *values = malloc ((size_t) (n > 0 ? n : 1) * sizeof *values);
  if (values == NULL)
    return td_error_set (err, TD_ERR_NO_MEMORY, "%s: out of memory converting %lld parameters", what,
                         (long long) n);
  td_convert_to_f32 (values, td_tensor_host_data (t), t->dtype, (size_t) n);
  *out = values;
  return TD_OK;
}

/* Runs fn over [0, n) on the default pool. */
static inline void
dense_parallel (int64_t n, td_range_fn fn, void *ctx)
{
  td_parallel_for (td_threadpool_default (), n, fn, ctx);
}
