/* memory_meter.c — counting the bytes a backend holds in tensors, with a high-water
 * mark and an optional cap, so runs can be checked against the memory plan. */
#include "backend/backend.h"
#include "backend/memory_meter.h"

#include <stdlib.h>

/* The backend's meter, made on first use (backends are created without one). */
static td_memory_meter *
meter_of (td_backend *backend)
{
  td_memory_meter *meter = __atomic_load_n (&backend->meter, __ATOMIC_ACQUIRE);
  if (meter != NULL)
    return meter;
  meter = calloc (1, sizeof *meter);
  if (meter == NULL)
    return NULL;
  meter->refcount = 1; /* the backend's */
  td_memory_meter *expected = NULL;
  if (!__atomic_compare_exchange_n (&backend->meter, &expected, meter, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    {
      free (meter);
      return expected;
    }
  return meter;
}

void
td_memory_meter_unref (td_memory_meter *meter)
{
  if (meter != NULL && __atomic_sub_fetch (&meter->refcount, 1, __ATOMIC_ACQ_REL) == 0)
    free (meter);
}

void
td_backend_memory (const td_backend *backend, size_t *live, size_t *peak)
{
  const td_memory_meter *meter = __atomic_load_n (&backend->meter, __ATOMIC_ACQUIRE);
  if (live != NULL)
    *live = meter != NULL ? __atomic_load_n (&meter->live, __ATOMIC_RELAXED) : 0;
  if (peak != NULL)
    *peak = meter != NULL ? __atomic_load_n (&meter->peak, __ATOMIC_RELAXED) : 0;
}

void
td_backend_reset_peak (td_backend *backend)
{
  td_memory_meter *meter = __atomic_load_n (&backend->meter, __ATOMIC_ACQUIRE);
  if (meter != NULL)
    __atomic_store_n (&meter->peak, __atomic_load_n (&meter->live, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
}

void
td_backend_set_budget (td_backend *backend, size_t bytes)
{
  td_memory_meter *meter = meter_of (backend);
  if (meter != NULL)
    meter->budget = bytes;
}

size_t
td_backend_budget (const td_backend *backend)
{
  const td_memory_meter *meter = __atomic_load_n (&backend->meter, __ATOMIC_ACQUIRE);
  return meter != NULL ? meter->budget : 0;
}

td_memory_meter *
td_memory_meter_reserve (td_backend *backend, size_t bytes, td_error *err)
{
  td_memory_meter *m = meter_of (backend);
  if (m == NULL)
    {
      td_error_set (err, TD_ERR_NO_MEMORY, "out of host memory for the allocation meter");
      return NULL;
    }
  size_t live = __atomic_add_fetch (&m->live, bytes, __ATOMIC_RELAXED);
  if (m->budget != 0 && live > m->budget)
    {
      __atomic_sub_fetch (&m->live, bytes, __ATOMIC_RELAXED);
      td_error_set (err, TD_ERR_NO_MEMORY, "a tensor of %.1f MiB would pass the memory cap of %.1f MiB (%.1f MiB held)",
                    (double) bytes / 1048576.0, (double) m->budget / 1048576.0, (double) (live - bytes) / 1048576.0);
      return NULL;
    }
  size_t peak = __atomic_load_n (&m->peak, __ATOMIC_RELAXED);
  while (live > peak && !__atomic_compare_exchange_n (&m->peak, &peak, live, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    ;
  __atomic_add_fetch (&m->refcount, 1, __ATOMIC_RELAXED);
  return m;
}

void
td_memory_meter_release (td_memory_meter *meter, size_t bytes)
{
  if (meter == NULL)
    return;
  __atomic_sub_fetch (&meter->live, bytes, __ATOMIC_RELAXED);
  td_memory_meter_unref (meter);
}
