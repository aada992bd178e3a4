/* memory_meter.h — the allocation side of the backend meter (see backend.h). */
#pragma once

#include "backend/backend.h"

/* Counts bytes about to be allocated on backend; refuses past the cap. */
td_status td_memory_meter_reserve (td_backend *backend, size_t bytes, td_error *err);
void td_memory_meter_release (td_backend *backend, size_t bytes);
