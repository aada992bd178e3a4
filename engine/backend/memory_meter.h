/* memory_meter.h — the allocation side of the backend meter (see backend.h). */
#pragma once

#include "backend/backend.h"

/* Counts bytes about to be allocated on backend; refuses past the cap. Returns the
 * meter with a reference the buffer keeps (its backend may be freed first), or NULL. */
td_memory_meter *td_memory_meter_reserve (td_backend *backend, size_t bytes, td_error *err);
/* Gives back bytes reserved on meter and drops the reference reserve took. */
void td_memory_meter_release (td_memory_meter *meter, size_t bytes);
void td_memory_meter_unref (td_memory_meter *meter);
