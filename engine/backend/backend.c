#include "backend/backend.h"
#include "backend/op_cost.h"
#include "backend/memory_meter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
td_backend_free (td_backend *backend)
{
  if (backend != NULL && backend != td_backend_host ())
    {
      /* Tensors that outlive the backend still hold the meter. */
      td_memory_meter *meter = backend->meter;
      backend->vt->destroy (backend);
      td_memory_meter_unref (meter);
    }
}

bool
td_backend_is_host (const td_backend *backend)
{
  return backend->vt == td_backend_host ()->vt;
}

const char *
td_backend_name (const td_backend *backend)
{
  return backend->vt->name;
}

bool
td_backend_reduced_precision (td_backend *backend)
{
  return backend->vt->reduced_precision != NULL && backend->vt->reduced_precision (backend);
}

td_status
td_backend_sync (td_backend *backend, td_error *err)
{
  return backend->vt->sync (backend, err);
}

/* Host buffers (mapped weights) are usable by any backend that can read host
 * memory; the CPU backend can, device backends upload them first. */
static bool
tensor_usable_on (const td_tensor *t, const td_backend *backend)
{
  if (t->buffer->backend == backend)
    return true;
  return t->buffer->host != NULL && td_backend_is_host (backend);
}

td_status
td_backend_run (td_backend *backend, const td_op *op, td_error *err)
{
  td_status status = td_op_validate (op, err);
  if (status != TD_OK)
    return status;
  if (!tensor_usable_on (op->dst, backend))
    return td_error_set (err, TD_ERR_INVALID_ARG, "%s: the output tensor lives on another backend",
                         td_op_name (op->type));
  for (int i = 0; i < TD_OP_MAX_SRC; i++)
    if (op->src[i] != NULL && !tensor_usable_on (op->src[i], backend))
      return td_error_set (err, TD_ERR_INVALID_ARG, "%s: input %d lives on another backend (upload it first)",
                           td_op_name (op->type), i);
  if (!backend->vt->supports (backend, op))
    return td_error_set (err, TD_ERR_UNSUPPORTED, "%s is not supported by the %s backend for these dtypes",
                         td_op_name (op->type), backend->vt->name);
  status = backend->vt->run (backend, op, err);
  if (status == TD_OK)
    {
      td_op_work work = td_op_cost (op);
      backend->work.flops += work.flops;
      backend->work.bytes += work.bytes;
      backend->work.ops++;
    }
  return status;
}

td_backend_work
td_backend_work_done (const td_backend *backend)
{
  return backend->work;
}

void
td_backend_reset_work (td_backend *backend)
{
  backend->work = (td_backend_work) { 0 };
}

struct td_backend_readback {
  td_backend *backend;
  uint64_t ticket;
  size_t size;
  bool ready;                          /* synchronous fallback: values already in data */
  unsigned char data[TD_READBACK_MAX];
};

td_backend_readback *
td_backend_read_begin (td_backend *backend, const td_tensor *t, td_error *err)
{
  size_t size = td_tensor_nbytes (t);
  if (!td_tensor_is_contiguous (t) || size > TD_READBACK_MAX || !tensor_usable_on (t, backend))
    {
      td_error_set (err, TD_ERR_INVALID_ARG, "an asynchronous read takes a contiguous tensor of this backend of "
                    "at most %d bytes (%zu given)", TD_READBACK_MAX, size);
      return NULL;
    }
  td_backend_readback *readback = calloc (1, sizeof *readback);
  if (readback == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "out of memory for an asynchronous read");
      return NULL;
    }
  *readback = (td_backend_readback) { .backend = backend, .size = size };
  td_status st = backend->vt->read_begin != NULL
                   ? backend->vt->read_begin (backend, t->buffer, t->offset, size, &readback->ticket, err)
                   : td_tensor_download (t, readback->data, size, err);
  readback->ready = st == TD_OK && backend->vt->read_begin == NULL;
  if (st != TD_OK)
    {
      free (readback);
      return NULL;
    }
  return readback;
}

td_status
td_backend_read_poll (td_backend_readback *readback, bool wait, void *host, size_t size, bool *ready, td_error *err)
{
  *ready = false;
  if (size != readback->size)
    return td_error_set (err, TD_ERR_INVALID_ARG, "an asynchronous read of %zu bytes polled for %zu",
                         readback->size, size);
  if (!readback->ready)
    return readback->backend->vt->read_poll (readback->backend, readback->ticket, wait, host, size, ready, err);
  memcpy (host, readback->data, size);
  *ready = true;
  return TD_OK;
}

void
td_backend_readback_free (td_backend_readback *readback)
{
  if (readback == NULL)
    return;
  if (!readback->ready && readback->backend->vt->read_end != NULL)
    readback->backend->vt->read_end (readback->backend, readback->ticket);
  free (readback);
}
