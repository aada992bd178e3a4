/* backend.h — where tensors live and ops run: the CPU reference or Vulkan.
 *
 * Ops are described by a td_op (see op.h) and handed to the backend, which may
 * run them at once (CPU) or record them for later submission (Vulkan). Results
 * are visible after td_backend_sync or a download.
 */
#pragma once

#include "core/tensor.h"
#include "backend/op.h"

/* What the capture and replay of steps did since the backend was made. */
typedef struct td_capture_stats {
  int64_t captures;  /* steps recorded into kept command buffers */
  int64_t replays;   /* steps that resubmitted them instead of recording */
  int64_t fallbacks; /* replays abandoned midway for ordinary recording */
} td_capture_stats;

typedef struct td_backend_vtable {
  const char *name;
  td_status (*buffer_new) (td_backend *backend, size_t size, td_buffer **out, td_error *err);
  td_status (*write) (td_backend *backend, td_buffer *buffer, size_t offset, const void *src, size_t size, td_error *err);
  td_status (*read) (td_backend *backend, td_buffer *buffer, size_t offset, void *dst, size_t size, td_error *err);
  /* True when this backend implements the op with these dtypes and shapes. */
  bool (*supports) (td_backend *backend, const td_op *op);
  /* Runs or records one validated op. */
  td_status (*run) (td_backend *backend, const td_op *op, td_error *err);
  /* Waits until every recorded op has finished. */
  td_status (*sync) (td_backend *backend, td_error *err);
  void (*destroy) (td_backend *backend);
  /* Optional: true when some ops round their inputs to f16 (cooperative-matrix
   * fast paths); NULL means never. */
  bool (*reduced_precision) (td_backend *backend);
  /* Optional asynchronous reads of at most TD_READBACK_MAX bytes: read_begin queues a copy
   * of the bytes as every op recorded so far leaves them and starts that work without
   * waiting; read_poll copies them out once the device is done (*ready), waiting only
   * when asked; read_end releases the ticket. NULL: reads are synchronous. */
  td_status (*read_begin) (td_backend *backend, td_buffer *buffer, size_t offset, size_t size, uint64_t *ticket,
                           td_error *err);
  td_status (*read_poll) (td_backend *backend, uint64_t ticket, bool wait, void *dst, size_t size, bool *ready,
                          td_error *err);
  void (*read_end) (td_backend *backend, uint64_t ticket);
  /* Optional capture and replay of a repeated step (td_backend_capture_begin); NULL:
   * every step is run as it comes. */
  td_status (*capture_begin) (td_backend *backend, uint64_t key, td_error *err);
  td_status (*capture_end) (td_backend *backend, td_error *err);
  void (*capture_drop) (td_backend *backend);
  td_capture_stats (*capture_stats) (td_backend *backend);
  void (*set_lasting) (td_backend *backend, bool lasting);
} td_backend_vtable;

#define TD_READBACK_MAX 256

/* Bytes held in tensors allocated on a backend: now, the most since the last reset, and
 * the cap (0 = none) that td_tensor_new refuses to pass (--max-vram). Reference-counted,
 * since a tensor may be freed after its backend (see memory_meter.h). */
typedef struct td_memory_meter {
  size_t live, peak, budget;
  int refcount;
} td_memory_meter;

/* The work of the ops run since the last reset (op_cost.h), for the benchmarks'
 * achieved FLOP/s and bytes/s. */
typedef struct td_backend_work {
  double flops, bytes;
  int64_t ops;
} td_backend_work;

struct td_backend {
  const td_backend_vtable *vt;
  void *impl;
  td_memory_meter *meter; /* made on first use */
  td_backend_work work;
};

/* The CPU reference backend (multi-threaded on the default pool). */
td_backend *td_backend_cpu_new (td_error *err);
/* The host backend shared by everything that just needs host memory. */
td_backend *td_backend_host (void);

void td_backend_free (td_backend *backend);
/* True when ops on this backend read host memory directly (the CPU backend). */
bool td_backend_is_host (const td_backend *backend);
const char *td_backend_name (const td_backend *backend);
/* True when some ops on this backend round their inputs to f16 (see the vtable). */
bool td_backend_reduced_precision (td_backend *backend);
td_status td_backend_sync (td_backend *backend, td_error *err);

/* The allocation meter: bytes held now and the high-water mark since the last reset. */
void td_backend_memory (const td_backend *backend, size_t *live, size_t *peak);
/* Starts a new high-water mark from what is held now. */
void td_backend_reset_peak (td_backend *backend);
/* An asynchronous read of a small tensor (a sampled token id, for streaming): the values
 * it holds once every op recorded before td_backend_read_begin has run. Decoding goes on
 * recording while the device catches up; td_backend_read_poll hands the values over when
 * they are there. Free every readback before its backend. */
typedef struct td_backend_readback td_backend_readback;
td_backend_readback *td_backend_read_begin (td_backend *backend, const td_tensor *t, td_error *err);
/* Copies the values into host (size = the tensor's bytes) and sets *ready, or leaves
 * *ready false while the device still works on them; wait blocks until they are there. */
td_status td_backend_read_poll (td_backend_readback *readback, bool wait, void *host, size_t size, bool *ready,
                                td_error *err);
void td_backend_readback_free (td_backend_readback *readback);

/* The work of the ops run since the last td_backend_reset_work. */
td_backend_work td_backend_work_done (const td_backend *backend);
void td_backend_reset_work (td_backend *backend);
/* Caps the bytes held in tensors; 0 removes the cap. */
void td_backend_set_budget (td_backend *backend, size_t bytes);
size_t td_backend_budget (const td_backend *backend);

/* Validates op (shapes, dtypes, contiguity) and runs it on backend.
 * All tensors must belong to this backend (or be host buffers on the CPU backend). */
td_status td_backend_run (td_backend *backend, const td_op *op, td_error *err);

/* Capture and replay of a repeated step (the FLUX denoising step). Between
 * td_backend_capture_begin and td_backend_capture_end a device backend may take the
 * step's allocations from an arena that gives the same addresses for the same
 * sequence, record its commands once for `key` (the step's shape) and, on a later step
 * with the same key whose ops prove identical, resubmit that recording with only the
 * uploaded inputs changed. Any difference falls back to ordinary recording, so the
 * results never depend on it. Tensors allocated in the step must be freed before the
 * next begin; td_backend_capture_drop frees what a capture holds. The CPU backend runs
 * every step as it comes (these are no-ops there). */
td_status td_backend_capture_begin (td_backend *backend, uint64_t key, td_error *err);
td_status td_backend_capture_end (td_backend *backend, td_error *err);
void td_backend_capture_drop (td_backend *backend);
td_capture_stats td_backend_capture_stats (td_backend *backend);
/* Allocations between these outlive the step being captured (weights uploaded on first use). */
void td_backend_lasting_begin (td_backend *backend);
void td_backend_lasting_end (td_backend *backend);
