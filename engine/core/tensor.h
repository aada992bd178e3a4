/* tensor.h — n-dimensional views over backend buffers.
 *
 * Shapes are row-major as in PyTorch: shape[ndim-1] is the fastest-varying
 * dimension. Strides are in elements. A tensor does not own its buffer; it holds
 * a reference, so views stay valid after the original is freed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "thinkdiff.h"
#include "core/dtype.h"

#define TD_MAX_DIMS 5 /* up to 4 dims + batch */

typedef struct td_backend td_backend;
typedef struct td_buffer td_buffer;

/* A block of memory owned by a backend. `host` is non-NULL when the CPU can
 * address it directly (CPU backend, mapped files, host-visible device memory). */
struct td_buffer {
  td_backend *backend;
  size_t size;
  int refcount;
  void *host;
  /* Called when the last reference goes: frees the memory (or unmaps the file). */
  void (*release) (td_buffer *buffer);
  void *impl;        /* backend- or owner-specific state */
  struct td_memory_meter *meter; /* counted there and held (allocated by td_tensor_new), or NULL */
};

typedef struct td_tensor {
  td_dtype dtype;
  int ndim;
  int64_t shape[TD_MAX_DIMS];
  int64_t stride[TD_MAX_DIMS]; /* in elements */
  td_buffer *buffer;
  size_t offset;               /* in bytes, from the start of buffer */
} td_tensor;

td_buffer *td_buffer_ref (td_buffer *buffer);
void td_buffer_unref (td_buffer *buffer);

/* Wraps caller-owned host memory (e.g. a mapped file region) in a buffer that
 * calls release(buffer) when its last reference goes (release may be NULL). */
td_buffer *td_buffer_wrap_host (void *host, size_t size, void (*release) (td_buffer *), void *impl);

/* A new contiguous tensor in a fresh buffer of `backend` (NULL = host memory). */
td_tensor *td_tensor_new (td_backend *backend, td_dtype dtype, int ndim, const int64_t *shape, td_error *err);
/* A contiguous tensor over an existing buffer at a byte offset; checks the span fits. */
td_tensor *td_tensor_new_in (td_buffer *buffer, size_t offset, td_dtype dtype, int ndim,
                             const int64_t *shape, td_error *err);
void td_tensor_free (td_tensor *tensor);

int64_t td_tensor_numel (const td_tensor *t);
size_t td_tensor_nbytes (const td_tensor *t); /* numel × element size */
bool td_tensor_is_contiguous (const td_tensor *t);
bool td_tensor_same_shape (const td_tensor *a, const td_tensor *b);
/* Writes "[2, 3, 4]" into buf. */
const char *td_shape_string (int ndim, const int64_t *shape, char *buf, size_t buf_size);
/* Checked product of dims; returns false on overflow or a negative dim. */
bool td_shape_numel (int ndim, const int64_t *shape, int64_t *numel);
/* The backend that owns the tensor's memory. */
td_backend *td_tensor_backend (const td_tensor *t);
/* Host address of element 0, or NULL when the buffer is not host-addressable. */
void *td_tensor_host_data (const td_tensor *t);

/* Views (share the buffer). They return NULL and fill err when the request does not fit. */
td_tensor *td_tensor_reshape (const td_tensor *t, int ndim, const int64_t *shape, td_error *err);
td_tensor *td_tensor_permute (const td_tensor *t, const int *perm, td_error *err);
td_tensor *td_tensor_slice (const td_tensor *t, int dim, int64_t start, int64_t length, td_error *err);

/* Copies between host memory and a contiguous tensor on any backend. */
td_status td_tensor_upload (td_tensor *t, const void *host, size_t size, td_error *err);
td_status td_tensor_download (const td_tensor *t, void *host, size_t size, td_error *err);
/* Reads any tensor (any dtype, any backend, strided or not) into a new f32 array (free()). */
float *td_tensor_to_f32 (const td_tensor *t, td_error *err);
