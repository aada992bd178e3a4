#include "pipeline/stream_choice.h"

bool
td_stream_capped (td_backend *backend)
{
  return td_backend_budget (backend) != 0 && !td_backend_is_host (backend);
}

int
td_stream_choose_resident (td_backend *backend, const td_plan_stage *stage)
{
  const size_t budget = td_backend_budget (backend);
  if (!td_stream_capped (backend))
    return TD_BLOCKS_ALL;
  size_t held = 0;
  td_backend_memory (backend, &held, NULL);
  const uint64_t left = held < budget ? budget - held : 1;
  const int resident = td_plan_resident_blocks (stage, left);
  if (resident >= stage->blocks)
    return TD_BLOCKS_ALL;
  return resident < 0 ? 0 : resident;
}

td_plan_format
td_stream_weight_format (td_weights *weights, const char *matrix)
{
  td_error ignored = { 0 };
  const td_tensor *t = td_weights_has (weights, matrix) ? td_weights_get_host (weights, matrix, &ignored) : NULL;
  td_plan_format format = TD_PLAN_BF16;
  if (t != NULL && !td_plan_format_of_dtype (t->dtype, &format))
    format = TD_PLAN_BF16;
  return format;
}
