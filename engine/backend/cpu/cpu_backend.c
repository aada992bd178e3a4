#include "backend/backend.h"
#include "backend/cpu/cpu_kernels.h"

#include <stdlib.h>
#include <string.h>

static void
release_host_memory (td_buffer *buffer)
{
  free (buffer->host);
}

static td_status
cpu_buffer_new (td_backend *backend, size_t size, td_buffer **out, td_error *err)
{
  /* 64-byte alignment for vector loads; aligned_alloc wants a multiple of it. */
  size_t rounded = (size + 63) & ~(size_t) 63;
  if (rounded < size)
    return td_error_set (err, TD_ERR_LIMIT, "buffer of %zu bytes is too large", size);
  void *memory = aligned_alloc (64, rounded ? rounded : 64);
  if (memory == NULL)
    return td_error_set (err, TD_ERR_NO_MEMORY, "out of host memory allocating %zu bytes", size);
  td_buffer *buffer = td_buffer_wrap_host (memory, size, release_host_memory, NULL);
  if (buffer == NULL)
    {
      free (memory);
      return td_error_set (err, TD_ERR_NO_MEMORY, "out of host memory");
    }
  buffer->backend = backend;
  *out = buffer;
  return TD_OK;
}

static td_status
cpu_write (td_backend *backend, td_buffer *buffer, size_t offset, const void *src, size_t size, td_error *err)
{
  if (offset > buffer->size || size > buffer->size - offset)
    return td_error_set (err, TD_ERR_INVALID_ARG, "write of %zu bytes at %zu past a %zu-byte buffer", size, offset,
                         buffer->size);
  memcpy ((unsigned char *) buffer->host + offset, src, size);
  return TD_OK;
}

static td_status
cpu_read (td_backend *backend, td_buffer *buffer, size_t offset, void *dst, size_t size, td_error *err)
{
  if (offset > buffer->size || size > buffer->size - offset)
    return td_error_set (err, TD_ERR_INVALID_ARG, "read of %zu bytes at %zu past a %zu-byte buffer", size, offset,
                         buffer->size);
  memcpy (dst, (const unsigned char *) buffer->host + offset, size);
  return TD_OK;
}

static bool
cpu_supports (td_backend *backend, const td_op *op)
{
  return true; /* the reference backend implements every validated op */
}

static td_status
cpu_run (td_backend *backend, const td_op *op, td_error *err)
{
  switch (op->type)
    {
    case TD_OP_MATMUL: return td_cpu_matmul (op, err);
    case TD_OP_ADD:
    case TD_OP_MUL: return td_cpu_binary (op, err);
    case TD_OP_SCALE: return td_cpu_scale (op, err);
    case TD_OP_UNARY: return td_cpu_unary (op, err);
    case TD_OP_LAYER_NORM: return td_cpu_layer_norm (op, err);
    case TD_OP_RMS_NORM: return td_cpu_rms_norm (op, err);
    case TD_OP_ADA_LAYER_NORM: return td_cpu_ada_layer_norm (op, err);
    case TD_OP_GROUP_NORM: return td_cpu_group_norm (op, err);
    case TD_OP_SOFTMAX: return td_cpu_softmax (op, err);
    case TD_OP_ROPE: return td_cpu_rope (op, err);
    case TD_OP_RMS_NORM_ROPE: return td_cpu_rms_norm_rope (op, err);
    case TD_OP_ATTENTION: return td_cpu_attention (op, err);
    case TD_OP_CONV2D: return td_cpu_conv2d (op, err);
    case TD_OP_UPSAMPLE_NEAREST2X: return td_cpu_upsample_nearest2x (op, err);
    case TD_OP_RESIZE_BILINEAR: return td_cpu_resize_bilinear (op, err);
    case TD_OP_RESIZE_BICUBIC: return td_cpu_resize_bicubic (op, err);
    case TD_OP_EMBEDDING: return td_cpu_embedding (op, err);
    case TD_OP_CONCAT: return td_cpu_concat (op, err);
    case TD_OP_COPY: return td_cpu_copy (op, err);
    case TD_OP_ARGMAX: return td_cpu_argmax (op, err);
    case TD_OP_SAMPLE: return td_cpu_sample (op, err);
    case TD_OP_MATMUL_NORM_ROPE: return td_cpu_matmul_norm_rope (op, err);
    case TD_OP_COUNT:
    default:
      return td_error_set (err, TD_ERR_INVALID_ARG, "invalid op");
    }
}

static td_status
cpu_sync (td_backend *backend, td_error *err)
{
  return TD_OK; /* ops run synchronously */
}

static void
cpu_destroy (td_backend *backend)
{
  free (backend);
}

static const td_backend_vtable cpu_vtable = {
  .name = "cpu",
  .buffer_new = cpu_buffer_new,
  .write = cpu_write,
  .read = cpu_read,
  .supports = cpu_supports,
  .run = cpu_run,
  .sync = cpu_sync,
  .destroy = cpu_destroy,
};

td_backend *
td_backend_cpu_new (td_error *err)
{
  td_backend *backend = calloc (1, sizeof *backend);
  if (backend == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "out of memory creating the CPU backend");
      return NULL;
    }
  backend->vt = &cpu_vtable;
  return backend;
}

static td_backend host_backend = { .vt = &cpu_vtable };

td_backend *
td_backend_host (void)
{
  return &host_backend;
}
