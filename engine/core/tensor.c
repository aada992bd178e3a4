#include "core/tensor.h"
#include "backend/backend.h"
#include "backend/memory_meter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

td_buffer *
td_buffer_ref (td_buffer *buffer)
{
  if (buffer != NULL)
    __atomic_add_fetch (&buffer->refcount, 1, __ATOMIC_RELAXED);
  return buffer;
}

void
td_buffer_unref (td_buffer *buffer)
{
  if (buffer == NULL)
    return;
  if (__atomic_sub_fetch (&buffer->refcount, 1, __ATOMIC_ACQ_REL) == 0)
    {
      td_memory_meter_release (buffer->meter, buffer->size);
      if (buffer->release != NULL)
        buffer->release (buffer);
      free (buffer);
    }
}

td_buffer *
td_buffer_wrap_host (void *host, size_t size, void (*release) (td_buffer *), void *impl)
{
  td_buffer *buffer = calloc (1, sizeof *buffer);
  if (buffer == NULL)
    return NULL;
  buffer->backend = td_backend_host ();
  buffer->size = size;
  buffer->refcount = 1;
  buffer->host = host;
  buffer->release = release;
  buffer->impl = impl;
  return buffer;
}

bool
td_shape_numel (int ndim, const int64_t *shape, int64_t *numel)
{
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    {
      if (shape[i] < 0)
        return false;
      if (shape[i] != 0 && n > INT64_MAX / shape[i])
        return false;
      n *= shape[i];
    }
  *numel = n;
  return true;
}

const char *
td_shape_string (int ndim, const int64_t *shape, char *buf, size_t buf_size)
{
  size_t used = 0;
  if (buf_size == 0)
    return buf;
  buf[0] = '\0';
  used += (size_t) snprintf (buf, buf_size, "[");
  for (int i = 0; i < ndim && used < buf_size; i++)
    used += (size_t) snprintf (buf + used, buf_size - used, "%s%lld", i ? ", " : "", (long long) shape[i]);
  if (used < buf_size)
    snprintf (buf + used, buf_size - used, "]");
  return buf;
}

static void
set_contiguous_strides (td_tensor *t)
{
  int64_t stride = 1;
  for (int i = t->ndim - 1; i >= 0; i--)
    {
      t->stride[i] = stride;
      stride *= t->shape[i];
    }
}

static td_status
check_shape (int ndim, const int64_t *shape, td_dtype dtype, size_t *nbytes, td_error *err)
{
  char text[128];
  int64_t numel;
  if (ndim < 0 || ndim > TD_MAX_DIMS)
    return td_error_set (err, TD_ERR_INVALID_ARG, "tensor rank %d is outside 0..%d", ndim, TD_MAX_DIMS);
  if ((unsigned) dtype >= TD_DTYPE_COUNT)
    return td_error_set (err, TD_ERR_INVALID_ARG, "invalid dtype %d", (int) dtype);
  /* Block types hold whole blocks per row. */
  int block = td_dtype_block_elems (dtype);
  if (block > 1 && (ndim == 0 || shape[ndim - 1] % block != 0))
    return td_error_set (err, TD_ERR_INVALID_ARG, "a %s tensor %s needs rows of a multiple of %d values",
                         td_dtype_name (dtype), td_shape_string (ndim, shape, text, sizeof text), block);
  if (!td_shape_numel (ndim, shape, &numel) || !td_dtype_nbytes (dtype, numel, nbytes))
    return td_error_set (err, TD_ERR_LIMIT, "tensor shape %s is negative or too large",
                         td_shape_string (ndim, shape, text, sizeof text));
  return TD_OK;
}

static td_tensor *
tensor_over (td_buffer *buffer, size_t offset, td_dtype dtype, int ndim, const int64_t *shape)
{
  td_tensor *t = calloc (1, sizeof *t);
  if (t == NULL)
    return NULL;
  t->dtype = dtype;
  t->ndim = ndim;
  if (ndim > 0)
    memcpy (t->shape, shape, (size_t) ndim * sizeof *shape);
  set_contiguous_strides (t);
  t->buffer = td_buffer_ref (buffer);
  t->offset = offset;
  return t;
}

td_tensor *
td_tensor_new (td_backend *backend, td_dtype dtype, int ndim, const int64_t *shape, td_error *err)
{
  size_t nbytes;
  if (check_shape (ndim, shape, dtype, &nbytes, err) != TD_OK)
    return NULL;
  if (backend == NULL)
    backend = td_backend_host ();
  td_buffer *buffer = NULL;
  td_memory_meter *meter = td_memory_meter_reserve (backend, nbytes, err);
  if (meter == NULL)
    return NULL;
  if (backend->vt->buffer_new (backend, nbytes, &buffer, err) != TD_OK)
    {
      td_memory_meter_release (meter, nbytes);
      return NULL;
    }
  buffer->meter = meter;
  td_tensor *t = tensor_over (buffer, 0, dtype, ndim, shape);
  td_buffer_unref (buffer);
  if (t == NULL)
    td_error_set (err, TD_ERR_NO_MEMORY, "out of memory for a tensor descriptor");
  return t;
}

