/* api_private.h — what the public API's implementation shares with the
 * developer tools (verify, bench): choosing a backend the way td_engine_new does. */
#pragma once

#include "backend/backend.h"

/* name: "auto"/NULL, "cpu" or "vulkan"; device: a Vulkan device index, -1 to choose.
 * See td_engine_options in thinkdiff-engine.h. */
td_backend *td_backend_choose (const char *name, int device, td_error *err);

/* The backend an engine runs on, and its device memory now. */
td_backend *td_engine_backend (td_engine *engine);
/* The models the engine keeps between generations. */
typedef struct td_model_cache td_model_cache;
td_model_cache *td_engine_models (td_engine *engine);
void td_engine_memory (td_engine *engine, td_memory_report *report);
/* The memory the engine plans for: its device_budget option, else the device's
 * reported budget, whichever is smaller; 0 when neither is known (the CPU). */
uint64_t td_engine_plan_budget (td_engine *engine);
/* Whether the models of paths fit the engine's budget together for this mode and
 * these settings (the plan's strategy is all resident); false when it cannot plan. */
bool td_engine_plan_all_resident (td_engine *engine, td_plan_mode mode, const td_board_settings *settings,
                                  const td_model_paths *paths);
