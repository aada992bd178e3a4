/* api_private.h — what the public API's implementation shares with the
 * developer tools (verify, bench): choosing a backend the way td_engine_new does. */
#pragma once

#include "backend/backend.h"

/* name: "auto"/NULL, "cpu" or "vulkan"; device: a Vulkan device index, -1 to choose.
 * See td_engine_options in thinkdiff-engine.h. */
td_backend *td_backend_choose (const char *name, int device, td_error *err);

/* The backend an engine runs on, and its device memory now. */
td_backend *td_engine_backend (td_engine *engine);
void td_engine_memory (td_engine *engine, td_memory_report *report);