td_tensor *
td_tensor_new_in (td_buffer *buffer, size_t offset, td_dtype dtype, int ndim, const int64_t *shape, td_error *err)
{
  size_t nbytes;
  if (check_shape (ndim, shape, dtype, &nbytes, err) != TD_OK)
    return NULL;
  if (offset > buffer->size || nbytes > buffer->size - offset)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "tensor of %zu bytes at offset %zu does not fit a buffer of %zu bytes",
                    nbytes, offset, buffer->size);
      return NULL;
    }
  td_tensor *t = tensor_over (buffer, offset, dtype, ndim, shape);
  if (t == NULL)
    td_error_set (err, TD_ERR_NO_MEMORY, "out of memory for a tensor descriptor");
  return t;
}

void
td_tensor_free (td_tensor *tensor)
{
  if (tensor == NULL)
    return;
  td_buffer_unref (tensor->buffer);
  free (tensor);
}

int64_t
td_tensor_numel (const td_tensor *t)
{
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++)
    n *= t->shape[i];
  return n;
}

size_t
td_tensor_nbytes (const td_tensor *t)
{
  size_t nbytes = 0;
  td_dtype_nbytes (t->dtype, td_tensor_numel (t), &nbytes);
  return nbytes;
}

bool
td_tensor_is_contiguous (const td_tensor *t)
{
  int64_t expected = 1;
  for (int i = t->ndim - 1; i >= 0; i--)
    {
      if (t->shape[i] != 1 && t->stride[i] != expected)
        return false;
      expected *= t->shape[i];
    }
  return true;
}

bool
td_tensor_same_shape (const td_tensor *a, const td_tensor *b)
{
  if (a->ndim != b->ndim)
    return false;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i])
      return false;
  return true;
}

td_backend *
td_tensor_backend (const td_tensor *t)
{
  return t->buffer->backend;
}

void *
td_tensor_host_data (const td_tensor *t)
{
  if (t->buffer == NULL || t->buffer->host == NULL)
    return NULL;
  return (unsigned char *) t->buffer->host + t->offset;
}

static td_tensor *
view_of (const td_tensor *t, td_error *err)
{
  td_tensor *v = malloc (sizeof *v);
  if (v == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "out of memory for a tensor view");
      return NULL;
    }
  *v = *t;
  td_buffer_ref (v->buffer);
  return v;
}

td_tensor *
td_tensor_reshape (const td_tensor *t, int ndim, const int64_t *shape, td_error *err)
{
  char a[128], b[128];
  int64_t numel;
  if (!td_tensor_is_contiguous (t))
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "reshape needs a contiguous tensor (copy the view first)");
      return NULL;
    }
  if (ndim < 0 || ndim > TD_MAX_DIMS || !td_shape_numel (ndim, shape, &numel) || numel != td_tensor_numel (t))
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "cannot reshape %s to %s",
                    td_shape_string (t->ndim, t->shape, a, sizeof a),
                    td_shape_string (ndim < 0 || ndim > TD_MAX_DIMS ? 0 : ndim, shape, b, sizeof b));
      return NULL;
    }
  td_tensor *v = view_of (t, err);
  if (v == NULL)
    return NULL;
  v->ndim = ndim;
  if (ndim > 0)
    memcpy (v->shape, shape, (size_t) ndim * sizeof *shape);
  set_contiguous_strides (v);
  return v;
}

td_tensor *
td_tensor_permute (const td_tensor *t, const int *perm, td_error *err)
{
  bool seen[TD_MAX_DIMS] = { false };
  for (int i = 0; i < t->ndim; i++)
    {
      if (perm[i] < 0 || perm[i] >= t->ndim || seen[perm[i]])
        {
          td_error_set (err, TD_ERR_INVALID_ARG, "permutation is not a rearrangement of 0..%d", t->ndim - 1);
          return NULL;
        }
      seen[perm[i]] = true;
    }
  td_tensor *v = view_of (t, err);
  if (v == NULL)
    return NULL;
  for (int i = 0; i < t->ndim; i++)
    {
      v->shape[i] = t->shape[perm[i]];
      v->stride[i] = t->stride[perm[i]];
    }
  return v;
}

