/* memory_meter.c — counting the bytes a backend holds in tensors, with a high-water
 * mark and an optional cap, so runs can be checked against the memory plan. */
#include "backend/backend.h"
#include "backend/memory_meter.h"

void
td_backend_memory (const td_backend *backend, size_t *live, size_t *peak)
{
  if (live != NULL)
    *live = __atomic_load_n (&backend->meter.live, __ATOMIC_RELAXED);
  if (peak != NULL)
    *peak = __atomic_load_n (&backend->meter.peak, __ATOMIC_RELAXED);
}

void
td_backend_reset_peak (td_backend *backend)
{
  __atomic_store_n (&backend->meter.peak, __atomic_load_n (&backend->meter.live, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
}

void
td_backend_set_budget (td_backend *backend, size_t bytes)
{
  backend->meter.budget = bytes;
}

size_t
td_backend_budget (const td_backend *backend)
{
  return backend->meter.budget;
}

td_status
td_memory_meter_reserve (td_backend *backend, size_t bytes, td_error *err)
{
  td_memory_meter *m = &backend->meter;
  size_t live = __atomic_add_fetch (&m->live, bytes, __ATOMIC_RELAXED);
  if (m->budget != 0 && live > m->budget)
    {
      __atomic_sub_fetch (&m->live, bytes, __ATOMIC_RELAXED);
      return td_error_set (err, TD_ERR_NO_MEMORY,
                           "a tensor of %.1f MiB would pass the memory cap of %.1f MiB (%.1f MiB held)",
                           (double) bytes / 1048576.0, (double) m->budget / 1048576.0,
                           (double) (live - bytes) / 1048576.0);
    }
  size_t peak = __atomic_load_n (&m->peak, __ATOMIC_RELAXED);
  while (live > peak && !__atomic_compare_exchange_n (&m->peak, &peak, live, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    ;
  return TD_OK;
}

void
td_memory_meter_release (td_backend *backend, size_t bytes)
{
  __atomic_sub_fetch (&backend->meter.live, bytes, __ATOMIC_RELAXED);
}
