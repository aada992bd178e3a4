/* stream_choice.h — how many of a model's blocks stay on the device for a run: the
 * plan's stage for the model, fitted into what the backend's cap leaves free. */
#pragma once

#include "backend/backend.h"
#include "pipeline/memory_plan.h"

/* TD_BLOCKS_ALL when the backend has no cap (or is the host) or the whole stage fits
 * beside what the backend already holds; else the most blocks that fit, 0 when none
 * do (every block streams and the cap decides). */
int td_stream_choose_resident (td_backend *backend, const td_plan_stage *stage);
/* Whether the backend has a cap that can make a model stream (not the host's). */
bool td_stream_capped (td_backend *backend);
/* The plan format of a model's weights, read from one matrix as stored (bf16 for a
 * dtype the planner does not size, or a missing tensor). */
td_plan_format td_stream_weight_format (td_weights *weights, const char *matrix);