td_tensor *
td_tensor_slice (const td_tensor *t, int dim, int64_t start, int64_t length, td_error *err)
{
  if (dim < 0 || dim >= t->ndim || start < 0 || length < 0 || start > t->shape[dim]
      || length > t->shape[dim] - start)
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "slice [%lld, +%lld) of dim %d is out of range",
                    (long long) start, (long long) length, dim);
      return NULL;
    }
  int block = td_dtype_block_elems (t->dtype);
  if (block > 1 && (dim == t->ndim - 1 || t->stride[dim] % block != 0))
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "a %s tensor can only be sliced by whole rows", td_dtype_name (t->dtype));
      return NULL;
    }
  td_tensor *v = view_of (t, err);
  if (v == NULL)
    return NULL;
  v->shape[dim] = length;
  v->offset += (size_t) (start * t->stride[dim] / block) * td_dtype_block_bytes (t->dtype);
  return v;
}

td_status
td_tensor_upload (td_tensor *t, const void *host, size_t size, td_error *err)
{
  if (!td_tensor_is_contiguous (t) || size != td_tensor_nbytes (t))
    return td_error_set (err, TD_ERR_INVALID_ARG, "upload of %zu bytes into a tensor of %zu bytes%s", size,
                         td_tensor_nbytes (t), td_tensor_is_contiguous (t) ? "" : " (not contiguous)");
  td_backend *backend = t->buffer->backend;
  return backend->vt->write (backend, t->buffer, t->offset, host, size, err);
}

td_status
td_tensor_download (const td_tensor *t, void *host, size_t size, td_error *err)
{
  if (!td_tensor_is_contiguous (t) || size != td_tensor_nbytes (t))
    return td_error_set (err, TD_ERR_INVALID_ARG, "download of %zu bytes from a tensor of %zu bytes%s", size,
                         td_tensor_nbytes (t), td_tensor_is_contiguous (t) ? "" : " (not contiguous)");
  td_backend *backend = t->buffer->backend;
  return backend->vt->read (backend, t->buffer, t->offset, host, size, err);
}

/* Bytes from the first to one past the last element a strided view touches. */
static size_t
view_span_bytes (const td_tensor *t)
{
  if (td_tensor_numel (t) == 0)
    return 0;
  int64_t last = 0;
  for (int i = 0; i < t->ndim; i++)
    last += (t->shape[i] - 1) * t->stride[i];
  return (size_t) (last + 1) * td_dtype_size (t->dtype);
}

/* Reads nbytes of t's buffer from its offset into new host memory, and makes *out
 * room for numel floats; both are the caller's, or NULL on failure. */
static unsigned char *
read_back (const td_tensor *t, size_t nbytes, int64_t numel, float **out, td_error *err)
{
  *out = malloc ((size_t) (numel > 0 ? numel : 1) * sizeof (float));
  unsigned char *raw = malloc (nbytes > 0 ? nbytes : 1);
  if (*out == NULL || raw == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "out of memory reading a tensor back");
      goto fail;
    }
  td_backend *backend = t->buffer->backend;
  if (nbytes > 0 && backend->vt->read (backend, t->buffer, t->offset, raw, nbytes, err) != TD_OK)
    goto fail;
  return raw;
fail:
  free (*out);
  free (raw);
  *out = NULL;
  return NULL;
}

/* A block-quantised tensor, which is always read whole (contiguous). */
static float *
quantized_to_f32 (const td_tensor *t, td_error *err)
{
  int64_t numel = td_tensor_numel (t);
  size_t nbytes = td_tensor_nbytes (t);
  if (!td_tensor_is_contiguous (t))
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "a %s tensor must be contiguous to be read", td_dtype_name (t->dtype));
      return NULL;
    }
  float *out = NULL;
  unsigned char *raw = read_back (t, nbytes, numel, &out, err);
  if (raw == NULL)
    return NULL;
  td_convert_to_f32 (out, raw, t->dtype, (size_t) numel);
  free (raw);
  return out;
}

float *
td_tensor_to_f32 (const td_tensor *t, td_error *err)
{
  if (td_dtype_is_quantized (t->dtype))
    return quantized_to_f32 (t, err);
  int64_t numel = td_tensor_numel (t);
  size_t elem = td_dtype_size (t->dtype);
  size_t span = view_span_bytes (t);
  float *out = NULL;
  unsigned char *raw = read_back (t, span, numel, &out, err);
  if (raw == NULL)
    return NULL;
  /* Walk the view in row-major order. */
  int64_t index[TD_MAX_DIMS] = { 0 };
  for (int64_t n = 0; n < numel; n++)
    {
      int64_t element = 0;
      for (int i = 0; i < t->ndim; i++)
        element += index[i] * t->stride[i];
      td_convert_to_f32 (&out[n], raw + (size_t) element * elem, t->dtype, 1);
      for (int i = t->ndim - 1; i >= 0; i--)
        {
          if (++index[i] < t->shape[i])
            break;
          index[i] = 0;
        }
    }
  free (raw);
  return out;
}
